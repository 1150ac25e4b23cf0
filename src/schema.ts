// The schema: the builder plus every module's types and fields, imported for their side effects. It sits beside
// app.ts, above the modules it assembles (src/graphql is the kit those modules build on).
import { builder } from './graphql/builder.js';
import './graphql/scalars.js';
import './graphql/errors.js';
import './modules/auth/auth.graphql.js';
import './modules/organisations/organisations.graphql.js';
import './modules/channels/channels.graphql.js';
import './modules/integrations/integrations.graphql.js';
import './modules/integrations/integration-channels.graphql.js';
import './modules/settings/settings.graphql.js';
import './modules/slack/slack.graphql.js';
import './modules/messages/messages.graphql.js';
import './modules/messages/slash-commands.graphql.js';
import './modules/deliveries/deliveries.graphql.js';
import './modules/ticks/ticks.graphql.js';
import './modules/custom-channels/custom-channels.graphql.js';
import './modules/rocketchat/rocketchat.graphql.js';

// Declared here rather than in builder.ts: an empty Subscription type is invalid, so it exists once a module adds fields.
builder.subscriptionType({
  description: 'Live events over graphql-ws (WebSocket) or SSE, on /graphql. Every field needs a bearer token (a header, or `authorization` in the connection params).',
  authScopes: { authenticated: true },
});

export const schema = builder.toSchema({ sortSchema: true });
