import { describe, expect, it } from 'vitest';
import { Hooks } from '../src/infra/hooks.js';

const event = { organisationId: 'o', channelId: 'c' };

describe('Hooks', () => {
  it('runs handlers in order and answers at once when none returns a promise', () => {
    const hooks = new Hooks();
    const seen: string[] = [];
    hooks.on('channel.created', () => void seen.push('a'));
    hooks.on('channel.created', () => void seen.push('b'));
    expect(hooks.emit('channel.created', event)).toBeUndefined();
    expect(seen).toEqual(['a', 'b']);
    expect(hooks.emit('channel.deleted', event)).toBeUndefined();
  });

  it('awaits a handler that returns a promise before running the next, and logs failures without throwing', async () => {
    const errors: unknown[] = [];
    const hooks = new Hooks({ error: (fields: { err: unknown }) => errors.push(fields.err) } as never);
    const seen: string[] = [];
    hooks.on('channel.created', () => {
      throw new Error('sync failure');
    });
    hooks.on('channel.created', async () => {
      await new Promise((r) => setTimeout(r, 20));
      seen.push('slow');
    });
    hooks.on('channel.created', async () => {
      seen.push('after');
      throw new Error('async failure');
    });
    hooks.on('channel.created', () => void seen.push('last'));
    const pending = hooks.emit('channel.created', event);
    expect(pending).toBeInstanceOf(Promise);
    expect(seen).toEqual([]);
    await pending;
    expect(seen).toEqual(['slow', 'after', 'last']);
    expect(errors.map((e) => (e as Error).message)).toEqual(['sync failure', 'async failure']);
  });

  it('ignores what a handler returns unless it is a promise', () => {
    const errors: unknown[] = [];
    const hooks = new Hooks({ error: (fields: { err: unknown }) => errors.push(fields.err) } as never);
    const seen = new Map([['c', 1]]);
    // Allowed by its type: a function that returns something (true here) is a function that returns nothing.
    const drop: (event: { channelId: string }) => void = ({ channelId }) => seen.delete(channelId);
    hooks.on('channel.created', drop);
    expect(hooks.emit('channel.created', event)).toBeUndefined();
    expect(seen.size).toBe(0);
    expect(errors).toEqual([]);
  });

  it('takes a handler off once, however often its unsubscribe is called', () => {
    const hooks = new Hooks();
    const seen: string[] = [];
    const off = hooks.on('channel.created', () => void seen.push('a'));
    hooks.on('channel.created', () => void seen.push('b'));
    off();
    off();
    hooks.emit('channel.created', event);
    expect(seen).toEqual(['b']);
  });
});
