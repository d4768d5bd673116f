// processResponse over every fixture in __test__/fixtures (whole responses and
// the narrow forms), and the behaviours of turns. Names start with their id in TESTS.md.
import { createHash } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { ScriptHarness, type ProcessedTurn, type ToolDefinition } from '../index.js'

const root = path.join(__dirname, 'fixtures/turns')
const fixtures = ['responses', 'chat', 'messages'].flatMap((format) =>
  readdirSync(path.join(root, format))
    .filter((f) => f.endsWith('.json'))
    .map((f) => ({ file: `${format}/${f}`, ...JSON.parse(readFileSync(path.join(root, format, f), 'utf8')) })),
)

/** Canned tools of the fixtures' README, with realistic results. */
const cannedTools: ToolDefinition[] = [
  { name: 'exec', handler: () => ({ exitCode: 1, stdout: 'src/a.ts:3:1 error\nsrc/b.ts:9:2 warning\n', stderr: '' }) },
  { name: 'fileSearch', handler: () => [{ path: 'src/parser/tokenizer.ts', score: 0.9 }, { path: 'src/server/app.ts', score: 0.4 }] },
  { name: 'applyPatch', requiresApproval: true, handler: () => ({ success: true, changes: [{ path: 'src/a.ts', kind: 'update', additions: 1, deletions: 1 }] }) },
  { name: 'mcp.github.searchIssues', handler: () => ({ totalCount: 1, items: [{ number: 7, title: 'Flaky', state: 'open', url: 'u', labels: ['bug'] }] }) },
]

function narrow(fx: any) {
  switch (fx.format) {
    case 'responses': return fx.response.output
    case 'chat': return fx.response.choices[0].message
    default: return fx.response.content
  }
}

function check(fx: any, turn: ProcessedTurn) {
  const calls = turn.items.filter((i) => i.type === 'script_tool_call') as any[]
  expect(calls.map((c) => c.source_code.trim())).toEqual(fx.expect.scripts.map((s: string) => s.trim()))
  expect(calls.map((c) => c.language)).toEqual(fx.expect.languages)
  for (const c of calls) expect(c.source_sha256).toBe(createHash('sha256').update(c.source_code).digest('hex'))
  // F13: each script call is immediately followed by its output.
  turn.items.forEach((item, i) => {
    if (item.type === 'script_tool_call') {
      expect(turn.items[i + 1]).toMatchObject({ type: 'script_tool_call_output', call_id: item.call_id })
    }
  })
  // Outcomes.
  fx.expect.outcomes.forEach((o: any, i: number) => {
    if (o.ok) expect(turn.scripts[i].ok, JSON.stringify(turn.scripts[i].error)).toBe(true)
    else expect(turn.scripts[i].error).toMatchObject({ code: o.code, line: o.line })
  })
  // Text: every expected segment, in order, and nothing but them (and whitespace).
  const text = turn.items.filter((i) => i.type === 'message').map((m: any) => m.content.map((c: any) => c.text).join('')).join('')
  let rest = text
  for (const seg of fx.expect.textSegments) {
    const at = rest.indexOf(seg.trim())
    expect(at, seg).toBeGreaterThanOrEqual(0)
    expect(rest.slice(0, at).trim(), 'nothing else before: ' + seg).toBe('')
    rest = rest.slice(at + seg.trim().length)
  }
  expect(rest.trim()).toBe('')
  // Preserved strings, byte for byte, in order.
  const dump = JSON.stringify(turn.items)
  let from = 0
  for (const p of fx.expect.preserved) {
    const at = dump.indexOf(JSON.stringify(p).slice(1, -1), from)
    expect(at, p.slice(0, 40)).toBeGreaterThanOrEqual(0)
    from = at
  }
  expect(turn.problems.map((p) => p.kind)).toEqual((fx.expect.problems ?? []).map((p: any) => p.kind))
  if (fx.expect.continuation !== 'any') expect(turn.continuation.length).toBe(fx.expect.scripts.length > 0 ? 1 : 0)
}

describe.each(fixtures)('$file', (fx) => {
  const harness = () => new ScriptHarness({ tools: cannedTools, onApproval: () => 'approved', context: { workingDirectory: '/workspace/acme-web' } })

  it('processResponse on the whole response', async () => {
    const h = harness()
    const frozen = JSON.stringify(fx.response)
    check(fx, await h.processResponse(fx.format, fx.response))
    expect(JSON.stringify(fx.response)).toBe(frozen)
    await h.close()
  })

  it('processResponse on the narrow form', async () => {
    const h = harness()
    check(fx, await h.processResponse(fx.format, narrow(fx)))
    await h.close()
  })

  it('stream gives the same turn, event by event, and shows only safe text', async () => {
    const h = harness()
    const s = h.stream(fx.format)
    let shown = ''
    for (const event of fx.stream) {
      shown += s.push(event)
      await new Promise((res) => setImmediate(res))
    }
    const turn = await s.end()
    check(fx, turn)
    // What was shown never holds a script body.
    for (const script of fx.expect.scripts) if (script.trim().length > 20) expect(shown).not.toContain(script.trim())
    await h.close()
  })
})

describe('turns', () => {
  const responses = (text: string) => [{ type: 'message', role: 'assistant', content: [{ type: 'output_text', text }] }]

  it('F2 text before and after a script is kept, in order, in history', async () => {
    const h = new ScriptHarness({ tools: cannedTools })
    const turn = await h.processResponse('responses', responses('Before.\n<tool-calls>return 1</tool-calls>\nAfter.'))
    expect(turn.items.map((i) => i.type)).toEqual(['message', 'script_tool_call', 'script_tool_call_output', 'message'])
    await h.close()
  })

  it('F20 several scripts run in order and their outputs keep that order', async () => {
    const order: number[] = []
    const h = new ScriptHarness({ tools: [{ name: 'mark', handler: (a: any) => { order.push(a.n); return a.n } }] })
    const turn = await h.processResponse('chat', { role: 'assistant', content: '<tool-calls>return await tools.mark({ n: 1 })</tool-calls> and <tool-calls>return await tools.mark({ n: 2 })</tool-calls>' })
    expect(order).toEqual([1, 2])
    expect(turn.scripts.map((s) => s.value)).toEqual([1, 2])
    expect(turn.continuation).toHaveLength(1)
    expect(turn.continuation[0].content).toMatch(/return: 1[\s\S]*return: 2/)
    await h.close()
  })

  it('a failing script does not stop later ones, unless the host asks', async () => {
    const h = new ScriptHarness({ tools: [] })
    const text = [{ type: 'text', text: '<tool-calls>throw new Error("x")</tool-calls> then <tool-calls>return 2</tool-calls>' }]
    const all = await h.processResponse('messages', text)
    expect(all.scripts.map((r) => r.ok)).toEqual([false, true])
    const stopped = await h.processResponse('messages', text, { stopAfterFailure: true })
    expect(stopped.scripts.map((r) => r.error?.code)).toEqual(['ScriptRuntimeError', 'ScriptCancelledError'])
    expect((stopped.continuation[0].content[1] as any).text).toContain('stopAfterFailure')
    await h.close()
  })

  it('F17 disabled mode runs nothing and tells the model with HarnessDisabledError', async () => {
    let ran = 0
    const h = new ScriptHarness({ tools: [{ name: 'x', handler: () => ran++ }], mode: 'disabled' })
    const turn = await h.processResponse('messages', [{ type: 'text', text: '<tool-calls>await tools.x({})</tool-calls>' }])
    expect(ran).toBe(0)
    expect(turn.scripts[0].error?.code).toBe('HarnessDisabledError')
    expect((turn.continuation[0].content[0] as any).text).toContain('HarnessDisabledError')
    await h.close()
  })

  it('F18 dry-run returns a validation report per script and runs nothing', async () => {
    let ran = 0
    const h = new ScriptHarness({ tools: [{ name: 'x', handler: () => ran++ }] })
    const turn = await h.processResponse('responses', responses('<tool-calls>await tools.x({})</tool-calls><tool-calls>import y from "z"</tool-calls>'), { mode: 'dry-run' })
    expect(ran).toBe(0)
    expect(turn.reports?.map((r) => r.ok)).toEqual([true, false])
    expect(turn.reports?.[0].toolsReferenced).toEqual(['x'])
    const text = (turn.continuation[0] as any).content.map((c: any) => c.text).join('\n')
    expect(text).toContain('dry-run: not run')
    expect(text).toContain('BannedConstructError')
    await h.close()
  })

  it('bad input is a clear TypeError', async () => {
    const h = new ScriptHarness({ tools: [] })
    await expect(h.processResponse('gemini' as any, [])).rejects.toThrow(/format: must be one of/)
    await expect(h.processResponse('chat', 'hello' as any)).rejects.toThrow(TypeError)
    await expect(h.processResponse('responses', { id: 'x' })).rejects.toThrow(/output/)
    // A toJSON that gives undefined serializes to nothing.
    await expect(h.processResponse('chat', { toJSON: () => undefined })).rejects.toThrow(/^response: is not JSON \(it serializes to nothing\)$/)
    await h.close()
  })
})

describe('streaming', () => {
  it('I3 Messages API turn streamed: thinking + script, the script starts before the stream ends', async () => {
    const fx = fixtures.find((f) => f.file === 'messages/02-thinking-text-script-text.json')
    const firstCallAt: number[] = []
    let pushed = 0
    const h = new ScriptHarness({ tools: cannedTools.map((t) => ({ ...t, handler: (a: any, c: any) => { firstCallAt.push(pushed); return (t.handler as any)(a, c) } })) })
    const s = h.stream('messages')
    for (const event of fx.stream) {
      s.push(event)
      pushed++
      await new Promise((res) => setTimeout(res, 2))
    }
    const turn = await s.end()
    expect(firstCallAt.length).toBeGreaterThan(0)
    expect(firstCallAt[0]).toBeLessThan(fx.stream.length)
    expect(turn.items[0]).toMatchObject({ type: 'reasoning' })
    expect(turn.scripts[0].ok).toBe(true)
    await h.close()
  })

  it('push returns text as soon as it is safe, holding back what may open a tag', async () => {
    const h = new ScriptHarness({ tools: [] })
    const s = h.stream('chat')
    const chunk = (content: string) => ({ id: 'c', object: 'chat.completion.chunk', created: 0, model: 'm', choices: [{ index: 0, delta: { content }, finish_reason: null }] })
    expect(s.push(chunk('Hello <to'))).toBe('Hello ')
    expect(s.push(chunk('ol> there\n<tool-calls>return 1'))).toBe('<tool> there\n')
    expect(s.push(chunk('</tool-calls> bye'))).toBe(' bye')
    const turn = await s.end()
    expect(turn.scripts[0].value).toBe(1)
    expect(() => s.push(chunk('x'))).toThrow(TypeError)
    await h.close()
  })

  it('a malformed event or one of another format is a TypeError; what came before stays', async () => {
    const h = new ScriptHarness({ tools: [] })
    const s = h.stream('messages')
    expect(() => s.push({ object: 'chat.completion.chunk', choices: [] })).toThrow(TypeError)
    expect(() => s.push('text')).toThrow(TypeError)
    expect(() => s.push({ toJSON: () => undefined })).toThrow(/^event: is not JSON \(it serializes to nothing\)$/)
    s.push({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } })
    s.push({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'kept' } })
    const turn = await s.end()
    expect((turn.items[0] as any).content[0].text).toBe('kept')
    await h.close()
  })

  it('a stream that ends inside a script reports it unclosed and runs nothing', async () => {
    const h = new ScriptHarness({ tools: [] })
    const s = h.stream('messages')
    s.push({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } })
    s.push({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Start <tool-calls>return 1' } })
    const turn = await s.end()
    expect(turn.scripts).toEqual([])
    expect(turn.problems.map((p) => p.kind)).toEqual(['unclosed'])
    expect((turn.items[0] as any).content[0].text).toBe('Start <tool-calls>return 1')
    await h.close()
  })

  it('abort() cancels running scripts and end() still resolves', async () => {
    const h = new ScriptHarness({ tools: [] })
    const s = h.stream('messages')
    s.push({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } })
    s.push({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: '<tool-calls>while (true) {}</tool-calls>' } })
    s.abort('user left')
    const turn = await s.end()
    expect(turn.scripts[0].error?.code).toBe('ScriptCancelledError')
    await h.close()
  })

  it('bad limits throw from stream() and processResponse() before anything runs, with or without scripts', async () => {
    const h = new ScriptHarness({ tools: [] })
    expect(() => h.stream('chat', { limits: { timeoutMs: 0 } })).toThrow(/^options\.limits\.timeoutMs: /)
    expect(() => h.stream('chat', { limits: { timeoutMS: 5 } as any })).toThrow(TypeError)
    await expect(h.processResponse('chat', { role: 'assistant', content: 'no scripts' }, { limits: { memoryMb: -1 } })).rejects.toThrow(TypeError)
    await h.close()
  })

  it('a harness closed while a stream is open rejects end(), and leaves no unhandled rejection', async () => {
    const unhandled: unknown[] = []
    const onUnhandled = (e: unknown) => unhandled.push(e)
    process.on('unhandledRejection', onUnhandled)
    const h = new ScriptHarness({ tools: [] })
    const s = h.stream('messages')
    s.push({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } })
    await h.close()
    s.push({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: '<tool-calls>return 1</tool-calls>' } })
    await new Promise((r) => setTimeout(r, 50))
    await expect(s.end()).rejects.toThrow(/closed/)
    process.off('unhandledRejection', onUnhandled)
    expect(unhandled).toEqual([])
  })

  it('scripts that were not run get unique ids', async () => {
    const h = new ScriptHarness({ tools: [], mode: 'disabled' })
    const turn = await h.processResponse('chat', { role: 'assistant', content: '<tool-calls>return 1</tool-calls> and <tool-calls>return 1</tool-calls>' })
    const ids = turn.scripts.map((r) => r.scriptId)
    expect(new Set(ids).size).toBe(2)
    const calls = turn.items.filter((i: any) => i.type === 'script_tool_call').map((i: any) => i.call_id)
    expect(calls).toEqual(ids)
    await h.close()
  })
})

describe('turns end to end', () => {
  const fixture = (file: string) => fixtures.find((f) => f.file === file)
  const tools = () => new ScriptHarness({ tools: cannedTools, onApproval: () => 'approved', context: { workingDirectory: '/workspace/acme-web' } })

  it('I1 Responses API turn: reasoning + text + script, end to end', async () => {
    const fx = fixture('responses/03-reasoning-text-script-text.json')
    const h = tools()
    const turn = await h.processResponse('responses', fx.response)
    expect(turn.items.map((i) => i.type)).toEqual(['reasoning', 'message', 'script_tool_call', 'script_tool_call_output', 'message'])
    expect(turn.items[0]).toMatchObject({ id: fx.response.output[0].id, encrypted_content: fx.response.output[0].encrypted_content, raw: fx.response.output[0] })
    expect(turn.scripts[0].ok).toBe(true)
    expect(turn.continuation).toEqual([{ type: 'message', role: 'user', content: [{ type: 'input_text', text: expect.stringContaining(turn.scripts[0].scriptId) }] }])
    await h.close()
  })

  it('I2 Chat Completions turn: script detected and run', async () => {
    const fx = fixture('chat/02-one-script-mcp-issues.json')
    const calls: string[] = []
    const h = new ScriptHarness({ tools: cannedTools.map((t) => ({ ...t, handler: (a: any, c: any) => { calls.push(t.name); return (t.handler as any)(a, c) } })) })
    const turn = await h.processResponse('chat', fx.response)
    expect(calls.filter((n) => n === 'mcp.github.searchIssues')).toHaveLength(3)
    expect(turn.scripts[0].ok).toBe(true)
    expect(turn.continuation).toEqual([{ role: 'user', content: expect.stringContaining('mcp.github.searchIssues ok') }])
    await h.close()
  })

  it('I4 a turn with a native tool call and a script: both handled, the native call left to the host', async () => {
    const fx = fixture('messages/05-script-with-tool-use.json')
    const h = tools()
    const turn = await h.processResponse('messages', fx.response)
    const use = fx.response.content.find((b: any) => b.type === 'tool_use')
    expect(turn.items.at(-1)).toEqual({ type: 'function_call', call_id: use.id, name: use.name, arguments: JSON.stringify(use.input) })
    expect(turn.scripts).toHaveLength(1)
    expect(turn.continuation[0]).toMatchObject({ role: 'user', content: [{ type: 'text' }] })
    await h.close()
  })

  it('F9 reasoning/thinking, script and text keep their order in history', async () => {
    const fx = fixture('messages/04-redacted-thinking-script.json')
    const h = tools()
    const turn = await h.processResponse('messages', fx.response)
    expect(turn.items.map((i) => i.type)).toEqual(['reasoning', 'reasoning', 'message', 'script_tool_call', 'script_tool_call_output', 'message'])
    const [thinking, redacted] = fx.response.content
    expect(turn.items[0]).toMatchObject({ encrypted_content: thinking.signature, raw: thinking })
    expect(turn.items[1]).toMatchObject({ encrypted_content: redacted.data, raw: redacted })
    await h.close()
  })

  it('F13 script outputs appear in history right after their script call', async () => {
    const fx = fixture('responses/04-two-scripts-sequential.json')
    const h = tools()
    const turn = await h.processResponse('responses', fx.response)
    const types = turn.items.map((i) => i.type)
    const calls = types.flatMap((t, i) => (t === 'script_tool_call' ? [i] : []))
    expect(calls).toHaveLength(2)
    for (const i of calls) expect(turn.items[i + 1]).toMatchObject({ type: 'script_tool_call_output', call_id: (turn.items[i] as any).call_id })
    await h.close()
  })

  it('I6 a script timeout reaches the conversation history and the continuation', async () => {
    const h = new ScriptHarness({ tools: [], limits: { timeoutMs: 100 } })
    const turn = await h.processResponse('responses', [{ type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Working.\n<tool-calls>\nwhile (true) {}\n</tool-calls>' }] }])
    const output = turn.items.find((i) => i.type === 'script_tool_call_output') as any
    expect(output.error).toMatchObject({ code: 'ScriptTimeoutError' })
    expect(turn.items.find((i) => i.type === 'script_tool_call')).toMatchObject({ status: 'error' })
    expect((turn.continuation[0] as any).content[0].text).toContain('error: ScriptTimeoutError')
    await h.close()
  })

  it('I7 disabled mode end to end through processResponse', async () => {
    const fx = fixture('chat/03-two-scripts.json')
    let ran = 0
    const h = new ScriptHarness({ tools: cannedTools.map((t) => ({ ...t, handler: () => ran++ })), mode: 'disabled' })
    const turn = await h.processResponse('chat', fx.response)
    expect(ran).toBe(0)
    expect(turn.scripts.map((s) => s.error?.code)).toEqual(['HarnessDisabledError', 'HarnessDisabledError'])
    expect((turn.continuation[0] as any).content.match(/HarnessDisabledError/g)).toHaveLength(2)
    await h.close()
  })

  it('I8 dry-run end to end: it validates and reports, runs nothing, says so, and emits no events', async () => {
    const fx = fixture('messages/07-dynamic-import-banned.json')
    const events: any[] = []
    let ran = 0
    const h = new ScriptHarness({ tools: cannedTools.map((t) => ({ ...t, handler: () => ran++ })), mode: 'dry-run', onEvent: (e) => events.push(e) })
    const turn = await h.processResponse('messages', fx.response)
    expect(ran).toBe(0)
    expect(turn.scripts).toEqual([])
    expect(turn.reports?.[0]).toMatchObject({ ok: false, errors: [{ code: 'BannedConstructError', line: 2 }] })
    expect(turn.continuation[0].content[0].text).toContain('dry-run: not run')
    expect(events).toEqual([])
    await h.close()
  })

  it('I10 a whole turn history snapshot keeps complete ordering', async () => {
    const fx = fixture('responses/07-script-with-native-function-call.json')
    const h = tools()
    const turn = await h.processResponse('responses', fx.response)
    const shape = turn.items.map((i: any) => (i.type === 'message' ? `message:${i.content[0].text.trim().slice(0, 12)}` : i.type === 'function_call' ? `function_call:${i.name}` : i.type))
    expect(shape).toEqual([
      'reasoning',
      `message:${fx.expect.textSegments[0].trim().slice(0, 12)}`,
      'script_tool_call',
      'script_tool_call_output',
      `message:${fx.expect.textSegments[1].trim().slice(0, 12)}`,
      'function_call:update_plan',
    ])
    await h.close()
  })
})
