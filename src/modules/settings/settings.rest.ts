/**
 * Telex's integration-settings, channel-integration-settings and custom-integration-settings REST endpoints,
 * as thin doors over settings.service.ts (the same functions the GraphQL mutations call).
 */
import type { FastifyPluginAsync } from 'fastify';
import { success } from '../../rest/envelope.js';
import { envelope, iso, params, routeSchema, settingValue, telexDoor, withRestFields } from '../../rest/openapi.js';
import type { RestOptions } from '../../rest/scope.js';
import type { ChannelIntegrationSetting, IntegrationSetting } from './integration-setting.entity.js';
import {
  deleteChannelIntegrationSetting,
  listChannelIntegrationSettings,
  listIntegrationSettings,
  setChannelIntegrationSetting,
  setIntegrationSetting,
  updateChannelIntegrationSetting,
  updateIntegrationSetting,
} from './settings.service.js';

const FIELDS = { label: 'form_field_label', value: 'form_field_value', settingId: 'id' };
/** The custom integrations' settings routes name the value `setting_entry`. */
const CUSTOM_FIELDS = { organisationId: 'organisationId', label: 'setting_entry.field_name', value: 'setting_entry.value' };

export function settingBody(s: IntegrationSetting) {
  return {
    id: s.id,
    org_id: s.organisation.id,
    integration_id: s.integration.id,
    form_field_label: s.label,
    form_field_value: s.value,
    created_at: iso(s.createdAt),
    updated_at: iso(s.updatedAt),
  };
}

export function channelSettingBody(s: ChannelIntegrationSetting) {
  return { ...settingBody(s as unknown as IntegrationSetting), channel_id: s.channel.id };
}

const settingSchema = {
  type: 'object',
  properties: {
    id: { type: 'string', format: 'uuid' },
    org_id: { type: 'string', format: 'uuid' },
    integration_id: { type: 'string', format: 'uuid' },
    form_field_label: { type: 'string' },
    form_field_value: { description: 'Typed by the spec setting (text, number, yes/no, list).' },
    created_at: { type: 'string', format: 'date-time' },
    updated_at: { type: 'string', format: 'date-time' },
  },
} as const;
const channelSettingSchema = { ...settingSchema, properties: { ...settingSchema.properties, channel_id: { type: 'string', format: 'uuid' } } } as const;

const orgIntegration = params({
  organisation_id: { type: 'string', description: 'The UUID of the organisation.' },
  integration_id: { type: 'string', description: 'The UUID of the integration.' },
});
const channelParams = params({
  org_id: { type: 'string', description: 'The UUID of the organisation.' },
  integration_id: { type: 'string', description: 'The UUID of the integration.' },
  channel_id: { type: 'string', description: 'The UUID of the channel.' },
});
const customParams = params({
  organisationId: { type: 'string', description: 'The UUID of the organisation.' },
  integrationId: { type: 'string', description: 'The UUID of the integration.' },
});
const settingParams = params({
  org_id: { type: 'string', description: 'The UUID of the organisation.' },
  integration_id: { type: 'string', description: 'The UUID of the integration.' },
  channel_id: { type: 'string', description: 'The UUID of the channel.' },
  setting_id: { type: 'string', description: 'The UUID of the channel setting.' },
});

const label = { type: 'string', description: 'The setting label (a label of the spec\'s settings, or a free-form field kept as text).' };
const addBody = { type: 'object', required: ['form_field_label', 'form_field_value'], properties: { form_field_label: label, form_field_value: settingValue } } as const;

type OrgParams = { organisation_id: string; integration_id: string };
type ChanParams = { org_id: string; integration_id: string; channel_id: string };
type SettingParams = ChanParams & { setting_id: string };
type AddBody = { form_field_label: string; form_field_value: unknown };

export const settingsRest: FastifyPluginAsync<RestOptions> = async (app, opts) => {
  const scopeOf = telexDoor(app, opts);

  // ---------- organisation-level settings ----------

  app.post<{ Params: OrgParams; Body: AddBody }>(
    '/organisations/:organisation_id/integrations/:integration_id/settings',
    {
      schema: routeSchema(
        {
          tags: ['IntegrationSettings'],
          operationId: 'addIntegrationSetting',
          summary: 'Add a new integration setting',
          description:
            'Sets the organisation-level value of a setting (GraphQL: setIntegrationSetting): created, or replaced when the label already ' +
            'has one. Labels the spec declares are validated and typed by it. The stored setting is included as `data`. Needs the admin role.',
          params: orgIntegration,
          body: addBody,
          response: { 200: envelope('Integration setting added successfully', settingSchema) },
        },
        [400, 403, 404],
      ),
    },
    async (request, reply) => {
      const scope = scopeOf(request);
      const setting = await withRestFields(FIELDS, () =>
        setIntegrationSetting(scope, {
          integrationId: request.params.integration_id,
          organisationId: request.params.organisation_id,
          label: request.body.form_field_label,
          value: request.body.form_field_value,
        }),
      );
      return success(reply, 200, 'Integration setting added successfully', settingBody(setting));
    },
  );

  app.get<{ Params: OrgParams }>(
    '/organisations/:organisation_id/integrations/:integration_id/settings',
    {
      schema: routeSchema(
        {
          tags: ['IntegrationSettings'],
          operationId: 'listIntegrationSettings',
          summary: 'Retrieve integration settings',
          description: 'The organisation-level values, oldest first (GraphQL: Integration.settings).',
          params: orgIntegration,
          response: { 200: envelope('Integration setting retrieved successfully', { type: 'array', items: settingSchema }) },
        },
        [404],
      ),
    },
    async (request, reply) => {
      const list = await listIntegrationSettings(scopeOf(request), request.params.integration_id, request.params.organisation_id);
      return success(reply, 200, 'Integration setting retrieved successfully', list.map(settingBody));
    },
  );

  app.patch<{ Params: OrgParams; Body: { id?: string; form_field_label?: string; form_field_value?: unknown } }>(
    '/organisations/:organisation_id/integrations/:integration_id/settings',
    {
      schema: routeSchema(
        {
          tags: ['IntegrationSettings'],
          operationId: 'updateIntegrationSetting',
          summary: 'Update an existing integration setting',
          description:
            'The path names no setting, so the body does: with `id`, that setting (its label and/or value change); without it, the setting ' +
            'labelled `form_field_label` (its value changes); when no setting has that label and the integration has exactly one stored ' +
            "value — the documented example's case — that one is renamed to `form_field_label` (keeping its value unless " +
            '`form_field_value` is sent). Otherwise 400 naming the field to send; 404 when nothing is stored. ' +
            'The updated setting is included as `data`. Needs the admin role.',
          params: orgIntegration,
          body: {
            type: 'object',
            minProperties: 1,
            properties: { id: { type: 'string', description: 'The UUID of the setting to change.' }, form_field_label: label, form_field_value: settingValue },
          },
          response: { 200: envelope('Integration setting updated successfully', settingSchema) },
        },
        [400, 403, 404],
      ),
    },
    async (request, reply) => {
      const scope = scopeOf(request);
      const b = request.body;
      const setting = await withRestFields(FIELDS, () =>
        updateIntegrationSetting(scope, {
          integrationId: request.params.integration_id,
          organisationId: request.params.organisation_id,
          settingId: b.id,
          label: b.form_field_label,
          value: b.form_field_value,
        }),
      );
      return success(reply, 200, 'Integration setting updated successfully', settingBody(setting));
    },
  );

  // ---------- channel-level settings ----------

  app.post<{ Params: ChanParams; Body: AddBody }>(
    '/organisations/:org_id/integrations/:integration_id/channels/:channel_id/settings',
    {
      schema: routeSchema(
        {
          tags: ['Channel Integration Settings'],
          operationId: 'addChannelIntegrationSetting',
          summary: 'Add a new setting for a channel integration',
          description:
            "Sets a channel-level value, which overrides the organisation's (GraphQL: setChannelIntegrationSetting): created, or replaced " +
            'when the label already has one for the channel. The stored setting (with its id, for PATCH and DELETE) is included as `data`.',
          params: channelParams,
          body: addBody,
          response: { 200: envelope('Channel Integration setting added successfully', channelSettingSchema) },
        },
        [400, 403, 404],
      ),
    },
    async (request, reply) => {
      const scope = scopeOf(request);
      const p = request.params;
      const setting = await withRestFields(FIELDS, () =>
        setChannelIntegrationSetting(scope, {
          integrationId: p.integration_id,
          channelId: p.channel_id,
          organisationId: p.org_id,
          label: request.body.form_field_label,
          value: request.body.form_field_value,
        }),
      );
      return success(reply, 200, 'Channel Integration setting added successfully', channelSettingBody(setting));
    },
  );

  app.get<{ Params: ChanParams }>(
    '/organisations/:org_id/integrations/:integration_id/channels/:channel_id/settings',
    {
      schema: routeSchema(
        {
          tags: ['Channel Integration Settings'],
          operationId: 'listChannelIntegrationSettings',
          summary: 'Retrieve all settings for a specific channel integration',
          description: 'The channel-level values, oldest first (GraphQL: ChannelIntegration.settings).',
          params: channelParams,
          response: { 200: envelope('Channel Integration settings retrieved successfully', { type: 'array', items: channelSettingSchema }) },
        },
        [404],
      ),
    },
    async (request, reply) => {
      const p = request.params;
      const list = await listChannelIntegrationSettings(scopeOf(request), { integrationId: p.integration_id, channelId: p.channel_id, organisationId: p.org_id });
      return success(reply, 200, 'Channel Integration settings retrieved successfully', list.map(channelSettingBody));
    },
  );

  app.patch<{ Params: SettingParams; Body: { form_field_label?: string; form_field_value?: unknown } }>(
    '/organisations/:org_id/integrations/:integration_id/channels/:channel_id/settings/:setting_id',
    {
      schema: routeSchema(
        {
          tags: ['Channel Integration Settings'],
          operationId: 'updateChannelIntegrationSetting',
          summary: 'Update a specific setting for a channel integration',
          description: 'Changes the label and/or value sent. The updated setting is included as `data`. Needs the admin role.',
          params: settingParams,
          body: { type: 'object', minProperties: 1, properties: { form_field_label: label, form_field_value: settingValue } },
          response: { 200: envelope('Integration setting updated successfully', channelSettingSchema) },
        },
        [400, 403, 404],
      ),
    },
    async (request, reply) => {
      const scope = scopeOf(request);
      const p = request.params;
      const setting = await withRestFields(FIELDS, () =>
        updateChannelIntegrationSetting(scope, {
          settingId: p.setting_id,
          integrationId: p.integration_id,
          channelId: p.channel_id,
          organisationId: p.org_id,
          label: request.body.form_field_label,
          value: request.body.form_field_value,
        }),
      );
      return success(reply, 200, 'Integration setting updated successfully', channelSettingBody(setting));
    },
  );

  app.delete<{ Params: SettingParams }>(
    '/organisations/:org_id/integrations/:integration_id/channels/:channel_id/settings/:setting_id',
    {
      schema: routeSchema(
        {
          tags: ['Channel Integration Settings'],
          operationId: 'deleteChannelIntegrationSetting',
          summary: 'Delete a specific setting for a channel integration',
          description: "Removes the channel-level value, so the organisation's value applies again (GraphQL: deleteChannelIntegrationSetting). Needs the admin role.",
          params: settingParams,
          response: { 200: envelope('Channel Integration setting deleted successfully', channelSettingSchema) },
        },
        [403, 404],
      ),
    },
    async (request, reply) => {
      const p = request.params;
      const removed = await deleteChannelIntegrationSetting(scopeOf(request), {
        settingId: p.setting_id,
        integrationId: p.integration_id,
        channelId: p.channel_id,
        organisationId: p.org_id,
      });
      return success(reply, 200, 'Channel Integration setting deleted successfully', channelSettingBody(removed));
    },
  );

  // ---------- custom integrations' settings (`setting_entry`) ----------

  const entrySchema = { type: 'object', properties: { field_name: { type: 'string', nullable: true }, value: {} } } as const;

  app.put<{ Params: { organisationId: string; integrationId: string }; Body: { setting_entry: { field_name: string; value: unknown } } }>(
    '/organisations/:organisationId/integrations/custom/:integrationId/settings',
    {
      schema: routeSchema(
        {
          tags: ['Custom Integrations'],
          operationId: 'setCustomIntegrationSetting',
          summary: "Update an organization's custom integration settings.",
          description:
            'Sets one organisation-level value: `field_name` is the setting label (GraphQL: setIntegrationSetting). Labels the spec declares ' +
            'are validated and typed by it. The stored entry is included as `data`.',
          params: customParams,
          body: {
            type: 'object',
            required: ['setting_entry'],
            properties: {
              setting_entry: {
                type: 'object',
                required: ['field_name', 'value'],
                properties: { field_name: { type: 'string', description: 'The setting label.' }, value: settingValue },
              },
            },
          },
          response: { 200: envelope('Integrations Settings updated successfully', entrySchema) },
        },
        [400, 403, 404],
      ),
    },
    async (request, reply) => {
      const scope = scopeOf(request);
      const entry = request.body.setting_entry;
      const setting = await withRestFields(CUSTOM_FIELDS, () =>
        setIntegrationSetting(scope, {
          integrationId: request.params.integrationId,
          organisationId: request.params.organisationId,
          label: entry.field_name,
          value: entry.value,
        }),
      );
      return success(reply, 200, 'Integrations Settings updated successfully', { field_name: setting.label, value: setting.value });
    },
  );

  app.get<{ Params: { organisationId: string; integrationId: string } }>(
    '/organisations/:organisationId/integrations/custom/:integrationId/settings',
    {
      schema: routeSchema(
        {
          tags: ['Custom Integrations'],
          operationId: 'getCustomIntegrationSettings',
          summary: 'Retrieve a list of integration settings for a specific organization.',
          description:
            'Telex documents `data` as one `{field_name, value}` entry. `data.field_name`/`data.value` are the entry written last ' +
            '(what a PUT just stored; both null when nothing is stored) and `data.entries` lists every stored entry, oldest first ' +
            '(the same values as GraphQL Integration.settings).',
          params: customParams,
          response: {
            200: envelope('Integrations retrieved successfully.', {
              type: 'object',
              properties: { ...entrySchema.properties, entries: { type: 'array', items: entrySchema } },
            }),
          },
        },
        [404],
      ),
    },
    async (request, reply) => {
      const scope = scopeOf(request);
      const settings = await listIntegrationSettings(scope, request.params.integrationId, request.params.organisationId);
      const latest = settings.reduce<(typeof settings)[number] | null>((a, s) => (!a || s.updatedAt >= a.updatedAt ? s : a), null);
      return success(reply, 200, 'Integrations retrieved successfully.', {
        field_name: latest?.label ?? null,
        value: latest ? latest.value : null,
        entries: settings.map((s) => ({ field_name: s.label, value: s.value })),
      });
    },
  );
};
