// quickjs-emscripten, asyncify build: tools are host async functions that the
// guest calls synchronously (newAsyncifiedFunction); the whole WASM module
// unwinds its stack while the host promise is pending.
//
// Asyncify allows one suspended call per WASM module, so this adapter keeps a
// pool of modules and gives each in-flight script a module of its own (reused
// once idle); every script still gets a fresh runtime + context. That is how
// concurrency has to be done with this build, and W5/W7 pay for it.
import { newQuickJSAsyncWASMModule, shouldInterruptAfterDeadline } from 'quickjs-emscripten';
import { wrapScript, toJson } from './guest.mjs';
import { guestError } from './quickjs-sync.mjs';

export const name = 'quickjs-emscripten (asyncify)';

const MEMORY_LIMIT = 96 * 1024 * 1024;

export const notes = {
  W4: 'the asyncify build runs plain code ~4x slower than the sync build (interrupt handler or not)',
  W2: 'an asyncified call suspends the whole module, so the 10 sleeps run one after another',
  W5: 'one WASM module per suspended script (asyncify allows one suspension per module)',
  W7: 'one WASM module per in-flight script (8), reused',
};

export async function open(tools) {
  const names = Object.keys(tools);
  const idle = [await newQuickJSAsyncWASMModule()];

  async function run(body, { timeoutMs }) {
    const module = idle.pop() ?? (await newQuickJSAsyncWASMModule());
    const rt = newRuntime(module);
    rt.setMemoryLimit(MEMORY_LIMIT);
    rt.setInterruptHandler(shouldInterruptAfterDeadline(Date.now() + timeoutMs));
    const ctx = rt.newContext();
    try {
      const call = ctx.newAsyncifiedFunction('__call', async (nameH, argsH) => {
        const v = await tools[ctx.getString(nameH)](JSON.parse(ctx.getString(argsH)));
        return ctx.newString(toJson(v));
      });
      ctx.setProp(ctx.global, '__call', call);
      call.dispose();

      // `await` on the (synchronous) tool result still resumes in a promise
      // job, and jobs can call tools too, so they must be run with the async
      // job runner below, not rt.executePendingJobs().
      const evaluated = await ctx.evalCodeAsync(wrapScript(body, names, (n, a) => `__call(${n}, ${a})`));
      if (evaluated.error) throw guestError(ctx, evaluated.error);
      const promise = evaluated.value;
      try {
        // getPromiseState hands out a new value handle once settled, so it is
        // read once per turn and that handle is always consumed below.
        let state;
        while ((state = ctx.getPromiseState(promise)).type === 'pending') {
          if (!rt.hasPendingJob()) throw new Error('script promise pending with no job left');
          await executePendingJobsAsync(rt, ctx);
        }
        if (state.type === 'rejected') throw guestError(ctx, state.error);
        return state.value.consume((h) => ctx.dump(h));
      } finally {
        promise.dispose();
      }
    } finally {
      ctx.dispose();
      rt.dispose();
      idle.push(module);
    }
  }

  return { run, close: async () => { idle.length = 0; } };
}

// quickjs-emscripten 0.32's async module frees a runtime in the wrong order
// (it forgets the runtime's callbacks before QTS_FreeRuntime, which then
// calls back to release host functions and throws "QuickJSRuntime not found").
// The sync module does it the other way round; we give the async runtime the
// sync module's order.
function newRuntime(module) {
  const runtime = module.newRuntime();
  const { ffi, callbacks } = runtime;
  runtime.rt.disposer = (ptr) => {
    ffi.QTS_FreeRuntime(ptr);
    callbacks.deleteRuntime(ptr);
  };
  return runtime;
}

// quickjs-emscripten 0.32's QuickJSRuntime.executePendingJobs() calls the raw
// WASM export, which cannot suspend: a tool called from a promise job returns
// garbage and the script hangs. The same C function called through
// cwrap({ async: true }) returns a promise when the module suspends. This
// mirrors executePendingJobs() otherwise (same FFI, same result encoding).
const asyncExecutors = new WeakMap();
async function executePendingJobsAsync(rt, ctx) {
  let exec = asyncExecutors.get(rt.module);
  if (!exec) {
    exec = rt.module.cwrap('QTS_ExecutePendingJob', 'number', ['number', 'number', 'number'], { async: true });
    asyncExecutors.set(rt.module, exec);
  }
  const ctxOut = rt.memory.newMutablePointerArray(1);
  try {
    const valuePtr = await exec(rt.rt.value, -1, ctxOut.value.ptr);
    const jobCtx = ctxOut.value.typedArray[0];
    if (jobCtx === 0) {
      rt.ffi.QTS_FreeValuePointerRuntime(rt.rt.value, valuePtr);
      return;
    }
    const result = ctx.getMemory(rt.rt.value).heapValueHandle(valuePtr);
    if (ctx.typeof(result) === 'number') result.dispose();
    else throw guestError(ctx, result); // a job threw, e.g. the interrupt fired
  } finally {
    ctxOut.dispose();
  }
}
