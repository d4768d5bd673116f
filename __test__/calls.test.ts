// The lifecycle of a tool call: validation, budget, concurrency, races,
// orphans, approvals and events. Names start with their id in TESTS.md.
import { afterAll, describe, expect, it } from 'vitest'
import { ScriptHarness, type HarnessEvent } from '../index.js'
import { harness, newRecorder, slowTool } from './tools'

describe('validation and limits', () => {
  const rec = newRecorder()
  let ran = 0
  const h = new ScriptHarness({
    tools: [
      slowTool(rec),
      {
        name: 'exec',
        parameters: {
          type: 'object',
          properties: { command: { type: 'array', items: { type: 'string' }, minItems: 1 }, cwd: { type: 'string' } },
          required: ['command'],
          additionalProperties: false,
        },
        handler: () => {
          ran++
          return { exitCode: 0 }
        },
      },
    ],
  })
  afterAll(() => h.close())

  it('F24 arguments that violate the schema fail with ToolValidationError before the handler runs', async () => {
    const r = await h.run(`const out = []
      for (const args of [{ command: 'ls' }, { command: [] }, { cwd: '/' }, { command: ['ls'], shell: true }]) {
        try { await tools.exec(args); out.push('ran') } catch (e) { out.push(e.name + ' ' + e.message) }
      }
      out.push((await tools.exec({ command: ['ls'] })).exitCode)
      return out`)
    const out = r.value as string[]
    expect(out.slice(0, 4).every((m) => m.startsWith('ToolValidationError tools.exec: the arguments do not match its schema at '))).toBe(true)
    expect(out[0]).toContain('/command')
    expect(out[2]).toContain('command')
    expect(out[4]).toBe(0)
    expect(ran).toBe(1)
    expect(r.toolCalls.map((c) => c.status)).toEqual(['error', 'error', 'error', 'error', 'ok'])
    expect(r.toolCalls[0].error?.code).toBe('ToolValidationError')
    expect(r.metadata.toolCallsMade).toBe(1)
  })

  it('an invalid JSON Schema is a TypeError naming the tool', () => {
    expect(() => new ScriptHarness({ tools: [{ name: 'x', parameters: { type: 12 }, handler: () => 1 }] })).toThrow(
      /tools\[0\]\.parameters: is not a valid JSON Schema/,
    )
  })

  it('maxConcurrentToolCalls: further calls wait their turn, and the tool never sees more overlap', async () => {
    const t = Date.now()
    const r = await h.run('return (await Promise.all(Array.from({ length: 9 }, (_, i) => tools.slow({ ms: 60, tag: i })))).map((x) => x.tag)', {
      limits: { maxConcurrentToolCalls: 3 },
    })
    expect(r.value).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8])
    expect(rec.maxOverlap).toBe(3)
    expect(Date.now() - t).toBeGreaterThanOrEqual(170)
  })

  it('F5 Promise.race returns the winner and aborts the losers', async () => {
    const before = rec.aborted.length
    const t = Date.now()
    const r = await h.run(`const winner = await Promise.race([tools.slow({ ms: 30, tag: 'fast' }), tools.slow({ ms: 3000, tag: 'slow' })])
      let lostWith = ''
      try { await tools.slow({ ms: 0 }).then(() => 0); } catch {}
      await tools.slow({ ms: 300 })
      return winner.tag`)
    expect(r.value).toBe('fast')
    expect(r.toolCalls.map((c) => c.status)).toEqual(['ok', 'aborted', 'ok', 'ok'])
    expect(rec.aborted.slice(before)).toEqual([r.toolCalls[1].callId])
    // Aborted when the race settled, not when the script ended 300 ms later.
    expect(rec.abortedAt[r.toolCalls[1].callId] - t).toBeLessThan(250)
    const any = await h.run(`const first = await Promise.any([tools.slow({ ms: 3000 }), tools.slow({ ms: 20, tag: 'any' })]); return first.tag`)
    expect(any.value).toBe('any')
    expect(any.toolCalls.map((c) => c.status)).toEqual(['aborted', 'ok'])
  })

  it('S17 an orphaned call is aborted; one that ignores its signal is detached after orphanGraceMs', async () => {
    let lateResults = 0
    const stubborn = new ScriptHarness({
      tools: [
        { name: 'stubborn', handler: () => new Promise((res) => setTimeout(() => { lateResults++; res('late') }, 400)) },
        { name: 'tick', handler: () => new Promise((res) => setTimeout(res, 5)) },
      ],
    })
    const t = Date.now()
    // The tick keeps the script alive until the host has started the stubborn call.
    const r = await stubborn.run("tools.stubborn({}); await tools.tick({}); return 'done'", { limits: { orphanGraceMs: 100 } })
    expect(r.value).toBe('done')
    expect(r.toolCalls[0]).toMatchObject({ status: 'aborted', error: { code: 'DetachedPromiseError' } })
    expect(Date.now() - t).toBeGreaterThanOrEqual(95)
    expect(Date.now() - t).toBeLessThan(390)
    await new Promise((res) => setTimeout(res, 450))
    expect(lateResults).toBe(1)
    await stubborn.close()
  })

  it('an orphaned call that honours its signal settles within the grace period', async () => {
    const started = rec.started.length
    const r = await h.run("tools.slow({ ms: 5000 }); await tools.slow({ ms: 5 }); return 'done'")
    expect(rec.started.length - started).toBe(2)
    expect(r.toolCalls[0].status).toBe('aborted')
    expect(r.toolCalls[0].error).toBeUndefined()
  })

  it('a call its script no longer waits for when the host receives it never starts, and costs no grace period', async () => {
    const started = rec.started.length
    const t = Date.now()
    const r = await h.run("tools.slow({ ms: 5000 }); return 'done'", { limits: { orphanGraceMs: 5000 } })
    expect(Date.now() - t).toBeLessThan(2000)
    expect(r.value).toBe('done')
    expect(r.toolCalls[0]).toMatchObject({ status: 'aborted' })
    expect(r.toolCalls[0].error).toBeUndefined()
    await new Promise((res) => setTimeout(res, 20))
    expect(rec.started.length).toBe(started)
  })

  it('no handler starts after its script has ended', async () => {
    const started = rec.started.length
    const r = await h.run('for (let i = 0; i < 5; i++) tools.slow({ ms: 1000 }); return 1', { limits: { maxConcurrentToolCalls: 1 } })
    expect(r.toolCalls.map((c) => c.status)).toEqual(['aborted', 'aborted', 'aborted', 'aborted', 'aborted'])
    await new Promise((res) => setTimeout(res, 50))
    // The first was dispatched, but the script had returned before the host
    // received it: nothing started.
    expect(rec.started.length - started).toBe(0)
  })

  it('F26 progress events are rate-limited', async () => {
    const events: HarnessEvent[] = []
    const p = new ScriptHarness({ tools: [slowTool(newRecorder())], onEvent: (e) => events.push(e) })
    const r = await p.run(`for (let i = 0; i < 20; i++) context.emitProgress('step ' + i)
      await tools.slow({ ms: 550 })
      context.emitProgress('after ' + 'x'.repeat(5000))`)
    const progress = events.filter((e) => e.type === 'progress') as Array<Extract<HarnessEvent, { type: 'progress' }>>
    expect(progress.map((e) => e.message.slice(0, 7))).toEqual(['step 0', 'after x'].map((m) => m.slice(0, 7)))
    expect(progress[1].message.length).toBeLessThanOrEqual(1100)
    expect(r.logs.at(-1)?.message).toContain('19 progress messages were dropped')
    await p.close()
  })
})

describe('approvals', () => {
  it('I5 an approval request carries the script hash, redacted args, and resumes the script', async () => {
    const requests: any[] = []
    const events: HarnessEvent[] = []
    const h = new ScriptHarness({
      tools: [{ name: 'applyPatch', requiresApproval: true, handler: (a: any) => ({ applied: a.patch, key: a.apiKey }) }],
      onApproval: (req) => {
        requests.push(req)
        return true
      },
      onEvent: (e) => events.push(e),
    })
    const source = "interface P { patch: string }\nconst args: P = { patch: 'p' }\nconst r = await tools.applyPatch({ ...args, apiKey: 'sk-123', nested: { password: 'x', ok: 1 } })\nreturn r"
    const r = await h.run(source)
    expect(r.value).toEqual({ applied: 'p', key: 'sk-123' })
    const { createHash } = await import('node:crypto')
    expect(requests[0]).toMatchObject({
      scriptId: r.scriptId,
      toolName: 'applyPatch',
      callId: r.toolCalls[0].callId,
      args: { patch: 'p', apiKey: '[redacted]', nested: { password: '[redacted]', ok: 1 } },
      scriptHash: createHash('sha256').update(source).digest('hex'),
      line: 3,
    })
    const types = events.filter((e) => e.scriptId === r.scriptId).map((e) => e.type)
    expect(types).toEqual(['script_started', 'tool_call_started', 'approval_requested', 'approval_resolved', 'tool_call_completed', 'script_completed'])
    await h.close()
  })

  it('time spent waiting for a person does not count toward timeoutMs, but running does', async () => {
    let ran = 0
    const h = new ScriptHarness({
      tools: [
        { name: 'applyPatch', requiresApproval: true, handler: () => ++ran },
        { name: 'echo', handler: (a) => a },
      ],
      onApproval: () => new Promise((resolve) => setTimeout(() => resolve('approved'), 400)),
      limits: { timeoutMs: 150 },
      workers: 1,
    })
    const waited = await h.run('return await tools.applyPatch({})')
    expect(waited.error).toBeUndefined()
    expect(waited.value).toBe(1)
    expect(waited.metadata.durationMs).toBeGreaterThanOrEqual(400)
    // Code that runs while an approval is pending is clocked as usual.
    const spun = await h.run('tools.applyPatch({}); await tools.echo({}); while (true) {}')
    expect(spun.error?.code).toBe('ScriptTimeoutError')
    await h.close()
  })

  it('a requiresApproval predicate that throws or rejects denies without asking', async () => {
    let asked = 0
    const h = new ScriptHarness({
      tools: [
        { name: 'throws', requiresApproval: () => { throw new Error('bug') }, handler: () => 'ran' },
        { name: 'rejects', requiresApproval: async () => { throw new Error('bug') }, handler: () => 'ran' },
      ],
      onApproval: () => { asked++; return 'approved' },
    })
    const r = await h.run(`
      const out = []
      for (const f of [tools.throws, tools.rejects]) { try { out.push(await f({})) } catch (e) { out.push(e.name) } }
      return out`)
    expect(r.value).toEqual(['ApprovalDeniedError', 'ApprovalDeniedError'])
    expect(r.toolCalls.map((c) => c.status)).toEqual(['denied', 'denied'])
    expect(asked).toBe(0)
    await h.close()
  })

  it('a missing onApproval, a throwing one and a timeout all deny', async () => {
    const mk = (onApproval?: any) =>
      new ScriptHarness({ tools: [{ name: 'danger', requiresApproval: true, handler: () => 'ran' }], onApproval })
    const code = async (h: ScriptHarness, limits = {}) => {
      const r = await h.run("try { await tools.danger({}) } catch (e) { return e.name }", { limits })
      await h.close()
      return r.value
    }
    expect(await code(mk())).toBe('ApprovalDeniedError')
    expect(await code(mk(() => { throw new Error('x') }))).toBe('ApprovalDeniedError')
    expect(await code(mk(() => 'yes'))).toBe('ApprovalDeniedError')
    expect(await code(mk(() => new Promise(() => {})), { approvalTimeoutMs: 50 })).toBe('ApprovalTimeoutError')
  })

  it('cancelling a script mid-approval ends it with ScriptCancelledError', async () => {
    const h = new ScriptHarness({ tools: [{ name: 'danger', requiresApproval: true, handler: () => 'ran' }], onApproval: () => new Promise(() => {}) })
    const ac = new AbortController()
    setTimeout(() => ac.abort(), 50)
    const r = await h.run('await tools.danger({})', { signal: ac.signal })
    expect(r.error?.code).toBe('ScriptCancelledError')
    await h.close()
  })

  it('200 scripts waiting for approval at once do not stall other scripts', async () => {
    const waiting: Array<(d: string) => void> = []
    const h = new ScriptHarness({
      tools: [
        { name: 'danger', requiresApproval: true, handler: () => 'ran' },
        { name: 'echo', handler: (a) => a },
      ],
      onApproval: () => new Promise((res) => waiting.push(res)),
    })
    const pending = Array.from({ length: 200 }, () => h.run("return await tools.danger({})"))
    while (waiting.length < 200) await new Promise((res) => setTimeout(res, 10))
    const t = Date.now()
    const other = await h.run('return (await tools.echo({ v: 1 })).v')
    expect(other.value).toBe(1)
    expect(Date.now() - t).toBeLessThan(500)
    waiting.forEach((res) => res('approved'))
    const results = await Promise.all(pending)
    expect(results.every((r) => r.value === 'ran')).toBe(true)
    await h.close()
  })
})

describe('events', () => {
  it('every event has type, scriptId and timestamp, in a consistent order, and a throwing callback is isolated', async () => {
    const events: HarnessEvent[] = []
    const h = harness({
      onEvent: (e) => {
        events.push(e)
        throw new Error('listener bug')
      },
    })
    const r = await h.run("console.warn('w'); const [a] = await Promise.all([tools.echo({ token: 's' }), tools.slow({ ms: 10 })]); return a")
    expect(r.ok).toBe(true)
    const mine = events.filter((e) => e.scriptId === r.scriptId)
    expect(mine.every((e) => typeof e.timestamp === 'number' && e.timestamp > 0)).toBe(true)
    expect(mine.map((e) => e.type)).toEqual([
      'script_started', 'console', 'tool_call_started', 'tool_call_started', 'tool_call_completed', 'tool_call_completed', 'script_completed',
    ])
    const started = mine.find((e) => e.type === 'tool_call_started') as any
    expect(started.args).toEqual({ token: '[redacted]' })
    await h.close()
  })
  it("a run's own onEvent hears only that script's events, after the harness's listener, even when the harness has none", async () => {
    const order: string[] = []
    const both = harness({ onEvent: (e) => order.push(`harness ${e.type}`) })
    const mine: HarnessEvent[] = []
    const [r] = await Promise.all([
      both.run("console.log('a'); return (await tools.echo({ v: 1 })).v", { onEvent: (e) => { mine.push(e); order.push(`run ${e.type}`) } }),
      both.run("console.log('other'); return 2"),
    ])
    expect(mine.every((e) => e.scriptId === r.scriptId)).toBe(true)
    expect(mine.map((e) => e.type)).toEqual(['script_started', 'console', 'tool_call_started', 'tool_call_completed', 'script_completed'])
    const firstRun = order.indexOf('run script_started')
    expect(order[firstRun - 1]).toBe('harness script_started')
    await both.close()

    // No harness listener: a run's onEvent still hears everything, an async
    // one that rejects is ignored, and other runs build no listener calls.
    const quiet = harness()
    const heard: string[] = []
    const q = await quiet.run("console.warn('w'); return 1", { onEvent: async (e) => { heard.push(e.type); throw new Error('listener bug') } })
    expect(q.ok).toBe(true)
    expect(heard).toEqual(['script_started', 'console', 'script_completed'])
    await expect(quiet.run('return 1', { onEvent: 'yes' as any })).rejects.toThrow(/^options\.onEvent: must be a function$/)
    await quiet.close()
  })
})
