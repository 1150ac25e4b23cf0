import { builder } from '../../graphql/builder.js';
import { mutationResult } from '../../graphql/errors.js';
import type { AccessToken } from './access-token.entity.js';
import type { User } from './user.entity.js';
import { createAccessToken, createUser, listAccessTokens, revokeAccessToken } from './auth.service.js';

export const UserRef = builder.objectRef<User>('User').implement({
  description: 'A person or program that calls the API with its access tokens.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The UUID of the user.' }),
    name: t.exposeString('name', { description: 'The unique user name (up to 100 characters); `setMember` accepts it in place of the id.' }),
    email: t.string({
      nullable: true,
      description:
        'The e-mail address given when the user was created. Private: shown to that user and to gateway administrators only; null for everyone else (and when none was given).',
      resolve: (user, _args, ctx) => (ctx.viewer && (ctx.viewer.id === user.id || ctx.viewer.isAdmin) ? (user.email ?? null) : null),
    }),
    isAdmin: t.exposeBoolean('isAdmin', { description: 'Gateway administrators create users and see the job dashboard (/admin/jobs); organisation roles are separate.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the user was created.' }),
    accessTokens: t.field({
      type: [AccessTokenRef],
      nullable: true,
      description: 'Your own tokens (null for other users). Tokens themselves are never shown again.',
      resolve: (user, _args, ctx) => (user.id === ctx.viewer?.id ? listAccessTokens(ctx) : null),
    }),
  }),
});

export const AccessTokenRef = builder.objectRef<AccessToken>('AccessToken').implement({
  description: 'An access token of a user (sent as `Authorization: Bearer <token>`). Only a hash is stored: the token itself is never shown after it is issued.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The UUID of the token record (pass it to `revokeAccessToken`).' }),
    name: t.exposeString('name', { description: 'Its label: what it is for (`initial` for a new user\'s first token, `bootstrap` for the first administrator\'s).' }),
    hint: t.exposeString('hint', { description: 'The last four characters of the token.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the token was issued.' }),
    lastUsedAt: t.expose('lastUsedAt', { type: 'DateTime', nullable: true, description: 'When the token was last used. Not recorded yet by this gateway: always null for now.' }),
    expiresAt: t.expose('expiresAt', {
      type: 'DateTime',
      nullable: true,
      description: 'After this instant the token is refused, and the sockets and subscriptions it opened end; null: it never expires.',
    }),
  }),
});

const IssuedToken = builder.objectRef<{ accessToken: AccessToken; token: string; user?: User }>('IssuedToken').implement({
  description: 'A new token. `token` is shown this once: store it now.',
  fields: (t) => ({
    token: t.exposeString('token', { description: 'The secret token itself: send it as `Authorization: Bearer <token>`. Not retrievable later.' }),
    accessToken: t.field({ type: AccessTokenRef, description: 'The stored record of the token (name, hint, dates).', resolve: (r) => r.accessToken }),
    user: t.field({ type: UserRef, description: 'The user the token authenticates as.', resolve: (r) => r.user ?? r.accessToken.user }),
  }),
});

builder.queryField('viewer', (t) => t.field({ type: UserRef, nullable: true, description: 'The user your bearer token authenticates as.', resolve: (_root, _args, ctx) => ctx.viewer }));

builder.mutationFields((t) => ({
  createUser: t.field({
    type: IssuedToken,
    description:
      'Administrators only: create a user and their first access token (named `initial`). ForbiddenError for non-administrators, ConflictError when the name is taken.',
    errors: mutationResult('The new user, their first token (shown this once) and its record.'),
    args: {
      input: t.arg({
        description: 'The new user.',
        type: builder.inputType('CreateUserInput', {
          description: 'A user to create.',
          fields: (f) => ({
            name: f.string({ required: true, description: 'A unique user name, 1 to 100 characters (trimmed).' }),
            email: f.string({ description: 'An e-mail address (validated); optional.' }),
            isAdmin: f.boolean({ description: 'Make the user a gateway administrator. Default false.' }),
          }),
        }),
        required: true,
      }),
    },
    resolve: (_root, { input }, ctx) => createUser(ctx, input),
  }),
  createAccessToken: t.field({
    type: IssuedToken,
    description:
      'Issue another access token for yourself (e.g. one per program); the token is shown once in the answer. With `expiresAt` it is refused after that instant (ValidationError on `expiresAt` when it is not in the future).',
    errors: mutationResult('The new token (shown this once) and its record.'),
    args: {
      input: t.arg({
        description: 'The token to issue.',
        type: builder.inputType('CreateAccessTokenInput', {
          description: 'A token to issue for the calling user.',
          fields: (f) => ({
            name: f.string({ required: true, description: 'A label for the token, 1 to 100 characters: what it is for.' }),
            expiresAt: f.field({
              type: 'DateTime',
              description: 'When the token stops working (in the future); its open sockets and subscriptions end then too. Default: never.',
            }),
          }),
        }),
        required: true,
      }),
    },
    resolve: (_root, { input }, ctx) => createAccessToken(ctx, input),
  }),
  revokeAccessToken: t.field({
    type: AccessTokenRef,
    description:
      'Revoke one of your own tokens: requests with it fail from now on, and what it has open ends at once on every replica (graphql-ws sockets authenticated with it close with 4403; its SSE subscriptions end with an ACCESS_REVOKED error). NotFoundError for an unknown, already revoked or foreign token.',
    errors: mutationResult('The revoked token.'),
    args: {
      input: t.arg({
        description: 'The token to revoke.',
        type: builder.inputType('RevokeAccessTokenInput', {
          description: 'Which of your tokens to revoke.',
          fields: (f) => ({ id: f.id({ required: true, description: 'The id of the token record (`AccessToken.id`), not the token itself.' }) }),
        }),
        required: true,
      }),
    },
    resolve: (_root, { input }, ctx) => revokeAccessToken(ctx, String(input.id)),
  }),
}));
