// A tool's error reaches the script with what a script branches on: the
// handler's `code`, `status`, `cause` chain and AggregateError members, as
// fields of the error, while `name` stays the harness's code.
import { afterAll, describe, expect, it } from 'vitest'
import { ScriptHarness } from '../index.js'

class HttpError extends Error {
  override name = 'HttpError'
  constructor(message: string, readonly status: number) {
    super(message)
  }
}
let getterRan = false
const throwers: Record<string, () => unknown> = {
  enoent: () => { throw Object.assign(new Error('no such file: a.txt'), { code: 'ENOENT', path: '/home/me/.ssh/id_rsa', token: 'sk-secret' }) },
  http: () => Promise.reject(new HttpError('not found', 404)),
  fetch: () => { throw new Error('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:443'), { code: 'ECONNREFUSED' }) }) },
  deep: () => {
    let e = new Error('level 5')
    for (let i = 4; i >= 0; i--) e = new Error(`level ${i}`, { cause: e })
    throw e
  },
  many: () => { throw new AggregateError(Array.from({ length: 12 }, (_, i) => new RangeError(`part ${i}`)), 'all failed') },
  getter: () => {
    const e = new Error('has a getter')
    Object.defineProperty(e, 'code', { get() { getterRan = true; return 'X' } })
    throw e
  },
  text: () => { throw 'plain text' },
}
const h = new ScriptHarness({ tools: Object.entries(throwers).map(([name, handler]) => ({ name, handler })) })
afterAll(() => h.close())
const caught = (tool: string) => h.run(`try { await tools.${tool}({}) } catch (e) { return { name: e.name, message: e.message, code: e.code, status: e.status, cause: e.cause, errors: e.errors, details: e.details, keys: Object.keys(e) } }`)

describe('tool errors carry the handler\'s code, status, cause and members', () => {
  it('code: the script branches on ENOENT; nothing else of the error crosses', async () => {
    const r = await caught('enoent')
    expect(r.value).toMatchObject({ name: 'ToolExecutionError', message: 'no such file: a.txt', code: 'ENOENT', details: { name: 'Error', message: 'no such file: a.txt', code: 'ENOENT' } })
    expect(JSON.stringify(r.value)).not.toMatch(/ssh|sk-secret/)
    const branch = await h.run("try { await tools.enoent({}) } catch (e) { if (e.code === 'ENOENT') return 'missing'; throw e }")
    expect(branch.value).toBe('missing')
  })

  it('status and the error class name', async () => {
    expect((await caught('http')).value).toMatchObject({ name: 'ToolExecutionError', status: 404, details: { name: 'HttpError', status: 404 } })
  })

  it('a cause chain, three deep at most', async () => {
    expect((await caught('fetch')).value).toMatchObject({ message: 'fetch failed', cause: { name: 'Error', message: 'connect ECONNREFUSED 127.0.0.1:443', code: 'ECONNREFUSED' } })
    const deep = (await caught('deep')).value as any
    expect(deep.cause.cause.cause.message).toBe('level 3')
    expect(deep.cause.cause.cause.cause).toBeUndefined()
  })

  it('AggregateError members, ten at most', async () => {
    const r = (await caught('many')).value as any
    expect(r.details.name).toBe('AggregateError')
    expect(r.errors).toHaveLength(10)
    expect(r.errors[3]).toEqual({ name: 'RangeError', message: 'part 3' })
  })

  it('no getter of the host runs; a thrown string has no fields', async () => {
    const r = (await caught('getter')).value as any
    expect(r.code).toBeUndefined()
    expect(getterRan).toBe(false)
    const text = (await caught('text')).value as any
    expect(text).toMatchObject({ name: 'ToolExecutionError', message: 'plain text' })
    expect(text.details).toBeUndefined()
    expect(text.code).toBeUndefined()
  })

  it('the fields are the script\'s own: not enumerable on the error (details is), and writable', async () => {
    const r = (await caught('enoent')).value as any
    expect(r.keys).toEqual(['toolName', 'callId', 'details'])
    const w = await h.run("try { await tools.enoent({}) } catch (e) { e.code = 'MINE'; e.details.code = 'ALSO'; return [e.code, e.details.code] }")
    expect(w.value).toEqual(['MINE', 'ALSO'])
  })
})
