#!/usr/bin/env node
// script-harness mcp: serve a code-mode MCP server over stdio in front of
// upstream stdio MCP servers. Their tools become `tools.<namespace>.*` of
// one `execute` tool that runs a script calling them.
'use strict'

const USAGE = `usage:
  script-harness mcp [--namespace <ns>] [options] -- <command> [args...]
  script-harness mcp --server <ns>=<command line> [--server <ns>=<command line> ...] [options]

options:
  --namespace <ns>    where the upstream server's tools go (default: mcp)
  --server <ns>=<cmd> an upstream server and its namespace; repeatable (the command line is split on spaces)
  --approve           approve calls that need approval when the client cannot be asked (default: deny)
  --timeout-ms <n>    a script's time limit (default: the harness's)
  --catalog <how>     declared: execute declares every tool; searched: search_tools and describe_tools find
                      and declare them; auto (the default): searched when the declarations exceed 32 KB
  --env <NAME>        pass this environment variable to the upstream servers; repeatable (by default they get
                      only the MCP SDK's safe set: PATH, HOME, ...)
`

function fail(message) {
  process.stderr.write(`script-harness: ${message}\n\n${USAGE}`)
  process.exit(2)
}

function parse(argv) {
  if (argv[0] !== 'mcp') fail(argv[0] === undefined ? 'a command is needed' : `unknown command: ${argv[0]}`)
  const upstreams = []
  let namespace = 'mcp'
  let namespaceGiven = false
  const env = []
  let approve = false
  let timeoutMs
  let catalog = 'auto'
  let i = 1
  for (; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--') break
    if (a === '--approve') approve = true
    else if (a === '--namespace') {
      namespace = argv[++i] ?? fail('--namespace needs a value')
      namespaceGiven = true
    } else if (a === '--env') env.push(argv[++i] ?? fail('--env needs a variable name'))
    else if (a === '--timeout-ms') {
      timeoutMs = Number(argv[++i])
      if (!Number.isInteger(timeoutMs) || timeoutMs < 1) fail('--timeout-ms needs a positive integer')
    } else if (a === '--catalog') {
      catalog = argv[++i] ?? fail('--catalog needs a value')
      if (!['declared', 'searched', 'auto'].includes(catalog)) fail('--catalog is one of declared, searched, auto')
    } else if (a === '--server') {
      const spec = argv[++i] ?? fail('--server needs <ns>=<command line>')
      const eq = spec.indexOf('=')
      const words = spec.slice(eq + 1).split(/\s+/).filter(Boolean)
      if (eq < 1 || words.length === 0) fail(`--server ${spec}: expected <ns>=<command line>`)
      const ns = spec.slice(0, eq)
      if (upstreams.some((u) => u.namespace === ns)) fail(`--server ${ns}: the namespace is given twice`)
      upstreams.push({ namespace: ns, command: words[0], args: words.slice(1) })
    } else fail(`unknown option: ${a}`)
  }
  const rest = argv.slice(i + 1)
  if (rest.length > 0) {
    if (upstreams.some((u) => u.namespace === namespace)) fail(`--namespace ${namespace}: the namespace of a --server too`)
    upstreams.push({ namespace, command: rest[0], args: rest.slice(1) })
  }
  else if (namespaceGiven) fail('--namespace names the server given after --, and there is none')
  if (upstreams.length === 0) fail('no upstream server: give one after --, or --server')
  return { upstreams, approve, timeoutMs, env, catalog }
}

async function main() {
  const { upstreams, approve, timeoutMs, env: passed, catalog } = parse(process.argv.slice(2))
  let Client, StdioClientTransport, StdioServerTransport, getDefaultEnvironment
  try {
    ;({ Client } = require('@modelcontextprotocol/sdk/client/index.js'))
    ;({ StdioClientTransport, getDefaultEnvironment } = require('@modelcontextprotocol/sdk/client/stdio.js'))
    ;({ StdioServerTransport } = require('@modelcontextprotocol/sdk/server/stdio.js'))
  } catch {
    fail('the MCP SDK is not installed: npm install @modelcontextprotocol/sdk')
  }
  const { ScriptHarness } = require('..')
  const { mcpTools, createCodeModeServer } = require('../mcp.js')
  const { version } = require('../package.json')

  const clients = []
  // Each upstream's tools, by namespace; a server whose list changes
  // replaces its part, and the harness gets the whole again.
  const parts = new Map()
  const allTools = () => [...parts.values()].flat()
  let harness
  let server
  for (const u of upstreams) {
    const client = new Client({ name: 'script-harness', version })
    // Only the SDK's safe variables and the ones named with --env: an
    // upstream that echoes its environment must not hand another server's
    // secrets to the model.
    const env = { ...getDefaultEnvironment() }
    for (const name of passed) if (process.env[name] !== undefined) env[name] = process.env[name]
    await client.connect(new StdioClientTransport({ command: u.command, args: u.args, env, stderr: 'inherit' }))
    clients.push(client)
    // A new list the harness refuses (it collides with another server's
    // names) leaves this server's tools as they were: one bad refresh must
    // not block every other server's.
    const onChange = (tools) => {
      const before = parts.get(u.namespace)
      parts.set(u.namespace, tools)
      try {
        harness?.setTools(allTools())
      } catch (e) {
        parts.set(u.namespace, before)
        throw e
      }
      server?.sendToolListChanged().catch(() => {})
    }
    parts.set(u.namespace, await mcpTools(client, { namespace: u.namespace, onChange }))
  }
  harness = new ScriptHarness({
    tools: allTools(),
    limits: timeoutMs === undefined ? undefined : { timeoutMs },
    // Asked of the person at the client when it can elicit; otherwise the
    // policy given on the command line (deny by default).
    onApproval: async (req) => {
      if (server?.getClientCapabilities()?.elicitation) {
        const answer = await server.elicitInput({
          message: `Allow tools.${req.toolName} with ${JSON.stringify(req.args)}?`,
          requestedSchema: { type: 'object', properties: { approve: { type: 'boolean', title: 'Approve' } }, required: ['approve'] },
        })
        return answer.action === 'accept' && answer.content?.approve === true ? 'approved' : 'denied'
      }
      return approve ? 'approved' : 'denied'
    },
  })
  server = createCodeModeServer({ harness, catalog })
  const transport = new StdioServerTransport()
  // The client is gone when its end of stdin closes (the SDK's transport
  // does not notice), or when it signals: close the harness and the
  // upstream servers, then exit.
  let closing = false
  const shutdown = async () => {
    if (closing) return
    closing = true
    await harness.close()
    await Promise.allSettled(clients.map((c) => c.close()))
    process.exit(0)
  }
  transport.onclose = shutdown
  process.stdin.on('end', shutdown)
  process.stdin.on('close', shutdown)
  process.on('SIGTERM', shutdown)
  process.on('SIGINT', shutdown)
  await server.connect(transport)
}

main().catch((e) => {
  process.stderr.write(`script-harness: ${e instanceof Error ? e.message : String(e)}\n`)
  process.exit(1)
})
