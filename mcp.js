// `@codex-port/script-harness/mcp`: the tools of a connected MCP server as
// script-harness tools. It loads nothing of the MCP SDK itself: it works on
// the `Client` the host made (the SDK is an optional peer dependency), and
// the main entry never loads this file.
'use strict'

/** A tools/call request's own timeout: a day, so the script's limit governs. */
const CALL_TIMEOUT_MS = 24 * 60 * 60 * 1000

/** Names the engine reserves in a tool path (see `tools.rs`). */
const RESERVED = new Set(['__proto__', 'constructor', 'prototype', 'then', 'toJSON'])
const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/

/**
 * The path segment an MCP tool name becomes. MCP names may hold `-`, `.`
 * and other characters a path segment cannot: each such character becomes
 * `_`, a leading digit gets a `_` before it, and a reserved name gets one
 * after it. `get-issue` → `get_issue`, `v2.search` → `v2_search`, `3d` → `_3d`.
 */
function segmentOf(name) {
  let s = String(name).replace(/[^A-Za-z0-9_$]/g, '_')
  if (!/^[A-Za-z_$]/.test(s)) s = `_${s}`
  if (RESERVED.has(s)) s = `${s}_`
  return s
}

const isPlainObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v)

/** Why `tool` cannot be offered, or undefined. MCP requires a name and an
 *  `inputSchema` that is an object schema. */
function problemOf(tool) {
  if (!isPlainObject(tool) || typeof tool.name !== 'string' || tool.name === '') return 'it has no name'
  if (!isPlainObject(tool.inputSchema) || tool.inputSchema.type !== 'object') {
    return `its inputSchema is not an object schema (${JSON.stringify(tool.inputSchema)?.slice(0, 200)})`
  }
  if (tool.outputSchema !== undefined && (!isPlainObject(tool.outputSchema) || tool.outputSchema.type !== 'object')) {
    return 'its outputSchema is not an object schema'
  }
  // The engine's own check: one schema it cannot compile would otherwise
  // fail the whole harness.
  const { checkToolSchema } = require('./index.js') // cached after the first
  for (const [field, schema] of [['inputSchema', tool.inputSchema], ['outputSchema', tool.outputSchema]]) {
    if (schema === undefined) continue
    let json
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

function warnSkipped(tool, why) {
  process.emitWarning(`mcpTools: left out the MCP tool ${JSON.stringify(tool?.name)}: ${why}`, 'McpToolSkipped')
}

/** Every tool of the server, following `nextCursor` pages. */
async function listAllTools(client, maxTools) {
  const tools = []
  let cursor
  const seen = new Set()
  do {
    const page = await client.listTools(cursor === undefined ? {} : { cursor })
    tools.push(...(Array.isArray(page?.tools) ? page.tools : []))
    // A server that lists without end (new cursors, or a huge catalog)
    // would hold the host: past `maxTools`, stop and say so.
    if (tools.length > maxTools) {
      throw new Error(`mcpTools: the server lists more than ${maxTools} tools (options.maxTools); raise it if that is expected`)
    }
    cursor = page.nextCursor
    // A server that hands the same cursor back would page forever.
    if (cursor !== undefined && seen.has(cursor)) throw new Error(`mcpTools: the server repeated the page cursor ${JSON.stringify(cursor)}`)
    if (cursor !== undefined) seen.add(cursor)
  } while (cursor !== undefined)
  return tools
}

/**
 * What a script gets from a `tools/call` result: `structuredContent` when
 * the server sent it; otherwise the text of its text parts, joined with a
 * newline, when it has only text; otherwise the content parts as they are.
 * A result with `isError` throws its text, so the script sees a
 * `ToolExecutionError` with the server's message.
 */
function valueOf(result, toolName) {
  const content = Array.isArray(result?.content) ? result.content : []
  const text = content.filter((c) => c?.type === 'text').map((c) => String(c.text)).join('\n')
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
function approvalOf(tool, approval) {
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
 * The tools of the MCP server `client` is connected to, as `ToolDefinition`s.
 * @param {import('@modelcontextprotocol/sdk/client/index.js').Client} client
 * @param {{ namespace?: string, approval?: Record<string, boolean> | ((tool: object) => boolean | undefined) }} [options]
 */
async function mcpTools(client, options = {}) {
  if (client === null || typeof client !== 'object' || typeof client.listTools !== 'function' || typeof client.callTool !== 'function') {
    throw new TypeError('client: must be a connected MCP SDK Client')
  }
  if (options === null || typeof options !== 'object') throw new TypeError('options: must be an object')
  const { namespace = 'mcp', approval, onSkipped = warnSkipped, maxTools = 1000 } = options
  if (!Number.isInteger(maxTools) || maxTools < 1) throw new TypeError('options.maxTools: must be a positive integer')
  if (typeof namespace !== 'string' || !namespace.split('.').every((s) => IDENTIFIER.test(s) && !RESERVED.has(s))) {
    throw new TypeError(`options.namespace: must be identifiers separated by dots, like 'mcp.github', got ${JSON.stringify(namespace)}`)
  }
  if (approval !== undefined && typeof approval !== 'function' && (approval === null || typeof approval !== 'object')) {
    throw new TypeError('options.approval: must be an object of tool names to booleans, or a function')
  }
  if (typeof onSkipped !== 'function') throw new TypeError('options.onSkipped: must be a function')
  const listed = await listAllTools(client, maxTools)
  // A tool whose description breaks the protocol's rules is left out and
  // reported, not a reason to refuse the server's other tools.
  const tools = listed.filter((tool) => {
    const why = problemOf(tool)
    if (why !== undefined) onSkipped(tool, why)
    return why === undefined
  })
  const bySegment = new Map()
  return tools.map((tool) => {
    const segment = segmentOf(tool.name)
    const other = bySegment.get(segment)
    if (other !== undefined) {
      throw new TypeError(`mcpTools: the MCP tools ${JSON.stringify(other)} and ${JSON.stringify(tool.name)} both become ${namespace}.${segment}`)
    }
    bySegment.set(segment, tool.name)
    const definition = {
      name: `${namespace}.${segment}`,
      requiresApproval: approvalOf(tool, approval),
      handler: async (args, ctx) => {
        // The call's signal cancels the request: the server is told
        // (notifications/cancelled) when the script is cancelled or ends.
        // The script's own time limit bounds the call; the SDK's default
        // request timeout (60 s) would cut a long tool short of it.
        const result = await client.callTool({ name: tool.name, arguments: args ?? {} }, undefined, { signal: ctx.signal, timeout: CALL_TIMEOUT_MS })
        return valueOf(result, tool.name)
      },
    }
    const description = tool.description ?? tool.title ?? tool.annotations?.title
    if (typeof description === 'string') definition.description = description
    if (tool.inputSchema !== null && typeof tool.inputSchema === 'object') definition.parameters = tool.inputSchema
    if (tool.outputSchema !== null && typeof tool.outputSchema === 'object') definition.returns = tool.outputSchema
    return definition
  })
}

// ---------------------------------------------------------------------------
// The harness served as an MCP code-mode server: one tool, `execute`, whose
// description teaches the sandbox and declares the harness's tools.

/** The JSON Schema of `execute`'s structured result. */
const EXECUTE_OUTPUT_SCHEMA = {
  type: 'object',
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
function executeResult(r) {
  const structured = {
    ok: r.ok,
    logs: r.logs.map((l) => (l.level === 'log' ? l.message : `[${l.level}] ${l.message}`)),
    toolCalls: r.toolCalls.map((c) => ({ tool: c.toolName, status: c.status })),
  }
  if (r.ok && r.value !== undefined) structured.value = r.value
  if (!r.ok) {
    structured.error = { code: r.error.code, message: r.error.message }
    if (r.error.line !== undefined) structured.error.line = r.error.line
  }
  const head = r.ok
    ? (r.value === undefined ? 'The script returned nothing.' : JSON.stringify(r.value))
    : `${r.error.code}${r.error.line !== undefined ? ` at line ${r.error.line}` : ''}: ${r.error.message}`
  const logs = structured.logs.length > 0 ? `\n\nconsole:\n${structured.logs.join('\n')}` : ''
  const calls = structured.toolCalls.length > 0 ? `\n\ntool calls: ${structured.toolCalls.map((c) => `${c.tool} ${c.status}`).join(', ')}` : ''
  return { content: [{ type: 'text', text: head + logs + calls }], structuredContent: structured, isError: !r.ok }
}

/**
 * An MCP server (the SDK's low-level `Server`, not connected) whose one tool,
 * `execute`, runs a script in `harness`. Connect it to a transport:
 * `await server.connect(new StdioServerTransport())`.
 */
function createCodeModeServer(options) {
  if (options === null || typeof options !== 'object') throw new TypeError('options: must be an object')
  const { harness, name = 'script-harness', version = require('./package.json').version, context = 'brief' } = options
  if (harness === null || typeof harness !== 'object' || typeof harness.run !== 'function' || typeof harness.instructions !== 'function') {
    throw new TypeError('options.harness: must be a ScriptHarness')
  }
  // Loaded here, and only here: the SDK is an optional peer dependency.
  const { Server } = require('@modelcontextprotocol/sdk/server/index.js')
  const { CallToolRequestSchema, ListToolsRequestSchema, McpError, ErrorCode } = require('@modelcontextprotocol/sdk/types.js')
  const description = harness.instructions({ delivery: 'argument', context })
  const server = new Server({ name, version }, { capabilities: { tools: {} } })
  server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: [{
      name: 'execute',
      description,
      inputSchema: {
        type: 'object',
        properties: { code: { type: 'string', description: 'A TypeScript script: the body of an async function (top-level await; return the result).' } },
        required: ['code'],
        additionalProperties: false,
      },
      outputSchema: EXECUTE_OUTPUT_SCHEMA,
      annotations: { title: 'Run a script that calls the tools', openWorldHint: true },
    }],
  }))
  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    if (request.params.name !== 'execute') throw new McpError(ErrorCode.InvalidParams, `unknown tool: ${request.params.name}`)
    const code = request.params.arguments?.code
    if (typeof code !== 'string') {
      return { content: [{ type: 'text', text: 'code: must be a string' }], isError: true }
    }
    // The client's cancellation (notifications/cancelled) aborts this
    // signal: the script, and its calls of upstream tools, are cancelled.
    return executeResult(await harness.run(code, { signal: extra.signal }))
  })
  return server
}

module.exports = { mcpTools, mcpToolSegment: segmentOf, createCodeModeServer }
