/**
 * Rocket.Chat's integration body (integrations.create and integrations.update) parsed into the columns of a
 * WebhookIntegration. Errors name the field the way Rocket.Chat's validator does.
 */
import { ValidationError } from '../../errors.js';
import { ALL_SCOPES, isAllScope } from './channel-scope.js';
import { checkScript, ScriptError } from './script-sandbox.js';
import { OUTGOING_EVENTS, RETRY_DELAYS, WEBHOOK_TYPES, type RetryDelay, type WebhookIntegration, type WebhookType } from './webhook-integration.entity.js';

const MAX_RETRY_COUNT = 20;

/** The channel names could not be resolved to channels of the caller's organisation. */
export class InvalidChannelError extends ValidationError {
  constructor(message: string, field = 'channel') {
    super(field, message);
  }
}

/** A script that cannot work (syntax error, no `class Script`, fails at load), with where the compiler says, when it says. */
export class InvalidScriptError extends ValidationError {
  readonly line: number | null;
  readonly column: number | null;
  constructor(error: ScriptError) {
    super('script', error.message);
    this.line = error.position?.line ?? null;
    this.column = error.position?.column ?? null;
  }
}

export type Body = Record<string, unknown>;

const required = (field: string): never => {
  throw new ValidationError(field, `must have required property '${field}'`);
};
const wrongType = (field: string, type: string): never => {
  throw new ValidationError(field, `/${field} must be ${type}`);
};

export function str(body: Body, field: string, need: boolean, max = 1_000): string | undefined {
  const v = body[field];
  if (v === undefined || v === null) return need ? required(field) : undefined;
  if (typeof v !== 'string') return wrongType(field, 'string');
  if (need && !v.trim()) throw new ValidationError(field, `/${field} must NOT have fewer than 1 characters`);
  if (v.length > max) throw new ValidationError(field, `/${field} must NOT have more than ${max} characters`);
  return v;
}

function bool(body: Body, field: string, need: boolean): boolean | undefined {
  const v = body[field];
  if (v === undefined || v === null) return need ? required(field) : undefined;
  if (typeof v !== 'boolean') return wrongType(field, 'boolean');
  return v;
}

/** A `type` that must be one of the two integration types. */
export function checkType(type: string | undefined) {
  if (!(WEBHOOK_TYPES as readonly string[]).includes(type!)) throw new ValidationError('type', `/type must be equal to one of the allowed values: ${WEBHOOK_TYPES.join(', ')}`);
}

/** `#a,#b` or ["#a", "#b"] into a list; `@user` (direct messages) has no Switchboard equivalent. */
function channelList(value: unknown): string[] {
  const parts = Array.isArray(value) ? value : typeof value === 'string' ? value.split(',') : wrongType('channel', 'string');
  const names = parts.map((p) => (typeof p === 'string' ? p.trim() : wrongType('channel', 'string'))).filter(Boolean);
  if (!names.length) throw new InvalidChannelError('Invalid Channel [error-invalid-channel]');
  for (const name of names) {
    if (isAllScope(name)) continue;
    if (!name.startsWith('#') || name.length < 2) {
      throw new InvalidChannelError(`Invalid Channel "${name}": name a #channel of your organisation or one of ${ALL_SCOPES.join(', ')} [error-invalid-channel]`);
    }
  }
  return [...new Set(names)];
}

function wordList(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  const parts = Array.isArray(value) ? value : typeof value === 'string' ? value.split(',') : wrongType('triggerWords', 'string');
  return parts.map((w) => (typeof w === 'string' ? w.trim() : wrongType('triggerWords', 'string'))).filter(Boolean);
}

function urlList(value: unknown): string[] {
  if (!Array.isArray(value)) return wrongType('urls', 'array');
  const urls = value.map((u, i) => {
    if (typeof u !== 'string') return wrongType(`urls/${i}`, 'string');
    let parsed: URL;
    try {
      parsed = new URL(u.trim());
    } catch {
      throw new ValidationError(`urls.${i}`, `/urls/${i} must be a valid http or https URL`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new ValidationError(`urls.${i}`, `/urls/${i} must be a valid http or https URL`);
    return u.trim();
  });
  if (!urls.length) throw new ValidationError('urls', '/urls must NOT have fewer than 1 items');
  return urls;
}

export interface Fields {
  type: WebhookType;
  name: string;
  enabled: boolean;
  username: string;
  channels: string[];
  scriptEnabled: boolean;
  script: string | null;
  alias: string | null;
  avatar: string | null;
  emoji: string | null;
  event: string | null;
  urls: string[];
  triggerWords: string[];
  triggerWordAnywhere: boolean;
  token: string | null | undefined;
  retryFailedCalls: boolean;
  retryCount: number;
  retryDelay: RetryDelay;
}

/**
 * Rocket.Chat's body for create (every required field) or update (`partial`: what is absent keeps its
 * value). Errors name the field the way Rocket.Chat's validator does.
 */
export async function parseFields(body: unknown, partial: WebhookIntegration | null): Promise<Fields> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ValidationError('body', 'must be object');
  const b = body as Body;
  const type = str(b, 'type', !partial) ?? partial!.type;
  checkType(type);
  const need = !partial;
  const username = str(b, 'username', need, 255) ?? partial!.username;
  const channelValue = b.channel ?? (need ? required('channel') : undefined);
  const channels = channelValue === undefined ? partial!.channels : channelList(channelValue);
  const scriptEnabled = bool(b, 'scriptEnabled', need) ?? partial!.scriptEnabled;
  const name = str(b, 'name', need, 255) ?? partial!.name;
  const enabled = bool(b, 'enabled', need) ?? partial!.enabled;
  const opt = (field: string, current: string | null | undefined) => {
    const v = str(b, field, false, 2_000);
    return v === undefined ? (b[field] === null ? null : (current ?? null)) : v || null;
  };
  const script = b.script === undefined ? (partial?.script ?? null) : (str(b, 'script', false, 200_000) ?? null);
  if (bool(b, 'overrideDestinationChannelEnabled', false)) {
    throw new ValidationError('overrideDestinationChannelEnabled', '/overrideDestinationChannelEnabled is not supported: messages always go to the integration\'s channels');
  }

  let event: string | null = null;
  let urls: string[] = [];
  let triggerWords: string[] = [];
  let triggerWordAnywhere = false;
  let retryFailedCalls = true;
  let retryCount = 6;
  let retryDelay: RetryDelay = 'powers-of-ten';
  let token: string | null | undefined;
  if (type === 'webhook-outgoing') {
    event = str(b, 'event', need) ?? partial!.event ?? null;
    if (!event || !(OUTGOING_EVENTS as readonly string[]).includes(event)) {
      throw new ValidationError('event', `/event must be equal to one of the allowed values: ${OUTGOING_EVENTS.join(', ')}`);
    }
    urls = b.urls === undefined ? (need ? required('urls') : partial!.urls) : urlList(b.urls);
    triggerWords = b.triggerWords === undefined ? (partial?.triggerWords ?? []) : wordList(b.triggerWords);
    triggerWordAnywhere = bool(b, 'triggerWordAnywhere', false) ?? partial?.triggerWordAnywhere ?? false;
    retryFailedCalls = bool(b, 'retryFailedCalls', false) ?? partial?.retryFailedCalls ?? true;
    const count = b.retryCount ?? partial?.retryCount ?? 6;
    if (typeof count !== 'number' || !Number.isInteger(count) || count < 0 || count > MAX_RETRY_COUNT) {
      throw new ValidationError('retryCount', `/retryCount must be an integer from 0 to ${MAX_RETRY_COUNT}`);
    }
    retryCount = count;
    const delay = str(b, 'retryDelay', false) ?? partial?.retryDelay ?? 'powers-of-ten';
    if (!(RETRY_DELAYS as readonly string[]).includes(delay)) throw new ValidationError('retryDelay', `/retryDelay must be equal to one of the allowed values: ${RETRY_DELAYS.join(', ')}`);
    retryDelay = delay as RetryDelay;
    token = b.token === undefined ? undefined : (str(b, 'token', false, 1_000) ?? null);
  }

  if (script && script.trim()) {
    try {
      await checkScript(script);
    } catch (error) {
      if (error instanceof ScriptError) throw new InvalidScriptError(error);
      throw error;
    }
  }
  return {
    type: type as WebhookType,
    name,
    enabled,
    username,
    channels,
    scriptEnabled,
    script: script && script.trim() ? script : null,
    alias: opt('alias', partial?.alias),
    avatar: opt('avatar', partial?.avatar),
    emoji: opt('emoji', partial?.emoji),
    event,
    urls,
    triggerWords,
    triggerWordAnywhere,
    token,
    retryFailedCalls,
    retryCount,
    retryDelay,
  };
}

