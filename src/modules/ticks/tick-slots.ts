/** Slots of a crontab, and the idempotency key of one pair's tick in one slot. */
import { createHash } from 'node:crypto';
import { CronExpressionParser } from 'cron-parser';

/**
 * A run that starts this little before its slot (a timer firing early) belongs to that slot, not to the
 * one before: otherwise it would find the previous slot already sent and skip this one.
 */
const EARLY_MS = 25;

/** Missed slots are counted one by one up to this many per stretch (a year of a minutely crontab is 525,600). */
export const MISSED_COUNT_CAP = 100_000;

const parse = (cron: string, at: number) => CronExpressionParser.parse(cron, { currentDate: new Date(at) });

/** The slot a run started at `at` belongs to: the latest cron time at or before it. */
export function slotOf(cron: string, at: number): number {
  return parse(cron, at + EARLY_MS + 1).prev().getTime();
}

/** The first cron time after `slot`. */
export function slotAfter(cron: string, slot: number): number {
  return parse(cron, slot).next().getTime();
}

/** Cron times strictly between `from` and `to` (the slots skipped between two runs), at most MISSED_COUNT_CAP. */
export function slotsBetween(cron: string, from: number, to: number): number {
  if (to - from <= 0) return 0;
  const it = parse(cron, from);
  let n = 0;
  while (n < MISSED_COUNT_CAP) {
    const t = it.next().getTime();
    if (t >= to) break;
    n++;
  }
  return n;
}

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * The idempotency key of a pair's tick in a slot, sent as `webhook-id` on every attempt of it by any
 * replica: a ULID whose time part is the slot (so it sorts, and reads, as the slot) and whose 80-bit
 * rest is a hash of the pair. Two runs of one slot send the same key; two slots never do.
 */
export function tickKey(linkId: string, slot: number): string {
  let time = '';
  let t = slot;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const digest = createHash('sha256').update(`tick:${linkId}`).digest();
  let rest = '';
  for (let i = 0; i < 16; i++) rest += ALPHABET[digest[i] & 31];
  return time + rest;
}

/** The slot a tick key holds. */
export function keySlot(key: string): number {
  let t = 0;
  for (const c of key.slice(0, 10)) t = t * 32 + ALPHABET.indexOf(c);
  return t;
}
