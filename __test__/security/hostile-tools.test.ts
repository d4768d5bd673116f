// Red team, class 4: hostile (or merely broken) host code. Tool handlers,
// approval predicates, onApproval and onEvent run on the Node main thread
// with the host's authority; whatever they do (throw odd values, return
// non-JSON, never settle, settle twice, call back into the harness), the
// script gets a defined outcome, the process survives and nothing hangs.
import { afterAll, describe, expect, it } from 'vitest'
import { ScriptHarness, type HarnessEvent, type ToolDefinition } from '../../index.js'
import { HOST_PATH, expectCleanExit, expectError, expectHealthy, inChild, sleep, timed } from './probe'

const deep = (n: number) => {
  let o: object = {}
  for (let i = 0; i < n; i++) o = { o }
  return o
}

const hostile: ToolDefinition[] = [
  { name: 'throwString', handler: () => { throw 'plain string' } },
  { name: 'throwNumber', handler: () => { throw 42 } },
  { name: 'throwNull', handler: () => { throw null } },
  { name: 'throwUndefined', handler: () => { throw undefined } },
  { name: 'throwObject', handler: () => { throw { code: 'E_X', detail: 'bad' } } },
  { name: 'throwSymbol', handler: () => { throw Symbol('sym') } },
  { name: 'throwGetterMessage', handler: () => { const e = new Error('x'); Object.defineProperty(e, 'message', { get() { throw new Error('nope') } }); throw e } },
  { name: 'throwToJSON', handler: () => { throw { toJSON() { throw new Error('tj') } } } },
  { name: 'throwTypeError', handler: (a: any) => a.missing.deeper },
  { name: 'rejectString', handler: () => Promise.reject('async string') },
  { name: 'rejectUndefined', handler: () => Promise.reject(undefined) },
  { name: 'throwHuge', handler: () => { throw new Error('m'.repeat(1_000_000)) } },
  { name: 'throwWithPath', handler: () => { throw new Error(`failed reading ${__filename}`) } },
  { name: 'retBigInt', handler: () => 10n },
  { name: 'retBigIntNested', handler: () => ({ n: [1n] }) },
  { name: 'retCycle', handler: () => { const a: any = {}; a.a = a; return a } },
  { name: 'retThrowingGetter', handler: () => ({ get x() { throw new Error('getter boom') } }) },
  { name: 'retThrowingToJSON', handler: () => ({ toJSON() { throw new Error('toJSON boom') } }) },
  { name: 'retThrowingThen', handler: () => ({ get then() { throw new Error('then getter') } }) },
  { name: 'retFunction', handler: () => () => 1 },
  { name: 'retSymbol', handler: () => Symbol('s') },
  { name: 'retFunctionNested', handler: () => ({ a: 1, f: () => 1 }) },
  { name: 'retToJSONFunction', handler: () => ({ toJSON: () => () => 1 }) },
  { name: 'retDeep', handler: () => deep(10_000) },
  { name: 'retDeepish', handler: () => deep(1000) },
  { name: 'retDate', handler: () => new Date(0) },
  { name: 'retMap', handler: () => new Map([[1, 2]]) },
  { name: 'retBuffer', handler: () => Buffer.from('hi') },
  { name: 'retNaN', handler: () => [NaN, Infinity, -0] },
  { name: 'retUndefined', handler: () => undefined },
  { name: 'retThenField', handler: () => ({ then: 1, a: 2 }) },
  { name: 'thenableBoth', handler: () => ({ then(res: any, rej: any) { res({ first: true }); rej(new Error('second')); res({ third: true }) } }) },
  { name: 'thenableRejectFirst', handler: () => ({ then(res: any, rej: any) { rej(new Error('first')); res({ second: true }) } }) },
  { name: 'thenableThrowsAfter', handler: () => ({ then(res: any) { res('ok'); throw new Error('after') } }) },
  { name: 'thenableThrows', handler: () => ({ then() { throw new Error('in then') } }) },
  { name: 'promiseLikeTwice', handler: () => ({ then(res: any) { res(1); res(2); setTimeout(() => res(3), 5) } }) },
  { name: 'nestedRejectedThenable', handler: () => Promise.resolve({ then(_: any, rej: any) { rej('nested reject') } }) },
]

const h = new ScriptHarness({ workers: 2, tools: hostile })
afterAll(() => h.close())

/** What the script saw for each tool: its value (or 'undefined'), or [error name, message, toolName]. */
async function outcomes(names: string[], hx = h) {
  const r = await hx.run(`const out = {}
    for (const n of ${JSON.stringify(names)}) {
      try { const v = await tools[n]({ x: 1 }); out[n] = v === undefined ? 'undefined' : v }
      catch (e) { out[n] = [e.name, e.message, e.toolName] } }
    return out`)
  expect(r.error).toBeUndefined()
  return { value: r.value as Record<string, unknown>, result: r }
}

describe('what handlers throw', () => {
  it('non-Error throws and rejections give a catchable ToolExecutionError with a readable message', async () => {
    const { value, result } = await outcomes([
      'throwString', 'throwNumber', 'throwNull', 'throwUndefined', 'throwObject', 'throwSymbol',
      'throwGetterMessage', 'throwToJSON', 'throwTypeError', 'rejectString', 'rejectUndefined',
    ])
    // A non-Error throw is named by its type, with a rendering built from data.
    expect(value).toEqual({
      throwString: ['ToolExecutionError', 'plain string', 'throwString'],
      throwNumber: ['ToolExecutionError', 'the tool threw a number (not an Error): 42', 'throwNumber'],
      throwNull: ['ToolExecutionError', 'the tool threw null (not an Error)', 'throwNull'],
      throwUndefined: ['ToolExecutionError', 'the tool threw undefined (not an Error)', 'throwUndefined'],
      throwObject: ['ToolExecutionError', 'the tool threw an object (not an Error): {"code":"E_X","detail":"bad"}', 'throwObject'],
      throwSymbol: ['ToolExecutionError', 'the tool threw a symbol (not an Error): [Symbol(sym)]', 'throwSymbol'],
      // No host getter or toJSON runs to build the message.
      throwGetterMessage: ['ToolExecutionError', 'the tool threw an Error whose message is not text: [Getter]', 'throwGetterMessage'],
      throwToJSON: ['ToolExecutionError', 'the tool threw an object (not an Error): {"toJSON":[Function]}', 'throwToJSON'],
      throwTypeError: ['ToolExecutionError', "Cannot read properties of undefined (reading 'deeper')", 'throwTypeError'],
      rejectString: ['ToolExecutionError', 'async string', 'rejectString'],
      rejectUndefined: ['ToolExecutionError', 'the tool threw undefined (not an Error)', 'rejectUndefined'],
    })
    expect(result.toolCalls.map((c) => [c.status, c.error?.code, c.error?.toolName === c.toolName, c.error?.callId === c.callId])).toEqual(
      Array(11).fill(['error', 'ToolExecutionError', true, true]),
    )
  })

  it('a tool error keeps its message (the handler\'s words) but never the host stack', async () => {
    const r = await h.run("try { await tools.throwTypeError({}) } catch (e) { return [e.message, e.stack, Object.keys(e), e.details] }")
    const [message, stack, keys, details] = r.value as [string, string, string[], unknown]
    expect(message).toBe("Cannot read properties of undefined (reading 'deeper')")
    expect(stack).not.toMatch(HOST_PATH)
    expect(stack).not.toContain('hostile-tools')
    expect(keys).toEqual(['toolName', 'callId', 'details'])
    // The summary of the handler's error: its name and message, no stack.
    expect(details).toEqual({ name: 'TypeError', message: "Cannot read properties of undefined (reading 'deeper')" })
    // A message that names a host path is the handler's choice, kept as is.
    const own = await h.run('try { await tools.throwWithPath({}) } catch (e) { return e.message }')
    expect(own.value).toBe(`failed reading ${__filename}`)
    const record = r.toolCalls[0].error!
    expect(record.stack ?? '').not.toMatch(HOST_PATH)
  })

  it('an uncaught tool error ends the script with ToolExecutionError, its toolName and callId, and no host frames', async () => {
    const r = await h.run('await tools.throwObject({})')
    const err = expectError(r, 'ToolExecutionError', { phase: 'executing', toolName: 'throwObject', retryable: true, message: 'the tool threw an object (not an Error): {"code":"E_X","detail":"bad"}' })
    expect(err.callId).toBe(r.toolCalls[0].callId)
    expect(JSON.stringify(r)).not.toMatch(HOST_PATH)
  })

  it('a 1 MB error message reaches the script cut to 8 KiB, and the result cut to 4 KiB', async () => {
    const caught = await h.run('try { await tools.throwHuge({}) } catch (e) { return e.message.length }')
    expect(caught.value).toBe(8193)
    const uncaught = await h.run('await tools.throwHuge({})')
    const err = expectError(uncaught, 'ToolExecutionError')
    expect(err.message.length).toBeLessThanOrEqual(4097)
    expect(err.message.startsWith('mmmm')).toBe(true)
  })
})

describe('what handlers return', () => {
  it('BigInt, cycles, and throwing getters, toJSON or then give a catchable ToolExecutionError naming the tool', async () => {
    const { value, result } = await outcomes(['retBigInt', 'retBigIntNested', 'retCycle', 'retThrowingGetter', 'retThrowingToJSON', 'retThrowingThen', 'retDeep'])
    const notJson = (tool: string, why: string) => ['ToolExecutionError', `tools.${tool} returned a value that is not JSON: ${why}`, tool]
    expect(value).toMatchObject({
      retBigInt: notJson('retBigInt', 'Do not know how to serialize a BigInt'),
      retBigIntNested: notJson('retBigIntNested', 'Do not know how to serialize a BigInt'),
      retCycle: ['ToolExecutionError', expect.stringMatching(/^tools\.retCycle returned a value that is not JSON: Converting circular structure to JSON/), 'retCycle'],
      retThrowingGetter: notJson('retThrowingGetter', 'getter boom'),
      retThrowingToJSON: notJson('retThrowingToJSON', 'toJSON boom'),
      retThrowingThen: ['ToolExecutionError', 'then getter', 'retThrowingThen'],
      retDeep: notJson('retDeep', 'Maximum call stack size exceeded'),
    })
    expect(result.toolCalls.map((c) => c.status)).toEqual(Array(7).fill('error'))
  })

  it('a function or symbol result, at the top or nested, is a ToolExecutionError, not a silent undefined or a dropped key', async () => {
    // Arguments are strict (a nested function is a SerializationError); a
    // result that is not JSON should not quietly turn into something else.
    const { value } = await outcomes(['retFunction', 'retSymbol', 'retFunctionNested', 'retToJSONFunction'])
    for (const n of ['retFunction', 'retSymbol', 'retFunctionNested', 'retToJSONFunction']) {
      expect(value[n], n).toEqual(['ToolExecutionError', expect.stringMatching(new RegExp(`^tools\\.${n} returned a value that is not JSON`)), n])
    }
  })

  it('results follow JSON.stringify: toJSON is honoured (Date, Buffer), a Map becomes {}, NaN null, and undefined stays undefined', async () => {
    const { value, result } = await outcomes(['retDate', 'retMap', 'retBuffer', 'retNaN', 'retUndefined', 'retThenField'])
    expect(value).toEqual({
      retDate: '1970-01-01T00:00:00.000Z',
      retMap: {},
      retBuffer: { type: 'Buffer', data: [104, 105] },
      retNaN: [null, null, 0],
      retUndefined: 'undefined',
      retThenField: { then: 1, a: 2 },
    })
    expect(result.toolCalls.map((c) => c.status)).toEqual(Array(6).fill('ok'))
    expect(result.toolCalls[4]).not.toHaveProperty('result')
  })

  it('thenables: the first settlement wins; later resolve/reject calls and throws after settling are ignored', async () => {
    const { value, result } = await outcomes(['thenableBoth', 'thenableRejectFirst', 'thenableThrowsAfter', 'thenableThrows', 'promiseLikeTwice', 'nestedRejectedThenable'])
    expect(value).toEqual({
      thenableBoth: { first: true },
      thenableRejectFirst: ['ToolExecutionError', 'first', 'thenableRejectFirst'],
      thenableThrowsAfter: 'ok',
      thenableThrows: ['ToolExecutionError', 'in then', 'thenableThrows'],
      promiseLikeTwice: 1,
      nestedRejectedThenable: ['ToolExecutionError', 'nested reject', 'nestedRejectedThenable'],
    })
    await sleep(20) // the late res(3) of promiseLikeTwice changes nothing
    expect(result.toolCalls.map((c) => c.status)).toEqual(['ok', 'error', 'ok', 'error', 'ok', 'error'])
    await expectHealthy(h)
  })

  it('a result nested deeper than the sandbox can parse is a catchable ToolExecutionError, not a memory error', async () => {
    // Node serializes 1000 levels; a 64 KiB sandbox stack cannot parse them.
    const r = await h.run("try { await tools.retDeepish({}); return 'parsed' } catch (e) { return [e.name, e.toolName] }", { limits: { maxStackBytes: 65536 } })
    expect(r.error).toBeUndefined()
    expect(r.value).toEqual(['ToolExecutionError', 'retDeepish'])
  })

  it('a result too large for the sandbox ends the script with ScriptMemoryError; the call itself completed', async () => {
    const hb = new ScriptHarness({ workers: 1, tools: [{ name: 'huge', handler: () => 'x'.repeat(50 * 1024 * 1024) }] })
    const limits = { memoryMb: 32, maxToolResultBytes: 64 * 1024 * 1024 }
    const r = await hb.run("try { await tools.huge({}) } catch (e) { return e.name }\nreturn 'survived'", { limits })
    expectError(r, 'ScriptMemoryError', { phase: 'executing', message: 'the script used more than its 32 MB memory limit' })
    expect(r.toolCalls.map((c) => c.status)).toEqual(['ok'])
    const fits = await hb.run('return (await tools.huge({})).length', { limits: { ...limits, memoryMb: 256 } })
    expect(fits.value).toBe(50 * 1024 * 1024)
    await hb.close()
  })

  it('a handler may mutate or freeze its args: the record keeps what the script sent, the script sees only the result', async () => {
    const hm = new ScriptHarness({
      workers: 1,
      tools: [
        { name: 'mutate', handler: (a: any) => { a.injected = true; delete a.x; a.nested.y = 2; return a } },
        { name: 'freeze', handler: (a: any) => Object.isFrozen(Object.freeze(a)) },
      ],
    })
    const r = await hm.run('const args = { x: 1, nested: { y: 1 } }\nconst back = await tools.mutate(args)\nreturn [args, back, await tools.freeze(args)]')
    await hm.close()
    expect(r.value).toEqual([{ x: 1, nested: { y: 1 } }, { nested: { y: 2 }, injected: true }, true])
    expect(r.toolCalls.map((c) => c.args)).toEqual([{ x: 1, nested: { y: 1 } }, { x: 1, nested: { y: 1 } }])
  })
})

describe('handlers that never finish', () => {
  const stuck = () => {
    const aborts: Array<{ callId: string; name: string; message: string }> = []
    const late: string[] = []
    const tools: ToolDefinition[] = [
      { name: 'never', handler: (_a, ctx) => new Promise(() => { ctx.signal.addEventListener('abort', () => aborts.push({ callId: ctx.callId, name: ctx.signal.reason.name, message: ctx.signal.reason.message })) }) },
      { name: 'neverDeaf', handler: () => new Promise(() => {}) },
      { name: 'thenableNever', handler: () => ({ then() {} }) },
      { name: 'rejectAfterAbort', handler: (_a, ctx) => new Promise((_res, rej) => { ctx.signal.addEventListener('abort', () => { rej(new Error('thrown after abort')); late.push('rejected') }) }) },
      { name: 'resolveLate', handler: (_a, ctx) => new Promise((res) => { ctx.signal.addEventListener('abort', () => setTimeout(() => { res({ late: true }); late.push('resolved') }, 10)) }) },
      { name: 'tick', handler: () => new Promise((res) => setTimeout(res, 5)) },
    ]
    return { aborts, late, hs: new ScriptHarness({ workers: 1, tools }) }
  }

  it('a handler that never settles is ended by the script timeout, at the limit: its signal fires with an AbortError naming it', async () => {
    // Terminal ends do not wait orphanGraceMs for the calls they abort.
    const { aborts, hs } = stuck()
    const [r, ms] = await timed(hs.run('return await tools.never({})', { limits: { timeoutMs: 150, orphanGraceMs: 1000 } }))
    await sleep(20)
    await hs.close()
    expectError(r, 'ScriptTimeoutError', { phase: 'executing', message: 'the script ran longer than its 150 ms time limit' })
    expect(r.toolCalls).toEqual([expect.objectContaining({ toolName: 'never', status: 'aborted' })])
    expect(aborts).toEqual([{ callId: r.toolCalls[0].callId, name: 'AbortError', message: 'the script ran longer than its 150 ms time limit' }])
    expect(ms).toBeGreaterThanOrEqual(140)
    expect(ms).toBeLessThan(600)
  })

  it('an orphaned handler that ignores its signal, or a thenable that never calls back, is detached after orphanGraceMs', async () => {
    const { hs } = stuck()
    for (const name of ['neverDeaf', 'thenableNever', 'never']) {
      // The tick keeps the script alive until the host has started the call.
      const [r, ms] = await timed(hs.run(`tools.${name}({})\nawait tools.tick({})\nreturn 'done'`, { limits: { orphanGraceMs: 80 } }))
      expect(r.value, name).toBe('done')
      expect(r.toolCalls[0], name).toMatchObject({ status: 'aborted', error: { code: 'DetachedPromiseError', phase: 'finalizing', toolName: name } })
      expect(ms, name).toBeGreaterThanOrEqual(75)
      expect(ms, name).toBeLessThan(1000)
    }
    await expectHealthy(hs)
    await hs.close()
  })

  it('a handler that rejects or resolves after its abort: the late outcome is dropped and the record stays aborted', async () => {
    const { late, hs } = stuck()
    const rejected = await hs.run('return await tools.rejectAfterAbort({})', { limits: { timeoutMs: 100 } })
    const resolved = await hs.run('return await tools.resolveLate({})', { limits: { timeoutMs: 100 } })
    await sleep(30)
    await hs.close()
    for (const r of [rejected, resolved]) {
      expectError(r, 'ScriptTimeoutError')
      expect(r.toolCalls).toEqual([expect.objectContaining({ status: 'aborted' })])
      expect(r.toolCalls[0]).not.toHaveProperty('error')
      expect(r.toolCalls[0]).not.toHaveProperty('result')
    }
    expect(late).toEqual(['rejected', 'resolved'])
  })
})

describe('handlers that call back into the harness', () => {
  it('a handler that calls run() gets a normal result, even with a single worker (a waiting script holds none)', async () => {
    let hx: ScriptHarness
    hx = new ScriptHarness({
      workers: 1,
      tools: [
        { name: 'nested', handler: async () => (await hx.run('return 40 + 2')).value },
        { name: 'nestedTool', handler: async () => (await hx.run('return await tools.echo({ deep: true })')).value },
        { name: 'echo', handler: (a: unknown) => a },
      ],
    })
    const r = await hx.run('return [await tools.nested({}), await tools.nestedTool({})]')
    await hx.close()
    expect(r.value).toEqual([42, { deep: true }])
  })

  it('a handler that calls processResponse() gets a normal turn', async () => {
    let hx: ScriptHarness
    hx = new ScriptHarness({
      workers: 1,
      tools: [{ name: 'turn', handler: async () => (await hx.processResponse('chat', { role: 'assistant', content: 'x <tool-calls>\nreturn 7\n</tool-calls>' })).scripts.map((s) => s.value) }],
    })
    const r = await hx.run('return await tools.turn({})')
    await hx.close()
    expect(r.value).toEqual([7])
  })

  it('a handler that calls close() cancels its own script at once, and close() resolves', async () => {
    for (const awaitIt of [false, true]) {
      let hx: ScriptHarness
      let closed = false
      hx = new ScriptHarness({
        workers: 1,
        tools: [{ name: 'closer', handler: async () => { const p = hx.close().then(() => { closed = true }); if (awaitIt) await p; return 'closed' } }],
      })
      const [r, ms] = await timed(hx.run('return await tools.closer({})', { limits: { orphanGraceMs: 100 } }))
      await sleep(20)
      expectError(r, 'ScriptCancelledError', { phase: 'executing' })
      expect(r.toolCalls.map((c) => c.status)).toEqual(['aborted'])
      expect(ms).toBeLessThan(1000)
      expect(closed).toBe(true)
      await expect(hx.run('return 1')).rejects.toThrow('the harness is closed')
    }
  })
})

describe('approvals', () => {
  const gated = (log: string[], name: string, requiresApproval: ToolDefinition['requiresApproval']): ToolDefinition => ({
    name,
    requiresApproval,
    handler: (a) => { log.push(`${name} ran ${JSON.stringify(a)}`); return 'ran' },
  })

  it('a requiresApproval predicate that throws or rejects denies (CONTRACT: approval answers); the handler never runs', async () => {
    const log: string[] = []
    const hx = new ScriptHarness({
      workers: 1,
      tools: [gated(log, 'throws', () => { throw new Error('p') }), gated(log, 'rejects', () => Promise.reject(new Error('p')))],
      onApproval: () => 'approved',
    })
    const r = await hx.run("const out = []\nfor (const n of ['throws', 'rejects']) { try { await tools[n]({}); out.push('ran') } catch (e) { out.push(e.name) } }\nreturn out")
    await hx.close()
    expect(r.value).toEqual(['ApprovalDeniedError', 'ApprovalDeniedError'])
    expect(r.toolCalls.map((c) => c.status)).toEqual(['denied', 'denied'])
    expect(log).toEqual([])
  })

  it('a predicate that never settles is bounded by approvalTimeoutMs (ApprovalTimeoutError), not the script timeout', async () => {
    const log: string[] = []
    const hx = new ScriptHarness({
      workers: 1,
      tools: [gated(log, 'hangs', () => new Promise<boolean>(() => {}))],
      onApproval: () => 'approved',
      limits: { approvalTimeoutMs: 150 },
    })
    const [r, ms] = await timed(hx.run("try { await tools.hangs({}) } catch (e) { return e.name }", { limits: { timeoutMs: 1500 } }))
    await hx.close()
    expect(r.value).toBe('ApprovalTimeoutError')
    expect(ms).toBeLessThan(1000)
    expect(log).toEqual([])
  })

  it('a predicate answer: only false skips approval; true and any other value ask', async () => {
    const log: string[] = []
    const asked: string[] = []
    const answers: Record<string, unknown> = { no: false, yes: true, undef: undefined, zero: 0, falseString: 'false', obj: {} }
    const hx = new ScriptHarness({
      workers: 1,
      tools: Object.entries(answers).map(([name, v]) => gated(log, name, () => v as boolean)),
      onApproval: (req) => { asked.push(req.toolName); return 'approved' },
    })
    const r = await hx.run(`for (const n of ${JSON.stringify(Object.keys(answers))}) await tools[n]({})`)
    await hx.close()
    expect(r.ok).toBe(true)
    expect(asked).toEqual(['yes', 'undef', 'zero', 'falseString', 'obj'])
    expect(log.length).toBe(6)
  })

  it('the handler gets exactly the arguments that were approved, even when the predicate mutates them', async () => {
    const log: string[] = []
    const shown: unknown[] = []
    const hx = new ScriptHarness({
      workers: 1,
      tools: [
        gated(log, 'sneaky', (a: any) => { a.cmd = 'rm -rf /'; return true }),
        gated(log, 'sneakyNoAsk', (a: any) => { a.cmd = 'rm -rf /'; return false }),
      ],
      onApproval: (req) => { shown.push(req.args); return 'approved' },
    })
    await hx.run("await tools.sneaky({ cmd: 'ls' })\nawait tools.sneakyNoAsk({ cmd: 'ls' })")
    await hx.close()
    expect(shown).toEqual([{ cmd: 'ls' }])
    expect(log).toEqual(['sneaky ran {"cmd":"ls"}', 'sneakyNoAsk ran {"cmd":"ls"}'])
  })

  it('onApproval mutating the request changes nothing the handler gets', async () => {
    const log: string[] = []
    const hx = new ScriptHarness({
      workers: 1,
      tools: [gated(log, 'g', true)],
      onApproval: (req: any) => { req.args.cmd = 'evil'; req.toolName = 'other'; return true },
    })
    const r = await hx.run("return await tools.g({ cmd: 'ls', password: 'hunter2' })")
    await hx.close()
    expect(r.value).toBe('ran')
    expect(log).toEqual(['g ran {"cmd":"ls","password":"hunter2"}'])
  })

  it('only "approved" or true approve; any other answer, a throw, a rejection or a reject-first thenable denies; silence times out', async () => {
    let answer: () => unknown = () => 'approved'
    const log: string[] = []
    const hx = new ScriptHarness({ workers: 1, tools: [gated(log, 'g', true)], onApproval: () => answer() as any, limits: { approvalTimeoutMs: 100 } })
    const cases: Array<[string, () => unknown, string]> = [
      ["'approved'", () => 'approved', 'ran'],
      ['true', () => true, 'ran'],
      ["Promise.resolve('approved')", () => Promise.resolve('approved'), 'ran'],
      ['thenable approving, then denying', () => ({ then(r: any) { r('approved'); r('denied') } }), 'ran'],
      ["'APPROVED'", () => 'APPROVED', 'ApprovalDeniedError'],
      ["'yes'", () => 'yes', 'ApprovalDeniedError'],
      ['1', () => 1, 'ApprovalDeniedError'],
      ['{}', () => ({}), 'ApprovalDeniedError'],
      ['null', () => null, 'ApprovalDeniedError'],
      ['undefined', () => undefined, 'ApprovalDeniedError'],
      ["['approved']", () => ['approved'], 'ApprovalDeniedError'],
      ["new String('approved')", () => new String('approved'), 'ApprovalDeniedError'],
      ['new Boolean(true)', () => new Boolean(true), 'ApprovalDeniedError'],
      ['valueOf true', () => ({ valueOf: () => true }), 'ApprovalDeniedError'],
      ['toString approved', () => ({ toString: () => 'approved' }), 'ApprovalDeniedError'],
      ["() => 'approved'", () => () => 'approved', 'ApprovalDeniedError'],
      ['Symbol', () => Symbol('approved'), 'ApprovalDeniedError'],
      ['throw', () => { throw new Error('x') }, 'ApprovalDeniedError'],
      ['throw a string', () => { throw 'x' }, 'ApprovalDeniedError'],
      ['rejection', () => Promise.reject(new Error('x')), 'ApprovalDeniedError'],
      ['thenable rejecting first', () => ({ then(r: any, j: any) { j('x'); r('approved') } }), 'ApprovalDeniedError'],
      ['never', () => new Promise(() => {}), 'ApprovalTimeoutError'],
      ['thenable never', () => ({ then() {} }), 'ApprovalTimeoutError'],
    ]
    const got: Record<string, string> = {}
    const want: Record<string, string> = {}
    for (const [label, a, expected] of cases) {
      answer = a
      const r = await hx.run("try { return await tools.g({}) } catch (e) { return e.name }")
      got[label] = String(r.value ?? r.error?.code)
      want[label] = expected
    }
    await hx.close()
    expect(got).toEqual(want)
    expect(log.length).toBe(4)
  })
})

describe('events', () => {
  it('an onEvent callback that throws, calls run() or calls close() does not break its script', async () => {
    const seen: string[] = []
    let he: ScriptHarness
    he = new ScriptHarness({
      workers: 1,
      tools: [{ name: 'echo', handler: (a: unknown) => a }],
      onEvent: (e: HarnessEvent) => {
        seen.push(e.type)
        if (e.type === 'script_started') throw new Error('listener bug')
        if (e.type === 'tool_call_started' && seen.filter((t) => t === 'tool_call_started').length === 1) {
          void he.run('return 5').then((r) => seen.push(`inner ${r.value}`))
        }
      },
    })
    const r = await he.run('return await tools.echo({ a: 1 })')
    await sleep(30)
    expect(r.value).toEqual({ a: 1 })
    expect(seen).toContain('inner 5')
    expect(seen.filter((t) => t === 'script_completed').length).toBe(2)
    await he.close()

    let hc: ScriptHarness
    hc = new ScriptHarness({
      workers: 1,
      tools: [{ name: 'echo', handler: (a: unknown) => a }],
      onEvent: (e: HarnessEvent) => { if (e.type === 'tool_call_started') void hc.close() },
    })
    const cancelled = await hc.run('return await tools.echo({ a: 1 })')
    expectError(cancelled, 'ScriptCancelledError')
  })

  it('an async onEvent callback that rejects causes no unhandled rejection (a throw is ignored, sync or not)', () => {
    // Node 20 ends the process on an unhandled rejection; the harness
    // ignores a throwing callback, and should ignore a rejecting one alike.
    const child = inChild(`
      const h = new ScriptHarness({ workers: 1, tools: [{ name: 'echo', handler: (a) => a }], onEvent: async () => { throw new Error('listener bug') } })
      const r = await h.run("console.log('hi'); return await tools.echo({ a: 1 })")
      await new Promise((res) => setTimeout(res, 50))
      report(r.value)
      await h.close()`)
    expectCleanExit(child)
    expect(child.reports).toEqual([{ a: 1 }])
    expect(child.stderr).not.toMatch(/listener bug/)
  })
})
