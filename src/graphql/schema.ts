// The schema: the builder plus every module's types and fields, imported for their side effects.
import { builder } from './builder.js';
import './scalars.js';
import './errors.js';
import '../modules/auth/auth.graphql.js';
import '../modules/organisations/organisations.graphql.js';
import '../modules/channels/channels.graphql.js';
import '../modules/integrations/integrations.graphql.js';
import '../modules/settings/settings.graphql.js';

export const schema = builder.toSchema({ sortSchema: true });
