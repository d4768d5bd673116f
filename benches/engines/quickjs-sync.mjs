// quickjs-emscripten, sync build: QuickJS compiled to WebAssembly, running on
// the Node main thread. One WASM module is shared; every script gets a fresh
// runtime + context, as the library documents for isolation between scripts.
//
// Async tools are bridged with deferred promises: the guest gets a QuickJS
// promise, and when the host promise settles we settle the guest one and pump
// the runtime's job queue so the script resumes.
import { newQuickJSWASMModule, shouldInterruptAfterDeadline } from 'quickjs-emscripten';
import { wrapScript, toJson } from './guest.mjs';

export const name = 'quickjs-emscripten (sync)';

// Same heap cap as the isolated-vm peer (96 MB) so neither gets an unfair GC budget.
const MEMORY_LIMIT = 96 * 1024 * 1024;

export async function open(tools) {
  const QuickJS = await newQuickJSWASMModule();
  const names = Object.keys(tools);

  async function run(body, { timeoutMs }) {
    const rt = QuickJS.newRuntime();
    rt.setMemoryLimit(MEMORY_LIMIT);
    // The interrupt handler is how QuickJS stops runaway code; it only fires
    // while guest code runs, so time spent waiting on tools is not counted.
    rt.setInterruptHandler(shouldInterruptAfterDeadline(Date.now() + timeoutMs));
    const ctx = rt.newContext();
    const outstanding = new Set(); // deferreds of tool calls still in flight

    // A job that throws (e.g. the interrupt firing after an await) would leave
    // the script's promise pending forever, so it fails the run instead.
    let failRun;
    const jobFailure = new Promise((_, reject) => { failRun = reject; });
    const pump = () => {
      const res = rt.executePendingJobs();
      if (res.error) failRun(guestError(ctx, res.error));
    };

    try {
      const call = ctx.newFunction('__call', (nameH, argsH) => {
        const tool = tools[ctx.getString(nameH)];
        const args = JSON.parse(ctx.getString(argsH));
        const deferred = ctx.newPromise();
        outstanding.add(deferred);
        let pending;
        try {
          pending = Promise.resolve(tool(args));
        } catch (e) {
          pending = Promise.reject(e);
        }
        pending
          .then(
            (v) => { if (ctx.alive) ctx.newString(toJson(v)).consume((h) => deferred.resolve(h)); },
            (e) => { if (ctx.alive) ctx.newError(String(e?.message ?? e)).consume((h) => deferred.reject(h)); },
          )
          .finally(() => {
            outstanding.delete(deferred);
            if (ctx.alive) pump();
          });
        return deferred.handle;
      });
      ctx.setProp(ctx.global, '__call', call);
      call.dispose();

      const evaluated = ctx.evalCode(wrapScript(body, names, (n, a) => `__call(${n}, ${a})`));
      if (evaluated.error) throw guestError(ctx, evaluated.error);
      const settled = evaluated.value.consume((p) => ctx.resolvePromise(p));
      pump(); // runs the .then() that resolvePromise attached, for scripts that never awaited
      const result = await Promise.race([settled, jobFailure]);
      if (result.error) throw guestError(ctx, result.error);
      return result.value.consume((h) => ctx.dump(h));
    } finally {
      for (const d of outstanding) d.dispose();
      ctx.dispose();
      rt.dispose();
    }
  }

  return { run, close: async () => {} };
}

/** Converts (and frees) a guest error handle into a host Error. */
export function guestError(ctx, handle) {
  const e = handle.consume((h) => ctx.dump(h));
  const message = typeof e === 'object' && e !== null ? `${e.name ?? 'Error'}: ${e.message}` : String(e);
  return new Error(message);
}
