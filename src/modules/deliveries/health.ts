/**
 * Endpoint health: each target's circuit and its disabling, kept in `delivery_targets` so every replica sees the
 * same state. The worker asks `gate` before an attempt (send, wait for the circuit, or fail at once: disabled) and
 * reports each outcome to `recordOutcome`, which moves the state and answers the change, if any.
 *
 * State moves are conditional updates on the row as it was read (its `updatedAt`), retried a few times: two
 * replicas reporting at once each count their failure, and only one of them takes the half-open probe.
 */
import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/core';
import type { Config } from '../../config.js';
import { DeliveryTarget, type TargetState } from './delivery-target.entity.js';

export type HealthTransition = 'opened' | 'closed' | 'disabled' | 'reenabled';

export interface TargetRef {
  kind: string;
  organisation: string;
  targetId: string | null;
  channel: string | null;
  url: string;
}

/** May the attempt go: yes, not before `until`, or never (disabled); with the target's throttle, if it has one. */
export type Gate = ({ send: true; probe: boolean } | { send: false; until: Date } | { send: false; disabled: string }) & { maxPerSecond: number | null };

/** A target is an integration on a channel (a custom channel's connection is one channel's), or, per URL, a Rocket.Chat integration. */
export function targetKey(ref: Pick<TargetRef, 'kind' | 'targetId' | 'channel' | 'url'>, perUrl: boolean): string {
  return [ref.kind, ref.targetId ?? '', perUrl ? ref.url : (ref.channel ?? '')].join('|').slice(0, 512);
}

type Settings = Config['deliveries'] & { probeMs: number };

const TRIES = 4;

/** Whether an attempt to this target may go out now. */
export async function gate(em: EntityManager, key: string, now: Date, settings: Settings): Promise<Gate> {
  let maxPerSecond: number | null = null;
  for (let i = 0; i < TRIES; i++) {
    const t = await em.fork().findOne(DeliveryTarget, { key });
    maxPerSecond = t?.maxPerSecond ?? null;
    if (!t || t.state === 'closed') return { send: true, probe: false, maxPerSecond };
    if (t.state === 'disabled') return { send: false, disabled: t.disabledReason ?? 'disabled', maxPerSecond };
    // While a probe is out, the others look again every second: once it succeeds they go at once.
    const until = t.state === 'open' ? t.openUntil : t.probeUntil && new Date(Math.min(t.probeUntil.getTime(), now.getTime() + 1_000));
    if (until && until > now && !(t.state === 'half_open' && t.probeUntil! <= now)) return { send: false, until, maxPerSecond };
    // The cool-down is over (or a probe was lost): one attempt, whoever takes it first, probes.
    const taken = await em.fork().nativeUpdate(
      DeliveryTarget,
      { id: t.id, state: t.state, updatedAt: t.updatedAt },
      { state: 'half_open', probeUntil: new Date(now.getTime() + settings.probeMs), updatedAt: now },
    );
    if (taken) return { send: true, probe: true, maxPerSecond };
  }
  return { send: false, until: new Date(now.getTime() + 1_000), maxPerSecond };
}

/** Count an attempt's outcome against its target; answers the change of state it caused, if any. */
export async function recordOutcome(
  em: EntityManager,
  key: string,
  ref: TargetRef,
  outcome: { ok: boolean; error: string | null },
  now: Date,
  settings: Settings,
): Promise<{ transition: HealthTransition; target: DeliveryTarget } | null> {
  for (let i = 0; i < TRIES; i++) {
    const fork = em.fork();
    const t = await fork.findOne(DeliveryTarget, { key });
    if (outcome.ok) {
      if (!t || (t.state === 'closed' && t.consecutiveFailures === 0)) return null;
      // A call that left before the target was disabled does not re-enable it: an admin does.
      const state: TargetState = t.state === 'disabled' ? 'disabled' : 'closed';
      const changes = { state, consecutiveFailures: 0, failingSince: null, openUntil: null, probeUntil: null, lastSuccessAt: now, updatedAt: now };
      if (!(await fork.nativeUpdate(DeliveryTarget, { id: t.id, updatedAt: t.updatedAt }, changes))) continue;
      const opened = t.state === 'open' || t.state === 'half_open';
      return opened ? { transition: 'closed', target: { ...t, ...changes } as DeliveryTarget } : null;
    }
    if (!t) {
      await insertTarget(fork, key, ref, now);
      continue;
    }
    const failures = t.consecutiveFailures + 1;
    const failingSince = t.failingSince ?? now;
    let state: TargetState = t.state;
    let transition: HealthTransition | null = null;
    let disabledReason = t.disabledReason;
    let openUntil = t.openUntil;
    if (t.state !== 'disabled' && settings.disableAfterMs > 0 && now.getTime() - failingSince.getTime() >= settings.disableAfterMs) {
      state = 'disabled';
      transition = 'disabled';
      disabledReason = `failing without a success since ${failingSince.toISOString()} (DELIVERY_DISABLE_AFTER_HOURS); last error: ${outcome.error ?? 'unknown'}`.slice(0, 2_000);
    } else if (t.state === 'half_open' || (t.state === 'closed' && settings.circuitFailures > 0 && failures >= settings.circuitFailures)) {
      state = 'open';
      transition = 'opened';
      openUntil = new Date(now.getTime() + settings.circuitCooldownMs);
    }
    const changes = {
      state,
      consecutiveFailures: failures,
      failingSince,
      openUntil: state === 'open' ? openUntil : null,
      probeUntil: null,
      lastError: outcome.error,
      lastErrorAt: now,
      disabledReason,
      disabledAt: transition === 'disabled' ? now : t.disabledAt,
      updatedAt: now.getTime() === t.updatedAt.getTime() ? new Date(now.getTime() + 1) : now,
    };
    if (!(await fork.nativeUpdate(DeliveryTarget, { id: t.id, updatedAt: t.updatedAt }, changes))) continue;
    return transition ? { transition, target: { ...t, ...changes } as DeliveryTarget } : null;
  }
  return null;
}

/** Write a target's row (closed, never failed, default options), unless another replica wrote it first: read it again. */
async function insertTarget(em: EntityManager, key: string, ref: TargetRef, now: Date) {
  try {
    await em.insert(DeliveryTarget, {
      id: randomUUID(),
      organisation: ref.organisation,
      key,
      kind: ref.kind,
      targetId: ref.targetId,
      channelId: ref.channel,
      url: ref.url,
      state: 'closed',
      consecutiveFailures: 0,
      createdAt: now,
      updatedAt: now,
    } as never);
  } catch {
    // The key is unique: whoever wrote it first wins, and the caller reads their row.
  }
}

/** An admin's re-enabling: the circuit closed and the failure count cleared. Answers the change, if any. */
export async function reenable(em: EntityManager, key: string, now: Date): Promise<{ transition: HealthTransition | null; target: DeliveryTarget | null }> {
  const t = await em.findOne(DeliveryTarget, { key });
  if (!t) return { transition: null, target: null };
  const was = t.state;
  Object.assign(t, { state: 'closed', consecutiveFailures: 0, failingSince: null, openUntil: null, probeUntil: null, disabledReason: null, disabledAt: null, updatedAt: now });
  await em.flush();
  return { transition: was === 'disabled' ? 'reenabled' : was === 'closed' ? null : 'closed', target: t };
}

/** How the queue sends a target's calls (see DeliveryTarget `ordered`, `maxPerSecond`). */
export interface TargetOptions {
  ordered: boolean;
  maxPerSecond: number | null;
}

export const DEFAULT_TARGET_OPTIONS: TargetOptions = { ordered: false, maxPerSecond: null };

/** The options of these targets, by key (targets without a row have the defaults, and are left out). */
export async function targetOptions(em: EntityManager, keys: readonly string[]): Promise<Map<string, TargetOptions>> {
  if (!keys.length) return new Map();
  const rows = await em.find(DeliveryTarget, { key: { $in: [...new Set(keys)] } }, { fields: ['key', 'ordered', 'maxPerSecond'] });
  return new Map(rows.map((t) => [t.key, { ordered: t.ordered, maxPerSecond: t.maxPerSecond ?? null }]));
}

/**
 * Set a target's options (absent ones keep their value): its row is written first if it has none yet. Only the option
 * columns change, not `updatedAt`: a concurrent change of its health is neither lost nor made to retry.
 */
export async function setTargetOptions(em: EntityManager, key: string, ref: TargetRef, options: Partial<TargetOptions>, now = new Date()): Promise<TargetOptions> {
  const changes = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<TargetOptions>;
  for (let i = 0; i < 2; i++) {
    const fork = em.fork();
    const t = await fork.findOne(DeliveryTarget, { key }, { fields: ['id', 'ordered', 'maxPerSecond'] });
    if (!t) {
      await insertTarget(fork, key, ref, now);
      continue;
    }
    if (Object.keys(changes).length) await fork.nativeUpdate(DeliveryTarget, { id: t.id }, changes);
    return { ordered: t.ordered, maxPerSecond: t.maxPerSecond ?? null, ...changes };
  }
  throw new Error(`could not write the options of delivery target ${key}`);
}
