// The harness's overhead per MCP tool call: the same tool of an in-memory
// MCP server called with the SDK client directly, and from a script through
// mcpTools (sequentially, and 8 at a time).
//   node benches/mcp-overhead.mjs [--write]
import { appendFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js'
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { z } from 'zod'

const require = createRequire(import.meta.url)
const { ScriptHarness } = require('../index.js')
const { mcpTools } = require('../mcp.js')
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1]

const server = new McpServer({ name: 'bench', version: '1.0.0' })
server.registerTool('echo', { inputSchema: { n: z.number() }, outputSchema: { n: z.number() }, annotations: { readOnlyHint: true } },
  async ({ n }) => ({ content: [{ type: 'text', text: String(n) }], structuredContent: { n } }))
const [a, b] = InMemoryTransport.createLinkedPair()
const client = new Client({ name: 'bench', version: '1.0.0' })
await Promise.all([server.connect(b), client.connect(a)])
const harness = new ScriptHarness({ tools: await mcpTools(client, { namespace: 'm' }), workers: 1 })

const CALLS = 200
async function direct() {
  const t = process.hrtime.bigint()
  for (let i = 0; i < CALLS; i++) await client.callTool({ name: 'echo', arguments: { n: i } })
  return Number(process.hrtime.bigint() - t) / 1e3 / CALLS
}
async function scripted(parallel) {
  const src = parallel
    ? `let s = 0; for (let k = 0; k < ${CALLS / 8}; k++) { const r = await Promise.all([0,1,2,3,4,5,6,7].map((i) => tools.m.echo({ n: i }))); s += r.length } return s`
    : `let s = 0; for (let i = 0; i < ${CALLS}; i++) s += (await tools.m.echo({ n: i })).n; return s`
  const t = process.hrtime.bigint()
  const r = await harness.run(src, { limits: { timeoutMs: 60_000, maxToolCalls: 10_000 } })
  if (!r.ok) throw new Error(JSON.stringify(r.error))
  return Number(process.hrtime.bigint() - t) / 1e3 / CALLS
}
async function directParallel() {
  const t = process.hrtime.bigint()
  for (let k = 0; k < CALLS / 8; k++) await Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map((n) => client.callTool({ name: 'echo', arguments: { n } })))
  return Number(process.hrtime.bigint() - t) / 1e3 / CALLS
}
const rows = { direct: [], script: [], directParallel: [], scriptParallel: [] }
for (let round = 0; round < 12; round++) {
  const d = await direct(), s = await scripted(false), dp = await directParallel(), sp = await scripted(true)
  if (round >= 2) rows.direct.push(d), rows.script.push(s), rows.directParallel.push(dp), rows.scriptParallel.push(sp)
}
await harness.close()
await client.close()

const m = Object.fromEntries(Object.entries(rows).map(([k, v]) => [k, median(v)]))
const section = `
## MCP: the harness's overhead per tool call (issue 17)

An in-memory MCP server (the official SDK, \`InMemoryTransport\`) with one \`echo\` tool; ${CALLS} calls per sample, 10
samples after 2, medians (\`node benches/mcp-overhead.mjs\`, ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC).

| per call, µs | SDK client directly | from a script, through \`mcpTools\` | overhead |
| --- | ---: | ---: | ---: |
| one after another | ${m.direct.toFixed(0)} | ${m.script.toFixed(0)} | ${(m.script - m.direct).toFixed(0)} |
| 8 at a time (\`Promise.all\`) | ${m.directParallel.toFixed(0)} | ${m.scriptParallel.toFixed(0)} | ${(m.scriptParallel - m.directParallel).toFixed(0)} |
`
console.log(section)
if (process.argv.includes('--write')) appendFileSync(new URL('./RESULTS.md', import.meta.url), section)
