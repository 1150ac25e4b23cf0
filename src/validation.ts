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
  const stack: { value: unknown; path: string[] }[] = [{ value, path: prefix }];
  const name = (path: string[]) => path.join('.') || 'body';
  while (stack.length) {
    const { value: v, path } = stack.pop()!;
    if (typeof v === 'string') {
      const problem = text ? badText(v) : null;
      if (problem) return { field: name(path), message: `${name(path)} ${problem}` };
      continue;
    }
    if (v === null || typeof v !== 'object') continue;
    if (path.length - prefix.length >= maxDepth) return { field: name(path), message: `${name(path)} nests deeper than ${maxDepth} levels` };
    const entries: [string, unknown][] = Array.isArray(v) ? v.map((item, i) => [String(i), item]) : Object.entries(v);
    for (let i = entries.length - 1; i >= 0; i--) {
      const [key, item] = entries[i];
      const problem = Array.isArray(v) || !text ? null : badText(key);
      if (problem) return { field: name(path), message: `${name(path)} has a key that ${problem}` };
      stack.push({ value: item, path: [...path, key] });
    }
  }
  return null;
}
