/**
 * `npm start`: runs the gateway from its build (dist/main.cjs, see scripts/build.mjs), rebuilding it first
 * when a source file or the installed packages changed since it was built. Plain JavaScript, so that no
 * TypeScript loader sits in front of the gateway's imports.
 *
 * The bundle is compiled with V8's code cache: dist/main.<hash>.cache holds the bytecode of the functions an
 * earlier run of the same bundle compiled (the hash is the bundle's content, so a cache can never run with
 * another build). Without it, compiling took about a third of start-up. A run that found no usable cache
 * writes one as it exits; `npm install` writes the first one (scripts/build.mjs starts the new build once).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import vm from 'node:vm';
import { buildGateway, codeCacheOf, entry, staleReason, writeWhole } from './build.mjs';

const reason = staleReason();
if (reason) {
  const ms = await buildGateway();
  console.log(`built dist/main.cjs in ${ms} ms (${reason})`);
}

const source = readFileSync(entry, 'utf8');
const cacheFile = codeCacheOf(source);
let cachedData;
try {
  cachedData = readFileSync(cacheFile);
} catch {
  // none yet: this run writes it
}
// CommonJS's own wrapper, on the bundle's first line so that stack traces keep its line numbers.
const wrapped = `(function (exports, require, module, __filename, __dirname) { ${source}\n})`;
const script = new vm.Script(wrapped, { filename: entry, cachedData });
if (!cachedData || script.cachedDataRejected) {
  process.once('exit', () => {
    try {
      writeWhole(cacheFile, script.createCachedData());
    } catch {
      // a read-only install starts as fast as it did without a cache
    }
  });
}
const module = { exports: {} };
script.runInThisContext().call(module.exports, module.exports, createRequire(entry), module, entry, path.dirname(entry));
