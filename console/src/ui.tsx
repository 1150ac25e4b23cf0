/** Small pieces every view uses: data loading, form submission state, notices, badges, copying. */
import type { DocumentTypeDecoration } from '@graphql-typed-document-node/core';
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { Refused, request } from './client';

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

export function Notice({ kind, children, id }: { kind: 'error' | 'ok' | 'info' | 'warn'; children: ComponentChildren; id?: string }) {
  if (children == null || children === false) return null;
  return (
    <p id={id} class={`notice notice-${kind}`} role={kind === 'error' ? 'alert' : 'status'}>
      {children}
    </p>
  );
}

export function ActionNotes({ action }: { action: Action }) {
  return (
    <>
      {action.error && <Notice kind="error">{action.error}</Notice>}
      {action.done && <Notice kind="ok">{action.done}</Notice>}
    </>
  );
}

export function Loading({ what }: { what: Loaded<unknown> }) {
  if (what.error) return <Notice kind="error">Could not load: {what.error}</Notice>;
  if (what.loading && what.data === undefined) return <p class="muted" role="status">Loading…</p>;
  return null;
}

const TYPE_LABELS: Record<string, string> = { MODIFIER: 'modifier', OUTPUT: 'output', INTERVAL: 'interval' };
export function TypeBadge({ type }: { type: string }) {
  return <span class={`badge badge-${type.toLowerCase()}`}>{TYPE_LABELS[type] ?? type.toLowerCase()}</span>;
}

export function Badge({ tone, children }: { tone: 'ok' | 'bad' | 'warn' | 'plain'; children: ComponentChildren }) {
  return <span class={`badge badge-${tone}`}>{children}</span>;
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

export function link(...parts: string[]) {
  return `#/${parts.map(encodeURIComponent).join('/')}`;
}

/** A name's rename form: `save` stores the new name (and reloads what shows it). */
export function RenameForm({ id, current, save }: { id: string; current: string; save: (name: string) => Promise<void> }) {
  const [name, setName] = useState<string | null>(null);
  const rename = useAction();
  return (
    <>
      <form
        class="row"
        onSubmit={(e) => {
          e.preventDefault();
          void rename.run(async () => {
            await save(name ?? current);
            return 'Renamed.';
          });
        }}
      >
        <label for={id}>New name</label>
        <input id={id} required maxLength={200} value={name ?? current} onInput={(e) => setName(e.currentTarget.value)} />
        <button type="submit" disabled={rename.busy}>
          Rename
        </button>
      </form>
      <ActionNotes action={rename} />
    </>
  );
}
