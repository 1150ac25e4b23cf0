/**
 * Domain events that other modules react to (the scheduler reschedules ticks, outgoing webhooks fire),
 * so the service that owns a rule does not need to know who cares. Handlers run after the change is
 * committed and are awaited in order; a failing handler is logged and does not undo the change.
 */
import type { Logger } from 'pino';

/** A stored channel message, as listeners and subscribers see it (pubsub carries it with ISO dates). */
export interface StoredMessage {
  id: string;
  channelId: string;
  organisationId: string;
  eventName: string;
  username: string;
  status: string;
  message: string;
  source: string;
  userId: string | null;
  /** Rocket.Chat's presentation fields (null on messages that carry none). */
  alias?: string | null;
  avatar?: string | null;
  emoji?: string | null;
  attachments?: Record<string, unknown>[] | null;
  createdAt: Date;
}

export interface HookEvents {
  'channel.created': { organisationId: string; channelId: string };
  'channel.deleted': { organisationId: string; channelId: string };
  'integration.enabled': { organisationId: string; integrationId: string; channelId: string };
  'integration.disabled': { organisationId: string; integrationId: string; channelId: string };
  'integration.removed': { organisationId: string; integrationId: string; channelIds: string[] };
  'integration.settingsChanged': { organisationId: string; integrationId: string; channelId?: string };
  /** How an integration's queued calls on a channel are sent changed (setDeliveryOptions: ordered, maxPerSecond). */
  'delivery.optionsChanged': { organisationId: string; integrationId: string; channelId: string };
  'user.created': { userId: string };
  /** A user left an organisation (removeMember): what they set up there reacts (Rocket.Chat integrations are disabled). */
  'member.removed': { organisationId: string; userId: string; removedBy: string };
  /** A message was stored in a channel (emitted after the commit, not awaited by the poster). */
  'message.created': { message: StoredMessage };
}

type Handler<K extends keyof HookEvents> = (payload: HookEvents[K]) => void | Promise<void>;

export class Hooks {
  private handlers = new Map<keyof HookEvents, Handler<never>[]>();

  constructor(private logger?: Logger) {}

  on<K extends keyof HookEvents>(event: K, handler: Handler<K>): () => void {
    const list = (this.handlers.get(event) ?? []) as Handler<K>[];
    list.push(handler);
    this.handlers.set(event, list as Handler<never>[]);
    return () => list.splice(list.indexOf(handler), 1);
  }

  async emit<K extends keyof HookEvents>(event: K, payload: HookEvents[K]): Promise<void> {
    for (const handler of (this.handlers.get(event) ?? []) as Handler<K>[]) {
      try {
        await handler(payload);
      } catch (error) {
        this.logger?.error({ err: error, event }, 'hook handler failed');
      }
    }
  }
}
