import { MikroORM } from '@mikro-orm/core';
import { PostgreSqlDriver } from '@mikro-orm/postgresql';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const ADMIN_TOKEN = 'sb_bench_admin_token_0123456789abcdef';
export const POSTGRES_URL = process.env.TEST_DATABASE_URL ?? 'postgresql://postgres:postgres@127.0.0.1:5432/switchboard_test';
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface BenchDb {
  kind: 'sqlite' | 'postgres';
  url: string;
  dataDir: string;
  drop(): Promise<void>;
}

async function pgAdmin() {
  return MikroORM.init({ driver: PostgreSqlDriver, clientUrl: POSTGRES_URL, entities: [], discovery: { warnWhenNoEntities: false }, pool: { min: 0, max: 1 } });
}

export async function postgresReachable() {
  try {
    const admin = await pgAdmin();
    await admin.close(true);
    return true;
  } catch {
    return false;
  }
}

/** A fresh database for a benchmark run (a SQLite file, or a new PostgreSQL database). */
export async function benchDatabase(kind: 'sqlite' | 'postgres'): Promise<BenchDb> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'sb-bench-'));
  if (kind === 'sqlite') return { kind, url: path.join(dataDir, 'switchboard.db'), dataDir, drop: async () => {} };
  const name = `sb_bench_${randomBytes(4).toString('hex')}`;
  const admin = await pgAdmin();
  await admin.em.getConnection().execute(`create database ${name}`);
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${name}`;
  return {
    kind,
    url: url.toString(),
    dataDir,
    drop: async () => {
      await admin.em.getConnection().execute(`drop database if exists ${name} with (force)`);
      await admin.close(true);
    },
  };
}

/** GraphQL over HTTP with the bench admin token. */
export async function gql<T>(url: string, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data: T; errors?: unknown };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

/** An organisation and a channel, created through the gateway's API. */
export async function seedChannel(url: string) {
  const org = await gql<{ createOrganisation: { data: { id: string } } }>(
    url,
    'mutation { createOrganisation(input: { name: "bench" }) { ... on MutationCreateOrganisationSuccess { data { id } } } }',
  );
  const orgId = org.createOrganisation.data.id;
  const channel = await gql<{ createChannel: { data: { id: string } } }>(
    url,
    'mutation($o: ID!) { createChannel(input: { organisationId: $o, name: "bench" }) { ... on MutationCreateChannelSuccess { data { id } } } }',
    { o: orgId },
  );
  return { orgId, channelId: channel.createChannel.data.id };
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
