/**
 * Builds the gateway for `npm start`: src/main.ts and the packages it imports, bundled by esbuild into one
 * ES module, dist/main.js (gitignored). Plain JavaScript, so that starting needs no TypeScript loader.
 *
 * Why a bundle: run from source, start-up was spent almost wholly on loading ~2,000 files (resolving,
 * reading, lexing CommonJS for named exports, compiling) through a run-time TypeScript transform; one file
 * does away with the resolution and file system work, and V8 compiles functions lazily as they run.
 *
 * `npm install` / `npm ci` build it (the `prepare` script), and `scripts/start.mjs` rebuilds it when a file
 * it was built from (listed in dist/inputs.json) or the installed packages changed since, so an edit to src/
 * never runs stale code.
 *
 * `node scripts/build.mjs` builds; `node scripts/build.mjs --if-stale` builds only when stale.
 */
import { build } from 'esbuild';
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'dist');
export const entry = path.join(out, 'main.js');
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

// CommonJS code inside an ES module bundle still calls require() for Node's built-ins and the externals.
const banner = [
  "import { createRequire as __bundleRequire } from 'node:module';",
  'const require = __bundleRequire(import.meta.url);',
].join('\n');

/** Build dist/main.js and record what it was built from. */
export async function buildGateway() {
  const started = Date.now();
  const result = await build({
    entryPoints: [path.join(root, 'src', 'main.ts')],
    outfile: entry,
    write: false,
    bundle: true,
    platform: 'node',
    format: 'esm',
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
  // Each file is written beside its name and renamed into place, the record of inputs last: a gateway
  // starting while another process builds reads either the old build or the new one, never half a file.
  const writeWhole = (file, contents) => {
    const temporary = `${file}.${process.pid}.tmp`;
    writeFileSync(temporary, contents);
    renameSync(temporary, file);
  };
  for (const file of result.outputFiles) writeWhole(file.path, file.contents);
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

/** Why dist/main.js must be rebuilt, or null when it is current. */
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

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const reason = process.argv.includes('--if-stale') ? staleReason() : 'asked';
  if (reason) {
    const ms = await buildGateway();
    console.log(`built dist/main.js in ${ms} ms (${reason})`);
  }
}
