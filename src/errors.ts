/**
 * Expected failures raised by services. Each door maps them to its own shape:
 * REST to a 4xx envelope, GraphQL to a typed result, Rocket.Chat routes to its error bodies.
 */
export class DomainError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Input that cannot be accepted; `field` names the offending input field (dot path). */
export class ValidationError extends DomainError {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/** Missing, or belonging to an organisation the viewer is not a member of: both answer the same. */
export class NotFoundError extends DomainError {
  constructor(
    readonly resource: string,
    readonly id?: string,
  ) {
    super(id ? `${resource} ${id} not found` : `${resource} not found`);
  }
}

/** The viewer can see the object but their role does not allow the change. */
export class ForbiddenError extends DomainError {}

/** No valid credentials were presented. */
export class UnauthenticatedError extends DomainError {
  constructor(message = 'Authentication required: send Authorization: Bearer <token>') {
    super(message);
  }
}

/** The change collides with existing state (a duplicate). */
export class ConflictError extends DomainError {
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/** A remote the gateway depends on (an integration's URL, Slack) failed; the caller's input was fine. */
export class UpstreamError extends DomainError {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}
