import type { FastifyPluginAsync } from 'fastify';
import type { RestOptions } from '../../rest/scope.js';
import { receiveInbound, startCustomChannelOutbound } from './custom-channels.service.js';

/**
 * respond.io's custom channel webhook: the custom-channel server pushes inbound messages here with the
 * channel's API token. Registering it also wires outbound messages of connected channels.
 */
export const customChannelsRest: FastifyPluginAsync<RestOptions> = async (app, opts) => {
  const stop = startCustomChannelOutbound(opts.orm, opts.deps);
  app.addHook('onClose', async () => stop());

  app.post('/custom/channel/webhook', async (request, reply) => {
    const result = await receiveInbound({ em: opts.orm.em.fork(), deps: opts.deps }, request.headers.authorization, request.body);
    return reply.code(200).send({ status: 'success', status_code: 200, message: 'messages accepted', data: { messageIds: result.messageIds } });
  });
};
