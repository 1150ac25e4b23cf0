/** Waiting in tests: on real servers and sockets, things happen a little later than the call that caused them. */

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Poll `check` every 25 ms until it returns something truthy, and return that value; fail after
 * `timeoutMs`, naming `what` in the error.
 */
export async function until<T>(check: () => T | Promise<T>, timeoutMs = 15_000, what = 'the condition'): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}
