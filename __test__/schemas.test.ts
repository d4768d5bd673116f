// Tools from zod 4 or any Standard Schema with a JSON Schema view: converted
// once by the library itself, validated by it too, and declared to the model.
import { afterAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { defineTool, ScriptHarness, type ToolDefinition } from '../index.js'

const open: ScriptHarness[] = []
afterAll(() => Promise.all(open.map((h) => h.close())))
const make = (tools: ToolDefinition[]) => {
  const h = new ScriptHarness({ tools })
  open.push(h)
  return h
}

describe('zod 4 schemas', () => {
  const seen: unknown[] = []
  const read = defineTool({
    name: 'fs.read',
    description: 'Read a text file.',
    parameters: z.object({
      path: z.string().min(1).describe('Relative to the workspace').refine((p) => !p.includes('..'), 'must not leave the workspace'),
      limit: z.number().int().min(1).default(100),
    }),
    returns: z.object({ text: z.string(), truncated: z.boolean() }),
    handler: ({ path, limit }) => {
      seen.push({ path, limit })
      return { text: `contents of ${path}`, truncated: false }
    },
  })
  const h = make([read])

  it('the handler gets the parsed value (defaults applied), and the script the result', async () => {
    const r = await h.run("const f = await tools.fs.read({ path: 'a.txt' }); return f.text")
    expect(r.value).toBe('contents of a.txt')
    expect(seen.at(-1)).toEqual({ path: 'a.txt', limit: 100 })
  })

  it('what the JSON Schema view says is checked by the engine; refinements by zod itself', async () => {
    const empty = await h.run("return await tools.fs.read({ path: '' })")
    expect(empty.error).toMatchObject({ code: 'ToolValidationError' })
    expect(empty.error?.message).toMatch(/path/)
    const escape = await h.run("return await tools.fs.read({ path: '../etc/passwd' })")
    expect(escape.error).toMatchObject({ code: 'ToolValidationError', message: 'tools.fs.read: /path: must not leave the workspace' })
    expect(seen.map((s: any) => s.path)).not.toContain('../etc/passwd')
  })

  it('describeTools declares arguments and result from the schemas, with their descriptions and constraints', () => {
    const d = h.describeTools({ context: 'none' })
    expect(d).toContain('/** Read a text file. */')
    expect(d).toContain('/**\n       * Relative to the workspace\n       * @minLength 1\n       */\n      path: string;')
    expect(d).toMatch(/limit\?: number;/)
    expect(d).toContain('}): Promise<{\n      text: string;\n      truncated: boolean;\n    }>;')
    expect(d).not.toContain('9007199254740991')
  })
})

describe('schemas that are not JSON Schema are refused', () => {
  const noop = () => null
  it('a Standard Schema without a JSON Schema view, a class instance, a function: TypeError naming the field', () => {
    const bare = { '~standard': { version: 1, vendor: 'hand-made', validate: (v: unknown) => ({ value: v }) } }
    expect(() => new ScriptHarness({ tools: [{ name: 'a', parameters: bare, handler: noop }] })).toThrow(/^options\.tools\[0\]\.parameters: is a Standard Schema \(hand-made\) without a JSON Schema view/)
    class ZodLike { _def = { typeName: 'ZodObject' } }
    expect(() => new ScriptHarness({ tools: [{ name: 'a', parameters: new ZodLike(), handler: noop }] })).toThrow(/^options\.tools\[0\]\.parameters: is neither a JSON Schema \(a plain object\) nor a Standard Schema/)
    expect(() => new ScriptHarness({ tools: [{ name: 'a', returns: (() => 1) as any, handler: noop }] })).toThrow(TypeError)
    const throwing = { '~standard': { version: 1, vendor: 'x', validate: noop, jsonSchema: { input: () => { throw new Error('no way') }, output: () => ({}) } } }
    expect(() => new ScriptHarness({ tools: [{ name: 'a', parameters: throwing, handler: noop }] })).toThrow(/conversion to JSON Schema failed \(x\): no way/)
  })

  it('an async Standard Schema validation is awaited; one that throws is a ToolValidationError', async () => {
    const schema = {
      '~standard': {
        version: 1, vendor: 'async-lib',
        validate: async (v: any) => (v.n > 0 ? { value: { n: v.n * 2 } } : { issues: [{ message: 'must be positive', path: ['n'] }] }),
        jsonSchema: { input: () => ({ type: 'object', properties: { n: { type: 'number' } }, required: ['n'] }), output: () => ({}) },
      },
    }
    const broken = { '~standard': { ...schema['~standard'], validate: () => { throw new Error('validator bug') } } }
    const h = make([{ name: 'double', parameters: schema, handler: (a: any) => a.n }, { name: 'broken', parameters: broken, handler: noop }])
    expect((await h.run('return await tools.double({ n: 2 })')).value).toBe(4)
    expect((await h.run('return await tools.double({ n: -1 })')).error).toMatchObject({ code: 'ToolValidationError', message: 'tools.double: /n: must be positive' })
    expect((await h.run('return await tools.broken({ n: 1 })')).error?.message).toMatch(/^tools\.broken: its schema's validation threw: validator bug/)
  })
})
