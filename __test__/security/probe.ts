// Shared helpers of the red-team suite: one file per attack class in this
// folder (escapes, exhaustion, tool abuse, hostile tools). Every test
// asserts the contract's precise outcome (code, phase, line, what the
// handler saw), not merely that something failed.
import { spawnSync } from 'node:child_process'
import { expect } from 'vitest'
import type { ErrorCode, ScriptHarness, ScriptResult } from '../../index.js'

export { echoTool, harness, newRecorder, type Recorder, slowTool, standardTools } from '../tools'

export const ADDON = require.resolve('../../index.js')

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/**
 * Anything that would tell a script (or the model reading a result) about
 * the host: absolute paths, node_modules, Rust sources, the addon file,
 * Windows drives, file URLs.
 */
export const HOST_PATH = /\/(work|home|root|usr|tmp|Users|opt|var)\/|node_modules|\.rs\b|\.node\b|[A-Z]:\\|file:\/\//

/**
 * Runs `body` inside a script. The body calls `probe(name, fn)`; each probe
 * records 'allowed' when `fn` returns, or the name of what it threw.
 */
export async function probes(h: ScriptHarness, body: string, options?: Parameters<ScriptHarness['run']>[1]) {
  const r = await h.run(
    `
    const out = {}
    const probe = (k, f) => { try { f(); out[k] = 'allowed' } catch (e) { out[k] = e === null || e === undefined ? String(e) : e.name } }
    ${body}
    return out`,
    options,
  )
  expect(r.error).toBeUndefined()
  return r.value as Record<string, string>
}

/** Like `probes`, keeping the message: `${name}: ${message}` or 'allowed'. */
export async function probeMessages(h: ScriptHarness, body: string) {
  const r = await h.run(`
    const out = {}
    const probe = (k, f) => { try { f(); out[k] = 'allowed' } catch (e) { out[k] = e.name + ': ' + e.message } }
    ${body}
    return out`)
  expect(r.error).toBeUndefined()
  return r.value as Record<string, string>
}

/** Asserts `r` failed with `code` (and the other fields given) and returns its error. */
export function expectError(r: ScriptResult, code: ErrorCode, fields: Record<string, unknown> = {}) {
  expect(r.error, `expected ${code}, got ${JSON.stringify(r.error ?? r.value)}`).toMatchObject({ code, ...fields })
  expect(r.ok).toBe(false)
  return r.error!
}

/** The harness still runs a trivial script normally. */
export async function expectHealthy(h: ScriptHarness) {
  const r = await h.run('return 6 * 7')
  expect(r).toMatchObject({ ok: true, value: 42 })
}

/** Runs `run()` and measures it. */
export async function timed(p: Promise<ScriptResult>): Promise<[ScriptResult, number]> {
  const t = Date.now()
  const r = await p
  return [r, Date.now() - t]
}

export interface ChildOutcome {
  status: number | null
  signal: NodeJS.Signals | null
  /** What the child passed to `report(...)`, in order. */
  reports: any[]
  stdout: string
  stderr: string
}

/**
 * Runs `body` in a fresh Node process, for probes that may crash it. The
 * body is the inside of an async function that sees `ScriptHarness`,
 * `detectScripts` and `report(value)` (one JSON line on stdout). A crash
 * (signal, or a non-zero exit) shows in `status`/`signal`, and the reports
 * made before it say how far the child got.
 */
export function inChild(body: string, timeoutMs = 30_000): ChildOutcome {
  const script = `
    const { ScriptHarness, detectScripts } = require(${JSON.stringify(ADDON)})
    const report = (v) => process.stdout.write('@@' + JSON.stringify(v ?? null) + '\\n')
    ;(async () => {
      ${body}
    })().then(() => process.exit(0), (e) => { console.error(e); process.exit(2) })`
  const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: timeoutMs })
  const reports = (child.stdout ?? '')
    .split('\n')
    .filter((l) => l.startsWith('@@'))
    .map((l) => JSON.parse(l.slice(2)))
  return { status: child.status, signal: child.signal, reports, stdout: child.stdout ?? '', stderr: child.stderr ?? '' }
}

/** A child that ran to its end: exit code 0, no signal. */
export function expectCleanExit(c: ChildOutcome) {
  expect(
    { status: c.status, signal: c.signal },
    `the child process died; last report: ${JSON.stringify(c.reports.at(-1))}; stderr: ${c.stderr.slice(0, 500)}`,
  ).toEqual({ status: 0, signal: null })
}
