/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com/, what Svix sends): `webhook-id`,
 * `webhook-timestamp` (seconds) and `webhook-signature`, a space-separated list of `v1,<base64 HMAC-SHA256 of
 * "id.timestamp.body">`, one per key in force (two while a rotated secret overlaps its successor). Receivers
 * verify with the `standardwebhooks` package: `new Webhook(secret).verify(body, headers)`.
 */
import { createHmac, randomBytes } from 'node:crypto';

const PREFIX = 'whsec_';

/** A new signing secret: 32 random bytes, base64, prefixed `whsec_` (Standard Webhooks allows 24 to 64). */
export function generateSigningSecret(): string {
  return `${PREFIX}${randomBytes(32).toString('base64')}`;
}

/** The HMAC key of a `whsec_` secret (its base64 part decoded); any other string is used as raw bytes. */
export function signingKey(secret: string): Buffer {
  return secret.startsWith(PREFIX) ? Buffer.from(secret.slice(PREFIX.length), 'base64') : Buffer.from(secret, 'utf8');
}

export interface Signing {
  /** The message id (`webhook-id`): the idempotency key, the same on every attempt of one call. */
  id: string;
  /** HMAC keys in force, newest first. None: the call goes out unsigned. */
  keys: Buffer[];
}

/** The three headers for `body` (the exact bytes sent), timestamped now. */
export function signatureHeaders(signing: Signing, body: string, now = Date.now()): Record<string, string> {
  const timestamp = String(Math.floor(now / 1000));
  const content = `${signing.id}.${timestamp}.${body}`;
  const signatures = signing.keys.map((key) => `v1,${createHmac('sha256', key).update(content).digest('base64')}`);
  return { 'webhook-id': signing.id, 'webhook-timestamp': timestamp, 'webhook-signature': signatures.join(' ') };
}
