import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { uuidId, timestamps } from '../../infra/columns.js';
import { Organisation } from '../organisations/organisation.entity.js';
import { Integration } from '../integrations/integration.entity.js';
import { Channel } from '../channels/channel.entity.js';

/** An organisation-level value of one of an integration's settings (Telex's form_field_*). */
export const IntegrationSetting = defineEntity({
  name: 'IntegrationSetting',
  tableName: 'integration_settings',
  uniques: [{ properties: ['integration', 'label'] }],
  properties: {
    id: uuidId(),
    organisation: p.manyToOne(Organisation).deleteRule('cascade'),
    integration: p.manyToOne(Integration).deleteRule('cascade'),
    label: p.string(),
    /** Typed by the setting's type: number, boolean, string or string[]. */
    value: p.json<unknown>(),
    ...timestamps(),
  },
});
export type IntegrationSetting = InferEntity<typeof IntegrationSetting>;

/** A channel-level value; it overrides the organisation-level one. */
export const ChannelIntegrationSetting = defineEntity({
  name: 'ChannelIntegrationSetting',
  tableName: 'channel_integration_settings',
  uniques: [{ properties: ['integration', 'channel', 'label'] }],
  properties: {
    id: uuidId(),
    organisation: p.manyToOne(Organisation).deleteRule('cascade'),
    integration: p.manyToOne(Integration).deleteRule('cascade'),
    channel: p.manyToOne(Channel).deleteRule('cascade').index(),
    label: p.string(),
    value: p.json<unknown>(),
    ...timestamps(),
  },
});
export type ChannelIntegrationSetting = InferEntity<typeof ChannelIntegrationSetting>;
