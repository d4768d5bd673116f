// node:vm, as a reference point only: it is NOT a security boundary (the guest
// can reach the host through the injected functions' constructors). A new
// context per script, tools injected as host async functions, no marshalling.
//
// The `timeout` option only covers the synchronous part of runInContext; code
// that runs after an await cannot be interrupted at all.
import vm from 'node:vm';

export const name = 'node:vm (not a sandbox)';

export async function open(tools) {
  async function run(body, { timeoutMs }) {
    const context = vm.createContext({ tools: Object.freeze({ ...tools }) });
    const script = new vm.Script(`(async () => {\n${body}\n})()`);
    return await script.runInContext(context, { timeout: timeoutMs });
  }
  return { run, close: async () => {} };
}
