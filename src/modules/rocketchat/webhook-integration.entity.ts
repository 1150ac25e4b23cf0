import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { uuidId, ulidId, timestamps } from '../../infra/columns.js';
import { User } from '../auth/user.entity.js';
import { Organisation } from '../organisations/organisation.entity.js';

export const WEBHOOK_TYPES = ['webhook-incoming', 'webhook-outgoing'] as const;
export type WebhookType = (typeof WEBHOOK_TYPES)[number];

export const OUTGOING_EVENTS = ['sendMessage', 'fileUploaded', 'roomArchived', 'roomCreated', 'roomJoined', 'roomLeft', 'userCreated'] as const;
export type OutgoingEvent = (typeof OUTGOING_EVENTS)[number];

export const RETRY_DELAYS = ['powers-of-ten', 'powers-of-two', 'increments-of-two'] as const;
export type RetryDelay = (typeof RETRY_DELAYS)[number];

/**
 * A Rocket.Chat-style webhook integration of an organisation: incoming (a token URL that posts into its
 * channels) or outgoing (an event in its channels POSTs its urls). The incoming token is stored as a
 * SHA-256 only; the outgoing token (sent to the remote in every payload) is encrypted at rest.
 */
export const WebhookIntegration = defineEntity({
  name: 'WebhookIntegration',
  tableName: 'webhook_integrations',
  indexes: [{ properties: ['organisation', 'type'] }],
  properties: {
    id: uuidId(),
    organisation: p.manyToOne(Organisation).deleteRule('cascade'),
    type: p.enum([...WEBHOOK_TYPES]),
    name: p.string(),
    enabled: p.boolean(),
    username: p.string(),
    /** As given: `#name` channels or one of the all_* scopes. */
    channels: p.json<string[]>(),
    alias: p.string().nullable(),
    avatar: p.text().nullable(),
    emoji: p.string().nullable(),
    scriptEnabled: p.boolean(),
    script: p.text().nullable(),
    /** Incoming: SHA-256 of the URL token. */
    tokenHash: p.string().nullable().unique(),
    /** Outgoing: the token sent in each payload, encrypted. */
    outgoingToken: p.text().nullable(),
    event: p.string().nullable(),
    urls: p.json<string[]>(),
    triggerWords: p.json<string[]>(),
    triggerWordAnywhere: p.boolean().default(false),
    retryFailedCalls: p.boolean().default(true),
    retryCount: p.integer().default(6),
    retryDelay: p.string().default('powers-of-ten'),
    createdBy: p.manyToOne(User).deleteRule('set null').nullable(),
    updatedBy: p.manyToOne(User).deleteRule('set null').nullable(),
    ...timestamps(),
  },
});
export type WebhookIntegration = InferEntity<typeof WebhookIntegration>;

/**
 * One run of an integration (Rocket.Chat's integration history): an incoming call or an outgoing
 * trigger, what its script did, and, for outgoing calls, the Delivery that carried it.
 */
export const WebhookIntegrationHistory = defineEntity({
  name: 'WebhookIntegrationHistory',
  tableName: 'webhook_integration_history',
  indexes: [{ properties: ['integration', 'id'] }],
  properties: {
    id: ulidId(),
    integration: p.manyToOne(WebhookIntegration).deleteRule('cascade').index(false),
    organisation: p.manyToOne(Organisation).deleteRule('cascade'),
    type: p.string(),
    step: p.string(),
    event: p.string().nullable(),
    triggerWord: p.string().nullable(),
    url: p.text().nullable(),
    /** The payload received (incoming) or built (outgoing). */
    data: p.json<unknown>().nullable(),
    ranPrepareScript: p.boolean().default(false),
    finished: p.boolean().default(false),
    error: p.boolean().default(false),
    errorMessage: p.text().nullable(),
    scriptLogs: p.json<string[]>().nullable(),
    /** HTTP calls the script made (serverFetch / fetch): method, url (secret-looking query values masked), status, ms, error. */
    scriptHttpCalls: p.json<unknown[]>().nullable(),
    httpCallData: p.json<unknown>().nullable(),
    httpStatus: p.integer().nullable(),
    httpResult: p.text().nullable(),
    httpError: p.text().nullable(),
    /** The first Delivery of the outgoing call (retries follow it in the delivery history). */
    deliveryId: p.string().nullable(),
    /** A replayed outgoing call (integrations.replay): the history row of the run it sends again. */
    replayOf: p.string().nullable(),
    /** The message that triggered an outgoing call, or the one an incoming call posted. */
    messageId: p.string().nullable(),
    postedMessageIds: p.json<string[]>().nullable(),
    ...timestamps(),
  },
});
export type WebhookIntegrationHistory = InferEntity<typeof WebhookIntegrationHistory>;
