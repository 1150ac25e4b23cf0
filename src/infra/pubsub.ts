/**
 * Publish/subscribe between the message path and subscriptions, on this replica and every other one.
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

export type PubSubTopics = {
  'channel:message': [channelId: string, message: MessageEvent];
  /** Control events between replicas (an access revocation ...), by name, with a JSON payload. */
  signal: [name: string, payload: unknown];
};

type Listener = (message: MessageEvent) => void;

export interface PubSub {
  /** 'redis' or 'memory'. */
  readonly kind: 'redis' | 'memory';
  publish(channelId: string, message: MessageEvent): void;
  /** Listen to a channel's messages; resolves once the listener is live; the returned function stops it. */
  listen(channelId: string, listener: Listener): Promise<() => void>;
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

/**
 * The client as the Redis event target uses it. The target sends PUBLISH, SUBSCRIBE and UNSUBSCRIBE without
 * awaiting them: while Redis is away each would end in an unhandled rejection, which stops the process. A
 * publish lost that way is made good from the database (live delivery follows the commit sequence), and
 * ioredis subscribes again to its channels when it reconnects.
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

  return {
    kind: redisUrl ? 'redis' : 'memory',
    publish(channelId, message) {
      pubsub.publish('channel:message', channelId, message);
    },
    async listen(channelId, listener) {
      const handler = (event: Event) => listener((event as CustomEvent<MessageEvent>).detail);
      target.addEventListener(topicOf(channelId), handler);
      // Redis answers commands on one connection in order: once this PING is answered, the SUBSCRIBE
      // sent by addEventListener is in force.
      if (subscriber) await subscriber.ping();
      return () => target.removeEventListener(topicOf(channelId), handler);
    },
    signal(name, payload) {
      pubsub.publish('signal', name, payload);
    },
    async onSignal(name, listener) {
      const handler = (event: Event) => listener((event as CustomEvent<unknown>).detail);
      target.addEventListener(`signal:${name}`, handler);
      if (subscriber) await subscriber.ping();
      return () => target.removeEventListener(`signal:${name}`, handler);
    },
    async close() {
      await Promise.all(clients.map((c) => c.quit().catch(() => c.disconnect())));
    },
  };
}
