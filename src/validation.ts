import type { z } from 'zod';
import { ValidationError } from './errors.js';

/** Parse service input with a zod schema; the first problem becomes a ValidationError naming its field. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, prefix = ''): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = [prefix, ...issue.path.map(String)].filter(Boolean).join('.') || 'input';
  const message = issue.code === 'invalid_type' && issue.input === undefined ? `${field} is required` : issue.message;
  throw new ValidationError(field, message);
}

/** How deep a JSON input may nest (bodies, GraphQL variables): deeper answers 400 before anything recurses over it. */
export const MAX_INPUT_DEPTH = 64;

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** What is wrong with a string no store can keep: a NUL byte (PostgreSQL refuses it in text) or a lone surrogate (not Unicode). */
export function badText(s: string): string | null {
  if (s.includes('\u0000')) return 'contains a NUL byte (\\u0000), which is not accepted';
  if (LONE_SURROGATE.test(s)) return 'contains a lone surrogate (an unpaired UTF-16 code unit), which is not valid Unicode';
  return null;
}

/**
 * The first string (value or object key) in a parsed input that no store can keep, or the first place it
 * nests deeper than `maxDepth`, as `{field, message}` with the field's dotted path under `prefix`; null when
 * all is well. Iterative, so an input nested thousands deep cannot overflow the stack here.
 */
export function findBadInput(
  value: unknown,
  prefix: string[] = [],
  { maxDepth = MAX_INPUT_DEPTH, text = true }: { maxDepth?: number; text?: boolean } = {},
): { field: string; message: string } | null {
  // Each value is held with its key and its parent's entry: the dotted path is built only for a problem.
  const stack: Visit[] = [{ value, key: null, parent: null, depth: 0 }];
  const name = (at: Visit) => {
    const path: string[] = [];
    for (let v: Visit | null = at; v && v.key !== null; v = v.parent) path.push(v.key);
    return [...prefix, ...path.reverse()].join('.') || 'body';
  };
  while (stack.length) {
    const at = stack.pop()!;
    const v = at.value;
    if (typeof v === 'string') {
      const problem = text ? badText(v) : null;
      if (problem) return { field: name(at), message: `${name(at)} ${problem}` };
      continue;
    }
    if (v === null || typeof v !== 'object') continue;
    if (at.depth >= maxDepth) return { field: name(at), message: `${name(at)} nests deeper than ${maxDepth} levels` };
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ value: v[i], key: String(i), parent: at, depth: at.depth + 1 });
      continue;
    }
    const keys = Object.keys(v);
    for (let i = keys.length - 1; i >= 0; i--) {
      const problem = text ? badText(keys[i]) : null;
      if (problem) return { field: name(at), message: `${name(at)} has a key that ${problem}` };
      stack.push({ value: (v as Record<string, unknown>)[keys[i]], key: keys[i], parent: at, depth: at.depth + 1 });
    }
  }
  return null;
}

/** A value findBadInput has still to look at: its key in its parent (null at the top) and how deep it sits. */
interface Visit {
  value: unknown;
  key: string | null;
  parent: Visit | null;
  depth: number;
}
