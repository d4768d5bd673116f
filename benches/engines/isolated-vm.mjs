// isolated-vm 5.0.4: a V8 isolate per script (96 MB heap cap), run through the
// async API so guest code executes on isolated-vm's own threads, not on the
// Node main thread. (7.x needs Node 24; 5.0.4 is the newest for Node 20.)
//
// Tools are one ivm.Reference to a host async function; the guest calls it with
// apply(..., { result: { promise: true } }), which gives the guest a promise
// for the host promise. ivm.Callback({ async: true }) would be lighter but
// cannot wait for a host promise (it tries to copy the Promise and throws).
import { createRequire } from 'node:module';
import { wrapScript, toJson } from './guest.mjs';

const require = createRequire(import.meta.url);
const ivm = require('isolated-vm');

export const name = 'isolated-vm 5.0.4';

const MEMORY_LIMIT_MB = 96;

export async function open(tools) {
  const names = Object.keys(tools);
  const bridge = async (toolName, argsJson) => toJson(await tools[toolName](JSON.parse(argsJson)));

  async function run(body, { timeoutMs }) {
    const isolate = new ivm.Isolate({ memoryLimit: MEMORY_LIMIT_MB });
    // `timeout` below only bounds the synchronous part of the script; a loop
    // after an await would spin forever on an ivm thread. Disposing the
    // isolate is the only way to stop that, so a wall-clock watchdog does it.
    const watchdog = setTimeout(() => isolate.dispose(), timeoutMs);
    try {
      const context = await isolate.createContext();
      const ref = new ivm.Reference(bridge);
      // evalClosure hands the Reference in as $0 and runs the script in the
      // same round trip; `timeout` bounds the synchronous part of the run.
      const code = `const __tool = $0;\nreturn ${wrapScript(body, names,
        (n, a) => `__tool.apply(undefined, [${n}, ${a}], { result: { promise: true } })`)};`;
      return await context.evalClosure(code, [ref], {
        timeout: timeoutMs,
        result: { promise: true, copy: true },
      });
    } finally {
      clearTimeout(watchdog);
      if (!isolate.isDisposed) isolate.dispose();
    }
  }

  return { run, close: async () => {} };
}
