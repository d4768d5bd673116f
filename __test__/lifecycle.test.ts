// Construction, options, cancellation, closing and threads.
import { execFileSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { ScriptHarness } from '../index.js'
import { harness, newRecorder } from './tools'

describe('construction', () => {
  it('bad options throw a TypeError naming the field', () => {
    const cases: Array<[unknown, string]> = [
      [undefined, 'options'],
      [{}, 'options.tools'],
      [{ tools: [{ name: 'x' }] }, 'options.tools[0].handler'],
      [{ tools: [{ name: 'a-b', handler() {} }] }, 'options.tools[0].name'],
      [{ tools: [{ name: 'x', handler() {} }, { name: 'x', handler() {} }] }, 'options.tools[1].name'],
      // A hole is a missing definition, not a raw conversion error.
      [{ tools: [, { name: 'x', handler() {} }] }, 'options.tools[0]: must be an object'],
      [{ tools: [], limits: { timeoutMs: -1 } }, 'options.limits.timeoutMs'],
      [{ tools: [], limits: { memoryMb: 'big' } }, 'options.limits.memoryMb'],
      [{ tools: [], limits: { maxStackBytes: 64 * 1024 * 1024 } }, 'options.limits.maxStackBytes'],
      [{ tools: [], limits: { timeoutMS: 5 } }, 'options.limits.timeoutMS'],
      [{ tools: [], mode: 'sometimes' }, 'options.mode'],
      [{ tools: [], workers: 0 }, 'options.workers'],
      [{ tools: [], context: { turnId: 3 } }, 'options.context.turnId'],
      [{ tools: [{ name: 'x', handler() {}, requiresApproval: 'yes' }] }, 'options.tools[0].requiresApproval'],
      [{ tools: [], holdEventLoopUs: -1 }, 'options.holdEventLoopUs'],
      [{ tools: [], holdEventLoopUs: 1001 }, 'options.holdEventLoopUs'],
      [{ tools: [], holdEventLoopUs: 2.5 }, 'options.holdEventLoopUs'],
      [{ tools: [], holdEventLoopUs: '50' }, 'options.holdEventLoopUs'],
    ]
    for (const [options, field] of cases) {
      expect(() => new ScriptHarness(options as any), field).toThrow(TypeError)
      expect(() => new ScriptHarness(options as any), field).toThrow(field)
    }
  })

  it('bad run options throw a TypeError naming the field', async () => {
    const h = harness()
    await expect(h.run('return 1', { signal: {} as any })).rejects.toThrow('options.signal')
    await expect(h.run('return 1', { limits: { orphanGraceMs: 1e9 } })).rejects.toThrow(TypeError)
    await h.close()
  })
})

describe('running', () => {
  it('sync and async handlers both work, and calls overlap', async () => {
    const h = new ScriptHarness({
      tools: [
        { name: 'sync', handler: (a: any) => a.n * 2 },
        { name: 'async', handler: async (a: any) => a.n * 3 },
        { name: 'nothing', handler: () => undefined },
      ],
    })
    const r = await h.run('return [await tools.sync({ n: 1 }), await tools.async({ n: 1 }), await tools.nothing({})]')
    expect(r.value).toEqual([2, 3, null])
    await h.close()
  })

  it('tool results are the script\'s own values: it may sort, push and annotate them (CONTRACT, revised 2026-12-03)', async () => {
    const h = harness()
    const r = await h.run(`const res = await tools.echo({ a: { b: [3, 1, 2] } })
      res.a.b.sort(); res.a.b.push(4); res.seen = true
      return [Object.isFrozen(res), res]`)
    expect(r.value).toEqual([false, { a: { b: [1, 2, 3, 4] }, seen: true }])
    await h.close()
  })

  it('Promise.all over ten slow tools takes about one tool time', async () => {
    const h = harness({ limits: { maxConcurrentToolCalls: 10 } })
    const t = Date.now()
    const r = await h.run('return (await Promise.all(Array.from({ length: 10 }, () => tools.slow({ ms: 100 })))).length')
    expect(r.value).toBe(10)
    expect(Date.now() - t).toBeLessThan(400)
    await h.close()
  })

  it('a tool returning non-JSON fails the call, not the process', async () => {
    const h = new ScriptHarness({
      tools: [
        { name: 'cyclic', handler: () => { const a: any = {}; a.a = a; return a } },
        { name: 'bigint', handler: () => 10n },
        { name: 'throwsString', handler: () => { throw 'plain string' } },
      ],
    })
    const r = await h.run(`const out = []
      for (const t of ['cyclic', 'bigint', 'throwsString']) { try { await tools[t]({}) } catch (e) { out.push(e.name + ': ' + e.message) } }
      return out`)
    expect(r.value).toEqual([
      expect.stringMatching(/^ToolExecutionError: tools.cyclic returned a value that is not JSON/),
      expect.stringMatching(/^ToolExecutionError: tools.bigint returned a value that is not JSON/),
      'ToolExecutionError: plain string',
    ])
    await h.close()
  })

  it('every handler gets a ToolContext with a real AbortSignal that fires on timeout', async () => {
    const rec = newRecorder()
    const h = harness({}, rec)
    const r = await h.run('await tools.slow({ ms: 5000 })', { limits: { timeoutMs: 100 } })
    expect(r.error?.code).toBe('ScriptTimeoutError')
    await new Promise((res) => setTimeout(res, 20))
    expect(rec.aborted).toEqual([r.toolCalls[0].callId])
    await h.close()
  })

  it('RunOptions.signal cancels a script stuck in a CPU loop or awaiting a tool', async () => {
    const rec = newRecorder()
    const h = harness({}, rec)
    for (const src of ['while (true) {}', 'await tools.slow({ ms: 5000 })']) {
      const ac = new AbortController()
      setTimeout(() => ac.abort(), 50)
      const t = Date.now()
      const r = await h.run(src, { signal: ac.signal })
      expect(r.error?.code).toBe('ScriptCancelledError')
      expect(Date.now() - t).toBeLessThan(1000)
    }
    const pre = new AbortController()
    pre.abort()
    expect((await h.run('return 1', { signal: pre.signal })).error?.code).toBe('ScriptCancelledError')
    await h.close()
  })

  it('console output is captured with levels', async () => {
    const h = harness()
    const r = await h.run("console.log('a', 1, { b: 2 }); console.info('i'); console.warn('w'); console.error(new Error('e'))")
    expect(r.logs).toEqual([
      { level: 'log', message: 'a 1 {"b":2}' },
      { level: 'info', message: 'i' },
      { level: 'warn', message: 'w' },
      { level: 'error', message: 'Error: e' },
    ])
    await h.close()
  })

  it('runtime errors report script lines and script frames only', async () => {
    const h = harness()
    const r = await h.run('interface X { a: number }\nfunction helper(x: X): number {\n  return (x as any).missing.deep\n}\nreturn helper({ a: 1 })')
    expect(r.error).toMatchObject({ code: 'ScriptRuntimeError', line: 3, phase: 'executing' })
    expect(r.error?.message).toMatch(/^TypeError: /)
    expect(r.error?.stack).toContain('helper (script:3:')
    expect(r.error?.stack).not.toMatch(/harness|\/work|node_modules/)
    await h.close()
  })

  it('a forged harness error ends as ScriptRuntimeError', async () => {
    const h = harness()
    const r = await h.run("const e = new Error('nope'); e.name = 'ApprovalDeniedError'; throw e")
    expect(r.error?.code).toBe('ScriptRuntimeError')
    await h.close()
  })

  it('F16 threads are reused for many scripts, with nothing carried from one to the next', async () => {
    const h = new ScriptHarness({ tools: [{ name: 'echo', handler: (a) => a }], workers: 2 })
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        h.run(`const seen = typeof marker; try { globalThis.marker = ${i} } catch {} return [seen, (await tools.echo({ i: ${i} })).i]`),
      ),
    )
    expect(results.every((r, i) => r.ok && (r.value as any)[0] === 'undefined' && (r.value as any)[1] === i)).toBe(true)
    await h.close()
  })

  it('I9 the same scripts give the same results on every worker and after many runs', async () => {
    const h = new ScriptHarness({ tools: [{ name: 'echo', handler: (a) => a }], workers: 2 })
    const script = `const xs = Array.from({ length: 50 }, (_, i) => i * i)
      const m = new Map(xs.map((x) => [x, String(x)]))
      const r = await tools.echo({ sum: xs.reduce((a, b) => a + b, 0) })
      return { sum: r.sum, size: m.size, json: JSON.stringify([1.5, 'ü', null]), re: 'a1b22'.replace(/\\d+/g, '#'), date: new Date(0).toISOString() }`
    const first = await h.run(script)
    const all = await Promise.all(Array.from({ length: 40 }, () => h.run(script)))
    expect(all.every((r) => JSON.stringify(r.value) === JSON.stringify(first.value))).toBe(true)
    await h.close()
  })
})

describe('the Node thread\'s short waits (holdEventLoopUs)', () => {
  const echo = { name: 'echo', handler: (a: unknown) => a }
  // What a quick script's result or next call costs to read is a benchmark's
  // business (benches/RESULTS.md); here: when the thread waits, and that it
  // backs off.
  it('quick scripts and answered calls are waited for; 0 never waits', async () => {
    const on = new ScriptHarness({ tools: [echo] })
    const off = new ScriptHarness({ tools: [echo], holdEventLoopUs: 0 })
    for (const h of [on, off]) {
      for (let i = 0; i < 5; i++) {
        expect(await h.run('return await tools.echo({ i: 1 })')).toMatchObject({ ok: true, value: { i: 1 } })
      }
    }
    expect(on.stats().eventLoopHolds).toBeGreaterThan(0)
    expect(on.stats().eventLoopHeldUs).toBeGreaterThan(0)
    expect(off.stats()).toMatchObject({ eventLoopHolds: 0, eventLoopHeldUs: 0 })
    await Promise.all([on.close(), off.close()])
  })

  it('waits that run out back off: of ten slow scripts at most three are waited for', async () => {
    // Each script computes for about 5 ms, far past a 20 µs wait, and sends
    // nothing before its result. After a wait that runs out, the next 1,
    // then 3, then 7 are skipped (src/hold.rs tests the exact pattern): runs
    // 1, 3 and 7 wait at most. Fewer when the sandbox thread last ran on
    // the Node thread's own core: then a start is not waited for at all.
    const h = new ScriptHarness({ tools: [echo], holdEventLoopUs: 20, workers: 1 })
    const slow = 'const end = Date.now() + 5; let n = 0; while (Date.now() < end) n++; return n > 0'
    for (let i = 0; i < 10; i++) expect(await h.run(slow)).toMatchObject({ ok: true, value: true })
    const { eventLoopHolds, eventLoopHeldUs } = h.stats()
    expect(eventLoopHolds).toBeLessThanOrEqual(3)
    expect(eventLoopHeldUs).toBeGreaterThanOrEqual(eventLoopHolds * 20)
    await h.close()
  })

  it('no wait while other scripts are pending, in this harness or another', async () => {
    let release!: () => void
    const gate = new Promise<void>((r) => { release = r })
    const other = new ScriptHarness({ tools: [{ name: 'wait', handler: () => gate }] })
    const h = new ScriptHarness({ tools: [echo, { name: 'wait', handler: () => gate }] })
    const waiting = [h.run('return await tools.wait()'), other.run('return await tools.wait()')]
    const holds = h.stats().eventLoopHolds
    for (let i = 0; i < 5; i++) { const r = await h.run('return await tools.echo({ i: 1 })'); expect(r.error).toBeUndefined() }
    expect(h.stats().eventLoopHolds).toBe(holds)
    release()
    for (const r of await Promise.all(waiting)) expect(r).toMatchObject({ ok: true })
    await Promise.all([h.close(), other.close()])
  })
})

describe('closing', () => {
  it('close() aborts running scripts, refuses new work and is idempotent', async () => {
    const h = harness()
    const running = h.run('while (true) {}')
    const waiting = h.run('await tools.slow({ ms: 10000 })')
    await new Promise((res) => setTimeout(res, 50))
    await h.close()
    expect((await running).error?.code).toBe('ScriptCancelledError')
    expect((await waiting).error?.code).toBe('ScriptCancelledError')
    await expect(h.run('return 1')).rejects.toThrow('closed')
    await h.close()
  })

  it('a process that never calls close() still exits on its own', () => {
    const script = `
      const { ScriptHarness } = require(${JSON.stringify(require.resolve('../index.js'))})
      const h = new ScriptHarness({ tools: [{ name: 'echo', handler: (a) => a }] })
      h.run('return (await tools.echo({ v: 41 })).v + 1').then((r) => console.log('value', r.value))`
    const t = Date.now()
    const out = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 10_000 })
    expect(out.trim()).toBe('value 42')
    expect(Date.now() - t).toBeLessThan(5000)
  })

  it('setTools: later scripts get the new tools and handlers, a bad list changes nothing, realms of the old tools serve no more', async () => {
    const h = new ScriptHarness({ tools: [{ name: 'v', handler: () => 1 }], workers: 1 })
    expect((await h.run('return await tools.v({})')).value).toBe(1)
    const built = h.stats().realmsBuilt
    h.setTools([{ name: 'v', handler: () => 2 }, { name: 'w', handler: () => 'w' }])
    expect(h.describeTools()).toContain('w(args?: Record<string, unknown>): Promise<unknown>;')
    expect((await h.run('return [await tools.v({}), await tools.w({}), context.tools]')).value).toEqual([2, 'w', ['v', 'w']])
    expect(h.stats().realmsBuilt).toBeGreaterThan(built)
    expect(() => h.setTools([{ name: 'a b', handler: () => 0 }])).toThrow(/^tools\[0\]\.name: 'a b' is not a valid tool name/)
    expect(() => h.setTools([{ name: 'x' } as any])).toThrow(/^tools\[0\]\.handler: must be a function$/)
    for (const key of ['needsApproval', 'approval', 'requireApproval', 'RequiresApproval', 'requiresAproval', 'requiresConfirmation', 'needs\uff21pproval']) {
      expect(() => h.setTools([{ name: 'v', handler: () => 0 }, { name: 'rm', handler: () => 0, [key]: true } as any]))
        .toThrow(new RegExp(`^tools\\[1\\]\\.${key}: is not an option of a tool: approval is set by requiresApproval$`))
    }
    // Inherited (a class's getter), not enumerable, or a symbol: refused alike.
    class ExecTool { name = 'exec'; handler = () => 0; get needsApproval() { return true } }
    const hidden = Object.defineProperty({ name: 'rm', handler: () => 0 }, 'needsApproval', { value: true, enumerable: false })
    const symbol = { name: 'rm', handler: () => 0, [Symbol('needsApproval')]: true }
    for (const tool of [new ExecTool(), hidden, symbol]) {
      expect(() => h.setTools([tool as any])).toThrow(/^tools\[0\]\.needsApproval: is not an option of a tool/)
    }
    expect(() => h.setTools('x' as any)).toThrow(/^tools: must be an array of tool definitions$/)
    expect((await h.run('return await tools.w({})')).value).toBe('w')
    await h.close()
  })

  it('a harness dropped without close() is collected, and its sandbox threads end', () => {
    // The engine's dispatch callback must not hold the harness: napi holds
    // that callback as long as the engine lives.
    const script = `
      const fs = require('node:fs')
      const { ScriptHarness } = require(${JSON.stringify(require.resolve('../index.js'))})
      const threads = () => process.platform === 'linux' ? fs.readdirSync('/proc/self/task').length : 0
      const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
      let collected = false
      const registry = new FinalizationRegistry(() => { collected = true })
      ;(async () => {
        const before = threads()
        let during = 0
        await (async () => {
          const h = new ScriptHarness({ tools: [{ name: 'echo', handler: (a) => a }], workers: 3 })
          await h.run('return (await tools.echo({ v: 1 })).v')
          during = threads()
          registry.register(h, 'h')
        })()
        for (let i = 0; i < 100 && !collected; i++) { globalThis.gc(); await sleep(10) }
        for (let i = 0; i < 100 && threads() > before; i++) await sleep(10)
        console.log(JSON.stringify({ collected, before, during, after: threads() }))
      })()`
    const out = JSON.parse(execFileSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8', timeout: 20_000 }))
    expect(out.collected).toBe(true)
    if (process.platform === 'linux') {
      expect(out.during).toBeGreaterThanOrEqual(out.before + 3)
      expect(out.after).toBeLessThanOrEqual(out.before)
    }
  })

  it('a pending run keeps the process alive until it settles', () => {
    const script = `
      const { ScriptHarness } = require(${JSON.stringify(require.resolve('../index.js'))})
      const h = new ScriptHarness({ tools: [] })
      h.run('let i = 0; while (i < 3e7) i++; return i').then((r) => console.log('value', r.value))`
    const out = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20_000 })
    expect(out.trim()).toBe('value 30000000')
  })
})
