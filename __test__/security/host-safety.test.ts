// Red team, class 5: what a hostile script or a clumsy host once did to the
// host itself. Each case was reproduced on the harness before the fix: an
// uncaught exception on the main thread (a result over V8's longest
// string), a handler that started after its script was stopped, arguments
// queued outside the memory budget, a thrown value's source or secrets
// shown to the model, and a turn rejected after its tools ran.
import { describe, expect, it } from 'vitest'
import { type HarnessEvent, ScriptHarness, type ToolDefinition } from '../../index.js'
import { expectError, expectHealthy, sleep } from './probe'

const MiB = 1024 * 1024

/** A harness whose tools note when their handlers start. */
function noting(options: Partial<ConstructorParameters<typeof ScriptHarness>[0]> = {}, extra: ToolDefinition[] = []) {
  const started: string[] = []
  const h = new ScriptHarness({
    workers: 1,
    ...options,
    tools: [
      { name: 'sink', handler: (_a, ctx) => { started.push(ctx.callId); return null } },
      { name: 'gated', requiresApproval: true, handler: (_a, ctx) => { started.push(ctx.callId); return 'ran' } },
      {
        name: 'hang',
        handler: (_a, ctx) => {
          started.push(ctx.callId)
          return new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)))
        },
      },
      ...extra,
    ],
  })
  return { h, started }
}

describe('every byte that crosses to JavaScript is bounded', () => {
  it('27 calls with 20 MiB of arguments each: refused by maxToolArgBytes, and run() resolves (once an uncaught exception)', async () => {
    const { h, started } = noting()
    const r = await h.run(`const s = 'x'.repeat(20 << 20)
      const out = []
      for (let i = 0; i < 27; i++) { try { await tools.sink({ s, i }) } catch (e) { out.push(e.name) } }
      return out`)
    expect(r.value).toEqual(Array(27).fill('ToolValidationError'))
    expect(r.toolCalls[0].error?.message).toMatch(/20971\d+ bytes of JSON, over the 1048576 byte limit \(maxToolArgBytes\)/)
    expect(started).toEqual([])
    // The records keep a cut form, not the 20 MiB.
    expect(r.toolCalls[0].args).toMatchObject({ $truncated: expect.any(Number), preview: expect.stringMatching(/^\{"s":"xxx/) })
    expect(JSON.stringify(r).length).toBeLessThan(MiB)
    await h.close()
  })

  it('large arguments the host allows are kept whole up to maxCallRecordBytes, then in a documented cut form', async () => {
    const { h, started } = noting({ limits: { maxToolArgBytes: 16 * MiB, memoryMb: 512 } })
    const r = await h.run(`const s = 'y'.repeat(3 << 20)
      for (let i = 0; i < 6; i++) await tools.sink({ s, i })
      await tools.sink({ small: true })
      return 'done'`)
    expect(r.value).toBe('done')
    expect(started).toHaveLength(7)
    for (const call of r.toolCalls.slice(0, 6)) {
      expect(call.args).toEqual({ $truncated: 3 * MiB + 14, preview: expect.stringMatching(/^\{"s":"y+…$/) })
    }
    expect(r.toolCalls[6].args).toEqual({ small: true })
    expect(JSON.stringify(r.toolCalls).length).toBeLessThan(64 * 1024)
    await h.close()
  })

  it('a tool result over maxToolResultBytes is a ToolExecutionError naming the limit', async () => {
    const h = new ScriptHarness({
      workers: 1,
      limits: { maxToolResultBytes: 1000 },
      tools: [{ name: 'big', handler: (a: any) => 'z'.repeat(a.n) }],
    })
    const r = await h.run(`const small = await tools.big({ n: 900 })
      try { await tools.big({ n: 5000 }) } catch (e) { return [small.length, e.name, e.message] }`)
    expect(r.value).toEqual([900, 'ToolExecutionError', expect.stringContaining('maxToolResultBytes')])
    await h.close()
  })

  it('console output is capped in bytes whatever maxLogEvents allows', async () => {
    const h = new ScriptHarness({ workers: 1, tools: [], limits: { maxLogEvents: 1_000_000 } })
    const r = await h.run(`for (let i = 0; i < 2000; i++) console.log('w'.repeat(8000)); return 1`)
    expect(r.ok).toBe(true)
    const kept = r.logs.filter((l) => l.level === 'log')
    expect(kept.length).toBeGreaterThan(400)
    expect(kept.length).toBeLessThan(2000)
    expect(r.logs.at(-1)?.message).toMatch(/more console entries were dropped/)
    await h.close()
  })

  it('an error message of 50 MB is cut to 8 KiB', async () => {
    const h = new ScriptHarness({ workers: 1, tools: [{ name: 'fail', handler: () => { throw new Error('e'.repeat(50e6)) } }] })
    const r = await h.run(`try { await tools.fail({}) } catch (e) { return e.message.length }`)
    expect(r.value).toBeLessThanOrEqual(8193)
    const own = await h.run(`throw new Error('m'.repeat(1e7))`)
    expect(own.error!.message.length).toBeLessThanOrEqual(8300)
    await h.close()
  })
})

describe('stopping wins every race: no handler starts and no approval is asked after a script ended', () => {
  it('abort() while onApproval decides, then "approved": the handler never runs and the approval resolves denied', async () => {
    const controller = new AbortController()
    const events: HarnessEvent[] = []
    const { h, started } = noting({
      onEvent: (e) => events.push(e),
      onApproval: async () => {
        controller.abort()
        await sleep(20)
        return 'approved'
      },
    })
    const r = await h.run(`return await tools.gated({})`, { signal: controller.signal })
    await sleep(50)
    expectError(r, 'ScriptCancelledError')
    expect(started).toEqual([])
    expect(events.filter((e) => e.type === 'approval_resolved').map((e) => (e as any).decision)).toEqual(['denied'])
    await h.close()
  })

  it('close() while onApproval decides, then "approved": the handler never runs', async () => {
    let close: () => Promise<void> = async () => {}
    const { h, started } = noting({
      onApproval: async () => {
        void close()
        await sleep(20)
        return 'approved'
      },
    })
    close = () => h.close()
    const r = await h.run(`return await tools.gated({})`)
    await sleep(50)
    expectError(r, 'ScriptCancelledError')
    expect(started).toEqual([])
  })

  it('abort() from onEvent on script_started: the first call never starts', async () => {
    const controller = new AbortController()
    const { h, started } = noting({ onEvent: (e) => { if (e.type === 'script_started') controller.abort() } })
    const r = await h.run(`await tools.sink({}); return 1`, { signal: controller.signal })
    expectError(r, 'ScriptCancelledError')
    expect(started).toEqual([])
    await h.close()
  })

  it('close() from onEvent on tool_call_completed: the next call never starts', async () => {
    let closing: Promise<void> | undefined
    const { h, started } = noting({
      onEvent: (e) => { if (e.type === 'tool_call_completed') closing = h.close() },
    })
    const r = await h.run(`await tools.sink({}); await tools.sink({}); return 1`)
    await closing
    expectError(r, 'ScriptCancelledError')
    expect(started).toHaveLength(1)
  })

  it('stream.abort() from inside a handler: the script starts no further handler, and the turn\'s later script never starts', async () => {
    const started: string[] = []
    let stream: ReturnType<ScriptHarness['stream']>
    const h = new ScriptHarness({
      workers: 2,
      tools: [
        { name: 'step', handler: async (a: any) => { started.push(`step${a.n}`); if (a.n === 1) stream.abort('enough'); await sleep(30); return a.n } },
      ],
    })
    stream = h.stream('chat')
    const chunk = (content: string) => ({ object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content } }] })
    stream.push(chunk('<tool-calls>\nawait tools.step({ n: 1 }); await tools.step({ n: 2 }); await tools.step({ n: 3 })\n</tool-calls>\n'))
    await sleep(10)
    stream.push(chunk('<tool-calls>\nawait tools.step({ n: 4 })\n</tool-calls>'))
    const turn = await stream.end()
    await sleep(80)
    expect(started).toEqual(['step1'])
    expect(turn.scripts.map((s) => s.error?.code)).toEqual(['ScriptCancelledError', 'ScriptCancelledError'])
    expect(turn.scripts.map((s) => s.error?.message)).toEqual(['the script was cancelled: enough', 'the script was cancelled before it started: enough'])
    await h.close()
  })

  it('a call that arrives after the deadline (main thread busy) never starts', async () => {
    const { h, started } = noting()
    const p = h.run(`return await tools.sink({})`, { limits: { timeoutMs: 50 } })
    const until = Date.now() + 300
    while (Date.now() < until) {
      // The host is busy: the call's message waits in Node's queue.
    }
    const r = await p
    expectError(r, 'ScriptTimeoutError')
    expect(started).toEqual([])
    await h.close()
  })

  it('a call made just before a CPU loop reaches the host as it is made, and is aborted at the deadline', async () => {
    const events: HarnessEvent[] = []
    const { h, started } = noting({ onEvent: (e) => events.push(e) })
    const r = await h.run(`tools.hang({}); for (;;) {}`, { limits: { timeoutMs: 300 } })
    expectError(r, 'ScriptTimeoutError')
    expect(started).toHaveLength(1)
    expect(r.toolCalls[0].status).toBe('aborted')
    const order = events.map((e) => e.type)
    expect(order.indexOf('tool_call_started')).toBeLessThan(order.indexOf('script_completed'))
    await h.close()
  })

  it('an approval-gated call made just before a CPU loop is asked while the script runs, never after it ended', async () => {
    const events: HarnessEvent[] = []
    const asked: number[] = []
    const { h, started } = noting({
      onEvent: (e) => events.push(e),
      onApproval: async () => {
        asked.push(Date.now())
        await sleep(400)
        return 'approved'
      },
    })
    const r = await h.run(`tools.gated({}); for (;;) {}`, { limits: { timeoutMs: 200 } })
    await sleep(450)
    expectError(r, 'ScriptTimeoutError')
    expect(asked).toHaveLength(1)
    expect(started).toEqual([])
    const types = events.map((e) => e.type)
    expect(types.indexOf('approval_requested')).toBeLessThan(types.indexOf('script_completed'))
    expect(events.filter((e) => e.type === 'approval_resolved').map((e) => (e as any).decision)).toEqual(['denied'])
    await h.close()
  })
})

describe('what a script queues for the host counts against its memory', () => {
  it('600 queued 1 MiB calls from a script limited to 32 MiB end with ScriptMemoryError; no worker is abandoned', async () => {
    const { h } = noting({ limits: { memoryMb: 32, maxToolCalls: 1000, maxConcurrentToolCalls: 1 } })
    const before = process.memoryUsage().rss
    const r = await h.run(`const s = 'q'.repeat((1 << 20) - 100)
      const ps = []
      for (let i = 0; i < 600; i++) ps.push(tools.hang({ s, i }))
      await Promise.all(ps)`)
    expectError(r, 'ScriptMemoryError')
    expect(r.toolCalls.length).toBeLessThan(40)
    expect(process.memoryUsage().rss - before).toBeLessThan(200 * MiB)
    expect(h.stats().workerRestarts).toBe(0)
    await expectHealthy(h)
    await h.close()
  })
})

describe('what a handler throws reaches the model as data', () => {
  const secret = 'sk-live-0123456789'
  const throwing = (value: () => unknown): ToolDefinition => ({ name: 'boom', handler: () => { throw value() } })

  it('a thrown function is named, never shown as source', async () => {
    const h = new ScriptHarness({ workers: 1, tools: [throwing(() => function leak() { return 'SOURCE-OF-HOST-CODE' })] })
    const r = await h.run(`await tools.boom({})`)
    expectError(r, 'ToolExecutionError', { message: 'the tool threw a function (not an Error)' })
    expect(JSON.stringify(r)).not.toContain('SOURCE-OF-HOST-CODE')
    await h.close()
  })

  it('a thrown plain object is rendered with its secrets redacted, in the result and the continuation', async () => {
    const h = new ScriptHarness({ workers: 1, tools: [throwing(() => ({ code: 'E42', token: secret, nested: { password: secret } }))] })
    const turn = await h.processResponse('chat', { role: 'assistant', content: '<tool-calls>await tools.boom({})</tool-calls>' })
    const error = turn.scripts[0].error!
    expect(error.code).toBe('ToolExecutionError')
    expect(error.message).toContain('"code":"E42"')
    expect(error.message).toContain('[redacted]')
    expect(JSON.stringify(turn)).not.toContain(secret)
    await h.close()
  })

  it('secrets are redacted at every depth the harness accepts; deeper arguments are refused before anyone sees them', async () => {
    const requests: unknown[] = []
    const events: HarnessEvent[] = []
    const h = new ScriptHarness({
      workers: 1,
      onApproval: (req) => { requests.push(req); return 'denied' },
      onEvent: (e) => events.push(e),
      tools: [{ name: 'gated', requiresApproval: true, handler: () => 1 }],
    })
    const nest = (depth: number) => `(() => { let o = { token: '${secret}' }; for (let i = 0; i < ${depth}; i++) o = { o }; return o })()`
    const r = await h.run(`const out = []
      for (const a of [${nest(120)}, ${nest(200)}]) { try { await tools.gated(a) } catch (e) { out.push(e.name) } }
      return out`)
    expect(r.value).toEqual(['ApprovalDeniedError', 'SerializationError'])
    expect(requests).toHaveLength(1)
    expect(JSON.stringify(requests)).toContain('[redacted]')
    expect(JSON.stringify(requests) + JSON.stringify(events)).not.toContain(secret)
    await h.close()
  })
})

describe('text that is not valid UTF-16 never loses a turn', () => {
  const lone = '\ud800'
  it('a lone surrogate in the assistant text, a script\'s return value or its tool arguments becomes U+FFFD', async () => {
    const seen: unknown[] = []
    const h = new ScriptHarness({ workers: 1, tools: [{ name: 'echo', handler: (a) => { seen.push(a); return a } }] })
    const text = `Here ${lone} goes <tool-calls>const r = await tools.echo({ s: 'a\\ud800b' }); return ['x\\udc00', r]</tool-calls> done`
    for (const format of ['chat', 'messages', 'responses'] as const) {
      const response =
        format === 'chat' ? { role: 'assistant', content: text }
        : format === 'messages' ? { role: 'assistant', content: [{ type: 'text', text }] }
        : [{ type: 'message', role: 'assistant', content: [{ type: 'output_text', text }] }]
      const turn = await h.processResponse(format, response)
      expect(turn.scripts[0].value).toEqual(['x\ufffd', { s: 'a\ufffdb' }])
      expect(JSON.stringify(turn.items)).toContain('Here \ufffd goes')
      expect(turn.continuation).toHaveLength(1)
    }
    expect(seen).toEqual(Array(3).fill({ s: 'a\ufffdb' }))
    await h.close()
  })
})

describe('only assistant output runs', () => {
  it('a Chat message or a Messages response whose role is not assistant is refused before anything runs', async () => {
    const { h, started } = noting()
    await expect(h.processResponse('chat', { role: 'user', content: '<tool-calls>await tools.sink({})</tool-calls>' }))
      .rejects.toThrow(/response\.role: only assistant output/)
    await expect(h.processResponse('chat', { choices: [{ message: { role: 'tool', content: '<tool-calls>await tools.sink({})</tool-calls>' } }] }))
      .rejects.toThrow(TypeError)
    await expect(h.processResponse('messages', { role: 'user', content: [{ type: 'text', text: '<tool-calls>await tools.sink({})</tool-calls>' }] }))
      .rejects.toThrow(TypeError)
    await expect(h.processResponse('responses', [{ type: 'message', role: 'user', content: [{ type: 'output_text', text: '<tool-calls>await tools.sink({})</tool-calls>' }] }]))
      .rejects.toThrow(/response\.output\[0\]\.role/)
    expect(started).toEqual([])
    await h.close()
  })
})

describe('stopping wins every race, whatever the interleaving', () => {
  /** A small deterministic generator, so a failing seed can be replayed. */
  const generator = (seed: number) => () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }

  it('random approve / deny / abort / close / deadline / settle orders: nothing of a script starts after it was stopped', async () => {
    for (let seed = 1; seed <= 30; seed++) {
      const rnd = generator(seed)
      let seq = 0
      // What started (a handler, a predicate, an approval request), and when each script was stopped from this thread.
      const starts: Array<{ scriptId: string; what: string; seq: number }> = []
      const stoppedAt = new Map<string, number>()
      const completedAt = new Map<string, number>()
      const controllers = new Map<string, AbortController>()
      let closedAt = Infinity
      let h!: ScriptHarness
      const act = () => {
        const r = rnd()
        if (r < 0.08 && closedAt === Infinity) {
          closedAt = seq++
          void h.close()
        } else if (r < 0.5) {
          const ids = [...controllers.keys()]
          const id = ids[Math.floor(rnd() * ids.length)]
          if (id !== undefined && !stoppedAt.has(id)) {
            stoppedAt.set(id, seq++)
            controllers.get(id)!.abort()
          }
        }
      }
      const handler = async (_a: unknown, ctx: { scriptId: string; signal: AbortSignal }) => {
        starts.push({ scriptId: ctx.scriptId, what: 'handler', seq: seq++ })
        if (rnd() < 0.3) act()
        await sleep(rnd() * 8)
        return 1
      }
      h = new ScriptHarness({
        workers: 1 + (seed % 2),
        onEvent: (e) => {
          if (e.type === 'script_completed') completedAt.set(e.scriptId, seq++)
          else if (rnd() < 0.15) act()
        },
        onApproval: async (req) => {
          starts.push({ scriptId: req.scriptId, what: 'approval', seq: seq++ })
          if (rnd() < 0.3) act()
          await sleep(rnd() * 10)
          return rnd() < 0.7 ? 'approved' : 'denied'
        },
        tools: [
          { name: 'work', handler },
          { name: 'gated', requiresApproval: true, handler },
          {
            name: 'maybe',
            requiresApproval: async () => {
              await sleep(rnd() * 5)
              return rnd() < 0.5
            },
            handler,
          },
        ],
      })
      const sources = [
        'await tools.work({}); await Promise.all([tools.gated({}), tools.maybe({}), tools.work({})]); return 1',
        'tools.work({}); tools.gated({}); let x = 0; for (let i = 0; i < 3e5; i++) x += i; await tools.maybe({}); return x',
        'for (let i = 0; i < 6; i++) { try { await tools[["work", "gated", "maybe"][i % 3]]({ i }) } catch {} } return 2',
        'await Promise.race([tools.work({}), tools.gated({})]); await tools.maybe({}); return 3',
      ]
      const runs = sources.map((source) => {
        const controller = new AbortController()
        const p = h.run(source, { signal: controller.signal, limits: { timeoutMs: 20 + Math.floor(rnd() * 80) } })
        return { controller, p }
      })
      runs.forEach(({ controller }, i) => controllers.set(`run${i}`, controller))
      const settled = await Promise.race([Promise.all(runs.map((r) => r.p)), sleep(10_000).then(() => 'hang' as const)])
      expect(settled, `seed ${seed}: every run settles`).not.toBe('hang')
      const results = settled as Awaited<(typeof runs)[number]['p']>[]
      await sleep(30)
      const ids = results.map((r) => r.scriptId)
      for (const [i, r] of results.entries()) {
        const aborted = stoppedAt.get(`run${i}`)
        const stop = Math.min(aborted ?? Infinity, closedAt, completedAt.get(r.scriptId) ?? Infinity)
        const late = starts.filter((s) => s.scriptId === ids[i] && s.seq > stop)
        expect(late, `seed ${seed}, script ${i}: started after it was stopped (${r.error?.code})`).toEqual([])
      }
      await h.close()
    }
  }, 120_000)
})

describe('only what the model means as a script runs', () => {
  it('a <tool-calls> in a CommonMark indented code block is an example, not a script; after a paragraph line it still runs', async () => {
    const { detectScripts } = await import('../../index.js')
    const kinds = (text: string) => detectScripts(text).map((s) => s.type)
    expect(kinds('Example:\n\n    <tool-calls>await tools.sink({})</tool-calls>\n')).toEqual(['text'])
    expect(kinds('    <tool-calls>await tools.sink({})</tool-calls>\n')).toEqual(['text'])
    expect(kinds('Run this:\n    <tool-calls>await tools.sink({})</tool-calls>\n')).toEqual(['text', 'script', 'text'])
    // Inside a list item, four columns past its content are a paragraph, not code.
    expect(kinds('1. First:\n\n    <tool-calls>await tools.sink({})</tool-calls>\n')).toEqual(['text', 'script', 'text'])
    const { h, started } = noting()
    const turn = await h.processResponse('chat', { role: 'assistant', content: 'Like this:\n\n    <tool-calls>await tools.sink({})</tool-calls>\n' })
    expect(turn.scripts).toEqual([])
    expect(started).toEqual([])
    await h.close()
  })

  it('a #! first line is allowed, and errors keep the lines the model wrote', async () => {
    const h = new ScriptHarness({ workers: 1, tools: [] })
    for (const fence of ['ts', 'js']) {
      const turn = await h.processResponse('chat', {
        role: 'assistant',
        content: `\`\`\`${fence} tool-calls\n#!/usr/bin/env node\nconst a = 1\nthrow new Error('on line 3')\n\`\`\``,
      })
      expect(turn.scripts[0].error).toMatchObject({ code: 'ScriptRuntimeError', line: 3 })
    }
    const ok = await h.run('#!/usr/bin/env node\nreturn 7')
    expect(ok.value).toBe(7)
    await h.close()
  })

  it('dry-run validation of a large, deeply nested source leaves the main thread free', async () => {
    const h = new ScriptHarness({ workers: 1, tools: [], mode: 'dry-run', limits: { maxSourceBytes: 1 << 20 } })
    const source = '('.repeat(400_000) + '1' + ')'.repeat(400_000)
    let ticks = 0
    const timer = setInterval(() => ticks++, 2)
    const started = Date.now()
    const [turn, result] = await Promise.all([
      h.processResponse('chat', { role: 'assistant', content: `<tool-calls>${source}</tool-calls>` }),
      h.run(source),
    ])
    const elapsed = Date.now() - started
    clearInterval(timer)
    expect(turn.reports?.[0].ok).toBe(true)
    expect(result.ok).toBe(true)
    // The timer kept firing while the sources compiled on other threads.
    expect(ticks).toBeGreaterThan(elapsed / 2 / 4)
    await h.close()
  })
})

// Found by attacking the fixes above as a hostile model and a clumsy host would.
describe('second round: re-entrant hosts, odd values, cut-off streams', () => {
  it('a script stopped from onEvent on approval_requested: the person is never asked', async () => {
    const controller = new AbortController()
    const asked: unknown[] = []
    const { h, started } = noting({
      onEvent: (e) => { if (e.type === 'approval_requested') controller.abort() },
      onApproval: (req) => { asked.push(req); return 'approved' },
    })
    const r = await h.run('return await tools.gated({})', { signal: controller.signal })
    await sleep(20)
    expectError(r, 'ScriptCancelledError')
    expect(asked).toEqual([])
    expect(started).toEqual([])
    await h.close()
  })

  it('a stream whose signal is already aborted runs nothing', async () => {
    const { h, started } = noting()
    const s = h.stream('chat', { signal: AbortSignal.abort() })
    s.push({ object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: '<tool-calls>await tools.sink({})</tool-calls>' } }] })
    const turn = await s.end()
    expect(turn.scripts[0].error?.code).toBe('ScriptCancelledError')
    expect(started).toEqual([])
    await h.close()
  })

  it('a handler returning a promise whose constructor getter throws fails that call only; its siblings and other runs go on', async () => {
    const errors: unknown[] = []
    const onError = (e: unknown) => errors.push(e)
    process.on('uncaughtException', onError)
    const h = new ScriptHarness({
      workers: 1,
      tools: [
        {
          name: 'odd',
          handler: () => {
            const p = Promise.resolve(1)
            Object.defineProperty(p, 'constructor', { get() { throw new Error('boom') } })
            return p
          },
        },
        { name: 'fine', handler: () => 2 },
      ],
    })
    const results = await Promise.all(Array.from({ length: 10 }, () =>
      h.run('const [a, b] = await Promise.allSettled([tools.odd({}), tools.fine({})]); return [a.status, a.reason?.message, b.value]')))
    process.off('uncaughtException', onError)
    for (const r of results) expect(r.value).toEqual(['rejected', 'boom', 2])
    expect(errors).toEqual([])
    await h.close()
  })

  it('a turn of many scripts with full consoles resolves: its items are built from cut results', async () => {
    const { h } = noting()
    const one = '<tool-calls>await tools.sink({}); const s = "\\x01".repeat(8192); for (let i = 0; i < 200; i++) console.log(s); return 1</tool-calls>\n'
    const turn = await h.processResponse('chat', { role: 'assistant', content: one.repeat(40) })
    expect(turn.scripts).toHaveLength(40)
    expect(turn.scripts[0].logs.length).toBe(200)
    expect(turn.continuation).toHaveLength(1)
    await h.close()
  }, 60_000)

  it('a Messages stream cut off inside a tool_use input keeps the text as the call\'s arguments, after its scripts ran', async () => {
    const { h, started } = noting()
    const s = h.stream('messages')
    s.push({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } })
    s.push({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: '<tool-calls>return await tools.sink({})</tool-calls>' } })
    s.push({ type: 'content_block_stop', index: 0 })
    s.push({ type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: 't1', name: 'x', input: {} } })
    s.push({ type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '{"a": "trunc' } })
    s.push({ type: 'content_block_stop', index: 1 })
    const turn = await s.end()
    expect(started).toHaveLength(1)
    expect(turn.items.find((i) => i.type === 'function_call')).toMatchObject({ call_id: 't1', arguments: '{"a": "trunc' })
    await h.close()
  })

  it('indented code after headings, breaks, fences, HTML, in block quotes and after wide list markers is text', async () => {
    const { detectScripts } = await import('../../index.js')
    const tag = '<tool-calls>await tools.sink({})</tool-calls>'
    for (const text of [
      `# h\n    ${tag}\n`, `---\n    ${tag}\n`, `\`\`\`\nx\n\`\`\`\n    ${tag}\n`, `<!-- c -->\n    ${tag}\n`,
      `-     ${tag}\n`, `1.     ${tag}\n`, `>     ${tag}\n`, `> a\n>\n>     ${tag}\n`,
    ]) {
      expect(detectScripts(text).map((s) => s.type), JSON.stringify(text)).toEqual(['text'])
    }
    expect(detectScripts(`> a\n>     ${tag}\n`).map((s) => s.type)).toContain('script')
  })

  it('an Error whose message is a function shows no source; a thrown object\'s toJSON and getters do not run', async () => {
    let ran = false
    const h = new ScriptHarness({
      workers: 1,
      tools: [
        { name: 'fnMessage', handler: () => { const e = new Error(); (e as any).message = function leak() { return 'SOURCE-TEXT' }; throw e } },
        { name: 'sneaky', handler: () => { throw { toJSON() { ran = true; return 'forged' }, get x() { ran = true; return 1 }, token: 'sk-1' } } },
      ],
    })
    const r = await h.run('const out = []; for (const t of ["fnMessage", "sneaky"]) { try { await tools[t]({}) } catch (e) { out.push(e.message) } } return out')
    expect(r.value).toEqual([
      'the tool threw an Error whose message is not text: [Function]',
      'the tool threw an object (not an Error): {"toJSON":[Function],"x":[Getter],"token":"[redacted]"}',
    ])
    expect(ran).toBe(false)
    await h.close()
  })

  it('a lone surrogate in the host\'s own options or context is carried as U+FFFD, not a throw', async () => {
    const h = new ScriptHarness({ workers: 1, tools: [], context: { workingDirectory: 'C:\\dir\ud800' } })
    const r = await h.run('return context.workingDirectory', { context: { turnId: 't\udc00' } })
    expect(r.value).toBe('C:\\dir\ufffd')
    await h.close()
  })

  it('an onApproval answer whose then throws denies at once, and the clock runs again', async () => {
    const h = new ScriptHarness({
      workers: 1,
      tools: [{ name: 'gated', requiresApproval: true, handler: () => 1 }],
      onApproval: () => ({ get then() { throw new Error('odd') } }) as any,
    })
    const t = Date.now()
    const r = await h.run('try { await tools.gated({}) } catch (e) { return e.name }', { limits: { approvalTimeoutMs: 5000 } })
    expect(r.value).toBe('ApprovalDeniedError')
    expect(Date.now() - t).toBeLessThan(2000)
    await h.close()
  })
})
