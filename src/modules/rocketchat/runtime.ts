/**
 * What the Rocket.Chat integrations of one app keep in memory, created on first use and reached through
 * the app's deps (never shared between apps, so tests and replicas in one process stay apart):
 * the scripts' `Store`s, and the per-replica caches and suspensions of its services (incoming, outgoing, scripts).
 */
import type { Deps } from '../../context.js';
import { TtlCache } from '../../infra/ttl-cache.js';
import type { ScriptHost } from './script-sandbox.js';

/** Bounds of each integration's Store (Rocket.Chat's is unbounded; one script must not fill the heap). */
export const STORE_LIMITS = { keys: 1_000, keyLength: 256, valueBytes: 64 * 1024, bytes: 1024 * 1024, integrations: 10_000 };

interface StoreState {
  entries: Map<string, string>;
  bytes: number;
}

/**
 * The scripts' Stores, one per integration, in memory on this replica as in Rocket.Chat (which keeps it
 * in the isolate it caches per integration): values outlive a call, are lost on restart, and start empty
 * again when the integration changes (Rocket.Chat recompiles the script then). The least recently used
 * integration's Store goes first when too many are held.
 */
export class ScriptStores {
  private stores = new Map<string, StoreState>();

  /** The `store` a script run of this integration gets. */
  for(integrationId: string): NonNullable<ScriptHost['store']> {
    return {
      get: (key) => this.touch(integrationId)?.entries.get(key),
      set: (key, json) => this.set(integrationId, key, json),
    };
  }

  forget(integrationId: string) {
    this.stores.delete(integrationId);
  }

  private touch(integrationId: string, create = false): StoreState | undefined {
    let state = this.stores.get(integrationId);
    if (state) {
      // Most recently used last: the Map's first entry is the one to drop.
      this.stores.delete(integrationId);
      this.stores.set(integrationId, state);
    } else if (create) {
      if (this.stores.size >= STORE_LIMITS.integrations) this.stores.delete(this.stores.keys().next().value!);
      state = { entries: new Map(), bytes: 0 };
      this.stores.set(integrationId, state);
    }
    return state;
  }

  private set(integrationId: string, key: string, json: string | null) {
    if (key.length > STORE_LIMITS.keyLength) throw new RangeError(`Store keys are at most ${STORE_LIMITS.keyLength} characters`);
    const state = this.touch(integrationId, json !== null);
    if (!state) return;
    const old = state.entries.get(key);
    const oldBytes = old === undefined ? 0 : key.length + old.length;
    if (json === null) {
      state.entries.delete(key);
      state.bytes -= oldBytes;
      return;
    }
    if (json.length > STORE_LIMITS.valueBytes) throw new RangeError(`a Store value is at most ${STORE_LIMITS.valueBytes} bytes as JSON`);
    if (old === undefined && state.entries.size >= STORE_LIMITS.keys) throw new RangeError(`the Store holds at most ${STORE_LIMITS.keys} keys`);
    const bytes = state.bytes - oldBytes + key.length + json.length;
    if (bytes > STORE_LIMITS.bytes) throw new RangeError(`the Store holds at most ${STORE_LIMITS.bytes} bytes`);
    state.entries.set(key, json);
    state.bytes = bytes;
  }
}

declare module '../../context.js' {
  interface Deps {
    /** Rocket.Chat's per-app state (src/modules/rocketchat): script stores, strikes, caches. */
    rocketchat: RocketChatRuntime;
  }
}

/** One app's Rocket.Chat state, built by buildApp. */
export class RocketChatRuntime {
  readonly stores = new ScriptStores();
  /** Scripts stopped at their limits in a row, and until when they are suspended. */
  readonly strikes = new Map<string, { strikes: number; until: number }>();
  /** Incoming integrations and their channels, by id, for a second (see incomingTarget). */
  readonly incoming = new TtlCache<string, unknown>(1_000);
  /** `organisation:event` keys known to have no outgoing integration, for a second (see outgoingFor). */
  readonly outgoingNone = new TtlCache<string, true>(1_000);
}
