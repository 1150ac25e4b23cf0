import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

interface Service {
  image?: string;
  build?: unknown;
  environment?: Record<string, string>;
  depends_on?: Record<string, unknown>;
  healthcheck?: { test: string[] };
  volumes?: string[];
}

// No container engine runs here: the file is checked for what it promises, not started.
describe('docker-compose.yml', () => {
  const compose = parse(readFileSync(new URL('../docker-compose.yml', import.meta.url), 'utf8'), { merge: true }) as { services: Record<string, Service> };
  const services = compose.services;

  it('runs PostgreSQL, Redis and MongoDB', () => {
    expect(services.postgres.image).toMatch(/^postgres:/);
    expect(services.redis.image).toMatch(/^redis:/);
    expect(services.mongo.image).toMatch(/^mongo:/);
  });

  it('runs two gateway replicas wired to all three, with readiness healthchecks', () => {
    const gateways = Object.entries(services).filter(([, s]) => s.build !== undefined);
    expect(gateways.map(([name]) => name)).toEqual(['gateway-1', 'gateway-2']);
    for (const [, gateway] of gateways) {
      expect(gateway.environment?.DATABASE_URL).toMatch(/^postgresql:\/\/.+@postgres:5432\//);
      expect(gateway.environment?.REDIS_URL).toBe('redis://redis:6379');
      expect(gateway.environment?.MONGODB_URL).toMatch(/^mongodb:\/\/mongo:27017\//);
      expect(Object.keys(gateway.depends_on ?? {})).toEqual(['postgres', 'redis', 'mongo']);
      expect(gateway.healthcheck?.test.join(' ')).toContain('/readyz');
    }
  });

  it('balances both replicas behind one port, with the config file it mounts', () => {
    const mount = services.balancer.volumes?.[0].split(':')[0] ?? '';
    const conf = readFileSync(new URL(`../${mount}`, import.meta.url), 'utf8');
    expect(conf).toContain('server gateway-1:4000');
    expect(conf).toContain('server gateway-2:4000');
    expect(conf).toMatch(/proxy_set_header Upgrade/);
  });
});
