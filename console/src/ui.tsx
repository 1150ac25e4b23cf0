/**
 * Small pieces every view uses: data loading, forms that run a mutation (with a refusal shown at its field),
 * lists with their empty state, facts, notices, badges, copying.
 */
import type { DocumentTypeDecoration } from '@graphql-typed-document-node/core';
import { createContext, toChildArray, type ButtonHTMLAttributes, type ComponentChildren, type InputHTMLAttributes, type JSX, type SelectHTMLAttributes } from 'preact';
import { useCallback, useContext, useEffect, useRef, useState } from 'preact/hooks';
import { Refused, request } from './client';
import type { ConsoleHealthFragment } from './gql/graphql';
import { graphql } from './graphql';

export interface Loaded<R> {
  data: R | undefined;
  error: string | null;
  loading: boolean;
  reload(): Promise<void>;
}

/** Run a query now and whenever `key` changes; `reload()` runs it again (after a change). */
export function useQuery<R, V>(document: DocumentTypeDecoration<R, V>, variables: V, key: string): Loaded<R> {
  const [data, setData] = useState<R | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const latest = useRef(0);
  const vars = useRef(variables);
  vars.current = variables;
  const reload = useCallback(async () => {
    const mine = ++latest.current;
    setLoading(true);
    try {
      const result = await request(document, vars.current);
      if (mine === latest.current) {
        setData(result);
        setError(null);
      }
    } catch (e) {
      if (mine === latest.current) setError((e as Error).message);
    } finally {
      if (mine === latest.current) setLoading(false);
    }
  }, [key]);
  useEffect(() => {
    void reload();
  }, [reload]);
  return { data, error, loading, reload };
}

export interface Action {
  busy: boolean;
  error: string | null;
  /** The input a refusal named (ValidationError.field), to show the message at that field. */
  field: string | null;
  done: string | null;
  run(work: () => Promise<string | void>): Promise<boolean>;
  reset(): void;
}

/** The state of one form's submission: busy while it runs, then the refusal (with its field) or a success note. */
export function useAction(): Action {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [field, setField] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const run = async (work: () => Promise<string | void>) => {
    setBusy(true);
    setError(null);
    setField(null);
    setDone(null);
    try {
      setDone((await work()) ?? null);
      return true;
    } catch (e) {
      setError((e as Error).message);
      setField(e instanceof Refused ? (e.field ?? null) : null);
      return false;
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, field, done, run, reset: () => (setError(null), setField(null), setDone(null)) };
}

/** `run` once calls stop coming for `ms` (a later call moves it on); its failure is left to the next one. */
export function useSoon(ms: number, run: () => Promise<void>): () => void {
  const timer = useRef<ReturnType<typeof setTimeout>>();
  const latest = useRef(run);
  latest.current = run;
  useEffect(() => () => clearTimeout(timer.current), []);
  return () => {
    clearTimeout(timer.current);
    timer.current = setTimeout(() => void latest.current().catch(() => undefined), ms);
  };
}

/** The text fields of a form, with one setter for all and a reset to the initial values. */
export function useFields<T extends Record<string, string>>(initial: T) {
  const [values, setValues] = useState<T>(initial);
  return {
    values,
    set: (name: keyof T) => (value: string) => setValues((v) => ({ ...v, [name]: value })),
    reset: () => setValues(initial),
  };
}

export function Notice({ kind, children, id }: { kind: 'error' | 'ok' | 'info' | 'warn'; children: ComponentChildren; id?: string }) {
  if (children == null || children === false) return null;
  return (
    <p id={id} class={`notice notice-${kind}`} role={kind === 'error' ? 'alert' : 'status'}>
      {children}
    </p>
  );
}

/** Inside an ActionForm: its action, and the fields that show their own refusal (filled as they render). */
const FormContext = createContext<{ action: Action; atFields: Set<string> } | null>(null);

/** The outcome of an action: its refusal (unless a field of the form shows it) or its success note. */
export function ActionNotes({ action }: { action: Action }) {
  const form = useContext(FormContext);
  const atField = form?.action === action && action.field != null && form.atFields.has(action.field);
  return (
    <>
      {action.error && !atField && <Notice kind="error">{action.error}</Notice>}
      {action.done && <Notice kind="ok">{action.done}</Notice>}
    </>
  );
}

/**
 * A form whose submission runs `onSubmit` as `action`: the submit button is disabled (and says `busy`) while it
 * runs, then the refusal shows at the field it names, or under the button, as does the success note.
 */
export function ActionForm(props: {
  action: Action;
  onSubmit(): Promise<string | void>;
  /** The submit button's text. */
  submit: ComponentChildren;
  busy?: ComponentChildren;
  label?: string;
  labelledBy?: string;
  class?: string;
  /** Controls beside the submit button (a cancel button ...). */
  extra?: ComponentChildren;
  children: ComponentChildren;
}) {
  const { action } = props;
  return (
    <FormContext.Provider value={{ action, atFields: new Set() }}>
      <form
        class={props.class ?? 'card stack'}
        aria-label={props.label}
        aria-labelledby={props.labelledBy}
        onSubmit={(e) => {
          e.preventDefault();
          void action.run(props.onSubmit);
        }}
      >
        {props.children}
        {props.extra ? (
          <div class="row">
            <SubmitButton action={action} busy={props.busy}>
              {props.submit}
            </SubmitButton>
            {props.extra}
          </div>
        ) : (
          <SubmitButton action={action} busy={props.busy}>
            {props.submit}
          </SubmitButton>
        )}
        <ActionNotes action={action} />
      </form>
    </FormContext.Provider>
  );
}

function SubmitButton({ action, busy, children }: { action: Action; busy?: ComponentChildren; children: ComponentChildren }) {
  return (
    <button type="submit" disabled={action.busy}>
      {action.busy && busy ? busy : children}
    </button>
  );
}

/** What a control needs to be labelled, described and marked invalid. */
export interface FieldProps {
  id: string;
  'aria-describedby'?: string;
  'aria-invalid'?: boolean;
}

/**
 * One labelled control: its label, help and, inside an ActionForm, the refusal that names `name` (the input's
 * field in the mutation), read out with the control. `children` draws the control with the props given.
 */
export function Field({ id, name, label, help, children }: { id: string; name?: string; label: ComponentChildren; help?: ComponentChildren; children(props: FieldProps): JSX.Element }) {
  const form = useContext(FormContext);
  if (form && name) form.atFields.add(name);
  const error = form && name && form.action.field === name ? form.action.error : null;
  const describedBy = [help ? `${id}-help` : '', error ? `${id}-error` : ''].filter(Boolean).join(' ') || undefined;
  return (
    <>
      <label for={id}>{label}</label>
      {children({ id, 'aria-describedby': describedBy, 'aria-invalid': error ? true : undefined })}
      {help && (
        <p id={`${id}-help`} class="muted help">
          {help}
        </p>
      )}
      {error && (
        <p id={`${id}-error`} class="field-error" role="alert">
          {error}
        </p>
      )}
    </>
  );
}

/** A one-line text input as a Field. */
export function TextField({
  id,
  name,
  label,
  help,
  value,
  onValue,
  ...input
}: { id: string; name?: string; label: ComponentChildren; help?: ComponentChildren; value: string; onValue(value: string): void } & Omit<InputHTMLAttributes<HTMLInputElement>, 'id' | 'name' | 'label' | 'value' | 'onInput'>) {
  return (
    <Field id={id} name={name} label={label} help={help}>
      {(props) => <input {...input} {...props} value={value} onInput={(e) => onValue(e.currentTarget.value)} />}
    </Field>
  );
}

/** A drop-down as a Field: `choices` are [value, label] pairs, after an optional first choice `none` (value ""). */
export function SelectField({
  id,
  name,
  label,
  help,
  value,
  onValue,
  choices,
  none,
  ...select
}: {
  id: string;
  name?: string;
  label: ComponentChildren;
  help?: ComponentChildren;
  value: string;
  onValue(value: string): void;
  choices: [value: string, label: string][];
  none?: string;
} & Omit<SelectHTMLAttributes<HTMLSelectElement>, 'id' | 'name' | 'label' | 'value' | 'onChange'>) {
  return (
    <Field id={id} name={name} label={label} help={help}>
      {(props) => (
        <select {...select} {...props} value={value} onChange={(e) => onValue(e.currentTarget.value)}>
          {none != null && <option value="">{none}</option>}
          {choices.map(([v, text]) => (
            <option key={v} value={v}>
              {text}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}

/** A button that runs `work` as `action` (disabled while any work of that action runs). */
export function ActionButton({
  action,
  work,
  children,
  ...button
}: { action: Action; work(): Promise<string | void>; children: ComponentChildren } & Omit<ButtonHTMLAttributes<HTMLButtonElement>, 'onClick' | 'type'>) {
  return (
    <button type="button" {...button} disabled={action.busy || !!button.disabled} onClick={() => void action.run(work)}>
      {children}
    </button>
  );
}

/** A list of rows (`li` children), or one muted row saying `empty` when there are none. */
export function List({ label, empty, class: extra, children }: { label?: string; empty?: ComponentChildren; class?: string; children: ComponentChildren }) {
  const items = toChildArray(children);
  return (
    <ul class={extra ? `list ${extra}` : 'list'} aria-label={label}>
      {items.length ? items : empty && <li class="muted">{empty}</li>}
    </ul>
  );
}

/** Terms and their values; a value that is null, false or empty is left out with its term. */
export function Facts({ items, label }: { items: [string, ComponentChildren][]; label?: string }) {
  return (
    <dl class="facts" aria-label={label}>
      {items
        .filter(([, value]) => value != null && value !== false && value !== '')
        .map(([term, value]) => (
          <div key={term} class="fact">
            <dt>{term}</dt>
            <dd>{value}</dd>
          </div>
        ))}
    </dl>
  );
}

/** Where an integration's spec and calls go (spec, target and tick URLs), then `more`. */
export function IntegrationFacts({ integration: i, more = [] }: { integration: { jsonUrl?: string; targetUrl?: string | null; tickUrl?: string | null }; more?: [string, ComponentChildren][] }) {
  return (
    <Facts
      items={[
        ['Spec', i.jsonUrl && <code>{i.jsonUrl}</code>],
        ['Target URL', i.targetUrl && <code>{i.targetUrl}</code>],
        ['Tick URL', i.tickUrl && <code>{i.tickUrl}</code>],
        ...more,
      ]}
    />
  );
}

/** The warnings an integration's spec raised (readable values that were adjusted, settings it ignores ...). */
export function SpecWarnings({ warnings, heading: Heading = 'h2' }: { warnings: string[]; heading?: 'h2' | 'h3' | 'h4' }) {
  if (!warnings.length) return null;
  return (
    <div class="notice notice-warn" role="status">
      <Heading class="small">Warnings from the spec</Heading>
      <ul>
        {warnings.map((w) => (
          <li key={w}>{w}</li>
        ))}
      </ul>
    </div>
  );
}

/** The head of an integration's view: its logo, name (as `heading`) and what sits under it. */
export function SpecHead({ logo, size, heading, children }: { logo?: string | null; size: number; heading: JSX.Element; children?: ComponentChildren }) {
  return (
    <div class="spec-head">
      {logo && <img src={logo} alt="" width={size} height={size} class="logo" referrerpolicy="no-referrer" />}
      <div>
        {heading}
        {children}
      </div>
    </div>
  );
}

/** Where a view sits: Organisations first, then the given links, each followed by a slash. */
export function Crumbs({ trail = [] }: { trail?: [href: string, label: ComponentChildren][] }) {
  return (
    <nav class="crumbs" aria-label="Breadcrumb">
      <a href={link()}>Organisations</a> /
      {trail.map(([href, label]) => (
        <span key={href}>
          {' '}
          <a href={href}>{label}</a> /
        </span>
      ))}
    </nav>
  );
}

export function Loading({ what }: { what: Pick<Loaded<unknown>, 'error' | 'loading' | 'data'> }) {
  if (what.error) return <Notice kind="error">Could not load: {what.error}</Notice>;
  if (what.loading && what.data === undefined) return <p class="muted" role="status">Loading…</p>;
  return null;
}

const TYPE_LABELS: Record<string, string> = { MODIFIER: 'modifier', OUTPUT: 'output', INTERVAL: 'interval' };
export function TypeBadge({ type }: { type: string }) {
  return <span class={`badge badge-${type.toLowerCase()}`}>{TYPE_LABELS[type] ?? type.toLowerCase()}</span>;
}

export type Tone = 'ok' | 'bad' | 'warn' | 'plain';
export function Badge({ tone, children, ...rest }: { tone: Tone; children: ComponentChildren } & Omit<JSX.HTMLAttributes<HTMLSpanElement>, 'class' | 'children'>) {
  return (
    <span class={`badge badge-${tone}`} {...rest}>
      {children}
    </span>
  );
}

/** An interval integration's schedule on one channel: its last and next tick, and the slots missed while no replica ran. */
export function TickTimes({ lastTickAt, nextTickAt, missedSlots }: { lastTickAt?: string | null; nextTickAt?: string | null; missedSlots?: number | null }) {
  return (
    <span class="muted ticks">
      Last tick {when(lastTickAt)} · next tick {when(nextTickAt)}
      {!!missedSlots && ` · ${missedSlots} missed slot${missedSlots === 1 ? '' : 's'} (caught up with one tick)`}
    </span>
  );
}

/** What an endpoint's health says (GraphQL's DeliveryHealth), as the views show it. */
export type HealthView = ConsoleHealthFragment;
type HealthState = HealthView['state'];
graphql(`
  fragment ConsoleHealth on DeliveryHealth {
    state
    attempts
    failures
    failureRate
    consecutiveFailures
    failingSince
    lastError
    lastErrorAt
    lastSuccessAt
    openUntil
    disabledReason
    disabledAt
  }
`);

const CIRCUIT: Record<HealthState, { label: string; tone: Tone; means: string }> = {
  CLOSED: { label: 'Circuit closed', tone: 'ok', means: 'Calls go out.' },
  HALF_OPEN: { label: 'Circuit half-open', tone: 'warn', means: 'One probe call is on its way: a success closes the circuit, a failure opens it again.' },
  OPEN: { label: 'Circuit open', tone: 'bad', means: 'It failed too many times in a row: its calls wait (they are not lost) until the probe.' },
  DISABLED: { label: 'Disabled', tone: 'bad', means: 'It failed for too long: its calls fail at once, unsent, until an admin re-enables it.' },
};

/** An endpoint's circuit, in words and colour. */
export function HealthBadge({ state }: { state: HealthState }) {
  return <Badge tone={CIRCUIT[state].tone}>{CIRCUIT[state].label}</Badge>;
}

/** How an endpoint's calls of the last 24 hours fared. */
export function HealthRate({ health: h }: { health: HealthView }) {
  return (
    <span class="muted">
      {h.attempts ? `${h.failures} of ${count(h.attempts, 'call')} failed in the last 24 hours (${Math.round((h.failureRate ?? 0) * 100)} %)` : 'No call in the last 24 hours'}
    </span>
  );
}

/** What an endpoint's circuit means for its calls, and the facts behind it. */
export function HealthDetails({ health: h }: { health: HealthView }) {
  return (
    <>
      <p class="muted small">{CIRCUIT[h.state].means}</p>
      <Facts
        items={[
          ['Failures in a row', h.consecutiveFailures > 0 && String(h.consecutiveFailures)],
          ['Failing since', h.failingSince && when(h.failingSince)],
          ['Last error', h.lastError && `${h.lastError} (${when(h.lastErrorAt)})`],
          ['Probe at', h.state === 'OPEN' && h.openUntil && when(h.openUntil)],
          ['Disabled', h.state === 'DISABLED' && `${when(h.disabledAt)}: ${h.disabledReason ?? 'no reason given'}`],
          ['Last success after a failure', h.lastSuccessAt && when(h.lastSuccessAt)],
        ]}
      />
    </>
  );
}

/** The state of a live subscription (see `subscribe`), and why it is reconnecting. */
export interface Liveness {
  state: 'live' | 'connecting' | 'reconnecting';
  detail?: string;
}

export function LiveState({ live }: { live: Liveness }) {
  return (
    <span class={`live live-${live.state}`} role="status" data-state={live.state}>
      {live.state === 'live' ? 'Live' : live.state === 'connecting' ? 'Connecting…' : `Reconnecting…${live.detail ? ` (${live.detail})` : ''}`}
    </span>
  );
}

/** A button that copies `text` to the clipboard and says so (falls back to selecting the text it labels). */
export function CopyButton({ text, label }: { text: string; label: string }) {
  const [copied, setCopied] = useState<string | null>(null);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setCopied('Copied');
    } catch {
      setCopied('Select the text and copy it');
    }
    setTimeout(() => setCopied(null), 2_000);
  };
  return (
    <span class="copy">
      <button type="button" class="secondary" onClick={copy} aria-label={label}>
        Copy
      </button>
      <span role="status" class="muted">
        {copied}
      </span>
    </span>
  );
}

export function when(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}

/** "1 channel", "3 channels". */
export function count(n: number, thing: string, things = `${thing}s`): string {
  return `${n} ${n === 1 ? thing : things}`;
}

export function link(...parts: string[]) {
  return `#/${parts.map(encodeURIComponent).join('/')}`;
}

/** A name's rename form: `save` stores the new name (and reloads what shows it). */
export function RenameForm({ id, current, save }: { id: string; current: string; save: (name: string) => Promise<void> }) {
  const [name, setName] = useState<string | null>(null);
  const rename = useAction();
  return (
    <ActionForm
      action={rename}
      class="row"
      submit="Rename"
      onSubmit={async () => {
        await save(name ?? current);
        return 'Renamed.';
      }}
    >
      <TextField id={id} name="name" label="New name" required maxLength={200} value={name ?? current} onValue={setName} />
    </ActionForm>
  );
}
