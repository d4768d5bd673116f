// describeTools(): declarations that type-check with tsc and describe the tools exactly.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { ScriptHarness, type ToolDefinition } from '../index.js'
import { tscErrors } from './tools'

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

function typecheck(source: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'describe-'))
  const file = path.join(dir, 'script.ts')
  writeFileSync(file, source)
  return tscErrors(['--noEmit', '--strict', '--target', 'es2022', '--lib', 'es2022', file], dir)
}

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
