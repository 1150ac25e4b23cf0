/**
 * The live message path: a message posted to a channel (webhook, user, tick, integration ...) runs
 * through the channel's modifier chain, is stored, published to subscribers on every replica, handed
 * to the channel's outputs, and announced with the 'message.created' hook.
 *
 * Ingest is the hot path, so:
 * - a channel's route (organisation, active modifiers and outputs with their settings in force) is cached
 *   for a second per replica and dropped at once on the hooks that change it;
 * - stores are group-committed: messages (with their output deliveries and modifier attempts) arriving
 *   while a commit is in flight are inserted together by the next one, in one transaction, and each
 *   caller is answered only once its rows are committed. The same transaction numbers them in their
 *   channel's commit sequence (one upsert per batch and channel, not a round trip per message).
 *
 * Subscribers follow the commit sequence (see channel-feeds.ts), so what they receive does not depend
 * on which replica committed a message or whether its publish arrived.
 */
import type { EntityManager } from '@mikro-orm/core';
import { z } from 'zod';
import { laterForks, type Deps, type Scope, type WorkScope } from '../../context.js';
import { NotFoundError, ValidationError } from '../../errors.js';
import { idCursor, idPage, type PageArgs } from '../../pagination.js';
import type { MessageEvent } from '../../infra/pubsub.js';
import { ChannelFeeds, READ_PAGE, readCommitted, toView, type MessageView } from './channel-feeds.js';
import type { StoredMessage } from '../../infra/hooks.js';
import { badText, parseInput } from '../../validation.js';
import { requireChannel, findChannelById } from '../channels/channels.service.js';
import { channelIntegrationTarget, type Deliveries, type DeliveryRow } from '../deliveries/deliveries.service.js';
import { TtlCache } from '../../infra/ttl-cache.js';
import { Batcher } from '../../infra/batcher.js';
import type { Integration } from '../integrations/integration.entity.js';
import { activeChannelIntegrations, detachIntegration, integrationSigningKeys, signingKeysOf } from '../integrations/integrations.service.js';
import { payloadSettings, settingsInForceFor } from '../settings/settings.service.js';
import { newId } from '../../infra/ulid.js';
import { jsonText, sqlRows, sqliteTransaction, type SqliteStatements, type Statement } from '../../infra/sql.js';
import { Message } from './message.entity.js';

export { toView, type MessageView };

const Text255 = (name: string) => z.string().max(255, `${name} is at most 255 characters`);

/** Rocket.Chat attachment objects: shape checked by the Rocket.Chat door (rocketchat/message-content.ts), bounded here too. */
const Attachments = z.array(z.record(z.string(), z.unknown()), { error: 'attachments must be an array of objects' }).max(100, 'attachments holds at most 100 items');

/** The longest message text, posted or rewritten by a modifier (characters). */
const MAX_MESSAGE = 65_536;

const PostInput = z
  .object({
    channelId: z.string(),
    // Empty only beside attachments (a Rocket.Chat attachments-only message); checked below.
    message: z.string({ error: 'message must be a string' }).max(MAX_MESSAGE, `message is at most ${MAX_MESSAGE} characters`),
    eventName: Text255('eventName').optional().nullable(),
    status: Text255('status').optional().nullable(),
    username: Text255('username').optional().nullable(),
    payload: z.unknown().optional(),
    source: z.string().min(1, 'source is required').max(64),
    userId: Text255('userId').optional().nullable(),
    threadId: z.string().max(255).optional().nullable(),
    alias: Text255('alias').optional().nullable(),
    avatar: z.string().max(2_048, 'avatar is at most 2048 characters').optional().nullable(),
    emoji: Text255('emoji').optional().nullable(),
    attachments: Attachments.optional().nullable(),
  })
  .refine((m) => m.message.length > 0 || !!m.attachments?.length, { path: ['message'], message: 'message is required' });
export type PostMessageInput = z.input<typeof PostInput>;

// ---------------------------------------------------------------------------------------------------
// Channel routes (cached)

interface RouteTarget {
  integration: Pick<Integration, 'id' | 'targetUrl' | 'appName'>;
  settings: ReturnType<typeof payloadSettings>;
  /** The HMAC keys its calls are signed with (the route is dropped when a secret is rotated). */
  signingKeys: Buffer[];
  /** Outputs of an ordered target: its key, which their calls carry (setDeliveryOptions drops the route). */
  orderKey: string | null;
}
interface ChannelRoute {
  channelId: string;
  organisationId: string;
  modifiers: RouteTarget[];
  outputs: RouteTarget[];
}

const ROUTE_TTL_MS = 1_000;

declare module '../../context.js' {
  interface Deps {
    /** The message path's per-app state: cached channel routes, the group committer and the live channel feeds. */
    messages: MessagePipeline;
  }
}

/**
 * One app's message path (built by buildApp): each channel's route (organisation, modifiers and outputs
 * with their settings in force) cached for a second and dropped at once on this replica when its
 * integrations or settings change, the group committer every message is written through, and the feeds
 * that hand committed messages to this replica's subscribers.
 */
export class MessagePipeline {
  readonly routes = new TtlCache<string, ChannelRoute>(ROUTE_TTL_MS);
  readonly committer: Batcher<Pending, number>;
  readonly feeds: ChannelFeeds;

  constructor(root: EntityManager, deps: Pick<Deps, 'hooks' | 'deliveries' | 'pubsub' | 'logger' | 'config'>) {
    this.committer = groupCommitter(root.fork(), deps.deliveries, deps.config.database.driver === 'sqlite');
    this.feeds = new ChannelFeeds(root, deps, deps.config.messageFeed);
    deps.hooks.on('channel.deleted', ({ channelId }) => void this.routes.delete(channelId));
    deps.hooks.on('integration.enabled', ({ channelId }) => void this.routes.delete(channelId));
    deps.hooks.on('integration.disabled', ({ channelId }) => void this.routes.delete(channelId));
    deps.hooks.on('integration.removed', () => this.routes.clear());
    deps.hooks.on('integration.settingsChanged', () => this.routes.clear());
    deps.hooks.on('delivery.optionsChanged', ({ channelId }) => void this.routes.delete(channelId));
    // Outputs: a 410 Gone switches the integration off for the channel.
    deps.deliveries.registerKind('output', {
      async onResult(result, { em, deps }) {
        if (result.statusCode === 410 && result.delivery.targetId && result.delivery.channelId) {
          await detachIntegration(em, deps, result.delivery.targetId, result.delivery.channelId);
          return { retry: false };
        }
      },
      // Signed with the integration's secret(s) in force at each attempt.
      signingKeys: ({ targetId }, { em, deps }) => signingKeysOf(em, deps, targetId),
    });
  }
}

/** A channel's route, from the cache or read once however many of its messages are waiting for it. */
function loadRoute(ctx: WorkScope, channelId: string): Promise<ChannelRoute | null> {
  return ctx.deps.messages.routes.getOrLoad(channelId, () => readRoute(ctx.em, ctx.deps, channelId));
}

async function readRoute(em: EntityManager, deps: Deps, channelId: string): Promise<ChannelRoute | null> {
  const channel = await findChannelById({ em }, channelId);
  if (!channel) return null;
  // Outputs, and interval integrations with a target_url (the summariser collects there and reports on tick).
  const links = (await activeChannelIntegrations(em, channelId)).filter(
    (l) => l.integration.integrationType !== 'interval' || l.integration.targetUrl,
  );
  const inForce = await settingsInForceFor(em, links.map((l) => ({ integration: l.integration, channelId })));
  const targets = links.map((l, i) => ({
    type: l.integration.integrationType,
    integration: { id: l.integration.id, targetUrl: l.integration.targetUrl, appName: l.integration.appName },
    settings: payloadSettings(l.integration, inForce[i]),
    signingKeys: integrationSigningKeys(deps, l.integration),
    orderKey: null as string | null,
  }));
  const route: ChannelRoute = {
    channelId,
    organisationId: channel.organisation.id,
    modifiers: targets.filter((t) => t.type === 'modifier' && t.integration.targetUrl),
    outputs: targets.filter((t) => t.type !== 'modifier' && t.integration.targetUrl),
  };
  // The calls of an output whose target is ordered carry its key.
  const keys = route.outputs.map((o) => deps.deliveries.healthKey(channelIntegrationTarget({ organisationId: route.organisationId, channelId, integrationId: o.integration.id })));
  const options = await deps.deliveries.options(em, keys);
  route.outputs.forEach((o, i) => (o.orderKey = options[i].ordered ? keys[i] : null));
  return route;
}

// ---------------------------------------------------------------------------------------------------
// Group commit

interface Pending {
  message: ReturnType<typeof messageRow>;
  deliveries: DeliveryRow[];
}

/**
 * The group committer every message is written through: messages (with their output deliveries and
 * modifier attempts) that arrive while a commit runs go together in the next one, and each resolves
 * with its number in its channel's commit sequence. One lane: on this replica, batches commit in the
 * order they were queued, and SQLite has a single writer anyway. One bad row (its channel deleted
 * meanwhile, say) must not fail the others: a failed batch is retried one by one.
 */
function groupCommitter(root: EntityManager, deliveries: Deliveries, sqlite: boolean) {
  return new Batcher<Pending, number>(
    async (batch) => {
      const messages = batch.map((p) => p.message);
      const rows = batch.flatMap((p) => p.deliveries);
      // Each call carries its message's place in the commit order: an ordered target's calls leave in it.
      const place = (seqs: number[]) =>
        batch.forEach((p, i) => {
          for (const d of p.deliveries) d.seq = seqs[i];
        });
      if (sqlite) {
        return sqliteTransaction(root, (sql) => {
          const seqs = takeSequence(sql, messages.map((m) => m.channel));
          sql.run(messagesInsert(messages, seqs));
          place(seqs);
          for (const statement of deliveries.insertStatements(rows)) sql.run(statement);
          return seqs;
        });
      }
      // PostgreSQL numbers and inserts in one statement: alone (atomic by itself) it is one round trip.
      if (!rows.length) return insertNumbered(root.fork(), messages);
      return root.fork().transactional(async (tx) => {
        const seqs = await insertNumbered(tx, messages);
        place(seqs);
        await deliveries.insert(tx, rows);
        return seqs;
      });
    },
    { maxBatch: 500, lanes: 1, isolate: true },
  );
}

/**
 * PostgreSQL: the sequence upsert (as `takeSequence` does it) and the INSERT of the batch's messages in one
 * statement, which answers each channel's new last number (one row a channel, not one a message). A channel's
 * sequence row stays locked until the transaction ends, so another replica's batch for the same channel numbers
 * after this one commits: numbers follow commit order with no hole. Channels are locked in one order (sorted), so
 * two batches that share channels cannot deadlock.
 *
 * The batch goes as one parameter, its rows as JSON (`PG_INSERT_NUMBERED`): one native JSON.stringify where
 * the driver escaped a text array per column value by value, and the statement's text never changes, so
 * each connection prepares it once.
 */
async function insertNumbered(em: EntityManager, rows: ReturnType<typeof messageRow>[]): Promise<number[]> {
  const lasts = await sqlRows<{ channel_id: string; last_seq: string | number }>(em, PG_INSERT_NUMBERED, [JSON.stringify(rows)], 'messages_insert_numbered');
  // Numbered as the statement numbers them: within a channel, in id order, up to its new last number.
  const order = rows.map((_, i) => i).sort((a, b) => (rows[a].id < rows[b].id ? -1 : 1));
  return numberInOrder(order.map((i) => rows[i].channel), new Map(lasts.map((r) => [r.channel_id, Number(r.last_seq)])), order);
}

/** The columns of `messages` the group commit writes, in the order `rowValues` gives their values. */
export const MESSAGE_COLUMNS = ['id', 'seq', 'channel_id', 'organisation_id', 'event_name', 'username', 'status', 'message', 'payload', 'source', 'user_id', 'modifiers_applied', 'alias', 'avatar', 'emoji', 'attachments', 'created_at'];
const MESSAGE_ROW = `(${MESSAGE_COLUMNS.map(() => '?').join(', ')})`;
const MESSAGE_INSERT = `insert into messages (${MESSAGE_COLUMNS.join(', ')}) values `;
/** `messageRow`'s fields (its JSON keys) with their types, in MESSAGE_COLUMNS order, seq apart; createdAt in epoch milliseconds. */
const PG_ROW_FIELDS =
  'id text, channel uuid, organisation uuid, "eventName" text, username text, status text, message text, payload jsonb, source text, ' +
  '"userId" text, "modifiersApplied" jsonb, alias text, avatar text, emoji text, attachments jsonb, "createdAt" bigint';
/**
 * Each channel's count is added to its last number; a message's number is that new last, less the channel's
 * messages after it (by id) in the batch.
 */
const PG_INSERT_NUMBERED =
  `with v as materialized (select * from json_to_recordset(?::json) as r (${PG_ROW_FIELDS})), ` +
  's as (insert into channel_sequences (channel_id, last_seq) select channel, count(*) from v group by channel order by channel ' +
  'on conflict (channel_id) do update set last_seq = channel_sequences.last_seq + excluded.last_seq returning channel_id, last_seq) ' +
  `, m as (insert into messages (${MESSAGE_COLUMNS.join(', ')}) ` +
  'select v.id, s.last_seq - count(*) over (partition by v.channel) + row_number() over (partition by v.channel order by v.id), ' +
  'v.channel, v.organisation, v."eventName", v.username, v.status, v.message, v.payload, v.source, v."userId", v."modifiersApplied", ' +
  'v.alias, v.avatar, v.emoji, v.attachments, to_timestamp(v."createdAt" / 1000.0) from v join s on s.channel_id = v.channel) ' +
  'select channel_id, last_seq from s';

/**
 * One multi-row INSERT of a batch's messages (SQLite), written as the ORM would write them (JSON as text)
 * without its per-row metadata work: on the ingest path that work cost more than the statement.
 */
function messagesInsert(rows: ReturnType<typeof messageRow>[], seqs: number[]): Statement {
  return { text: MESSAGE_INSERT + rows.map(() => MESSAGE_ROW).join(', '), params: rows.flatMap((r, i) => rowValues(r, seqs[i])) };
}

/** A message row's values in MESSAGE_COLUMNS order, JSON columns as text, with `seq` in its place. */
function rowValues(r: ReturnType<typeof messageRow>, seq: number): unknown[] {
  return [
    r.id, seq, r.channel, r.organisation, r.eventName, r.username, r.status, r.message, jsonText(r.payload), r.source, r.userId,
    JSON.stringify(r.modifiersApplied), r.alias, r.avatar, r.emoji, jsonText(r.attachments), r.createdAt,
  ];
}

/**
 * SQLite: numbers for a batch's messages (one per entry of `channelIds`, in batch order): one upsert adds each
 * channel's count to its last number and answers the new last. The transaction holds the database's write
 * lock from its start (BEGIN IMMEDIATE) until it commits, so another process's batch numbers after this one
 * commits: numbers follow commit order with no hole. (PostgreSQL: the same upsert, in `insertNumbered`.)
 */
function takeSequence(sql: SqliteStatements, channelIds: string[]): number[] {
  const counts = new Map<string, number>();
  for (const c of channelIds) counts.set(c, (counts.get(c) ?? 0) + 1);
  const channels = [...counts.keys()].sort();
  const rows = sql.rows<{ channel_id: string; last_seq: string | number }>({
    text:
      `insert into channel_sequences (channel_id, last_seq) values ${channels.map(() => '(?, ?)').join(', ')} ` +
      'on conflict (channel_id) do update set last_seq = channel_sequences.last_seq + excluded.last_seq returning channel_id, last_seq',
    params: channels.flatMap((c) => [c, counts.get(c)]),
  });
  return numberInOrder(channelIds, new Map(rows.map((r) => [r.channel_id, Number(r.last_seq)])));
}

/**
 * A batch's numbers from each channel's new last number: the channel's messages, in the order of `channelIds` (one
 * entry a message), take the numbers up to its last. `at`: where each entry's number goes in the answer (default: in
 * order).
 */
function numberInOrder(channelIds: string[], lasts: Map<string, number>, at?: number[]): number[] {
  // Each channel's first number: its last, less one for each of its messages in the batch but the last.
  const next = new Map<string, number>();
  for (const c of channelIds) {
    const last = lasts.get(c);
    // The statement answers each channel as it was given (the route's own id): never silently a NaN number.
    if (last === undefined) throw new Error(`no sequence number came back for channel ${c}`);
    next.set(c, (next.get(c) ?? last + 1) - 1);
  }
  const seqs = new Array<number>(channelIds.length);
  channelIds.forEach((c, k) => {
    const seq = next.get(c)!;
    next.set(c, seq + 1);
    seqs[at ? at[k] : k] = seq;
  });
  return seqs;
}

function messageRow(data: StoredMessage & { payload?: unknown; modifiersApplied: string[] }) {
  return {
    id: data.id,
    channel: data.channelId,
    organisation: data.organisationId,
    eventName: data.eventName,
    username: data.username,
    status: data.status,
    message: data.message,
    payload: data.payload === undefined ? null : data.payload,
    source: data.source,
    userId: data.userId,
    modifiersApplied: data.modifiersApplied,
    alias: data.alias ?? null,
    avatar: data.avatar ?? null,
    emoji: data.emoji ?? null,
    attachments: data.attachments?.length ? data.attachments : null,
    // Epoch milliseconds, as SQLite stores it: a Date costs JSON.stringify a call of its toJSON (twice the row's other work).
    createdAt: data.createdAt.getTime(),
  };
}

// ---------------------------------------------------------------------------------------------------
// The path

/**
 * The plain text of a message for payloads that have no place for attachments (Telex outputs): its text,
 * else what its attachments say, as Rocket.Chat's own notifications render an attachments-only message.
 */
export function plainText(message: string, attachments: Record<string, unknown>[] | null | undefined): string {
  if (message || !attachments?.length) return message;
  const parts: string[] = [];
  for (const a of attachments) {
    const words = ['fallback', 'pretext', 'title', 'text'].map((k) => a[k]).find((v) => typeof v === 'string' && v.trim());
    if (typeof words === 'string') parts.push(words.trim());
    else if (typeof a.image_url === 'string') parts.push(a.image_url);
  }
  return parts.join('\n');
}

/** The message's own fields, as the 'message.created' hook carries them. */
function storedMessage(view: MessageView): StoredMessage {
  // Named fields, not `{ payload, ...rest }` nor a spread with overrides: both are slow paths of object copying
  // (the spread of this object with three more fields cost 6 µs a message, the literal under 1).
  const { id, channelId, organisationId, eventName, username, status, message, source, userId, alias, avatar, emoji, attachments, createdAt } = view;
  return { id, channelId, organisationId, eventName, username, status, message, source, userId, alias, avatar, emoji, attachments, createdAt };
}

/** The message as it is published to subscribers: JSON-safe (the date as text), without the body it came in. */
function toEvent(view: MessageView): MessageEvent {
  const { id, seq, channelId, organisationId, eventName, username, status, message, source, userId, modifiersApplied, alias, avatar, emoji, attachments } = view;
  return { id, seq, channelId, organisationId, eventName, username, status, message, source, userId, modifiersApplied, alias, avatar, emoji, attachments, createdAt: view.createdAt.toISOString() };
}

/**
 * Post a message to a channel with no viewer check (callers authorise: the webhook URL is a capability,
 * ticks and integrations belong to the channel). Resolves, with a snapshot of the stored message (not
 * managed by `ctx.em`), once the message is committed; it has been
 * published to subscribers and its output deliveries are queued (durably) when this returns. The
 * 'message.created' hook is emitted after the commit and not awaited, so listeners never slow the caller.
 */
export async function postMessage(ctx: WorkScope, input: PostMessageInput): Promise<Message> {
  const data = parseInput(PostInput, input);
  // A cached route is taken as it is: awaiting it would cost two promises on every message.
  const route = ctx.deps.messages.routes.get(data.channelId) ?? (await loadRoute(ctx, data.channelId));
  if (!route) throw new NotFoundError('channel', data.channelId);

  const threadId = data.threadId ?? null;
  const now = new Date();
  let text = data.message;
  const applied: string[] = [];
  const attempts: DeliveryRow[] = [];
  const budget = ctx.deps.config.modifierBudgetMs;

  // An attachments-only message has no text for a modifier to rewrite.
  for (const modifier of text ? route.modifiers : []) {
    const url = modifier.integration.targetUrl!;
    const body = { message: text, channel_id: route.channelId, org_id: route.organisationId, thread_id: threadId, settings: modifier.settings };
    const callId = ctx.deps.deliveries.callId();
    const signing = { id: callId, keys: modifier.signingKeys };
    const outcome = await ctx.deps.deliveries.send({ url, body, timeoutMs: budget, signing });
    const answer = outcome.json as { message?: unknown } | undefined;
    let error = outcome.error;
    // Why it was skipped, as a bounded metrics label: timeout, blocked, error (unreachable), status, invalid_answer.
    let skip: string | null = null;
    // A rewrite must be storable as a posted message is: its text has the same limits.
    const unstorable = !error && typeof answer?.message === 'string' && (badText(answer.message) ?? (answer.message.length > MAX_MESSAGE ? `is longer than ${MAX_MESSAGE} characters` : null));
    if (!error && (typeof answer !== 'object' || answer === null || typeof answer.message !== 'string' || !answer.message)) {
      error = 'the answer is not JSON with a non-empty string "message": skipped';
      skip = 'invalid_answer';
    } else if (unstorable) {
      error = `the answer's "message" ${unstorable}: skipped`;
      skip = 'invalid_answer';
    } else if (error) {
      error = `${error}: skipped`;
      skip = outcome.failure === 'timeout' || outcome.failure === 'blocked' || outcome.failure === 'status' ? outcome.failure : 'error';
    }
    if (!error) {
      text = (answer as { message: string }).message;
      applied.push(modifier.integration.id);
    }
    ctx.deps.metrics.modifierDuration.observe({ outcome: skip ? 'skipped' : 'applied' }, outcome.latencyMs / 1000);
    if (skip) ctx.deps.metrics.modifierSkips.inc({ reason: skip });
    attempts.push(
      ctx.deps.deliveries.finished(
        {
          id: callId,
          kind: 'modifier',
          organisationId: route.organisationId,
          channelId: route.channelId,
          targetId: modifier.integration.id,
          url,
          statusCode: outcome.statusCode,
          latencyMs: outcome.latencyMs,
          error,
          response: outcome.body,
          messageId: null,
        },
        now,
      ),
    );
  }

  // The id is taken only now, after the modifiers, right before the message joins the commit queue
  // (synchronously): on one replica, id order is then commit order. Across replicas ids interleave, so
  // subscriptions follow the commit sequence instead.
  const id = newId();
  for (const a of attempts) a.messageId = id;

  const view: MessageView = {
    id,
    seq: 0,
    channelId: route.channelId,
    organisationId: route.organisationId,
    eventName: data.eventName ?? '',
    username: data.username ?? '',
    status: data.status ?? '',
    message: text,
    source: data.source,
    userId: data.userId ?? null,
    modifiersApplied: applied,
    alias: data.alias ?? null,
    avatar: data.avatar ?? null,
    emoji: data.emoji ?? null,
    attachments: data.attachments?.length ? data.attachments : null,
    createdAt: now,
    payload: data.payload,
  };

  const outputs = ctx.deps.deliveries.stage(
    // An interval integration's own post-backs (a tick message authored by it) are not echoed to its
    // target_url: a summariser would otherwise summarise its own summaries, one more each tick.
    route.outputs.filter((o) => !(data.source === 'tick' && data.userId === o.integration.id)).map((o) => ({
      kind: 'output',
      organisationId: route.organisationId,
      channelId: route.channelId,
      targetId: o.integration.id,
      url: o.integration.targetUrl!,
      body: { message: plainText(text, view.attachments), channel_id: route.channelId, org_id: route.organisationId, thread_id: threadId, settings: o.settings },
      messageId: id,
      orderKey: o.orderKey,
    })),
  );

  try {
    view.seq = await ctx.deps.messages.committer.add({ message: messageRow(view), deliveries: [...attempts, ...outputs] });
  } catch (error) {
    // The channel was deleted between the route lookup and the commit.
    if (await findChannelById({ em: ctx.em.fork() }, route.channelId)) throw error;
    ctx.deps.messages.routes.delete(route.channelId);
    throw new NotFoundError('channel', data.channelId);
  }

  ctx.deps.deliveries.count(attempts);
  ctx.deps.pubsub.publish(route.channelId, toEvent(view));
  ctx.deps.deliveries.dispatch(outputs);
  void ctx.deps.hooks.emit('message.created', { message: storedMessage(view) });

  // A snapshot of the stored row, not an entity managed by the caller's EntityManager: merging one
  // cost more than the rest of the path together. Load it with `em.findOne(Message, id)` to change it.
  // (Assigned onto a new row rather than spread with overrides, which cost 4 µs a message.)
  return Object.assign(messageRow(view), { seq: view.seq, channel: { id: view.channelId }, organisation: { id: view.organisationId }, createdAt: now }) as unknown as Message;
}

const SendInput = z.object({
  channelId: z.string(),
  message: z.string(),
  eventName: z.string().optional().nullable(),
  status: z.string().optional().nullable(),
  username: z.string().optional().nullable(),
});

/** Post a message as the viewer (a member of the channel's organisation). */
export async function sendMessage(scope: Scope, input: z.input<typeof SendInput>): Promise<Message> {
  const data = parseInput(SendInput, input);
  const channel = await requireChannel(scope, data.channelId);
  const viewer = scope.viewer!;
  return postMessage(scope, {
    channelId: channel.id,
    message: data.message,
    eventName: data.eventName ?? 'message',
    status: data.status ?? 'success',
    username: data.username || viewer.name,
    source: 'user',
    userId: viewer.id,
  });
}

// ---------------------------------------------------------------------------------------------------
// Reading

const MESSAGE_CURSOR = 'a message id or cursor';

/** A Relay page of a channel's messages, oldest first; cursors are message ids. */
export async function listMessages(scope: Scope, channelId: string, args: PageArgs) {
  const channel = await requireChannel(scope, channelId);
  const page = await idPage(args, 'asc', (range, order, limit) =>
    scope.em.find(Message, { channel, ...(Object.keys(range).length ? { id: range } : {}) }, { orderBy: { id: order }, limit }),
    { cursorName: MESSAGE_CURSOR },
  );
  return { edges: page.items.map((m) => ({ node: toView(m), cursor: m.id })), pageInfo: page.pageInfo };
}

/**
 * A stream from `channelMessageStream` may hand its live events straight to a synchronous consumer: given
 * `push`, each event that is next in order, while the consumer waits on `next()` with nothing before it, goes
 * to `push` in the feed's own delivery loop, with no promise and no microtask per subscriber (`more`: the
 * feed hands it further events right after this one). When `push` answers false (it cannot take this one),
 * the event is queued for `next()` as usual.
 */
export const LIVE_PUSH = Symbol('live push');
export interface LivePushStream extends AsyncIterableIterator<MessageView> {
  [LIVE_PUSH](push: (view: MessageView, more: boolean) => boolean): void;
}

/** How many live events a subscriber may have waiting; beyond that it reads them back from the database. */
const LIVE_BACKLOG = 10_000;

/** Where a resumed subscription starts: after the message numbered `seq`; `exact` when `after` named it. */
async function resumePoint(em: EntityManager, channelId: string, after: string): Promise<{ seq: number; exact: boolean }> {
  // A number is a position in the commit sequence (`Message.seq`); anything else must be a message id.
  if (/^\d{1,15}$/.test(after)) return { seq: Number(after), exact: true };
  idCursor('after', after, MESSAGE_CURSOR);
  const named = await em.findOne(Message, { id: after, channel: channelId }, { fields: ['seq'] });
  if (named) return { seq: Number(named.seq), exact: true };
  // Not a message of this channel: go on from the last one whose id sorts before it. Ids of two
  // replicas interleave, so this can skip or repeat messages: the first event says so.
  const before = await em.findOne(Message, { channel: channelId, id: { $lt: after } }, { orderBy: { id: 'desc' }, fields: ['seq'] });
  return { seq: before ? Number(before.seq) : 0, exact: false };
}

/**
 * A channel's messages as a stream for the viewer, in commit order, each once: with `after` (a message
 * id or a commit sequence number), every committed message after it first, then live ones. The
 * subscriber joins its channel's feed (see channel-feeds.ts) first, which tells the number of the last
 * message it will not deliver; the messages between `after` and that number are read from the
 * database, then the feed's follow with no gap and no duplicate at the seam. The first event of a
 * resumed stream carries `recovered` (true, or false when `after` could not be placed exactly).
 */
export async function channelMessageStream(scope: Scope, channelId: string, after?: string | null): Promise<LivePushStream> {
  const channel = await requireChannel(scope, channelId);
  // The stream keeps the channel's id, not its entity, nor the scope (which lets go of what it loaded once the
  // subscription runs). Reads get a fork each, made when they run: a subscription lives long, and most never read again.
  const id = channel.id;
  const fork = laterForks(scope);
  const from = after ? await resumePoint(fork(), id, after) : null;

  const live: MessageView[] = [];
  let wake: (() => void) | null = null;
  let done = false;
  let push: ((view: MessageView, more: boolean) => boolean) | null = null;
  // Messages up to this number are read from the database (the replay, and any live backlog dropped).
  let readUpTo = 0;
  let read: MessageView[] = [];
  // The number of the last message this subscriber received (or skipped by asking to start after it).
  let last = 0;
  // `recovered` for the next event, when there is something to say.
  let mark: boolean | null = null;
  const { head, leave } = await scope.deps.messages.feeds.join(id, (view, more) => {
    // Straight to the consumer only when it is waiting and this event is exactly the next one, with nothing
    // read, queued or to be said (`recovered`) before it: what `next()` would have answered at once.
    if (push && wake && !live.length && !read.length && last >= readUpTo && mark === null && view.seq === last + 1 && push(view, more)) {
      last = view.seq;
      return;
    }
    if (live.length >= LIVE_BACKLOG) {
      // A subscriber this far behind reads its backlog back from the database instead of holding it.
      live.length = 0;
      readUpTo = view.seq;
    } else live.push(view);
    const w = wake;
    wake = null;
    w?.();
  });
  readUpTo = Math.max(readUpTo, head);
  last = head;
  if (from) {
    if (from.seq > head) mark = false;
    else {
      last = from.seq;
      mark = from.exact;
    }
  }

  function emit(view: MessageView): IteratorResult<MessageView> {
    if (view.seq !== last + 1) mark = false;
    last = view.seq;
    if (mark !== null) {
      view = { ...view, recovered: mark && view.recovered !== false };
      mark = null;
    }
    return { value: view, done: false };
  }

  function finish() {
    if (done) return;
    done = true;
    leave();
    const w = wake;
    wake = null;
    w?.();
  }

  const iterator: LivePushStream = {
    [Symbol.asyncIterator]() {
      return iterator;
    },
    [LIVE_PUSH](consumer) {
      push = consumer;
    },
    async next(): Promise<IteratorResult<MessageView>> {
      while (!done) {
        if (last < readUpTo) {
          if (!read.length) {
            const rows = await readCommitted(fork(), id, last, readUpTo);
            if (done) break;
            read = rows.map(toView);
            if (!read.length) {
              // Numbers up to readUpTo with no row: nothing can show them, and the next event says so.
              last = readUpTo;
              mark = false;
              continue;
            }
          }
          return emit(read.shift()!);
        }
        // Live fast path: nothing to read, no await before answering.
        const next = live.shift();
        if (next) {
          if (next.seq <= last) continue;
          if (next.seq > last + 1) {
            // A hole below a live event (a dropped backlog): read it first.
            readUpTo = next.seq - 1;
            live.unshift(next);
            continue;
          }
          return emit(next);
        }
        await new Promise<void>((resolve) => (wake = resolve));
      }
      return { value: undefined, done: true };
    },
    async return(): Promise<IteratorResult<MessageView>> {
      finish();
      return { value: undefined, done: true };
    },
    async throw(error?: unknown): Promise<IteratorResult<MessageView>> {
      finish();
      throw error;
    },
  };
  return iterator;
}
