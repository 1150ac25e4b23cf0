/**
 * Builds the gateway for `npm start`: src/main.ts and the packages it imports, bundled by esbuild into one
 * CommonJS script, dist/main.cjs (gitignored), and beside it the sender thread the gateway starts,
 * dist/send-thread.cjs. Plain JavaScript, so that starting needs no TypeScript loader.
 *
 * Why a bundle: run from source, start-up was spent almost wholly on loading ~2,000 files (resolving,
 * reading, lexing CommonJS for named exports, compiling) through a run-time TypeScript transform; one file
 * does away with the resolution and file system work, and V8 compiles functions lazily as they run.
 *
 * Why CommonJS: Node 20 keeps no compiled code between runs of an ES module, and compiling the 10 MB
 * bundle, with the functions start-up runs, took about a third of start-up. A script can be compiled with
 * V8's code cache (scripts/start.mjs keeps one beside the bundle), which starts ~0.7 s sooner. So the
 * bundle holds no `import()`: packages left to Node are loaded with require(), which loads ES-module-only
 * packages (agendash, the Agenda stores) since Node 20.19 and 22.12.
 *
 * `npm install` / `npm ci` build it (the `prepare` script), and `scripts/start.mjs` rebuilds it when a file
 * it was built from (listed in dist/inputs.json) or the installed packages changed since, so an edit to src/
 * never runs stale code.
 *
 * `node scripts/build.mjs` builds; `node scripts/build.mjs --if-stale` builds only when stale.
 */
import { build } from 'esbuild';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'dist');
export const entry = path.join(out, 'main.cjs');
const inputsFile = path.join(out, 'inputs.json');
/** npm rewrites it on every install, update or removal of a package: bundled packages may have changed. */
const installed = path.join(root, 'node_modules', '.package-lock.json');

/**
 * Packages left to Node at run time, each for a reason:
 * - native addons: isolated-vm, libsql (and its platform package), pg-native;
 * - packages that read their own files or start workers from their own folder at run time: Swagger UI's
 *   static assets, Agendash's page and express app, pino's transport workers (pino-pretty, thread-stream),
 *   ioredis (reads its package.json for the version it reports to Redis), esbuild (its binary; the console
 *   builds with it);
 * - the job stores other than the embedded one, loaded only when configured (mongodb has native options);
 * - GraphiQL's page (9 MB), imported when it is first asked for.
 */
const external = [
  'isolated-vm',
  'libsql',
  '@libsql/*',
  'pg-native',
  '@fastify/swagger-ui',
  'agendash',
  'pino',
  'pino-pretty',
  'thread-stream',
  'ioredis',
  'esbuild',
  'mongodb',
  '@agendajs/*',
  '@graphql-yoga/render-graphiql',
];

/**
 * A `require()` esbuild cannot resolve keeps the meaning it has unbundled:
 * - drivers that knex and MikroORM require only for databases Switchboard does not use (mysql, oracledb,
 *   tedious ...) are not installed: they stay run-time requires, which fail exactly as unbundled;
 * - a relative `package.json` that is not there (MikroORM looks for its version in `../../package.json`,
 *   then `../package.json`, inside try blocks) becomes a module that throws "Cannot find module": esbuild
 *   would leave it a run-time require looked up from dist/, where it can find an unrelated package.json
 *   above the project instead of failing. (Only these paths are checked: a check of every relative
 *   require makes the build several times slower.)
 */
const unresolvedRequiresFailAsUnbundled = {
  name: 'unresolved-requires-fail-as-unbundled',
  setup(b) {
    const check = async (args) => {
      if (args.kind !== 'require-call' || args.pluginData === 'resolving' || args.path.startsWith('node:')) return undefined;
      const found = await b.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: 'resolving' });
      if (!found.errors.length) return undefined;
      return args.path.startsWith('.') ? { path: args.path, namespace: 'not-found' } : { path: args.path, external: true };
    };
    b.onResolve({ filter: /^[^./]/ }, check);
    b.onResolve({ filter: /^\.\.?\/.*package\.json$/ }, check);
    b.onLoad({ filter: /.*/, namespace: 'not-found' }, (args) => ({
      contents: `const error = new Error(${JSON.stringify(`Cannot find module '${args.path}'`)}); error.code = 'MODULE_NOT_FOUND'; throw error;`,
      loader: 'js',
    }));
  },
};

/**
 * umzug (MikroORM's migration runner) loads its command-line interface with its core, and that interface's
 * framework (@rushstack/ts-command-line with its terminal and file libraries) cost a fifth of a second at every
 * start. The gateway runs migrations through MikroORM's Migrator, never through umzug's command line: its base
 * classes are replaced by ones that say so if they are ever constructed.
 */
const withoutUmzugCommandLine = {
  name: 'without-umzug-command-line',
  setup(b) {
    b.onResolve({ filter: /^@rushstack\/ts-command-line$/ }, (args) => ({ path: args.path, namespace: 'no-command-line' }));
    b.onLoad({ filter: /.*/, namespace: 'no-command-line' }, () => ({
      contents: [
        'class Unavailable { constructor() { throw new Error("umzug\'s command line is not part of the gateway build; migrations run through MikroORM\'s Migrator"); } }',
        'exports.CommandLineAction = Unavailable;',
        'exports.CommandLineParser = Unavailable;',
      ].join('\n'),
      loader: 'js',
    }));
  },
};

// ES modules among the sources (ours and packages') find their files from import.meta.url: the bundle's.
const banner = "const __bundleUrl = require('node:url').pathToFileURL(__filename).href;";

/** Write a file beside its name and rename it into place: a reader sees the old file or the new one, never half a file. */
export function writeWhole(file, contents) {
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, contents);
  renameSync(temporary, file);
}

/** The code cache (see scripts/start.mjs) of the bundle whose text is `source`: named by its content. */
export const codeCacheOf = (source) => path.join(out, `main.${createHash('sha1').update(source).digest('hex').slice(0, 16)}.cache`);

/** The code caches of earlier builds, removed when a new bundle replaces theirs. */
const codeCaches = () => readdirSync(out).filter((name) => /^main\.[0-9a-f]{16}\.cache$/.test(name)).map((name) => path.join(out, name));

/** Build dist/main.cjs and record what it was built from. */
export async function buildGateway() {
  const started = Date.now();
  const result = await build({
    // The gateway, and the sender thread it starts (src/modules/deliveries/send-threads.ts) beside it.
    entryPoints: { main: path.join(root, 'src', 'main.ts'), 'send-thread': path.join(root, 'src', 'modules', 'deliveries', 'send-thread.ts') },
    outdir: out,
    outExtension: { '.js': '.cjs' },
    write: false,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    // A dynamic import() cannot run in a script compiled with a code cache on Node 20: require() instead.
    supported: { 'dynamic-import': false },
    define: { 'import.meta.url': '__bundleUrl' },
    target: 'node20',
    sourcemap: 'linked',
    external,
    plugins: [withoutUmzugCommandLine, unresolvedRequiresFailAsUnbundled],
    banner: { js: banner },
    metafile: true,
    logLevel: 'warning',
    legalComments: 'none',
  });
  const inputs = Object.keys(result.metafile.inputs)
    // Packages are covered by the lock file; modules made up by a plugin (`namespace:path`) have no file.
    .filter((file) => !file.includes('node_modules/') && !/^[\w-]+:/.test(file))
    .map((file) => path.relative(root, path.resolve(root, file)));
  mkdirSync(out, { recursive: true });
  // The record of inputs is written last: a gateway starting while another process builds reads either
  // the old build or the new one.
  for (const file of result.outputFiles) writeWhole(file.path, file.contents);
  for (const file of codeCaches()) rmSync(file, { force: true });
  writeWhole(inputsFile, JSON.stringify({ builtAt: started, inputs: [...inputs, 'scripts/build.mjs'] }));
  return Date.now() - started;
}

const mtime = (file) => {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return Infinity;
  }
};

/** Why dist/main.cjs must be rebuilt, or null when it is current. */
export function staleReason() {
  let recorded;
  try {
    recorded = JSON.parse(readFileSync(inputsFile, 'utf8'));
  } catch {
    return 'no build yet';
  }
  if (mtime(entry) === Infinity) return 'no build yet';
  if (mtime(installed) > recorded.builtAt && mtime(installed) !== Infinity) return 'packages changed';
  const changed = recorded.inputs.find((file) => mtime(path.join(root, file)) > recorded.builtAt);
  return changed ? `${changed} changed` : null;
}

/**
 * Start the new build once, on a throwaway data directory and the embedded defaults (none of the caller's
 * database, Redis or job store settings), ask it one GraphQL question and stop it: as it exits it writes the
 * code cache (scripts/start.mjs), so that the first `npm start` after an install starts as fast as later ones.
 * Best effort: a build that cannot warm still works, and its first start writes the cache instead.
 */
export async function warmCodeCache() {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'switchboard-warm-'));
  const child = spawn(process.execPath, ['--no-node-snapshot', path.join(root, 'scripts', 'start.mjs')], {
    cwd: root,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, PORT: '0', HOST: '127.0.0.1', SWITCHBOARD_DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  try {
    let output = '';
    const url = await new Promise((resolve, reject) => {
      child.stdout.on('data', (chunk) => {
        output += chunk;
        const listening = /listening on (http:\/\/\S+)/.exec(output);
        if (listening) resolve(listening[1]);
      });
      child.once('exit', (code) => reject(new Error(`the gateway exited with ${code} before listening`)));
    });
    await fetch(`${url}/graphql?query=${encodeURIComponent('{ __typename }')}`).then((response) => response.arrayBuffer());
    child.kill('SIGTERM');
    const code = await exited;
    return code === 0 ? null : `the gateway exited with ${code}`;
  } catch (error) {
    child.kill('SIGKILL');
    await exited;
    return error.message;
  } finally {
    clearTimeout(timer);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const reason = process.argv.includes('--if-stale') ? staleReason() : 'asked';
  if (reason) {
    const ms = await buildGateway();
    console.log(`built dist/main.cjs in ${ms} ms (${reason})`);
    const notWarmed = await warmCodeCache();
    if (notWarmed) console.warn(`the code cache was not written (${notWarmed}): the first npm start writes it`);
  }
}
