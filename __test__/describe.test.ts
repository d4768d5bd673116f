// describeTools(): declarations that type-check with tsc and describe the tools exactly.
import { describe, expect, it } from 'vitest'
import { ScriptHarness, type ToolDefinition } from '../index.js'
import { typecheckScript } from './tools'

const noop = () => null
const fixtureTools: ToolDefinition[] = [
  {
    name: 'exec',
    description: 'Run a command without a shell.',
    parameters: {
      type: 'object',
      properties: { command: { type: 'array', items: { type: 'string' } }, cwd: { type: 'string' }, timeoutMs: { type: 'number' } },
      required: ['command'],
      additionalProperties: false,
    },
    handler: noop,
  },
  {
    name: 'fileSearch',
    description: 'Find files by glob or fuzzy name.',
    parameters: { type: 'object', properties: { pattern: { type: 'string' }, limit: { type: 'integer' } }, required: ['pattern'] },
    handler: noop,
  },
  {
    name: 'applyPatch',
    description: 'Apply a patch in the *** Begin Patch format. */ not the end of the comment',
    parameters: { type: 'object', properties: { patch: { type: 'string' } }, required: ['patch'] },
    requiresApproval: true,
    handler: noop,
  },
  {
    name: 'mcp.github.searchIssues',
    description: 'Search GitHub issues.\nReturns at most `limit` items.',
    parameters: {
      type: 'object',
      properties: {
        repo: { type: 'string', description: 'owner/name' },
        query: { type: 'string' },
        state: { enum: ['open', 'closed', 'all'] },
        limit: { type: 'integer' },
      },
      required: ['repo', 'query'],
    },
    handler: noop,
  },
  {
    name: 'tricky.shapes',
    parameters: {
      type: 'object',
      properties: {
        'kebab-key': { type: ['string', 'null'] },
        union: { anyOf: [{ type: 'string' }, { type: 'object', properties: { n: { type: 'number' } }, required: ['n'] }] },
        nested: {
          type: 'object',
          properties: { deep: { type: 'object', properties: { list: { type: 'array', items: { enum: [1, 2, 3] } } } } },
        },
        tuple: { type: 'array', prefixItems: [{ type: 'string' }, { type: 'boolean' }] },
        map: { type: 'object', additionalProperties: { type: 'number' } },
        open: { type: 'object', properties: { a: { type: 'string' } }, additionalProperties: true },
        fixed: { const: 'v1' },
        both: { allOf: [{ type: 'object', properties: { x: { type: 'string' } } }, { type: 'object', properties: { y: { type: 'string' } } }] },
      },
      required: ['union'],
    },
    handler: noop,
  },
  { name: 'noArgs', handler: noop },
]

const typecheck = typecheckScript

describe('describeTools()', () => {
  const h = new ScriptHarness({ tools: fixtureTools })
  const declarations = h.describeTools()
  h.close()

  it('declares every tool with its description and argument type', () => {
    expect(declarations).toContain('/** Run a command without a shell. */')
    expect(declarations).toContain('exec(args: {')
    expect(declarations).toContain('state?: "open" | "closed" | "all";')
    expect(declarations).toContain('readonly mcp: {')
    expect(declarations).toContain('"kebab-key"?: string | null;')
    expect(declarations).toContain('declare const context: {')
    expect(declarations).not.toMatch(/\*\/ not the end/)
  })

  it('type-checks with tsc, accepting valid calls and rejecting bad ones', () => {
    const usage = `${declarations}
async function script() {
  await tools.exec({ command: ['ls'], cwd: context.workingDirectory })
  await tools.fileSearch({ pattern: '*.ts', limit: 5 })
  await tools.applyPatch({ patch: '*** Begin Patch' })
  await tools.mcp.github.searchIssues({ repo: 'a/b', query: 'bug', state: 'open' })
  await tools.tricky.shapes({ union: { n: 1 }, 'kebab-key': null, tuple: ['a', true], map: { a: 1 }, open: { a: 'x', extra: 1 }, fixed: 'v1', both: { x: 'a', y: 'b' }, nested: { deep: { list: [1, 3] } } })
  await tools.noArgs()
  context.emitProgress('half way')
  const limit: number = context.limits.timeoutMs
  return limit
}
// @ts-expect-error command must be an array of strings
tools.exec({ command: 'ls' })
// @ts-expect-error state is an enum
tools.mcp.github.searchIssues({ repo: 'a', query: 'b', state: 'merged' })
// @ts-expect-error repo is required
tools.mcp.github.searchIssues({ query: 'b' })
// @ts-expect-error exec takes no unknown keys
tools.exec({ command: [], shell: true })
// @ts-expect-error context is read-only
context.turnId = 'x'
export { script }
`
    expect(typecheck(usage)).toBe('')
  })
})

// Real-world shapes: pydantic (FastMCP) puts models in `$defs` and refers to
// them with `$ref`, recursive ones included; MCP servers declare
// `outputSchema`; OpenAPI-derived schemas carry constraints and defaults.
const pydanticIssue = {
  $defs: {
    Label: { title: 'Label', type: 'object', properties: { name: { type: 'string' }, color: { type: 'string', pattern: '^[0-9a-f]{6}$' } }, required: ['name'] },
    Comment: {
      title: 'Comment', type: 'object',
      properties: { body: { type: 'string' }, replies: { type: 'array', items: { $ref: '#/$defs/Comment' }, default: [] } },
      required: ['body'],
    },
    State: { enum: ['open', 'closed'], title: 'State', type: 'string' },
  },
  type: 'object',
  properties: {
    number: { type: 'integer', minimum: 1 },
    state: { $ref: '#/$defs/State' },
    labels: { type: 'array', items: { $ref: '#/$defs/Label' }, maxItems: 100 },
    comments: { type: 'array', items: { $ref: '#/$defs/Comment' } },
    parent: { anyOf: [{ $ref: '#' }, { type: 'null' }], default: null },
  },
  required: ['number', 'state', 'labels', 'comments'],
}
const resultTools: ToolDefinition[] = [
  {
    name: 'github.getIssue',
    description: 'Fetch one issue.',
    parameters: { type: 'object', properties: { number: { type: 'integer', minimum: 1, description: 'Issue number' } }, required: ['number'] },
    returns: pydanticIssue,
    handler: noop,
  },
  {
    name: 'github.listIssues',
    parameters: {
      type: 'object',
      properties: { per_page: { type: 'integer', minimum: 1, maximum: 100, default: 30 }, state: { $ref: '#/$defs/State' } },
      $defs: { State: { enum: ['open', 'closed'], type: 'string' } },
    },
    // The same models, and the issue itself as a definition (its parent refers to it).
    returns: {
      $defs: {
        ...pydanticIssue.$defs,
        Issue: { ...pydanticIssue, $defs: undefined, properties: { ...pydanticIssue.properties, parent: { anyOf: [{ $ref: '#/$defs/Issue' }, { type: 'null' }] } } },
      },
      type: 'array',
      items: { $ref: '#/$defs/Issue' },
    },
    handler: noop,
  },
  {
    name: 'fs.tree',
    returns: { $defs: { Entry: { type: 'object', properties: { name: { type: 'string' }, children: { type: 'array', items: { $ref: '#/$defs/Entry' } } }, required: ['name', 'children'] } }, $ref: '#/$defs/Entry' },
    handler: noop,
  },
]

describe('describeTools(): results, $defs and constraints', () => {
  const h = new ScriptHarness({ tools: resultTools })
  const declarations = h.describeTools()
  const brief = h.describeTools({ context: 'brief' })
  const none = h.describeTools({ context: 'none' })
  h.close()

  it('declares results, named types for $defs (recursive too), and constraints as JSDoc', () => {
    expect(declarations).toContain('type Comment = {')
    expect(declarations).toContain('replies?: Array<Comment>;')
    expect(declarations).toContain('type State = "open" | "closed";')
    expect(declarations).toContain('@minimum 1')
    expect(declarations).toContain('@default 30')
    expect(declarations).toContain('@pattern ^[0-9a-f]{6}$')
    expect(declarations).toMatch(/getIssue\(args: \{[\s\S]*?\}\): Promise<\{/)
    expect(declarations).toContain('tree(args?: Record<string, unknown>): Promise<Entry>;')
    // The same model in two tools is one type.
    expect(declarations.match(/^type Comment = /gm)).toHaveLength(1)
  })

  it('the declarations type-check under tsc --strict, and a script can use the results without casts', () => {
    const usage = `${declarations}
async function script() {
  const issue = await tools.github.getIssue({ number: 7 })
  const names: string[] = issue.labels.map((l) => l.name)
  const firstReply: string | undefined = issue.comments[0]?.replies?.[0]?.body
  const parentState: 'open' | 'closed' | undefined = issue.parent?.state
  const open = (await tools.github.listIssues({ state: 'open' })).filter((i) => i.state === 'open')
  const tree = await tools.fs.tree()
  const depth = (e: typeof tree): number => 1 + Math.max(0, ...e.children.map(depth))
  return { names, firstReply, parentState, open: open.length, depth: depth(tree) }
}
// @ts-expect-error state is an enum
tools.github.listIssues({ state: 'merged' })
async function wrong() {
  const issue = await tools.github.getIssue({ number: 1 })
  // @ts-expect-error number is a number
  const n: string = issue.number
  return n
}
export { script, wrong }
`
    expect(typecheck(usage)).toBe('')
  })

  it('the context declaration can be brief or left out; a bad option is a TypeError', () => {
    expect(declarations).toContain('readonly limits: {')
    expect(brief).toContain('declare const context: {')
    expect(brief).not.toContain('readonly limits')
    expect(none).not.toContain('declare const context')
    const h2 = new ScriptHarness({ tools: [] })
    expect(() => h2.describeTools({ context: 'all' as any })).toThrow(/^options\.context: must be one of 'full', 'brief', 'none'$/)
    h2.close()
  })

  it('a returns schema that is not JSON Schema is a TypeError at construction', () => {
    expect(() => new ScriptHarness({ tools: [{ name: 'a', returns: { type: 'no-such-type' }, handler: noop }] })).toThrow(/^options\.tools\[0\]\.returns: is not a valid JSON Schema/)
    expect(() => new ScriptHarness({ tools: [{ name: 'a', returns: 'string' as any, handler: noop }] })).toThrow(/^options\.tools\[0\]\.returns: must be a JSON Schema object or a Standard Schema/)
  })
})

describe('chosen tools and the catalog (for catalogs too large to declare)', () => {
  const tools: ToolDefinition[] = [
    { name: 'gh.issues.list', description: 'List issues.', handler: noop },
    { name: 'gh.issuesArchive', handler: noop },
    { name: 'fs.read', description: 'Read a file.', parameters: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] }, handler: noop },
  ]

  it('describeTools({ tools }) declares the tools named, or under a namespace, and type-checks', () => {
    const h = new ScriptHarness({ tools })
    const one = h.describeTools({ tools: ['fs.read'], context: 'none' })
    expect(one).toContain('read(args: {')
    expect(one).not.toContain('gh')
    const ns = h.describeTools({ tools: ['gh.issues'] })
    expect(ns).toContain('List issues.')
    expect(ns).not.toContain('issuesArchive')
    expect(ns).toContain('declare const context')
    expect(typecheckScript(`${h.describeTools({ tools: ['gh', 'fs.read'] })}\nasync function script() { await tools.fs.read({ path: 'a' }); await tools.gh.issues.list() }\n`)).toBe('')
    expect(h.describeTools({ tools: [], context: 'none' })).toContain('declare const tools: {\n};')
    h.close()
  })

  it('a name that names nothing, or a bad tools option, is a TypeError that quotes it', () => {
    const h = new ScriptHarness({ tools })
    expect(() => h.describeTools({ tools: ['fs.read', 'gh.issues', 'fs'] })).not.toThrow()
    expect(() => h.describeTools({ tools: ['gh.iss', 'nope'] })).toThrow(TypeError)
    expect(() => h.describeTools({ tools: ['gh.iss', 'nope'] })).toThrow(/^options\.tools: no tool or namespace is named "gh\.iss", "nope"$/)
    expect(() => h.describeTools({ tools: 'fs' as any })).toThrow(/^options\.tools: must be an array of tool names or namespaces$/)
    expect(() => h.describeTools({ tools: ['fs', 3] as any })).toThrow(/^options\.tools\[1\]: must be a string$/)
    h.close()
  })

  it('listTools() gives names and descriptions, frozen, the same array until setTools', () => {
    const h = new ScriptHarness({ tools })
    const listed = h.listTools()
    expect(listed).toEqual([{ name: 'gh.issues.list', description: 'List issues.' }, { name: 'gh.issuesArchive' }, { name: 'fs.read', description: 'Read a file.' }])
    expect(Object.isFrozen(listed) && Object.isFrozen(listed[0])).toBe(true)
    expect(h.listTools()).toBe(listed)
    h.setTools(tools.slice(2))
    expect(h.listTools()).not.toBe(listed)
    expect(h.listTools()).toEqual([{ name: 'fs.read', description: 'Read a file.' }])
    h.close()
  })

  it("instructions({ catalog: 'searched' }) declares no tool and sends the model to search_tools", () => {
    const h = new ScriptHarness({ tools })
    const text = h.instructions({ delivery: 'argument', catalog: 'searched' })
    expect(text).toContain('3 tools, not declared here')
    expect(text).toContain('In this catalog: tools.gh (2 tools), tools.fs (1 tool).')
    expect(text).toContain('`tools.*` (find them with the `search_tools` tool and read their declarations with `describe_tools`)')
    expect(text).not.toContain('List issues.')
    expect(h.instructions({ catalog: 'declared' })).toContain('List issues.')
    expect(() => h.instructions({ catalog: 'all' as any })).toThrow(/^options\.catalog: must be one of 'declared', 'searched'$/)
    h.close()
  })
})
