import { Cursor } from '@mikro-orm/core';
import { z } from 'zod';
import { ValidationError } from './errors.js';
import { parseInput } from './validation.js';

/** Relay pagination arguments, as GraphQL and REST both pass them. */
export interface PageArgs {
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
}

/** Relay arguments to MikroORM cursor options: a page size cap, and a clear error for a bad cursor. */
export function pageOptions(args: PageArgs, max = 100) {
  const size = z.number().int().min(0, 'must not be negative').max(max, `must be at most ${max}`).nullable().optional();
  const parsed = parseInput(z.object({ first: size, last: size }), { first: args.first, last: args.last });
  const opts: { first?: number; last?: number; after?: string; before?: string } = {};
  if (parsed.first != null) opts.first = parsed.first;
  if (parsed.last != null) opts.last = parsed.last;
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
