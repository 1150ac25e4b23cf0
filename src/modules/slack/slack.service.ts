import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { z } from 'zod';
import type { Scope } from '../../context.js';
import { ConflictError, NotFoundError, UpstreamError, ValidationError } from '../../errors.js';
import { decryptSecret, encryptSecret, maskSecret } from '../../infra/crypto.js';
import { describe as describeOutbound } from '../../infra/http.js';
import { parseInput } from '../../validation.js';
import { requireViewer } from '../auth/auth.service.js';
import { requireMembership } from '../organisations/organisations.service.js';
import { SlackInstallation } from './slack-installation.entity.js';

const ExchangeInput = z.object({
  organisationId: z.string(),
  oauthCode: z.string().trim().min(1, 'oauthCode is required').max(1000, 'oauthCode is at most 1000 characters'),
  redirectUri: z.url('redirectUri must be a URL').optional().nullable(),
});

/** What Slack's oauth.v2.access answers (only the fields kept). */
const SlackAccess = z.object({
  ok: z.boolean(),
  error: z.string().optional(),
  access_token: z.string().optional(),
  token_type: z.string().optional(),
  scope: z.string().optional(),
  bot_user_id: z.string().optional(),
  app_id: z.string().optional(),
  team: z.object({ id: z.string().optional(), name: z.string().optional() }).nullish(),
  incoming_webhook: z
    .object({ channel: z.string().optional(), channel_id: z.string().optional(), configuration_url: z.string().optional(), url: z.string().optional() })
    .nullish(),
});

/** Slack's `error` values that mean the caller's code (or redirect URI) is wrong, not our configuration. */
const CODE_ERRORS = new Set(['invalid_code', 'code_already_used', 'code_expired', 'bad_redirect_uri', 'invalid_grant_type', 'oauth_authorization_url_mismatch']);

/**
 * Exchange an OAuth code from Slack's "Add to Slack" flow for an access token and store the
 * installation for the organisation (admins only; one per organisation).
 */
export async function exchangeSlackCode(scope: Scope, input: z.input<typeof ExchangeInput>) {
  const viewer = requireViewer(scope);
  const data = parseInput(ExchangeInput, input);
  const organisation = await requireMembership(scope, data.organisationId, 'admin');
  // Checked before calling Slack so a second attempt does not burn the caller's one-time code.
  if (await scope.em.count(SlackInstallation, { organisation })) throw alreadyInstalled();

  const { clientId, clientSecret, apiUrl } = scope.deps.config.slack;
  if (!clientId || !clientSecret) {
    throw new UpstreamError('oauthCode', 'Slack is not configured on this gateway: set SLACK_CLIENT_ID and SLACK_CLIENT_SECRET');
  }
  const form: Record<string, string> = { code: data.oauthCode, client_id: clientId, client_secret: clientSecret };
  if (data.redirectUri) form.redirect_uri = data.redirectUri;
  let status: number;
  let body: unknown;
  try {
    const res = await scope.deps.http.got.post(`${apiUrl}/oauth.v2.access`, { form, responseType: 'text' });
    status = res.statusCode;
    body = JSON.parse(res.body);
  } catch (error) {
    const reason = error instanceof SyntaxError ? 'the answer was not JSON' : describeOutbound(error).message;
    throw new UpstreamError('oauthCode', `Slack's oauth.v2.access failed: ${reason}`);
  }
  const parsed = SlackAccess.safeParse(body);
  if (status < 200 || status >= 300 || !parsed.success) {
    throw new UpstreamError('oauthCode', `Slack's oauth.v2.access failed: HTTP ${status}${parsed.success ? '' : ', unexpected answer'}`);
  }
  const access = parsed.data;
  if (!access.ok || !access.access_token) {
    const reason = access.error ?? 'no access token';
    if (CODE_ERRORS.has(reason)) throw new ValidationError('oauthCode', `Slack refused the OAuth code: ${reason}`);
    throw new UpstreamError('oauthCode', `Slack refused the exchange: ${reason}`);
  }

  const key = scope.deps.config.secretKey;
  const hook = access.incoming_webhook ?? {};
  const installation = scope.em.create(SlackInstallation, {
    organisation,
    user: viewer,
    accessToken: encryptSecret(key, access.access_token),
    tokenType: access.token_type ?? null,
    scope: access.scope ?? null,
    botUserId: access.bot_user_id ?? null,
    appId: access.app_id ?? null,
    teamId: access.team?.id ?? null,
    teamName: access.team?.name ?? null,
    channel: hook.channel ?? null,
    channelId: hook.channel_id ?? null,
    configurationUrl: hook.configuration_url ?? null,
    webhookUrl: hook.url ? encryptSecret(key, hook.url) : null,
  });
  try {
    await scope.em.flush();
  } catch (error) {
    // Two exchanges for one organisation at once: the unique index keeps the first.
    if (error instanceof UniqueConstraintViolationException) throw alreadyInstalled();
    throw error;
  }
  return installation;
}

function alreadyInstalled() {
  return new ConflictError('Integration app already exists: this organisation already has a Slack installation', 'organisationId');
}

/** The organisation's Slack installation (members may read it); NotFound when there is none. */
export async function getSlackInstallation(scope: Scope, organisationId: string) {
  const organisation = await requireMembership(scope, organisationId);
  const installation = await scope.em.findOne(SlackInstallation, { organisation });
  if (!installation) throw new NotFoundError('Slack installation for organisation', organisationId);
  return installation;
}

/** The access token as shown to users: masked, never whole. */
export function maskedSlackToken(scope: Pick<Scope, 'deps'>, installation: SlackInstallation) {
  return maskSecret(decryptSecret(scope.deps.config.secretKey, installation.accessToken));
}

/** The incoming-webhook URL in clear (members of the organisation may post with it). */
export function slackWebhookUrl(scope: Pick<Scope, 'deps'>, installation: SlackInstallation) {
  return installation.webhookUrl ? decryptSecret(scope.deps.config.secretKey, installation.webhookUrl) : null;
}
