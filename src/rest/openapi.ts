/**
 * The OpenAPI document of every REST route (collected by @fastify/swagger from the routes' JSON
 * schemas, so the schemas that validate request bodies are the ones documented), served with
 * Swagger UI at /docs (the document itself at /docs/json and /docs/yaml); plus the small helpers the
 * Telex doors share: strict body validation, bearer authentication before anything else, the
 * envelope schemas, and snake_case field names in errors.
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { Ajv } from 'ajv';
import type { FastifyInstance, FastifyRequest, FastifySchema } from 'fastify';
import type { Scope } from '../context.js';
import { ConflictError, UnauthenticatedError, UpstreamError, ValidationError } from '../errors.js';
import type { RestOptions } from './scope.js';
import { rateLimitedRoute, tooManyRequestsResponse } from './rate-limit.js';

export const DOCS_PREFIX = '/docs';

/** Register before any REST route: the swagger plugin collects routes as they are added. */
export async function registerOpenApi(app: FastifyInstance) {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Switchboard REST API',
        version: '0.1.0',
        description:
          "Telex's documented REST endpoints, served as thin doors over the same services as the GraphQL API at /graphql. " +
          'Every answer uses the envelope `{status, status_code, message, data}`; failures answer ' +
          '`{status: "error", status_code, message, errors?: [{field, message}]}` where `field` names the offending input.',
      },
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: 'An access token: Authorization: Bearer <token>' } } },
      security: [{ bearerAuth: [] }],
    },
    // Every limited route may answer 429 (src/rest/rate-limit.ts): documented once here for all of them.
    transform: ({ schema, url }) => ({ schema: withTooManyRequests(schema, url), url }),
  });
  await app.register(swaggerUi, { routePrefix: DOCS_PREFIX, uiConfig: { docExpansion: 'list', deepLinking: true } });
}

// Request bodies are validated without type coercion: `{"json_url": 5}` is a wrong-typed field (400),
// not the string "5". Unknown properties are ignored, not removed or refused.
const ajv = new Ajv({ coerceTypes: false, useDefaults: true, removeAdditional: false, allErrors: false, strict: false });

/**
 * Set up a Telex REST plugin: strict validation for its routes, and the bearer token checked first
 * (onRequest), so an anonymous caller gets 401 whatever its body. Returns the request's Scope.
 */
export function telexDoor(app: FastifyInstance, opts: RestOptions): (request: FastifyRequest) => Scope {
  const scopes = new WeakMap<FastifyRequest, Scope>();
  app.setValidatorCompiler(({ schema, httpPart }) => {
    if (httpPart === 'body') return ajv.compile(schema);
    // Path parameters are strings; the services answer 404 for ids that name nothing.
    return () => true;
  });
  app.addHook('onRequest', async (request) => {
    const scope = await opts.scope(request);
    if (!scope.viewer) {
      throw new UnauthenticatedError(request.headers.authorization ? 'The bearer token is invalid or revoked' : undefined);
    }
    scopes.set(request, scope);
  });
  return (request) => {
    const scope = scopes.get(request);
    if (!scope) throw new UnauthenticatedError();
    return scope;
  };
}

/**
 * Run a service call with its camelCase input field names reported as the REST body's snake_case ones
 * (`jsonUrl` -> `json_url`), in `field` and in the message.
 */
export async function withRestFields<T>(fields: Record<string, string>, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    const field = (error as { field?: string }).field;
    if (!field || !(error instanceof ValidationError || error instanceof ConflictError || error instanceof UpstreamError)) throw error;
    const head = field.split('.')[0];
    const renamed = fields[head] ? [fields[head], ...field.split('.').slice(1)].join('.') : field;
    let message = error.message;
    // Rename outside quoted text only (quotes hold the caller's own labels and values), and not inside
    // dotted paths such as a spec's `data.settings[0].label`.
    message = message
      .split(/("[^"]*")/)
      .map((part) => (part.startsWith('"') ? part : Object.entries(fields).reduce((m, [from, to]) => m.replace(new RegExp(`(?<![\\w.\\[])${from}(?![\\w.\\]])`, 'g'), to), part)))
      .join('');
    if (!message.includes(renamed)) message = `${renamed}: ${message}`;
    if (error instanceof ValidationError) throw new ValidationError(renamed, message);
    if (error instanceof ConflictError) throw new ConflictError(message, renamed);
    throw new UpstreamError(renamed, message);
  }
}

/** ISO text of a date, as every REST answer shows times. */
export const iso = (d: Date | null | undefined) => (d ? new Date(d).toISOString() : null);

// ---- JSON schemas shared by the Telex routes ----

/**
 * Telex's error envelope, the one schema object of every documented failure (REST doors other than
 * Rocket.Chat's). A response schema also serialises the reply: extra fields are let through, not dropped.
 */
export const errorEnvelope = {
  type: 'object',
  description: 'A failure: `{status: "error", status_code, message, errors?}`.',
  required: ['status', 'status_code', 'message'],
  additionalProperties: true,
  properties: {
    status: { type: 'string', enum: ['error'] },
    status_code: { type: 'integer', description: 'The HTTP status, repeated.' },
    message: { type: 'string', description: 'What went wrong, for a person to read.' },
    errors: {
      type: 'array',
      description: 'Validation failures (400): the offending field by its name in the request (`json_url`, `setting_entry.value` ...) and why.',
      items: { type: 'object', additionalProperties: true, properties: { field: { type: 'string' }, message: { type: 'string' } } },
    },
  },
} as const;

const ERROR_TEXT: Record<number, string> = {
  400: 'Invalid request: a missing or wrong-typed field, malformed JSON, or a value the service refused (`errors[0].field` names it).',
  401: 'No bearer token, or an invalid or revoked one.',
  403: 'Your role in the organisation does not allow this change.',
  404: "Not found: no such object, or it belongs to an organisation you are not a member of.",
  409: 'Conflict with existing state.',
  413: 'The request body is larger than the limit (WEBHOOK_MAX_BYTES, 1 MiB by default).',
  415: 'The body is not JSON (send `Content-Type: application/json`).',
  500: 'Internal server error.',
  502: 'A remote the request depends on (an integration spec URL, Slack) failed.',
};

function withTooManyRequests<S>(schema: S, url: string): S {
  const s = schema as (FastifySchema & { hide?: boolean }) | undefined;
  if (!s || s.hide || !rateLimitedRoute(url)) return schema;
  return { ...s, response: { ...(s.response as object), 429: tooManyRequestsResponse(url, errorEnvelope) } } as S;
}

/** Responses for the given error statuses, each the shared error envelope; `text` overrides the generic descriptions. */
export function errorResponses(codes: number[], text: Partial<Record<number, string>> = {}) {
  return Object.fromEntries(
    codes.map((c) => [c, { description: text[c] ?? ERROR_TEXT[c] ?? 'Error', content: { 'application/json': { schema: errorEnvelope } } }]),
  );
}

/** A success envelope, with `data` when given. */
export function envelope(description: string, data?: object) {
  return {
    description,
    type: 'object',
    properties: {
      status: { type: 'string', enum: ['success'] },
      status_code: { type: 'integer' },
      message: { type: 'string' },
      ...(data ? { data } : {}),
    },
  };
}

/**
 * A success envelope for routes whose answers may grow: every declared field is documented, and any
 * other field (here or in `data`) is still sent, since a response schema also serialises the reply.
 */
export function openEnvelope(description: string, data: Record<string, object>) {
  return {
    description,
    type: 'object',
    additionalProperties: true,
    properties: {
      status: { type: 'string', enum: ['success'] },
      status_code: { type: 'integer' },
      message: { type: 'string' },
      data: { type: 'object', additionalProperties: true, properties: data },
    },
  };
}

/**
 * For routes that check their own input (to answer with their own messages and field names): the
 * schemas document the request, and this validator lets everything through to the handler.
 */
export const documentOnly = () => () => true;

/** A setting value: text, number, yes/no or a list (multi-select); typed by the spec's setting type. */
export const settingValue = {
  description: "The value; typed by the integration spec's setting type when the label is one of its settings (number, checkbox, multi-select ...), else kept as text.",
  anyOf: [{ type: 'string' }, { type: 'number' }, { type: 'boolean' }, { type: 'array', items: { type: 'string' } }],
} as const;

export const idParam = (name: string, description: string) => ({ [name]: { type: 'string', description } });

export function params(props: Record<string, { type: string; description: string }>) {
  return { type: 'object', properties: props, required: Object.keys(props) } as const;
}

/**
 * Route schema with the Telex defaults: bearer auth, a tag, a unique camelCase operationId, and the
 * documented error statuses: 401 always, and for a route with a body 400, 413 and 415 too.
 */
export function routeSchema(
  schema: FastifySchema & { tags: string[]; operationId: string; summary: string; description?: string },
  errors: number[],
  text: Partial<Record<number, string>> = {},
): FastifySchema {
  const codes = new Set([401, ...(schema.body ? [400, 413, 415] : []), ...errors]);
  return { ...schema, response: { ...(schema.response as object), ...errorResponses([...codes].sort(), text) } };
}
