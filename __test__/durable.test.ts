// Durable scripts: a script waiting for approval is suspended into a sealed
// snapshot, the harness lets go of it, and resume() runs it on, in this
// process or another, with its finished calls answered from the snapshot.
import { spawnSync } from 'node:child_process'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { type ApprovalAnswer, type HarnessEvent, type ScriptResult, ScriptHarness, SnapshotError } from '../index.js'

const KEY = 'a test key of more than thirty-two bytes'
// eslint-disable-next-line @typescript-eslint/no-require-imports
const shared = require('./fixtures/durable/tools.cjs') as { tools: any[]; calls: Record<string, number> }

function counted() {
  const calls = { read: 0, deploy: 0, slow: 0 }
  const tools = [
    { name: 'read', handler: (args: any) => (calls.read++, { text: `contents of ${args.path}` }) },
    { name: 'slow', handler: (args: any) => (calls.slow++, new Promise((r) => setTimeout(() => r(args.tag), args.ms))) },
    { name: 'deploy', requiresApproval: true, handler: (args: any) => (calls.deploy++, { deployed: args.env }) },
  ]
  return { calls, tools }
}

const SCRIPT = `
  const before = [Math.random(), Date.now(), new Date().toISOString()]
  console.log('before', JSON.stringify(before))
  const a = await tools.read({ path: 'a.txt' })
  const b = await tools.read({ path: 'b.txt' })
  const deployed = await tools.deploy({ env: 'prod' })
  console.log('after')
  return { before, a: a.text, b: b.text, deployed, after: Math.random() }`

async function suspended(harness: ScriptHarness, source = SCRIPT): Promise<ScriptResult> {
  const r = await harness.run(source)
  expect(r).toMatchObject({ ok: false, suspended: true, error: { code: 'ScriptSuspendedError', toolName: 'deploy' } })
  expect(typeof r.snapshot).toBe('string')
  return r
}

describe('durable scripts: suspend and resume', () => {
  it('a suspended script is a snapshot the harness no longer holds; resumed, its finished calls are not run again and it ends as if it never stopped', async () => {
    const { calls, tools } = counted()
    const asked: string[] = []
    const harness = new ScriptHarness({ tools, snapshotKey: KEY, onApproval: (req) => (asked.push(req.toolName), 'suspend') })
    const first = await suspended(harness)
    expect(first.logs.map((l) => l.message)).toEqual([expect.stringMatching(/^before /)])
    expect(calls).toEqual({ read: 2, deploy: 0, slow: 0 })
    expect(harness.stats()).toMatchObject({ activeScripts: 0, pendingToolCalls: 0 })

    const events: HarnessEvent[] = []
    const done = await harness.resume(first.snapshot!, 'approved', { onEvent: (e) => events.push(e) })
    expect(done.ok).toBe(true)
    expect(done.suspended).toBeUndefined()
    // The replay read the same random draws and clock readings as the first run.
    expect((done.value as any).before).toEqual(JSON.parse(first.logs[0]!.message.slice('before '.length)))
    expect(done.value).toMatchObject({ a: 'contents of a.txt', b: 'contents of b.txt', deployed: { deployed: 'prod' } })
    expect(done.logs.map((l) => l.message)).toEqual([first.logs[0]!.message, 'after'])
    expect(done.toolCalls.map((c) => [c.toolName, c.status])).toEqual([['read', 'ok'], ['read', 'ok'], ['deploy', 'ok']])
    // Not run again, not asked again: the decision answered the waiting call.
    expect(calls).toEqual({ read: 2, deploy: 1, slow: 0 })
    expect(asked).toEqual(['deploy'])
    expect(events).toContainEqual(expect.objectContaining({ type: 'approval_resolved', decision: 'approved' }))
    await harness.close()
  })

  it("a 'denied' decision is the script's ApprovalDeniedError, as if the person had denied it at once", async () => {
    const { tools } = counted()
    const harness = new ScriptHarness({ tools, snapshotKey: KEY, onApproval: () => 'suspend' })
    const first = await suspended(harness, "try { await tools.deploy({ env: 'prod' }) } catch (e) { return [e.name, e.message] }")
    const done = await harness.resume(first.snapshot!, 'denied')
    expect(done.value).toEqual(['ApprovalDeniedError', 'the user denied tools.deploy'])
    await harness.close()
  })

  it('concurrent calls settle in the order they settled the first time, whatever the order of the replay', async () => {
    const { calls, tools } = counted()
    const harness = new ScriptHarness({ tools, snapshotKey: KEY, onApproval: () => 'suspend', limits: { maxConcurrentToolCalls: 8 } })
    const source = `
      const order = []
      await Promise.all([
        tools.slow({ ms: 60, tag: 'late' }).then((t) => order.push(t)),
        tools.slow({ ms: 1, tag: 'early' }).then((t) => order.push(t)),
        tools.read({ path: 'x' }).then(() => order.push('read')),
      ])
      await tools.deploy({ env: 'prod' })
      return order`
    const first = await suspended(harness, source)
    const recorded = first.toolCalls.filter((c) => c.status === 'ok').map((c) => c.toolName)
    expect(recorded).toHaveLength(3)
    const done = await harness.resume(first.snapshot!, 'approved')
    // The first run saw `late` last; the replay answers in that order too.
    expect((done.value as string[]).at(-1)).toBe('late')
    expect(done.value).toHaveLength(3)
    expect(calls.slow).toBe(2)
    await harness.close()
  })

  it('a snapshot resumes in another process with the same key and tools, and its handlers there run only what is new', async () => {
    const harness = new ScriptHarness({ tools: shared.tools, snapshotKey: KEY, onApproval: () => 'suspend' })
    const first = await suspended(harness)
    await harness.close()
    const child = spawnSync(process.execPath, [path.join(__dirname, 'fixtures', 'durable', 'resume.cjs'), 'approved'], {
      input: first.snapshot,
      env: { ...process.env, SNAPSHOT_KEY: KEY },
      encoding: 'utf8',
      timeout: 30_000,
    })
    expect(child.stderr).toBe('')
    const { result, calls } = JSON.parse(child.stdout) as { result: ScriptResult; calls: Record<string, number> }
    expect(result.ok).toBe(true)
    expect(result.value).toMatchObject({ a: 'contents of a.txt', deployed: { deployed: 'prod' } })
    expect((result.value as any).before).toEqual(JSON.parse(first.logs[0]!.message.slice('before '.length)))
    expect(calls).toEqual({ read: 0, deploy: 1, slow: 0 })
  }, 40_000)

  it('a replay that takes another path ends with ScriptReplayDivergedError and runs nothing new', async () => {
    const { tools } = counted()
    const a = new ScriptHarness({ tools, snapshotKey: KEY, onApproval: () => 'suspend' })
    // The script's arguments depend on the harness's tool list.
    const first = await suspended(a, "await tools.read({ path: String(context.tools.length) }); return await tools.deploy({ env: 'prod' })")
    await a.close()
    const other = counted()
    const b = new ScriptHarness({ tools: [...other.tools, { name: 'extra', handler: () => 1 }], snapshotKey: KEY })
    const done = await b.resume(first.snapshot!, 'approved')
    expect(done).toMatchObject({ ok: false, error: { code: 'ScriptReplayDivergedError' } })
    expect(done.error!.message).toMatch(/call 1 of the script \(tools\.read\) had other arguments/)
    expect(done.value).toBeUndefined()
    expect(other.calls).toEqual({ read: 0, deploy: 0, slow: 0 })
    await b.close()
  })

  it('an altered, truncated or foreign snapshot is refused with a SnapshotError before anything runs', async () => {
    const { calls, tools } = counted()
    const harness = new ScriptHarness({ tools, snapshotKey: KEY, onApproval: () => 'suspend' })
    const { snapshot } = await suspended(harness)
    const runs = harness.stats().scriptsFinished
    const [prefix, body, tag] = snapshot!.split('.')
    const flipped = body!.slice(0, 20) + (body![20] === 'A' ? 'B' : 'A') + body!.slice(21)
    const cases: Array<[string, string]> = [
      [`${prefix}.${flipped}.${tag}`, 'ERR_SNAPSHOT_SIGNATURE'],
      // A cut tag is too short, or not base64 at all, depending on where it falls.
      [snapshot!.slice(0, snapshot!.length - 4), 'ERR_SNAPSHOT_SIGNATURE|ERR_SNAPSHOT_MALFORMED'],
      [snapshot!.slice(0, snapshot!.length - 5), 'ERR_SNAPSHOT_SIGNATURE|ERR_SNAPSHOT_MALFORMED'],
      [snapshot!.slice(0, 30), 'ERR_SNAPSHOT_MALFORMED'],
      [`shs9.${body}.${tag}`, 'ERR_SNAPSHOT_FORMAT'],
      ['', 'ERR_SNAPSHOT_FORMAT'],
    ]
    for (const [bad, code] of cases) {
      const e = await harness.resume(bad, 'approved').catch((e: unknown) => e)
      expect(e).toBeInstanceOf(SnapshotError)
      expect(code.split('|')).toContain((e as SnapshotError).code)
    }
    const foreign = new ScriptHarness({ tools, snapshotKey: 'another key, also long enough to use' })
    await expect(foreign.resume(snapshot!, 'approved')).rejects.toMatchObject({ name: 'SnapshotError', code: 'ERR_SNAPSHOT_SIGNATURE' })
    expect(harness.stats().scriptsFinished).toBe(runs)
    expect(calls.deploy).toBe(0)
    await foreign.close()
    await harness.close()
  })

  it('harness.suspend(scriptId) suspends a script whose calls all await approval, and no other', async () => {
    const { tools } = counted()
    let harness!: ScriptHarness
    let answer: (a: ApprovalAnswer) => void = () => {}
    const said: boolean[] = []
    harness = new ScriptHarness({
      tools,
      snapshotKey: KEY,
      limits: { maxConcurrentToolCalls: 8 },
      // A person who has not answered yet.
      onApproval: () => new Promise<ApprovalAnswer>((r) => (answer = r)),
      onEvent: (e) => {
        if (e.type === 'approval_requested') setTimeout(() => said.push(harness.suspend(e.scriptId)), 5)
        if (e.type === 'tool_call_started' && e.toolName === 'slow') said.push(harness.suspend(e.scriptId))
      },
    })
    const r = await harness.run("await tools.slow({ ms: 30, tag: 't' }); return await tools.deploy({ env: 'prod' })")
    // While the slow call ran, suspend said no; once only the approval was left, yes.
    expect(said).toEqual([false, true])
    expect(r).toMatchObject({ suspended: true })
    answer('approved')
    expect(harness.suspend('scr_nope')).toBe(false)
    const done = await harness.resume(r.snapshot!, 'approved')
    expect(done.value).toEqual({ deployed: 'prod' })
    await harness.close()
  })

  it("misuse: resume and suspend without a snapshotKey, a bad decision or key are TypeErrors; 'suspend' without a key denies", async () => {
    const { tools } = counted()
    expect(() => new ScriptHarness({ tools, snapshotKey: 'short' })).toThrow(/^options\.snapshotKey: must be at least 16 bytes$/)
    expect(() => new ScriptHarness({ tools, snapshotKey: 42 as any })).toThrow(TypeError)
    const plain = new ScriptHarness({ tools, onApproval: () => 'suspend' })
    await expect(plain.resume('shs1.x.y', 'approved')).rejects.toThrow(/^resume: the harness has no snapshotKey/)
    expect(() => plain.suspend('x')).toThrow(TypeError)
    const r = await plain.run("try { await tools.deploy({ env: 'prod' }) } catch (e) { return e.name }")
    expect(r.value).toBe('ApprovalDeniedError')
    const keyed = new ScriptHarness({ tools, snapshotKey: new TextEncoder().encode(KEY) })
    await expect(keyed.resume('shs1.x.y', 'yes' as any)).rejects.toThrow(/^decision: must be 'approved' or 'denied'$/)
    await expect(keyed.resume(1 as any, 'approved')).rejects.toThrow(TypeError)
    await expect(keyed.resume('shs1.x.y', 'approved', { limits: { timeoutMs: 5 } } as any)).rejects.toThrow(/^options\.limits: a resumed script keeps/)
    await Promise.all([plain.close(), keyed.close()])
  })

  it('a resumed script keeps its id (context.scriptId and call ids read the same); a disabled or dry-run harness runs no snapshot', async () => {
    const { calls, tools } = counted()
    const harness = new ScriptHarness({ tools, snapshotKey: KEY, onApproval: () => 'suspend' })
    const first = await suspended(harness, 'await tools.read({ path: context.scriptId }); return await tools.deploy({ env: context.scriptId })')
    const done = await harness.resume(first.snapshot!, 'approved')
    expect(done.scriptId).toBe(first.scriptId)
    expect(done.value).toEqual({ deployed: first.scriptId })
    expect(done.toolCalls.map((c) => c.callId)).toEqual(first.toolCalls.map((c) => c.callId))
    for (const mode of ['disabled', 'dry-run'] as const) {
      const other = new ScriptHarness({ tools, snapshotKey: KEY, mode })
      const r = await other.resume(first.snapshot!, 'approved')
      expect(r.ok).toBe(mode === 'dry-run')
      if (mode === 'disabled') expect(r.error?.code).toBe('HarnessDisabledError')
      await other.close()
    }
    expect(calls).toEqual({ read: 1, deploy: 1, slow: 0 })
    await harness.close()
  })

  it('a handler approved and running when the script is suspended finishes first and is journaled: a resumption never runs it again', async () => {
    const { calls, tools } = counted()
    let work = 0
    const all = [...tools, { name: 'work', requiresApproval: true, handler: () => new Promise((r) => setTimeout(() => r(++work), 50)) }]
    const harness = new ScriptHarness({ tools: all, snapshotKey: KEY, limits: { maxConcurrentToolCalls: 8 }, onApproval: (req) => (req.toolName === 'work' ? 'approved' : 'suspend') })
    const first = await suspended(harness, "const w = tools.work({}); const d = tools.deploy({ env: 'prod' }); return [await w, await d]")
    expect(work).toBe(1)
    expect(first.toolCalls.map((c) => c.status)).toEqual(['ok', 'aborted'])
    const done = await harness.resume(first.snapshot!, 'approved')
    expect(done.value).toEqual([1, { deployed: 'prod' }])
    expect([work, calls.deploy]).toEqual([1, 1])
    await harness.close()
  })

  it('a call still unfinished when the script was suspended must be made again as it was: otherwise the replay diverged and it does not run', async () => {
    const { tools } = counted()
    const never = new Promise<ApprovalAnswer>(() => {})
    const a = new ScriptHarness({ tools, snapshotKey: KEY, limits: { maxConcurrentToolCalls: 8 }, onApproval: (req) => ((req.args as any).env === 'b' ? 'suspend' : never) })
    // The first deploy waits for a person who does not answer; the second suspends the script.
    const source = "const x = tools.deploy({ env: 'a' + context.tools.length }); const y = tools.deploy({ env: 'b' }); return [await x, await y]"
    const first = await suspended(a, source)
    await a.close()
    const other = counted()
    const asked: unknown[] = []
    const b = new ScriptHarness({ tools: [...other.tools, { name: 'extra', handler: () => 1 }], snapshotKey: KEY, onApproval: (req) => (asked.push(req.args), 'approved') })
    const done = await b.resume(first.snapshot!, 'approved')
    expect(done).toMatchObject({ ok: false, error: { code: 'ScriptReplayDivergedError', message: expect.stringMatching(/call 1 of the script \(tools\.deploy\) had other arguments/) } })
    expect([other.calls.deploy, asked]).toEqual([0, []])
    // On a harness like the first, that call is asked again and runs live.
    const c = new ScriptHarness({ tools: counted().tools, snapshotKey: KEY, onApproval: (req) => (asked.push(req.args), 'approved') })
    expect((await c.resume(first.snapshot!, 'approved')).value).toEqual([{ deployed: 'a3' }, { deployed: 'b' }])
    expect(asked).toEqual([{ env: 'a3' }])
    await Promise.all([b.close(), c.close()])
  })

  it('a resumption stopped from outside keeps its own error, not a divergence; a key with a lone surrogate is refused', async () => {
    const { tools } = counted()
    const harness = new ScriptHarness({ tools, snapshotKey: KEY, onApproval: () => 'suspend' })
    const first = await suspended(harness)
    // Cancelled as its replay makes its first call: before the journal is answered.
    const stop = new AbortController()
    const r = await harness.resume(first.snapshot!, 'approved', {
      signal: stop.signal,
      onEvent: (e) => e.type === 'tool_call_started' && stop.abort('the user left'),
    })
    expect(r.error).toMatchObject({ code: 'ScriptCancelledError', message: expect.stringMatching(/the user left/) })
    // And closed while resuming: the close's own error, whichever comes first.
    const pending = harness.resume(first.snapshot!, 'approved')
    await harness.close()
    expect((await pending).error?.code ?? 'ok').not.toBe('ScriptReplayDivergedError')
    expect(() => new ScriptHarness({ tools, snapshotKey: '\uD800'.repeat(16) })).toThrow(/^options\.snapshotKey: must be well-formed text/)
  })

  it("two approvals both answered 'suspend' suspend the script at the first; the second is asked again on resuming", async () => {
    const { calls, tools } = counted()
    const harness = new ScriptHarness({ tools, snapshotKey: KEY, limits: { maxConcurrentToolCalls: 8 }, onApproval: () => 'suspend' })
    const first = await suspended(harness, "const a = tools.deploy({ env: 'a' }); const b = tools.deploy({ env: 'b' }); return [await a, await b]")
    expect(first.error!.message).toMatch(/tools\.deploy/)
    const asked: unknown[] = []
    const other = new ScriptHarness({ tools, snapshotKey: KEY, onApproval: (req) => (asked.push(req.args), 'approved') })
    expect((await other.resume(first.snapshot!, 'approved')).value).toEqual([{ deployed: 'a' }, { deployed: 'b' }])
    expect([asked, calls.deploy]).toEqual([[{ env: 'b' }], 2])
    await Promise.all([harness.close(), other.close()])
  })

  it('a replay that stops making its recorded calls and waits is a divergence at once, not at its time limit', async () => {
    const { tools } = counted()
    const a = new ScriptHarness({ tools, snapshotKey: KEY, limits: { maxConcurrentToolCalls: 8 }, onApproval: () => 'suspend' })
    // With three tools it reads before awaiting the deploy; with four it only awaits the deploy.
    const source = "const d = tools.deploy({ env: 'x' }); if (context.tools.length === 3) await tools.read({ path: 'a' }); return await d"
    const first = await suspended(a, source)
    await a.close()
    const other = counted()
    const b = new ScriptHarness({ tools: [...other.tools, { name: 'extra', handler: () => 1 }], snapshotKey: KEY, limits: { timeoutMs: 20_000 } })
    // At its time limit it would be a ScriptTimeoutError instead.
    const done = await b.resume(first.snapshot!, 'approved')
    expect(done).toMatchObject({ ok: false, error: { code: 'ScriptReplayDivergedError', message: expect.stringMatching(/waits without making again call 2 \(tools\.read\)/) } })
    expect(other.calls).toEqual({ read: 0, deploy: 0, slow: 0 })
    await b.close()
  })

  describe('turns', () => {
    const reply = {
      role: 'assistant',
      content:
        "Reading, then deploying.\n<tool-calls>const a = await tools.read({ path: 'a.txt' }); return await tools.deploy({ env: a.text })</tool-calls>\n" +
        "Then the notes.\n<tool-calls>return (await tools.read({ path: 'notes' })).text</tool-calls>",
    }

    it('a turn waits with its suspended script; resumeTurn runs it on, then the later scripts, and gives the turn processResponse would have', async () => {
      const { calls, tools } = counted()
      const harness = new ScriptHarness({ tools, snapshotKey: KEY, onApproval: () => 'suspend' })
      const waiting = await harness.processResponse('chat', reply)
      expect(waiting.suspended).toEqual({ scriptId: waiting.scripts[0]!.scriptId, snapshot: expect.stringMatching(/^shs1\./) })
      expect(waiting.scripts[0]!.error?.code).toBe('ScriptSuspendedError')
      expect(waiting.scripts[1]).toMatchObject({ ok: false, toolCalls: [] })
      // The later script did not run.
      expect(calls).toEqual({ read: 1, deploy: 0, slow: 0 })

      const turn = await harness.resumeTurn<'chat'>(waiting.suspended!.snapshot, 'approved')
      expect(turn.suspended).toBeUndefined()
      expect(turn.scripts.map((r) => [r.ok, r.value])).toEqual([[true, { deployed: 'contents of a.txt' }], [true, 'contents of notes']])
      expect(calls).toEqual({ read: 2, deploy: 1, slow: 0 })

      // The same turn processed whole by a harness whose person approves at once.
      const direct = new ScriptHarness({ tools: counted().tools, onApproval: () => 'approved' })
      const whole = await direct.processResponse('chat', reply)
      const shape = (t: typeof turn) => JSON.stringify(t.continuation).replace(/scr_[0-9a-f]+_\d+/g, 'scr').replace(/\d+(\.\d+)? ?ms/g, 'N ms')
      expect(shape(turn)).toBe(shape(whole))
      expect(turn.items.map((i) => i.type)).toEqual(whole.items.map((i) => i.type))
      await Promise.all([harness.close(), direct.close()])
    })

    it('a streamed turn suspends the same way and starts no later script; a turn snapshot is not a script snapshot', async () => {
      const { calls, tools } = counted()
      const harness = new ScriptHarness({ tools, snapshotKey: KEY, onApproval: () => 'suspend' })
      const s = harness.stream('chat')
      const text = reply.content
      for (let i = 0; i < text.length; i += 16) {
        s.push({ id: 'c', object: 'chat.completion.chunk', created: 0, model: 'm', choices: [{ index: 0, delta: { content: text.slice(i, i + 16) }, finish_reason: null }] })
      }
      const waiting = await s.end()
      expect(waiting.suspended?.scriptId).toBe(waiting.scripts[0]!.scriptId)
      expect(calls.read).toBe(1)
      await expect(harness.resume(waiting.suspended!.snapshot, 'approved')).rejects.toMatchObject({ name: 'SnapshotError', code: 'ERR_SNAPSHOT_FORMAT' })
      await expect(harness.resumeTurn(waiting.scripts[0]!.snapshot!, 'approved')).rejects.toMatchObject({ name: 'SnapshotError', code: 'ERR_SNAPSHOT_FORMAT' })
      const turn = await harness.resumeTurn(waiting.suspended!.snapshot, 'denied')
      expect(turn.scripts.map((r) => r.ok)).toEqual([false, true])
      expect(turn.scripts[0]!.error).toMatchObject({ code: 'ApprovalDeniedError', message: expect.stringMatching(/denied tools\.deploy/) })
      expect(calls).toEqual({ read: 2, deploy: 0, slow: 0 })
      await harness.close()
    })

    it('resumeTurn: a bad option rejects and leaves nothing running; on a disabled harness the scripts that ran keep their results', async () => {
      const { calls, tools } = counted()
      const harness = new ScriptHarness({ tools, snapshotKey: KEY, onApproval: () => 'suspend' })
      const twoStep = { role: 'assistant', content: "<tool-calls>return (await tools.read({ path: 'x' })).text</tool-calls> then <tool-calls>return await tools.deploy({ env: 'prod' })</tool-calls>" }
      const waiting = await harness.processResponse('chat', twoStep)
      expect(waiting.suspended?.scriptId).toBe(waiting.scripts[1]!.scriptId)
      await expect(harness.resumeTurn(waiting.suspended!.snapshot, 'approved', { signal: 'x' as any })).rejects.toThrow(/^options\.signal: must be an AbortSignal$/)
      expect(harness.stats()).toMatchObject({ activeScripts: 0, pendingToolCalls: 0 })
      const disabled = new ScriptHarness({ tools, snapshotKey: KEY, mode: 'disabled' })
      const turn = await disabled.resumeTurn<'chat'>(waiting.suspended!.snapshot, 'approved')
      expect(turn.scripts.map((r) => [r.ok, r.value ?? r.error?.code])).toEqual([[true, 'contents of x'], [false, 'HarnessDisabledError']])
      expect(calls).toEqual({ read: 1, deploy: 0, slow: 0 })
      await Promise.all([harness.close(), disabled.close()])
    })
  })
})
