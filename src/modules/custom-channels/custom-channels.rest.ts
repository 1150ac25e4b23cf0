import type { FastifyPluginAsync } from 'fastify';
import { errorResponses } from '../../rest/openapi.js';
import type { RestOptions } from '../../rest/scope.js';
import { receiveInbound } from './custom-channels.service.js';

/**
 * respond.io's custom channel webhook: the custom-channel server pushes inbound messages here with the
 * channel's API token. (Outbound messages are sent by the app's CustomChannelSender, started by buildApp.)
 */
export const customChannelsRest: FastifyPluginAsync<RestOptions> = async (app, opts) => {
  const schema = {
    tags: ['Custom channels'],
    summary: 'Inbound messages from a custom-channel server (respond.io style)',
    description:
      'Authorization: Bearer {channel API token} (from connectCustomChannel). Body `{channelId, contactId, events: [{type: "message", mId, timestamp, message: {type: "text", text}}], contact}`; each text message is posted into the connected channel. A wrong token is 401 and nothing is stored. A text starting with a slash command of the channel (`/name rest`) is run instead of stored: `data.commands` lists each one with the id of the answer posted in the channel, or the `reason` and `error` it failed with (also sent to the contact alone).',
    security: [],
    response: errorResponses([400, 401, 413, 415], {
      400: 'The body does not have the shape above (the field is named, e.g. `events.0.message.text`), `channelId` is not the channel of the token, or the body is not valid JSON.',
      401: 'The Authorization header is missing or is not the API token of a connected channel; nothing is stored.',
    }),
  };
  // respond.io's own URL ends in a slash (https://app.respond.io/custom/channel/webhook/) and custom-channel
  // servers are configured with it verbatim; the bare form is kept for callers that drop it.
  for (const url of ['/custom/channel/webhook', '/custom/channel/webhook/']) {
    app.post(url, { schema: { ...schema, operationId: url.endsWith('/') ? 'receiveCustomChannelInboundSlash' : 'receiveCustomChannelInbound' } }, async (request, reply) => {
      // The bearer token is the channel's API token (checked by the service), not a user's.
      const result = await receiveInbound(await opts.scope(request, {}), request.headers.authorization, request.body);
      return reply.code(200).send({ status: 'success', status_code: 200, message: 'messages accepted', data: { messageIds: result.messageIds, commands: result.commands } });
    });
  }
};
