// Which channels an integration is switched on for (all of them, present and future, or chosen ones)
// and the name its own messages appear under.
import { builder } from '../../graphql/builder.js';
import { mutationResult } from '../../graphql/errors.js';
import { ChannelIntegrationRef, IntegrationRef } from './integrations.graphql.js';
import { botName, disableIntegrationOnAllChannels, enableIntegrationOnAllChannels, integrationLinks, MAX_PER_SECOND, setDeliveryOptions } from './integrations.service.js';
import { DeliveryHealthRef, DeliveryOptionsRef } from '../deliveries/deliveries.graphql.js';
import { channelIntegrationHealth, channelIntegrationOptions } from '../deliveries/deliveries.service.js';

builder.objectField(ChannelIntegrationRef, 'health', (t) =>
  t.field({
    type: DeliveryHealthRef,
    description:
      "The health of the integration's queued calls on this channel (outputs, and an interval integration's target_url): circuit state, failure rate of the last 24 hours, last error. A modifier's calls are not queued: its health stays CLOSED with no attempts.",
    resolve: (l, _a, ctx) => channelIntegrationHealth(ctx, { organisationId: l.integration.organisation.id, channelId: l.channel.id, integrationId: l.integration.id }),
  }),
);

builder.objectField(ChannelIntegrationRef, 'deliveryOptions', (t) =>
  t.loadable({
    type: DeliveryOptionsRef,
    description: "How the integration's queued calls on this channel are sent: in order or in parallel, and throttled or not (setDeliveryOptions).",
    // Keyed `organisationId|channelId|integrationId`: the options of every link of a page in one query.
    load: (keys: string[], ctx) =>
      channelIntegrationOptions(
        ctx,
        keys.map((k) => {
          const [organisationId, channelId, integrationId] = k.split('|');
          return { organisationId, channelId, integrationId };
        }),
      ),
    resolve: (l) => `${l.integration.organisation.id}|${l.channel.id}|${l.integration.id}`,
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
  setDeliveryOptions: t.field({
    type: ChannelIntegrationRef,
    description:
      "Choose how an integration's queued calls on a channel (an output's, an interval integration's target_url) are sent: `ordered` (one at a time in commit order) and `maxPerSecond` (a throttle across replicas). Fields left out keep their value. Ordering applies to calls committed from now on, the throttle to every attempt from now on. Admins only; the integration must be switched on for the channel (ConflictError otherwise), and not be a modifier (its calls are not queued: ValidationError).",
    errors: mutationResult('The link, with its `deliveryOptions` now in force.'),
    args: {
      input: t.arg({
        description: 'The link, and how its calls are to be sent.',
        type: builder.inputType('SetDeliveryOptionsInput', {
          description: "How an integration's queued calls on a channel are sent; absent fields keep their value.",
          fields: (f) => ({
            channelId: f.id({ required: true, description: 'The UUID of the channel.' }),
            integrationId: f.id({ required: true, description: 'The UUID of the integration (switched on for the channel).' }),
            ordered: f.boolean({ description: "true: one call at a time, in the channel's commit order (`Message.seq`); false: in parallel (the default)." }),
            maxPerSecond: f.int({ description: `At most this many calls per second to the target across all replicas (1 to ${MAX_PER_SECOND}); null removes the throttle.` }),
          }),
        }),
        required: true,
      }),
    },
    resolve: (_r, { input }, ctx) =>
      setDeliveryOptions(ctx, { channelId: String(input.channelId), integrationId: String(input.integrationId), ordered: input.ordered, maxPerSecond: input.maxPerSecond }),
  }),
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
