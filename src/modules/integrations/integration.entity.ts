import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { uuidId, timestamps } from '../../infra/columns.js';
import { Organisation } from '../organisations/organisation.entity.js';

export const INTEGRATION_TYPES = ['modifier', 'interval', 'output'] as const;
export type IntegrationType = (typeof INTEGRATION_TYPES)[number];

/** One entry of a spec's `settings` array, as stored (unknown keys preserved). */
export interface SettingSpec {
  label: string;
  type: string;
  required?: boolean;
  default?: unknown;
  options?: string[];
  description?: string;
  [key: string]: unknown;
}

/**
 * An integration added to an organisation from its JSON spec. The spec is kept whole (unknown
 * fields preserved); the fields it is queried by are copied out of it.
 */
export const Integration = defineEntity({
  name: 'Integration',
  tableName: 'integrations',
  indexes: [{ properties: ['organisation', 'integrationType'] }],
  properties: {
    id: uuidId(),
    organisation: p.manyToOne(Organisation).deleteRule('cascade'),
    /** The caller's own name for it (REST `name`); falls back to the spec's app_name. */
    name: p.string(),
    jsonUrl: p.text(),
    spec: p.json<Record<string, unknown>>(),
    appName: p.string(),
    appDescription: p.text().default(''),
    appLogo: p.text().nullable(),
    appUrl: p.text().nullable(),
    backgroundColor: p.string().nullable(),
    integrationType: p.enum([...INTEGRATION_TYPES]),
    integrationCategory: p.string().nullable(),
    targetUrl: p.text().nullable(),
    tickUrl: p.text().nullable(),
    keyFeatures: p.json<string[]>(),
    settingsSchema: p.json<SettingSpec[]>(),
    /** What in the spec was odd but workable (kept, normalised or ignored), said once at intake; null: none. */
    warnings: p.json<string[]>().nullable(),
    isActive: p.boolean().default(true),
    /** Switched on for every channel of the organisation, present and future (links are kept per channel). */
    allChannels: p.boolean().default(false),
    isSystemIntegration: p.boolean().default(false),
    /** Encrypted at rest; shown back masked. */
    authCredential: p.text().nullable(),
    /** The `whsec_` secret its calls are signed with (Standard Webhooks), encrypted at rest; null: unsigned (added before signing). */
    signingSecret: p.text().nullable(),
    /** The secret it replaced at its last rotation, encrypted; calls carry its signature too until `previousSigningSecretExpiresAt`. */
    previousSigningSecret: p.text().nullable(),
    previousSigningSecretExpiresAt: p.datetime().nullable(),
    ...timestamps(),
  },
});
export type Integration = InferEntity<typeof Integration>;
