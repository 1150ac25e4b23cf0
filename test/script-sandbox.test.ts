import { describe, expect, it } from 'vitest';
import { checkScript, plainObject, runScript, ScriptError } from '../src/modules/rocketchat/script-sandbox.js';

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
