import { describe, expect, it } from 'vitest';
import { slotLateness } from '../src/modules/ticks/ticks.jobs.js';

describe('tick lateness', () => {
  it('measures a run against the slot it belongs to', () => {
    expect(slotLateness('*/5 * * * * *', 'UTC', new Date('2026-11-25T12:00:10.000Z'))).toBe(0);
    expect(slotLateness('*/5 * * * * *', 'UTC', new Date('2026-11-25T12:00:11.250Z'))).toBe(1.25);
    expect(slotLateness('0 * * * *', 'UTC', new Date('2026-11-25T12:59:30.000Z'))).toBe(3570);
  });

  it('has nothing to say without a crontab', () => {
    expect(slotLateness(60_000, undefined, new Date())).toBeNull();
    expect(slotLateness(undefined, undefined, new Date())).toBeNull();
  });
});
