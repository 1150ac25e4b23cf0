import { CronExpressionParser } from 'cron-parser';
import { ValidationError } from '../../errors.js';
import { INTEGRATION_TYPES, type IntegrationType, type SettingSpec } from './integration.entity.js';

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
  /** What was odd but workable (kept, normalised or ignored), one sentence each naming the path; null: none. */
  warnings: string[] | null;
}

export const MULTI_TYPES = new Set(['multi-checkbox', 'multi-select', 'multiselect']);
export const INTERVAL_LABEL = 'interval';

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown) => (typeof v === 'string' && v.trim() !== '' ? v.trim() : typeof v === 'number' ? String(v) : null);

/**
 * Validate a spec as fetched from json_url. Tolerant of what real specs carry (extra fields, loose
 * types, numeric defaults, an option spelt in another letter case): what does not stop the integration
 * from working is kept (normalised where needed) and reported in `warnings`. Only what cannot work is
 * refused, naming the offending path: no `data`, an unknown integration_type, a modifier or output
 * without a target_url, an interval without a tick_url or a valid cron `interval`, a setting without a
 * label or type, a default outside its options.
 */
export function parseSpec(document: unknown, field = 'jsonUrl'): ParsedSpec {
  const fail = (path: string, message: string): never => {
    throw new ValidationError(field, `invalid integration spec: ${path} ${message}`);
  };
  const warnings: string[] = [];
  const warn = (path: string, message: string) => warnings.push(`${path} ${message}`);
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

  // A URL the integration's type needs must be valid; one it does not need is ignored when broken.
  const url = (key: 'target_url' | 'tick_url', needed: boolean) => {
    const value = str(data[key]);
    const problem = value ? urlProblem(value) : null;
    if (!problem) return value;
    if (needed) fail(`data.${key}`, problem);
    warn(`data.${key}`, `${problem}: ignored`);
    return null;
  };
  const targetUrl = url('target_url', integrationType !== 'interval');
  const tickUrl = url('tick_url', integrationType === 'interval');
  if ((integrationType === 'modifier' || integrationType === 'output') && !targetUrl) {
    fail('data.target_url', `is required for a ${integrationType} integration`);
  }
  if (integrationType === 'interval' && !tickUrl) fail('data.tick_url', 'is required for an interval integration');

  let rawSettings = data.settings ?? [];
  if (!Array.isArray(rawSettings)) {
    warn('data.settings', 'is not an array: the integration has no settings');
    rawSettings = [];
  }
  const settingsSchema: SettingSpec[] = [];
  (rawSettings as unknown[]).forEach((entry, i) => {
    const setting = parseSettingSpec(entry, `data.settings[${i}]`, fail, warn);
    if (settingsSchema.some((s) => s.label === setting.label)) warn(`data.settings[${i}].label`, `"${setting.label}" appears twice: the first one is used`);
    else settingsSchema.push(setting);
  });

  if (integrationType === 'interval') {
    const i = settingsSchema.findIndex((s) => s.label === INTERVAL_LABEL);
    if (i < 0) fail('data.settings', 'needs an "interval" setting (a crontab expression) for an interval integration');
    const problem = cronProblem(settingsSchema[i].default);
    if (problem) fail(`data.settings[${(rawSettings as unknown[]).findIndex((e) => isRecord(e) && str(e.label) === INTERVAL_LABEL)}].default`, problem);
  }

  // Slash commands, the bot user and output channels are read from the stored spec when used
  // (specCommands, specBotName, specOutput); here only what is odd about them is reported.
  for (const [path, message] of specCommands(document as Record<string, unknown>).problems) warn(path, message);
  if (data.output != null && !Array.isArray(data.output)) warn('data.output', 'is not a list: ignored');

  const appName = pick('app_name');
  if (!appName) warn('data.descriptions.app_name', 'is missing: the integration is named "Untitled integration"');
  let keyFeatures: string[] = [];
  if (Array.isArray(data.key_features)) keyFeatures = data.key_features.map((f) => String(f));
  else if (typeof data.key_features === 'string') keyFeatures = [data.key_features];
  else if (data.key_features != null) warn('data.key_features', 'is not a list: ignored');

  return {
    spec: document as Record<string, unknown>,
    appName: appName ?? 'Untitled integration',
    appDescription: pick('app_description') ?? '',
    appLogo: pick('app_logo'),
    appUrl: pick('app_url'),
    backgroundColor: pick('background_color'),
    integrationType,
    integrationCategory: str(data.integration_category) ?? str(data.category),
    targetUrl,
    tickUrl,
    keyFeatures,
    isActive: true,
    settingsSchema,
    warnings: warnings.length ? warnings : null,
  };
}

function urlProblem(url: string): string | null {
  try {
    const parsed = new URL(url);
    if (parsed.protocol === 'http:' || parsed.protocol === 'https:') return null;
  } catch {
    /* reported below */
  }
  return `"${url}" is not an http(s) URL`;
}

type Report = (path: string, message: string) => void;

function parseSettingSpec(entry: unknown, path: string, fail: (path: string, message: string) => never, warn: Report): SettingSpec {
  if (!isRecord(entry)) return fail(path, 'must be an object');
  const label = str(entry.label);
  if (!label) fail(`${path}.label`, 'is missing');
  const type = str(entry.type)?.toLowerCase();
  if (!type) fail(`${path}.type`, 'is missing');
  let options: string[] | undefined;
  if (Array.isArray(entry.options)) options = entry.options.map((o) => (isRecord(o) ? String(o.value ?? o.label) : String(o)));
  else if (entry.options != null) warn(`${path}.options`, 'is not a list: ignored, any value is accepted');
  const setting: SettingSpec = { ...entry, label: label!, type: type!, required: entry.required === true || entry.required === 'true' };
  if (options) setting.options = options;
  else delete setting.options;
  if (entry.default !== undefined && entry.default !== null && entry.default !== '') {
    try {
      setting.default = coerceSettingValue(setting, entry.default);
    } catch (error) {
      // Outside its options, or an interval that cannot schedule: the integration cannot work with it.
      if (error instanceof OptionError || label === INTERVAL_LABEL) fail(`${path}.default`, (error as Error).message);
      warn(`${path}.default`, `${(error as Error).message}: sent to the integration as the spec has it`);
    }
    if (options && typeof setting.default === 'string' && typeof entry.default === 'string' && setting.default !== entry.default.trim()) {
      warn(`${path}.default`, `"${entry.default}" is read as the option "${setting.default}"`);
    }
  }
  return setting;
}

/** A value outside a setting's options: never workable, whatever its type. */
class OptionError extends Error {}

/** The option a value names, matched exactly or else ignoring letter case; undefined when none. */
function option(options: string[], value: string) {
  if (options.includes(value)) return value;
  const lower = value.toLowerCase();
  return options.find((o) => o.toLowerCase() === lower);
}

/** The words a yes/no setting is written in, as pairs (a spec's default says which pair it uses). */
const YES_NO: [string, string][] = [['yes', 'no'], ['true', 'false'], ['on', 'off'], ['1', '0'], ['checked', 'unchecked']];

/** true or false for a yes/no word (lower case), null for any other text. */
function yesOrNo(word: string): boolean | null {
  if (YES_NO.some(([yes]) => yes === word)) return true;
  if (YES_NO.some(([, no]) => no === word)) return false;
  return null;
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
    const yesNo = yesOrNo(s);
    if (yesNo !== null) return yesNo;
    if (s === '') return false;
    throw new Error(`"${String(value)}" is not a yes/no value`);
  }
  const options = setting.options?.length ? setting.options : null;
  const chosen = (v: string) => {
    const found = options ? option(options, v) : v;
    if (found === undefined) throw new OptionError(`"${v}" is not one of the options (${options!.join(', ')})`);
    return found;
  };
  if (MULTI_TYPES.has(type)) {
    const list = Array.isArray(value) ? value.map(String) : String(value).split(',').map((s) => s.trim()).filter(Boolean);
    return list.map(chosen);
  }
  if (typeof value === 'object' && value !== null) throw new Error('must be a single value, not an object or list');
  const s = options ? chosen(String(value).trim()) : String(value);
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

/** The spec's own entries of its settings array, by label (as parseSpec reads labels). */
export function rawSettingEntries(spec: Record<string, unknown>): Map<string, Record<string, unknown>> {
  const entries = isRecord(spec.data) && Array.isArray(spec.data.settings) ? spec.data.settings : [];
  const byLabel = new Map<string, Record<string, unknown>>();
  for (const entry of entries) {
    const label = isRecord(entry) ? str(entry.label) : null;
    if (label && !byLabel.has(label)) byLabel.set(label, entry as Record<string, unknown>);
  }
  return byLabel;
}


/**
 * A typed value (as stored: number, boolean, string, string[]) in the JSON shape of the spec's own
 * `default`, which is how Telex sends settings: it does not parse them, and real integrations break on
 * any other shape (a pydantic `default: str` refuses a list; a Go type assertion ignores it). A list
 * for a comma-text default goes out comma-joined, a yes/no for a "Yes" default as "Yes"/"No", a number
 * as a number or text as the default was written. Without a default, the setting's type decides:
 * number → number, checkbox → boolean, anything else → text (lists comma-joined).
 */
export function inSpecShape(setting: SettingSpec, specDefault: unknown, value: unknown): unknown {
  if (value === null || value === undefined) return value ?? null;
  const shape = Array.isArray(specDefault)
    ? 'list'
    : typeof specDefault === 'number' || typeof specDefault === 'boolean' || (typeof specDefault === 'string' && specDefault !== '')
      ? typeof specDefault
      : setting.type === 'number'
        ? 'number'
        : setting.type === 'checkbox' || setting.type === 'boolean' || setting.type === 'toggle'
          ? 'boolean'
          : 'string';
  switch (shape) {
    case 'list':
      return Array.isArray(value) ? value : typeof value === 'string' ? value.split(',').map((v) => v.trim()).filter(Boolean) : [value];
    case 'number': {
      const n = typeof value === 'number' ? value : Number(value);
      return typeof value === 'string' && value.trim() !== '' && Number.isFinite(n) ? n : value;
    }
    case 'boolean':
      return typeof value === 'string' ? (yesOrNo(value.trim().toLowerCase()) ?? value) : value;
    default: {
      if (Array.isArray(value)) return value.join(typeof specDefault === 'string' && specDefault.includes(', ') ? ', ' : ',');
      if (typeof value === 'boolean') return yesNoLike(typeof specDefault === 'string' ? specDefault : '', value);
      return typeof value === 'string' ? value : String(value);
    }
  }
}

/** true/false written in the words (and letter case) of the spec's default: "Yes" → "Yes"/"No". */
function yesNoLike(example: string, value: boolean) {
  const pair = YES_NO.find((p) => p.includes(example.trim().toLowerCase())) ?? ['true', 'false'];
  const word = value ? pair[0] : pair[1];
  if (example && example === example.toUpperCase() && example !== example.toLowerCase()) return word.toUpperCase();
  if (example && example[0] === example[0].toUpperCase() && example[0] !== example[0].toLowerCase()) return word[0].toUpperCase() + word.slice(1);
  return word;
}

// ---------------------------------------------------------------------------------------------------
// Slash commands, the bot user, output channels: read from the stored spec (kept whole).

/** A slash command a spec declares: `name` is how it is matched (no slash, lower case). */
export interface SlashCommand {
  name: string;
  /** As shown and sent to the integration: `/` + name. */
  command: string;
  description: string;
  url: string;
}

/** What a command name may hold: letters, digits, `_` and `-` (so `/usr/bin` is never a command). */
const COMMAND_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * The spec's `slash_commands` (`{command, description, url}`), tolerant of a command written with or
 * without its leading `/` and in any letter case. Entries that cannot work (no command, a name with
 * spaces, no http(s) url, a second entry for one name) are left out and reported in `problems`.
 */
export function specCommands(spec: Record<string, unknown>): { commands: SlashCommand[]; problems: [string, string][] } {
  const data = isRecord(spec.data) ? spec.data : {};
  const raw = data.slash_commands;
  const commands: SlashCommand[] = [];
  const problems: [string, string][] = [];
  if (raw == null) return { commands, problems };
  if (!Array.isArray(raw)) return { commands, problems: [['data.slash_commands', 'is not a list: the integration has no commands']] };
  raw.forEach((entry, i) => {
    const path = `data.slash_commands[${i}]`;
    if (!isRecord(entry)) return void problems.push([path, 'is not an object: ignored']);
    const written = str(entry.command);
    const name = written?.replace(/^\/+/, '').toLowerCase() ?? '';
    if (!written) return void problems.push([`${path}.command`, 'is missing: the command is ignored']);
    if (!COMMAND_NAME.test(name)) return void problems.push([`${path}.command`, `"${written}" is not a command name (letters, digits, _ and - after the /): ignored`]);
    const url = str(entry.url);
    const problem = url ? urlProblem(url) : 'is missing';
    if (problem) return void problems.push([`${path}.url`, `${problem}: /${name} is ignored`]);
    if (commands.some((c) => c.name === name)) return void problems.push([`${path}.command`, `/${name} appears twice: the first one is used`]);
    if (written !== `/${name}`) problems.push([`${path}.command`, `"${written}" is read as /${name}`]);
    commands.push({ name, command: `/${name}`, description: str(entry.description) ?? '', url: url! });
  });
  return { commands, problems };
}

/**
 * The name the integration's own messages appear under: `permissions.bot_user.display_name`, else the
 * first `permissions.*.display_name` (Telex's examples name the user `monitoring_user`); null when none.
 */
export function specBotName(spec: Record<string, unknown>): string | null {
  const data = isRecord(spec.data) ? spec.data : {};
  const permissions = isRecord(data.permissions) ? data.permissions : {};
  const named = (v: unknown) => (isRecord(v) ? str(v.display_name) : null);
  const first = named(permissions.bot_user) ?? Object.values(permissions).map(named).find((n) => n);
  return first ? first.slice(0, 255) : null;
}

/** The spec's `output` entries (`{label, value}`), value read as a yes/no; malformed entries are skipped. */
export function specOutput(spec: Record<string, unknown>): { label: string; value: boolean }[] {
  const data = isRecord(spec.data) ? spec.data : {};
  if (!Array.isArray(data.output)) return [];
  return data.output.flatMap((entry) => {
    const label = isRecord(entry) ? str(entry.label) : null;
    if (!label) return [];
    const v = (entry as Record<string, unknown>).value;
    return [{ label, value: v === true || (typeof v === 'string' && ['true', 'yes', 'on', '1'].includes(v.trim().toLowerCase())) }];
  });
}

/** An `output` label meaning every channel: "All Channels", "all_channels", "all", "*". */
export function isAllChannelsLabel(label: string) {
  return ['all', 'allchannels', '*'].includes(label.toLowerCase().replace(/[\s_-]+/g, ''));
}
