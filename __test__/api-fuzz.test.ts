// Every entry point fed hostile values: each call either works or fails
// with a clear error (a TypeError for bad input), and the process never
// aborts. A crash of this test's worker process would fail the run.
import { describe, expect, it } from 'vitest'
import { ScriptHarness, detectScripts } from '../index.js'

const throwingProxy = new Proxy({}, {
  get() { throw new Error('trap') },
  has() { throw new Error('trap') },
  ownKeys() { throw new Error('trap') },
  getOwnPropertyDescriptor() { throw new Error('trap') },
  getPrototypeOf() { throw new Error('trap') },
})
const cyclic: any = { a: 1 }
cyclic.self = cyclic
let deep: any = {}
for (let i = 0; i < 100_000; i++) deep = { deep }
const withGetter = { get tools() { throw new Error('getter') } }

const hostile: unknown[] = [
  undefined, null, 0, -1, NaN, Infinity, 2 ** 53, 1n, '', 'x'.repeat(1 << 20), '\u0000', '\ud800', Symbol('s'),
  [], [null], {}, () => {}, throwingProxy, cyclic, deep, withGetter, new Date(0), /re/, new Map(), Object.create(null),
  { type: 'message', content: throwingProxy }, { role: 'assistant', content: 1 }, { output: 'x' }, [{ type: 'text', text: 1 }],
]

/** Calls f; returns 'ok', or the error's constructor name. Sync throws and rejections alike. */
async function outcome(f: () => unknown): Promise<string> {
  try {
    await f()
    return 'ok'
  } catch (e) {
    return e instanceof Error ? e.constructor.name : typeof e
  }
}

describe('hostile values at every entry point', () => {
  it('the constructor refuses bad options with TypeError', async () => {
    for (const v of hostile) {
      const got = await outcome(() => new ScriptHarness(v as any).close())
      expect(['TypeError', 'Error'], String(typeof v)).toContain(got)
    }
    for (const v of hostile) {
      const got = await outcome(() => new ScriptHarness({ tools: [v as any] }).close())
      expect(['TypeError', 'Error']).toContain(got)
      const limits = await outcome(() => new ScriptHarness({ tools: [], limits: v as any }).close())
      expect(['ok', 'TypeError', 'Error']).toContain(limits)
    }
  })

  it('run, validate, processResponse, stream and detectScripts take anything without crashing', async () => {
    const h = new ScriptHarness({ tools: [{ name: 'echo', handler: (a) => a }] })
    const seen = new Set<string>()
    for (const v of hostile) {
      seen.add(await outcome(() => h.run(v as any)))
      seen.add(await outcome(() => h.run('return 1', v as any)))
      seen.add(await outcome(() => h.validate(v as any)))
      for (const format of ['responses', 'chat', 'messages', v]) {
        seen.add(await outcome(() => h.processResponse(format as any, v)))
        seen.add(await outcome(() => h.processResponse(format as any, { role: 'assistant', content: 'hi' }, v as any)))
        seen.add(await outcome(() => {
          const s = h.stream(format as any)
          s.push(v)
          return s.end()
        }))
      }
      seen.add(await outcome(() => detectScripts(v as any)))
    }
    // Errors are typed: nothing surfaces as a plain object or a string.
    expect([...seen].every((k) => ['ok', 'TypeError', 'Error', 'RangeError', 'SyntaxError'].includes(k)), [...seen].join()).toBe(true)
    // And the harness still works.
    expect((await h.run('return (await tools.echo({ n: 2 })).n')).value).toBe(2)
    await h.close()
  })

  it('a turn nested deeper than JSON allows is a clear error, not a crash', async () => {
    const h = new ScriptHarness({ tools: [] })
    const got = await outcome(() => h.processResponse('messages', [{ type: 'tool_use', id: 't', name: 'x', input: deep }]))
    expect(['ok', 'TypeError', 'RangeError']).toContain(got)
    await h.close()
  })
})
