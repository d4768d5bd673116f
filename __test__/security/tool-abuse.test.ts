// Red team, class 3: a script abusing the tools it was given. Arguments
// cross as JSON or not at all, names from prototypes never reach a handler,
// the budget and the concurrency limit hold under Promise.all of 1000
// calls, and nothing a script does makes a handler run when the contract
// says it must not.
import { afterAll, describe, expect, it } from 'vitest'
import { ScriptHarness, type ToolDefinition } from '../../index.js'
import { expectError, harness, newRecorder, sleep, slowTool, timed } from './probe'

const rec = newRecorder()
const h = harness({}, rec)
afterAll(() => h.close())

/** A harness whose `rec` tool records the arguments of every call that reaches it. */
function recording(extra: ToolDefinition[] = [], options: { workers?: number } = {}) {
  const calls: unknown[][] = []
  const hr = new ScriptHarness({
    workers: options.workers ?? 2,
    tools: [
      // Records the arguments and how many the handler got besides its ctx.
      { name: 'rec', handler: (...args: unknown[]) => { calls.push([args[0], args.length - 1]); return { got: args[0] ?? null } } },
      { name: 'mcp.github.searchIssues', handler: (a: unknown) => { calls.push([a, 1]); return 1 } },
      {
        name: 'typed',
        parameters: { type: 'object', properties: { n: { type: 'number' } }, required: ['n'], additionalProperties: false },
        handler: (a: unknown) => { calls.push([a, 1]); return 1 },
      },
      ...extra,
    ],
  })
  return { hr, calls }
}

describe('arguments', () => {
  it('non-JSON tool arguments are a catchable SerializationError and the handler never runs', async () => {
    const before = rec.started.length
    const r = await h.run(`const out = []
      for (const bad of [() => 1, 1n, Symbol('s'), (() => { const c = {}; c.c = c; return c })()]) {
        try { await tools.slow({ ms: 1, bad }) } catch (e) { out.push(e.name) }
      }
      return out`)
    expect(r.value).toEqual(['SerializationError', 'SerializationError', 'SerializationError', 'SerializationError'])
    expect(rec.started.length).toBe(before)
  })

  it('non-JSON arguments of every kind, at any depth, are SerializationError naming the tool; nothing is recorded or run', async () => {
    const { hr, calls } = recording()
    const r = await hr.run(`const out = {}
      const cases = {
        throwingGetter: { get x() { throw new Error('boom') } },
        throwingToJSON: { toJSON() { throw new RangeError('tj') } },
        toJSONFunction: { a: { toJSON() { return () => 1 } } },
        nestedBigInt: { a: [{ b: 1n }] },
        symbolInArray: [Symbol('s')],
        functionInArray: { list: [1, () => 2] },
        throwingProxy: new Proxy({}, { ownKeys() { throw new Error('trap') } }),
        revokedProxy: (() => { const { proxy, revoke } = Proxy.revocable({}, {}); revoke(); return proxy })(),
        deep: (() => { let o = {}; for (let i = 0; i < 1e5; i++) o = { o }; return o })(),
        deepByToJSON: { toJSON() { let o = {}; for (let i = 0; i < 200; i++) o = [o]; return o } },
        toJSONUndefined: { toJSON() { return undefined } },
        aFunction: () => 1,
        hiddenToJSON: Object.defineProperty({}, 'toJSON', { value: () => ({ s: Symbol('s') }), enumerable: false }),
        hiddenIndex: Object.defineProperty([1], '0', { value: () => 1, enumerable: false }),
        callableProxy: { p: new Proxy(function () {}, {}) },
        deepWrapper: (() => { let o = new String('x'); for (let i = 0; i < 128; i++) o = [o]; return o })(),
      }
      for (const [k, v] of Object.entries(cases)) {
        try { await tools.rec(v); out[k] = 'sent' } catch (e) { out[k] = [e.name, e.toolName, e.message] }
      }
      return out`)
    await hr.close()
    const prefix = 'arguments of tools.rec are not JSON: '
    expect(r.value).toEqual({
      throwingGetter: ['SerializationError', 'rec', prefix + 'boom'],
      throwingToJSON: ['SerializationError', 'rec', prefix + 'tj'],
      toJSONFunction: ['SerializationError', 'rec', prefix + 'a function cannot be sent to a tool (arguments must be JSON values)'],
      nestedBigInt: ['SerializationError', 'rec', prefix + 'a bigint cannot be sent to a tool (arguments must be JSON values)'],
      symbolInArray: ['SerializationError', 'rec', prefix + 'a symbol cannot be sent to a tool (arguments must be JSON values)'],
      functionInArray: ['SerializationError', 'rec', prefix + 'a function cannot be sent to a tool (arguments must be JSON values)'],
      throwingProxy: ['SerializationError', 'rec', prefix + 'trap'],
      revokedProxy: ['SerializationError', 'rec', prefix + 'revoked proxy'],
      deep: ['SerializationError', 'rec', 'arguments of tools.rec are not JSON the host can read: they nest deeper than 128 levels'],
      deepByToJSON: ['SerializationError', 'rec', 'arguments of tools.rec are not JSON the host can read: they nest deeper than 128 levels'],
      toJSONUndefined: ['SerializationError', 'rec', prefix + 'they have no JSON form (a toJSON gave undefined)'],
      aFunction: ['SerializationError', 'rec', prefix + 'a function cannot be sent to a tool (arguments must be JSON values)'],
      hiddenToJSON: ['SerializationError', 'rec', prefix + 'a symbol cannot be sent to a tool (arguments must be JSON values)'],
      hiddenIndex: ['SerializationError', 'rec', prefix + 'a function cannot be sent to a tool (arguments must be JSON values)'],
      callableProxy: ['SerializationError', 'rec', prefix + 'a function cannot be sent to a tool (arguments must be JSON values)'],
      deepWrapper: ['SerializationError', 'rec', 'arguments of tools.rec are not JSON the host can read: they nest deeper than 128 levels'],
    })
    expect(calls).toEqual([])
    expect(r.toolCalls).toEqual([])
    // 128 levels reach the handler (its result, one level deeper, is refused).
    const { hr: hd, calls: deepCalls } = recording()
    const fits = await hd.run('let o = {}; for (let i = 1; i < 128; i++) o = { o }\nreturn await tools.rec(o).catch((e) => e.message)')
    await hd.close()
    expect(fits.value).toBe('tools.rec: the tool returned a value that nests deeper than 128 levels')
    expect(deepCalls).toHaveLength(1)
  })

  it('toJSON and Proxy arguments are serialized once, as JSON.stringify does; the handler gets exactly what is recorded', async () => {
    const { hr, calls } = recording()
    const r = await hr.run(`let n = 0
      const proxy = new Proxy({}, { ownKeys: () => ['a'], getOwnPropertyDescriptor: () => ({ value: 1, enumerable: true, configurable: true }), get: (t, k) => (k === 'a' ? 42 : undefined) })
      return [
        await tools.rec({ a: { toJSON() { return ++n } } }),
        await tools.rec(proxy),
        await tools.rec({ a: undefined, b: [undefined], c: NaN, d: Infinity, e: -0, f: new Date(0), g: new Map([[1, 2]]), h: /x/ }),
        n]`)
    await hr.close()
    expect(r.value).toEqual([
      { got: { a: 1 } },
      { got: { a: 42 } },
      { got: { b: [null], c: null, d: null, e: 0, f: '1970-01-01T00:00:00.000Z', g: {}, h: {} } },
      1,
    ])
    expect(calls.map((c) => c[0])).toEqual(r.toolCalls.map((c) => c.args))
  })

  it('arguments that are not objects: undefined becomes {}, other JSON values pass as they are', async () => {
    const { hr, calls } = recording()
    const r = await hr.run('return [await tools.rec(), await tools.rec(undefined), await tools.rec(null), await tools.rec(5), await tools.rec("s"), await tools.rec([1, 2])]')
    await hr.close()
    expect(calls.map((c) => c[0])).toEqual([{}, {}, null, 5, 's', [1, 2]])
    expect(r.toolCalls.map((c) => c.args)).toEqual([{}, {}, null, 5, 's', [1, 2]])
  })

  it('wrong this, call/apply/bind, Reflect.apply, detached references and extra arguments: the handler gets the first argument only', async () => {
    const { hr, calls } = recording()
    const r = await hr.run(`const { rec } = tools
      const out = [
        await tools.rec.call({ x: 1 }, { a: 1 }, { extra: true }),
        await Reflect.apply(tools.rec, null, [{ b: 2 }, 'extra']),
        await tools.rec.apply(undefined, [{ c: 3 }]),
        await tools.rec.bind(globalThis, { d: 4 })(),
        await rec({ e: 5 }, 6, 7),
        await Function.prototype.call.call(tools.rec, tools, { f: 6 }),
      ]
      let constructed
      try { new tools.rec({}); constructed = 'allowed' } catch (e) { constructed = e.name + ': ' + e.message }
      return [out, constructed]`)
    await hr.close()
    expect(r.value).toEqual([[{ got: { a: 1 } }, { got: { b: 2 } }, { got: { c: 3 } }, { got: { d: 4 } }, { got: { e: 5 } }, { got: { f: 6 } }], 'TypeError: not a constructor'])
    expect(calls).toEqual([[{ a: 1 }, 1], [{ b: 2 }, 1], [{ c: 3 }, 1], [{ d: 4 }, 1], [{ e: 5 }, 1], [{ f: 6 }, 1]])
  })

  it('large arguments pass when the limits allow them, and are recorded as sent; 120-deep arguments arrive intact, 2000-deep ones are refused', async () => {
    const { hr, calls } = recording()
    const limits = { memoryMb: 64, maxToolArgBytes: 8 * 1024 * 1024, maxToolResultBytes: 8 * 1024 * 1024, maxCallRecordBytes: 16 * 1024 * 1024 }
    const r = await hr.run(`const s = 'x'.repeat(4 * 1024 * 1024)
      await tools.rec({ s })
      let o = {}; for (let i = 0; i < 120; i++) o = { o }
      const back = await tools.rec(o)
      let d = 0; for (let x = back.got; x.o; x = x.o) d++
      let deep = {}; for (let i = 0; i < 2000; i++) deep = { deep }
      const refused = await tools.rec(deep).catch((e) => [e.name, e.message])
      return [d, refused]`, { limits })
    await hr.close()
    expect(r.value).toEqual([120, ['SerializationError', 'arguments of tools.rec are not JSON the host can read: they nest deeper than 128 levels']])
    expect(calls).toHaveLength(2)
    expect((calls[0][0] as { s: string }).s.length).toBe(4 * 1024 * 1024)
    expect((r.toolCalls[0].args as { s: string }).s.length).toBe(4 * 1024 * 1024)
  })
})

describe('names', () => {
  it('tool names like __proto__ and constructor are not tools', async () => {
    const r = await h.run(`return [typeof tools.__proto__, typeof tools.constructor, tools.then, await tools.nope({}).catch((e) => e.name)]`)
    expect(r.value).toEqual(['object', 'function', null, 'ToolNotFoundError'])
  })

  it('names from Object.prototype and Function.prototype never reach a handler, at the root or in a namespace', async () => {
    const { hr, calls } = recording()
    const r = await hr.run(`
      const inherited = ['constructor', 'hasOwnProperty', 'toString', 'valueOf', 'isPrototypeOf', 'toLocaleString', '__defineGetter__', '__lookupGetter__', 'propertyIsEnumerable']
      const excluded = ['then', 'toJSON', 'inspect']
      const unknown = ['prototype', 'length', 'name', 'call', 'apply', 'bind', 'caller', 'arguments', 'callee']
      const out = []
      for (const [label, base] of [['root', tools], ['ns', tools.mcp], ['ns2', tools.mcp.github]]) {
        if (base.__proto__ !== Object.prototype) out.push(label + '.__proto__ is not Object.prototype')
        for (const n of inherited) if (base[n] !== Object.prototype[n]) out.push(label + '.' + n + ' is not inherited')
        for (const n of excluded) if (base[n] !== undefined) out.push(label + '.' + n + ' is ' + typeof base[n])
        for (const n of unknown) {
          try { await base[n]({}); out.push(label + '.' + n + ' resolved') } catch (e) { if (e.name !== 'ToolNotFoundError') out.push(label + '.' + n + ' ' + e.name) }
        }
      }
      return out`)
    await hr.close()
    expect(r.value).toEqual([])
    expect(calls).toEqual([])
    // Every unknown name was recorded as refused, never dispatched.
    expect(new Set(r.toolCalls.map((c) => c.status))).toEqual(new Set(['error']))
    expect(new Set(r.toolCalls.map((c) => c.error?.code))).toEqual(new Set(['ToolNotFoundError']))
  })

  it('reserved names are refused with a TypeError naming the field; names that shadow Object.prototype members work', async () => {
    for (const name of ['__proto__', 'constructor', 'prototype', 'then', 'a.__proto__.b', 'mcp.then', 'x.constructor']) {
      expect(() => new ScriptHarness({ tools: [{ name, handler: () => 1 }] }), name).toThrow(TypeError)
      expect(() => new ScriptHarness({ tools: [{ name, handler: () => 1 }] }), name).toThrow(/tools\[0\]\.name/)
    }
    const seen: string[] = []
    const hs = new ScriptHarness({
      workers: 1,
      tools: ['hasOwnProperty', 'toString', 'valueOf', 'eval', 'Function', 'tools'].map((name) => ({ name, handler: () => { seen.push(name); return name } })),
    })
    const r = await hs.run('return [await tools.hasOwnProperty({}), await tools.toString({}), await tools.valueOf({}), await tools.eval({}), await tools.Function({}), await tools.tools({}), typeof Function]')
    await hs.close()
    expect(r.value).toEqual(['hasOwnProperty', 'toString', 'valueOf', 'eval', 'Function', 'tools', 'function'])
    expect(seen).toEqual(['hasOwnProperty', 'toString', 'valueOf', 'eval', 'Function', 'tools'])
  })

  it('a tool named toJSON is refused like then: JSON.stringify and console.log would call it behind the script\'s back', async () => {
    // `console.log(tools)` and `return { t: tools }` call tools.toJSON(key)
    // from the harness's own serialization, starting a real call of a
    // handler the script never named.
    expect(() => new ScriptHarness({ tools: [{ name: 'toJSON', handler: () => 1 }] })).toThrow(TypeError)
    expect(() => new ScriptHarness({ tools: [{ name: 'mcp.toJSON', handler: () => 1 }] })).toThrow(/tools\[0\]\.name/)
  })

  it('a tool name with a control character is a TypeError naming the field', () => {
    let thrown: unknown
    try {
      new ScriptHarness({ tools: [{ name: 'a\u0000b', handler: () => 1 }] })
    } catch (e) {
      thrown = e
    }
    expect(thrown).toBeInstanceOf(TypeError)
    expect(String((thrown as Error).message)).toMatch(/tools\[0\]\.name/)
  })

  it('unknown names with odd characters reject with ToolNotFoundError like any unknown tool', async () => {
    const r = await h.run(`const out = []
      for (const n of ['x\\u0000y', 'x\\ud800', '💥', 'a.b', ' ', '']) {
        try { await tools[n]({}); out.push('resolved') } catch (e) { out.push(e.name) } }
      return out`)
    expect(r.value).toEqual(Array(6).fill('ToolNotFoundError'))
  })
})

describe('budget and concurrency', () => {
  const inFlight = () => {
    const stats = { started: 0, inFlight: 0, max: 0, aborted: 0 }
    const tool: ToolDefinition = {
      name: 'work',
      handler: (a: any, ctx) =>
        new Promise((resolve, reject) => {
          stats.started++
          stats.inFlight++
          stats.max = Math.max(stats.max, stats.inFlight)
          const t = setTimeout(() => { stats.inFlight--; resolve(a.i) }, a.ms ?? 2)
          ctx.signal.addEventListener('abort', () => { clearTimeout(t); stats.inFlight--; stats.aborted++; reject(ctx.signal.reason) })
        }),
    }
    return { stats, tool }
  }

  it('F30 Promise.all of 1000 calls starts maxToolCalls handlers, never more than maxConcurrentToolCalls at once, and refuses the rest', async () => {
    const { stats, tool } = inFlight()
    const hb = new ScriptHarness({ workers: 1, tools: [tool] })
    const r = await hb.run(`const settled = await Promise.allSettled(Array.from({ length: 1000 }, (_, i) => tools.work({ i })))
      const counts = {}
      for (const s of settled) { const k = s.status === 'fulfilled' ? 'ok' : s.reason.name; counts[k] = (counts[k] || 0) + 1 }
      return counts`)
    await hb.close()
    expect(r.value).toEqual({ ok: 32, ToolBudgetExceededError: 968 })
    expect(stats).toMatchObject({ started: 32, max: 4 })
    expect(r.toolCalls.length).toBe(32)
    expect(r.metadata.toolCallsMade).toBe(32)
  })

  it('an uncaught budget error in Promise.all ends the script with its code; calls in flight are aborted, queued ones never start', async () => {
    const { stats, tool } = inFlight()
    const hb = new ScriptHarness({ workers: 1, tools: [tool] })
    const r = await hb.run('const all = Array.from({ length: 1000 }, (_, i) => tools.work({ i, ms: 1000 }))\nreturn (await Promise.all(all)).length')
    await sleep(20)
    await hb.close()
    expectError(r, 'ToolBudgetExceededError', {
      phase: 'executing',
      toolName: 'work',
      line: 1,
      retryable: false,
      message: 'tools.work was not called: the script already made its 32 allowed tool calls',
    })
    expect(r.toolCalls.map((c) => c.status)).toEqual(Array(32).fill('aborted'))
    expect(stats).toMatchObject({ started: 4, max: 4, aborted: 4 })
  })

  it('a raised budget: 1000 calls complete with never more than maxConcurrentToolCalls in flight, in call order', async () => {
    const { stats, tool } = inFlight()
    const hb = new ScriptHarness({ workers: 1, tools: [tool] })
    const r = await hb.run('const all = await Promise.all(Array.from({ length: 1000 }, (_, i) => tools.work({ i, ms: 0 }))); return all.every((v, i) => v === i)', {
      limits: { maxToolCalls: 1000, maxConcurrentToolCalls: 8 },
    })
    await hb.close()
    expect(r.value).toBe(true)
    expect(stats).toMatchObject({ started: 1000, max: 8 })
    expect(r.toolCalls.map((c) => (c.args as { i: number }).i)).toEqual(Array.from({ length: 1000 }, (_, i) => i))
  })

  it('maxToolCalls 0 refuses every call; every attempt counts toward the budget, refused ones (unknown tool, invalid arguments) included', async () => {
    const { hr, calls } = recording()
    const zero = await hr.run('try { await tools.rec({}) } catch (e) { return [e.name, e.message] }', { limits: { maxToolCalls: 0 } })
    expect(zero.value).toEqual(['ToolBudgetExceededError', 'tools.rec was not called: the script already made its 0 allowed tool calls'])
    // Refused calls leave records (the model is told of them), so they
    // count: otherwise a loop of them grows the result without bound.
    const refused = await hr.run(`const out = []
      for (let i = 0; i < 3; i++) { try { await tools.nope({}) } catch (e) { out.push(e.name) } }
      for (let i = 0; i < 3; i++) { try { await tools.typed({ n: 'x' }) } catch (e) { out.push(e.name) } }
      out.push((await tools.rec({ i: 1 })).got.i)
      try { await tools.rec({}) } catch (e) { out.push(e.name) }
      try { await tools.nope({}) } catch (e) { out.push(e.name) }
      return out`, { limits: { maxToolCalls: 7 } })
    await hr.close()
    expect(refused.value).toEqual(['ToolNotFoundError', 'ToolNotFoundError', 'ToolNotFoundError', 'ToolValidationError', 'ToolValidationError', 'ToolValidationError', 1, 'ToolBudgetExceededError', 'ToolBudgetExceededError'])
    expect(refused.toolCalls).toHaveLength(7)
    expect(calls).toEqual([[{ i: 1 }, 1]])
  })

  it('refused calls (unknown tool, invalid arguments) cannot grow the result, or the host\'s memory, without bound', async () => {
    // Each refused call is kept as a record with its arguments, outside the
    // sandbox's memory limit. Before refused calls counted toward
    // maxToolCalls, a 16 MB script made ~100 000 records in one second (a
    // 30 MB result), or with 1 MB arguments ~500 MB of host memory.
    const { hr } = recording()
    const [unknown, ms] = await timed(hr.run("const s = 'x'.repeat(1000); for (;;) { try { await tools.nope({ s }) } catch {} }", { limits: { timeoutMs: 300, memoryMb: 16 } }))
    const invalid = await hr.run("for (;;) { try { await tools.typed({ n: 'x' }) } catch {} }", { limits: { timeoutMs: 300, memoryMb: 16 } })
    await hr.close()
    expectError(unknown, 'ScriptTimeoutError')
    expect(ms).toBeLessThan(2000)
    expect({ unknown: unknown.toolCalls.length < 200, invalid: invalid.toolCalls.length < 200 }).toEqual({ unknown: true, invalid: true })
  })
})

describe('terminal states', () => {
  it('after a limit is hit no tool call starts, even from catch or finally (CONTRACT: terminal means nothing more happens)', async () => {
    const { hr, calls } = recording([], { workers: 1 })
    const timeout = await hr.run('while (true) { try { while (true) {} } catch {} finally { tools.rec({ from: "finally" }) } }', { limits: { timeoutMs: 100 } })
    const memory = await hr.run("try { const a = []; for (;;) a.push([1, 2, 3]) } catch {}\nawait tools.rec({ from: 'after memory' })\nreturn 'after'", { limits: { memoryMb: 16 } })
    const memoryMany = await hr.run("const p = []\ntry { const a = []; for (;;) a.push([1, 2, 3]) } catch { for (let i = 0; i < 5; i++) p.push(tools.rec({ i }).catch((e) => e.name)) }\nreturn await Promise.all(p)", { limits: { memoryMb: 16 } })
    await sleep(20)
    await hr.close()
    expectError(timeout, 'ScriptTimeoutError')
    expectError(memory, 'ScriptMemoryError')
    expectError(memoryMany, 'ScriptMemoryError')
    expect({ handlerCalls: calls, records: [timeout, memory, memoryMany].map((r) => r.toolCalls.length) }).toEqual({ handlerCalls: [], records: [0, 0, 0] })
  })

  it('no handler runs for a call made while the result is serialized or the thrown value described (the script has ended)', async () => {
    // Getters, toJSON and error accessors run after `return`/`throw`; a tool
    // call they make is started, its handler runs, and the record says
    // "aborted" although it completed.
    const { hr, calls } = recording([], { workers: 1 })
    const getter = await hr.run("return { get x() { tools.rec({ from: 'getter' }); return 1 } }")
    const toJSON = await hr.run("return { toJSON() { tools.rec({ from: 'toJSON' }); return 2 } }")
    const described = await hr.run("throw { get message() { tools.rec({ from: 'message' }); return 'm' } }")
    const errorAccessor = await hr.run("const e = new Error('x'); Object.defineProperty(e, 'message', { get() { tools.rec({ from: 'error message' }); return 'm' } }); throw e")
    await sleep(30)
    await hr.close()
    expect(getter.value).toEqual({ x: 1 })
    expect(toJSON.value).toBe(2)
    expectError(described, 'ScriptRuntimeError')
    expectError(errorAccessor, 'ScriptRuntimeError')
    expect(calls).toEqual([])
  })

  it('Promise.race with a foreign this or a hostile iterable cannot abort calls it does not hold, or break the harness', async () => {
    const r = await h.run(`const keep = tools.slow({ ms: 30, tag: 'keep' })
      const out = []
      try { Promise.race.call(undefined, [tools.echo({})]); out.push('allowed') } catch (e) { out.push(e.name) }
      try { await Promise.race({ [Symbol.iterator]() { throw new Error('iter') } }); out.push('allowed') } catch (e) { out.push(e.message) }
      const fake = function (executor) { executor(() => {}, () => {}) }
      try { Promise.race.call(fake, [keep]); out.push('allowed') } catch (e) { out.push(e.name) }
      out.push((await keep).tag)
      out.push(await Promise.race([tools.slow({ ms: 5, tag: 'fast' }), tools.slow({ ms: 5000, tag: 'slow' })]).then((v) => v.tag))
      return out`)
    expect(r.value).toEqual(['TypeError', 'iter', 'TypeError', 'keep', 'fast'])
    expect(r.toolCalls.map((c) => [(c.args as { tag?: string }).tag ?? c.toolName, c.status])).toEqual([
      ['keep', 'ok'],
      ['echo', 'ok'], // not a loser: the race threw before it held anything
      ['fast', 'ok'],
      ['slow', 'aborted'],
    ])
  })
})

describe('tool names the frozen realm already has', () => {
  it('a tool or namespace named after an Object.prototype member is a tool, and every other script still runs', async () => {
    const members = Object.getOwnPropertyNames(Object.prototype).filter((k) => /^[A-Za-z_$][\w$]*$/.test(k) && !['constructor', '__proto__'].includes(k))
    const tools: ToolDefinition[] = [
      ...members.map((name) => ({ name, handler: () => name })),
      ...members.map((name) => ({ name: `ns.${name}`, handler: () => `ns.${name}` })),
    ]
    const h = new ScriptHarness({ tools })
    try {
      expect((await h.run('return 1 + 1')).value).toBe(2)
      const r = await h.run(`return [${members.map((m) => `await tools.${m}({}), await tools.ns.${m}({})`).join(', ')}]`)
      expect(r.value).toEqual(members.flatMap((m) => [m, `ns.${m}`]))
    } finally {
      await h.close()
    }
  })
})
