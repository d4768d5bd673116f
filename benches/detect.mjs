// Detection and compilation figures of script-harness alone (no peer does
// this): detectScripts over a 1 MB model response, and compiling a 20 KB
// TypeScript script (validate() compiles without the cache). Prints a
// markdown section; with --write, appends it to benches/RESULTS.md.
import { appendFileSync } from 'node:fs'
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

const section = `
## Detection and compilation (script-harness only)

| measure (median / p95) | unit | figure | target |
| --- | --- | ---: | --- |
| detectScripts on a ${mb.toFixed(2)} MB response, from JS (string in, segments out) | MB/s | ${(mb / (median(detectMs) / 1e3)).toFixed(0)} / ${(mb / (p95(detectMs) / 1e3)).toFixed(0)} | ≥ 500 |
| compile a ${(script.length / 1024).toFixed(1)} KB TypeScript script (\`validate()\`: parse, checks, strip, codegen) | ms | ${(median(compileUs) / 1e3).toFixed(3)} / ${(p95(compileUs) / 1e3).toFixed(3)} | ≤ 1 |

The scanner alone (no napi) measures in Rust with \`cargo test --release -p script-harness-core -- --ignored detect_throughput --nocapture\`.
`
console.log(section)
if (process.argv.includes('--write')) appendFileSync(new URL('./RESULTS.md', import.meta.url), section)
