import type { FastifyPluginAsync } from 'fastify';
import type { RestOptions } from './rest/scope.js';
import { webhooksRest } from './modules/webhooks/webhooks.rest.js';
import { integrationsRest } from './modules/integrations/integrations.rest.js';
import { settingsRest } from './modules/settings/settings.rest.js';
import { slackRest } from './modules/slack/slack.rest.js';
import { jobsDashboardRest, ticksRest } from './modules/ticks/ticks.rest.js';
import { rocketChatRest } from './modules/rocketchat/rocketchat.rest.js';
import { customChannelsRest } from './modules/custom-channels/custom-channels.rest.js';
import { consoleRoutes } from './modules/console/console.rest.js';

/**
 * Every module's REST shim routes (documented paths only); app.ts registers them in this order. Beside app.ts,
 * above the modules it assembles (src/rest is the kit those modules build on).
 */
export const restModules: FastifyPluginAsync<RestOptions>[] = [webhooksRest, integrationsRest, settingsRest, slackRest, ticksRest, jobsDashboardRest, rocketChatRest, customChannelsRest, consoleRoutes];
