// Every entity the ORM knows. A module adds its entities here (and a migration: `npm run migration:create`).
import { User } from '../modules/auth/user.entity.js';
import { AccessToken } from '../modules/auth/access-token.entity.js';
import { Organisation } from '../modules/organisations/organisation.entity.js';
import { Membership } from '../modules/organisations/membership.entity.js';
import { Invitation } from '../modules/organisations/invitation.entity.js';
import { Channel } from '../modules/channels/channel.entity.js';
import { Integration } from '../modules/integrations/integration.entity.js';
import { ChannelIntegration } from '../modules/integrations/channel-integration.entity.js';
import { IntegrationSetting, ChannelIntegrationSetting } from '../modules/settings/integration-setting.entity.js';
import { AgendaJob } from '../infra/agenda-sql-backend/agenda-job.entity.js';
import { TickPair } from '../modules/ticks/tick-pair.entity.js';
import { ChannelSequence, Message } from '../modules/messages/message.entity.js';
import { Delivery } from '../modules/deliveries/delivery.entity.js';
import { DeliveryTarget } from '../modules/deliveries/delivery-target.entity.js';
import { SlackInstallation } from '../modules/slack/slack-installation.entity.js';
import { WebhookIntegration, WebhookIntegrationHistory } from '../modules/rocketchat/webhook-integration.entity.js';
import { CustomChannelConnection } from '../modules/custom-channels/custom-channel.entity.js';

export const entities = [
  User,
  AccessToken,
  Organisation,
  Membership,
  Invitation,
  Channel,
  Integration,
  ChannelIntegration,
  IntegrationSetting,
  ChannelIntegrationSetting,
  AgendaJob,
  TickPair,
  Message,
  ChannelSequence,
  Delivery,
  DeliveryTarget,
  SlackInstallation,
  WebhookIntegration,
  WebhookIntegrationHistory,
  CustomChannelConnection,
];
