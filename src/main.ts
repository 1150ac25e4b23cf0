import { buildApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';

try {
  const config = loadConfig();
  const app = await buildApp(config);
  const url = await app.start();
  if (app.bootstrapToken) {
    // Printed once, on purpose: this is the first administrator's only copy of their token.
    console.log(`\nFirst start: created user "admin". Its access token (shown once, store it now):\n\n  ${app.bootstrapToken}\n`);
  }
  console.log(`Switchboard is listening on ${url}\nGraphiQL: ${config.publicUrl}/graphql  (send Authorization: Bearer <token>)\n`);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      app.stop().then(
        () => process.exit(0),
        (error) => {
          console.error(error);
          process.exit(1);
        },
      );
    });
  }
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(2);
  }
  throw error;
}
