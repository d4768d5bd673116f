// Shared guest-side glue for the peers whose tool bridge is written by hand
// (quickjs-emscripten, isolated-vm).
//
// Every peer runs the same shape of script as ScriptHarness: a function body
// with top-level `await` and `return`, and a frozen `tools` object whose
// methods take one JSON-able argument. Values cross the boundary as JSON text
// both ways, so the peers pay for marshalling as the harness does, and no
// host object ever becomes reachable from the guest.

/**
 * Wraps a script body into an expression that evaluates to the script's promise.
 *
 * @param {string} body     the script (a function body that may use await/return)
 * @param {string[]} names  tool names to expose as `tools.<name>`
 * @param {(nameLiteral: string, jsonExpr: string) => string} callExpr
 *   builds the guest expression that calls a tool with JSON text and yields the
 *   result's JSON text, or a promise of it
 */
export function wrapScript(body, names, callExpr) {
  const entries = names.map((name) => {
    const call = callExpr(JSON.stringify(name), 'JSON.stringify(args === undefined ? null : args)');
    return `${JSON.stringify(name)}: async (args) => JSON.parse(await ${call})`;
  });
  // The prelude sits inside the async IIFE so each script gets its own
  // non-global `tools`, and a `return` in the body ends the script.
  return `(async () => {
const tools = Object.freeze({ ${entries.join(', ')} });
${body}
})()`;
}

/** JSON text of a host tool result; undefined travels as null. */
export const toJson = (value) => JSON.stringify(value === undefined ? null : value);
