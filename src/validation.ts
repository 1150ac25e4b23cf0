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
