// A short soak in CI: thousands of mixed scripts through one harness, then
// close(). benches/soak.mjs checks the counters at rest, threads, handles and
// exit after close(), and RSS growth after warm-up; here the RSS bound is
// loose (a leak of one sandbox per script would still break it), the tight
// bound is for the full run: `npm run soak` (100,000 scripts, 10%).
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { expect, it } from 'vitest'

it('5,000 mixed scripts leave no active script, pending call, thread or handle, and the process exits after close()', () => {
  const soak = join(__dirname, '..', 'benches', 'soak.mjs')
  const out = spawnSync(process.execPath, ['--expose-gc', soak, '--scripts', '5000', '--warmup', '2500', '--rss-bound', '0.25', '--json'], {
    encoding: 'utf8',
    timeout: 240_000,
  })
  expect(out.error).toBeUndefined()
  const report = JSON.parse(out.stdout.trim().split('\n').pop()!)
  expect(report.failures).toEqual([])
  expect(out.status).toBe(0)
  expect(report.stats.end).toMatchObject({ activeScripts: 0, pendingToolCalls: 0, scriptsFinished: 5000, workerRestarts: 0 })
  expect(Object.keys(report.outcomes).sort()).toEqual([
    'ScriptCancelledError', 'ScriptMemoryError', 'ScriptRuntimeError', 'ScriptSyntaxError', 'ScriptTimeoutError', 'ToolExecutionError', 'ok',
  ])
}, 300_000)
