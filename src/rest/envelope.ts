import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ConflictError, DomainError, ForbiddenError, NotFoundError, UnauthenticatedError, UpstreamError, ValidationError } from '../errors.js';

/** Telex's success envelope: `{status: "success", status_code, message, data?}`. */
export function success(reply: FastifyReply, statusCode: number, message: string, data?: unknown) {
  const body: Record<string, unknown> = { status: 'success', status_code: statusCode, message };
  if (data !== undefined) body.data = data;
  return reply.code(statusCode).send(body);
}

export interface ErrorBody {
  status: 'error';
  status_code: number;
  message: string;
  errors?: { field: string; message: string }[];
}

/** The status a domain error answers with on REST doors. */
export function statusOf(error: DomainError): number {
  if (error instanceof ValidationError) return 400;
  if (error instanceof UnauthenticatedError) return 401;
  if (error instanceof ForbiddenError) return 403;
  if (error instanceof NotFoundError) return 404;
  if (error instanceof ConflictError) return 409;
  if (error instanceof UpstreamError) return 502;
  return 400;
}

/** Telex's error envelope for any failure; unexpected errors are logged and masked as 500. */
export function errorBody(error: unknown, request: FastifyRequest): ErrorBody {
  if (error instanceof DomainError) {
    const status = statusOf(error);
    const body: ErrorBody = { status: 'error', status_code: status, message: error.message };
    if (error instanceof ValidationError) body.errors = [{ field: error.field, message: error.message }];
    return body;
  }
  const fe = error as FastifyError;
  if (fe.validation) {
    const first = fe.validation[0];
    const field = fieldOfAjv(first, fe.validationContext);
    const message = first?.keyword === 'required' ? `${field} is required` : `${field} ${first?.message ?? 'is invalid'}`;
    return { status: 'error', status_code: 400, message, errors: [{ field, message }] };
  }
  if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return { status: 'error', status_code: 413, message: 'request body is too large' };
  if (fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return { status: 'error', status_code: 415, message: fe.message };
  if (fe.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || fe.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || error instanceof SyntaxError) {
    return { status: 'error', status_code: 400, message: 'request body is not valid JSON' };
  }
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return { status: 'error', status_code: fe.statusCode, message: fe.message };
  }
  request.log.error({ err: error }, 'unexpected error');
  return { status: 'error', status_code: 500, message: 'internal server error' };
}

function fieldOfAjv(v: { instancePath?: string; params?: Record<string, unknown> } | undefined, context?: string) {
  const path = (v?.instancePath ?? '').split('/').filter(Boolean);
  if (v?.params && typeof v.params.missingProperty === 'string') path.push(v.params.missingProperty);
  if (v?.params && typeof v.params.additionalProperty === 'string') path.push(v.params.additionalProperty);
  return path.join('.') || context || 'body';
}
