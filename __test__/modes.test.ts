// validate(), dry-run and disabled modes for single scripts.
import { afterAll, describe, expect, it } from 'vitest'
import { harness, newRecorder } from './tools'

const rec = newRecorder()
const h = harness({}, rec)
afterAll(() => h.close())

describe('validate()', () => {
  it('reports syntax errors, banned constructs and unknown tools without running anything', () => {
    const good = h.validate("const r = await tools.exec({ command: ['ls'] })\nawait tools.mcp.github.searchIssues({})\nawait tools.nope.deeper({})\nreturn r")
    expect(good).toMatchObject({
      ok: true,
      language: 'ts',
      errors: [],
      toolsReferenced: ['exec', 'mcp.github.searchIssues', 'nope.deeper'],
      unknownTools: ['nope.deeper'],
    })
    expect(good.scriptHash).toMatch(/^[0-9a-f]{64}$/)
    const bad = h.validate("const a = 1\nconst fs = require('fs')")
    expect(bad.ok).toBe(false)
    expect(bad.errors).toEqual([expect.objectContaining({ code: 'BannedConstructError', line: 2, phase: 'parsing' })])
    expect(h.validate('const = 1').errors[0].code).toBe('ScriptSyntaxError')
  })
})

describe('modes', () => {
  it('S20 dry-run validates and reports, runs nothing, and says so', async () => {
    const before = rec.started.length
    const ok = await h.run('await tools.slow({ ms: 1 }); return 1', { mode: 'dry-run' })
    expect(ok).toMatchObject({ ok: true, toolCalls: [] })
    expect('value' in ok).toBe(false)
    const bad = await h.run("import x from 'y'", { mode: 'dry-run' })
    expect(bad.error).toMatchObject({ code: 'BannedConstructError', line: 1 })
    expect(rec.started.length).toBe(before)
  })

  it('disabled runs nothing and says so with HarnessDisabledError', async () => {
    const r = await h.run('await tools.slow({ ms: 1 })', { mode: 'disabled' })
    expect(r.error).toMatchObject({ code: 'HarnessDisabledError', retryable: false })
    expect(r.toolCalls).toEqual([])
  })
})
