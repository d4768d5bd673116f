// `@codex-port/script-harness/mcp`: the tools of a connected MCP server as
// script-harness tools, and the harness served as an MCP code-mode server.
// It loads nothing of the MCP SDK until `createCodeModeServer` is called: it
// works on the `Client` the host made (the SDK is an optional peer
// dependency), and the main entry never loads this module.
import type { Server } from '@modelcontextprotocol/sdk/server/index.js'
import type { ServerNotification } from '@modelcontextprotocol/sdk/types.js'
import { checkToolSchema, type HarnessEvent, type ScriptHarness, type ScriptResult, type ToolDefinition, type ToolSummary } from './index.js'
import { ToolSearch } from './search.js'

/** The part of the MCP SDK's `Client` that `mcpTools` uses. */
export interface McpClientLike {
  listTools(params?: { cursor?: string }): Promise<{ tools: McpToolInfo[]; nextCursor?: string }>
  callTool(
    params: { name: string; arguments?: Record<string, unknown> },
    resultSchema?: undefined,
    options?: { signal?: AbortSignal },
  ): Promise<unknown>
  /** The SDK's; needed only for `onChange`. */
  setNotificationHandler?(schema: unknown, handler: (notification: unknown) => void | Promise<void>): void
}

/** A tool as `tools/list` describes it. */
export interface McpToolInfo {
  name: string
  title?: string
  description?: string
  inputSchema: object
  outputSchema?: object
  annotations?: { title?: string; readOnlyHint?: boolean; destructiveHint?: boolean; idempotentHint?: boolean; openWorldHint?: boolean }
}

export interface McpToolsOptions {
  /** Where the tools go under `tools.*`: dotted identifiers. Default `'mcp'`. */
  namespace?: string
  /** Whether a call waits for `onApproval`, per MCP tool name, or as a function of the tool (`undefined`: use its
   *  annotations). By default a read-only tool does not wait, and any other waits unless it is declared
   *  `destructiveHint: false`. */
  approval?: Record<string, boolean> | ((tool: McpToolInfo) => boolean | undefined)
  /** Told of each tool left out because its description breaks the protocol's rules (no name, an `inputSchema` or
   *  `outputSchema` that is not an object schema). Default: a process warning (`McpToolSkipped`). */
  onSkipped?: (tool: unknown, reason: string) => void
  /** The most tools read from the server (all pages together); past it, `mcpTools` rejects. Default 1000. */
  maxTools?: number
  /** Called with the server's tools, read again as `mcpTools` reads them, each time the server says its list changed
   *  (`notifications/tools/list_changed`): hand them to `harness.setTools`. It becomes the client's handler of that
   *  notification. A list that cannot be read again is reported as a process warning (`McpToolsRefreshFailed`), and
   *  the tools stay as they were. Requires the SDK's `Client` (its `setNotificationHandler`). */
  onChange?: (tools: ToolDefinition[]) => void
}

/** A tools/call request's own timeout: a day, so the script's limit governs. */
const CALL_TIMEOUT_MS = 24 * 60 * 60 * 1000

/** Names the engine reserves in a tool path (see `tools.rs`). */
const RESERVED = new Set(['__proto__', 'constructor', 'prototype', 'then', 'toJSON'])
const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/

/**
 * The path segment an MCP tool name becomes (see `mcpTools`). MCP names may
 * hold `-`, `.` and other characters a path segment cannot: each such
 * character becomes `_`, a leading digit gets a `_` before it, and a
 * reserved name gets one after it. `get-issue` → `get_issue`, `v2.search` →
 * `v2_search`, `3d` → `_3d`.
 */
export function mcpToolSegment(name: string): string {
  let s = String(name).replace(/[^A-Za-z0-9_$]/g, '_')
  if (!/^[A-Za-z_$]/.test(s)) s = `_${s}`
  if (RESERVED.has(s)) s = `${s}_`
  return s
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v)

/** Why `tool` cannot be offered, or undefined. MCP requires a name and an `inputSchema` that is an object schema. */
function problemOf(tool: unknown): string | undefined {
  if (!isPlainObject(tool) || typeof tool.name !== 'string' || tool.name === '') return 'it has no name'
  if (!isPlainObject(tool.inputSchema) || tool.inputSchema.type !== 'object') {
    return `its inputSchema is not an object schema (${JSON.stringify(tool.inputSchema)?.slice(0, 200)})`
  }
  if (tool.outputSchema !== undefined && (!isPlainObject(tool.outputSchema) || tool.outputSchema.type !== 'object')) {
    return 'its outputSchema is not an object schema'
  }
  // The engine's own check: one schema it cannot compile would otherwise
  // fail the whole harness.
  for (const [field, schema] of [['inputSchema', tool.inputSchema], ['outputSchema', tool.outputSchema]] as const) {
    if (schema === undefined) continue
    let json: string
    try {
      json = JSON.stringify(schema)
    } catch (e) {
      return `its ${field} cannot be read (${e instanceof Error ? e.message : String(e)})`
    }
    const problem = checkToolSchema(json)
    if (problem !== null) return `its ${field} ${problem}`
  }
  return undefined
}

function warnSkipped(tool: unknown, why: string): void {
  process.emitWarning(`mcpTools: left out the MCP tool ${JSON.stringify((tool as { name?: unknown } | null)?.name)}: ${why}`, 'McpToolSkipped')
}

/** The most pages one listing follows: a server that pages empty lists without end is stopped here. */
const MAX_LIST_PAGES = 1000
/** The longest page cursor taken. */
const MAX_CURSOR_CHARS = 4096

/** Every tool of the server, following `nextCursor` pages. */
async function listAllTools(client: McpClientLike, maxTools: number): Promise<unknown[]> {
  const tools: unknown[] = []
  let cursor: string | undefined
  const seen = new Set<string>()
  let pages = 0
  do {
    if (++pages > MAX_LIST_PAGES) throw new Error(`mcpTools: the server's listing goes on past ${MAX_LIST_PAGES} pages`)
    const page = await client.listTools(cursor === undefined ? {} : { cursor })
    tools.push(...(Array.isArray(page?.tools) ? page.tools : []))
    // A server that lists without end (new cursors, or a huge catalog)
    // would hold the host: past `maxTools`, stop and say so.
    if (tools.length > maxTools) {
      throw new Error(`mcpTools: the server lists more than ${maxTools} tools (options.maxTools); raise it if that is expected`)
    }
    cursor = page.nextCursor
    if (cursor !== undefined && (typeof cursor !== 'string' || cursor.length > MAX_CURSOR_CHARS)) {
      throw new Error(`mcpTools: the server's page cursor is not a string of at most ${MAX_CURSOR_CHARS} characters`)
    }
    // A server that hands the same cursor back would page forever.
    if (cursor !== undefined && seen.has(cursor)) throw new Error(`mcpTools: the server repeated the page cursor ${JSON.stringify(cursor)}`)
    if (cursor !== undefined) seen.add(cursor)
  } while (cursor !== undefined)
  return tools
}

interface CallResult {
  content?: unknown
  structuredContent?: unknown
  isError?: unknown
}

/**
 * What a script gets from a `tools/call` result: `structuredContent` when
 * the server sent it; otherwise the text of its text parts, joined with a
 * newline, when it has only text; otherwise the content parts as they are.
 * A result with `isError` throws its text, so the script sees a
 * `ToolExecutionError` with the server's message.
 */
function valueOf(result: CallResult | undefined, toolName: string): unknown {
  const content: Array<{ type?: unknown; text?: unknown } | undefined> = Array.isArray(result?.content) ? result.content : []
  const text = content.filter((c) => c?.type === 'text').map((c) => String(c?.text)).join('\n')
  if (result?.isError === true) throw new Error(text || `the MCP tool ${toolName} reported an error`)
  if (result?.structuredContent !== undefined) return result.structuredContent
  if (content.every((c) => c?.type === 'text')) return text
  return content
}

/**
 * Whether a call of `tool` waits for `onApproval`: `options.approval`'s
 * answer for it when given, else what its annotations say. A read-only
 * tool does not wait; any other waits unless it is declared not
 * destructive (MCP's defaults: `readOnlyHint: false`, `destructiveHint: true`).
 */
function approvalOf(tool: McpToolInfo, approval: McpToolsOptions['approval']): boolean {
  if (typeof approval === 'function') {
    const answer = approval(tool)
    if (typeof answer === 'boolean') return answer
  } else if (approval !== undefined && typeof approval === 'object' && typeof approval[tool.name] === 'boolean') {
    return approval[tool.name]
  }
  const a = tool.annotations ?? {}
  if (a.readOnlyHint === true) return false
  return a.destructiveHint !== false
}

/**
 * Every tool of the server `client` is connected to (all pages of `tools/list`), as a `ToolDefinition` named
 * `<namespace>.<segment>`: the MCP name with each character a path cannot hold made `_` (`get-issue` →
 * `get_issue`), a leading digit prefixed with `_`, and a reserved name (`then`, `constructor`, ...) suffixed
 * with `_`. Two tools that become the same name are a `TypeError`. `inputSchema` is the tool's `parameters`
 * (arguments are checked before the server sees them) and `outputSchema` its `returns`. The handler calls
 * `tools/call` with the call's `AbortSignal`, and gives the script `structuredContent` when the server sent
 * it, else the text of an all-text result (parts joined by newlines), else the content parts; an `isError`
 * result or a protocol error is a `ToolExecutionError` with the server's message.
 */
export async function mcpTools(client: McpClientLike, options: McpToolsOptions = {}): Promise<ToolDefinition[]> {
  if (client === null || typeof client !== 'object' || typeof client.listTools !== 'function' || typeof client.callTool !== 'function') {
    throw new TypeError('client: must be a connected MCP SDK Client')
  }
  if (options === null || typeof options !== 'object') throw new TypeError('options: must be an object')
  const { namespace = 'mcp', approval, onSkipped = warnSkipped, maxTools = 1000, onChange } = options
  if (!Number.isInteger(maxTools) || maxTools < 1) throw new TypeError('options.maxTools: must be a positive integer')
  if (typeof namespace !== 'string' || !namespace.split('.').every((s) => IDENTIFIER.test(s) && !RESERVED.has(s))) {
    throw new TypeError(`options.namespace: must be identifiers separated by dots, like 'mcp.github', got ${JSON.stringify(namespace)}`)
  }
  if (approval !== undefined && typeof approval !== 'function' && (approval === null || typeof approval !== 'object')) {
    throw new TypeError('options.approval: must be an object of tool names to booleans, or a function')
  }
  if (typeof onSkipped !== 'function') throw new TypeError('options.onSkipped: must be a function')
  if (onChange !== undefined && typeof onChange !== 'function') throw new TypeError('options.onChange: must be a function')
  if (onChange !== undefined && typeof client.setNotificationHandler !== 'function') {
    throw new TypeError('options.onChange: the client has no setNotificationHandler (use the MCP SDK Client)')
  }
  const read = async () => definitionsOf(client, await listAllTools(client, maxTools), namespace, approval, onSkipped)
  const tools = await read()
  if (onChange !== undefined) watchToolList(client, read, onChange)
  return tools
}

/** The tools of a listing as tool definitions (see `mcpTools`). */
function definitionsOf(
  client: McpClientLike,
  listed: unknown[],
  namespace: string,
  approval: McpToolsOptions['approval'],
  onSkipped: (tool: unknown, reason: string) => void,
): ToolDefinition[] {
  // A tool whose description breaks the protocol's rules is left out and
  // reported, not a reason to refuse the server's other tools.
  const tools = listed.filter((tool): tool is McpToolInfo => {
    const why = problemOf(tool)
    if (why !== undefined) onSkipped(tool, why)
    return why === undefined
  })
  const bySegment = new Map<string, string>()
  return tools.map((tool) => {
    const segment = mcpToolSegment(tool.name)
    const other = bySegment.get(segment)
    if (other !== undefined) {
      throw new TypeError(`mcpTools: the MCP tools ${JSON.stringify(other)} and ${JSON.stringify(tool.name)} both become ${namespace}.${segment}`)
    }
    bySegment.set(segment, tool.name)
    const definition: ToolDefinition = {
      name: `${namespace}.${segment}`,
      requiresApproval: approvalOf(tool, approval),
      handler: async (args, ctx) => {
        // The call's signal cancels the request: the server is told
        // (notifications/cancelled) when the script is cancelled or ends.
        // The script's own time limit bounds the call; the SDK's default
        // request timeout (60 s) would cut a long tool short of it.
        const callOptions = { signal: ctx.signal, timeout: CALL_TIMEOUT_MS }
        const result = await client.callTool({ name: tool.name, arguments: (args ?? {}) as Record<string, unknown> }, undefined, callOptions)
        return valueOf(result as CallResult | undefined, tool.name)
      },
    }
    const description = tool.description ?? tool.title ?? tool.annotations?.title
    if (typeof description === 'string') definition.description = description
    if (tool.inputSchema !== null && typeof tool.inputSchema === 'object') definition.parameters = tool.inputSchema
    if (tool.outputSchema !== null && typeof tool.outputSchema === 'object') definition.returns = tool.outputSchema
    return definition
  })
}

/**
 * Reads the list again on each `notifications/tools/list_changed` and hands
 * it to `onChange`. Notifications that come while a read is under way are
 * folded into one more read after it, so `onChange` sees the lists in
 * order and the last one is the server's last.
 */
function watchToolList(client: McpClientLike, read: () => Promise<ToolDefinition[]>, onChange: (tools: ToolDefinition[]) => void): void {
  const { ToolListChangedNotificationSchema } = require('@modelcontextprotocol/sdk/types.js') as typeof import('@modelcontextprotocol/sdk/types.js')
  let reading = false
  let again = false
  const refresh = async () => {
    if (reading) {
      again = true
      return
    }
    reading = true
    try {
      do {
        again = false
        try {
          onChange(await read())
        } catch (e) {
          process.emitWarning(`mcpTools: the server's changed tool list could not be used: ${e instanceof Error ? e.message : String(e)}`, 'McpToolsRefreshFailed')
        }
      } while (again)
    } finally {
      reading = false
    }
  }
  client.setNotificationHandler!(ToolListChangedNotificationSchema, () => {
    void refresh()
  })
}

// ---------------------------------------------------------------------------
// The harness served as an MCP code-mode server: one tool, `execute`, whose
// description teaches the sandbox and declares the harness's tools.

export interface CodeModeServerOptions {
  /** The harness whose scripts `execute` runs (its tools are what scripts may call). */
  harness: ScriptHarness
  /** The server's name and version in `initialize`. Default `'script-harness'` and this package's version. */
  name?: string
  version?: string
  /** How much of `context` the tool's description declares (see `instructions()`). Default `'brief'`. */
  context?: 'full' | 'brief' | 'none'
  /** Whether `execute`'s description declares every tool (`'declared'`), or the server offers `search_tools` and
   *  `describe_tools` for the model to find tools and read their declarations (`'searched'`). Default `'auto'`:
   *  searched when the declarations of all the tools would exceed 32 KB (`SEARCHED_CATALOG_BYTES`). */
  catalog?: 'declared' | 'searched' | 'auto'
}

/** Past this size of the tools' declarations, an `'auto'` catalog is searched. About 8,000 tokens. */
export const SEARCHED_CATALOG_BYTES = 32 * 1024

/** The most tools one `search_tools` answer lists, and its default. */
const MAX_SEARCH_RESULTS = 50
const DEFAULT_SEARCH_RESULTS = 10
/** The most names one `describe_tools` call may ask for. */
const MAX_DESCRIBED = 50
/** The longest name `describe_tools` takes (an unknown one is quoted back). */
const MAX_NAME_CHARS = 256
/** The longest query `search_tools` takes, in characters: a search is words, not a document. */
const MAX_QUERY_CHARS = 1000
/** A description longer than this is cut in a search answer (`describe_tools` gives it whole). */
const SEARCH_DESCRIPTION_CHARS = 300

/** What `execute` returns as `structuredContent`. */
export interface ExecuteResult {
  ok: boolean
  value?: unknown
  error?: { code: string; message: string; line?: number }
  logs: string[]
  toolCalls: Array<{ tool: string; status: string }>
}

/** The JSON Schema of `execute`'s structured result. */
const EXECUTE_OUTPUT_SCHEMA = {
  type: 'object' as const,
  properties: {
    ok: { type: 'boolean' },
    value: { description: 'What the script returned (absent when it returned nothing or failed).' },
    error: {
      type: 'object',
      properties: { code: { type: 'string' }, message: { type: 'string' }, line: { type: 'integer' } },
      required: ['code', 'message'],
    },
    logs: { type: 'array', items: { type: 'string' } },
    toolCalls: {
      type: 'array',
      items: { type: 'object', properties: { tool: { type: 'string' }, status: { type: 'string' } }, required: ['tool', 'status'] },
    },
  },
  required: ['ok', 'logs', 'toolCalls'],
}

/** What `execute` answers for a `ScriptResult`. */
function executeResult(r: ScriptResult) {
  const structured: ExecuteResult = {
    ok: r.ok,
    logs: r.logs.map((l) => (l.level === 'log' ? l.message : `[${l.level}] ${l.message}`)),
    toolCalls: r.toolCalls.map((c) => ({ tool: c.toolName, status: c.status })),
  }
  if (r.ok && r.value !== undefined) structured.value = r.value
  if (!r.ok && r.error !== undefined) {
    structured.error = { code: r.error.code, message: r.error.message }
    if (r.error.line !== undefined) structured.error.line = r.error.line
  }
  const head = r.ok
    ? r.value === undefined ? 'The script returned nothing.' : JSON.stringify(r.value)
    : `${r.error?.code}${r.error?.line !== undefined ? ` at line ${r.error.line}` : ''}: ${r.error?.message}`
  const logs = structured.logs.length > 0 ? `\n\nconsole:\n${structured.logs.join('\n')}` : ''
  const calls = structured.toolCalls.length > 0 ? `\n\ntool calls: ${structured.toolCalls.map((c) => `${c.tool} ${c.status}`).join(', ')}` : ''
  return { content: [{ type: 'text' as const, text: head + logs + calls }], structuredContent: { ...structured }, isError: !r.ok }
}

/**
 * An MCP server (the SDK's `Server`, not yet connected) with one tool, `execute` (`{ code: string }`), that runs
 * the code as a script in `harness`. Its description is `harness.instructions({ delivery: 'argument' })`: the
 * sandbox's rules, its limits and the declarations of the harness's tools. It answers with the result as text and
 * as `structuredContent` (`ExecuteResult`), `isError` when the script failed; the client's cancellation cancels
 * the script. Connect it to a transport: `await server.connect(new StdioServerTransport())`. After
 * `harness.setTools(...)`, call `server.sendToolListChanged()`: clients list the tools again and get the new
 * declarations. Requires `@modelcontextprotocol/sdk`.
 */
export function createCodeModeServer(options: CodeModeServerOptions): Server {
  if (options === null || typeof options !== 'object') throw new TypeError('options: must be an object')
  const { harness, name = 'script-harness', version = packageVersion(), context = 'brief', catalog = 'auto' } = options
  if (harness === null || typeof harness !== 'object' || typeof harness.run !== 'function' || typeof harness.instructions !== 'function') {
    throw new TypeError('options.harness: must be a ScriptHarness')
  }
  if (!['full', 'brief', 'none'].includes(context)) throw new TypeError("options.context: must be one of 'full', 'brief', 'none'")
  if (!['declared', 'searched', 'auto'].includes(catalog)) throw new TypeError("options.catalog: must be one of 'declared', 'searched', 'auto'")
  // Loaded here, and only here: the SDK is an optional peer dependency.
  const { Server } = require('@modelcontextprotocol/sdk/server/index.js') as typeof import('@modelcontextprotocol/sdk/server/index.js')
  const { CallToolRequestSchema, ListToolsRequestSchema, McpError, ErrorCode } =
    require('@modelcontextprotocol/sdk/types.js') as typeof import('@modelcontextprotocol/sdk/types.js')
  // The tools may change (`harness.setTools`): the description is written
  // for each listing, and the server says when to list again.
  const server = new Server({ name, version }, { capabilities: { tools: { listChanged: true }, logging: {} } })
  const catalogs = catalogView(harness, catalog)
  server.setRequestHandler(ListToolsRequestSchema, async () => {
    const searched = catalogs.current().searched
    const execute = {
      name: 'execute',
      description: harness.instructions({ delivery: 'argument', context, catalog: searched ? 'searched' : 'declared' }),
      inputSchema: {
        type: 'object' as const,
        properties: { code: { type: 'string', description: 'A TypeScript script: the body of an async function (top-level await; return the result).' } },
        required: ['code'],
        additionalProperties: false,
      },
      outputSchema: EXECUTE_OUTPUT_SCHEMA,
      annotations: { title: 'Run a script that calls the tools', openWorldHint: true },
    }
    return { tools: searched ? [execute, SEARCH_TOOLS, DESCRIBE_TOOLS] : [execute] }
  })
  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const args = request.params.arguments ?? {}
    switch (request.params.name) {
      case 'execute': {
        const code = args.code
        if (typeof code !== 'string') return textResult('code: must be a string', true)
        // The client's cancellation (notifications/cancelled) aborts this
        // signal: the script, and its calls of upstream tools, are cancelled.
        // Its events reach the client as it runs: console output as log
        // messages, progress and tool calls as progress notifications (when the
        // request asked for them with a progress token).
        const onEvent = eventForwarder(extra.sendNotification, request.params._meta?.progressToken)
        let result: ScriptResult
        try {
          result = await harness.run(code, { signal: extra.signal, onEvent })
        } catch (e) {
          // The harness is closed: the model reads why, as from any failed script.
          return textResult(e instanceof Error ? e.message : String(e), true)
        }
        return executeResult(result)
      }
      case 'search_tools': {
        const view = catalogs.current()
        if (!view.searched) break
        return searchResult(view, args)
      }
      case 'describe_tools': {
        if (!catalogs.current().searched) break
        return describeResult(harness, args)
      }
    }
    throw new McpError(ErrorCode.InvalidParams, `unknown tool: ${request.params.name}`)
  })
  return server
}

/** What a listing or a search works from: the harness's tools as they are now. */
interface CatalogView {
  tools: readonly ToolSummary[]
  searched: boolean
  search: ToolSearch | undefined
}

/**
 * The harness's catalog, and whether it is searched, worked out again only
 * when the tools changed (`listTools()` returns a new array then). The
 * search index is built on the first search of each catalog.
 */
function catalogView(harness: ScriptHarness, catalog: 'declared' | 'searched' | 'auto'): { current(): CatalogView & { index(): ToolSearch } } {
  let view: CatalogView | undefined
  return {
    current() {
      const tools = harness.listTools()
      if (view?.tools !== tools) {
        const searched =
          catalog === 'searched' || (catalog === 'auto' && Buffer.byteLength(harness.describeTools({ context: 'none' })) > SEARCHED_CATALOG_BYTES)
        view = { tools, searched, search: undefined }
      }
      const v = view
      return { ...v, index: () => (v.search ??= new ToolSearch(v.tools)) }
    },
  }
}

const SEARCH_TOOLS = {
  name: 'search_tools',
  description:
    'Find the tools a script can call, by what they do: a ranked search over their names and descriptions. ' +
    'Then read the declarations of the ones you need with describe_tools, and call them from execute as tools.<name>(args).',
  inputSchema: {
    type: 'object' as const,
    properties: {
      query: { type: 'string', maxLength: MAX_QUERY_CHARS, description: 'Words about the task or the tool: "create issue", "read file".' },
      limit: { type: 'integer', minimum: 1, maximum: MAX_SEARCH_RESULTS, description: `The most tools to list (default ${DEFAULT_SEARCH_RESULTS}).` },
    },
    required: ['query'],
    additionalProperties: false,
  },
  outputSchema: {
    type: 'object' as const,
    properties: {
      tools: {
        type: 'array',
        items: { type: 'object', properties: { name: { type: 'string' }, description: { type: 'string' } }, required: ['name'] },
      },
    },
    required: ['tools'],
  },
  annotations: { title: 'Search the tools', readOnlyHint: true },
}

const DESCRIBE_TOOLS = {
  name: 'describe_tools',
  description:
    'The TypeScript declarations of chosen tools: their arguments, result types and documentation, as a script calls them ' +
    '(tools.<name>(args)). Give tool names as search_tools lists them, or a namespace for all of its tools.',
  inputSchema: {
    type: 'object' as const,
    properties: {
      tools: { type: 'array', items: { type: 'string' }, minItems: 1, maxItems: MAX_DESCRIBED, description: 'Tool names or namespaces: "gh.create_issue", "gh".' },
    },
    required: ['tools'],
    additionalProperties: false,
  },
  annotations: { title: 'Declare tools', readOnlyHint: true },
}

/** `text`'s first `n` UTF-16 units, never half of a surrogate pair. */
function cut(text: string, n: number): string {
  const code = text.charCodeAt(n - 1)
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? n - 1 : n)
}

function textResult(text: string, isError = false) {
  return isError ? { content: [{ type: 'text' as const, text }], isError: true } : { content: [{ type: 'text' as const, text }] }
}

/** `search_tools`: the ranked tools as text (one per line) and as `structuredContent`. */
function searchResult(view: CatalogView & { index(): ToolSearch }, args: Record<string, unknown>) {
  const { query, limit = DEFAULT_SEARCH_RESULTS } = args
  if (typeof query !== 'string') return textResult('query: must be a string', true)
  if (query.length > MAX_QUERY_CHARS) return textResult(`query: must be at most ${MAX_QUERY_CHARS} characters`, true)
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > MAX_SEARCH_RESULTS) {
    return textResult(`limit: must be an integer from 1 to ${MAX_SEARCH_RESULTS}`, true)
  }
  const tools = view.index().search(query, limit).map((t) =>
    t.description !== undefined && t.description.length > SEARCH_DESCRIPTION_CHARS
      ? { name: t.name, description: `${cut(t.description, SEARCH_DESCRIPTION_CHARS)}…` }
      : t,
  )
  const text =
    tools.length === 0
      ? `No tool matches ${JSON.stringify(query)}. Try other words; the catalog holds ${view.tools.length} tools.`
      : tools.map((t) => `tools.${t.name}${t.description !== undefined ? `: ${t.description}` : ''}`).join('\n') +
        '\n\nRead their declarations with describe_tools before calling them.'
  return { content: [{ type: 'text' as const, text }], structuredContent: { tools } }
}

/** `describe_tools`: the declarations of the chosen tools, or an error that names what names nothing. */
function describeResult(harness: ScriptHarness, args: Record<string, unknown>) {
  const { tools } = args
  if (!Array.isArray(tools) || tools.length === 0 || tools.length > MAX_DESCRIBED || !tools.every((t) => typeof t === 'string')) {
    return textResult(`tools: must be an array of 1 to ${MAX_DESCRIBED} tool names or namespaces`, true)
  }
  const long = (tools as string[]).findIndex((t) => t.length > MAX_NAME_CHARS)
  if (long >= 0) return textResult(`tools[${long}]: a tool name is at most ${MAX_NAME_CHARS} characters`, true)
  // `tools.gh.create_issue` is how a script writes it: accept that too.
  const names = (tools as string[]).map((t) => (t.startsWith('tools.') ? t.slice('tools.'.length) : t))
  try {
    return textResult(harness.describeTools({ context: 'none', tools: names }))
  } catch (e) {
    return textResult(`${e instanceof Error ? e.message.replace(/^options\.tools: /, '') : String(e)}: find tools with search_tools`, true)
  }
}

type Notify = (notification: ServerNotification) => Promise<void>

/** Console levels as MCP logging levels (RFC 5424 names). */
const LOG_LEVELS = { log: 'info', info: 'info', warn: 'warning', error: 'error' } as const

/**
 * A script's events as MCP notifications about its `execute` request:
 * `console` → `notifications/message` (logger `script`); `progress`,
 * `tool_call_started` and `tool_call_completed` → `notifications/progress`
 * when the client sent a progress token. A notification that fails to send
 * (the client went away) is dropped: the script goes on.
 */
function eventForwarder(notify: Notify, progressToken: string | number | undefined): (event: HarnessEvent) => void {
  let progress = 0
  const send = (notification: ServerNotification) => {
    notify(notification).catch(() => {})
  }
  const step = (message: string) => {
    if (progressToken !== undefined) send({ method: 'notifications/progress', params: { progressToken, progress: ++progress, message } })
  }
  return (event) => {
    switch (event.type) {
      case 'console':
        send({ method: 'notifications/message', params: { level: LOG_LEVELS[event.level], logger: 'script', data: event.message } })
        break
      case 'progress':
        step(event.message)
        break
      case 'tool_call_started':
        step(`tools.${event.toolName} started`)
        break
      case 'tool_call_completed':
        step(`tools.${event.toolName} ${event.status} in ${Math.round(event.durationMs)} ms`)
        break
    }
  }
}

function packageVersion(): string {
  return (require('../../package.json') as { version: string }).version
}
