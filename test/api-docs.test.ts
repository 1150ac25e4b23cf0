import { readFileSync } from 'node:fs';
import {
  buildSchema,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isIntrospectionType,
  isObjectType,
  isSpecifiedScalarType,
  type GraphQLSchema,
} from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './support/app.js';

/**
 * The public API documents itself: every GraphQL type, field, argument, input field and enum value of
 * the committed schema.graphql has a description, and every REST operation of the OpenAPI document has
 * an operationId, a summary and its 4xx answers. A new element without them fails here, listed.
 */

const described = (d: string | null | undefined) => typeof d === 'string' && d.trim().length > 0;

/** Every element of the schema lacking a description, as `Type`, `Type.field`, `Type.field(arg)` or `Enum.VALUE`. */
export function undescribed(schema: GraphQLSchema): string[] {
  const missing: string[] = [];
  for (const type of Object.values(schema.getTypeMap())) {
    if (isIntrospectionType(type) || isSpecifiedScalarType(type)) continue;
    if (!described(type.description)) missing.push(type.name);
    if (isObjectType(type) || isInterfaceType(type)) {
      for (const field of Object.values(type.getFields())) {
        if (!described(field.description)) missing.push(`${type.name}.${field.name}`);
        for (const arg of field.args) if (!described(arg.description)) missing.push(`${type.name}.${field.name}(${arg.name})`);
      }
    } else if (isInputObjectType(type)) {
      for (const field of Object.values(type.getFields())) if (!described(field.description)) missing.push(`${type.name}.${field.name}`);
    } else if (isEnumType(type)) {
      for (const value of type.getValues()) if (!described(value.description)) missing.push(`${type.name}.${value.name}`);
    }
  }
  return missing;
}

interface Operation {
  operationId?: string;
  summary?: string;
  responses?: Record<string, { description?: string; content?: Record<string, { schema?: unknown }> }>;
}

/** Operations that cannot answer a client error: the health probes take no input and need no token. */
const NO_CLIENT_ERROR = new Set(['GET /healthz', 'GET /readyz', 'GET /metrics']);

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];

describe('GraphQL schema descriptions', () => {
  it('describes every type, field, argument, input field and enum value of schema.graphql', () => {
    const schema = buildSchema(readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8'));
    expect(undescribed(schema)).toEqual([]);
  });
});

describe('OpenAPI operations', () => {
  let t: TestApp;
  let paths: Record<string, Record<string, Operation>>;

  beforeAll(async () => {
    t = await startTestApp('sqlite');
    const res = await fetch(`${t.url}/docs/json`);
    expect(res.status).toBe(200);
    paths = ((await res.json()) as { paths: typeof paths }).paths;
  });
  afterAll(() => t?.close());

  const operations = () =>
    Object.entries(paths).flatMap(([path, item]) =>
      Object.entries(item)
        .filter(([method]) => METHODS.includes(method))
        .map(([method, op]) => ({ name: `${method.toUpperCase()} ${path}`, op })),
    );

  it('gives every operation a unique camelCase operationId and a summary', () => {
    const ops = operations();
    expect(ops.length).toBeGreaterThan(0);
    expect(ops.filter(({ op }) => !op.operationId || !/^[a-z][A-Za-z0-9]*$/.test(op.operationId)).map((o) => o.name)).toEqual([]);
    expect(ops.filter(({ op }) => !described(op.summary)).map((o) => o.name)).toEqual([]);
    const ids = ops.map(({ op }) => op.operationId);
    expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
  });

  it('documents the 4xx answers of every operation that can fail on its input, each with its body schema', () => {
    const ops = operations();
    const clientErrors = (op: Operation) => Object.entries(op.responses ?? {}).filter(([code]) => /^4\d\d$/.test(code));
    expect(ops.filter(({ name, op }) => !NO_CLIENT_ERROR.has(name) && clientErrors(op).length === 0).map((o) => o.name)).toEqual([]);
    const withoutSchema = ops.flatMap(({ name, op }) =>
      clientErrors(op)
        .filter(([, r]) => !described(r.description) || !r.content?.['application/json']?.schema)
        .map(([code]) => `${name} ${code}`),
    );
    expect(withoutSchema).toEqual([]);
    // The probes take no input and need no token: they document what they do answer instead.
    for (const name of NO_CLIENT_ERROR) {
      const op = ops.find((o) => o.name === name)?.op;
      expect(op, name).toBeDefined();
      expect(Object.keys(op!.responses ?? {}).some((code) => /^2\d\d$/.test(code)), name).toBe(true);
    }
  });
});
