// Red team, class 1: escapes and host access. A script must reach nothing
// but `tools`, `context`, `console` and the frozen ECMAScript built-ins:
// no code from strings, no modules, no host objects, no way to change
// what a later script or the host sees. Names start with their id in
// shared/design/TESTS.md where one applies.
import { afterAll, describe, expect, it } from 'vitest'
import { ScriptHarness } from '../../index.js'
import { HOST_PATH, expectError, harness, newRecorder, probeMessages, probes } from './probe'

const rec = newRecorder()
const h = harness({}, rec)
afterAll(() => h.close())

const TAMED = /^TypeError: (Function|AsyncFunction|GeneratorFunction|AsyncGeneratorFunction|eval) is not allowed in scripts$/

describe('code from strings', () => {
  it('S1 writing to Object.prototype or any intrinsic fails and nothing leaks to a later script', async () => {
    const out = await probes(h, `
      probe('objectProto', () => { Object.prototype.polluted = 1 })
      probe('arrayProto', () => { Array.prototype.push = () => 0 })
      probe('defineOnProto', () => Object.defineProperty(Object.prototype, 'x', { value: 1 }))
      probe('setProto', () => Object.setPrototypeOf(Array.prototype, null))
      probe('method', () => { Array.prototype.push.extra = 1 })
      probe('json', () => { JSON.parse = () => 1 })`)
    expect(out).toEqual({ objectProto: 'TypeError', arrayProto: 'TypeError', defineOnProto: 'TypeError', setProto: 'TypeError', method: 'TypeError', json: 'TypeError' })
    const later = await h.run('return [({}).polluted, typeof Object.prototype.x, [1].push(2)]')
    expect(later.value).toEqual([null, 'undefined', 2])
  })

  it('S9 eval throws inside the script', async () => {
    const out = await probes(h, `
      probe('direct', () => eval('1 + 1'))
      probe('indirect', () => (0, eval)('1 + 1'))
      probe('global', () => globalThis.eval('1'))`)
    expect(out).toEqual({ direct: 'TypeError', indirect: 'TypeError', global: 'TypeError' })
  })

  it('S9 eval is refused however it is reached: computed names, tagged templates, Reflect, call', async () => {
    const out = await probeMessages(h, `
      probe('computed', () => globalThis['ev' + 'al']('1'))
      probe('tagged', () => eval\`1\`)
      probe('reflect', () => Reflect.apply(eval, undefined, ['1']))
      probe('call', () => eval.call(null, '1'))
      probe('descriptor', () => Object.getOwnPropertyDescriptor(globalThis, 'eval').value('1'))`)
    for (const [k, v] of Object.entries(out)) expect(v, k).toBe('TypeError: eval is not allowed in scripts')
  })

  it('S10 every function constructor throws, reached by name or through prototypes', async () => {
    const out = await probes(h, `
      probe('Function', () => new Function('return this')())
      probe('FunctionCall', () => Function('return this')())
      probe('ctor', () => (() => 1).constructor('return this')())
      probe('async', () => (async () => 1).constructor('return 1'))
      probe('generator', () => (function* () {}).constructor('yield 1'))
      probe('asyncGenerator', () => (async function* () {}).constructor('yield 1'))
      probe('viaProto', () => Object.getPrototypeOf(async function () {}).constructor('return 1'))
      probe('toolFn', () => tools.exec.constructor('return this')())
      probe('errorCtor', () => { try { null.x } catch (e) { return e.constructor.constructor('return this')() } })`)
    expect(Object.values(out).every((v) => v === 'TypeError')).toBe(true)
  })

  // test262's harness/hidden-constructors.js reaches AsyncFunction,
  // GeneratorFunction and AsyncGeneratorFunction this way; SES's
  // tame-function-constructors does the same for a locked-down realm.
  it('S10 the constructor of every kind of function throws: arrows, methods, getters, classes, bound, async, generators', async () => {
    const out = await probeMessages(h, `
      probe('arrow', () => (() => 1).constructor('return 1'))
      probe('method', () => ({ m() {} }).m.constructor('return 1'))
      probe('getter', () => Object.getOwnPropertyDescriptor({ get x() { return 1 } }, 'x').get.constructor('return 1'))
      probe('setter', () => Object.getOwnPropertyDescriptor({ set x(v) {} }, 'x').set.constructor('return 1'))
      probe('class', () => (class {}).constructor('return 1'))
      probe('bound', () => (function () {}).bind(null).constructor('return 1'))
      probe('boundFunction', () => Function.bind(null, 'return this')())
      probe('asyncArrow', () => (async () => {}).constructor('return 1'))
      probe('asyncMethod', () => ({ async m() {} }).m.constructor('return 1'))
      probe('generatorObject', () => (function* () {})().constructor.constructor('yield 1'))
      probe('generatorProto', () => Object.getPrototypeOf(function* () {}).constructor('yield 1'))
      probe('generatorProtoProto', () => Object.getPrototypeOf(Object.getPrototypeOf((function* () {})())).constructor.constructor('yield 1'))
      probe('asyncGeneratorProto', () => Object.getPrototypeOf(async function* () {}).prototype.constructor.constructor('yield 1'))
      probe('asyncGeneratorMethod', () => ({ async *m() {} }).m.constructor('yield 1'))
      probe('nativeFn', () => [].map.constructor('return 1'))
      probe('protoChain', () => [].__proto__.map.__proto__.constructor('return 1'))`)
    for (const [k, v] of Object.entries(out)) expect(v, k).toMatch(TAMED)
  })

  it('S10 indirect routes to Function throw: Reflect.construct/apply, call.call, tagged templates, coercion hooks, species, revivers, Proxy traps', async () => {
    const out = await probeMessages(h, `
      probe('reflectConstruct', () => Reflect.construct(Function, ['return this'])())
      probe('reflectConstructAsync', () => Reflect.construct(Object.getPrototypeOf(async function () {}).constructor, ['return 1']))
      probe('reflectApply', () => Reflect.apply(Function, null, ['return this'])())
      probe('callCall', () => Function.prototype.call.call(Function, null, 'return this')())
      probe('applyApply', () => Function.prototype.apply.apply(Function, [null, ['return this']])())
      probe('tagged', () => Function\`return 1\`)
      probe('toStringHook', () => Function({ toString() { return 'return 1' } }))
      probe('valueOfHook', () => new Function({ valueOf() { return 'return 1' }, toString: undefined }))
      probe('arraySpecies', () => { class X extends Array { static get [Symbol.species]() { return Function } }; return new X(1).map((x) => x) })
      probe('reviver', () => JSON.parse('{"a":1}', function (k, v) { return this.constructor.constructor('return 1') }))
      probe('proxyGetTrap', () => new Proxy({}, { get: (t, k) => (k === 'f' ? Object.getPrototypeOf(() => 1).constructor : undefined) }).f('return 1'))
      probe('proxyApplyTrap', () => new Proxy(function () {}, { apply: (t, self, args) => t.constructor(...args) })('return 1'))
      probe('descriptorValue', () => Object.getOwnPropertyDescriptor(Function.prototype, 'constructor').value('return 1'))
      probe('lookupGetter', () => ({}).__lookupGetter__('__proto__').constructor('return this')())
      probe('protoGetter', () => Object.getOwnPropertyDescriptor(Object.prototype, '__proto__').get.constructor('return this')())
      probe('suppressedError', () => new SuppressedError(new Error('a'), new Error('b')).constructor.constructor('return this'))
      probe('bind', () => Function.prototype.bind.call(Function, null, 'return this')()())`)
    for (const [k, v] of Object.entries(out)) expect(v, k).toMatch(TAMED)
  })

  it('S10 constructors of what the harness and the engine hand out throw: tools, console, context, errors, iterators', async () => {
    const r = await h.run(`
      const out = {}
      const probe = async (k, get) => { try { (await get()).constructor('return this')(); out[k] = 'allowed' } catch (e) { out[k] = e.name + ': ' + e.message } }
      await probe('toolFn', () => tools.echo.constructor)
      await probe('unknownToolFn', () => tools.nope.constructor)
      await probe('namespace', () => tools.mcp.github.searchIssues.constructor)
      await probe('console', () => console.log.constructor)
      await probe('emitProgress', () => context.emitProgress.constructor)
      await probe('toolPromise', () => tools.echo({}).constructor.constructor)
      await probe('toolResult', async () => (await tools.echo({ a: {} })).a.constructor.constructor)
      await probe('toolError', async () => { try { await tools.fail({}) } catch (e) { return e.constructor.constructor } })
      await probe('notFound', async () => { try { await tools.nope({}) } catch (e) { return e.constructor.constructor } })
      await probe('engineError', () => { try { null.x } catch (e) { return e.constructor.constructor } })
      await probe('regexp', () => /a/.constructor.constructor)
      await probe('mapIterator', () => new Map().entries().constructor.constructor)
      await probe('iterator', () => Iterator.prototype.constructor.constructor)
      await probe('promise', () => Promise.constructor)
      await probe('symbol', () => Symbol.constructor)
      return out`)
    expect(r.error).toBeUndefined()
    for (const [k, v] of Object.entries(r.value as Record<string, string>)) expect(v, k).toMatch(TAMED)
  })

  it('S10 no caller/callee walking: arguments.callee, fn.caller and Function.prototype.caller throw', async () => {
    const out = await probes(h, `
      probe('callee', function () { return arguments.callee })
      probe('caller', () => (function f() { return f.caller })())
      probe('arguments', () => (function f() { return f.arguments })())
      probe('protoCaller', () => Function.prototype.caller)
      probe('protoArguments', () => Function.prototype.arguments)
      probe('thrower', () => Object.getOwnPropertyDescriptor(Function.prototype, 'caller').get.constructor('return 1'))`)
    expect(out).toEqual({ callee: 'TypeError', caller: 'TypeError', arguments: 'TypeError', protoCaller: 'TypeError', protoArguments: 'TypeError', thrower: 'TypeError' })
  })

  // vm2 CVE-2022-36067 ("Sandbreak") and CVE-2023-29017 / GHSA-7jxr-cg7f-gpgv
  // reached host objects through Error.prepareStackTrace's CallSites.
  it('Error.prepareStackTrace is pinned and the stack API gives strings of script frames only (vm2 CVE-2022-36067, CVE-2023-29017)', async () => {
    const r = await h.run(`
      const out = {}
      try { Error.prepareStackTrace = (e, frames) => frames; out.assign = 'allowed' } catch (e) { out.assign = e.name }
      try { Object.defineProperty(Error, 'prepareStackTrace', { get() { return 1 } }); out.define = 'allowed' } catch (e) { out.define = e.name }
      out.type = typeof Error.prepareStackTrace
      out.descriptor = Object.getOwnPropertyDescriptor(Error, 'prepareStackTrace')
      const o = {}
      Error.captureStackTrace(o)
      out.capturedType = typeof o.stack
      out.captured = o.stack
      const e = new Error('x')
      out.errorStack = e.stack
      return out`)
    expect(r.value).toMatchObject({
      assign: 'TypeError',
      define: 'TypeError',
      type: 'undefined',
      descriptor: { writable: false, configurable: false },
      capturedType: 'string',
    })
    const v = r.value as Record<string, string>
    expect(v.captured).toMatch(/script:\d+:\d+/)
    expect(v.captured).not.toMatch(HOST_PATH)
    expect(v.errorStack).not.toMatch(HOST_PATH)
  })

  /** A harness whose one tool, `rm`, asks for approval; `lines` collects each request's line. */
  const approverSeeingLines = () => {
    const lines: Array<number | undefined> = []
    const ha = new ScriptHarness({
      workers: 1,
      tools: [{ name: 'rm', requiresApproval: true, handler: () => 'done' }],
      onApproval: (req) => { lines.push(req.line); return true },
    })
    return { ha, lines }
  }

  it('Error.stackTraceLimit = 0 cannot hide the lines of a script from the approver or from the result', async () => {
    // The harness reads the call's line from a stack it makes in the script's
    // realm; with the limit at 0 the approval request and uncaught errors lose it.
    const { ha, lines } = approverSeeingLines()
    // (Error is frozen, yet QuickJS-ng keeps stackTraceLimit as writable
    // engine state.) Either refusing the write or not depending on it will do.
    await ha.run('try { Error.stackTraceLimit = 0 } catch {}\n\nawait tools.rm({})')
    const thrown = await ha.run('try { Error.stackTraceLimit = 0 } catch {}\nnull.x')
    await ha.close()
    expect({ approvalLine: lines[0], errorLine: thrown.error?.line }).toEqual({ approvalLine: 3, errorLine: 2 })
  })

  it('a function named like a stack frame cannot tell the approver or the result a false line', async () => {
    // A name is the script's to choose; written as it is into a stack, a line
    // break in it made a frame of the script's own ("at y (script:1:1)") that
    // the harness read as the call's line (QuickJS patch 0011). The call is on
    // line 1; each name claims line 9.
    const { ha, lines } = approverSeeingLines()
    const named = (body: string, name: string) =>
      `const f = async () => { ${body} }\nObject.defineProperty(f, 'name', { value: ${JSON.stringify(name)} })\n\n\nreturn await f()`
    const fakes = ['x\n    at y (script:9:1)', 'x (script:9:1)', 'x\r    at script:9:1', 'x\n    at y (script:9:1)\n    at z']
    for (const fake of fakes) await ha.run(named('await tools.rm({})', fake))
    const thrown = await ha.run(named('null.x', fakes[0]))
    const stack = await ha.run(named('return new Error().stack', fakes[0]))
    await ha.close()
    expect({ approvalLines: lines, errorLine: thrown.error?.line }).toEqual({
      approvalLines: [1, 1, 1, 1],
      errorLine: 1,
    })
    expect((stack.value as string).split('\n')[0]).toMatch(/^    at x\\n    at y \(script:9:1\) \(script:\d+:\d+\)$/)
  })

  it('a function named with a lone surrogate on the stack does not break a tool call', async () => {
    // The call site crosses to the engine as text: it must be well-formed.
    const ha = new ScriptHarness({ workers: 1, tools: [{ name: 'echo', handler: (a) => a }] })
    const r = await ha.run(`const f = async () => await tools.echo({ v: 1 })
Object.defineProperty(f, 'name', { value: '\\uD800' })
return await f()`)
    await ha.close()
    expect(r).toMatchObject({ ok: true, value: { v: 1 } })
  })

  // vm2 GHSA-ch3r-j5x3-6q2m (CVE-2023-30547): a thrown Proxy whose
  // getPrototypeOf trap overflows the stack made vm2's handleException throw
  // a host RangeError into the sandbox.
  it('a thrown Proxy whose trap overflows the stack yields only sandbox values (vm2 GHSA-ch3r-j5x3-6q2m / CVE-2023-30547)', async () => {
    const trap = 'new Proxy({}, { getPrototypeOf() { (function s() { new Error().stack; s() })() } })'
    const caught = await h.run(`const err = ${trap}
      try { throw err } catch ({ constructor: c }) {
        try { c.constructor('return this')(); return 'escaped' } catch (e) { return e.name + ': ' + e.message } }`)
    expect(caught.value).toBe('TypeError: Function is not allowed in scripts')
    // Uncaught, describing it runs the trap, whose overflow is the script's
    // stack limit: the script ends with that, and nothing of the host shows.
    const uncaught = await h.run(`throw ${trap}`)
    expectError(uncaught, 'ScriptStackOverflowError', { phase: 'executing' })
    expect(JSON.stringify(uncaught.error)).not.toMatch(HOST_PATH)
  })

  // vm2 CVE-2023-37466 / GHSA-cchq-frgv-rjh5: a Promise subclass picked
  // through Symbol.species received an unsanitized host error.
  it('Promise species tricks see only sandbox errors (vm2 CVE-2023-37466 / GHSA-cchq-frgv-rjh5)', async () => {
    const species = (make: string) => `
      const p = ${make}
      let seen = 'none'
      Object.defineProperty(p, 'constructor', { value: { [Symbol.species]: class FakePromise {
        constructor(executor) { executor((x) => x, (err) => {
          try { err.constructor.constructor('return this')(); seen = 'escaped' } catch (e) { seen = e.name + ': ' + e.message + ' / ' + err.name } }) } } } })
      p.then()
      await new Promise((r) => p.then(r, r))
      await null
      return seen`
    // An overflow rejects no promise: it ends the script.
    const overflow = await h.run(species('(async () => { (function s() { new Error().stack; s() })() })()'))
    expect(overflow.error?.code).toBe('ScriptStackOverflowError')
    const toolError = await h.run(species('tools.fail({})'))
    expect(toolError.value).toBe('TypeError: Function is not allowed in scripts / ToolExecutionError')
  })

  // vm2 CVE-2023-29199 / GHSA-xj72-wvfv-8985 bypassed vm2's source rewriting
  // with a catch binding named like its internals. Here nothing is rewritten
  // at run time, and every error a catch can see is a sandbox error.
  // An overflow ends the script (nothing catches it), so the sweep runs one
  // script per distance from the stack's edge: each calls every harness
  // function at that depth and either finishes, having seen only sandbox
  // errors, or ends with ScriptStackOverflowError.
  it('a stack-depth sweep over harness functions only ever yields sandbox errors or the end of the script (vm2 CVE-2023-29199-style)', async () => {
    const edge = await h.run('const f = (d) => { console.log(String(d)); f(d + 1) }; f(0)', { limits: { maxLogEvents: 100_000 } })
    expect(edge.error?.code).toBe('ScriptStackOverflowError')
    const max = Number(edge.logs.at(-1)?.message)
    const outcomes = new Set<string>()
    const attempt = async (depth: number): Promise<'ok' | 'overflow'> => {
      const r = await h.run(`
        const names = new Set()
        let escaped = 0
        const promises = []
        const attempts = [
          () => promises.push(tools.echo({ a: 1 })),
          () => console.log('x'),
          () => context.emitProgress('x'),
          () => promises.push(Promise.race([tools.echo({ b: 1 })])),
          () => JSON.stringify({ a: [1] }),
        ]
        function dive(n) {
          if (n < ${depth}) return dive(n + 1)
          for (const f of attempts) {
              try { f() } catch (e) {
                names.add(e instanceof Error ? e.name : typeof e)
                try { e.constructor.constructor('return this')(); escaped++ } catch (x) {}
              }
          }
        }
        dive(0)
        const settled = await Promise.allSettled(promises)
        for (const s of settled) if (s.status === 'rejected') names.add('rejected:' + s.reason.name)
        return { names: [...names].sort(), escaped }`, { limits: { maxLogEvents: 5 } })
      if (r.ok) {
        const v = r.value as { names: string[]; escaped: number }
        expect(v.escaped).toBe(0)
        for (const n of v.names) expect(['SerializationError', 'rejected:ToolExecutionError']).toContain(n)
        outcomes.add('ok')
      } else {
        expect(r.error?.code).toBe('ScriptStackOverflowError')
        outcomes.add('overflow')
      }
      expect(r.toolCalls.every((c) => c.status === 'ok' || c.status === 'aborted')).toBe(true)
      return r.ok ? 'ok' : 'overflow'
    }
    // Coarse, to find where dive's frames meet the edge; then every depth
    // just below it, where the harness's own functions run out of stack.
    let edgeOfDive = 0
    for (let depth = 0; depth <= max; depth += Math.ceil(max / 20)) {
      const o = await attempt(depth)
      outcomes.add(o)
      if (o === 'ok') edgeOfDive = depth
    }
    for (let depth = edgeOfDive + Math.ceil(max / 20); depth > edgeOfDive - 5; depth--) outcomes.add(await attempt(depth))
    // The sweep crossed the edge: some depths overflowed, some did not.
    expect([...outcomes].sort()).toEqual(['ok', 'overflow'])
  })
})

describe('modules', () => {
  it('S3 require is refused before anything runs, with its line', async () => {
    const before = rec.started.length
    const r = await h.run("await tools.slow({ ms: 1 })\nconst fs = require('fs')")
    expect(r.ok).toBe(false)
    expect(r.error).toMatchObject({ code: 'BannedConstructError', line: 2, phase: 'parsing' })
    expect(rec.started.length).toBe(before)
    expect(r.toolCalls).toEqual([])
  })

  it('S4 import() and static import are refused before anything runs', async () => {
    const dynamic = await h.run("await tools.slow({ ms: 1 })\nconst m = await import('fs')")
    expect(dynamic.error).toMatchObject({ code: 'BannedConstructError', line: 2 })
    const stat = await h.run("import fs from 'fs'\nreturn 1")
    expect(stat.error).toMatchObject({ code: 'BannedConstructError', line: 1 })
    const exported = await h.run('export const x = 1')
    expect(exported.error?.code).toBe('BannedConstructError')
  })

  it('S3 require spelled with unicode escapes is refused before anything runs (req\\u0075ire, \\u{72}equire)', async () => {
    const before = rec.started.length
    for (const spelled of ['req\\u0075ire', '\\u{72}equire', '\\u0072\\u0065\\u0071\\u0075\\u0069\\u0072\\u0065']) {
      const r = await h.run(`await tools.slow({ ms: 1 })\nconst fs = ${spelled}('fs')`)
      expectError(r, 'BannedConstructError', { phase: 'parsing', line: 2 })
    }
    expect(rec.started.length).toBe(before)
  })

  // SES backslash-u-identifier.test.js: an escaped keyword is a SyntaxError.
  it('S4 an escaped import keyword (\\u0069mport) is a syntax error before anything runs (SES backslash-u tests)', async () => {
    const before = rec.started.length
    for (const src of ["const m = await \\u0069mport('fs')", "\\u0069mport fs from 'fs'", "\\u0065xport const x = 1"]) {
      const r = await h.run(`await tools.slow({ ms: 1 })\n${src}`)
      expectError(r, 'ScriptSyntaxError', { phase: 'parsing', line: 2 })
    }
    expect(rec.started.length).toBe(before)
  })

  it('S3 S4 comments and line breaks between the tokens do not hide require or import()', async () => {
    const before = rec.started.length
    for (const [src, code] of [
      ["const fs = require /* x */ ('fs')", 'BannedConstructError'],
      ["const fs = require // x\n('fs')", 'BannedConstructError'],
      ["const fs = require\n\n('fs')", 'BannedConstructError'],
      ["const m = await import /* x */ ('fs')", 'BannedConstructError'],
      ["const m = await import(\n'fs')", 'BannedConstructError'],
      ["const m = await import('fs', { with: { type: 'json' } })", 'BannedConstructError'],
      ['return import.meta.url', 'BannedConstructError'],
      ["return require?.('fs')", 'BannedConstructError'],
      ["return require<any>('fs')", 'BannedConstructError'],
    ] as const) {
      const r = await h.run(`await tools.slow({ ms: 1 })\n${src}`)
      expectError(r, code, { phase: 'parsing', line: 2 })
    }
    expect(rec.started.length).toBe(before)
  })

  it('S3 a parenthesized or type-asserted require call is refused before anything runs', async () => {
    // `(require)('fs')` is a call to `require(...)` as much as `require('fs')`;
    // TypeScript's `as`, `!` and `satisfies` vanish at compile time.
    const before = rec.started.length
    const outcomes: Record<string, string | undefined> = {}
    for (const src of ["(require)('fs')", "(require as any)('fs')", "require!('fs')", "(require satisfies unknown as any)('fs')", "((require))('fs')"]) {
      const r = await h.run(`await tools.slow({ ms: 1 })\nconst fs = ${src}`)
      outcomes[src] = `${r.error?.code} line ${r.error?.line} ${r.error?.phase}`
    }
    expect(outcomes).toEqual({
      "(require)('fs')": 'BannedConstructError line 2 parsing',
      "(require as any)('fs')": 'BannedConstructError line 2 parsing',
      "require!('fs')": 'BannedConstructError line 2 parsing',
      "(require satisfies unknown as any)('fs')": 'BannedConstructError line 2 parsing',
      "((require))('fs')": 'BannedConstructError line 2 parsing',
    })
    expect(rec.started.length).toBe(before)
  })

  it('S3 a call of any function named require is refused, even a local one (the check does not resolve scopes)', async () => {
    const local = await h.run("const require = (x: string) => x\nreturn require('fs')")
    expectError(local, 'BannedConstructError', { phase: 'parsing', line: 2 })
    const param = await h.run("const f = (require: any) => require('fs')\nreturn f((x: string) => x)")
    expectError(param, 'BannedConstructError', { phase: 'parsing', line: 1 })
    // The words themselves are fine where they are not a call or a module form.
    const words = await h.run("const o = { require: 1, import: 2 }\n// require('fs')\nreturn [o.require + o.import, 'import(\"fs\")', `${'require'}('fs')`]")
    expect(words.value).toEqual([3, 'import("fs")', "require('fs')"])
  })

  it('S11 require built at run time (computed, joined, from a string) is undefined', async () => {
    const r = await h.run(`
      const out = {}
      out.computed = typeof globalThis['req' + 'uire']
      out.joined = typeof globalThis[['r', 'e', 'q', 'u', 'i', 'r', 'e'].join('')]
      out.fromCodes = typeof globalThis[String.fromCharCode(114, 101, 113, 117, 105, 114, 101)]
      out.module = typeof globalThis['mod' + 'ule']
      out.process = typeof globalThis['pro' + 'cess']
      try { (0, require)('fs'); out.comma = 'allowed' } catch (e) { out.comma = e.name }
      try { globalThis['req' + 'uire']('fs'); out.call = 'allowed' } catch (e) { out.call = e.name }
      return out`)
    expect(r.value).toEqual({ computed: 'undefined', joined: 'undefined', fromCodes: 'undefined', module: 'undefined', process: 'undefined', comma: 'ReferenceError', call: 'TypeError' })
  })

  it('S4 TypeScript module forms are refused with their line: import = require, export =, export {}, import type, import defer', async () => {
    for (const [src, line] of [
      ["const a = 1\nimport fs = require('fs')", 2],
      ['const x = 1\nexport = x', 2],
      ['export {}\nreturn 1', 1],
      ["\n\nimport type { Stats } from 'fs'\nreturn 1", 3],
      ["import defer * as ns from 'fs'\nreturn 1", 1],
      ["export * from 'fs'", 1],
      ['export default 1', 1],
    ] as const) {
      expectError(await h.run(src), 'BannedConstructError', { phase: 'parsing', line })
    }
  })

  it('TypeScript declarations create nothing at run time: declare, declare global, type-only import() types', async () => {
    for (const src of [
      'declare const require: any\nreturn typeof require',
      'declare function require(id: string): any\nreturn typeof require',
      'declare global { var process: any }\nreturn typeof process',
      "declare module 'fs' {}\nreturn typeof module",
      "type Stats = import('fs').Stats\nreturn typeof require",
      "let x: typeof import('fs') | undefined\nreturn typeof x",
      '/// <reference types="node" />\nreturn typeof process',
    ]) {
      const r = await h.run(src)
      expect(r.value, src).toBe('undefined')
    }
  })

  it('S11 process, require, module, fetch and timers are undefined', async () => {
    const r = await h.run(`return ['process', 'require', 'module', 'exports', 'fetch', 'setTimeout', 'setInterval',
      'setImmediate', 'clearTimeout', 'Buffer', 'XMLHttpRequest', 'WebSocket'].map((n) => typeof globalThis[n])`)
    expect(new Set(r.value as string[])).toEqual(new Set(['undefined']))
  })

  it('S11 nothing else with authority is on the global object, and the prelude keeps its own names', async () => {
    const r = await h.run(`return ['WebAssembly', 'WeakRef', 'FinalizationRegistry', 'structuredClone', 'performance', 'navigator',
      'gc', 'os', 'std', 'scriptArgs', 'print', 'bjson', 'host', 'toolTree', 'harnessErrors', 'pending', 'G', '__dirname', 'global']
      .filter((n) => typeof globalThis[n] !== 'undefined')`)
    expect(r.value).toEqual([])
  })

  it('S18 new Worker throws: no Worker, SharedArrayBuffer or Atomics', async () => {
    const out = await probes(h, `
      probe('worker', () => new Worker('x.js'))
      probe('sab', () => new SharedArrayBuffer(8))
      probe('atomics', () => Atomics.wait(new Int32Array(4), 0, 0))`)
    expect(out).toEqual({ worker: 'ReferenceError', sab: 'ReferenceError', atomics: 'ReferenceError' })
  })
})

describe('frozen realm', () => {
  it('S2 tools cannot be replaced or modified', async () => {
    const out = await probes(h, `
      probe('replace', () => { tools.applyPatch = null })
      probe('add', () => { tools.extra = () => 1 })
      probe('delete', () => { delete tools.exec })
      probe('namespace', () => { tools.mcp.github.searchIssues = null })
      probe('fnProp', () => { tools.exec.x = 1 })
      probe('global', () => { globalThis.tools = {} })`)
    expect(Object.values(out).every((v) => v === 'TypeError')).toBe(true)
  })

  it('S2 tools lists exactly the registered names; unknown names give fresh frozen functions and define nothing', async () => {
    const r = await h.run(`
      const out = {}
      try { Object.defineProperty(tools, 'echo', { value: 1 }); out.define = 'allowed' } catch (e) { out.define = e.name }
      try { Object.setPrototypeOf(tools, null); out.setProto = 'allowed' } catch (e) { out.setProto = e.name }
      out.keys = Reflect.ownKeys(tools)
      out.mcpKeys = Reflect.ownKeys(tools.mcp)
      out.sealed = Object.isSealed(tools) && Object.isFrozen(tools.mcp) && Object.isFrozen(tools.mcp.github)
      out.unknownIn = 'anything' in tools
      out.unknownDescriptor = Object.getOwnPropertyDescriptor(tools, 'anything') === undefined
      out.unknownFrozen = Object.isFrozen(tools.anything)
      out.unknownFresh = tools.anything !== tools.anything
      out.fnFrozen = Object.isFrozen(tools.echo) && Object.isFrozen(tools.mcp.github.searchIssues)
      out.protoIsObject = Object.getPrototypeOf(tools) === Object.prototype
      return out`)
    expect(r.value).toEqual({
      define: 'TypeError',
      setProto: 'TypeError',
      keys: ['echo', 'exec', 'slow', 'fail', 'failAsync', 'applyPatch', 'mcp'],
      mcpKeys: ['github'],
      sealed: true,
      unknownIn: false,
      unknownDescriptor: true,
      unknownFrozen: true,
      unknownFresh: true,
      fnFrozen: true,
      protoIsObject: true,
    })
  })

  it('S2 a tool result is the script\'s own copy: changing it touches neither the host nor the shared prototypes', async () => {
    const r = await h.run(`const first = await tools.echo({ a: { b: [1] } })
      first.a.b.push(2); first.a.c = 1; delete first.x
      const protoWrite = (() => { try { Object.getPrototypeOf(first).polluted = 1; return 'allowed' } catch (e) { return e.name } })()
      const again = await tools.echo({ a: { b: [1] } })
      return [first, again, protoWrite, ({}).polluted === undefined, Object.isFrozen(Object.getPrototypeOf(first.a.b))]`)
    expect(r.value).toEqual([{ a: { b: [1, 2], c: 1 } }, { a: { b: [1] } }, 'TypeError', true, true])
  })

  it('S12 context is deep-frozen: assigning to it throws', async () => {
    const out = await probes(h, `
      probe('turnId', () => { context.turnId = 'x' })
      probe('limits', () => { context.limits.timeoutMs = 1e9 })
      probe('tools', () => { context.tools.push('x') })
      probe('emit', () => { context.emitProgress = null })`)
    expect(Object.values(out).every((v) => v === 'TypeError')).toBe(true)
  })

  it('S12 globalThis is frozen: no new globals, and console, context, tools and intrinsics stay as they are', async () => {
    const out = await probes(h, `
      probe('newGlobal', () => { globalThis.x = 1 })
      probe('sloppyGlobal', () => { Object.assign(globalThis, { y: 1 }) })
      probe('replaceArray', () => { globalThis.Array = null })
      probe('deleteJSON', () => { delete globalThis.JSON })
      probe('define', () => Object.defineProperty(globalThis, 'z', { value: 1 }))
      probe('setProto', () => Object.setPrototypeOf(globalThis, null))
      probe('console', () => { globalThis.console = null })
      probe('consoleLog', () => { console.log = null })
      probe('context', () => { context = 1 })
      probe('tools', () => { tools = 1 })
      probe('promiseThen', () => { Promise.prototype.then = null })`)
    expect(Object.values(out)).toEqual(Array(11).fill('TypeError'))
  })

  it('S13 context.__proto__ and the prototypes of tools and context are frozen', async () => {
    const r = await h.run(`return [
      Object.isFrozen(Object.getPrototypeOf(context)), Object.isFrozen(context.__proto__),
      Object.isFrozen(Object.getPrototypeOf(tools)), Object.isFrozen(tools), Object.isFrozen(context),
      Object.isFrozen(Object.getPrototypeOf(tools.exec)),
      (() => { try { context.__proto__.x = 1; return 'allowed' } catch (e) { return e.name } })(),
      (() => { try { Object.setPrototypeOf(context, {}); return 'allowed' } catch (e) { return e.name } })(),
    ]`)
    expect(r.value).toEqual([true, true, true, true, true, true, 'TypeError', 'TypeError'])
  })

  it('S14 Promise.constructor = null and other changes to intrinsics fail', async () => {
    const out = await probes(h, `
      probe('promiseCtor', () => { Promise.constructor = null })
      probe('promiseThen', () => { Promise.prototype.then = null })
      probe('math', () => { Math.random = () => 4 })
      probe('symbol', () => { Symbol.iterator = 1 })
      probe('iteratorProto', () => { Object.getPrototypeOf([][Symbol.iterator]()).next = null })
      probe('typedArray', () => { Object.getPrototypeOf(Int8Array).from = null })`)
    expect(Object.values(out).every((v) => v === 'TypeError')).toBe(true)
  })

  it('S14 well-known symbols and symbol-keyed members of intrinsics cannot be tampered with', async () => {
    const out = await probes(h, `
      probe('iterator', () => { Symbol.iterator = Symbol.for('x') })
      probe('symbolToString', () => { Symbol.prototype.toString = null })
      probe('arrayIterator', () => Object.defineProperty(Array.prototype, Symbol.iterator, { value: null }))
      probe('toPrimitive', () => { Symbol.prototype[Symbol.toPrimitive] = () => 1 })
      probe('registryKey', () => { Object.prototype[Symbol.for('x')] = 1 })
      probe('promiseSpecies', () => Object.defineProperty(Promise, Symbol.species, { get() { return 1 } }))
      probe('arraySpecies', () => Object.defineProperty(Array, Symbol.species, { get() { return 1 } }))
      probe('regexpReplace', () => { RegExp.prototype[Symbol.replace] = null })
      probe('hasInstance', () => Object.defineProperty(Function.prototype, Symbol.hasInstance, { value: () => true }))
      probe('unscopables', () => { Array.prototype[Symbol.unscopables].push = false })`)
    expect(Object.values(out)).toEqual(Array(10).fill('TypeError'))
  })

  // SES lockdown freezes every intrinsic, including the anonymous ones the
  // language makes (SES test anticipate-iterator-helpers-shimmed.test.js):
  // %IteratorHelperPrototype% and %WrapForValidIteratorPrototype% included.
  it('S14 every intrinsic reachable from values the language makes is frozen (iterator helpers included)', async () => {
    const r = await h.run(`
      const seeds = {
        iteratorHelper: [1].values().map((x) => x),
        iteratorHelperTake: [1].values().take(1),
        wrapForValidIterator: Iterator.from({ next() { return { done: true } } }),
        // A generator's own prototype object is made per function; what is behind it is the realm's.
        generator: Object.getPrototypeOf((function* () {})()),
        asyncGenerator: Object.getPrototypeOf((async function* () {})()),
        matchAll: 'a'.matchAll(/a/g),
        args: (function () { return arguments })(),
        regexpGroups: /(?<a>x)/.exec('x'),
        disposable: new DisposableStack(),
        asyncDisposable: new AsyncDisposableStack(),
        suppressed: new SuppressedError(1, 2),
        domException: new DOMException('x'),
        asyncResult: (async () => 1)(),
        bound: (() => 1).bind(null),
        setIterator: new Set([1]).values(),
        mapIterator: new Map().entries(),
        stringIterator: ''[Symbol.iterator](),
        typed: new Float16Array(1),
        typedIterator: new Int8Array(1).values(),
        dataView: new DataView(new ArrayBuffer(1)),
        resizable: new ArrayBuffer(1, { maxByteLength: 2 }),
        engineError: (() => { try { null.x } catch (e) { return e } })(),
        toolFn: tools.echo,
        unknownTool: tools.nope,
        toolPromise: tools.echo({}),
        consoleLog: console.log,
        emitProgress: context.emitProgress,
      }
      const seen = new Set()
      const unfrozen = []
      const walk = (v, path, depth) => {
        if ((typeof v !== 'object' && typeof v !== 'function') || v === null || seen.has(v)) return
        seen.add(v)
        // depth 0 is the script's own object; everything behind it is the realm's.
        if (depth > 0 && !Object.isFrozen(v)) unfrozen.push(path)
        if (depth > 6) return
        walk(Object.getPrototypeOf(v), path + '.__proto__', depth + 1)
        for (const k of Reflect.ownKeys(v)) {
          const d = Object.getOwnPropertyDescriptor(v, k)
          if (!d || depth === 0) continue
          if ('value' in d) walk(d.value, path + '.' + String(k), depth + 1)
          else { walk(d.get, path + '.' + String(k) + '<get>', depth + 1); walk(d.set, path + '.' + String(k) + '<set>', depth + 1) }
        }
      }
      for (const [k, v] of Object.entries(seeds)) walk(v, k, 0)
      walk(globalThis, 'globalThis', 1)
      const out = []
      for (const [k, f] of [['helperNext', () => { Object.getPrototypeOf([1].values().map((x) => x)).next = () => ({ done: true }) }],
                            ['wrapNext', () => { Object.getPrototypeOf(Iterator.from({ next() {} })).next = null }]]) {
        try { f(); out.push(k + ': allowed') } catch (e) { out.push(k + ': ' + e.name) } }
      return { unfrozen, writes: out }`)
    expect(r.value).toEqual({ unfrozen: [], writes: ['helperNext: TypeError', 'wrapNext: TypeError'] })
  })

  it('S16 state of script A is invisible to script B, sequentially and concurrently', async () => {
    const a = await h.run('try { globalThis.secret = 1 } catch {} var leaked = 2; return typeof globalThis.secret')
    expect(a.value).toBe('undefined')
    const b = await h.run('return [typeof secret, typeof leaked]')
    expect(b.value).toEqual(['undefined', 'undefined'])
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        h.run(`const mine = ${i}; const seen = typeof other; await tools.slow({ ms: 10 }); return [mine, seen]`),
      ),
    )
    expect(results.map((r) => r.value)).toEqual(Array.from({ length: 8 }, (_, i) => [i, 'undefined']))
  })
})

describe('prototype pollution', () => {
  it('S1 JSON __proto__ keys, constructor.prototype and Object.assign only make own properties inside the script', async () => {
    const r = await h.run(`
      const a = JSON.parse('{"__proto__": {"polluted": 1}, "constructor": {"prototype": {"polluted": 1}}}')
      const merged = Object.assign({}, a)
      const spread = { ...a }
      const out = {}
      for (const [k, f] of [
        ['protoSetter', () => { const o = {}; o.__proto__.polluted = 1 }],
        ['defineGetter', () => Object.prototype.__defineGetter__('polluted', () => 1)],
        ['setPrototypeOfProto', () => Object.setPrototypeOf(Object.prototype, { polluted: 1 })],
        ['constructorPrototype', () => { ({}).constructor.prototype.polluted = 1 }],
        ['arrayProtoViaInstance', () => { [].__proto__.polluted = 1 }],
      ]) { try { f(); out[k] = 'allowed' } catch (e) { out[k] = e.name } }
      return { out, plain: ({}).polluted, array: [].polluted, ownKey: Object.keys(a), mergedProtoIsObject: Object.getPrototypeOf(merged) === Object.prototype,
        merged: merged.polluted, spread: spread.polluted, fn: (() => 1).polluted }`)
    expect(r.value).toEqual({
      out: { protoSetter: 'TypeError', defineGetter: 'TypeError', setPrototypeOfProto: 'TypeError', constructorPrototype: 'TypeError', arrayProtoViaInstance: 'TypeError' },
      ownKey: ['__proto__', 'constructor'],
      // Object.assign with an own "__proto__" key goes through the setter (as
      // in any engine): the merged object's prototype becomes the script's own
      // object. Nothing shared changes; the spread copy keeps an own key.
      mergedProtoIsObject: false,
      merged: 1,
    })
  })

  it('S1 the host sees clean objects: handler args, approval requests, events, results; Node\'s prototypes stay untouched', async () => {
    const protoBefore = Object.getOwnPropertyNames(Object.prototype).sort()
    const seen: any[] = []
    const approvals: any[] = []
    const events: any[] = []
    const clean = (o: any) => ({ proto: Object.getPrototypeOf(o) === Object.prototype, polluted: o.polluted, keys: Object.keys(o) })
    const hp = new ScriptHarness({
      workers: 1,
      tools: [
        { name: 'see', handler: (a: any) => { seen.push({ ...clean(a), inner: clean(a.inner) }); return JSON.parse('{"__proto__": {"fromTool": 1}, "ok": 1}') } },
        { name: 'gated', requiresApproval: true, handler: (a: any) => { seen.push(clean(a)); return 1 } },
      ],
      onApproval: (req) => { approvals.push(clean(req.args)); return true },
      onEvent: (e) => { if (e.type === 'tool_call_started') events.push(clean(e.args as object)) },
    })
    const r = await hp.run(`
      const a = JSON.parse('{"__proto__": {"polluted": "yes"}, "constructor": {"prototype": {"polluted": "yes"}}, "inner": {"__proto__": {"polluted": 1}}}')
      const got = await tools.see(a)
      await tools.gated(a)
      return { a, fromTool: got.fromTool === undefined, resultProto: Object.getPrototypeOf(got) === Object.prototype, ownKeys: Object.keys(got) }`)
    await hp.close()
    const keys = ['__proto__', 'constructor', 'inner']
    expect(seen).toEqual([
      { proto: true, polluted: undefined, keys, inner: { proto: true, polluted: undefined, keys: ['__proto__'] } },
      { proto: true, polluted: undefined, keys },
    ])
    expect(approvals).toEqual([{ proto: true, polluted: undefined, keys }])
    expect(events).toEqual([{ proto: true, polluted: undefined, keys }, { proto: true, polluted: undefined, keys }])
    expect(r.value).toMatchObject({ fromTool: true, resultProto: true, ownKeys: ['__proto__', 'ok'] })
    const value = r.value as any
    expect(Object.getPrototypeOf(value.a)).toBe(Object.prototype)
    expect(value.a.polluted).toBeUndefined()
    expect(Object.keys(value.a)).toEqual(keys)
    expect(Object.getPrototypeOf(r.toolCalls[0].args)).toBe(Object.prototype)
    expect((r.toolCalls[0].args as any).polluted).toBeUndefined()
    expect((r.toolCalls[0].result as any).fromTool).toBeUndefined()
    expect(({} as any).polluted).toBeUndefined()
    expect(([] as any).polluted).toBeUndefined()
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(protoBefore)
  })

  it('S1 nothing a script does to its realm reaches the next script on the same worker', async () => {
    const one = new ScriptHarness({ workers: 1, tools: [{ name: 'echo', handler: (a: unknown) => a }] })
    await one.run(`
      for (const f of [() => { Object.prototype.x = 1 }, () => { Array.prototype.map = null }, () => { JSON.stringify = null },
        () => Object.defineProperty(globalThis, 'leak', { value: 1 }), () => { Symbol.for('shared').x = 1 }]) { try { f() } catch {} }
      var leaked = 1; function alsoLeaked() {}`)
    const r = await one.run(`return [typeof x, ({}).x, [1].map((v) => v + 1), JSON.stringify({ a: 1 }), typeof leak, typeof leaked, typeof alsoLeaked, Symbol.for('shared').x]`)
    expect(r.value).toEqual(['undefined', null, [2], '{"a":1}', 'undefined', 'undefined', 'undefined', null])
    await one.close()
  })
})

describe('errors and stacks', () => {
  it('errors thrown by tools do not lead to host objects', async () => {
    const r = await h.run(`try { await tools.fail({}) } catch (e) {
      return [e.name, e.message, Object.getPrototypeOf(e) === Error.prototype, typeof e.stack === 'string' && e.stack.includes('/work') ] }`)
    expect(r.value).toEqual(['ToolExecutionError', 'disk on fire', true, false])
  })

  it('errors thrown by tools climb only to sandbox intrinsics: constructor, __proto__, own keys', async () => {
    const r = await h.run(`try { await tools.fail({}) } catch (e) {
      const chain = []
      for (let p = e; p !== null; p = Object.getPrototypeOf(p)) chain.push(p === Error.prototype ? 'Error.prototype' : p === Object.prototype ? 'Object.prototype' : p === e ? 'e' : 'other')
      let ctor
      try { e.constructor.constructor('return this')(); ctor = 'allowed' } catch (x) { ctor = x.message }
      return { chain, ctor, proto: e.__proto__ === Error.prototype, own: Object.getOwnPropertyNames(e).sort(), toolName: e.toolName,
        callIdShape: /^scr_[0-9a-f]+_\\d+-c1$/.test(e.callId), stackFrames: e.stack.split('\\n').filter(Boolean).every((l) => /^\\s+at .+ \\((harness|script):\\d+:\\d+\\)$/.test(l)) } }`)
    expect(r.value).toEqual({
      chain: ['e', 'Error.prototype', 'Object.prototype'],
      ctor: 'Function is not allowed in scripts',
      proto: true,
      own: ['callId', 'details', 'message', 'name', 'stack', 'toolName'], // stack: the frames of the call site; details: the handler's error as JSON
      toolName: 'fail',
      callIdShape: true,
      stackFrames: true,
    })
  })

  it('no stack or source a script can read holds a host path: tool errors, refusals, errors made during a tool call, harness functions', async () => {
    const r = await h.run(`
      const texts = []
      try { await tools.fail({}) } catch (e) { texts.push(e.stack, e.message) }
      try { await tools.failAsync({}) } catch (e) { texts.push(e.stack, e.message) }
      try { await tools.nope({}) } catch (e) { texts.push(e.stack, e.message) }
      try { await tools.echo({ a: 1n }) } catch (e) { texts.push(e.stack, e.message) }
      await tools.echo({ toJSON() { texts.push(new Error('x').stack); return {} } })
      texts.push(String(tools.echo), String(console.log), String(context.emitProgress), String(Promise.race), String(Function), String(eval))
      return texts`)
    const texts = r.value as string[]
    expect(texts.length).toBe(15)
    for (const t of texts) expect(t).not.toMatch(HOST_PATH)
  })

  it('a forged error stack cannot put host paths or foreign frames into the result', async () => {
    const r = await h.run(`const e = new Error('m')
      Object.defineProperty(e, 'stack', { value: '    at evil (/home/host/secret.js:1:1)\\n    at x (node:internal/main:9:9)' })
      throw e`)
    const err = expectError(r, 'ScriptRuntimeError', { phase: 'executing', message: 'Error: m' })
    expect(JSON.stringify(err)).not.toMatch(HOST_PATH)
    expect(err.stack ?? '').not.toMatch(/node:internal|evil/)
  })

  it('uncaught tool errors report script frames only, with the script line', async () => {
    const r = await h.run('const a = 1\nawait tools.fail({})')
    const err = expectError(r, 'ToolExecutionError', { phase: 'executing', toolName: 'fail', line: 2, message: 'disk on fire' })
    expect(err.callId).toBe(r.toolCalls[0].callId)
    expect(err.stack).toMatch(/^\s+at .*\(script:2:\d+\)$/m)
    expect(err.stack).not.toMatch(/harness:|HOST/)
    expect(JSON.stringify(r)).not.toMatch(HOST_PATH)
  })
})
