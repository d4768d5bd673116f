// mcpTools(): an MCP server's tools as tools.*, through the official SDK
// client and server (in-memory transport).
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js'
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js'
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { ScriptHarness, type ApprovalRequest } from '../index.js'
import { mcpTools, mcpToolSegment } from '../mcp.js'

const cancelled: string[] = []
const deleted: string[] = []

async function connect(setup: (server: McpServer) => void) {
  const server = new McpServer({ name: 'test-server', version: '1.0.0' })
  setup(server)
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair()
  const client = new Client({ name: 'test-client', version: '1.0.0' })
  await Promise.all([server.connect(serverSide), client.connect(clientSide)])
  return { client, server }
}

const { client, server } = await connect((s) => {
  s.registerTool('get-issue', {
    description: 'Fetch one issue',
    inputSchema: { number: z.number().int().min(1) },
    outputSchema: { number: z.number(), title: z.string(), labels: z.array(z.string()) },
    annotations: { readOnlyHint: true },
  }, async ({ number }) => ({
    content: [{ type: 'text', text: `#${number}` }],
    structuredContent: { number, title: `Issue ${number}`, labels: ['bug'] },
  }))
  s.registerTool('search', { description: 'Search', inputSchema: { q: z.string() }, annotations: { readOnlyHint: true } },
    async ({ q }) => ({ content: [{ type: 'text', text: `found ${q}` }, { type: 'text', text: 'second line' }] }))
  s.registerTool('delete_repo', { description: 'Delete a repository', inputSchema: { repo: z.string() }, annotations: { destructiveHint: true } },
    async ({ repo }) => { deleted.push(repo); return { content: [{ type: 'text', text: 'deleted' }] } })
  s.registerTool('fails', { description: 'Always fails', inputSchema: {}, annotations: { readOnlyHint: true } },
    async () => ({ isError: true, content: [{ type: 'text', text: 'rate limited: try again in 30 s' }] }))
  s.registerTool('slow', { description: 'Waits until cancelled', inputSchema: {}, annotations: { readOnlyHint: true } },
    (_args, extra) => new Promise((resolve) => {
      extra.signal.addEventListener('abort', () => { cancelled.push('slow'); resolve({ content: [] }) })
    }))
  s.registerTool('image', { description: 'An image', inputSchema: {}, annotations: { readOnlyHint: true } },
    async () => ({ content: [{ type: 'image', data: 'aGk=', mimeType: 'image/png' }] }))
  s.registerTool('huge', { description: 'Too much', inputSchema: {}, annotations: { readOnlyHint: true } },
    async () => ({ content: [{ type: 'text', text: 'x'.repeat(20 * 1024 * 1024) }] }))
})

const asked: ApprovalRequest[] = []
const tools = await mcpTools(client, { namespace: 'gh' })
const h = new ScriptHarness({ tools, onApproval: (req) => { asked.push(req); return 'approved' } })
afterAll(async () => {
  await h.close()
  await client.close()
  await server.close()
})

describe('mcpTools', () => {
  it('names, descriptions, schemas and approval come from tools/list', () => {
    expect(tools.map((t) => [t.name, t.requiresApproval])).toEqual([
      ['gh.get_issue', false], ['gh.search', false], ['gh.delete_repo', true], ['gh.fails', false], ['gh.slow', false], ['gh.image', false], ['gh.huge', false],
    ])
    expect(tools[0]).toMatchObject({ description: 'Fetch one issue', parameters: { type: 'object', required: ['number'] }, returns: { type: 'object' } })
    const d = h.describeTools({ context: 'none' })
    expect(d).toContain('get_issue(args: {')
    expect(d).toMatch(/\}\): Promise<\{\n\s+number: number;\n\s+title: string;\n\s+labels: Array<string>;\n\s+\}>;/)
  })

  it('structuredContent, text and other content reach the script; arguments are checked before the server sees them', async () => {
    const r = await h.run(`
      const issue = await tools.gh.get_issue({ number: 7 })
      const text = await tools.gh.search({ q: 'crash' })
      const image = await tools.gh.image({})
      return { title: issue.title, text, image }`)
    expect(r.value).toEqual({ title: 'Issue 7', text: 'found crash\nsecond line', image: [{ type: 'image', data: 'aGk=', mimeType: 'image/png' }] })
    const bad = await h.run('return await tools.gh.get_issue({ number: 0 })')
    expect(bad.error?.code).toBe('ToolValidationError')
  })

  it('an oversized result is a ToolExecutionError (maxToolResultBytes), and the harness goes on', async () => {
    const r = await h.run('try { await tools.gh.huge({}) } catch (e) { return [e.name, e.message] }')
    expect(r.value).toEqual(['ToolExecutionError', expect.stringMatching(/maxToolResultBytes/)])
    expect((await h.run('return (await tools.gh.search({ q: "x" })).length')).value).toBeGreaterThan(0)
  })

  it('isError results and protocol errors are ToolExecutionError with the server\'s message', async () => {
    const r = await h.run('try { await tools.gh.fails({}) } catch (e) { return [e.name, e.message] }')
    expect(r.value).toEqual(['ToolExecutionError', 'rate limited: try again in 30 s'])
    const unknown = await mcpTools({ listTools: async () => ({ tools: [{ name: 'gone', inputSchema: { type: 'object' } }] }), callTool: (p: any, _s: any, o: any) => client.callTool(p, undefined, o) } as any, { approval: { gone: false } })
    const h2 = new ScriptHarness({ tools: unknown })
    const e = await h2.run('try { await tools.mcp.gone({}) } catch (e) { return [e.name, e.message] }')
    await h2.close()
    expect(e.value).toEqual(['ToolExecutionError', expect.stringMatching(/gone/)])
  })

  it('a destructive tool waits for approval; cancelling the script cancels its MCP request', async () => {
    const r = await h.run("return await tools.gh.delete_repo({ repo: 'acme/old' })")
    expect(r.value).toBe('deleted')
    expect(asked.map((a) => a.toolName)).toEqual(['gh.delete_repo'])
    expect(deleted).toEqual(['acme/old'])
    const c = new AbortController()
    const running = h.run('await tools.gh.slow({})', { signal: c.signal })
    await new Promise((resolve) => setTimeout(resolve, 50))
    c.abort('user left')
    expect((await running).error?.code).toBe('ScriptCancelledError')
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(cancelled).toEqual(['slow'])
  })

  it('names: non-identifiers mapped deterministically, collisions and bad options are TypeErrors, pages followed', async () => {
    expect(['get-issue', 'v2.search', '3d', 'then', 'ok_name'].map(mcpToolSegment)).toEqual(['get_issue', 'v2_search', '_3d', 'then_', 'ok_name'])
    const schema = { type: 'object' }
    const pages: Record<string, { tools: any[]; nextCursor?: string }> = {
      '': { tools: [{ name: 'a', inputSchema: schema }], nextCursor: 'p2' },
      p2: { tools: [{ name: 'b', inputSchema: schema, annotations: { destructiveHint: false } }] },
    }
    const paged = { listTools: async (p?: { cursor?: string }) => pages[p?.cursor ?? ''], callTool: async () => ({ content: [] }) }
    expect((await mcpTools(paged)).map((t) => [t.name, t.requiresApproval])).toEqual([['mcp.a', true], ['mcp.b', false]])
    expect((await mcpTools(paged, { approval: { a: false } })).map((t) => t.requiresApproval)).toEqual([false, false])
    const colliding = { listTools: async () => ({ tools: [{ name: 'get-x', inputSchema: schema }, { name: 'get.x', inputSchema: schema }] }), callTool: async () => ({}) }
    await expect(mcpTools(colliding)).rejects.toThrow(/"get-x" and "get.x" both become mcp\.get_x/)
    await expect(mcpTools(paged, { namespace: 'bad-name' })).rejects.toThrow(TypeError)
    await expect(mcpTools({} as any)).rejects.toThrow(/^client: must be a connected MCP SDK Client$/)
  })
})

describe('a server whose tool list changes', () => {
  it('onChange hands the new list to harness.setTools: later scripts call the new tools, a running one keeps its own', async () => {
    let release = () => {}
    const upstream = await connect((s) => {
      s.registerTool('ping', { description: 'Ping', inputSchema: {}, annotations: { readOnlyHint: true } }, async () => ({ content: [{ type: 'text', text: 'pong' }] }))
      s.registerTool('hold', { description: 'Waits for the test', inputSchema: {}, annotations: { readOnlyHint: true } },
        () => new Promise((resolve) => { release = () => resolve({ content: [{ type: 'text', text: 'released' }] }) }))
    })
    const changes: string[][] = []
    let harness: ScriptHarness | undefined
    const tools = await mcpTools(upstream.client, {
      namespace: 'live',
      onChange: (next) => {
        changes.push(next.map((t) => t.name))
        harness!.setTools(next)
      },
    })
    harness = new ScriptHarness({ tools })
    expect(harness.describeTools()).not.toContain('echo(')
    // A script that started before the change: it keeps the tools it had.
    const before = harness.run(`const a = await tools.live.hold({})
let e = 'none'
try { await tools.live.echo({ text: 'x' }) } catch (x) { e = x.name }
return [a, Object.keys(tools.live).join(','), e, await tools.live.ping({})]`)
    for (let i = 0; i < 100 && harness.stats().pendingToolCalls === 0; i++) await new Promise((r) => setTimeout(r, 10))

    upstream.server.registerTool('echo', { description: 'Echo', inputSchema: { text: z.string() }, annotations: { readOnlyHint: true } },
      async ({ text }) => ({ content: [{ type: 'text', text }] }))
    for (let i = 0; i < 100 && changes.length === 0; i++) await new Promise((r) => setTimeout(r, 10))
    expect(changes.at(-1)).toEqual(['live.ping', 'live.hold', 'live.echo'])
    expect(harness.describeTools()).toContain('echo(args: {')
    expect(await harness.run("return await tools.live.echo({ text: 'new' })")).toMatchObject({ ok: true, value: 'new' })
    release()
    expect((await before).value).toEqual(['released', 'ping,hold', 'ToolNotFoundError', 'pong'])
    expect(harness.validate('await tools.live.echo({ text: "x" })').unknownTools).toEqual([])

    await harness.close()
    await upstream.client.close()
  })

  it('onChange needs a function and a client that takes notification handlers', async () => {
    const listing = { listTools: async () => ({ tools: [] }), callTool: async () => ({ content: [] }) }
    await expect(mcpTools(listing as any, { onChange: 1 as any })).rejects.toThrow(/^options\.onChange: must be a function$/)
    await expect(mcpTools(listing as any, { onChange: () => {} })).rejects.toThrow(/^options\.onChange: the client has no setNotificationHandler/)
  })
})

describe('a server that goes away', () => {
  it('the call in flight is a ToolExecutionError, the harness goes on, and later calls say the server is gone', async () => {
    const started: string[] = []
    const { client: c2, server: s2 } = await connect((s) => {
      s.registerTool('hang', { description: 'Never answers', inputSchema: {}, annotations: { readOnlyHint: true } }, () => {
        started.push('hang')
        return new Promise(() => {})
      })
    })
    const h3 = new ScriptHarness({ tools: await mcpTools(c2, { namespace: 'dying' }) })
    const running = h3.run('try { await tools.dying.hang({}) } catch (e) { return [e.name, e.message] }')
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(started).toEqual(['hang'])
    await s2.close() // the server's side of the transport closes: the process died
    const r = await running
    expect(r.value).toEqual(['ToolExecutionError', expect.stringMatching(/closed/i)])
    const later = await h3.run('try { await tools.dying.hang({}) } catch (e) { return [e.name, e.message] }')
    expect(later.value).toEqual(['ToolExecutionError', expect.stringMatching(/not connected|closed/i)])
    expect((await h3.run('return 1 + 1')).value).toBe(2)
    await h3.close()
    await c2.close()
  })
})

describe('tools that break the protocol', () => {
  it('are left out and reported; the others are offered', async () => {
    const skipped: Array<[string, string]> = []
    const listing = {
      listTools: async () => ({ tools: [
        { name: 'good', inputSchema: { type: 'object' } },
        { name: 'noSchema' },
        { name: 'arraySchema', inputSchema: { type: 'array' } },
        { name: '', inputSchema: { type: 'object' } },
      ] }),
      callTool: async () => ({ content: [] }),
    }
    const tools = await mcpTools(listing as any, { onSkipped: (t: any, why) => skipped.push([t.name, why]) })
    expect(tools.map((t) => t.name)).toEqual(['mcp.good'])
    expect(skipped.map(([n]) => n)).toEqual(['noSchema', 'arraySchema', ''])
    expect(skipped[1][1]).toMatch(/^its inputSchema is not an object schema/)
  })
})

describe('createCodeModeServer', () => {
  it('serves execute: described by the instructions and the declarations, answering with text and structuredContent', async () => {
    const { createCodeModeServer } = await import('../mcp.js')
    const upstream = await connect((s) => {
      s.registerTool('add', { description: 'Add two numbers', inputSchema: { a: z.number(), b: z.number() }, outputSchema: { sum: z.number() }, annotations: { readOnlyHint: true } },
        async ({ a, b }) => ({ content: [{ type: 'text', text: String(a + b) }], structuredContent: { sum: a + b } }))
      s.registerTool('slow', { description: 'Waits until cancelled', inputSchema: {}, annotations: { readOnlyHint: true } },
        (_args, extra) => new Promise((resolve) => { extra.signal.addEventListener('abort', () => { cancelled.push('upstream slow'); resolve({ content: [] }) }) }))
    })
    const harness = new ScriptHarness({ tools: await mcpTools(upstream.client, { namespace: 'calc' }) })
    const codeServer = createCodeModeServer({ harness })
    const [a, b] = InMemoryTransport.createLinkedPair()
    const user = new Client({ name: 'ide', version: '1.0.0' })
    await Promise.all([codeServer.connect(b), user.connect(a)])

    const { tools: listed } = await user.listTools()
    expect(listed.map((t) => t.name)).toEqual(['execute'])
    expect(listed[0].description).toContain('call this tool with a TypeScript script as its `code` argument')
    expect(listed[0].description).toContain('add(args: {')

    const ok = await user.callTool({ name: 'execute', arguments: { code: "const r = await tools.calc.add({ a: 2, b: 3 }); console.log('added'); return r.sum * 10" } })
    expect(ok).toMatchObject({ isError: false, structuredContent: { ok: true, value: 50, logs: ['added'], toolCalls: [{ tool: 'calc.add', status: 'ok' }] } })
    expect((ok.content as any)[0].text).toBe('50\n\nconsole:\nadded\n\ntool calls: calc.add ok')

    // Console output arrives as log messages; progress and tool calls as
    // progress notifications of the request that asked for them.
    const logged: unknown[] = []
    user.setNotificationHandler(LoggingMessageNotificationSchema, (n) => { logged.push(n.params) })
    const steps: string[] = []
    const withProgress = await user.callTool(
      { name: 'execute', arguments: { code: "console.warn('careful'); context.emitProgress('half way'); return (await tools.calc.add({ a: 1, b: 1 })).sum" } },
      undefined,
      { onprogress: (p) => { steps.push(String(p.message)) } },
    )
    expect(withProgress).toMatchObject({ isError: false, structuredContent: { value: 2 } })
    expect(steps).toEqual(['half way', 'tools.calc.add started', expect.stringMatching(/^tools\.calc\.add ok in \d+ ms$/)])
    expect(logged).toContainEqual({ level: 'warning', logger: 'script', data: 'careful' })

    const bad = await user.callTool({ name: 'execute', arguments: { code: 'const x = 1\nthrow new Error("nope")' } })
    expect(bad).toMatchObject({ isError: true, structuredContent: { ok: false, error: { code: 'ScriptRuntimeError', message: 'Error: nope', line: 2 } } })

    // The client cancels its request: the script and its upstream call are cancelled.
    const c = new AbortController()
    const pending = user.callTool({ name: 'execute', arguments: { code: 'await tools.calc.slow({})' } }, undefined, { signal: c.signal })
    await new Promise((resolve) => setTimeout(resolve, 100))
    c.abort('stop')
    await expect(pending).rejects.toThrow()
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(cancelled).toContain('upstream slow')
    expect(harness.stats()).toMatchObject({ activeScripts: 0, pendingToolCalls: 0 })

    await user.close()
    await harness.close()
    await upstream.client.close()
  })
})

describe('a catalog too large to declare: search_tools and describe_tools', () => {
  // A GitHub-like server: 20 resources × 6 verbs, each with documented arguments.
  const resources = ['issue', 'pull_request', 'repository', 'branch', 'release', 'comment', 'label', 'milestone', 'workflow', 'gist',
    'team', 'project', 'deployment', 'secret', 'webhook', 'discussion', 'package', 'tag', 'commit', 'check_run']
  const verbs = ['create', 'get', 'list', 'update', 'delete', 'search']
  const catalog = resources.flatMap((resource) => verbs.map((verb) => ({
    name: `gh.${verb}_${resource}`,
    description: `${verb[0].toUpperCase()}${verb.slice(1)} ${verb === 'list' || verb === 'search' ? `the ${resource.replace('_', ' ')}s` : `a ${resource.replace('_', ' ')}`} of a GitHub repository.`,
    parameters: {
      type: 'object',
      properties: {
        owner: { type: 'string', description: 'The account that owns the repository.' },
        repo: { type: 'string', description: 'The name of the repository, without its owner.' },
        id: { type: 'integer', description: `The ${resource}'s number or id.` },
        body: { type: 'string', description: 'Markdown text of the change.' },
        perPage: { type: 'integer', minimum: 1, maximum: 100, description: 'How many results per page.' },
      },
      required: ['owner', 'repo'],
    },
    handler: (args: unknown) => ({ tool: `${verb}_${resource}`, args }),
  })))

  async function serve(harness: ScriptHarness, catalog?: 'declared' | 'searched' | 'auto') {
    const { createCodeModeServer } = await import('../mcp.js')
    const server = createCodeModeServer(catalog === undefined ? { harness } : { harness, catalog })
    const [a, b] = InMemoryTransport.createLinkedPair()
    const user = new Client({ name: 'ide', version: '1.0.0' })
    await Promise.all([server.connect(b), user.connect(a)])
    const text = (r: any) => (r.content as any)[0].text as string
    return { server, user, text }
  }

  it('auto: a large catalog is searched; the model finds a tool, reads its declaration and calls it', async () => {
    const harness = new ScriptHarness({ tools: catalog })
    expect(harness.describeTools({ context: 'none' }).length).toBeGreaterThan(32 * 1024)
    const { user, text } = await serve(harness)
    const { tools: listed } = await user.listTools()
    expect(listed.map((t) => t.name)).toEqual(['execute', 'search_tools', 'describe_tools'])
    expect(listed[0].description).toContain('120 tools, not declared here')
    expect(listed[0].description).toContain('In this catalog: tools.gh (120 tools).')
    expect(listed[0].description).not.toContain('create_issue')

    const found = await user.callTool({ name: 'search_tools', arguments: { query: 'create an issue' } })
    expect((found.structuredContent as any).tools[0]).toEqual({ name: 'gh.create_issue', description: 'Create a issue of a GitHub repository.' })
    expect((found.structuredContent as any).tools).toHaveLength(10)
    expect(text(found)).toMatch(/^tools\.gh\.create_issue: Create a issue/)
    // Words of camelCase and snake_case names, a typo, a limit.
    const typo = await user.callTool({ name: 'search_tools', arguments: { query: 'delete pull requst', limit: 3 } })
    expect((typo.structuredContent as any).tools.map((t: any) => t.name)).toEqual(['gh.delete_pull_request', expect.any(String), expect.any(String)])
    const none = await user.callTool({ name: 'search_tools', arguments: { query: 'zzzz qqqq' } })
    expect(none).toMatchObject({ structuredContent: { tools: [] } })
    expect(text(none)).toContain('No tool matches "zzzz qqqq"')

    const declared = await user.callTool({ name: 'describe_tools', arguments: { tools: ['tools.gh.create_issue'] } })
    expect(declared.isError).toBeFalsy()
    expect(text(declared)).toContain('create_issue(args: {')
    expect(text(declared)).toContain('The account that owns the repository.')
    expect(text(declared)).not.toContain('delete_issue')
    expect(text(declared)).not.toContain('declare const context')

    const ran = await user.callTool({ name: 'execute', arguments: { code: "return await tools.gh.create_issue({ owner: 'o', repo: 'r', body: 'hi' })" } })
    expect(ran).toMatchObject({ isError: false, structuredContent: { value: { tool: 'create_issue', args: { owner: 'o', repo: 'r', body: 'hi' } } } })
    await user.close()
    await harness.close()
  })

  it('bad searches and unknown names are errors the model can read; a small catalog declares its tools and serves no search', async () => {
    const harness = new ScriptHarness({ tools: catalog })
    const { user, text } = await serve(harness, 'searched')
    const unknown = await user.callTool({ name: 'describe_tools', arguments: { tools: ['gh.create_issue', 'gh.nope', 'jira'] } })
    expect(unknown.isError).toBe(true)
    expect(text(unknown)).toBe('no tool or namespace is named "gh.nope", "jira": find tools with search_tools')
    for (const args of [{ tools: [] }, { tools: 'gh' }, { tools: [1] }, {}]) {
      expect(await user.callTool({ name: 'describe_tools', arguments: args as any })).toMatchObject({ isError: true })
    }
    for (const args of [{ query: 1 }, { query: 'x', limit: 0 }, { query: 'x', limit: 51 }, { query: 'x', limit: 1.5 }, { query: 'issue '.repeat(200) }]) {
      expect(await user.callTool({ name: 'search_tools', arguments: args as any })).toMatchObject({ isError: true })
    }
    await user.close()

    const small = new ScriptHarness({ tools: catalog.slice(0, 3) })
    const auto = await serve(small)
    const { tools: listed } = await auto.user.listTools()
    expect(listed.map((t) => t.name)).toEqual(['execute'])
    expect(listed[0].description).toContain('create_issue(args: {')
    await expect(auto.user.callTool({ name: 'search_tools', arguments: { query: 'issue' } })).rejects.toThrow(/unknown tool: search_tools/)
    // Forced either way.
    const searched = await serve(small, 'searched')
    expect((await searched.user.listTools()).tools.map((t) => t.name)).toEqual(['execute', 'search_tools', 'describe_tools'])
    const declared = await serve(harness, 'declared')
    expect((await declared.user.listTools()).tools.map((t) => t.name)).toEqual(['execute'])
    const { createCodeModeServer } = await import('../mcp.js')
    expect(() => createCodeModeServer({ harness, catalog: 'some' as any })).toThrow(/^options\.catalog: must be one of 'declared', 'searched', 'auto'$/)
    await Promise.all([auto.user.close(), searched.user.close(), declared.user.close()])
    await small.close()
    await harness.close()
  })

  it('after setTools, the listing and the search follow the new tools', async () => {
    const harness = new ScriptHarness({ tools: catalog })
    const { server, user } = await serve(harness)
    const names = async (query: string) =>
      ((await user.callTool({ name: 'search_tools', arguments: { query, limit: 1 } })).structuredContent as any).tools.map((t: any) => t.name)
    expect(await names('create an issue')).toEqual(['gh.create_issue'])
    harness.setTools([...catalog, { name: 'jira.file_ticket', description: 'File a ticket in Jira.', handler: () => 'filed' }])
    await server.sendToolListChanged()
    expect(await names('jira ticket')).toEqual(['jira.file_ticket'])
    expect((await user.listTools()).tools[0].description).toContain('In this catalog: tools.gh (120 tools), tools.jira (1 tool).')
    // Shrunk below the threshold: declared again, and no search.
    harness.setTools(catalog.slice(0, 2))
    expect((await user.listTools()).tools.map((t) => t.name)).toEqual(['execute'])
    await expect(user.callTool({ name: 'search_tools', arguments: { query: 'issue' } })).rejects.toThrow(/unknown tool/)
    await user.close()
    await harness.close()
  })
})

describe('the script-harness mcp command, over stdio', () => {
  it('serves execute in front of an upstream stdio server; approvals are denied unless --approve', async () => {
    const { StdioClientTransport } = await import('@modelcontextprotocol/sdk/client/stdio.js')
    const bin = path.join(__dirname, '..', 'bin', 'script-harness.js')
    const upstream = path.join(__dirname, 'fixtures', 'mcp', 'upstream.mjs')
    const run = async (extra: string[]) => {
      const user = new Client({ name: 'cli-test', version: '1.0.0' })
      await user.connect(new StdioClientTransport({ command: process.execPath, args: [bin, 'mcp', '--namespace', 'calc', ...extra, '--', process.execPath, upstream], stderr: 'pipe' }))
      const listed = (await user.listTools()).tools.map((t) => t.name)
      const sum = await user.callTool({ name: 'execute', arguments: { code: 'return (await tools.calc.add({ a: 20, b: 22 })).sum' } })
      const wipe = await user.callTool({ name: 'execute', arguments: { code: 'try { return await tools.calc.wipe({}) } catch (e) { return e.name }' } })
      await user.close()
      return [listed.join(' '), (sum.structuredContent as any).value, (wipe.structuredContent as any).value]
    }
    expect(await run([])).toEqual(['execute', 42, 'ApprovalDeniedError'])
    expect(await run(['--approve', '--catalog', 'searched'])).toEqual(['execute search_tools describe_tools', 42, 'wiped'])
  }, 30_000)
})

// Pinned at 2026.1.26, the last release whose package declares its license
// (MIT); later ones say "SEE LICENSE IN LICENSE" and ship none.
describe('a published MCP server (@modelcontextprotocol/server-memory), over stdio', () => {
  const serverMain = path.join(__dirname, '..', 'node_modules', '@modelcontextprotocol', 'server-memory', 'dist', 'index.js')
  const script = `
    await tools.memory.create_entities({ entities: [
      { name: 'parser', entityType: 'module', observations: ['tokenizes input'] },
      { name: 'server', entityType: 'module', observations: [] },
    ] })
    await tools.memory.create_relations({ relations: [{ from: 'server', to: 'parser', relationType: 'uses' }] })
    const graph = await tools.memory.read_graph({})
    return { entities: graph.entities.map((e) => e.name).sort(), relations: graph.relations.length }`

  it('through mcpTools', async () => {
    const { StdioClientTransport } = await import('@modelcontextprotocol/sdk/client/stdio.js')
    const { mkdtempSync, rmSync } = await import('node:fs')
    const { tmpdir } = await import('node:os')
    const memoryFile = path.join(mkdtempSync(path.join(tmpdir(), 'mcp-memory-')), 'memory.jsonl')
    const c = new Client({ name: 'test', version: '1.0.0' })
    await c.connect(new StdioClientTransport({ command: process.execPath, args: [serverMain], env: { MEMORY_FILE_PATH: memoryFile }, stderr: 'pipe' }))
    const tools = await mcpTools(c, { namespace: 'memory', approval: () => false })
    expect(tools.map((t) => t.name)).toContain('memory.create_entities')
    const h4 = new ScriptHarness({ tools })
    expect(h4.describeTools({ context: 'none' })).toContain('create_entities(args: {')
    const r = await h4.run(script)
    expect(r.value).toEqual({ entities: ['parser', 'server'], relations: 1 })
    await h4.close()
    await c.close()
    rmSync(path.dirname(memoryFile), { recursive: true, force: true })
  }, 30_000)

  it('through script-harness mcp', async () => {
    const { StdioClientTransport } = await import('@modelcontextprotocol/sdk/client/stdio.js')
    const { mkdtempSync, rmSync } = await import('node:fs')
    const { tmpdir } = await import('node:os')
    const memoryFile = path.join(mkdtempSync(path.join(tmpdir(), 'mcp-memory-')), 'memory.jsonl')
    const bin = path.join(__dirname, '..', 'bin', 'script-harness.js')
    const user = new Client({ name: 'ide', version: '1.0.0' })
    await user.connect(new StdioClientTransport({
      command: process.execPath,
      args: [bin, 'mcp', '--approve', '--env', 'MEMORY_FILE_PATH', '--namespace', 'memory', '--', process.execPath, serverMain],
      env: { ...(process.env as Record<string, string>), MEMORY_FILE_PATH: memoryFile },
      stderr: 'pipe',
    }))
    const { tools: listed } = await user.listTools()
    expect(listed[0].description).toContain('create_entities(args: {')
    const r = await user.callTool({ name: 'execute', arguments: { code: script } })
    expect(r.structuredContent).toMatchObject({ ok: true, value: { entities: ['parser', 'server'], relations: 1 } })
    await user.close()
    rmSync(path.dirname(memoryFile), { recursive: true, force: true })
  }, 30_000)
})

describe('what a hostile upstream server or a clumsy host cannot do', () => {
  const schema = { type: 'object' }
  it('a listing of empty pages without end is stopped; so is a cursor that is not a short string', async () => {
    let pages = 0
    const endless = { listTools: async () => ({ tools: [], nextCursor: `c${++pages}` }), callTool: async () => ({ content: [] }) }
    await expect(mcpTools(endless)).rejects.toThrow(/the server's listing goes on past 1000 pages/)
    expect(pages).toBe(1000)
    const long = { listTools: async () => ({ tools: [], nextCursor: 'c'.repeat(5000) }), callTool: async () => ({ content: [] }) }
    await expect(mcpTools(long)).rejects.toThrow(/page cursor is not a string of at most 4096 characters/)
  })

  it('search_tools: a long run of capitals is indexed in one pass; a query of repeated words is searched once per word; no half surrogate', async () => {
    const { createCodeModeServer } = await import('../mcp.js')
    const tools = [
      { name: 'doc.parseHTMLDoc', description: 'A'.repeat(200_000), handler: () => null },
      { name: 'doc.emoji', description: `${'x'.repeat(299)}😀 and more`, handler: () => null },
      ...Array.from({ length: 50 }, (_, i) => ({ name: `doc.t${i}`, description: `tool number ${i}`, handler: () => null })),
    ]
    const harness = new ScriptHarness({ tools })
    const server = createCodeModeServer({ harness, catalog: 'searched' })
    const [a, b] = InMemoryTransport.createLinkedPair()
    const user = new Client({ name: 'ide', version: '1.0.0' })
    await Promise.all([server.connect(b), user.connect(a)])
    const names = async (query: string, limit = 1) =>
      ((await user.callTool({ name: 'search_tools', arguments: { query, limit } })).structuredContent as any).tools as { name: string; description?: string }[]
    expect((await names('html doc')).map((t) => t.name)).toEqual(['doc.parseHTMLDoc'])
    expect((await names('number 7 '.repeat(100), 50)).map((t) => t.name)[0]).toBe('doc.t7')
    const [emoji] = await names('emoji')
    expect(emoji.description).toBe(`${'x'.repeat(299)}…`)
    expect(emoji.description!.isWellFormed()).toBe(true)
    const unknown = await user.callTool({ name: 'describe_tools', arguments: { tools: ['n'.repeat(300)] } })
    expect(unknown).toMatchObject({ isError: true, content: [{ text: 'tools[0]: a tool name is at most 256 characters' }] })
    await harness.close()
    // A closed harness: execute says so as an error result.
    expect(await user.callTool({ name: 'execute', arguments: { code: 'return 1' } })).toMatchObject({ isError: true, content: [{ text: expect.stringMatching(/closed/) }] })
    await user.close()
  })

  it('a tool named after an Object.prototype member works and breaks no other script', async () => {
    const names = ['isPrototypeOf', 'propertyIsEnumerable', '__defineGetter__', '__lookupSetter__', 'hasOwnProperty', 'toString', 'valueOf']
    const listing = { listTools: async () => ({ tools: names.map((name) => ({ name, inputSchema: schema, annotations: { readOnlyHint: true } })) }), callTool: async (p: any) => ({ content: [{ type: 'text', text: p.name }] }) }
    const h5 = new ScriptHarness({ tools: [...(await mcpTools(listing)), ...(await mcpTools(listing, { namespace: 'isPrototypeOf' }))] })
    expect((await h5.run('return 1 + 1')).value).toBe(2)
    expect((await h5.run('return [await tools.mcp.isPrototypeOf({}), await tools.isPrototypeOf.__defineGetter__({})]')).value).toEqual(['isPrototypeOf', '__defineGetter__'])
    await h5.close()
  })

  it('a listing without end stops at maxTools; a schema the engine cannot compile leaves out only that tool', async () => {
    let page = 0
    const endless = { listTools: async () => ({ tools: [{ name: `t${page}`, inputSchema: schema }], nextCursor: String(++page) }), callTool: async () => ({}) }
    await expect(mcpTools(endless, { maxTools: 50 })).rejects.toThrow(/more than 50 tools \(options\.maxTools\)/)
    const skipped: string[] = []
    const mixed = { listTools: async () => ({ tools: [
      { name: 'good', inputSchema: schema },
      { name: 'bogus', inputSchema: { type: 'object', properties: { a: { type: 'bogus' } } } },
      { name: 'badRegex', inputSchema: { type: 'object', properties: { a: { type: 'string', pattern: '(' } } } },
    ] }), callTool: async () => ({}) }
    const tools = await mcpTools(mixed, { onSkipped: (t: any, why) => skipped.push(`${t.name}: ${why}`) })
    expect(tools.map((t) => t.name)).toEqual(['mcp.good'])
    expect(skipped).toHaveLength(2)
    expect(skipped[0]).toMatch(/^bogus: its inputSchema is not a valid JSON Schema/)
    const h6 = new ScriptHarness({ tools })
    await h6.close()
  })

  it('the command exits when its client closes stdin, closing its upstream server', async () => {
    const { spawn } = await import('node:child_process')
    const bin = path.join(__dirname, '..', 'bin', 'script-harness.js')
    const upstream = path.join(__dirname, 'fixtures', 'mcp', 'upstream.mjs')
    const child = spawn(process.execPath, [bin, 'mcp', '--', process.execPath, upstream], { stdio: ['pipe', 'pipe', 'pipe'] })
    child.stdin.write(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } }) + '\n')
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()))
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    child.stdin.end()
    const code = await Promise.race([exited, new Promise<string>((resolve) => setTimeout(() => resolve('still running'), 5000))])
    if (code === 'still running') child.kill('SIGKILL')
    expect(code).toBe(0)
  }, 20_000)

  it("a refresh the harness refuses leaves that server's tools as they were, and other servers' refreshes still land", async () => {
    const { StdioClientTransport } = await import('@modelcontextprotocol/sdk/client/stdio.js')
    const bin = path.join(__dirname, '..', 'bin', 'script-harness.js')
    const growing = path.join(__dirname, 'fixtures', 'mcp', 'growing.mjs')
    const user = new Client({ name: 'cli-test', version: '1.0.0' })
    // Server a's new tool `x` would collide with server a.x's namespace.
    await user.connect(new StdioClientTransport({
      command: process.execPath,
      args: [bin, 'mcp', '--catalog', 'declared', '--server', `a=${process.execPath} ${growing} z,grow x`, '--server', `a.x=${process.execPath} ${growing} y,grow_b y2`],
      stderr: 'pipe',
    }))
    const run = async (code: string) => ((await user.callTool({ name: 'execute', arguments: { code } })).structuredContent as any).value
    expect(await run('return context.tools')).toEqual(['a.z', 'a.grow', 'a.x.y', 'a.x.grow_b'])
    await run('return await tools.a.grow()')
    await run('return await tools.a.x.grow_b()')
    let tools: string[] = []
    for (let i = 0; i < 100 && !tools.includes('a.x.y2'); i++) {
      await new Promise((r) => setTimeout(r, 50))
      tools = await run('return context.tools')
    }
    expect(tools).toEqual(['a.z', 'a.grow', 'a.x.y', 'a.x.grow_b', 'a.x.y2'])
    await user.close()
  }, 30_000)

  it('bad command lines exit with a message', async () => {
    const { spawnSync } = await import('node:child_process')
    const bin = path.join(__dirname, '..', 'bin', 'script-harness.js')
    for (const [args, message] of [
      [['mcp'], /no upstream server/],
      [['mcp', '--namespace', 'x', '--server', 'a=node x.js'], /--namespace names the server given after --/],
      [['serve'], /unknown command: serve/],
      [['mcp', '--server', 'nocommand'], /expected <ns>=<command line>/],
      [['mcp', '--catalog', 'all', '--', 'node', 'x.js'], /--catalog is one of declared, searched, auto/],
      [['mcp', '--server', 'a=node x.js', '--server', 'a=node y.js'], /--server a: the namespace is given twice/],
      [['mcp', '--server', 'mcp=node x.js', '--', 'node', 'y.js'], /--namespace mcp: the namespace of a --server too/],
    ] as const) {
      const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 10_000 })
      expect(r.status, args.join(' ')).toBe(2)
      expect(r.stderr).toMatch(message)
    }
  })
})
