import { describe, expect, it } from 'vitest';
import { ScriptStores, STORE_LIMITS } from '../src/modules/rocketchat/runtime.js';
import { checkScript, MAX_FETCHES_PER_RUN, plainObject, runScript, ScriptError } from '../src/modules/rocketchat/script-sandbox.js';

const incoming = (body: string) => `class Script { process_incoming_request({ request }) { ${body} } }`;

async function failure(promise: Promise<unknown>): Promise<ScriptError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ScriptError);
    return error as ScriptError;
  }
  throw new Error('expected the script to fail');
}

describe('script sandbox', () => {
  it("runs Rocket.Chat's documented incoming script shape and captures console output", async () => {
    const source = `
      class Script {
        process_incoming_request({ request }) {
          console.log('got', request.content.text);
          return { content: { text: request.content.text.toUpperCase(), attachments: [] } };
        }
      }`;
    await checkScript(source);
    const run = await runScript(source, 'process_incoming_request', { request: { content: { text: 'hello' } } });
    expect(run.implemented).toBe(true);
    expect(run.result).toEqual({ content: { text: 'HELLO', attachments: [] } });
    expect(run.logs).toEqual(['log: got hello']);
    const failed = await runScript(incoming("try { null.x; } catch (e) { console.log('failed', e); } return 1;"), 'process_incoming_request', {});
    expect(failed.logs[0]).toMatch(/^log: failed TypeError: Cannot read properties of null \(reading 'x'\)\n {4}at /);
  });

  it('awaits a returned promise and reports a method the script does not implement', async () => {
    const source = `class Script { async prepare_outgoing_request({ request }) { return { ...request, url: request.url + '?x=1' }; } }`;
    const run = await runScript(source, 'prepare_outgoing_request', { request: { url: 'http://a/b', method: 'POST' } });
    expect(run.result).toEqual({ url: 'http://a/b?x=1', method: 'POST' });
    const missing = await runScript(source, 'process_outgoing_response', {});
    expect(missing.implemented).toBe(false);
    const undef = await runScript(incoming('return undefined;'), 'process_incoming_request', {});
    expect(undef).toMatchObject({ implemented: true, result: undefined });
  });

  it('refuses syntax errors and scripts without class Script, naming the problem', async () => {
    const syntax = await failure(checkScript('class Script { process_incoming_request( { }'));
    expect(syntax.kind).toBe('syntax');
    expect(syntax.message).toMatch(/^SyntaxError: /);
    const noClass = await failure(checkScript('const x = 1;'));
    expect(noClass.kind).toBe('no_script_class');
  });

  it('stops an infinite loop at the time limit', async () => {
    const started = performance.now();
    const error = await failure(runScript(incoming('while (true) {}'), 'process_incoming_request', {}, { timeoutMs: 300 }));
    expect(error.kind).toBe('timeout');
    expect(error.message).toBe('script exceeded the 300 ms time limit');
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it('stops a promise that never settles and a loop at load time', async () => {
    const hang = await failure(runScript(incoming('return new Promise(() => {});'), 'process_incoming_request', {}, { timeoutMs: 300 }));
    expect(hang.kind).toBe('timeout');
    const loadLoop = await failure(checkScript('for (;;) {} class Script {}', { timeoutMs: 300 }));
    expect(loadLoop.kind).toBe('timeout');
  });

  it('stops a 100 MB allocation at the 8 MB memory limit', async () => {
    const error = await failure(
      runScript(incoming('const chunks = []; for (let i = 0; i < 100; i++) chunks.push(new Array(1024 * 1024 / 8).fill(i)); return chunks.length;'), 'process_incoming_request', {}),
    );
    expect(error.kind).toBe('memory');
    expect(error.message).toBe('script exceeded the 8 MB memory limit');
    // One 100 MB buffer at once (array buffers count against the isolate's limit too).
    const big = await failure(runScript(incoming('return new Uint8Array(100 * 1024 * 1024).fill(1).length;'), 'process_incoming_request', {}));
    expect(big.kind === 'memory' || /allocation failed|Array buffer allocation/i.test(big.message)).toBe(true);
  });

  it('gives scripts no process, require, module, timers or network', async () => {
    const probe = incoming(`return {
      process: typeof process, require: typeof require, module: typeof module, fetch: typeof fetch,
      setTimeout: typeof setTimeout, globalProcess: typeof globalThis.process, __log: typeof __log === 'object',
    };`);
    const run = await runScript(probe, 'process_incoming_request', {});
    expect(run.result).toEqual({ process: 'undefined', require: 'undefined', module: 'undefined', fetch: 'undefined', setTimeout: 'undefined', globalProcess: 'undefined', __log: true });
    const thrown = await failure(runScript(incoming("return require('child_process').execSync('id').toString();"), 'process_incoming_request', {}));
    expect(thrown).toMatchObject({ kind: 'exception', message: 'ReferenceError: require is not defined' });
    const proc = await failure(runScript(incoming('return process.env;'), 'process_incoming_request', {}));
    expect(proc.message).toBe('ReferenceError: process is not defined');
  });

  it('contains prototype tricks: constructor escapes, polluted prototypes and hostile results', async () => {
    const escape = await failure(runScript(incoming("return this.constructor.constructor('return process')().env;"), 'process_incoming_request', {}));
    expect(escape.message).toMatch(/process is not defined|Cannot read properties of undefined/);
    const viaFunction = await failure(runScript(incoming("return Function('return process')().mainModule;"), 'process_incoming_request', {}));
    expect(viaFunction.message).toBe('ReferenceError: process is not defined');

    // Polluting the isolate's prototypes changes nothing in the gateway.
    const polluted = await runScript(incoming("Object.prototype.polluted = 'yes'; Array.prototype.push = null; return JSON.parse('{\"__proto__\": {\"admin\": true}}');"), 'process_incoming_request', {});
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
    const picked = plainObject(polluted.result);
    expect(picked && Object.getPrototypeOf(picked)).toBeNull();
    expect(picked?.admin).toBeUndefined();

    // A getter that loops is evaluated inside the sandbox, under its limits.
    const getter = await failure(runScript(incoming('return { get text() { for (;;) {} } };'), 'process_incoming_request', {}, { timeoutMs: 300 }));
    expect(getter.kind).toBe('timeout');
    // Replacing JSON.stringify cannot smuggle anything but a string out.
    const json = await failure(runScript(incoming("JSON.stringify = () => 'not json'; return 1;"), 'process_incoming_request', {}));
    expect(json.kind).toBe('bad_result');
    const thrownObject = await failure(runScript(incoming("throw { toString() { return 'sneaky'; } };"), 'process_incoming_request', {}));
    expect(thrownObject.kind).toBe('exception');
  });

  it('refuses to run scripts when Node was started without --no-node-snapshot', async () => {
    const saved = { options: process.env.NODE_OPTIONS, argv: [...process.execArgv] };
    process.env.NODE_OPTIONS = '';
    process.execArgv.splice(0, process.execArgv.length, ...saved.argv.filter((a) => a !== '--no-node-snapshot'));
    try {
      const error = await failure(runScript(incoming('return 1;'), 'process_incoming_request', {}));
      expect(error).toMatchObject({ kind: 'unavailable', message: 'integration scripts are disabled: the gateway must run with node --no-node-snapshot' });
    } finally {
      if (saved.options === undefined) delete process.env.NODE_OPTIONS;
      else process.env.NODE_OPTIONS = saved.options;
      process.execArgv.splice(0, process.execArgv.length, ...saved.argv);
    }
    expect((await runScript(incoming('return 1;'), 'process_incoming_request', {})).result).toBe(1);
  });

  it('reports a thrown error with its message', async () => {
    const error = await failure(runScript(incoming("throw new TypeError('bad input');"), 'process_incoming_request', {}));
    expect(error).toMatchObject({ kind: 'exception', message: 'TypeError: bad input' });
  });
});

describe("Rocket.Chat's script globals", () => {
  it('offers s with Rocket.Chat\'s helpers and the Underscore.string ones older scripts call', async () => {
    const run = await runScript(
      incoming(`return [
        s.trim('  a  '), s.trim('--a--', '-'), s.capitalize('hELLO', true), s.escapeHTML('<a href="x">&</a>'), s.unescapeHTML('&lt;b&gt; &amp; &#39;&#x41;'),
        s.stripTags('<p>Hi <b>there</b></p>'), s.truncate('Hello world', 8), s.truncate('Hello world', 5, '…'), s.startsWith('abc', 'ab'), s.endsWith('abc', 'bc'),
        s.include('abc', 'b'), s.isBlank(' \\n '), s.lines('a\\nb\\r\\nc'), s.clean('  a   b  '), s.numberFormat(1234567.891, 2), s.lpad('7', 3, '0'),
        s.strRight('refs/heads/main', 'refs/heads/'), s.strLeft('https://x/rest/api/2', '/rest'), s.titleize('merge request'), s.count('a-b-c', '-'),
      ];`),
      'process_incoming_request',
      {},
    );
    expect(run.result).toEqual([
      'a', 'a', 'Hello', '&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;', "<b> & 'A", 'Hi there', 'Hello...', 'Hello…', true, true,
      true, true, ['a', 'b', 'c'], 'a b', '1,234,567.89', '007', 'main', 'https://x', 'Merge Request', 2,
    ]);
  });

  it('keeps Store values for the run without a host, and through the host store when given one', async () => {
    const script = incoming("Store.set('n', (Store.get('n') || 0) + 1); Store.set('obj', { a: [1] }); return [Store.get('n'), Store.get('obj'), Store.get('missing')];");
    expect((await runScript(script, 'process_incoming_request', {})).result).toEqual([1, { a: [1] }, null]);
    const stores = new ScriptStores();
    const host = { store: stores.for('integration-a') };
    await runScript(script, 'process_incoming_request', {}, {}, host);
    expect((await runScript(script, 'process_incoming_request', {}, {}, host)).result).toEqual([2, { a: [1] }, null]);
    // Another integration has its own; forgetting one empties it.
    expect((await runScript(script, 'process_incoming_request', {}, {}, { store: stores.for('integration-b') })).result).toEqual([1, { a: [1] }, null]);
    stores.forget('integration-a');
    expect((await runScript(script, 'process_incoming_request', {}, {}, host)).result).toEqual([1, { a: [1] }, null]);
    // Bounded: a value over the limit is refused inside the script, which may catch it.
    const big = await runScript(incoming(`try { Store.set('big', 'x'.repeat(${STORE_LIMITS.valueBytes + 1})); } catch (e) { return e.message; }`), 'process_incoming_request', {}, {}, host);
    expect(big.result).toBe(`a Store value is at most ${STORE_LIMITS.valueBytes} bytes as JSON`);
  });

  it('bridges fetch to the host, at most a bounded number of calls per run', async () => {
    const requests: unknown[] = [];
    const host = {
      fetch: async (request: { url: string }) => {
        requests.push(request);
        return { status: 200, statusText: 'OK', url: request.url, redirected: false, headers: [['content-type', 'text/plain']] as [string, string][], body: 'pong' };
      },
    };
    const run = await runScript(
      incoming(`return (async () => {
        const r = await serverFetch('http://api.test/ping', { method: 'put', headers: { 'x-a': '1' }, body: 'hi' });
        const out = [r.status, r.ok, r.headers.get('Content-Type'), await r.text(), typeof fetch];
        try { await r.text(); } catch (e) { out.push(e.message); }
        for (let i = 0; i < 20; i++) { try { await fetch('http://api.test/' + i); } catch (e) { out.push(e.message); break; } }
        return out;
      })();`),
      'process_incoming_request',
      {},
      {},
      host,
    );
    expect(run.result).toEqual([200, true, 'text/plain', 'pong', 'function', 'Body has already been consumed.', `a script run may make at most ${MAX_FETCHES_PER_RUN} HTTP calls`]);
    expect(requests[0]).toEqual({ url: 'http://api.test/ping', method: 'PUT', headers: [['x-a', '1']], body: 'hi' });
    expect(requests).toHaveLength(MAX_FETCHES_PER_RUN);
  });
});
