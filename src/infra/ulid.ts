import { randomFillSync } from 'node:crypto';

/**
 * Message, delivery and webhook-integration ids: ULIDs (https://github.com/ulid/spec). 26 Crockford base32 characters,
 * the first 10 a millisecond timestamp and the rest random, with a per-process monotonic increment
 * within one millisecond. Why this scheme:
 * - they sort as strings in creation order on every database (plain text comparison, no collation
 *   surprises with Crockford's alphabet), so an id is its own pagination and resume cursor
 *   (`messages(after: id)`, `channelMessages(after: id)`) with one (channel_id, id) index;
 * - they are generated in the gateway before the insert, so a group commit can insert many rows in one
 *   statement and publish them without reading ids back;
 * - unlike a database sequence they need no coordination between replicas; unlike UUIDv4 they sort.
 * Ids from two replicas in the same millisecond interleave by their random part; a subscriber resuming
 * from an id replays everything sorting after it, and the subscription dedupes by id at the seam.
 */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
let lastTime = -1;
/** The 16 random base32 digits (80 bits) of the last id, incremented for ids in the same millisecond. */
let random: number[] = [];

/** Random bytes drawn from the system 4 KiB at a time: one call per 256 ids instead of one per id (a hot path at scale). */
const pool = Buffer.alloc(4096);
let poolOffset = pool.length;

function freshRandom(): number[] {
  if (poolOffset + 16 > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const digits = new Array<number>(16);
  for (let i = 0; i < 16; i++) digits[i] = pool[poolOffset + i] & 31;
  poolOffset += 16;
  return digits;
}

function increment(digits: number[]): number[] {
  const next = digits.slice();
  for (let i = next.length - 1; i >= 0; i--) {
    if (next[i] < 31) {
      next[i]++;
      return next;
    }
    next[i] = 0;
  }
  throw new Error('ulid random part overflowed within one millisecond');
}

export function newId(now = Date.now()): string {
  if (now <= lastTime) {
    random = increment(random);
    now = lastTime;
  } else {
    lastTime = now;
    random = freshRandom();
    // Leave headroom for increments: the top random digit stays below 16.
    random[0] &= 15;
  }
  let time = '';
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  let rest = '';
  for (const d of random) rest += ALPHABET[d];
  return time + rest;
}

const ID_PATTERN = /^[0-9A-HJKMNP-TV-Z]{26}$/;

/** True for a string shaped like an id this module generates. */
export function isMessageId(value: string): boolean {
  return ID_PATTERN.test(value);
}

/** The creation time encoded in an id. */
export function idTime(id: string): Date {
  let t = 0;
  for (const c of id.slice(0, 10)) t = t * 32 + ALPHABET.indexOf(c);
  return new Date(t);
}
