/**
 * A small in-memory cache whose entries live `ttlMs`, bounded to `maxEntries` (when full, it starts
 * over: every use here is a hot-path shortcut whose misses are cheap). Per replica; invalidate through
 * the app's hooks where other replicas may change the data.
 */
export class TtlCache<K, V> {
  private readonly entries = new Map<K, { value: V; expires: number }>();
  private readonly loading = new Map<K, Promise<V | null>>();
  /** Bumped by delete and clear: a load that began before is answered but not kept. */
  private generation = 0;

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
  ) {}

  get(key: K): V | undefined {
    const hit = this.entries.get(key);
    if (!hit) return undefined;
    if (hit.expires > Date.now()) return hit.value;
    this.entries.delete(key);
    return undefined;
  }

  set(key: K, value: V) {
    if (this.entries.size >= this.maxEntries && !this.entries.has(key)) this.entries.clear();
    this.entries.set(key, { value, expires: Date.now() + this.ttlMs });
  }

  /**
   * The cached value, or the one `load` answers (kept unless null). Callers that miss while a load runs
   * share it: when an entry expires under load, one query runs, not one per request in flight.
   */
  getOrLoad(key: K, load: () => Promise<V | null>): Promise<V | null> {
    const hit = this.get(key);
    if (hit !== undefined) return Promise.resolve(hit);
    let pending = this.loading.get(key);
    if (!pending) {
      const generation = this.generation;
      pending = load()
        .then((value) => {
          if (value !== null && generation === this.generation) this.set(key, value);
          return value;
        })
        .finally(() => {
          if (this.loading.get(key) === pending) this.loading.delete(key);
        });
      this.loading.set(key, pending);
    }
    return pending;
  }

  /**
   * For a cache of keys known to have nothing (`true` each): what `find` answers, or null when the key is
   * known to have nothing. An answer `isNone` calls nothing is remembered; callers that miss at once share
   * one read, and one that shared a read which found something reads again for itself (what a read finds
   * belongs to its reader's unit of work).
   */
  async unlessNone<F>(this: TtlCache<K, true>, key: K, find: () => Promise<F>, isNone: (found: F) => boolean): Promise<F | null> {
    const own: { read?: { found: F } } = {};
    const none = await this.getOrLoad(key, async () => {
      const found = await find();
      own.read = { found };
      return isNone(found) ? true : null;
    });
    if (none) return null;
    return own.read ? own.read.found : find();
  }

  delete(key: K) {
    this.entries.delete(key);
    this.loading.delete(key);
    this.generation++;
  }

  clear() {
    this.entries.clear();
    this.loading.clear();
    this.generation++;
  }
}
