// Soak: many mixed scripts through one harness (tool calls, errors, limits,
// cancellations, orphans, approvals, hostile tools), then close().
// Checks, and exits non-zero when one fails:
//   - Node RSS after the run is within `--rss-bound` (default 10%) of RSS
//     after the warm-up (both after a full GC);
//   - the harness's counters are back at rest: no active script, no pending
//     tool call, the sandbox heaps down to the idle realms;
//   - no sandbox thread and no libuv handle outlives close();
//   - the process exits within 1 s of close().
// Run: `npm run soak` (100,000 scripts) or
//      `node --expose-gc benches/soak.mjs --scripts 20000 --json`.
import { createRequire } from 'node:module'
import { readdirSync } from 'node:fs'

const require = createRequire(import.meta.url)
const { ScriptHarness } = require('../index.js')

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? Number(process.argv[i + 1]) : fallback
}
const TOTAL = arg('scripts', 100_000)
// Allocator arenas and caches (compile cache, JIT, glibc arenas per
// thread) fill during the first tenth of a long run; growth is measured
// after. A short run needs a longer share: measured on 5,000 scripts, RSS
// rose from 79 to 104 MB over the first 3,200 and then held (±5 MB).
const WARMUP = arg('warmup', Math.floor(TOTAL / 10))
const IN_FLIGHT = arg('in-flight', 32)
const RSS_BOUND = arg('rss-bound', 0.1)
const json = process.argv.includes('--json')

if (typeof globalThis.gc !== 'function') {
  console.error('run with node --expose-gc')
  process.exit(2)
}

const threads = () => readdirSync('/proc/self/task').length
const handles = () => process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap').length
const mb = (n) => Math.round((n / 1048576) * 10) / 10

async function settleGc() {
  for (let i = 0; i < 3; i++) {
    globalThis.gc()
    await new Promise((r) => setTimeout(r, 20))
  }
  return process.memoryUsage().rss
}

const base = { threads: threads(), handles: handles() }
let approvals = 0
const harness = new ScriptHarness({
  workers: 2,
  limits: { timeoutMs: 2_000, orphanGraceMs: 20 },
  onApproval: () => (++approvals % 2 === 0 ? 'approved' : 'denied'),
  onEvent: () => {},
  tools: [
    { name: 'echo', handler: (args) => args },
    { name: 'slow', handler: (args, ctx) => new Promise((resolve, reject) => {
      const t = setTimeout(() => resolve({ ok: true }), args.ms)
      ctx.signal.addEventListener('abort', () => { clearTimeout(t); reject(ctx.signal.reason) }, { once: true })
    }) },
    { name: 'fail', handler: () => { throw new Error('tool failed') } },
    // Hostile tools: one ignores its signal and never settles, one returns non-JSON.
    { name: 'hang', handler: () => new Promise(() => {}) },
    { name: 'bigint', handler: () => ({ n: 1n }) },
    { name: 'guarded', requiresApproval: true, handler: (args) => ({ done: args.i }) },
  ],
})

// One script of the mix for index i: [source, run options, expected code].
function scriptFor(i) {
  switch (i % 20) {
    case 0: case 1: case 2: case 3: case 4: case 5:
      return [`const r = await Promise.all([tools.echo({ i: ${i} }), tools.slow({ ms: 1 })]); return r[0].i`]
    case 6: case 7:
      return ['const xs: number[] = []; for (let k = 0; k < 1000; k++) xs.push(k * k); return xs.length']
    case 8: return [`throw new Error('script ${i}')`]
    case 9: return ['try { await tools.fail({}) } catch (e) { return e.name }']
    case 10: return ['await tools.fail({})']
    case 11: return ['while (true) {}', { limits: { timeoutMs: 15 } }]
    case 12: return ['await tools.hang({})', { limits: { timeoutMs: 15 } }]
    case 13: {
      const c = new AbortController()
      setTimeout(() => c.abort(), i % 3)
      return ['await tools.slow({ ms: 50 }); return 1', { signal: c.signal }]
    }
    case 14: return ['const x = ;']
    case 15: return ['const a = []; for (;;) a.push(new Array(1e5).fill(1))', { limits: { memoryMb: 16 } }]
    case 16: return ['tools.slow({ ms: 5 }); tools.hang({}); return 1']
    case 17: return [`try { return await tools.guarded({ i: ${i} }) } catch (e) { return e.name }`]
    case 18: return ['try { await tools.bigint({}) } catch (e) { return e.name }']
    default: return ['function f(n: number): number { return n < 2 ? n : f(n - 1) + f(n - 2) } return f(15)']
  }
}

const outcomes = new Map()
async function runMany(from, to) {
  let next = from
  async function lane() {
    while (next < to) {
      const [source, options] = scriptFor(next++)
      const r = await harness.run(source, options)
      const key = r.ok ? 'ok' : r.error.code
      outcomes.set(key, (outcomes.get(key) ?? 0) + 1)
    }
  }
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane))
}

const t0 = performance.now()
await runMany(0, WARMUP)
const warm = { rss: await settleGc(), stats: harness.stats() }
const samples = [{ scripts: WARMUP, rssMb: mb(warm.rss) }]
const step = Math.max(1, Math.floor((TOTAL - WARMUP) / 5))
for (let done = WARMUP; done < TOTAL; done += step) {
  await runMany(done, Math.min(TOTAL, done + step))
  samples.push({ scripts: Math.min(TOTAL, done + step), rssMb: mb(await settleGc()) })
}
const seconds = (performance.now() - t0) / 1000
const end = { rss: await settleGc(), stats: harness.stats() }

const failures = []
const growth = end.rss / warm.rss - 1
if (growth > RSS_BOUND) failures.push(`RSS grew ${(growth * 100).toFixed(1)}% after warm-up (bound ${RSS_BOUND * 100}%)`)
if (end.stats.activeScripts !== 0) failures.push(`activeScripts is ${end.stats.activeScripts}`)
if (end.stats.pendingToolCalls !== 0) failures.push(`pendingToolCalls is ${end.stats.pendingToolCalls}`)
// At rest a sandbox thread holds only idle realms: at least one, at most
// four, each about 370 KB after its collection.
const IDLE_REALM_BYTES = 512 * 1024
const restBound = end.stats.workers * 4 * IDLE_REALM_BYTES
if (end.stats.sandboxHeapBytes > restBound) {
  failures.push(`sandbox heaps hold ${end.stats.sandboxHeapBytes} bytes at rest (bound: ${restBound}; after warm-up: ${warm.stats.sandboxHeapBytes})`)
}
if (end.stats.scriptsFinished !== TOTAL) failures.push(`scriptsFinished is ${end.stats.scriptsFinished}, expected ${TOTAL}`)
if (end.stats.workerRestarts !== 0) failures.push(`${end.stats.workerRestarts} worker restarts`)

// close() with scripts still running (a CPU loop, a tool that never
// settles): each settles promptly as ScriptCancelledError.
const stuck = [harness.run('while (true) {}'), harness.run('await tools.hang({})')]
await new Promise((r) => setTimeout(r, 20))
const closing = performance.now()
await harness.close()
for (const r of await Promise.all(stuck)) {
  if (r.error?.code !== 'ScriptCancelledError') failures.push(`a script running at close() ended with ${r.error?.code}`)
}
// The sandbox threads end once they have reported; give them a moment.
let after = { threads: threads(), handles: handles() }
for (let i = 0; i < 50 && after.threads > base.threads; i++) {
  await new Promise((r) => setTimeout(r, 10))
  after = { threads: threads(), handles: handles() }
}
if (after.threads > base.threads) failures.push(`${after.threads - base.threads} threads outlived close()`)
if (after.handles > base.handles) failures.push(`${after.handles - base.handles} handles outlived close(): ${process.getActiveResourcesInfo()}`)

const report = {
  scripts: TOTAL,
  seconds: Math.round(seconds * 10) / 10,
  scriptsPerSecond: Math.round(TOTAL / seconds),
  outcomes: Object.fromEntries([...outcomes].sort()),
  rssMb: { afterWarmup: mb(warm.rss), end: mb(end.rss), growthPercent: Math.round(growth * 1000) / 10, samples },
  stats: { afterWarmup: warm.stats, end: end.stats },
  threads: { before: base.threads, afterClose: after.threads },
  handles: { before: base.handles, afterClose: after.handles },
  failures,
}
process.on('exit', (code) => {
  const exitMs = performance.now() - closing
  report.exitAfterCloseMs = Math.round(exitMs)
  if (exitMs > 1000) {
    report.failures.push(`exit came ${Math.round(exitMs)} ms after close()`)
    process.exitCode = 1
  }
  if (json) process.stdout.write(JSON.stringify(report) + '\n')
  else console.log(JSON.stringify(report, null, 2))
  if (report.failures.length > 0 && code === 0) process.exitCode = 1
})
// Nothing else to do: the process must now exit on its own.
