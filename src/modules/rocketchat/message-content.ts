/**
 * Rocket.Chat's message model, as its processWebhookMessage reads a webhook body, a script's `content`
 * or an outgoing reply: the text (`text`, else `msg`) trimmed; the shown name `username || alias`, else
 * the integration's alias; an avatar (`icon_url || avatar`) or else an emoji (`icon_emoji || emoji`),
 * else the integration's avatar or else its emoji (one of the two, never both); and the attachments as
 * given, an attachment's `msg` becoming its trimmed `text`.
 *
 * Rocket.Chat takes whatever arrives; here values that cannot be shown are refused with the field named
 * (a 400, never a 500), and attachments are bounded, so one webhook cannot store megabytes of JSON.
 */
import { ValidationError } from '../../errors.js';
import { plainObject } from './script-sandbox.js';

export const MAX_TEXT = 65_536;
export const MAX_ATTACHMENTS = 100;
export const MAX_ATTACHMENT_FIELDS = 100;
export const MAX_ATTACHMENTS_BYTES = 128 * 1024;

export type Attachment = Record<string, unknown>;

/** The message a Rocket.Chat payload asks for. */
export interface WebhookMessage {
  text: string;
  alias: string | null;
  avatar: string | null;
  emoji: string | null;
  attachments: Attachment[];
}

/** The integration's own presentation, used where the payload gives none. */
export interface MessageDefaults {
  alias?: string | null;
  avatar?: string | null;
  emoji?: string | null;
}

/** A string field: absent or empty is null; a number or boolean is shown as text; anything else is refused. */
function stringField(content: Record<string, unknown>, field: string, max: number): string | null {
  const value = content[field];
  if (value === undefined || value === null || value === '') return null;
  const text = typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : null;
  if (text === null) throw new ValidationError(field, `${field} must be a string`);
  if (text.length > max) throw new ValidationError(field, `${field} is at most ${max} characters`);
  return text;
}

/** Rocket.Chat's attachments, checked: an array of objects whose `fields`, when given, is an array of objects. */
export function parseAttachments(value: unknown, field = 'attachments'): Attachment[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new ValidationError(field, `${field} must be an array of objects`);
  if (value.length > MAX_ATTACHMENTS) throw new ValidationError(field, `${field} holds at most ${MAX_ATTACHMENTS} items`);
  const out = value.map((item, i) => {
    const attachment = plainObject(item);
    if (!attachment) throw new ValidationError(`${field}.${i}`, `${field}.${i} must be an object`);
    const fields = attachment.fields;
    if (fields !== undefined && fields !== null) {
      const where = `${field}.${i}.fields`;
      if (!Array.isArray(fields)) throw new ValidationError(where, `${where} must be an array of objects`);
      if (fields.length > MAX_ATTACHMENT_FIELDS) throw new ValidationError(where, `${where} holds at most ${MAX_ATTACHMENT_FIELDS} items`);
      fields.forEach((f, j) => {
        if (!plainObject(f)) throw new ValidationError(`${where}.${j}`, `${where}.${j} must be an object`);
      });
    }
    // Rocket.Chat moves an attachment's `msg` to its trimmed `text`.
    if (typeof attachment.msg === 'string' && attachment.msg) {
      attachment.text = attachment.msg.trim();
      delete attachment.msg;
    }
    return { ...attachment };
  });
  const json = JSON.stringify(out);
  if (Buffer.byteLength(json) > MAX_ATTACHMENTS_BYTES) throw new ValidationError(field, `${field} are larger than ${MAX_ATTACHMENTS_BYTES} bytes as JSON`);
  // A JSON copy: only data is stored, whatever the object held.
  return JSON.parse(json) as Attachment[];
}

/** The message a payload asks for (see the module comment for Rocket.Chat's rules). */
export function webhookMessage(content: Record<string, unknown>, defaults: MessageDefaults): WebhookMessage {
  const raw = stringField(content, 'text', MAX_TEXT) ?? stringField(content, 'msg', MAX_TEXT) ?? '';
  const avatar = stringField(content, 'icon_url', 2_048) ?? stringField(content, 'avatar', 2_048);
  const emoji = stringField(content, 'icon_emoji', 255) ?? stringField(content, 'emoji', 255);
  const shown = avatar
    ? { avatar, emoji: null }
    : emoji
      ? { avatar: null, emoji }
      : defaults.avatar
        ? { avatar: defaults.avatar, emoji: null }
        : { avatar: null, emoji: defaults.emoji || null };
  return {
    text: raw.trim(),
    alias: stringField(content, 'username', 255) ?? stringField(content, 'alias', 255) ?? (defaults.alias || null),
    ...shown,
    attachments: parseAttachments(content.attachments),
  };
}

/** Whether a message has anything to show: Rocket.Chat posts text, attachments, or both. */
export const hasContent = (m: WebhookMessage) => m.text.length > 0 || m.attachments.length > 0;
