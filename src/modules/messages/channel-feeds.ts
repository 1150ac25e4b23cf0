/**
 * Live channel feeds: what a replica delivers to its subscribers follows each channel's commit
 * sequence (`Message.seq`), not the publishes it happens to hear.
 *
 * The replica that commits a batch publishes its messages right after the commit: that is the fast
 * path, and usually all there is. But a publish can be missing (its replica was killed between commit
 * and publish, Redis dropped it), and publishes of two replicas can arrive out of commit order. So each
 * replica keeps one feed per channel it has subscribers on, which hands its subscribers every committed
 * message once, in sequence order:
 * - a message whose number follows the last one delivered is delivered at once;
 * - one further ahead waits; if the hole before it is not filled by publishes within
 *   MESSAGE_FEED_GAP_MS, it is read from the database (a committed number proves that every lower one
 *   of the channel is committed: see `ChannelSequence`);
 * - every MESSAGE_FEED_POLL_MS one query reads the last committed number of every channel that has a
 *   feed here, and what was committed but never published is read and delivered the same way. The
 *   messages table is the outbox, and each live replica relays from it what its own subscribers need,
 *   whichever replica committed it.
 * Subscribers of one channel on one replica share its feed and its event objects, so shared-results.ts
 * runs each distinct subscription once per event.
 *
 * What a feed delivers in one turn of the event loop (the messages of one commit, a page read back) reaches
 * its subscribers when that turn's work is done, each subscriber taking all of them in a row: the frames of
 * one subscriber then leave in one write (shared-results.ts), as soon as its turn in the loop comes.
 */
import type { EntityManager } from '@mikro-orm/core';
import type { Deps } from '../../context.js';
import type { MessageEvent } from '../../infra/pubsub.js';
import { Message } from './message.entity.js';

/** The message as subscribers, hooks and GraphQL see it. */
export interface MessageView extends Omit<MessageEvent, 'createdAt'> {
  createdAt: Date;
  payload?: unknown;
  /**
   * Subscriptions only: true on the first event of a stream resumed with `after` when every message
   * since that point was replayed; false on the first event after a point where the server cannot
   * prove that no message was skipped; absent otherwise.
   */
  recovered?: boolean;
}

export function toView(m: Message): MessageView {
  return {
    id: m.id,
    seq: Number(m.seq),
    channelId: m.channel.id,
    organisationId: m.organisation.id,
    eventName: m.eventName,
    username: m.username,
    status: m.status,
    message: m.message,
    source: m.source,
    userId: m.userId ?? null,
    modifiersApplied: m.modifiersApplied ?? [],
    alias: m.alias ?? null,
    avatar: m.avatar ?? null,
    emoji: m.emoji ?? null,
    attachments: m.attachments ?? null,
    createdAt: m.createdAt,
    payload: m.payload,
  };
}

/** Rows read per query when a feed or a resumed subscription catches up from the database. */
export const READ_PAGE = 500;

/** A channel's committed messages with numbers in (after, upTo], in sequence order, at most READ_PAGE. */
export function readCommitted(em: EntityManager, channelId: string, after: number, upTo: number): Promise<Message[]> {
  return em.find(Message, { channel: channelId, seq: { $gt: after, $lte: upTo } }, { orderBy: { seq: 'asc' }, limit: READ_PAGE });
}

/** Takes one message; `more`: further messages for this sink follow at once, in this same hand-over. */
type Sink = (view: MessageView, more: boolean) => void;

interface Feed {
  channelId: string;
  sinks: Set<Sink>;
  /** Subscribers waiting for the feed to open (it stays open for them). */
  joining: number;
  /** The number of the last message delivered: every one up to it was delivered, in order. */
  head: number;
  /** The highest number known to be committed (from a publish or the poll). */
  known: number;
  /** Published messages beyond a hole, by number. */
  ahead: Map<number, MessageView>;
  /** Publishes heard before the feed knew where it starts. */
  early: MessageEvent[] | null;
  ready: Promise<void>;
  stopListening: () => void;
  gapTimer: NodeJS.Timeout | null;
  filling: boolean;
  /** A number was found with no message: the next event delivered says continuity is not proven. */
  broken: boolean;
  /** Delivered (counted in `head`) but not yet handed to the sinks: they get it when this turn's work is done. */
  outbox: MessageView[];
  closed: boolean;
}

export class ChannelFeeds {
  private readonly feeds = new Map<string, Feed>();
  private poller: NodeJS.Timeout | null = null;
  private polling = false;

  constructor(
    private readonly root: EntityManager,
    private readonly deps: Pick<Deps, 'pubsub' | 'logger'>,
    private readonly options: { pollMs: number; gapMs: number },
  ) {}

  /**
   * Add a subscriber to a channel's feed (opened on first use). Resolves with the number of the last
   * message delivered before this subscriber: `sink` receives every one after it, in order, once.
   */
  async join(channelId: string, sink: Sink): Promise<{ head: number; leave: () => void }> {
    const feed = this.feeds.get(channelId) ?? this.open(channelId);
    feed.joining++;
    try {
      await feed.ready;
    } finally {
      feed.joining--;
    }
    // Registered and positioned in one step, so nothing is delivered in between; what was delivered before
    // (up to `head`) goes to the sinks already there, not to this one.
    this.flush(feed);
    feed.sinks.add(sink);
    return {
      head: feed.head,
      leave: () => {
        feed.sinks.delete(sink);
        this.closeIfIdle(feed);
      },
    };
  }

  close() {
    for (const feed of [...this.feeds.values()]) this.shut(feed);
  }

  private open(channelId: string): Feed {
    const feed: Feed = {
      channelId,
      sinks: new Set(),
      joining: 0,
      head: 0,
      known: 0,
      ahead: new Map(),
      early: [],
      ready: Promise.resolve(),
      stopListening: () => {},
      gapTimer: null,
      filling: false,
      broken: false,
      outbox: [],
      closed: false,
    };
    this.feeds.set(channelId, feed);
    feed.ready = (async () => {
      // Listening first, then reading where the channel stands: a message committed in between is
      // both heard and counted, and the number tells which of the two it is.
      feed.stopListening = await this.deps.pubsub.listen(channelId, (event) => this.heard(feed, event));
      const last = await this.lastCommitted([channelId]);
      feed.head = feed.known = last.get(channelId) ?? 0;
      const early = feed.early!;
      feed.early = null;
      for (const event of early) this.heard(feed, event);
    })();
    feed.ready.catch(() => this.shut(feed));
    if (!this.poller) {
      this.poller = setInterval(() => void this.poll(), this.options.pollMs);
      this.poller.unref();
    }
    return feed;
  }

  private closeIfIdle(feed: Feed) {
    if (!feed.sinks.size && !feed.joining) this.shut(feed);
  }

  private shut(feed: Feed) {
    if (feed.closed) return;
    feed.closed = true;
    feed.stopListening();
    if (feed.gapTimer) clearTimeout(feed.gapTimer);
    if (this.feeds.get(feed.channelId) === feed) this.feeds.delete(feed.channelId);
    if (!this.feeds.size && this.poller) {
      clearInterval(this.poller);
      this.poller = null;
    }
  }

  private heard(feed: Feed, event: MessageEvent) {
    if (feed.early) {
      feed.early.push(event);
      return;
    }
    if (feed.closed || event.seq <= feed.head || feed.ahead.has(event.seq)) return;
    const view: MessageView = { ...event, createdAt: new Date(event.createdAt) };
    if (event.seq === feed.head + 1) {
      this.deliver(feed, view);
      this.drain(feed);
    } else {
      feed.ahead.set(event.seq, view);
      if (event.seq > feed.known) feed.known = event.seq;
    }
    this.scheduleFill(feed);
  }

  private deliver(feed: Feed, view: MessageView) {
    if (feed.broken) {
      view = { ...view, recovered: false };
      feed.broken = false;
    }
    feed.head = view.seq;
    if (feed.known < feed.head) feed.known = feed.head;
    if (feed.outbox.push(view) === 1) process.nextTick(() => this.flush(feed));
  }

  /** Hands the outbox to every sink, each sink all of it in a row. */
  private flush(feed: Feed) {
    if (!feed.outbox.length) return;
    const views = feed.outbox;
    feed.outbox = [];
    for (const sink of feed.sinks) {
      try {
        for (let i = 0; i < views.length; i++) sink(views[i], i < views.length - 1);
      } catch (error) {
        // A subscriber's own failure; the others still get their messages.
        this.deps.logger.warn({ err: error, channelId: feed.channelId }, 'channel feed: a subscriber failed to take a message');
      }
    }
  }

  private drain(feed: Feed) {
    for (let next = feed.ahead.get(feed.head + 1); next; next = feed.ahead.get(feed.head + 1)) {
      feed.ahead.delete(next.seq);
      this.deliver(feed, next);
    }
  }

  /** A hole gets MESSAGE_FEED_GAP_MS to be filled by publishes before it is read from the database. */
  private scheduleFill(feed: Feed, delay = this.options.gapMs) {
    if (feed.closed || feed.gapTimer || feed.filling || feed.known <= feed.head) return;
    feed.gapTimer = setTimeout(() => void this.fill(feed), delay);
    feed.gapTimer.unref();
  }

  private async fill(feed: Feed) {
    feed.gapTimer = null;
    feed.filling = true;
    let retry = false;
    try {
      while (!feed.closed && feed.known > feed.head) {
        const target = feed.known;
        const rows = await readCommitted(this.root.fork(), feed.channelId, feed.head, target);
        for (const row of rows) {
          const seq = Number(row.seq);
          // Publishes heard during the read may have delivered it already.
          if (feed.closed || seq <= feed.head) continue;
          if (seq > feed.head + 1) feed.broken = true;
          const view = feed.ahead.get(seq) ?? toView(row);
          feed.ahead.delete(seq);
          this.deliver(feed, view);
          this.drain(feed);
        }
        if (rows.length < READ_PAGE && feed.head < target) {
          // Numbers up to `target` are committed, yet no row carries them: nothing can show them.
          feed.broken = true;
          feed.head = target;
          for (const seq of feed.ahead.keys()) if (seq <= target) feed.ahead.delete(seq);
          this.drain(feed);
        }
      }
    } catch (error) {
      this.deps.logger.warn({ err: error, channelId: feed.channelId }, 'channel feed: reading committed messages failed; retrying');
      retry = true;
    } finally {
      feed.filling = false;
    }
    this.scheduleFill(feed, retry ? Math.max(this.options.gapMs, 1_000) : this.options.gapMs);
  }

  /** The last committed number of every channel with a feed here, in one query per 500 channels. */
  private async poll() {
    if (this.polling) return;
    const open = [...this.feeds.values()].filter((f) => !f.early && !f.closed);
    if (!open.length) return;
    this.polling = true;
    try {
      const last = await this.lastCommitted(open.map((f) => f.channelId));
      for (const feed of open) {
        const committed = last.get(feed.channelId) ?? 0;
        if (committed > feed.known) feed.known = committed;
        this.scheduleFill(feed);
      }
    } catch (error) {
      this.deps.logger.warn({ err: error }, 'channel feed: reading committed sequences failed');
    } finally {
      this.polling = false;
    }
  }

  private async lastCommitted(channelIds: string[]): Promise<Map<string, number>> {
    const connection = this.root.getConnection();
    const last = new Map<string, number>();
    for (let i = 0; i < channelIds.length; i += 500) {
      const ids = channelIds.slice(i, i + 500);
      const rows = await connection.execute<{ channel_id: string; last_seq: string | number }[]>(
        `select channel_id, last_seq from channel_sequences where channel_id in (${ids.map(() => '?').join(', ')})`,
        ids,
      );
      for (const r of rows) last.set(r.channel_id, Number(r.last_seq));
    }
    return last;
  }
}
