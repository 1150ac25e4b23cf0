import { randomUUID } from 'node:crypto';
import { p } from '@mikro-orm/core';
import { newId } from './ulid.js';

/**
 * The columns entities share, defined once. Rows people address (organisations, channels, integrations,
 * settings ...) have UUID ids; rows that are read in creation order (messages, deliveries, histories)
 * have ULIDs, which sort as they were made (see infra/ulid.ts).
 */
export const uuidId = () => p.uuid().primary().onCreate(() => randomUUID());
export const ulidId = () => p.string().length(26).primary().onCreate(() => newId());
export const createdAt = () => p.datetime().onCreate(() => new Date());
export const updatedAt = () => p.datetime().onCreate(() => new Date()).onUpdate(() => new Date());
/** `createdAt` and `updatedAt` (set on insert, and on every update). */
export const timestamps = () => ({ createdAt: createdAt(), updatedAt: updatedAt() });
