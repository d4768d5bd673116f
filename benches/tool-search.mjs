// What the code-mode server's search over a large catalog costs: the first
// `search_tools` of a set of tools (which builds the index), and later ones,
// through the real MCP server and client over an in-memory transport.
//   node benches/tool-search.mjs [--write]
import { appendFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js'

const require = createRequire(import.meta.url)
const { ScriptHarness } = require('../index.js')
const { createCodeModeServer } = require('../mcp.js')
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1]
const ms = (t) => Number(process.hrtime.bigint() - t) / 1e6

// GitHub-like tools: 20 resources × 6 verbs per namespace, as many namespaces as it takes.
const resources = ['issue', 'pull_request', 'repository', 'branch', 'release', 'comment', 'label', 'milestone', 'workflow', 'gist',
  'team', 'project', 'deployment', 'secret', 'webhook', 'discussion', 'package', 'tag', 'commit', 'check_run']
const verbs = ['create', 'get', 'list', 'update', 'delete', 'search']
function catalog(n) {
  const tools = []
  for (let ns = 0; tools.length < n; ns++) {
    for (const r of resources) for (const v of verbs) {
      if (tools.length < n) tools.push({
        name: `gh${ns}.${v}_${r}`,
        description: `${v} a ${r.replace('_', ' ')} of a GitHub repository, given its owner and name.`,
        parameters: { type: 'object', properties: { owner: { type: 'string' }, repo: { type: 'string' }, id: { type: 'integer' } }, required: ['owner', 'repo'] },
        handler: () => null,
      })
    }
  }
  return tools
}

const QUERIES = ['create an issue', 'delete pull requst', 'list workflow runs', 'secret']
const rows = []
for (const n of [120, 1000]) {
  const first = [], later = [], listing = []
  let chose
  for (let sample = 0; sample < 12; sample++) {
    const harness = new ScriptHarness({ tools: catalog(n), workers: 1 })
    const connect = async (options) => {
      const [a, b] = InMemoryTransport.createLinkedPair()
      const client = new Client({ name: 'bench', version: '1.0.0' })
      await Promise.all([createCodeModeServer({ harness, ...options }).connect(b), client.connect(a)])
      return client
    }
    // 'auto' writes every declaration to decide whether to search.
    const auto = await connect({ catalog: 'auto' })
    let t = process.hrtime.bigint()
    chose = (await auto.listTools()).tools.length === 3 ? 'searched' : 'declared'
    const list = ms(t)
    await auto.close()
    const client = await connect({ catalog: 'searched' })
    t = process.hrtime.bigint()
    await client.callTool({ name: 'search_tools', arguments: { query: 'create an issue' } })
    const f = ms(t)
    const each = []
    for (const query of QUERIES) for (let i = 0; i < 5; i++) {
      t = process.hrtime.bigint()
      await client.callTool({ name: 'search_tools', arguments: { query } })
      each.push(ms(t))
    }
    if (sample >= 2) listing.push(list), first.push(f), later.push(median(each))
    await client.close()
    await harness.close()
  }
  rows.push({ n, chose, listing: median(listing), first: median(first), later: median(later) })
}

const section = `
## MCP: searching a large catalog (issue 17)

\`createCodeModeServer\` over GitHub-like tools and the official SDK client over \`InMemoryTransport\`: the listing
with \`catalog: 'auto'\`, the searches with \`'searched'\`; 10 samples after 2, each a new harness and server, medians in ms (\`node benches/tool-search.mjs\`,
${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC). The first search of a set of tools builds its index.

| tools | \`'auto'\` chose | tools/list, \`'auto'\` (writes every declaration to choose) | first search_tools | later search_tools |
| ---: | --- | ---: | ---: | ---: |
${rows.map((r) => `| ${r.n} | ${r.chose} | ${r.listing.toFixed(2)} | ${r.first.toFixed(2)} | ${r.later.toFixed(2)} |`).join('\n')}
`
console.log(section)
if (process.argv.includes('--write')) appendFileSync(new URL('./RESULTS.md', import.meta.url), section)
