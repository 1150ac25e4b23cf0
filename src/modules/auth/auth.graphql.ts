import { builder } from '../../graphql/builder.js';
import { mutationErrors } from '../../graphql/errors.js';
import type { AccessToken } from './access-token.entity.js';
import type { User } from './user.entity.js';
import { createAccessToken, createUser, listAccessTokens, revokeAccessToken } from './auth.service.js';

export const UserRef = builder.objectRef<User>('User').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    email: t.exposeString('email', { nullable: true }),
    isAdmin: t.exposeBoolean('isAdmin'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    accessTokens: t.field({
      type: [AccessTokenRef],
      nullable: true,
      description: 'Your own tokens (null for other users). Tokens themselves are never shown again.',
      resolve: (user, _args, ctx) => (user.id === ctx.viewer?.id ? listAccessTokens(ctx) : null),
    }),
  }),
});

export const AccessTokenRef = builder.objectRef<AccessToken>('AccessToken').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    hint: t.exposeString('hint', { description: 'The last four characters of the token.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    lastUsedAt: t.expose('lastUsedAt', { type: 'DateTime', nullable: true }),
  }),
});

const IssuedToken = builder.objectRef<{ accessToken: AccessToken; token: string; user?: User }>('IssuedToken').implement({
  description: 'A new token. `token` is shown this once: store it now.',
  fields: (t) => ({
    token: t.exposeString('token'),
    accessToken: t.field({ type: AccessTokenRef, resolve: (r) => r.accessToken }),
    user: t.field({ type: UserRef, resolve: (r) => r.user ?? r.accessToken.user }),
  }),
});

builder.queryField('viewer', (t) => t.field({ type: UserRef, nullable: true, resolve: (_root, _args, ctx) => ctx.viewer }));

builder.mutationFields((t) => ({
  createUser: t.field({
    type: IssuedToken,
    description: 'Administrators only: create a user and their first access token.',
    errors: mutationErrors,
    args: { input: t.arg({ type: builder.inputType('CreateUserInput', { fields: (f) => ({ name: f.string({ required: true }), email: f.string(), isAdmin: f.boolean() }) }), required: true }) },
    resolve: (_root, { input }, ctx) => createUser(ctx, input),
  }),
  createAccessToken: t.field({
    type: IssuedToken,
    errors: mutationErrors,
    args: { input: t.arg({ type: builder.inputType('CreateAccessTokenInput', { fields: (f) => ({ name: f.string({ required: true }) }) }), required: true }) },
    resolve: (_root, { input }, ctx) => createAccessToken(ctx, input),
  }),
  revokeAccessToken: t.field({
    type: AccessTokenRef,
    errors: mutationErrors,
    args: { input: t.arg({ type: builder.inputType('RevokeAccessTokenInput', { fields: (f) => ({ id: f.id({ required: true }) }) }), required: true }) },
    resolve: (_root, { input }, ctx) => revokeAccessToken(ctx, String(input.id)),
  }),
}));
