// A turn means the same thing streamed or whole, nothing a provider returns
// is dropped silently, and misuse is a TypeError that names the argument.
import { afterAll, describe, expect, it } from 'vitest'
import { detectScripts, ScriptHarness, type HarnessEvent, type ProcessedTurn, type ToolDefinition } from '../index.js'

const open: ScriptHarness[] = []
afterAll(() => Promise.all(open.map((h) => h.close())))
const make = (tools: ToolDefinition[], extra: object = {}) => {
  const h = new ScriptHarness({ tools, ...extra })
  open.push(h)
  return h
}
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

// What a turn says, without the ids that differ from run to run.
function shape(turn: ProcessedTurn) {
  return {
    items: turn.items.map((i) => i.type),
    scripts: turn.scripts.map((r) => ({ ok: r.ok, code: r.error?.code, message: r.error?.message, value: r.value, calls: r.toolCalls.map((c) => `${c.toolName} ${c.status}`) })),
    problems: turn.problems.map((p) => p.kind),
  }
}
const chatChunk = (content: string | undefined, finish: string | null = null) => ({
  id: 'c', object: 'chat.completion.chunk', created: 0, model: 'm',
  choices: [{ index: 0, delta: content === undefined ? {} : { content }, finish_reason: finish }],
})
// The whole of `text` as one Chat chunk, then the finish chunk.
async function streamed(h: ScriptHarness, text: string, options?: Parameters<ScriptHarness['stream']>[1]) {
  const s = h.stream('chat', options)
  s.push(chatChunk(text))
  s.push(chatChunk(undefined, 'stop'))
  return s.end()
}

describe('a streamed turn means what the whole turn means', () => {
  const log: string[] = []
  const tools: ToolDefinition[] = [
    { name: 'write', handler: async (a: any) => { log.push(`write start ${a.n}`); await sleep(40); log.push(`write done ${a.n}`); return 'ok' } },
    { name: 'read', handler: (a: any) => { log.push(`read ${a.n}`); return 'data' } },
    { name: 'deploy', handler: () => { log.push('deploy'); return 'deployed' } },
  ]
  const h = make(tools)
  const twoScripts = 'First <tool-calls>await tools.write({ n: 1 })</tool-calls> then <tool-calls>return await tools.read({ n: 2 })</tool-calls>.'

  it('scripts run one after another, each after the previous one ended, in both', async () => {
    log.length = 0
    const whole = await h.processResponse('chat', { role: 'assistant', content: twoScripts })
    expect(log).toEqual(['write start 1', 'write done 1', 'read 2'])
    log.length = 0
    // Both closing tags arrive at once: the second script still waits for the first.
    const stream = await streamed(h, twoScripts)
    expect(log).toEqual(['write start 1', 'write done 1', 'read 2'])
    expect(shape(stream)).toEqual(shape(whole))
  })

  it('with stopAfterFailure, a later script never runs, streamed or not, and is reported as not run', async () => {
    const text = '<tool-calls>throw new Error("lint failed")</tool-calls> <tool-calls>return await tools.deploy({})</tool-calls>'
    log.length = 0
    const whole = await h.processResponse('chat', { role: 'assistant', content: text }, { stopAfterFailure: true })
    const stream = await streamed(h, text, { stopAfterFailure: true })
    expect(log).toEqual([])
    expect(shape(stream)).toEqual(shape(whole))
    expect(stream.scripts[1]).toMatchObject({ ok: false, toolCalls: [], error: { code: 'ScriptCancelledError', message: 'not run: an earlier script of this turn failed (stopAfterFailure)' } })
    // Without it, the later script runs in both.
    const goOn = await streamed(h, text)
    expect(goOn.scripts[1]).toMatchObject({ ok: true, value: 'deployed' })
  })

  it('an abort stops the running script and the later ones never start, streamed or not', async () => {
    const text = '<tool-calls>for (;;) {}</tool-calls> <tool-calls>return await tools.deploy({})</tool-calls>'
    log.length = 0
    const c = new AbortController()
    const whole = h.processResponse('chat', { role: 'assistant', content: text }, { signal: c.signal })
    await sleep(50)
    c.abort('user left')
    const s = h.stream('chat')
    s.push(chatChunk(text))
    await sleep(50)
    s.abort('user left')
    const [w, st] = [await whole, await s.end()]
    expect(log).toEqual([])
    expect(shape(st)).toEqual(shape(w))
    expect(st.scripts.map((r) => r.error?.message)).toEqual(['the script was cancelled: user left', 'the script was cancelled before it started: user left'])
  })
})

describe('push() releases held-back text', () => {
  const h = make([])

  it('Chat: a trailing "<" is released by the finish chunk', async () => {
    const s = h.stream('chat')
    expect(s.push(chatChunk('All done <'))).toBe('All done ')
    expect(s.push(chatChunk(undefined, 'stop'))).toBe('<')
    expect((await s.end()).items).toEqual([{ type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'All done <' }] }])
  })

  it('Chat: as soon as the next text shows it is not a tag', () => {
    const s = h.stream('chat')
    expect(s.push(chatChunk('a <'))).toBe('a ')
    expect(s.push(chatChunk(' b'))).toBe('< b')
  })

  it('Messages: content_block_stop releases its block', () => {
    const s = h.stream('messages')
    s.push({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } })
    expect(s.push({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'All done <' } })).toBe('All done ')
    expect(s.push({ type: 'content_block_stop', index: 0 })).toBe('<')
  })

  it('Responses: output_text.done releases its part, response.completed the rest', () => {
    const s = h.stream('responses')
    const item = { type: 'message', id: 'm', role: 'assistant', status: 'in_progress', content: [] }
    s.push({ type: 'response.output_item.added', output_index: 0, item })
    s.push({ type: 'response.content_part.added', output_index: 0, content_index: 0, part: { type: 'output_text', text: '' } })
    expect(s.push({ type: 'response.output_text.delta', output_index: 0, content_index: 0, delta: 'All done <' })).toBe('All done ')
    expect(s.push({ type: 'response.output_text.done', output_index: 0, content_index: 0, text: 'All done <' })).toBe('<')
    s.push({ type: 'response.content_part.added', output_index: 0, content_index: 1, part: { type: 'output_text', text: '' } })
    expect(s.push({ type: 'response.output_text.delta', output_index: 0, content_index: 1, delta: 'x <' })).toBe('x ')
    expect(s.push({ type: 'response.completed', response: { output: [] } })).toBe('<')
  })

  it('an unclosed block is released as text at the finish event, and reported by end()', async () => {
    const s = h.stream('chat')
    expect(s.push(chatChunk('Start <tool-calls>return 1'))).toBe('Start ')
    expect(s.push(chatChunk(undefined, 'length'))).toBe('<tool-calls>return 1')
    const turn = await s.end()
    expect(turn.problems.map((p) => p.kind)).toEqual(['unclosed'])
    expect(turn.scripts).toEqual([])
  })
})

describe('nothing a provider returns is dropped silently', () => {
  const h = make([])

  it('Chat: content as an array of text parts is read, and its scripts run', async () => {
    const turn = await h.processResponse('chat', {
      choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: [{ type: 'text', text: 'Sum: <tool-calls>return 1 + 1</tool-calls>' }, { type: 'text', text: ' done' }] } }],
    })
    expect(turn.scripts.map((r) => r.value)).toEqual([2])
    expect(turn.items.map((i) => i.type)).toEqual(['message', 'script_tool_call', 'script_tool_call_output', 'message'])
    expect(turn.problems).toEqual([])
  })

  it('Chat: other choices and parts that are not text are reported as unread', async () => {
    const turn = await h.processResponse('chat', {
      choices: [
        { index: 0, message: { role: 'assistant', content: [{ type: 'text', text: 'one' }, { type: 'image_url', image_url: { url: 'x' } }] } },
        { index: 1, message: { role: 'assistant', content: '<tool-calls>return 2</tool-calls>' } },
      ],
    })
    expect(turn.scripts).toEqual([])
    expect(turn.problems).toEqual([
      { kind: 'unread', field: 'response.choices[1]', message: 'response.choices[1]: only the first choice is read; this one was not' },
      { kind: 'unread', field: 'response.choices[0].message.content[1]', message: 'response.choices[0].message.content[1]: a `image_url` content part is not read for scripts or text' },
    ])
    // Reported to the host, not to the model: the model wrote nothing wrong.
    expect(turn.continuation).toEqual([])
  })

  it('Responses: custom_tool_call is a native call; items the harness does not model are kept whole as `other`', async () => {
    const custom = { type: 'custom_tool_call', id: 'ctc_1', call_id: 'call_1', name: 'apply_patch', input: '*** Begin Patch\n*** End Patch', status: 'completed' }
    const search = { type: 'web_search_call', id: 'ws_1', status: 'completed', action: { type: 'search', query: 'q' } }
    const turn = await h.processResponse('responses', { output: [search, custom] })
    expect(turn.items).toEqual([
      { type: 'other', raw: search },
      { type: 'custom_tool_call', id: 'ctc_1', call_id: 'call_1', name: 'apply_patch', input: '*** Begin Patch\n*** End Patch' },
    ])
  })

  it('Chat: a custom tool call is a custom_tool_call; Messages: server_tool_use is kept whole', async () => {
    const chat = await h.processResponse('chat', { role: 'assistant', content: null, tool_calls: [{ id: 'call_2', type: 'custom', custom: { name: 'apply_patch', input: 'patch' } }] })
    expect(chat.items).toEqual([{ type: 'custom_tool_call', call_id: 'call_2', name: 'apply_patch', input: 'patch' }])
    const server = { type: 'server_tool_use', id: 'srvtoolu_1', name: 'web_search', input: { query: 'q' } }
    const messages = await h.processResponse('messages', { role: 'assistant', content: [server] })
    expect(messages.items).toEqual([{ type: 'other', raw: server }])
  })
})

describe('misuse is a TypeError that names the argument', () => {
  const h = make([])
  it('run() rejects, validate() and detectScripts() throw', async () => {
    await expect(h.run(123 as any)).rejects.toThrow(/^source: must be a string, got a number$/)
    await expect(h.run(123 as any)).rejects.toBeInstanceOf(TypeError)
    await expect(h.run(undefined as any)).rejects.toThrow(TypeError)
    expect(() => h.validate({} as any)).toThrow(TypeError)
    expect(() => h.validate({} as any)).toThrow(/^source: must be a string, got an object$/)
    expect(() => detectScripts(null as any)).toThrow(TypeError)
    expect(() => detectScripts(null as any)).toThrow(/^text: must be a string, got null$/)
  })
})

describe('the abort reason reaches the tool, the events and the error', () => {
  it('an AbortSignal reason is ctx.signal.reason itself, and the script error and event say it', async () => {
    const seen: unknown[] = []
    const events: HarnessEvent[] = []
    const h = make([{ name: 'wait', handler: (_a, ctx) => new Promise((resolve) => ctx.signal.addEventListener('abort', () => { seen.push(ctx.signal.reason); resolve(null) })) }], { onEvent: (e: HarnessEvent) => events.push(e) })
    const c = new AbortController()
    const reason = new Error('user pressed stop')
    const running = h.run('await tools.wait({})', { signal: c.signal })
    await sleep(50)
    c.abort(reason)
    const r = await running
    expect(r.error).toMatchObject({ code: 'ScriptCancelledError', message: 'the script was cancelled: user pressed stop' })
    await sleep(20)
    expect(seen).toEqual([reason])
    expect(seen[0]).toBe(reason)
    const done = events.find((e) => e.type === 'script_completed') as any
    expect(done.error.message).toBe('the script was cancelled: user pressed stop')
    // An AbortSignal already aborted: nothing runs, and the reason is said.
    const before = await h.run('return 1', { signal: AbortSignal.abort('too late') })
    expect(before.error?.message).toBe('the script was cancelled before it started: too late')
  })
})

// From a review of the TypeScript layer as an attacker (hostile streams and
// schema libraries, a clumsy host).
describe('what a hostile stream or a clumsy host cannot do', () => {
  const log: string[] = []
  const mark: ToolDefinition = {
    name: 'mark',
    handler: async ({ name }: any) => {
      log.push(`start ${name}`)
      await sleep(20)
      log.push(`end ${name}`)
      return name
    },
  }
  const responses = (type: string, extra: object) => ({ type, ...extra })
  const script = (name: string) => `<tool-calls>\nreturn await tools.mark({ name: '${name}' })\n</tool-calls>`

  it('a stream whose final output disagrees with its deltas runs each script once, never two at a time, and reports the one it ran that the turn does not hold', async () => {
    log.length = 0
    const h = make([mark])
    const s = h.stream('responses')
    const message = { type: 'message', id: 'm', role: 'assistant', status: 'in_progress', content: [] }
    s.push(responses('response.output_item.added', { output_index: 0, item: message }))
    s.push(responses('response.content_part.added', { output_index: 0, content_index: 0, part: { type: 'output_text', text: '' } }))
    s.push(responses('response.output_text.delta', { output_index: 0, content_index: 0, delta: script('A') }))
    const final = [{ ...message, status: 'completed', content: [{ type: 'output_text', text: script('B') }] }]
    s.push(responses('response.completed', { response: { output: final } }))
    const turn = await s.end()
    expect(log).toEqual(['start A', 'end A', 'start B', 'end B'])
    expect(turn.scripts.map((r) => r.value)).toEqual(['B', 'A'])
    expect(turn.problems).toEqual([expect.objectContaining({ kind: 'unmatched', scriptId: turn.scripts[1].scriptId })])
    // end() again: the same turn, nothing run again.
    expect(await s.end()).toBe(turn)
    expect(log).toHaveLength(4)
  })

  it('a delta for a part never announced still runs its script, and the turn reports it', async () => {
    log.length = 0
    const h = make([mark])
    const s = h.stream('responses')
    s.push(responses('response.output_text.delta', { output_index: 0, content_index: 0, delta: script('C') }))
    const turn = await s.end()
    expect(log).toEqual(['start C', 'end C'])
    expect(turn.scripts.map((r) => r.value)).toEqual(['C'])
    expect(turn.problems.map((p) => p.kind)).toEqual(['unmatched'])
  })

  it('a signal shared by many streams keeps none of them once they end', async () => {
    const { getEventListeners } = await import('node:events')
    const h = make([mark])
    const shared = new AbortController()
    for (let i = 0; i < 20; i++) {
      const s = h.stream('chat', { signal: shared.signal })
      s.push(chatChunk('hi', 'stop'))
      await s.end()
    }
    expect(getEventListeners(shared.signal, 'abort')).toHaveLength(0)
  })

  it('turn options are read once: a getter that changes its answer is not read again for later scripts', async () => {
    log.length = 0
    const h = make([mark])
    let reads = 0
    const options = { get limits() { reads++; return reads > 1 ? { timeoutMs: -1 } : { timeoutMs: 5000 } } }
    const text = `${script('D')}\n${script('E')}`
    const turn = await h.processResponse('chat', { role: 'assistant', content: text }, options)
    expect(turn.scripts.map((r) => r.value)).toEqual(['D', 'E'])
    expect(reads).toBe(1)
  })

  it('a schema library whose result has a throwing getter fails the call, not the process', async () => {
    const hostile = (kind: 'sync' | 'async', field: 'value' | 'issues') => ({
      type: 'object',
      '~standard': {
        version: 1,
        vendor: 'hostile',
        jsonSchema: { input: () => ({ type: 'object' }), output: () => ({ type: 'object' }) },
        validate: () => {
          const r = { get [field]() { throw new Error(`boom ${field}`) } }
          return kind === 'async' ? Promise.resolve(r) : r
        },
      },
    })
    const tools: ToolDefinition[] = []
    for (const kind of ['sync', 'async'] as const) {
      for (const field of ['value', 'issues'] as const) {
        tools.push({ name: `${kind}_${field}`, parameters: hostile(kind, field) as any, requiresApproval: kind === 'sync', handler: () => 'ran' })
      }
    }
    const h = make(tools, { onApproval: () => 'approved' })
    for (const t of tools) {
      const r = await h.run(`return await tools.${t.name}({})`)
      expect(r.error?.code, t.name).toBe('ToolValidationError')
      expect(r.error?.message, t.name).toMatch(/its schema's validation threw: boom/)
    }
  })

  it('thousands of parts the harness does not read are reported in a hundred and one problems', async () => {
    const h = make([mark], { mode: 'disabled' })
    const content = Array.from({ length: 5000 }, () => ({ type: 'image_url', image_url: { url: 'x' } }))
    const turn = await h.processResponse('chat', { role: 'assistant', content })
    expect(turn.problems).toHaveLength(101)
    expect(turn.problems[100]).toMatchObject({ kind: 'unread', message: 'and 4900 more parts of the response not read' })
  })

  it('a predicate whose answer has a throwing constructor denies the call and leaves no timer behind', () => {
    const script = `
      const { ScriptHarness } = require(${JSON.stringify(require.resolve('../index.js'))})
      const answer = Promise.resolve(true)
      Object.defineProperty(answer, 'constructor', { get() { throw new Error('no') } })
      const h = new ScriptHarness({ tools: [{ name: 't', requiresApproval: () => answer, handler: () => 1 }], onApproval: () => 'approved' })
      h.run('try { await tools.t({}) } catch (e) { return e.name }').then((r) => console.log(r.value))`
    const t = Date.now()
    const out = require('node:child_process').execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20_000 })
    expect(out.trim()).toBe('ApprovalDeniedError')
    expect(Date.now() - t).toBeLessThan(10_000)
  })

  it('JSON nested past 128 levels is refused with a message that says so', async () => {
    const h = make([mark])
    let deep: unknown = 'x'
    for (let i = 0; i < 200; i++) deep = [deep]
    await expect(h.processResponse('chat', { role: 'assistant', content: 'hi', extra: deep })).rejects.toThrow(/^response: nests deeper than 128 levels$/)
    expect(() => h.stream('chat').push({ ...chatChunk('hi'), extra: deep })).toThrow(/^event: nests deeper than 128 levels$/)
  })
})
