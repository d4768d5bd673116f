// @codex-port/script-harness (ours): hardened QuickJS realms on sandbox
// threads, reused script after script (isolation: pooled, the default),
// tools run on the Node main thread.
// Loaded from the napi-generated CommonJS loader at the repository root.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export const name = 'script-harness';

export const notes = {
  W2: 'maxConcurrentToolCalls raised from its default 4 to 16 so the ten sleeps can overlap',
  W3: 'maxToolCalls raised from its default 32 to 1000',
};

/** Throws with a readable reason when the addon has not been built. */
function load() {
  try {
    return require('../../index.js').ScriptHarness;
  } catch (e) {
    throw new Error(`cannot load ../index.js (build it with \`npm run build\`): ${e.message.split('\n')[0]}`);
  }
}

export async function open(tools) {
  const ScriptHarness = load();
  const harness = new ScriptHarness({
    tools: Object.entries(tools).map(([toolName, handler]) => ({ name: toolName, handler: (args) => handler(args) })),
    // The defaults are tuned for model-written scripts; the workloads need
    // more calls per script and more of them in flight than that.
    limits: { maxToolCalls: 1000, maxConcurrentToolCalls: 16 },
  });

  async function run(body, { timeoutMs }) {
    const result = await harness.run(body, { limits: { timeoutMs } });
    if (!result.ok) throw new Error(`${result.error?.code}: ${result.error?.message}`);
    return result.value;
  }

  return { run, close: () => harness.close() };
}
