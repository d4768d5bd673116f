// Durable scripts: the size of a snapshot, the time to resume one, and the
// memory the harness holds per suspended script.
//   node --expose-gc benches/durable.mjs [--write]
import { appendFileSync } from 'node:fs'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const { ScriptHarness } = require('../index.js')
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1]
const gc = () => { for (let i = 0; i < 3; i++) globalThis.gc?.() }

const tools = [
  // A result of about 200 bytes, as a small file read would be.
  { name: 'read', handler: (args) => ({ path: args.path, text: 'x'.repeat(160) }) },
  { name: 'deploy', requiresApproval: true, handler: (args) => ({ deployed: args.env }) },
]
const SCRIPT = `
  const texts = []
  for (let i = 0; i < 10; i++) texts.push((await tools.read({ path: 'file' + i + '.txt' })).text.length)
  console.log('read', texts.length, 'files at', new Date().toISOString(), Math.random())
  return await tools.deploy({ env: 'prod' })`

let decide = 'suspend'
const harness = new ScriptHarness({ tools, snapshotKey: 'a benchmark key of thirty-two bytes!', workers: 1, onApproval: () => decide })

// Warm up, then: a live run approved at once (the baseline), and resumes.
const live = [], resumed = [], sizes = []
for (let round = 0; round < 60; round++) {
  decide = 'approved'
  let t = process.hrtime.bigint()
  const ok = await harness.run(SCRIPT)
  const liveUs = Number(process.hrtime.bigint() - t) / 1e3
  decide = 'suspend'
  const s = await harness.run(SCRIPT)
  if (!ok.ok || !s.suspended) throw new Error('unexpected result')
  t = process.hrtime.bigint()
  const r = await harness.resume(s.snapshot, 'approved')
  const resumeUs = Number(process.hrtime.bigint() - t) / 1e3
  if (!r.ok) throw new Error(JSON.stringify(r.error))
  if (round >= 10) live.push(liveUs), resumed.push(resumeUs), sizes.push(Buffer.byteLength(s.snapshot))
}

// Memory: 1,000 scripts suspended, their snapshots kept by the "host".
const N = 1000
// A first round, dropped: the process's allocators and the engine's pool settle.
for (let i = 0; i < N; i++) await harness.run(SCRIPT)
gc()
const before = process.memoryUsage()
const kept = []
// One after another: what stays is what the harness holds, not the realms a burst would need at once.
for (let i = 0; i < N; i++) kept.push((await harness.run(SCRIPT)).snapshot)
gc()
const after = process.memoryUsage()
const stats = harness.stats()
const snapshotBytes = kept.reduce((n, s) => n + s.length, 0) / N
await harness.close()

const perScript = (k) => (after[k] - before[k]) / N / 1024
const rows = {
  size: median(sizes),
  live: median(live),
  resumed: median(resumed),
  rss: perScript('rss'),
  heap: perScript('heapUsed') + perScript('external'),
  snapshotKb: snapshotBytes / 1024,
  active: stats.activeScripts,
  pendingCalls: stats.pendingToolCalls,
}
const section = `
## Durable scripts: snapshot size, resume time, memory held (issue 19)

A script that makes 10 tool calls (each result about 200 bytes of JSON), logs, reads the clock and \`Math.random()\`,
then waits for approval of an 11th (\`node --expose-gc benches/durable.mjs\`, ${new Date().toISOString().slice(0, 16).replace('T', ' ')}
UTC; 50 samples after 10, medians).

| | figure |
| --- | ---: |
| snapshot size | ${(rows.size / 1024).toFixed(1)} KB |
| the same script run live, approved at once | ${(rows.live / 1000).toFixed(2)} ms |
| \`resume(snapshot, 'approved')\` to its final result | ${(rows.resumed / 1000).toFixed(2)} ms |
| 1,000 suspended scripts (after a first 1,000, dropped), snapshots kept by the host: RSS per script | ${rows.rss.toFixed(1)} KB |
| of which the snapshot string itself | ${rows.snapshotKb.toFixed(1)} KB |
| JS heap + external per script, snapshot included | ${rows.heap.toFixed(1)} KB |
| \`stats()\` with all 1,000 suspended: activeScripts, pendingToolCalls | ${rows.active}, ${rows.pendingCalls} |
`
console.log(section)
if (process.argv.includes('--write')) appendFileSync(new URL('./RESULTS.md', import.meta.url), section)
