import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { freshDatabase, type DbKind } from './services.js';

export const ADMIN_TOKEN = 'sb_test_admin_token_0123456789abcdef';

export interface TestApp {
  app: App;
  url: string;
  /** The admin's token (an administrator with no organisation until it creates one). */
  token: string;
  /** Run a typed operation over real HTTP; throws on GraphQL errors (expected failures are typed results). */
  gql<R, V>(doc: TypedDocumentNode<R, V>, variables?: V, token?: string | null): Promise<R>;
  /** A query given as text over real HTTP: its `data`; throws on GraphQL errors. */
  gqlData<T = any>(query: string, variables?: Record<string, unknown>, token?: string | null): Promise<T>;
  /** The raw GraphQL response, errors included. */
  gqlRaw(query: string, variables?: Record<string, unknown>, token?: string | null): Promise<{ data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] }>;
  close(): Promise<void>;
}

/** Start a gateway on a loopback port with a fresh database. Loopback outbound calls are allowed. */
export async function startTestApp(db: DbKind, env: Record<string, string> = {}): Promise<TestApp> {
  const database = await freshDatabase(db);
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: database.url,
    SWITCHBOARD_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'sb-data-')),
    SWITCHBOARD_ADMIN_TOKEN: ADMIN_TOKEN,
    OUTBOUND_ALLOW_PRIVATE: '127.0.0.0/8,::1',
    // TEST_LOG_LEVEL=error shows what a test's gateway logged (an unexpected error's stack, say).
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...env,
  });
  const app = await buildApp(config);
  const url = await app.start();
  // PUBLIC_URL must point at the real port for webhook URLs handed to integrations.
  if (!env.PUBLIC_URL) config.publicUrl = url;

  return {
    ...remoteGateway(url),
    app,
    async close() {
      await app.stop();
      await database.drop();
    },
  };
}

/** GraphQL over HTTP to a gateway at `url`, in this process or another: what the seed helpers need. */
export function remoteGateway(url: string): TestApp {
  async function gqlRaw(query: string, variables?: Record<string, unknown>, token: string | null = ADMIN_TOKEN) {
    const res = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query, variables }),
    });
    return (await res.json()) as Awaited<ReturnType<TestApp['gqlRaw']>>;
  }
  async function gqlData(query: string, variables?: Record<string, unknown>, token?: string | null) {
    const body = await gqlRaw(query, variables, token === undefined ? ADMIN_TOKEN : token);
    if (body.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(body.errors)}`);
    return body.data as never;
  }
  return {
    app: undefined as never,
    url,
    token: ADMIN_TOKEN,
    gqlRaw,
    gqlData,
    gql: (doc, variables, token) => gqlData(print(doc), variables as Record<string, unknown>, token),
    close: async () => undefined,
  };
}
