// instructions(): what it teaches the model is what the harness does.
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { detectScripts, ScriptHarness } from '../index.js'
import { codingTools } from '../examples/tools/index.ts'

const root = path.join(__dirname, 'fixtures/turns')
const fixtureScripts: string[] = ['responses', 'chat', 'messages'].flatMap((format) =>
  readdirSync(path.join(root, format))
    .filter((f) => f.endsWith('.json'))
    .flatMap((f) => JSON.parse(readFileSync(path.join(root, format, f), 'utf8')).expect?.scripts ?? []),
)

const open: ScriptHarness[] = []
afterAll(() => Promise.all(open.map((h) => h.close())))
const make = (options: ConstructorParameters<typeof ScriptHarness>[0]) => {
  const h = new ScriptHarness(options)
  open.push(h)
  return h
}

describe('instructions()', () => {
  const h = make({ tools: codingTools(process.cwd()), limits: { timeoutMs: 45_000, maxReturnBytes: 16 * 1024, maxConcurrentToolCalls: 6 } })
  const text = h.instructions()

  it('is short, quotes this harness\'s limits, and ends with the declarations (context brief)', () => {
    expect(text.length).toBeLessThan(4000 + h.describeTools({ context: 'brief' }).length)
    expect(text).toContain('after 45000 ms')
    expect(text).toContain('at most 16 KB')
    expect(text).toContain('at most 6 at a time')
    expect(text.trimEnd().endsWith(`\`\`\`ts\n${h.describeTools({ context: 'brief' })}\`\`\``)).toBe(true)
    expect(h.instructions({ context: 'none' })).not.toContain('declare const context')
    expect(() => h.instructions({ delivery: 'xml' as any })).toThrow(/^options\.delivery: must be one of 'tag', 'fence', 'argument'$/)
  })

  it('the shape of a script it shows is a script, in either delivery', () => {
    for (const delivery of ['tag', 'fence'] as const) {
      const scripts = detectScripts(h.instructions({ delivery })).filter((s) => s.type === 'script')
      expect(scripts, delivery).toHaveLength(1)
      expect(scripts[0].type === 'script' && scripts[0].source).toContain('await Promise.all')
    }
  })

  it('every script of the shared fixtures, written as it teaches, is found again exactly', () => {
    expect(fixtureScripts.length).toBeGreaterThan(10)
    for (const source of fixtureScripts) {
      for (const wrapped of [`Checking.\n<tool-calls>\n${source}\n</tool-calls>\nDone.`, `Checking.\n\`\`\`ts tool-calls\n${source}\n\`\`\`\nDone.`]) {
        const found = detectScripts(wrapped).filter((s) => s.type === 'script')
        expect(found.map((s) => s.type === 'script' && s.source.trim())).toEqual([source.trim()])
      }
    }
  })

  it('the rules it states hold: top-level await and return, no fetch/require/timers, errors named by code', async () => {
    const failing = make({ tools: [{ name: 'fail', handler: () => { throw new Error('no') } }] })
    const r = await failing.run(`
      const missing = [typeof fetch, typeof require, typeof setTimeout, typeof setInterval, typeof process]
      let name = ''
      try { await tools.fail({}) } catch (e) { name = e.name }
      let notFound = ''
      try { await (tools as any).noSuchTool({}) } catch (e) { notFound = e.name }
      return { missing, name, notFound }`)
    expect(r.value).toEqual({ missing: Array(5).fill('undefined'), name: 'ToolExecutionError', notFound: 'ToolNotFoundError' })
    const imports = await failing.run("const m = await import('node:fs'); return 1")
    expect(imports.ok).toBe(false)
  })
})
