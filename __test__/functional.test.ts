// What scripts can do with tools. Names start with their id in
// shared/design/TESTS.md.
import { afterAll, describe, expect, it } from 'vitest'
import { harness, newRecorder } from './tools'
import type { HarnessEvent } from '../index.js'

const rec = newRecorder()
const events: HarnessEvent[] = []
const approvals: unknown[] = []
let approve: (req: any) => any = () => 'approved'
const h = harness(
  {
    onEvent: (e) => events.push(e),
    onApproval: (req) => {
      approvals.push(req)
      return approve(req)
    },
    context: { workingDirectory: '/workspace/acme-web', conversationId: 'conv-1' },
  },
  rec,
)
afterAll(() => h.close())

describe('tool calls', () => {
  it('F1 one tool call returns its result to the script and the script value to the host', async () => {
    const r = await h.run(`const res = await tools.applyPatch({ patch: '*** Begin Patch\\n*** End Patch' })
      return { applied: res.success, files: res.changes.map((c) => c.path) }`)
    expect(r).toMatchObject({ ok: true, value: { applied: true, files: ['src/a.ts'] } })
    expect(r.toolCalls).toEqual([
      expect.objectContaining({ toolName: 'applyPatch', status: 'ok', args: { patch: '*** Begin Patch\n*** End Patch' } }),
    ])
    expect(r.metadata.toolCallsMade).toBe(1)
  })

  it('F3 TypeScript with types, interfaces, generics and async/await compiles and runs', async () => {
    const r = await h.run(`
      interface Hit { path: string; score: number }
      type Pair<T> = [T, T]
      enum Level { Low = 1, High = 2 }
      class Box<T> { constructor(private readonly value: T) {} get(): T { return this.value } }
      async function first<T>(items: readonly T[]): Promise<T | undefined> { return items[0] }
      const hits: Hit[] = [{ path: 'a.ts', score: 0.9 }]
      const pair: Pair<number> = [1, 2]
      const top = (await first<Hit>(hits))!
      const echoed = (await tools.echo({ v: top.path })) as { v: string }
      return { top: top.path, pair, level: Level.High, boxed: new Box<string>('x').get(), echoed: echoed.v satisfies string }`)
    expect(r.value).toEqual({ top: 'a.ts', pair: [1, 2], level: 2, boxed: 'x', echoed: 'a.ts' })
  })

  it('F4 Promise.all over three tools runs them concurrently and resolves', async () => {
    const t = Date.now()
    const r = await h.run(`const [a, b, c] = await Promise.all([tools.slow({ ms: 200, tag: 'a' }), tools.slow({ ms: 200, tag: 'b' }), tools.slow({ ms: 200, tag: 'c' })])
      return [a.tag, b.tag, c.tag]`)
    expect(r.value).toEqual(['a', 'b', 'c'])
    expect(Date.now() - t).toBeLessThan(550)
  })

  it('F6 a failing tool is a catchable ToolExecutionError and the script goes on', async () => {
    const r = await h.run(`const out = []
      try { await tools.fail({}) } catch (e) { out.push([e.name, e.message, e.toolName]) }
      try { await tools.failAsync({}) } catch (e) { out.push([e.name, e.message]) }
      out.push((await tools.echo({ after: true })).after)
      return out`)
    expect(r.value).toEqual([['ToolExecutionError', 'disk on fire', 'fail'], ['ToolExecutionError', 'network down'], true])
    expect(r.toolCalls.map((c) => c.status)).toEqual(['error', 'error', 'ok'])
    expect(r.toolCalls[0].error).toMatchObject({ code: 'ToolExecutionError', toolName: 'fail' })
  })

  it('F6 an uncaught tool failure ends the script with its own code', async () => {
    const r = await h.run('await tools.fail({})')
    expect(r.error).toMatchObject({ code: 'ToolExecutionError', toolName: 'fail', message: 'disk on fire' })
  })

  it('F7 one tool output feeds the next tool arguments', async () => {
    const r = await h.run(`const found = await tools.mcp.github.searchIssues({ repo: 'acme/web', query: 'flaky' })
      const echoed = await tools.echo({ issue: found.items[0].number, title: found.items[0].title })
      return echoed`)
    expect(r.value).toEqual({ issue: 7, title: 'about flaky' })
  })

  it('F8 a nested object returned by the script comes back intact', async () => {
    const value = { a: [1, 2, { b: 'ü😀', c: null, d: [true, false] }], e: { f: { g: { h: 1.5e-7 } } }, i: '' }
    const r = await h.run(`return ${JSON.stringify(value)}`)
    expect(r.value).toEqual(value)
  })

  it('F14 a per-call timeout override within the allowed range is honoured', async () => {
    const t = Date.now()
    const r = await h.run('await tools.slow({ ms: 2000 })', { limits: { timeoutMs: 120 } })
    expect(r.error?.code).toBe('ScriptTimeoutError')
    expect(Date.now() - t).toBeLessThan(1000)
    await expect(h.run('return 1', { limits: { timeoutMs: -5 } })).rejects.toThrow(TypeError)
  })

  it('F15 MCP-style namespaced tools are callable', async () => {
    const r = await h.run("return (await tools.mcp.github.searchIssues({ repo: 'a/b', query: 'x' })).totalCount")
    expect(r.value).toBe(1)
  })

  it('F22 a script without return completes with no value', async () => {
    const r = await h.run("await tools.echo({}); console.log('done')")
    expect(r.ok).toBe(true)
    expect('value' in r).toBe(false)
  })

  it('F23 exec stdout, stderr and exit code reach the script', async () => {
    const r = await h.run(`const res = await tools.exec({ command: [process_path, '-e', "process.stdout.write('out'); process.stderr.write('err'); process.exit(3)"] })
      return res`.replace('process_path', JSON.stringify(process.execPath)))
    expect(r.value).toEqual({ exitCode: 3, stdout: 'out', stderr: 'err' })
  })

  it('F25 helper functions defined inside a script work', async () => {
    const r = await h.run(`function double(n: number): number { return n * 2 }
      const triple = (n: number) => n * 3
      async function viaTool(v: string) { return (await tools.echo({ v })).v }
      return [double(2), triple(2), await viaTool('x'), [1, 2].map(double)]`)
    expect(r.value).toEqual([4, 6, 'x', [2, 4]])
  })

  it('F28 an unknown tool fails at once with ToolNotFoundError suggesting the closest names', async () => {
    const r = await h.run('await tools.exce({})')
    expect(r.error).toMatchObject({ code: 'ToolNotFoundError', toolName: 'exce' })
    expect(r.error?.message).toContain("did you mean 'tools.exec'")
    const nested = await h.run('try { await tools.mcp.github.searchIssue({}) } catch (e) { return [e.name, e.message] }')
    expect((nested.value as string[])[1]).toContain('tools.mcp.github.searchIssues')
  })

  it('F10 context.emitProgress reaches the host as progress events', async () => {
    const r = await h.run("context.emitProgress('half way'); return 1")
    expect(events).toContainEqual(expect.objectContaining({ type: 'progress', scriptId: r.scriptId, message: 'half way' }))
  })

  it('F21 context.workingDirectory and the other seed fields are readable', async () => {
    const r = await h.run('return [context.workingDirectory, context.conversationId, context.turnId, context.scriptId, context.mode, context.limits.timeoutMs, context.tools.includes("exec")]', {
      context: { turnId: 'turn-9' },
    })
    expect(r.value).toEqual(['/workspace/acme-web', 'conv-1', 'turn-9', r.scriptId, 'enabled', 30000, true])
  })

  it('F27 on timeout the tool calls that completed are in the result', async () => {
    const r = await h.run("await tools.echo({ n: 1 }); await tools.echo({ n: 2 }); console.log('before'); await tools.slow({ ms: 5000 })", {
      limits: { timeoutMs: 200 },
    })
    expect(r.error?.code).toBe('ScriptTimeoutError')
    expect(r.toolCalls.map((c) => c.status)).toEqual(['ok', 'ok', 'aborted'])
    expect(r.toolCalls[1].result).toEqual({ n: 2 })
    expect(r.logs).toEqual([{ level: 'log', message: 'before' }])
  })

  it('F29 a syntax error is reported with its line, and nothing runs', async () => {
    const before = rec.started.length
    const r = await h.run("await tools.slow({ ms: 1 })\nconst a = {\n  x: 1\n  y: 2\n}")
    expect(r.error).toMatchObject({ code: 'ScriptSyntaxError', line: 4, phase: 'parsing' })
    expect(rec.started.length).toBe(before)
  })

  it('F30 the tool-call budget, when exceeded, throws ToolBudgetExceededError', async () => {
    const r = await h.run(`let made = 0
      try { for (let i = 0; i < 10; i++) { await tools.echo({ i }); made++ } } catch (e) { return [made, e.name] }`, {
      limits: { maxToolCalls: 3 },
    })
    expect(r.value).toEqual([3, 'ToolBudgetExceededError'])
  })

  it('F11 a tool that requires approval waits until approved, then runs', async () => {
    const gated = harness({
      tools: [{ name: 'applyPatch', requiresApproval: true, handler: (a: any) => ({ got: a.patch }) }],
      onApproval: (req) => new Promise((resolve) => setTimeout(() => resolve(req.toolName === 'applyPatch' ? 'approved' : 'denied'), 100)),
    })
    const t = Date.now()
    const r = await gated.run("return await tools.applyPatch({ patch: 'p', token: 'secret' })")
    expect(r.value).toEqual({ got: 'p' })
    expect(Date.now() - t).toBeGreaterThanOrEqual(95)
    await gated.close()
  })

  it('F12 a denied approval throws ApprovalDeniedError; the script catches it and continues', async () => {
    const gated = harness({
      tools: [{ name: 'applyPatch', requiresApproval: (a: any) => a.dangerous === true, handler: () => 'ran' }],
      onApproval: () => 'denied',
    })
    const r = await gated.run(`const out = []
      out.push(await tools.applyPatch({ dangerous: false }))
      try { await tools.applyPatch({ dangerous: true }) } catch (e) { out.push(e.name) }
      return out`)
    expect(r.value).toEqual(['ran', 'ApprovalDeniedError'])
    expect(r.toolCalls.map((c) => c.status)).toEqual(['ok', 'denied'])
    await gated.close()
  })

  it('S17 a tool call the script never awaited is aborted when the script ends', async () => {
    const r = await h.run("tools.slow({ ms: 5000, tag: 'orphan' }); await tools.echo({}); return 'returned'")
    expect(r.value).toBe('returned')
    expect(r.toolCalls[0]).toMatchObject({ toolName: 'slow', status: 'aborted' })
    await new Promise((res) => setTimeout(res, 20))
    expect(rec.aborted).toContain(r.toolCalls[0].callId)
  })
})
