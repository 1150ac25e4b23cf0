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
    return () => {
      // Twice is once: a second call must not take another handler off.
      const at = list.indexOf(handler);
      if (at >= 0) list.splice(at, 1);
    };
  }

  /**
   * Run the event's handlers in order. Handlers that answer at once cost no promise: a listener that has
   * nothing to do for most events (no outgoing integration, no connected channel) returns without one, and
   * then so does `emit`, on the message path's every message. Awaitable either way.
   */
  emit<K extends keyof HookEvents>(event: K, payload: HookEvents[K]): Promise<void> | undefined {
    const handlers = this.handlers.get(event) as Handler<K>[] | undefined;
    if (!handlers) return;
    for (let i = 0; i < handlers.length; i++) {
      const pending = this.call(handlers[i], event, payload);
      if (pending) return this.finish(pending, handlers.slice(i + 1), event, payload);
    }
  }

  private call<K extends keyof HookEvents>(handler: Handler<K>, event: K, payload: HookEvents[K]): Promise<void> | undefined {
    try {
      // A handler typed to return nothing may still return a value (a `() => map.delete(key)`): only a promise is awaited.
      const result: unknown = handler(payload);
      return result instanceof Promise ? result.catch((error: unknown) => this.failed(error, event)) : undefined;
    } catch (error) {
      this.failed(error, event);
    }
  }

  private async finish<K extends keyof HookEvents>(pending: Promise<void>, rest: Handler<K>[], event: K, payload: HookEvents[K]) {
    await pending;
    for (const handler of rest) await this.call(handler, event, payload);
  }

  private failed(error: unknown, event: keyof HookEvents) {
    this.logger?.error({ err: error, event }, 'hook handler failed');
  }
}
