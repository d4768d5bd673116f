// describeTools() over schemas shaped like the ones tools really have: MCP
// reference servers, OpenAPI-derived operations, pydantic (FastMCP) models.
// The declarations are snapshot-tested, and type-check under tsc --strict.
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { ScriptHarness, type ToolDefinition } from '../index.js'
import { typecheckScript } from './tools'

const dir = path.join(__dirname, 'fixtures/schemas')
const corpus = readdirSync(dir).filter((f) => f.endsWith('.json')).sort().map((f) => ({
  file: f,
  tools: (JSON.parse(readFileSync(path.join(dir, f), 'utf8')).tools as Omit<ToolDefinition, 'handler'>[]).map((t) => ({ ...t, handler: () => null })),
}))

const typecheck = typecheckScript

describe('describeTools() over a corpus of real-world schemas', () => {
  for (const { file, tools } of corpus) {
    it(`${file}: declarations as snapshotted`, async () => {
      const h = new ScriptHarness({ tools, workers: 1 })
      const text = h.describeTools({ context: 'none' })
      await h.close()
      await expect(text).toMatchFileSnapshot(`./fixtures/schemas/__snapshots__/${file.replace('.json', '.d.ts')}`)
    })
  }

  it('all of them together type-check under tsc --strict, with the results used as typed values', async () => {
    const h = new ScriptHarness({ tools: corpus.flatMap((c) => c.tools), workers: 1 })
    const text = h.describeTools()
    await h.close()
    // One Graph type for the two memory tools; recursive types by name.
    expect(text.match(/^type Graph = /gm)).toHaveLength(1)
    expect(text).toContain('replies?: Array<Comment>;')
    expect(text).toContain('children?: Array<TreeEntry>;')
    const usage = `${text}
async function script() {
  const graph = await tools.memory.read_graph()
  const names: string[] = graph.entities.map((e) => e.name)
  const tree = await tools.fs.directory_tree({ path: '.' })
  const files = (entries: typeof tree): number => entries.reduce((n, e) => n + (e.type === 'file' ? 1 : files(e.children ?? [])), 0)
  const ticket = await tools.tickets.create_ticket({ title: 'Broken build', contact: { kind: 'email', address: 'a@b.c' }, priority: 'high' })
  const pets = await tools.pets.findPetsByStatus({ status: ['sold'] })
  return { names, files: files(tree), id: ticket.id, pets: pets.map((p) => p.name) }
}
// @ts-expect-error the contact's kind decides its fields
tools.tickets.create_ticket({ title: 'x', contact: { kind: 'phone', address: 'a@b.c' } })
// @ts-expect-error priority is an enum
tools.tickets.create_ticket({ title: 'x', contact: { kind: 'email', address: 'a' }, priority: 'asap' })
export { script }
`
    expect(typecheck(usage)).toBe('')
  })
})
