// Figures of script-harness alone (no peer does these things): detection
// over a 1 MB model response, compiling a 20 KB TypeScript script
// (validate() compiles without the cache), scripts making four concurrent
// tool calls, and the cost of an approval round trip. Prints a markdown
// section; with --write, appends it to benches/RESULTS.md.
import { appendFileSync, readdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const { ScriptHarness, detectScripts } = require('../index.js')

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const p95 = (xs) => [...xs].sort((a, b) => a - b)[Math.ceil(xs.length * 0.95) - 1]

// Prose with inline code, tags-like text and the odd script and fence.
const para = 'The parser handles `inline code` and <b>tags</b> & such; see `a < b` and <tool-callsx> here.\n'
let response = ''
while (response.length < 1_000_000) {
  response += para
  if (response.length % 100_000 < para.length) {
    response += '<tool-calls id="s">\nconst r = await tools.exec({ command: ["ls"] })\nreturn r.exitCode\n</tool-calls>\n```ts\nconst x = 1\n```\n'
  }
}
for (let i = 0; i < 5; i++) detectScripts(response)
const detectMs = []
for (let i = 0; i < 40; i++) {
  const t = process.hrtime.bigint()
  detectScripts(response)
  detectMs.push(Number(process.hrtime.bigint() - t) / 1e6)
}
const mb = response.length / 1e6

const unit = (i) => `interface Hit${i} { path: string; score: number }
const hits${i}: Hit${i}[] = (await tools.fileSearch({ pattern: '*.ts' })) as Hit${i}[]
for (const h of hits${i}) { if (h.score > 0.5) console.log(\`\${h.path} \${h.score satisfies number}\`) }
`
let script = ''
for (let i = 0; script.length < 20_000; i++) script += unit(i)
const harness = new ScriptHarness({ tools: [{ name: 'fileSearch', handler: () => [] }] })
for (let i = 0; i < 5; i++) harness.validate(script + `\n// warm ${i}`)
const compileUs = []
for (let i = 0; i < 60; i++) {
  const src = script + `\n// ${i}` // a new source each time: no cache
  const t = process.hrtime.bigint()
  const report = harness.validate(src)
  compileUs.push(Number(process.hrtime.bigint() - t) / 1e3)
  if (!report.ok) throw new Error(JSON.stringify(report.errors))
}
await harness.close()

// 1000 scripts, each awaiting four concurrent echo calls, up to 8 in flight.
const echo = new ScriptHarness({ tools: [{ name: 'echo', handler: (a) => a }] })
const fourCalls = 'const r = await Promise.all([1, 2, 3, 4].map((n) => tools.echo({ n }))); return r.length'
async function batch(total, inFlight) {
  let next = 0
  const t = process.hrtime.bigint()
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next++ < total) {
        const r = await echo.run(fourCalls)
        if (!r.ok) throw new Error(JSON.stringify(r.error))
      }
    }),
  )
  return total / (Number(process.hrtime.bigint() - t) / 1e9)
}
await batch(200, 8)
const fourCallRates = []
for (let i = 0; i < 5; i++) fourCallRates.push(await batch(1000, 8))
await echo.close()

// Approval round trip: 200 sequential calls to a tool that needs approval
// (approved at once) against the same calls without approval, per call.
const sequential = 'for (let i = 0; i < 200; i++) await tools.apply({ i })'
const gated = new ScriptHarness({ tools: [{ name: 'apply', requiresApproval: true, handler: () => 1 }], onApproval: () => 'approved', limits: { maxToolCalls: 1000 } })
const open = new ScriptHarness({ tools: [{ name: 'apply', handler: () => 1 }], limits: { maxToolCalls: 1000 } })
async function perCall(h) {
  const xs = []
  for (let i = 0; i < 15; i++) {
    const t = process.hrtime.bigint()
    const r = await h.run(sequential)
    if (!r.ok) throw new Error(JSON.stringify(r.error))
    xs.push(Number(process.hrtime.bigint() - t) / 1e3 / 200)
  }
  return median(xs)
}
await perCall(gated)
await perCall(open)
const withApproval = await perCall(gated)
const without = await perCall(open)
await gated.close()
await open.close()

// A 50 KB Responses turn with two small scripts: processResponse with the
// scripts not run (mode 'disabled'), so what is timed is reading, detection,
// and building items and continuation.
const prose = 'We looked at the parser, the server and the utils; here is what changed and why it matters.\n'
let turnText = ''
while (turnText.length < 25_000) turnText += prose
turnText += '<tool-calls>\nreturn 1\n</tool-calls>\n'
while (turnText.length < 50_000) turnText += prose
turnText += '```ts tool-calls\nreturn 2\n```\n'
const turn = [
  { id: 'rs_1', type: 'reasoning', summary: [{ type: 'summary_text', text: 'thinking' }], encrypted_content: 'gAAAA' },
  { id: 'msg_1', type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', annotations: [], text: turnText }] },
]
const turns = new ScriptHarness({ tools: [], mode: 'disabled' })
for (let i = 0; i < 20; i++) await turns.processResponse('responses', turn)
const turnMs = []
for (let i = 0; i < 100; i++) {
  const t = process.hrtime.bigint()
  await turns.processResponse('responses', turn)
  turnMs.push(Number(process.hrtime.bigint() - t) / 1e6)
}
await turns.close()

// Streamed: from pushing the event that completes a closing tag to the
// script's first tool call reaching its handler.
let calledAt = 0n
const streamer = new ScriptHarness({ tools: [{ name: 'mark', handler: () => { calledAt = process.hrtime.bigint(); return 1 } }] })
const chunk = (content) => ({ id: 'c', object: 'chat.completion.chunk', created: 0, model: 'm', choices: [{ index: 0, delta: { content }, finish_reason: null }] })
const startUs = []
for (let i = 0; i < 120; i++) {
  const s = streamer.stream('chat')
  s.push(chunk('Checking.\n<tool-calls>\nawait tools.mark({})\n</tool-calls'))
  calledAt = 0n
  const t = process.hrtime.bigint()
  s.push(chunk('>\nDone.'))
  while (calledAt === 0n) await new Promise((res) => setImmediate(res))
  if (i >= 20) startUs.push(Number(calledAt - t) / 1e3)
  await s.end()
}
await streamer.close()

// Realms: `return 1 + 1` one after another, as W0 but (a) a different
// script each run, so neither the compile cache nor the bytecode cache
// helps, and (b) with `isolation: 'script'`, a fresh realm per script.
async function sequentialUs(h, source) {
  const xs = []
  for (let i = 0; i < 400; i++) {
    const src = source(i)
    const t = process.hrtime.bigint()
    const r = await h.run(src)
    if (i >= 100) xs.push(Number(process.hrtime.bigint() - t) / 1e3)
    if (!r.ok) throw new Error(JSON.stringify(r.error))
  }
  return xs
}
const pooled = new ScriptHarness({ tools: [] })
const distinctUs = await sequentialUs(pooled, (i) => `return 1 + ${i}`)
await pooled.close()
const perScript = new ScriptHarness({ tools: [], isolation: 'script' })
const scriptIsolationUs = await sequentialUs(perScript, () => 'return 1 + 1')
await perScript.close()

// describeTools() for 200 tools: the corpus of __test__/fixtures/schemas
// (MCP, OpenAPI-derived, pydantic shapes, results and $defs included),
// repeated under 200 distinct names.
const corpusDir = new URL('../__test__/fixtures/schemas/', import.meta.url)
const corpusTools = readdirSync(corpusDir).filter((f) => f.endsWith('.json')).sort()
  .flatMap((f) => JSON.parse(readFileSync(new URL(f, corpusDir), 'utf8')).tools)
const manyTools = Array.from({ length: 200 }, (_, i) => {
  const t = corpusTools[i % corpusTools.length]
  return { ...t, name: `${t.name}${Math.floor(i / corpusTools.length)}`, handler: () => null }
})
const describer = new ScriptHarness({ tools: manyTools, workers: 1 })
for (let i = 0; i < 5; i++) describer.describeTools()
const describeMs = []
let declarations = ''
for (let i = 0; i < 50; i++) {
  const t = process.hrtime.bigint()
  declarations = describer.describeTools()
  describeMs.push(Number(process.hrtime.bigint() - t) / 1e6)
}
const instructionsKb = describer.instructions().length / 1024
await describer.close()

const section = `
## Figures of script-harness alone (no peer does these)

| measure (median / p95) | unit | figure | target |
| --- | --- | ---: | --- |
| detectScripts on a ${mb.toFixed(2)} MB response, from JS (string in, segments out) | MB/s | ${(mb / (median(detectMs) / 1e3)).toFixed(0)} / ${(mb / (p95(detectMs) / 1e3)).toFixed(0)} | ≥ 500 |
| compile a ${(script.length / 1024).toFixed(1)} KB TypeScript script (\`validate()\`: parse, checks, strip, codegen) | ms | ${(median(compileUs) / 1e3).toFixed(3)} / ${(p95(compileUs) / 1e3).toFixed(3)} | ≤ 1 |
| 1000 scripts each making 4 concurrent tool calls, 8 scripts in flight | scripts/s | ${median(fourCallRates).toFixed(0)} / ${Math.min(...fourCallRates).toFixed(0)} (slowest) | — |
| approval round trip: per call with \`onApproval\` answering at once, minus without approval | µs | ${(withApproval - without).toFixed(1)} (${withApproval.toFixed(1)} vs ${without.toFixed(1)}) | — |
| processResponse on a ${(JSON.stringify(turn).length / 1024).toFixed(0)} KB Responses turn with two scripts, scripts not run (mode 'disabled') | ms | ${median(turnMs).toFixed(3)} / ${p95(turnMs).toFixed(3)} | ≤ 1 |
| W0 with a different script each run (no compile or bytecode cache hit) | µs | ${median(distinctUs).toFixed(0)} / ${p95(distinctUs).toFixed(0)} | — |
| W0 with \`isolation: 'script'\` (a fresh realm per script) | µs | ${median(scriptIsolationUs).toFixed(0)} / ${p95(scriptIsolationUs).toFixed(0)} | — |
| describeTools() for 200 tools (the schema corpus of \`__test__/fixtures/schemas\`, results and \`$defs\` included): time; size | ms; KB | ${median(describeMs).toFixed(2)} / ${p95(describeMs).toFixed(2)}; ${(declarations.length / 1024).toFixed(0)} KB (instructions() ${instructionsKb.toFixed(0)} KB) | — |
| streamed: closing tag pushed → the script's first tool call reaches its handler | ms | ${(median(startUs) / 1e3).toFixed(3)} / ${(p95(startUs) / 1e3).toFixed(3)} | ≤ 1 |

The scanner alone (no napi) measures in Rust with \`cargo test --release -p script-harness-core -- --ignored detect_throughput --nocapture\`.
`
console.log(section)
if (process.argv.includes('--write')) appendFileSync(new URL('./RESULTS.md', import.meta.url), section)
