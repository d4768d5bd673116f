// The sandbox against hostile scripts: each test asserts the contract's
// precise outcome. Names start with their id in shared/design/TESTS.md.
import { afterAll, describe, expect, it } from 'vitest'
import { harness, newRecorder } from './tools'

const rec = newRecorder()
const h = harness({}, rec)
afterAll(() => h.close())

/** Runs `body` and returns what each probe did: 'allowed' or the error name. */
async function probes(body: string) {
  const r = await h.run(`
    const out = {}
    const probe = (k, f) => { try { f(); out[k] = 'allowed' } catch (e) { out[k] = e.name } }
    ${body}
    return out`)
  expect(r.error).toBeUndefined()
  return r.value as Record<string, string>
}

describe('escapes and host access', () => {
  it('S1 writing to Object.prototype or any intrinsic fails and nothing leaks to a later script', async () => {
    const out = await probes(`
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

  it('S2 tools cannot be replaced or modified', async () => {
    const out = await probes(`
      probe('replace', () => { tools.applyPatch = null })
      probe('add', () => { tools.extra = () => 1 })
      probe('delete', () => { delete tools.exec })
      probe('namespace', () => { tools.mcp.github.searchIssues = null })
      probe('fnProp', () => { tools.exec.x = 1 })
      probe('global', () => { globalThis.tools = {} })`)
    expect(Object.values(out).every((v) => v === 'TypeError')).toBe(true)
  })

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

  it('S9 eval throws inside the script', async () => {
    const out = await probes(`
      probe('direct', () => eval('1 + 1'))
      probe('indirect', () => (0, eval)('1 + 1'))
      probe('global', () => globalThis.eval('1'))`)
    expect(out).toEqual({ direct: 'TypeError', indirect: 'TypeError', global: 'TypeError' })
  })

  it('S10 every function constructor throws, reached by name or through prototypes', async () => {
    const out = await probes(`
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

  it('S11 process, require, module, fetch and timers are undefined', async () => {
    const r = await h.run(`return ['process', 'require', 'module', 'exports', 'fetch', 'setTimeout', 'setInterval',
      'setImmediate', 'clearTimeout', 'Buffer', 'XMLHttpRequest', 'WebSocket'].map((n) => typeof globalThis[n])`)
    expect(new Set(r.value as string[])).toEqual(new Set(['undefined']))
  })

  it('S12 context is deep-frozen: assigning to it throws', async () => {
    const out = await probes(`
      probe('turnId', () => { context.turnId = 'x' })
      probe('limits', () => { context.limits.timeoutMs = 1e9 })
      probe('tools', () => { context.tools.push('x') })
      probe('emit', () => { context.emitProgress = null })`)
    expect(Object.values(out).every((v) => v === 'TypeError')).toBe(true)
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
    const out = await probes(`
      probe('promiseCtor', () => { Promise.constructor = null })
      probe('promiseThen', () => { Promise.prototype.then = null })
      probe('math', () => { Math.random = () => 4 })
      probe('symbol', () => { Symbol.iterator = 1 })
      probe('iteratorProto', () => { Object.getPrototypeOf([][Symbol.iterator]()).next = null })
      probe('typedArray', () => { Object.getPrototypeOf(Int8Array).from = null })`)
    expect(Object.values(out).every((v) => v === 'TypeError')).toBe(true)
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

  it('S18 new Worker throws: no Worker, SharedArrayBuffer or Atomics', async () => {
    const out = await probes(`
      probe('worker', () => new Worker('x.js'))
      probe('sab', () => new SharedArrayBuffer(8))
      probe('atomics', () => Atomics.wait(new Int32Array(4), 0, 0))`)
    expect(out).toEqual({ worker: 'ReferenceError', sab: 'ReferenceError', atomics: 'ReferenceError' })
  })

  it('errors thrown by tools do not lead to host objects', async () => {
    const r = await h.run(`try { await tools.fail({}) } catch (e) {
      return [e.name, e.message, Object.getPrototypeOf(e) === Error.prototype, typeof e.stack === 'string' && e.stack.includes('/work') ] }`)
    expect(r.value).toEqual(['ToolExecutionError', 'disk on fire', true, false])
  })
})

describe('resource exhaustion', () => {
  it('S5 while (true) {} ends with ScriptTimeoutError at the configured limit', async () => {
    const t = Date.now()
    const r = await h.run('while (true) {}', { limits: { timeoutMs: 150 } })
    expect(r.error).toMatchObject({ code: 'ScriptTimeoutError', retryable: true })
    expect(Date.now() - t).toBeGreaterThanOrEqual(140)
    // Catching the interrupt does not help: limits are terminal.
    const caught = await h.run('for (;;) { try { while (true) {} } catch (e) {} }', { limits: { timeoutMs: 100 } })
    expect(caught.error?.code).toBe('ScriptTimeoutError')
  })

  it('S5 a catastrophic regex is stopped too', async () => {
    const r = await h.run("return /^(a+)+$/.test('a'.repeat(40) + 'b')", { limits: { timeoutMs: 150 } })
    expect(r.error?.code).toBe('ScriptTimeoutError')
  })

  it('S6 a self-scheduling promise chain ends with ScriptTimeoutError', async () => {
    const r = await h.run('const spin = () => Promise.resolve().then(spin); spin(); await new Promise(() => {})', {
      limits: { timeoutMs: 150 },
    })
    expect(r.error?.code).toBe('ScriptTimeoutError')
    const awaitLoop = await h.run('while (true) await null', { limits: { timeoutMs: 150 } })
    expect(awaitLoop.error?.code).toBe('ScriptTimeoutError')
  })

  it('S7 allocation bombs end with ScriptMemoryError', async () => {
    const limits = { memoryMb: 16 }
    for (const bomb of [
      'new Array(1e9).fill(0)',
      "let s = 'x'; while (true) s = s.repeat(2)",
      "return 'x'.repeat(2 ** 29).length",
      'const a = []; while (true) a.push({ a: 1, b: [1, 2, 3] })',
      'const m = new Map(); for (let i = 0; ; i++) m.set(i, String(i))',
      'new Uint8Array(1024 * 1024 * 1024)',
      "try { new Array(1e9).fill(0) } catch (e) {} return 'survived'",
    ]) {
      const r = await h.run(bomb, { limits })
      expect(r.error?.code, bomb).toBe('ScriptMemoryError')
    }
  })

  it('S8 unbounded recursion ends with ScriptStackOverflowError', async () => {
    const r = await h.run('function f(n) { return f(n + 1) + 1 }\nreturn f(0)')
    expect(r.error?.code).toBe('ScriptStackOverflowError')
    const mutual = await h.run('const a = (n) => b(n) + 1; const b = (n) => a(n) + 1; return a(0)')
    expect(mutual.error?.code).toBe('ScriptStackOverflowError')
  })

  it('S15 a hung script is stopped and the host keeps working', async () => {
    const hung = h.run('while (true) {}', { limits: { timeoutMs: 200 } })
    // The main thread stays free while the sandbox spins.
    const ticks: number[] = []
    const start = Date.now()
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        ticks.push(Date.now() - start)
        if (ticks.length === 5) {
          clearInterval(timer)
          resolve()
        }
      }, 10)
    })
    expect(ticks[4]).toBeLessThan(150)
    expect((await hung).error?.code).toBe('ScriptTimeoutError')
    expect((await h.run('return "next"')).value).toBe('next')
  })

  it('S19 a return value over maxReturnBytes gives ReturnValueTooLargeError', async () => {
    const r = await h.run("return 'é'.repeat(600)", { limits: { maxReturnBytes: 1000 } })
    expect(r.error).toMatchObject({ code: 'ReturnValueTooLargeError', phase: 'finalizing' })
    const ok = await h.run("return 'é'.repeat(400)", { limits: { maxReturnBytes: 1000 } })
    expect(ok.ok).toBe(true)
  })

  it('console floods are capped at maxLogEvents', async () => {
    const r = await h.run("for (let i = 0; i < 10000; i++) console.log('x'.repeat(100), i)", { limits: { maxLogEvents: 20 } })
    expect(r.ok).toBe(true)
    expect(r.logs.length).toBe(21)
    expect(r.logs[20]).toEqual({ level: 'warn', message: expect.stringContaining('9980 more console entries were dropped') })
  })

  it('oversized scripts are refused with ScriptTooLargeError', async () => {
    const r = await h.run(`return '${'x'.repeat(30_000)}'`)
    expect(r.error).toMatchObject({ code: 'ScriptTooLargeError', phase: 'parsing' })
  })

  it('pathological return values give SerializationError', async () => {
    for (const src of [
      'const a = {}; a.self = a; return a',
      'return { get boom() { throw new Error("no") } }',
      'return 10n',
      'return Symbol("s")',
      'return () => 1',
      'return { f() {} , nested: [1, () => 2] }',
    ]) {
      const r = await h.run(src)
      expect(r.error?.code, src).toBe('SerializationError')
    }
    const loop = await h.run('return { get x() { while (true) {} } }', { limits: { timeoutMs: 100 } })
    expect(loop.error?.code).toBe('ScriptTimeoutError')
  })
})

describe('tool abuse', () => {
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

  it('tool names like __proto__ and constructor are not tools', async () => {
    const r = await h.run(`return [typeof tools.__proto__, typeof tools.constructor, tools.then, await tools.nope({}).catch((e) => e.name)]`)
    expect(r.value).toEqual(['object', 'function', null, 'ToolNotFoundError'])
  })
})
