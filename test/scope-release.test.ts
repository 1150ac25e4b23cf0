import type { EntityManager } from '@mikro-orm/core';
import { describe, expect, it } from 'vitest';
import { forkOnUse, laterForks, releaseUnitOfWork, type Deps, type Scope } from '../src/context.js';

/** A root whose forks are numbered, so a test can tell which fork a scope uses. */
function root() {
  let forks = 0;
  return { em: { fork: () => ({ n: ++forks }) } as unknown as EntityManager, forks: () => forks };
}

const viewer = { id: 'u1', name: 'ada', email: null, isAdmin: false, createdAt: new Date(0) };

describe('releaseUnitOfWork', () => {
  it("drops a scope's EntityManager, also from a copy of the scope, and keeps who it serves as plain values", () => {
    const r = root();
    const scope = Object.assign(forkOnUse(r, { deps: {} as Deps, requestId: 'r' }), { viewer, credential: null }) as Scope;
    const copy = Object.assign({ socket: 's' }, scope) as Scope;
    expect(r.forks()).toBe(1);

    releaseUnitOfWork(copy);
    releaseUnitOfWork(scope);
    expect(() => copy.em.findOne).toThrow(/released scope/);
    expect(() => scope.em.find).toThrow(/released scope/);
    expect(copy.viewer).toEqual(viewer);
    expect(copy.viewer).not.toBe(viewer);
    expect(r.forks()).toBe(1);
  });

  it('forks later work from the root, without making the scope its own', () => {
    const r = root();
    const scope = forkOnUse(r, { deps: {} as Deps, requestId: 'r' });
    const fork = laterForks(scope);
    expect(r.forks()).toBe(0);
    expect((fork() as unknown as { n: number }).n).toBe(1);
    expect((fork() as unknown as { n: number }).n).toBe(2);
    expect((scope.em as unknown as { n: number }).n).toBe(3);
  });
});
