/**
 * Telex's organisation-integration and custom-integration REST endpoints, as thin doors over
 * integrations.service.ts (the same functions the GraphQL mutations call). The custom integrations'
 * settings routes are in settings.rest.ts, beside the service they call.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Scope } from '../../context.js';
import { success } from '../../rest/envelope.js';
import { envelope, iso, params, routeSchema, settingValue, telexDoor, withRestFields } from '../../rest/openapi.js';
import type { RestOptions } from '../../rest/scope.js';
import type { Integration } from './integration.entity.js';
import { addIntegration, botName, listIntegrations, maskedCredential, removeIntegration, revealedSigningSecret, signingSecretHint, updateIntegration } from './integrations.service.js';

/** camelCase service inputs -> the REST body's snake_case names, for error messages. */
const FIELDS = {
  organisationId: 'organisationId',
  jsonUrl: 'json_url',
  authCredential: 'auth_credential',
  integrationType: 'integration_type',
  isActive: 'is_active',
};

/** An integration as REST shows it: the documented snake_case fields, the credential masked. */
export function integrationBody(scope: Pick<Scope, 'deps'>, i: Integration) {
  return {
    id: i.id,
    org_id: i.organisation.id,
    name: i.name,
    app_name: i.appName,
    app_description: i.appDescription,
    app_logo: i.appLogo,
    app_url: i.appUrl,
    background_color: i.backgroundColor,
    json_url: i.jsonUrl,
    json_schema: i.spec,
    integration_type: i.integrationType,
    integration_category: i.integrationCategory,
    target_url: i.targetUrl,
    tick_url: i.tickUrl,
    key_features: i.keyFeatures,
    warnings: i.warnings ?? [],
    auth_credential: maskedCredential(scope, i),
    // In full only in the answer of the request that made it (create); null in every other answer.
    signing_secret: revealedSigningSecret(i),
    signing_secret_hint: signingSecretHint(scope, i),
    is_active: i.isActive,
    is_system_integration: i.isSystemIntegration,
    all_channels: i.allChannels,
    bot_name: botName(i),
    created_at: iso(i.createdAt),
    updated_at: iso(i.updatedAt),
  };
}

const nullableString = { type: 'string', nullable: true } as const;
export const integrationSchema = {
  type: 'object',
  properties: {
    id: { type: 'string', format: 'uuid' },
    org_id: { type: 'string', format: 'uuid' },
    name: { type: 'string', description: "The caller's name for it; the spec's app_name when none was given." },
    app_name: { type: 'string' },
    app_description: { type: 'string' },
    app_logo: nullableString,
    app_url: nullableString,
    background_color: nullableString,
    json_url: { type: 'string' },
    json_schema: { type: 'object', additionalProperties: true, description: 'The integration spec as fetched from json_url, whole.' },
    integration_type: { type: 'string', enum: ['modifier', 'interval', 'output'] },
    integration_category: nullableString,
    target_url: nullableString,
    tick_url: nullableString,
    key_features: { type: 'array', items: { type: 'string' } },
    warnings: {
      type: 'array',
      items: { type: 'string' },
      description: 'What in the spec was odd but workable (kept, normalised or ignored), each naming its path; empty when nothing was.',
    },
    auth_credential: { ...nullableString, description: 'Masked: only the last four characters are shown.' },
    signing_secret: {
      ...nullableString,
      description:
        'The `whsec_` secret every call to the integration is signed with (Standard Webhooks headers webhook-id, webhook-timestamp, webhook-signature), in full: only in the answer that created the integration, null in every other. Keep it; it is never shown again (GraphQL rotateIntegrationSigningSecret makes a new one).',
    },
    signing_secret_hint: { ...nullableString, description: 'The last four characters of the current signing secret; null for an integration added before calls were signed.' },
    is_active: { type: 'boolean' },
    is_system_integration: { type: 'boolean' },
    all_channels: {
      type: 'boolean',
      description: 'Switched on for every channel of the organisation, present and future ("All Channels"); false: only for the channels it was switched on for.',
    },
    bot_name: { type: 'string', description: "The name its own messages appear under: the spec's permissions.bot_user.display_name (or the first permissions.*.display_name), else app_name." },
    created_at: { type: 'string', format: 'date-time' },
    updated_at: { type: 'string', format: 'date-time' },
  },
} as const;

const orgParams = params({ organisationId: { type: 'string', description: 'The UUID of the organisation.' } });
const integrationParams = params({
  organisationId: { type: 'string', description: 'The UUID of the organisation.' },
  integrationId: { type: 'string', description: 'The UUID of the integration.' },
});

type IntegrationParams = { organisationId: string; integrationId: string };
type UpdateBody = { name?: string; json_url?: string; auth_credential?: string | null; is_active?: boolean };

const jsonUrl = { type: 'string', description: "URL of the integration's JSON spec (`{\"data\": {...}}`); fetched and validated now." };
const authCredential = { type: 'string', description: 'A secret the integration needs; stored encrypted, shown back masked.' };

export const integrationsRest: FastifyPluginAsync<RestOptions> = async (app, opts) => {
  const scopeOf = telexDoor(app, opts);

  // The organisation and custom-integration paths are two documented doors onto the same integrations: one
  // handler each for update and delete.
  const update = async (request: FastifyRequest<{ Params: IntegrationParams; Body: UpdateBody }>, reply: FastifyReply) => {
    const scope = scopeOf(request);
    const b = request.body;
    const integration = await withRestFields(FIELDS, () =>
      updateIntegration(scope, {
        id: request.params.integrationId,
        organisationId: request.params.organisationId,
        jsonUrl: b.json_url,
        name: b.name,
        authCredential: b.auth_credential,
        isActive: b.is_active,
      }),
    );
    return success(reply, 200, 'Integrations updated successfully', integrationBody(scope, integration));
  };
  const remove = async (request: FastifyRequest<{ Params: IntegrationParams }>, reply: FastifyReply) => {
    const scope = scopeOf(request);
    const removed = await removeIntegration(scope, { id: request.params.integrationId, organisationId: request.params.organisationId });
    return success(reply, 200, 'Integrations deleted successfully', integrationBody(scope, removed));
  };

  // ---------- organisation integrations ----------

  app.post<{ Params: { organisationId: string }; Body: { name?: string; json_url: string; auth_credential?: string; integration_type?: string } }>(
    '/organisations/:organisationId/integrations',
    {
      schema: routeSchema(
        {
          tags: ['Integrations'],
          operationId: 'createOrganisationIntegration',
          summary: 'Create a new integration for the organization',
          description:
            "Fetches the spec at json_url, validates it and adds the integration (GraphQL: addIntegration). `integration_type` is optional; " +
            'when given it must match the spec\'s type (modifier, interval, output). `"filter"`, as in Telex\'s documented example, is accepted ' +
            'as the older name of `modifier`; the answer shows the stored type. `json_schema` in the answer is the fetched spec. Needs the admin role.',
          params: orgParams,
          body: {
            type: 'object',
            required: ['json_url'],
            properties: {
              name: { type: 'string', description: "Your name for it; defaults to the spec's app_name." },
              json_url: jsonUrl,
              auth_credential: authCredential,
              integration_type: { type: 'string', description: 'modifier, interval or output (filter = modifier); checked against the spec.' },
            },
          },
          response: { 201: envelope('Integration app created successfully', integrationSchema) },
        },
        [400, 403, 404],
      ),
    },
    async (request, reply) => {
      const scope = scopeOf(request);
      const b = request.body;
      const integration = await withRestFields(FIELDS, () =>
        addIntegration(scope, {
          organisationId: request.params.organisationId,
          jsonUrl: b.json_url,
          name: b.name,
          authCredential: b.auth_credential,
          integrationType: b.integration_type,
        }),
      );
      return success(reply, 201, 'Integration app created successfully', integrationBody(scope, integration));
    },
  );

  app.get<{ Params: { organisationId: string } }>(
    '/organisations/:organisationId/integrations',
    {
      schema: routeSchema(
        {
          tags: ['Integrations'],
          operationId: 'listOrganisationIntegrations',
          summary: 'Get integrations for an organization',
          description: "Every integration of the organisation, oldest first (GraphQL: Organisation.integrations).",
          params: orgParams,
          response: { 200: envelope('Integrations retrieved successfully.', { type: 'array', items: integrationSchema }) },
        },
        [404],
      ),
    },
    async (request, reply) => {
      const scope = scopeOf(request);
      const list = await listIntegrations(scope, request.params.organisationId);
      return success(reply, 200, 'Integrations retrieved successfully.', list.map((i) => integrationBody(scope, i)));
    },
  );

  app.patch<{ Params: IntegrationParams; Body: UpdateBody }>(
    '/organisations/:organisationId/integrations/:integrationId',
    {
      schema: routeSchema(
        {
          tags: ['Integrations'],
          operationId: 'updateOrganisationIntegration',
          summary: "Update an organization's integration",
          description:
            'Changes the fields sent (GraphQL: updateIntegration). A new json_url is fetched and validated; its spec must keep the ' +
            'integration_type. Settings and channels are kept. `auth_credential: null` removes the credential. Needs the admin role.',
          params: integrationParams,
          body: {
            type: 'object',
            minProperties: 1,
            properties: {
              json_url: jsonUrl,
              name: { type: 'string' },
              auth_credential: { ...authCredential, nullable: true },
              is_active: { type: 'boolean' },
            },
          },
          response: { 200: envelope('Integrations updated successfully', integrationSchema) },
        },
        [400, 403, 404],
      ),
    },
    update,
  );

  app.delete<{ Params: IntegrationParams }>(
    '/organisations/:organisationId/integrations/:integrationId',
    {
      schema: routeSchema(
        {
          tags: ['Integrations'],
          operationId: 'deleteOrganisationIntegration',
          summary: "Delete an organization's integration",
          description: 'Removes the integration with its settings and channel links (GraphQL: removeIntegration). Answers the removed integration. Needs the admin role.',
          params: integrationParams,
          response: { 200: envelope('Integrations deleted successfully', integrationSchema) },
        },
        [403, 404],
      ),
    },
    remove,
  );

  // ---------- custom integrations ----------

  app.post<{ Params: { organisationId: string }; Body: { json_url: string; name?: string; auth_credential?: string } }>(
    '/organisations/:organisationId/integrations/custom',
    {
      schema: routeSchema(
        {
          tags: ['Custom Integrations'],
          operationId: 'createCustomIntegration',
          summary: 'Creates a new integration within the specified organization.',
          description:
            "Same as POST /organisations/{organisationId}/integrations (GraphQL: addIntegration): the spec at json_url is fetched and validated. " +
            'The documented answer has no data; the created integration is included as `data` so its id is known.',
          params: orgParams,
          body: { type: 'object', required: ['json_url'], properties: { json_url: jsonUrl, name: { type: 'string' }, auth_credential: authCredential } },
          response: { 201: envelope('Integration app created successfully', integrationSchema) },
        },
        [400, 403, 404],
      ),
    },
    async (request, reply) => {
      const scope = scopeOf(request);
      const b = request.body;
      const integration = await withRestFields(FIELDS, () =>
        addIntegration(scope, { organisationId: request.params.organisationId, jsonUrl: b.json_url, name: b.name, authCredential: b.auth_credential }),
      );
      return success(reply, 201, 'Integration app created successfully', integrationBody(scope, integration));
    },
  );

  app.get<{ Params: { organisationId: string } }>(
    '/organisations/:organisationId/integrations/custom',
    {
      schema: routeSchema(
        {
          tags: ['Custom Integrations'],
          operationId: 'listCustomIntegrations',
          summary: 'Retrieve a list of integrations for a specific organization.',
          description: 'The integrations the organisation added itself (is_system_integration false), oldest first.',
          params: orgParams,
          response: { 200: envelope('Integrations retrieved successfully.', { type: 'array', items: integrationSchema }) },
        },
        [404],
      ),
    },
    async (request, reply) => {
      const scope = scopeOf(request);
      const list = await listIntegrations(scope, request.params.organisationId, { system: false });
      return success(reply, 200, 'Integrations retrieved successfully.', list.map((i) => integrationBody(scope, i)));
    },
  );

  app.put<{ Params: IntegrationParams; Body: UpdateBody }>(
    '/organisations/:organisationId/integrations/custom/:integrationId',
    {
      schema: routeSchema(
        {
          tags: ['Custom Integrations'],
          operationId: 'updateCustomIntegration',
          summary: "Update an organization's integration.",
          description:
            'Re-reads the spec from json_url (GraphQL: updateIntegration / refreshIntegration); the spec must keep the integration_type. ' +
            'Settings and channels are kept. The updated integration is included as `data`.',
          params: integrationParams,
          body: { type: 'object', required: ['json_url'], properties: { json_url: jsonUrl, name: { type: 'string' }, auth_credential: { ...authCredential, nullable: true }, is_active: { type: 'boolean', description: 'Switch the integration on or off, as the PATCH does.' } } },
          response: { 200: envelope('Integrations updated successfully', integrationSchema) },
        },
        [400, 403, 404],
      ),
    },
    update,
  );

  app.delete<{ Params: IntegrationParams }>(
    '/organisations/:organisationId/integrations/custom/:integrationId',
    {
      schema: routeSchema(
        {
          tags: ['Custom Integrations'],
          operationId: 'deleteCustomIntegration',
          summary: "Delete an organization's integration.",
          description: 'Removes the integration with its settings and channel links (GraphQL: removeIntegration).',
          params: integrationParams,
          response: { 200: envelope('Integrations deleted successfully', integrationSchema) },
        },
        [403, 404],
      ),
    },
    remove,
  );
};
