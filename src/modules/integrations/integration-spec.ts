import { CronExpressionParser } from 'cron-parser';
import { ValidationError } from '../../errors.js';
import { INTEGRATION_TYPES, type IntegrationType } from './integration.entity.js';

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

/** The fields an integration is queried by, read out of its spec. */
export interface ParsedSpec {
  spec: Record<string, unknown>;
  appName: string;
  appDescription: string;
  appLogo: string | null;
  appUrl: string | null;
  backgroundColor: string | null;
  integrationType: IntegrationType;
  integrationCategory: string | null;
  targetUrl: string | null;
  tickUrl: string | null;
  keyFeatures: string[];
  isActive: boolean;
  settingsSchema: SettingSpec[];
}

export const MULTI_TYPES = new Set(['multi-checkbox', 'multi-select', 'multiselect']);
export const CHOICE_TYPES = new Set(['radio', 'dropdown', 'select']);
export const INTERVAL_LABEL = 'interval';

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown) => (typeof v === 'string' && v.trim() !== '' ? v.trim() : typeof v === 'number' ? String(v) : null);

/**
 * Validate a spec as fetched from json_url. Tolerant of what real specs carry (extra fields, loose
 * types, numeric defaults); precise about what cannot work, naming the offending path.
 */
export function parseSpec(document: unknown, field = 'jsonUrl'): ParsedSpec {
  const fail = (path: string, message: string): never => {
    throw new ValidationError(field, `invalid integration spec: ${path} ${message}`);
  };
  if (!isRecord(document) || !isRecord(document.data)) fail('data', 'is missing: the spec must be wrapped in {"data": {...}}');
  const data = (document as { data: Record<string, unknown> }).data;
  const descriptions = isRecord(data.descriptions) ? data.descriptions : {};
  const pick = (key: string) => str(descriptions[key]) ?? str(data[key]);

  const rawType = str(data.integration_type)?.toLowerCase();
  if (!rawType) fail('data.integration_type', `is missing: one of ${INTEGRATION_TYPES.join(', ')}`);
  if (!INTEGRATION_TYPES.includes(rawType as IntegrationType)) {
    fail('data.integration_type', `"${rawType}" is not one of ${INTEGRATION_TYPES.join(', ')}`);
  }
  const integrationType = rawType as IntegrationType;

  const targetUrl = str(data.target_url);
  const tickUrl = str(data.tick_url);
  if (targetUrl) checkUrl(targetUrl, 'data.target_url', fail);
  if (tickUrl) checkUrl(tickUrl, 'data.tick_url', fail);
  if ((integrationType === 'modifier' || integrationType === 'output') && !targetUrl) {
    fail('data.target_url', `is required for a ${integrationType} integration`);
  }
  if (integrationType === 'interval' && !tickUrl) fail('data.tick_url', 'is required for an interval integration');

  const rawSettings = data.settings ?? [];
  if (!Array.isArray(rawSettings)) fail('data.settings', 'must be an array');
  const settingsSchema = (rawSettings as unknown[]).map((entry, i) => parseSettingSpec(entry, `data.settings[${i}]`, fail));
  const labels = new Set<string>();
  settingsSchema.forEach((s, i) => {
    if (labels.has(s.label)) fail(`data.settings[${i}].label`, `"${s.label}" appears twice`);
    labels.add(s.label);
  });

  if (integrationType === 'interval') {
    const i = settingsSchema.findIndex((s) => s.label === INTERVAL_LABEL);
    if (i < 0) fail('data.settings', 'needs an "interval" setting (a crontab expression) for an interval integration');
    const problem = cronProblem(settingsSchema[i].default);
    if (problem) fail(`data.settings[${i}].default`, problem);
  }

  return {
    spec: document as Record<string, unknown>,
    appName: pick('app_name') ?? 'Untitled integration',
    appDescription: pick('app_description') ?? '',
    appLogo: pick('app_logo'),
    appUrl: pick('app_url'),
    backgroundColor: pick('background_color'),
    integrationType,
    integrationCategory: str(data.integration_category) ?? str(data.category),
    targetUrl,
    tickUrl,
    keyFeatures: Array.isArray(data.key_features) ? data.key_features.map((f) => String(f)) : [],
    isActive: true,
    settingsSchema,
  };
}

function checkUrl(url: string, path: string, fail: (path: string, message: string) => never) {
  let parsed: URL | null = null;
  try {
    parsed = new URL(url);
  } catch {
    /* reported below */
  }
  if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) fail(path, `"${url}" is not an http(s) URL`);
}

function parseSettingSpec(entry: unknown, path: string, fail: (path: string, message: string) => never): SettingSpec {
  if (!isRecord(entry)) return fail(path, 'must be an object');
  const label = str(entry.label);
  if (!label) fail(`${path}.label`, 'is missing');
  const type = str(entry.type)?.toLowerCase();
  if (!type) fail(`${path}.type`, 'is missing');
  let options: string[] | undefined;
  if (entry.options !== undefined && entry.options !== null) {
    if (!Array.isArray(entry.options)) fail(`${path}.options`, 'must be an array');
    options = (entry.options as unknown[]).map((o) => (isRecord(o) ? String(o.value ?? o.label) : String(o)));
  }
  const setting: SettingSpec = { ...entry, label: label!, type: type!, required: entry.required === true || entry.required === 'true' };
  if (options) setting.options = options;
  if (entry.default !== undefined && entry.default !== null && entry.default !== '') {
    try {
      setting.default = coerceSettingValue(setting, entry.default);
    } catch (error) {
      fail(`${path}.default`, (error as Error).message);
    }
  }
  return setting;
}

/**
 * A value typed by its setting's type: number → JSON number, checkbox → boolean, multi-* → string[],
 * everything else → string; choices must be among `options` when options are given. Throws with a
 * message fit for the user.
 */
export function coerceSettingValue(setting: SettingSpec, value: unknown): unknown {
  const type = setting.type;
  if (type === 'number') {
    const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
    if (!Number.isFinite(n)) throw new Error(`"${String(value)}" is not a number`);
    return n;
  }
  if (type === 'checkbox' || type === 'boolean' || type === 'toggle') {
    if (typeof value === 'boolean') return value;
    const s = String(value).trim().toLowerCase();
    if (['true', 'yes', 'on', '1', 'checked'].includes(s)) return true;
    if (['false', 'no', 'off', '0', 'unchecked', ''].includes(s)) return false;
    throw new Error(`"${String(value)}" is not a yes/no value`);
  }
  if (MULTI_TYPES.has(type)) {
    const list = Array.isArray(value) ? value.map(String) : String(value).split(',').map((s) => s.trim()).filter(Boolean);
    const bad = setting.options ? list.find((v) => !setting.options!.includes(v)) : undefined;
    if (bad !== undefined) throw new Error(`"${bad}" is not one of the options (${setting.options!.join(', ')})`);
    return list;
  }
  if (typeof value === 'object' && value !== null) throw new Error('must be a single value, not an object or list');
  const s = String(value);
  if (setting.options && (CHOICE_TYPES.has(type) || setting.options.length > 0) && !setting.options.includes(s)) {
    throw new Error(`"${s}" is not one of the options (${setting.options.join(', ')})`);
  }
  if (setting.label === INTERVAL_LABEL) {
    const problem = cronProblem(s);
    if (problem) throw new Error(problem);
  }
  return s;
}

/** Why a crontab text cannot schedule ticks, or null when it can (5 fields; 6 with seconds). */
export function cronProblem(value: unknown): string | null {
  if (typeof value !== 'string' || !value.trim()) return 'must be a crontab expression such as "*/5 * * * *"';
  const fields = value.trim().split(/\s+/);
  if (fields.length < 5 || fields.length > 6) return `"${value}" is not a crontab expression: it needs 5 fields (minute hour day month weekday)`;
  try {
    CronExpressionParser.parse(value.trim());
    return null;
  } catch (error) {
    return `"${value}" is not a valid crontab expression (${(error as Error).message})`;
  }
}
