// Which channels an integration is switched on for (all of them, present and future, or chosen ones)
// and the name its own messages appear under.
import { builder } from '../../graphql/builder.js';
import { mutationResult } from '../../graphql/errors.js';
import { ChannelIntegrationRef, IntegrationRef } from './integrations.graphql.js';
import { botName, disableIntegrationOnAllChannels, enableIntegrationOnAllChannels, integrationLinks } from './integrations.service.js';
import { DeliveryHealthRef } from '../deliveries/deliveries.graphql.js';
import { channelIntegrationHealth } from '../deliveries/deliveries.service.js';

builder.objectField(ChannelIntegrationRef, 'health', (t) =>
  t.field({
    type: DeliveryHealthRef,
    description:
      "The health of the integration's queued calls on this channel (outputs, and an interval integration's target_url): circuit state, failure rate of the last 24 hours, last error. A modifier's calls are not queued: its health stays CLOSED with no attempts.",
    resolve: (l, _a, ctx) => channelIntegrationHealth(ctx, { organisationId: l.integration.organisation.id, channelId: l.channel.id, integrationId: l.integration.id }),
  }),
);

builder.objectFields(IntegrationRef, (t) => ({
  allChannels: t.exposeBoolean('allChannels', {
    description:
      "Switched on for every channel of the organisation, present and future (Telex's \"All Channels\"); false: only for the channels in `channels`. Switching it off for one channel makes it false and keeps the others.",
  }),
  channels: t.field({
    type: [ChannelIntegrationRef],
    description: 'The channels it is switched on for (one link each), oldest first.',
    resolve: (i, _a, ctx) => integrationLinks(ctx, i),
  }),
  botName: t.string({
    description:
      "The name its own messages appear under (return-URL posts without a username, slash-command answers): the spec's `permissions.bot_user.display_name`, else the first `permissions.*.display_name`, else `appName`.",
    resolve: (i) => botName(i),
  }),
}));

const IntegrationIdInput = (name: string, description: string) =>
  builder.inputType(name, {
    description,
    fields: (f) => ({ integrationId: f.id({ required: true, description: 'The integration.' }) }),
  });

builder.mutationFields((t) => ({
  enableIntegrationOnAllChannels: t.field({
    type: IntegrationRef,
    description:
      'Switch an integration on for every channel of its organisation, present and future (idempotent): each channel gets a link, last in its chain, and a channel created later gets one too. Admins only.',
    errors: mutationResult('The integration, with `allChannels` true and a link for every channel.'),
    args: {
      input: t.arg({
        description: 'The integration to switch on everywhere.',
        type: IntegrationIdInput('EnableIntegrationOnAllChannelsInput', 'An integration to switch on for every channel of its organisation.'),
        required: true,
      }),
    },
    resolve: (_r, { input }, ctx) => enableIntegrationOnAllChannels(ctx, { integrationId: String(input.integrationId) }),
  }),
  disableIntegrationOnAllChannels: t.field({
    type: IntegrationRef,
    description: 'Switch an integration off for every channel, and for channels created later (`allChannels` becomes false). Admins only.',
    errors: mutationResult('The integration, with `allChannels` false and no channel links.'),
    args: {
      input: t.arg({
        description: 'The integration to switch off everywhere.',
        type: IntegrationIdInput('DisableIntegrationOnAllChannelsInput', 'An integration to switch off for every channel of its organisation.'),
        required: true,
      }),
    },
    resolve: (_r, { input }, ctx) => disableIntegrationOnAllChannels(ctx, { integrationId: String(input.integrationId) }),
  }),
}));
