/** Telex's Slack OAuth REST endpoints, as thin doors over slack.service.ts. */
import type { FastifyPluginAsync } from 'fastify';
import type { Scope } from '../../context.js';
import { success } from '../../rest/envelope.js';
import { envelope, iso, params, routeSchema, telexDoor, withRestFields } from '../../rest/openapi.js';
import type { RestOptions } from '../../rest/scope.js';
import type { SlackInstallation } from './slack-installation.entity.js';
import { exchangeSlackCode, getSlackInstallation, maskedSlackToken, slackWebhookUrl } from './slack.service.js';

const FIELDS = { oauthCode: 'oauth_code', redirectUri: 'redirect_uri' };
const orgParams = params({ organisationId: { type: 'string', description: 'The UUID of the organisation.' } });
const maskedToken = { type: 'string', description: 'Masked: only the last four characters are shown. The gateway keeps the token encrypted.' };
const nullableString = { type: 'string', nullable: true } as const;

function installationBody(scope: Pick<Scope, 'deps'>, s: SlackInstallation) {
  return {
    id: s.id,
    user_id: s.user?.id ?? null,
    organisation_id: s.organisation.id,
    access_token: maskedSlackToken(scope, s),
    team_id: s.teamId,
    team_name: s.teamName,
    channel: s.channel,
    channel_id: s.channelId,
    configuration_url: s.configurationUrl,
    url: slackWebhookUrl(scope, s),
    created_at: iso(s.createdAt),
    updated_at: iso(s.updatedAt),
  };
}

export const slackRest: FastifyPluginAsync<RestOptions> = async (app, opts) => {
  const scopeOf = telexDoor(app, opts);

  app.post<{ Params: { organisationId: string }; Body: { oauth_code: string; redirect_uri?: string } }>(
    '/slack/organisations/:organisationId/token-exchg',
    {
      schema: routeSchema(
        {
          tags: ['Integrations'],
          operationId: 'exchangeSlackOAuthCode',
          summary: 'Exchange Slack OAuth code for an access token',
          description:
            "Calls Slack's oauth.v2.access with the gateway's client id and secret (SLACK_CLIENT_ID, SLACK_CLIENT_SECRET, SLACK_API_URL) " +
            'and stores the installation: the access token encrypted at rest, with the team and incoming-webhook details. `access_token` ' +
            'in the answer is masked, as in the GET: the token stays with the gateway. `redirect_uri` is needed only when the authorize ' +
            'step sent one. 400 when Slack refuses the code (invalid_code, code_already_used ...) or the body is malformed (Telex lists ' +
            '401 for an invalid body; here 401 means only a missing, invalid or revoked bearer token); 409 when the ' +
            'organisation already has a Slack installation (checked before the code is spent); 502 when Slack cannot be reached, refuses ' +
            "the gateway's credentials, or the gateway has none configured. Needs the admin role.",
          params: orgParams,
          body: {
            type: 'object',
            required: ['oauth_code'],
            properties: {
              oauth_code: { type: 'string', description: "The `code` Slack's OAuth redirect carried." },
              redirect_uri: { type: 'string', description: 'The redirect_uri of the authorize step, when one was sent.' },
            },
          },
          response: {
            200: envelope('Slack OAuth token exchange successful', {
              type: 'object',
              properties: {
                access_token: maskedToken,
                incoming_webhook: {
                  type: 'object',
                  properties: { channel: nullableString, channel_id: nullableString, configuration_url: nullableString, url: nullableString },
                },
              },
            }),
          },
        },
        [400, 403, 404, 409, 500, 502],
      ),
    },
    async (request, reply) => {
      const scope = scopeOf(request);
      const installation = await withRestFields(FIELDS, () =>
        exchangeSlackCode(scope, { organisationId: request.params.organisationId, oauthCode: request.body.oauth_code, redirectUri: request.body.redirect_uri }),
      );
      return success(reply, 200, 'Slack OAuth token exchange successful', {
        access_token: maskedSlackToken(scope, installation),
        incoming_webhook: {
          channel: installation.channel,
          channel_id: installation.channelId,
          configuration_url: installation.configurationUrl,
          url: slackWebhookUrl(scope, installation),
        },
      });
    },
  );

  app.get<{ Params: { organisationId: string } }>(
    '/slack/organisations/:organisationId',
    {
      schema: routeSchema(
        {
          tags: ['Integrations'],
          operationId: 'getSlackInstallation',
          summary: 'Get Slack access information',
          description: "The organisation's Slack installation; `access_token` is masked (never returned in full). 404 when none is installed.",
          params: orgParams,
          response: {
            200: envelope('Slack access info fetched successfully', {
              type: 'object',
              properties: {
                id: { type: 'string', format: 'uuid' },
                user_id: { type: 'string', nullable: true },
                organisation_id: { type: 'string', format: 'uuid' },
                access_token: maskedToken,
                team_id: nullableString,
                team_name: nullableString,
                channel: nullableString,
                channel_id: nullableString,
                configuration_url: nullableString,
                url: { ...nullableString, description: 'The incoming-webhook URL (stored encrypted).' },
                created_at: { type: 'string', format: 'date-time' },
                updated_at: { type: 'string', format: 'date-time' },
              },
            }),
          },
        },
        [404, 500],
      ),
    },
    async (request, reply) => {
      const scope = scopeOf(request);
      const installation = await getSlackInstallation(scope, request.params.organisationId);
      return success(reply, 200, 'Slack access info fetched successfully', installationBody(scope, installation));
    },
  );
};
