/**
 * A settings form generated from an integration spec's `settings` (Telex's kinds: text, number, checkbox,
 * radio, dropdown, multi-checkbox, multi-select), for the organisation or for one channel. Each field shows
 * the value in force and where it comes from; Save sends the changed fields one by one, and a refused value
 * shows the gateway's message at its field while the others are saved.
 */
import { useEffect, useState } from 'preact/hooks';
import { Refused } from './client';
import { Badge, Notice } from './ui';

export interface SettingSpecView {
  label: string;
  type: string;
  options?: string[] | null;
  required: boolean;
  description?: string | null;
}
export interface EffectiveView {
  label: string;
  value?: unknown;
  source: string;
}

const MULTI = new Set(['multi-checkbox', 'multi-select', 'multiselect']);
const CHECK = new Set(['checkbox', 'boolean', 'toggle']);

function kind(spec: SettingSpecView): 'text' | 'number' | 'checkbox' | 'radio' | 'dropdown' | 'multi-checkbox' | 'multi-select' {
  if (spec.type === 'number') return 'number';
  if (CHECK.has(spec.type)) return 'checkbox';
  if (spec.type === 'multi-checkbox') return 'multi-checkbox';
  if (MULTI.has(spec.type)) return spec.options?.length ? 'multi-select' : 'text';
  if (spec.type === 'radio' && spec.options?.length) return 'radio';
  if (spec.options?.length) return 'dropdown';
  return 'text';
}

/** The form's state of a value: strings for text and number inputs, booleans, lists. */
function toForm(spec: SettingSpecView, value: unknown): unknown {
  const k = kind(spec);
  if (k === 'checkbox') return value === true;
  if (k === 'multi-checkbox' || k === 'multi-select') return Array.isArray(value) ? value.map(String) : value ? String(value).split(',').map((s) => s.trim()) : [];
  return value == null ? '' : Array.isArray(value) ? value.join(', ') : String(value);
}

/** What is sent: numbers as numbers (text that is not one goes as typed, for the gateway to refuse), lists, booleans. */
function toValue(spec: SettingSpecView, form: unknown): unknown {
  if (kind(spec) === 'number') {
    const s = String(form).trim();
    if (s === '') return null;
    return Number.isFinite(Number(s)) ? Number(s) : s;
  }
  if (typeof form === 'string' && form === '') return null;
  return form;
}

export function shown(value: unknown): string {
  if (value == null || value === '') return '(empty)';
  if (Array.isArray(value)) return value.length ? value.join(', ') : '(none)';
  if (typeof value === 'boolean') return value ? 'Yes' : 'No';
  return String(value);
}

const SOURCE: Record<string, string> = { DEFAULT: "the spec's default", ORGANISATION: 'organisation', CHANNEL: 'this channel' };

export function SettingsForm(props: {
  /** Distinguishes the ids of two forms on one page. */
  idPrefix: string;
  schema: SettingSpecView[];
  effective: EffectiveView[];
  save(label: string, value: unknown): Promise<void>;
  /** Channel level: go back to the organisation's value (removes the channel's own). */
  clear?(label: string): Promise<void>;
  saved(): Promise<void>;
  disabled?: boolean;
}) {
  const inForce = new Map(props.effective.map((e) => [e.label, e]));
  const initial = () => Object.fromEntries(props.schema.map((s) => [s.label, toForm(s, inForce.get(s.label)?.value)]));
  const [values, setValues] = useState<Record<string, unknown>>(initial);
  const [dirty, setDirty] = useState<Set<string>>(new Set());
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const [note, setNote] = useState<string | null>(null);

  // Fields not being edited follow the value in force (after a save, a reset, or a change made elsewhere).
  useEffect(() => {
    setValues((v) => ({ ...v, ...Object.fromEntries(props.schema.filter((s) => !dirty.has(s.label)).map((s) => [s.label, toForm(s, inForce.get(s.label)?.value)])) }));
  }, [props.effective, dirty]);

  const change = (label: string, value: unknown) => {
    setValues((v) => ({ ...v, [label]: value }));
    setDirty((d) => new Set(d).add(label));
    setNote(null);
  };

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setNote(null);
    const failed: Record<string, string> = {};
    const stillDirty = new Set<string>();
    let saved = 0;
    for (const spec of props.schema) {
      if (!dirty.has(spec.label)) continue;
      try {
        await props.save(spec.label, toValue(spec, values[spec.label]));
        saved++;
      } catch (error) {
        failed[spec.label] = error instanceof Refused || error instanceof Error ? error.message : String(error);
        stillDirty.add(spec.label);
      }
    }
    setErrors(failed);
    setDirty(stillDirty);
    await props.saved();
    setBusy(false);
    const refused = Object.keys(failed).length;
    setNote(
      refused ? `${saved} saved, ${refused} refused: see the field${refused === 1 ? '' : 's'} marked below.` : saved ? `${saved} setting${saved === 1 ? '' : 's'} saved.` : 'Nothing changed.',
    );
  };

  if (props.schema.length === 0) return <p class="muted">This integration declares no settings.</p>;

  return (
    <form onSubmit={submit} class="settings stack" noValidate>
      {props.schema.map((spec) => {
        const id = `${props.idPrefix}-${spec.label.replace(/[^A-Za-z0-9_-]+/g, '-')}`;
        const current = inForce.get(spec.label);
        const error = errors[spec.label];
        const describedBy = [`${id}-now`, spec.description ? `${id}-help` : '', error ? `${id}-error` : ''].filter(Boolean).join(' ');
        const k = kind(spec);
        const value = values[spec.label];
        const common = { 'aria-describedby': describedBy, 'aria-invalid': error ? true : undefined, disabled: props.disabled || busy };
        let control;
        if (k === 'checkbox') {
          control = (
            <div class="check">
              <input id={id} type="checkbox" checked={value === true} onChange={(e) => change(spec.label, e.currentTarget.checked)} {...common} />
              <label for={id}>{spec.label}</label>
            </div>
          );
        } else if (k === 'radio' || k === 'multi-checkbox') {
          const multi = k === 'multi-checkbox';
          const chosen = multi ? (value as string[]) : [value as string];
          control = (
            <fieldset id={id} aria-describedby={describedBy} aria-invalid={error ? true : undefined}>
              <legend>
                {spec.label}
                {spec.required && <span class="required"> (required)</span>}
              </legend>
              {spec.options!.map((option, n) => (
                <div class="check" key={option}>
                  <input
                    id={`${id}-${n}`}
                    type={multi ? 'checkbox' : 'radio'}
                    name={id}
                    value={option}
                    checked={chosen.includes(option)}
                    disabled={props.disabled || busy}
                    onChange={(e) => {
                      if (!multi) return change(spec.label, option);
                      const set = new Set(chosen);
                      if (e.currentTarget.checked) set.add(option);
                      else set.delete(option);
                      change(spec.label, spec.options!.filter((o) => set.has(o)));
                    }}
                  />
                  <label for={`${id}-${n}`}>{option}</label>
                </div>
              ))}
            </fieldset>
          );
        } else {
          const label = (
            <label for={id}>
              {spec.label}
              {spec.required && <span class="required"> (required)</span>}
            </label>
          );
          if (k === 'dropdown') {
            control = (
              <>
                {label}
                <select id={id} value={value as string} onChange={(e) => change(spec.label, e.currentTarget.value)} {...common}>
                  {(!spec.required || !spec.options!.includes(value as string)) && <option value="">(none)</option>}
                  {spec.options!.map((o) => (
                    <option key={o} value={o}>
                      {o}
                    </option>
                  ))}
                </select>
              </>
            );
          } else if (k === 'multi-select') {
            const chosen = value as string[];
            control = (
              <>
                {label}
                <select
                  id={id}
                  multiple
                  size={Math.min(spec.options!.length, 6)}
                  onChange={(e) =>
                    change(
                      spec.label,
                      [...e.currentTarget.selectedOptions].map((o) => o.value),
                    )
                  }
                  {...common}
                >
                  {spec.options!.map((o) => (
                    <option key={o} value={o} selected={chosen.includes(o)}>
                      {o}
                    </option>
                  ))}
                </select>
              </>
            );
          } else {
            control = (
              <>
                {label}
                <input
                  id={id}
                  type={k === 'number' ? 'number' : 'text'}
                  step={k === 'number' ? 'any' : undefined}
                  inputMode={k === 'number' ? 'decimal' : undefined}
                  value={value as string}
                  onInput={(e) => change(spec.label, e.currentTarget.value)}
                  {...common}
                />
              </>
            );
          }
        }
        return (
          <div class={`field${error ? ' invalid' : ''}`} key={spec.label} data-setting={spec.label}>
            {control}
            {spec.description && (
              <p id={`${id}-help`} class="muted">
                {spec.description}
              </p>
            )}
            <p id={`${id}-now`} class="muted in-force">
              In force: <strong>{shown(current?.value)}</strong> <Badge tone="plain">from {SOURCE[current?.source ?? 'DEFAULT'] ?? current?.source}</Badge>
              {dirty.has(spec.label) && !error && <span> · changed, not saved</span>}
              {props.clear && current?.source === 'CHANNEL' && (
                <button
                  type="button"
                  class="link"
                  disabled={busy}
                  onClick={async () => {
                    setBusy(true);
                    try {
                      await props.clear!(spec.label);
                      await props.saved();
                    } catch (err) {
                      setErrors((all) => ({ ...all, [spec.label]: (err as Error).message }));
                    } finally {
                      setBusy(false);
                    }
                  }}
                >
                  Use the organisation's value
                </button>
              )}
            </p>
            {error && (
              <p id={`${id}-error`} class="field-error" role="alert">
                {error}
              </p>
            )}
          </div>
        );
      })}
      <div class="row">
        <button type="submit" disabled={busy || props.disabled}>
          {busy ? 'Saving…' : 'Save settings'}
        </button>
        {note && <Notice kind={Object.keys(errors).length ? 'warn' : 'ok'}>{note}</Notice>}
      </div>
    </form>
  );
}
