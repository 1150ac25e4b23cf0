import { Cursor } from '@mikro-orm/core';
import { z } from 'zod';
import { ValidationError } from './errors.js';
import { isMessageId } from './infra/ulid.js';

/** Relay pagination arguments, as GraphQL and REST both pass them. */
export interface PageArgs {
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
}

/** The largest page any list answers. */
export const PAGE_MAX = 100;

/** A page size argument: an integer from 0 to `max`, or `fallback` when absent; a 400 naming `field` otherwise. */
export function pageSize(value: number | null | undefined, field: string, fallback: number, max = PAGE_MAX): number {
  if (value == null) return fallback;
  if (!Number.isInteger(value) || value < 0 || value > max) throw new ValidationError(field, `${field} must be an integer from 0 to ${max}`);
  return value;
}

/** Relay arguments to MikroORM cursor options: a page size cap, and a clear error for a bad cursor. */
export function pageOptions(args: PageArgs, max = PAGE_MAX) {
  const opts: { first?: number; last?: number; after?: string; before?: string } = {};
  if (args.first != null) opts.first = pageSize(args.first, 'first', max, max);
  if (args.last != null) opts.last = pageSize(args.last, 'last', max, max);
  if (opts.first == null && opts.last == null) opts.first = max;
  for (const key of ['after', 'before'] as const) {
    const value = args[key];
    if (!value) continue;
    try {
      if (!Array.isArray(Cursor.decode(value))) throw new Error('not a cursor');
    } catch {
      throw new ValidationError(key, `${key} is not a cursor returned by this API`);
    }
    opts[key] = value;
  }
  return opts;
}

/** A cursor of an id page (or a subscription's resume point): an id as this API hands them out. */
export function idCursor(field: string, value: string | null | undefined, what = 'a cursor') {
  if (value && !isMessageId(value)) throw new ValidationError(field, `${field} is not ${what} returned by this API`);
}

/** Where a keyset page reads: ids after (`$gt`) and/or before (`$lt`) the cursors. */
export type IdRange = { $gt?: string; $lt?: string };

/**
 * A Relay page of rows whose ids sort in creation order (ULIDs), so the cursors are the ids themselves:
 * `order` is the list's own order (`asc`: oldest first; `desc`: newest first); `last`/`before` page from
 * its end. `read` runs the query for an id range, an order and a limit (one more row than the page, to
 * tell whether more follow). `cursorName` is what a bad cursor is called in the error.
 */
export async function idPage<T extends { id: string }>(
  args: PageArgs,
  order: 'asc' | 'desc',
  read: (range: IdRange, order: 'asc' | 'desc', limit: number) => Promise<T[]>,
  { fallback = 50, cursorName = 'a cursor' } = {},
) {
  const first = args.first == null ? null : pageSize(args.first, 'first', fallback);
  const last = args.last == null ? null : pageSize(args.last, 'last', fallback);
  idCursor('after', args.after, cursorName);
  idCursor('before', args.before, cursorName);
  const range: IdRange = {};
  if (args.after) range[order === 'asc' ? '$gt' : '$lt'] = args.after;
  if (args.before) range[order === 'asc' ? '$lt' : '$gt'] = args.before;
  const fromEnd = last != null && first == null;
  const size = (fromEnd ? last : first) ?? fallback;
  const flipped = order === 'asc' ? 'desc' : 'asc';
  const rows = await read(range, fromEnd ? flipped : order, size + 1);
  const more = rows.length > size;
  const items = rows.slice(0, size);
  if (fromEnd) items.reverse();
  return {
    items,
    pageInfo: {
      hasNextPage: fromEnd ? !!args.before : more,
      hasPreviousPage: fromEnd ? more : !!args.after,
      startCursor: items[0]?.id ?? null,
      endCursor: items.at(-1)?.id ?? null,
    },
  };
}
