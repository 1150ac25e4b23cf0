/**
 * Publish/subscribe between the message path (and the delivery worker) and subscriptions, on this replica and
 * every other one.
 * With REDIS_URL it is graphql-yoga's pubsub over `@graphql-yoga/redis-event-target` (two ioredis
 * clients, connected before the target is built: see STACK.md); otherwise an in-process EventTarget.
 *
 * Subscribers register a listener with `listen`, which resolves only once the subscription is live
 * (on Redis: after the SUBSCRIBE has been processed), so a caller can subscribe first and then replay
 * history without a gap.
 */
import { createPubSub } from 'graphql-yoga';
import { createRedisEventTarget } from '@graphql-yoga/redis-event-target';
import { newRedis, type Redis } from './redis.js';
import type { StoredMessage } from './hooks.js';

/** A message as it travels to subscribers (JSON-safe: dates as ISO strings). */
export interface MessageEvent extends Omit<StoredMessage, 'createdAt'> {
  /** Its number in the channel's commit sequence: subscribers deliver in this order, and read holes from the database. */
  seq: number;
  modifiersApplied: string[];
  createdAt: string;
}

/**
 * A delivery event as it travels to `deliveryEvents` subscribers (JSON-safe: dates as ISO strings). It carries what
 * the history shows of an attempt, never its request body, headers or the receiver's answer.
 */
export interface DeliveryEvent {
  kind: DeliveryEventKind;
  /** When the attempt was recorded, or the target's health changed. */
  at: string;
  organisationId: string;
  channelId: string | null;
  /** ATTEMPT_* events: the attempt. */
  delivery: DeliveryEventAttempt | null;
  /** TARGET_* events: the target after the change. */
  target: DeliveryEventTarget | null;
  /** ATTEMPT_RETRIED: when the next attempt is due. */
  retryAt: string | null;
}

export type DeliveryEventKind =
  | 'ATTEMPT_SUCCEEDED'
  | 'ATTEMPT_RETRIED'
  | 'ATTEMPT_FAILED'
  | 'ATTEMPT_GAVE_UP'
  | 'TARGET_OPENED'
  | 'TARGET_CLOSED'
  | 'TARGET_DISABLED'
  | 'TARGET_REENABLED';

export interface DeliveryEventAttempt {
  id: string;
  kind: string;
  targetId: string | null;
  url: string;
  attempt: number;
  status: 'succeeded' | 'retried' | 'failed';
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
  messageId: string | null;
  webhookId: string;
  replayOf: string | null;
  requestId: string | null;
  createdAt: string;
}

export interface DeliveryEventTarget {
  kind: string;
  /** The integration (or Rocket.Chat integration, custom channel connection) the target's calls are made for. */
  targetId: string | null;
  url: string;
  /** closed, open, half_open or disabled (DeliveryTarget's states). */
  state: 'closed' | 'open' | 'half_open' | 'disabled';
  consecutiveFailures: number;
  openUntil: string | null;
  lastError: string | null;
  disabledReason: string | null;
}

export type PubSubTopics = {
  'channel:message': [channelId: string, message: MessageEvent];
  /** An organisation's delivery events (deliveryEvents). */
  'organisation:delivery': [organisationId: string, event: DeliveryEvent];
  /** Control events between replicas (an access revocation ...), by name, with a JSON payload. */
  signal: [name: string, payload: unknown];
};

type Listener = (message: MessageEvent) => void;

export interface PubSub {
  /** 'redis' or 'memory'. */
  readonly kind: 'redis' | 'memory';
  publish(channelId: string, message: MessageEvent): void;
  /**
   * Listen to a channel's messages; resolves once the listener is live; the returned function stops it. On
   * Redis, a message published on this replica reaches its listeners here at once, and again when Redis
   * echoes it: a listener takes each message number once (channel-feeds.ts does).
   */
  listen(channelId: string, listener: Listener): Promise<() => void>;
  /**
   * Whether an organisation's delivery events could reach a subscriber: false only when this pubsub knows nobody
   * listens (in-process, nobody here); on Redis always true (other replicas' subscribers are not known here).
   */
  wantsDeliveries(organisationId: string): boolean;
  /** Send an organisation's delivery event to its `listenDeliveries` listeners on every replica. */
  publishDelivery(organisationId: string, event: DeliveryEvent): void;
  /** Listen to an organisation's delivery events; resolves once the listener is live; the returned function stops it. */
  listenDeliveries(organisationId: string, listener: (event: DeliveryEvent) => void): Promise<() => void>;
  /** Send a control event named `name` to every replica (this one included). */
  signal(name: string, payload: unknown): void;
  /** Hear the control events named `name`; resolves once live; the returned function stops it. */
  onSignal(name: string, listener: (payload: unknown) => void): Promise<() => void>;
  close(): Promise<void>;
}

interface TargetLike {
  addEventListener(topic: string, listener: (event: Event) => void): void;
  removeEventListener(topic: string, listener: (event: Event) => void): void;
  dispatchEvent(event: Event): boolean;
}

const topicOf = (channelId: string) => `channel:message:${channelId}`;
const deliveryTopicOf = (organisationId: string) => `organisation:delivery:${organisationId}`;

/**
 * The client as the Redis event target uses it. The target sends PUBLISH, SUBSCRIBE and UNSUBSCRIBE without
 * awaiting them: while Redis is away each would end in an unhandled rejection, which stops the process. A
 * message publish lost that way is made good from the database (live delivery follows the commit sequence), a
 * delivery event is not (deliveryEvents is live only), and ioredis subscribes again to its channels when it
 * reconnects.
 */
function settled(client: Redis) {
  return {
    on: client.on.bind(client),
    publish: (topic: string, message: string) => client.publish(topic, message).catch(() => 0),
    subscribe: (topic: string) => client.subscribe(topic).catch(() => 0),
    unsubscribe: (topic: string) => client.unsubscribe(topic).catch(() => 0),
  };
}

export async function createAppPubSub(redisUrl?: string): Promise<PubSub> {
  let target: TargetLike;
  let clients: Redis[] = [];
  let subscriber: Redis | null = null;
  if (redisUrl) {
    const [publishClient, subscribeClient] = await Promise.all([newRedis(redisUrl, { lazyConnect: true }), newRedis(redisUrl, { lazyConnect: true })]);
    await Promise.all([publishClient.connect(), subscribeClient.connect()]);
    clients = [publishClient, subscribeClient];
    subscriber = subscribeClient;
    target = createRedisEventTarget({ publishClient: settled(publishClient), subscribeClient: settled(subscribeClient) } as never) as unknown as TargetLike;
  } else {
    target = new EventTarget();
  }
  const pubsub = createPubSub<PubSubTopics>({ eventTarget: target as never });
  /** Listeners on this replica, by topic. */
  const listening = new Map<string, number>();
  /**
   * On Redis, this replica's channel-message listeners by channel: a message committed here reaches them
   * without the round trip through Redis (which, on a busy machine, waits on the Redis server's turn on a
   * core), while Redis carries it to the other replicas.
   */
  const local = new Map<string, Set<Listener>>();

  /** Listen to `topic` (Redis: resolves once the SUBSCRIBE is in force); the returned function stops it. */
  async function on<T>(topic: string, listener: (detail: T) => void): Promise<() => void> {
    const handler = (event: Event) => listener((event as CustomEvent<T>).detail);
    target.addEventListener(topic, handler);
    listening.set(topic, (listening.get(topic) ?? 0) + 1);
    // Redis answers commands on one connection in order: once this PING is answered, the SUBSCRIBE
    // sent by addEventListener is in force.
    if (subscriber) await subscriber.ping();
    let live = true;
    return () => {
      if (!live) return;
      live = false;
      target.removeEventListener(topic, handler);
      const left = (listening.get(topic) ?? 1) - 1;
      if (left) listening.set(topic, left);
      else listening.delete(topic);
    };
  }

  return {
    kind: redisUrl ? 'redis' : 'memory',
    publish(channelId, message) {
      pubsub.publish('channel:message', channelId, message);
      const here = subscriber && local.get(channelId);
      if (here) for (const listener of here) listener(message);
    },
    async listen(channelId, listener) {
      const stop = await on(topicOf(channelId), listener);
      if (!subscriber) return stop;
      let listeners = local.get(channelId);
      if (!listeners) local.set(channelId, (listeners = new Set()));
      listeners.add(listener);
      return () => {
        stop();
        listeners.delete(listener);
        if (!listeners.size && local.get(channelId) === listeners) local.delete(channelId);
      };
    },
    wantsDeliveries: (organisationId) => !!subscriber || listening.has(deliveryTopicOf(organisationId)),
    publishDelivery(organisationId, event) {
      pubsub.publish('organisation:delivery', organisationId, event);
    },
    listenDeliveries: (organisationId, listener) => on(deliveryTopicOf(organisationId), listener),
    signal(name, payload) {
      pubsub.publish('signal', name, payload);
    },
    onSignal: (name, listener) => on(`signal:${name}`, listener),
    async close() {
      await Promise.all(clients.map((c) => c.quit().catch(() => c.disconnect())));
    },
  };
}
