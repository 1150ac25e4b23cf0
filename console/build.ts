/**
 * Builds the console (console/src, Preact + TSX) into one ES module and one stylesheet with esbuild, when the
 * sources are newer than the last build. The gateway calls it when it starts, so `npm start` and the tests
 * serve a current console without a set-up step of their own; an unchanged console costs a few stat calls.
 */
import { build } from 'esbuild';
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface ConsoleFiles {
  /** Path under /console/ → body and content type. */
  files: Map<string, { body: Buffer; type: string }>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** The newest modification time of the console's sources (and of this builder, whose options shape the output). */
function newestSource(root: string): number {
  let newest = statSync(new URL(import.meta.url)).mtimeMs;
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      // Generated operation types are erased from the bundle: they never make it stale.
      if (entry.isDirectory()) {
        if (entry.name !== 'gql') walk(full);
      } else newest = Math.max(newest, statSync(full).mtimeMs);
    }
  };
  walk(path.join(root, 'src'));
  newest = Math.max(newest, statSync(path.join(root, 'index.html')).mtimeMs);
  return newest;
}

function builtAt(out: string): number {
  try {
    return statSync(path.join(out, 'app.js')).mtimeMs;
  } catch {
    return 0;
  }
}

/**
 * Build console/dist when stale, then read it. Outputs are written beside their final names and renamed into
 * place, so two gateways starting together (test workers, replicas sharing a volume) never serve half a file.
 */
export async function buildConsole(root: string): Promise<ConsoleFiles> {
  const out = path.join(root, 'dist');
  if (builtAt(out) < newestSource(root)) {
    const result = await build({
      entryPoints: { app: path.join(root, 'src/main.tsx') },
      bundle: true,
      format: 'esm',
      target: 'es2022',
      platform: 'browser',
      jsx: 'automatic',
      jsxImportSource: 'preact',
      minify: true,
      sourcemap: 'linked',
      outdir: out,
      write: false,
      logLevel: 'silent',
      legalComments: 'none',
    });
    mkdirSync(out, { recursive: true });
    // app.js last: its time is the build's time.
    const ordered = [...result.outputFiles].sort((a, b) => Number(a.path.endsWith('app.js')) - Number(b.path.endsWith('app.js')));
    for (const file of ordered) {
      const temporary = `${file.path}.${process.pid}.tmp`;
      writeFileSync(temporary, file.contents);
      renameSync(temporary, file.path);
    }
  }
  const files = new Map<string, { body: Buffer; type: string }>();
  files.set('index.html', { body: readFileSync(path.join(root, 'index.html')), type: TYPES['.html'] });
  for (const name of readdirSync(out)) {
    const type = TYPES[path.extname(name)];
    if (type && !name.endsWith('.tmp')) files.set(`assets/${name}`, { body: readFileSync(path.join(out, name)), type });
  }
  return { files };
}
