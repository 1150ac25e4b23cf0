/**
 * Several gateway processes on one database and one job store, as replicas run in production, and the interval
 * integration they tick: its own HTTP server serves the spec and records every tick it receives. The set-up the
 * multi-process tick tests share (ticks-replicas, ticks-failover).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { spawnGateway, type GatewayProcess } from '../../bench/spawn.js';
import { graphql } from '../gql/index.js';
import { ADMIN_TOKEN, remoteGateway } from './app.js';
import { json, startServer, type LocalServer, type Recorded } from './http-server.js';
import { addIntegration, createChannel, createOrg } from './seed.js';
import { freshDatabase, postgresAvailable, redisAvailable, REDIS_URL, type DbKind } from './services.js';

export type { GatewayProcess };

/** A job store the replicas share: the database they run on and the environment that picks the store. */
export interface JobStore {
  label: string;
  db: DbKind;
  env: Record<string, string>;
  /** Whether its services are reachable here (CI starts them all). */
  available: boolean;
}

/** Every job store that can run here: the embedded one on SQLite and PostgreSQL, Agenda's Redis and PostgreSQL backends. */
export const JOB_STORES: JobStore[] = [
  { label: 'embedded store on one SQLite file', db: 'sqlite', env: {}, available: true },
  { label: 'embedded store on PostgreSQL', db: 'postgres', env: {}, available: postgresAvailable },
  { label: 'official Redis backend', db: 'sqlite', env: { AGENDA_BACKEND: 'redis', REDIS_URL }, available: redisAvailable },
  { label: 'official PostgreSQL backend', db: 'postgres', env: { AGENDA_BACKEND: 'postgres' }, available: postgresAvailable },
];

/** One tick the integration received: its idempotency key (`webhook-id`), when, and the status it answered. */
export interface Tick {
  key: string;
  at: number;
  status: number;
}

const Enable = graphql(`
  mutation ReplicasEnable($integrationId: ID!, $channelId: ID!) {
    enableIntegration(input: { integrationId: $integrationId, channelId: $channelId }) { __typename ... on Error { message } }
  }
`);

export interface Replicas {
  /** The interval integration's server: the spec at /spec, ticks at /tick. */
  server: LocalServer;
  /** Every tick it received, in order. */
  ticks: Tick[];
  databaseUrl: string;
  /** The environment every process starts with. */
  env: Record<string, string>;
  /** The processes running now. */
  running: GatewayProcess[];
  /** Start one more process. Start them one after the other: the first one migrates the fresh database. */
  start(): Promise<GatewayProcess>;
  /** Stop every running process (SIGTERM, as an orchestrator does). */
  stopAll(): Promise<void>;
  /** Kill one process with SIGKILL, as a crash would, and stop counting it as running. */
  kill(process: GatewayProcess): void;
  /** Through `via`: an organisation, a channel, and `count` copies of the interval integration switched on for it. */
  seed(via: GatewayProcess, count?: number): Promise<{ channelId: string; integrationIds: string[] }>;
  /** Stop the processes and the integration's server, and drop the database. */
  close(): Promise<void>;
}

/**
 * A fresh database for `store`, and the interval integration's server with the schedule `cron` (6-field crontabs
 * tick on seconds); `answer` gives the status of each tick (202 unless told). No process runs until `start()`.
 */
export async function startReplicas(store: JobStore, options: { cron: string; answer?: (tick: Recorded) => number; env?: Record<string, string> }): Promise<Replicas> {
  const ticks: Tick[] = [];
  const server: LocalServer = await startServer((req, res) => {
    const p = req.url.split('?')[0];
    if (p === '/spec') {
      return json(res, 200, {
        data: {
          descriptions: { app_name: 'Clock', app_description: 'Counts ticks' },
          integration_type: 'interval',
          settings: [{ label: 'interval', type: 'text', required: true, default: options.cron }],
          tick_url: `${server.url}/tick`,
        },
      });
    }
    if (p === '/tick') {
      const status = options.answer?.(req) ?? 202;
      ticks.push({ key: String(req.headers['webhook-id']), at: Date.now(), status });
      return json(res, status, {});
    }
    json(res, 404, {});
  });
  const database = await freshDatabase(store.db);
  const env = {
    DATABASE_URL: database.url,
    SWITCHBOARD_ADMIN_TOKEN: ADMIN_TOKEN,
    SWITCHBOARD_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'sb-replicas-')),
    OUTBOUND_ALLOW_PRIVATE: '127.0.0.0/8',
    AGENDA_PROCESS_EVERY_MS: '250',
    AGENDA_NAMESPACE: `t${randomBytes(4).toString('hex')}`,
    ...store.env,
    ...options.env,
  };
  const running: GatewayProcess[] = [];

  return {
    server,
    ticks,
    databaseUrl: database.url,
    env,
    running,
    async start() {
      const g = await spawnGateway(env);
      running.push(g);
      return g;
    },
    async stopAll() {
      await Promise.all(running.splice(0).map((g) => g.stop()));
    },
    kill(g) {
      g.child.kill('SIGKILL');
      running.splice(running.indexOf(g), 1);
    },
    async seed(via, count = 1) {
      const t = remoteGateway(via.url);
      const org = await createOrg(t, 'Replicas');
      const channel = await createChannel(t, org, 'clock');
      const integrationIds: string[] = [];
      for (let i = 0; i < count; i++) {
        const integrationId = await addIntegration(t, org, `${server.url}/spec`);
        const enabled = (await t.gql(Enable, { integrationId, channelId: channel.id })).enableIntegration;
        if (enabled.__typename !== 'MutationEnableIntegrationSuccess') throw new Error(`could not switch the clock on: ${JSON.stringify(enabled)}`);
        integrationIds.push(integrationId);
      }
      return { channelId: channel.id, integrationIds };
    },
    async close() {
      await Promise.all(running.splice(0).map((g) => g.stop()));
      await server.close();
      await database.drop();
    },
  };
}
