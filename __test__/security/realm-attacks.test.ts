// Red team of `isolation: 'pooled'` (a hardened realm reused script after
// script on a worker) and of the per-compiled-script bytecode cache.
//
// The first tests are regressions of what a red team found and was fixed
// (2026-12-03): a trace script 1 left that changed what script 2 (same
// worker, same realm) saw or could do, compared with a fresh realm. The rest
// are attacks that did not work and must keep not working.
//
// Every test uses `workers: 1`, so consecutive scripts share a realm in
// pooled mode (checked through `stats().realmsReused` where it matters).
import { afterEach, describe, expect, it } from 'vitest'
import { type HarnessLimits, ScriptHarness, type ScriptHarnessOptions, type ScriptResult } from '../../index.js'

type Isolation = NonNullable<ScriptHarnessOptions['isolation']>

const open: ScriptHarness[] = []
afterEach(async () => {
  await Promise.all(open.splice(0).map((h) => h.close()))
})

interface Rig {
  h: ScriptHarness
  echoes: Array<{ scriptId: string; args: any }>
}

function rig(isolation: Isolation, extra: Partial<ScriptHarnessOptions> = {}): Rig {
  const echoes: Rig['echoes'] = []
  const h = new ScriptHarness({
    workers: 1,
    isolation,
    tools: [
      {
        name: 'echo',
        handler: (args: any, ctx: { scriptId: string }) => {
          echoes.push({ scriptId: ctx.scriptId, args })
          return args
        },
      },
      { name: 'late', handler: (args: any) => new Promise((resolve) => setTimeout(() => resolve(args ?? null), args?.ms ?? 50)) },
    ],
    ...extra,
  } as ScriptHarnessOptions)
  open.push(h)
  return { h, echoes }
}

const outcome = (r: ScriptResult) => (r.ok ? { ok: true, value: r.value } : { ok: false, code: r.error?.code, message: r.error?.message })

/** Runs `first` then `second` on a one-worker harness of each isolation mode; returns script 2's outcomes. */
async function pair(first: string, second: string, o1?: { limits?: Partial<HarnessLimits> }, o2?: { limits?: Partial<HarnessLimits> }) {
  const pooled = rig('pooled')
  const p1 = await pooled.h.run(first, o1)
  const p2 = await pooled.h.run(second, o2)
  const reused = pooled.h.stats().realmsReused
  const fresh = rig('script')
  const f1 = await fresh.h.run(first, o1)
  const f2 = await fresh.h.run(second, o2)
  return { p1, p2, f1, f2, reused }
}

// ---------------------------------------------------------------------------
// (3) limits in a reused realm: QuickJS's automatic-GC threshold

/** ~200 MB of small cyclic garbage (never more than a few hundred KB live). */
const CYCLIC_GARBAGE = (n: number) =>
  `let made = 0
  for (let i = 0; i < ${n}; i++) { const o = { a: new Array(2048).fill(i) }; o.self = o; made++ }
  return made`
/** Holds `arrays` × ~256 KiB live at once, then lets it all go (refcounting frees it on return). */
const HOLD = (arrays: number) =>
  `const keep = []
  for (let i = 0; i < ${arrays}; i++) keep.push(new Array(16384).fill(i))
  return keep.length`

describe('regression: the GC threshold script 1 raised stayed with the realm', () => {
  // QuickJS runs its cycle collector when malloc_size exceeds
  // rt->malloc_gc_threshold, then sets the threshold to 1.5 × the heap left.
  // Realm::build sets it to 4 MiB; nothing resets it between scripts
  // (Realm::enter / recycle / Tripwires::start_script), so a script that held
  // a large heap leaves the next script a realm that does not collect cycles
  // until far past that script's own memoryMb.
  it('S1 script 2 (memoryMb 16, cyclic garbage) is killed with ScriptMemoryError after script 1 held ~40 MB', async () => {
    const { p1, p2, f2, reused } = await pair(HOLD(160), CYCLIC_GARBAGE(3000), undefined, { limits: { memoryMb: 16 } })
    expect(p1.ok).toBe(true)
    expect(reused).toBeGreaterThanOrEqual(1)
    expect(outcome(f2)).toEqual({ ok: true, value: 3000 })
    // Observed: { ok: false, code: 'ScriptMemoryError', message: 'the script used more than its 16 MB memory limit' }
    expect(outcome(p2)).toEqual(outcome(f2))
  })

  it('S1 with default limits (96 MB), script 2 is killed after script 1 legitimately used ~90 MB', async () => {
    const { p1, p2, f2, reused } = await pair(HOLD(330), CYCLIC_GARBAGE(6000))
    expect(p1.ok).toBe(true)
    expect(p1.metadata.memoryUsedMb!).toBeLessThan(96)
    expect(reused).toBeGreaterThanOrEqual(1)
    expect(outcome(f2)).toEqual({ ok: true, value: 6000 })
    // Observed: ScriptMemoryError, memoryUsedMb 96.
    expect(outcome(p2)).toEqual(outcome(f2))
  })
})

// ---------------------------------------------------------------------------
// The bytecode cache

describe('regression: cached bytecode skipped the parse, and with it the script\'s stack limit at parse time', () => {
  // compile_in parses under the script's maxStackBytes; the bytes are then
  // cached in the CompiledScript (per harness, both isolation modes). The
  // same source with the same limits fails on a harness that never ran it,
  // and succeeds once any script ran it with a bigger stack.
  const DEEP = `return ${'['.repeat(3000)}${']'.repeat(3000)}.length`
  const small = { limits: { maxStackBytes: 65536, maxSourceBytes: 100_000 } }
  const big = { limits: { maxStackBytes: 4 * 1024 * 1024, maxSourceBytes: 100_000 } }

  it('S1 the same script and limits give ScriptStackOverflowError or success depending on an earlier script', async () => {
    const alone = await rig('pooled').h.run(DEEP, small)
    expect(alone.error?.code).toBe('ScriptStackOverflowError')
    const r = rig('pooled')
    expect((await r.h.run(DEEP, big)).value).toBe(1)
    const after = await r.h.run(DEEP, small)
    // Observed: { ok: true, value: 1 }.
    expect(outcome(after)).toEqual(outcome(alone))
  })

  it('S1 the same source in a ts fence and a js fence: results do not depend on which ran first', async () => {
    const src = 'const x: number = 41\nreturn x + 1'
    const runAs = async (h: ScriptHarness, lang: 'ts' | 'js') => {
      const text = '```' + lang + ' tool-calls\n' + src + '\n```'
      const turn: any = await h.processResponse('responses', [{ type: 'message', role: 'assistant', content: [{ type: 'output_text', text }] }])
      const r = turn.scripts[0] as ScriptResult
      return r.ok ? r.value : r.error?.code
    }
    const r = rig('pooled')
    const seq = [await runAs(r.h, 'ts'), await runAs(r.h, 'js'), await runAs(r.h, 'ts'), await runAs(r.h, 'js')]
    const ref = [await runAs(rig('script').h, 'ts'), await runAs(rig('script').h, 'js')]
    // (Side observation: the binding submits every script as 'ts', fenced ```js ones included, so ref is
    // [42, 42] today; had 'js' reached the compiler it would be a ScriptSyntaxError.)
    expect(seq).toEqual([...ref, ...ref])
  })

  it('S1 a script run twice from the same cached bytecode gets new private names, template objects and closures', async () => {
    const src = `
      const tag = (s) => s
      const t = tag\`x\`
      const seenOnTemplate = typeof t.rtSeen
      try { t.rtSeen = context.scriptId } catch {}
      class R { constructor(o) { return o } }
      class S extends R { #m = 1; static has(o) { try { return #m in o } catch { return 'throws' } } }
      const stamp = (o) => { try { new S(o); return 'stamped' } catch (e) { return e.name } }
      return {
        before: [S.has(Array.prototype), S.has(tools), S.has(Object.prototype)],
        stamp: [stamp(Array.prototype), stamp(Object.prototype), stamp(globalThis)],
        // QuickJS-ng does not freeze template objects (a spec deviation, same on a fresh realm);
        // what matters here is that the cached bytecode gives each run its own.
        frozenTemplate: Object.isFrozen(t) && Object.isFrozen(t.raw),
        seenOnTemplate,
      }`
    const r = rig('pooled')
    const a = await r.h.run(src)
    const b = await r.h.run(src)
    const ref = await rig('script').h.run(src)
    expect(r.h.stats().realmsReused).toBeGreaterThanOrEqual(1)
    expect(a.value).toEqual(ref.value)
    expect(b.value).toEqual(ref.value)
    expect(b.value).toMatchObject({ before: [false, false, false], stamp: ['TypeError', 'TypeError', 'TypeError'], seenOnTemplate: 'undefined' })
  })
})

// ---------------------------------------------------------------------------
// (1) traces script 1 might leave that script 2 reads

describe('traces of script 1 in script 2', () => {
  const MARK = 'rtMarkScriptOne'

  it('S1 hidden intrinsics a script can reach without naming them are frozen (lazy builtins, zip, concat, disposables, DOMException)', async () => {
    const probe = `
      const f = (x) => Object.isFrozen(x)
      const P = Object.getPrototypeOf
      const out = {
        fromAsync: f(Array.fromAsync), zip: f(Iterator.zip), zipKeyed: f(Iterator.zipKeyed),
        concatProto: f(P(Iterator.concat([]))), zipProto: f(P(Iterator.zip([[1]]))),
        disposable: f(P(new DisposableStack())), asyncDisposable: f(P(new AsyncDisposableStack())),
        domex: f(P(new DOMException('x'))), suppressed: f(SuppressedError.prototype),
        ctorAccessor: (() => { const d = Object.getOwnPropertyDescriptor(Iterator.prototype, 'constructor'); return f(d.get) && f(d.set) })(),
        tagAccessor: (() => { const d = Object.getOwnPropertyDescriptor(Iterator.prototype, Symbol.toStringTag); return f(d.get) && f(d.set) })(),
        fromAsyncErrorProto: await Array.fromAsync([], 5).then(() => 'no', (e) => P(e) === TypeError.prototype),
        zipErrorProto: (() => { try { Iterator.zip(5) } catch (e) { return P(e) === TypeError.prototype } })(),
        throwTypeError: f(Object.getOwnPropertyDescriptor(Function.prototype, 'caller').get),
      }
      // Writes script 1 tries on them
      const w = []
      const t = (k, g) => { try { g(); w.push(k) } catch {} }
      t('fromAsync.x', () => { Array.fromAsync.x = '${MARK}' })
      t('zip.x', () => { Iterator.zip.x = '${MARK}' })
      t('concatProto.next', () => { P(Iterator.concat([])).next = null })
      t('disposableProto', () => { P(new DisposableStack()).use = null })
      t('domexProto', () => { P(new DOMException('x')).x = 1 })
      t('queueMicrotask', () => { queueMicrotask.x = 1 })
      t('ctorSetterOnProto', () => { Iterator.prototype.constructor = Object })
      t('zipResult', () => { const it = Iterator.zip([[1]]); it.next = null })
      return { out, w, checks: [typeof Array.fromAsync.x, typeof Iterator.zip.x, typeof P(Iterator.concat([])).next] }`
    const { p1, p2, f2, reused } = await pair(probe, probe)
    expect(reused).toBeGreaterThanOrEqual(1)
    expect(p1.value).toMatchObject({ out: Object.fromEntries(Object.keys((p1.value as any).out).map((k) => [k, true])), w: ['zipResult'] })
    expect(p2.value).toEqual(f2.value)
    expect(p2.value).toEqual(p1.value)
  })

  it('S1 stack strings, captured traces and harness errors of script 2 never mention script 1 (uncaught error, microtask throw, error_back_trace)', async () => {
    const first = `
      function ${MARK}Fn() { queueMicrotask(function ${MARK}Job() { throw new Error('${MARK} job') }); throw new Error('${MARK} uncaught') }
      ${MARK}Fn()`
    const second = `
      const texts = []
      texts.push(new Error('x').stack)
      const o = {}; Error.captureStackTrace(o); texts.push(o.stack)
      try { null.x } catch (e) { texts.push(String(e.stack), e.message) }
      try { await tools.nope({}) } catch (e) { texts.push(String(e.stack), e.message) }
      try { await tools.echo({ f() {} }) } catch (e) { texts.push(String(e.stack), e.message) }
      texts.push(String(Symbol.for('${MARK}').description === '${MARK}'))
      return texts.filter((t) => String(t).includes('${MARK}') && !String(t).startsWith('true')).length`
    const { p1, p2, f2, reused } = await pair(first, second)
    expect(p1.error?.code).toBe('ScriptRuntimeError')
    expect(reused).toBeGreaterThanOrEqual(1)
    expect(outcome(p2)).toEqual({ ok: true, value: 0 })
    expect(outcome(p2)).toEqual(outcome(f2))
    // And an uncaught error of script 2 carries script 2's stack only.
    const r = rig('pooled')
    await r.h.run(first)
    const err = await r.h.run("function two() { throw new Error('two') }\ntwo()")
    expect(err.error?.stack ?? '').not.toContain(MARK)
    expect(err.error?.message).toBe('Error: two')
    // So does a stack overflow's (it ends the script: nothing catches it).
    const overflow = await r.h.run('(function d() { d() })()')
    expect(overflow.error?.code).toBe('ScriptStackOverflowError')
    expect(JSON.stringify(overflow.error)).not.toContain(MARK)
  })

  it('S1 a microtask that throws past every handler in script 1 leaves nothing script 2 sees', async () => {
    const first = `queueMicrotask(() => { throw { secret: '${MARK}', tools, console, context } }); await null; return 'one'`
    const second = `
      const r = []
      try { [].reduce((a) => a) } catch (e) { r.push(e.message) }
      try { JSON.parse('{') } catch (e) { r.push(e.name) }
      try { await Promise.reject() } catch (e) { r.push(String(e)) }
      try { for (const x of { [Symbol.iterator]() { return { next() { throw undefined } } } }) {} } catch (e) { r.push(String(e)) }
      return r`
    const { p1, p2, f2, reused } = await pair(first, second)
    expect(outcome(p1)).toEqual({ ok: true, value: 'one' })
    expect(reused).toBeGreaterThanOrEqual(1)
    expect(outcome(p2)).toEqual(outcome(f2))
  })

  it('S1 the Symbol registry, RegExp statics and Error.captureStackTrace targets do not carry script 1\'s values', async () => {
    const first = `
      const s = Symbol.for('${MARK}');
      /(${MARK})/.exec('${MARK}');
      try { Error.captureStackTrace(Object.prototype) } catch {}
      try { Error.captureStackTrace(Symbol.prototype) } catch {}
      try { Error.captureStackTrace(Error) } catch {}
      return 'planted'`
    const second = `return {
      registry: [Symbol.keyFor(Symbol.for('${MARK}')), Symbol.for('${MARK}') === Symbol.for('${MARK}')],
      statics: [RegExp.$1, RegExp.lastMatch, RegExp.input, RegExp.leftContext].map(String),
      stacks: ['stack' in Object.prototype, 'stack' in Symbol.prototype, Object.hasOwn(Error, 'stack')],
    }`
    const { p1, p2, f2, reused } = await pair(first, second)
    expect(outcome(p1)).toEqual({ ok: true, value: 'planted' })
    expect(reused).toBeGreaterThanOrEqual(1)
    expect(outcome(p2)).toEqual(outcome(f2))
  })

  it('S1 the max recursion depth of script 2 does not depend on script 1 (stack limits of 4 MiB, 64 KiB)', async () => {
    // An overflow ends the script, so the depth reached is read from its
    // last log line (one every 10 levels).
    const probe = 'const f = (d) => { if (d % 10 === 0) console.log(String(d)); f(d + 1) }; f(0)'
    const depth = async (h: ScriptHarness, limits = {}) => {
      const r = await h.run(probe, { limits: { maxLogEvents: 100_000, ...limits } })
      expect(r.error?.code).toBe('ScriptStackOverflowError')
      return Number(r.logs.at(-1)?.message)
    }
    const r = rig('pooled')
    await depth(r.h, { maxStackBytes: 4 * 1024 * 1024 })
    const afterBig = await depth(r.h)
    await depth(r.h, { maxStackBytes: 65536 })
    const afterSmall = await depth(r.h)
    const small = await depth(r.h, { maxStackBytes: 65536 })
    // Each overflow discards its realm; the next script gets a fresh one.
    expect(r.h.stats().realmsBuilt).toBeGreaterThanOrEqual(5)
    const ref = await depth(rig('script').h)
    const refSmall = await depth(rig('script').h, { maxStackBytes: 65536 })
    expect(ref).toBeGreaterThan(100)
    for (const d of [afterBig, afterSmall]) expect(Math.abs(d - ref)).toBeLessThanOrEqual(Math.max(10, Math.ceil(ref * 0.05)))
    expect(Math.abs(small - refSmall)).toBeLessThanOrEqual(Math.max(10, Math.ceil(refSmall * 0.1)))
  })

  it('S1 Math.random: draws of consecutive scripts on one realm share no values and no stream', async () => {
    const r = rig('pooled')
    const runs: number[][] = []
    for (let i = 0; i < 4; i++) runs.push((await r.h.run('return Array.from({ length: 200 }, () => Math.random())')).value as number[])
    expect(r.h.stats().realmsReused).toBeGreaterThanOrEqual(3)
    expect(new Set(runs.flat()).size).toBe(800)
  })
})

// ---------------------------------------------------------------------------
// (2) dirty finishes, and a clumsy host

describe('dirty finishes are not reused; a clumsy host neither crashes nor hangs', () => {
  it('S1 a thrown Proxy whose getPrototypeOf trap (run by describe, after the end) never returns ends by timeout, and the realm is rebuilt', async () => {
    const r = rig('pooled')
    await r.h.run('return 0')
    const built = r.h.stats().realmsBuilt
    const first = await r.h.run("throw new Proxy({}, { getPrototypeOf() { for (;;) {} } })", { limits: { timeoutMs: 200 } })
    expect(first.error?.code).toBe('ScriptTimeoutError')
    const t0 = Date.now()
    const second = await r.h.run('return 6 * 7', { limits: { timeoutMs: 1000 } })
    expect(outcome(second)).toEqual({ ok: true, value: 42 })
    expect(Date.now() - t0).toBeLessThan(500)
    expect(r.h.stats().realmsBuilt).toBeGreaterThan(built)
  })

  it('S1 a memory tripwire fired by queued tool arguments (not the heap) makes the realm dirty', async () => {
    const r = rig('pooled')
    await r.h.run('return 0')
    const built = r.h.stats().realmsBuilt
    const first = await r.h.run(
      `const big = 'x'.repeat(900000)
      const ps = []
      for (let i = 0; i < 30; i++) ps.push(tools.late({ ms: 200, big }).catch((e) => e.name))
      return await Promise.all(ps)`,
      { limits: { memoryMb: 8, maxToolCalls: 64, maxConcurrentToolCalls: 64, maxToolArgBytes: 2_000_000 } },
    )
    expect(first.error?.code).toBe('ScriptMemoryError')
    const second = await r.h.run(CYCLIC_GARBAGE(300), { limits: { memoryMb: 8 } })
    expect(outcome(second)).toEqual({ ok: true, value: 300 })
    expect(r.h.stats().realmsBuilt).toBeGreaterThan(built)
  })

  it('S1 a value a microtask of script 1 throws past every handler is not kept in the runtime after it ends', async () => {
    // The job's exception used to stay in the runtime's pending exception
    // after the script ended; it is taken at once, so a big one neither
    // stays nor costs the realm.
    const r = rig('pooled')
    await r.h.run('return 0')
    const before = r.h.stats()
    const big = await r.h.run("queueMicrotask(() => { throw 'x'.repeat(400000) + context.scriptId }); await null; return 'one'")
    expect(outcome(big)).toEqual({ ok: true, value: 'one' })
    expect(outcome(await r.h.run('return 1'))).toEqual({ ok: true, value: 1 })
    const after = r.h.stats()
    expect(after.realmsBuilt).toBe(before.realmsBuilt)
    expect(after.realmsReused).toBe(before.realmsReused + 2)
  })

  it('S1 a call still waiting for approval when the script returns: the handler never runs, the next script is unaffected', async () => {
    const calls: string[] = []
    let h!: ScriptHarness
    h = new ScriptHarness({
      workers: 1,
      tools: [
        { name: 'guarded', requiresApproval: true, handler: (_a: unknown, ctx: { scriptId: string }) => (calls.push(ctx.scriptId), 1) },
        { name: 'echo', handler: (a: unknown) => a },
      ],
      onApproval: () => new Promise((resolve) => setTimeout(() => resolve('approved'), 100)),
    } as ScriptHarnessOptions)
    open.push(h)
    const first = await h.run("tools.guarded({}).catch(() => {}); return 'left'")
    const second = await h.run('return await tools.echo({ two: 1 })')
    await new Promise((resolve) => setTimeout(resolve, 250))
    expect(outcome(first)).toEqual({ ok: true, value: 'left' })
    expect(first.toolCalls.map((c) => c.status)).toEqual(['aborted'])
    expect(outcome(second)).toEqual({ ok: true, value: { two: 1 } })
    expect(calls).toEqual([])
  })

  it('S1 re-entrant hosts: nested run() from handlers on one worker, close() from a handler, hostile handler results', async () => {
    let h!: ScriptHarness
    const cyclic: any = {}
    cyclic.self = cyclic
    h = new ScriptHarness({
      workers: 1,
      tools: [
        { name: 'nested', handler: async (a: { src: string }) => { const r = await h.run(a.src); return r.ok ? r.value : r.error?.code } },
        { name: 'echo', handler: (a: unknown) => a },
        { name: 'bigint', handler: () => ({ n: 10n }) },
        { name: 'cyclic', handler: () => cyclic },
        { name: 'throwsJSON', handler: () => ({ toJSON() { throw new Error('boom') } }) },
        { name: 'rerunInJSON', handler: () => ({ toJSON() { void h.run('return 5'); return 'x' } }) },
        { name: 'trap', handler: () => new Proxy({}, { ownKeys() { throw new Error('trap') } }) },
        { name: 'huge', handler: () => 'x'.repeat(20 * 1024 * 1024) },
      ],
    } as ScriptHarnessOptions)
    open.push(h)
    const nested = await h.run(`return await tools.nested({ src: "return await tools.nested({ src: 'return await tools.echo({ d: 3 })' })" })`)
    expect(outcome(nested)).toEqual({ ok: true, value: { d: 3 } })
    for (const t of ['bigint', 'cyclic', 'throwsJSON', 'trap', 'huge']) {
      const r = await h.run(`try { await tools.${t}({}); return 'no' } catch (e) { return e.name }`)
      expect(outcome(r), t).toEqual({ ok: true, value: 'ToolExecutionError' })
    }
    expect(outcome(await h.run('return await tools.rerunInJSON({})'))).toEqual({ ok: true, value: 'x' })
    // close() from inside a handler while another script spins on the only worker
    let h2!: ScriptHarness
    h2 = new ScriptHarness({
      workers: 1,
      tools: [{ name: 'closer', handler: async () => { await new Promise((r) => setTimeout(r, 50)); await h2.close(); return 1 } }],
    } as ScriptHarnessOptions)
    const t0 = Date.now()
    const a = h2.run('return await tools.closer({})', { limits: { timeoutMs: 5000 } })
    const b = h2.run('for (;;) {}', { limits: { timeoutMs: 5000 } })
    expect([(await a).error?.code, (await b).error?.code]).toEqual(['ScriptCancelledError', 'ScriptCancelledError'])
    expect(Date.now() - t0).toBeLessThan(1000)
    expect(h.stats()).toMatchObject({ workerRestarts: 0, activeScripts: 0, pendingToolCalls: 0 })
  })

  it('S1 an abort fired while script 1 is finishing (in its toJSON) ends it cancelled and the realm is not reused', async () => {
    const r = rig('pooled')
    await r.h.run('return 0')
    const built = r.h.stats().realmsBuilt
    const ac = new AbortController()
    const first = r.h.run("await tools.late({ ms: 30 }); return { toJSON() { const t = Date.now(); while (Date.now() - t < 300) {} return 'v' } }", { signal: ac.signal })
    setTimeout(() => ac.abort(), 120)
    expect((await first).error?.code).toBe('ScriptCancelledError')
    expect(outcome(await r.h.run('return 1'))).toEqual({ ok: true, value: 1 })
    expect(r.h.stats().realmsBuilt).toBeGreaterThan(built)
  })
})
