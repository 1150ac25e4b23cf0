/**
 * What incoming and outgoing integrations share: posting a message into channels as the integration (through the
 * normal message path, postMessage), and writing a run into the integration's history.
 */
import type { Scope, WorkScope } from '../../context.js';
import { NotFoundError } from '../../errors.js';
import { postMessage } from '../messages/messages.service.js';
import type { WebhookMessage } from './message-content.js';
import { WebhookIntegrationHistory, type WebhookIntegration } from './webhook-integration.entity.js';

export const INCOMING_SOURCE = 'rocketchat-incoming';
export const OUTGOING_SOURCE = 'rocketchat-outgoing';


/** What posting needs of an integration (an entity, or the cached snapshot of an incoming one). */
export type Poster = Pick<WebhookIntegration, 'id' | 'type' | 'username' | 'alias' | 'emoji' | 'avatar'>;

/** Write (insert and flush) a history row of one run of an integration. */
export async function recordHistory(em: Scope['em'], integration: Pick<WebhookIntegration, 'id' | 'type'> & { organisationId: string }, data: Partial<WebhookIntegrationHistory>) {
  const row = em.create(WebhookIntegrationHistory, {
    integration: integration.id,
    organisation: integration.organisationId,
    type: integration.type === 'webhook-incoming' ? 'incoming-webhook' : 'outgoing-webhook',
    step: 'start',
    ...data,
  } as never);
  await em.flush();
  return row as WebhookIntegrationHistory;
}

/** Post a message into each channel as the integration; returns the ids of the messages stored. */
export async function postToChannels(ctx: WorkScope, integration: Poster, channels: { id: string }[], message: WebhookMessage, source: string) {
  const ids: string[] = [];
  for (const channel of channels) {
    let posted;
    try {
      posted = await postMessage(
        { em: ctx.em.fork(), deps: ctx.deps },
        {
          channelId: channel.id,
          message: message.text,
          username: integration.username,
          eventName: integration.type,
          status: 'success',
          source,
          userId: `integration:${integration.id}`,
          alias: message.alias,
          avatar: message.avatar,
          emoji: message.emoji,
          attachments: message.attachments,
          payload: { integrationId: integration.id },
        },
      );
    } catch (error) {
      // The channel was deleted since the integration's channels were looked up: post to the others.
      if (error instanceof NotFoundError && error.resource === 'channel') continue;
      throw error;
    }
    ids.push(posted.id);
  }
  return ids;
}
