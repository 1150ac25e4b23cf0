import { buildApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';

/** A positive whole number of milliseconds from the environment, or the default. */
function millis(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new ConfigError(`Invalid configuration:\n  ${name}: must be a positive number of milliseconds`);
  return value;
}

/** Start the gateway and stop it on SIGINT or SIGTERM. (A function, not top-level code: the build is a CommonJS bundle, see scripts/build.mjs.) */
async function main() {
  try {
    const config = loadConfig();
    // How long to wait for the database and Redis at start, and how long a shutdown may take in all
    // (docker's stop grace period is 10 s by default: stay under it).
    const startupTimeoutMs = millis('STARTUP_TIMEOUT_MS', 60_000);
    const shutdownTimeoutMs = millis('SHUTDOWN_TIMEOUT_MS', 9_000);
    // Of the shutdown budget: WebSocket subscribers get up to a fifth to acknowledge the close, in-flight
    // requests up to 60 % in all; the rest is for background workers and the database.
    const app = await buildApp(config, {
      startupTimeoutMs,
      websocketCloseTimeoutMs: Math.min(3_000, Math.floor(shutdownTimeoutMs / 5)),
      drainTimeoutMs: Math.floor(shutdownTimeoutMs * 0.6),
      shutdownTimeoutMs,
    });
    const log = app.deps.logger;

    let shuttingDown = false;
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.on(signal, () => {
        if (shuttingDown) return;
        shuttingDown = true;
        log.info({ signal, timeoutMs: shutdownTimeoutMs }, `received ${signal}: shutting down`);
        const deadline = setTimeout(() => {
          log.error({ timeoutMs: shutdownTimeoutMs }, 'shutdown did not finish in time: exiting anyway');
          process.exit(1);
        }, shutdownTimeoutMs);
        deadline.unref();
        app.stop().then(
          () => {
            clearTimeout(deadline);
            log.flush?.();
            process.exit(0);
          },
          (error) => {
            log.error({ err: error }, 'shutdown failed');
            process.exit(1);
          },
        );
      });
    }

    const url = await app.start();
    if (app.bootstrapToken && !config.adminToken) {
      // Printed once, on purpose: this is the first administrator's only copy of their token.
      console.log(`\nFirst start: created user "admin". Its access token (shown once, store it now):\n\n  ${app.bootstrapToken}\n`);
    }
    log.info({ url, graphiql: `${config.publicUrl}/graphql` }, 'Switchboard is listening');
    console.log(`Switchboard is listening on ${url}\nConsole:  ${config.publicUrl}/console  (sign in with the token)\nGraphiQL: ${config.publicUrl}/graphql  (send Authorization: Bearer <token>)\n`);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(2);
    }
    console.error(error);
    process.exit(1);
  }
}

void main();
