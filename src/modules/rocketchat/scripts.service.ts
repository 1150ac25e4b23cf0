/**
 * Script runs of Rocket.Chat integrations: each call runs one method of the integration's `class Script` in the
 * isolated-vm sandbox (script-sandbox.ts) with Rocket.Chat's globals — its Store, kept in the app's runtime
 * (runtime.ts), and HTTP through deps.http (script-http.ts) — and scripts stopped at their limits too often are
 * suspended for a while. Failures land in the integration's history (scriptFailure).
 */
import type { Deps } from '../../context.js';
import { maskSecret } from '../../infra/crypto.js';
import { scriptFetch, type ScriptHttpCall } from './script-http.js';
import { runScript, ScriptError, type ScriptMethod } from './script-sandbox.js';
import type { WebhookIntegration, WebhookIntegrationHistory } from './webhook-integration.entity.js';

/** A history row being written (see recordHistory in posting.service.ts). */
export type HistoryDraft = Partial<WebhookIntegrationHistory>;

/** A script that failed or was stopped: the step, the error and the script's logs go into the history row. */
export function scriptFailure(row: HistoryDraft, step: string, error: unknown) {
  row.step = step;
  row.error = true;
  row.finished = true;
  row.errorMessage = error instanceof Error ? error.message : String(error);
  if (error instanceof ScriptError && error.logs.length) row.scriptLogs = error.logs;
}

/**
 * A script stopped at its limits (time or memory) three times in a row is suspended for 30 s on this
 * replica: its calls fail at once instead of each burning a core for up to 3 s. A run that completes
 * (even one that throws) clears the count.
 */
const SUSPEND_AFTER = 3;
const SUSPEND_MS = 30_000;

function strikes(deps: Deps) {
  return deps.rocketchat.strikes;
}

/** A changed integration's script starts afresh: any suspension is lifted. */
export function liftSuspension(deps: Deps, integrationId: string) {
  strikes(deps).delete(integrationId);
}

/** Rocket.Chat recompiles a changed (or removed) integration's script, and its Store starts empty with it. */
export function forgetStore(deps: Deps, integrationId: string) {
  deps.rocketchat.stores.forget(integrationId);
}

/** Replace every occurrence of each secret in the lines by its masked form (in place). */
function maskIn(lines: string[], secrets: (string | null | undefined)[]) {
  for (const secret of secrets) {
    if (!secret) continue;
    const masked = maskSecret(secret)!;
    for (let i = 0; i < lines.length; i++) if (lines[i].includes(secret)) lines[i] = lines[i].split(secret).join(masked);
  }
}

/**
 * Run one method of an integration's script with Rocket.Chat's globals: its Store, and HTTP through the
 * gateway's outbound client, each call appended to `httpCalls` for the history.
 */
export async function runIntegrationScript(
  ctx: { deps: Deps },
  integration: Pick<WebhookIntegration, 'id' | 'script'>,
  method: ScriptMethod,
  input: unknown,
  httpCalls: ScriptHttpCall[] = [],
  /** The integration's own secrets the script sees (its tokens): masked in its console lines, which the history keeps. */
  secrets: (string | null | undefined)[] = [],
) {
  const record = strikes(ctx.deps);
  const state = record.get(integration.id);
  if (state && state.until > Date.now()) {
    throw new ScriptError('busy', `script suspended for ${Math.ceil((state.until - Date.now()) / 1000)} s after ${SUSPEND_AFTER} runs in a row were stopped at their limits`);
  }
  try {
    const host = { store: ctx.deps.rocketchat.stores.for(integration.id), fetch: scriptFetch(ctx.deps, httpCalls) };
    const run = await runScript(integration.script!, method, input, {}, host);
    maskIn(run.logs, secrets);
    record.delete(integration.id);
    ctx.deps.logger.debug({ integrationId: integration.id, method, ms: run.durationMs }, 'integration script ran');
    return run;
  } catch (error) {
    if (error instanceof ScriptError) maskIn(error.logs, secrets);
    if (error instanceof ScriptError && (error.kind === 'timeout' || error.kind === 'memory')) {
      const count = (state?.strikes ?? 0) + 1;
      if (record.size > 10_000) record.clear();
      record.set(integration.id, { strikes: count >= SUSPEND_AFTER ? 0 : count, until: count >= SUSPEND_AFTER ? Date.now() + SUSPEND_MS : 0 });
      ctx.deps.logger.warn({ integrationId: integration.id, method, kind: error.kind, strikes: count }, 'integration script stopped at its limits');
    } else if (error instanceof ScriptError && error.kind !== 'busy') {
      record.delete(integration.id);
    }
    throw error;
  }
}
