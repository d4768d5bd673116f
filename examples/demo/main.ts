// `npm run demo`: a model fixes a failing test in a throwaway project by
// writing TypeScript that calls exec, fileSearch and applyPatch, once per API
// (OpenAI Responses, Chat Completions, Anthropic Messages). The model's turns
// are replayed from recordings (or, with --live, come from the real API) and
// go through `harness.stream()`: its text streams, its scripts run as soon as
// they close, and every tool call and approval shows as it happens.
import type { ApiFormat } from '../../index.js'
import { POLICY_NOTE } from './approvals.ts'
import { parseOptions, USAGE, type DemoOptions } from './args.ts'
import { KEY_OF, liveModel } from './live.ts'
import { loadRecording, RecordedModel } from './replay.ts'
import { runSession, type Outcome } from './session.ts'
import { Terminal } from './ui.ts'
import { Workspaces } from './workspace.ts'

const TITLES: Record<ApiFormat, string> = { responses: 'OpenAI Responses API', chat: 'OpenAI Chat Completions', messages: 'Anthropic Messages API' }

function options(): DemoOptions {
  try {
    const parsed = parseOptions(process.argv.slice(2), Boolean(process.stdin.isTTY))
    if (parsed === 'help') {
      console.log(USAGE)
      process.exit(0)
    }
    return parsed
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${USAGE}`)
    process.exit(2)
  }
}

const opts = options()
if (opts.live) {
  const missing = [...new Set(opts.apis.map((api) => KEY_OF[api]).filter((key) => !process.env[key]))]
  if (missing.length > 0) {
    console.error(
      `--live needs ${missing.join(' and ')} in the environment for ${opts.apis.join(', ')}; it is not set.\n` +
        'Set it, pick another API with --api, or run without --live to replay the recordings.',
    )
    process.exit(1)
  }
}

const ui = new Terminal()
const { c } = ui
const spaces = new Workspaces()
const stop = new AbortController()
let interrupted = false

function onInterrupt(): void {
  if (interrupted) {
    // Second Ctrl-C: leave now.
    if (!opts.keep) spaces.remove()
    process.exit(130)
  }
  interrupted = true
  ui.line(c.yellow('interrupted: cancelling the running scripts (their commands are killed)… Ctrl-C again to quit at once'))
  stop.abort(new Error('interrupted'))
}
process.on('SIGINT', onInterrupt)

ui.line(c.bold('script-harness demo') + ': a model fixes a failing test by writing TypeScript that calls exec, fileSearch and applyPatch')
ui.line(c.dim(POLICY_NOTE[opts.approvals]))
ui.line(c.dim(`workspaces: fresh copies of examples/demo/workspace under ${spaces.root} (${opts.keep ? 'kept: --keep' : 'removed at the end; --keep keeps them'})`))

const outcomes: Outcome[] = []
let crashed = false
try {
  for (const api of opts.apis) {
    if (stop.signal.aborted) break
    const workspace = spaces.create(api)
    const model = opts.live ? liveModel(api, workspace, opts.model) : new RecordedModel(loadRecording(api), process.stdout.isTTY ? 5 : 0)
    outcomes.push(await runSession({ api, title: TITLES[api], workspace, model, approvals: opts.approvals, ui, signal: stop.signal, onInterrupt }))
  }
} catch (err) {
  crashed = true
  ui.line(c.red(`the demo failed: ${(err as Error).stack ?? err}`))
} finally {
  summarize(outcomes)
  if (opts.keep) ui.line(c.dim(`workspaces kept in ${spaces.root}`))
  else {
    spaces.remove()
    ui.line(c.dim(`workspaces removed (${spaces.root})`))
  }
}
process.exitCode = interrupted ? 130 : crashed || outcomes.some((o) => o.scriptFailures.length > 0) ? 1 : 0

function summarize(list: Outcome[]): void {
  ui.line()
  ui.line(c.bold('━━ result ━━'))
  for (const o of list) {
    const before = o.testRuns.filter((r) => !r.afterPatch)
    const after = o.testRuns.filter((r) => r.afterPatch)
    const failing = before.filter((r) => r.exitCode !== 0)
    const passing = after.filter((r) => r.exitCode === 0)
    const parts = [
      before.length === 0
        ? 'tests before the fix: not run'
        : `tests before the fix: ${failing.length} of ${before.length} test files failing` + (failing.length ? ` (${failing.map((r) => r.file).join(', ')})` : ''),
      !o.patched ? 'no patch applied' : after.length === 0 ? 'patched, tests not rerun' : `after the fix: ${passing.length} of ${after.length} test files passing`,
      ...(o.denied > 0 ? [c.yellow(`${o.denied} call${o.denied === 1 ? '' : 's'} denied`)] : []),
      o.testsPassNow ? c.green('`node --test` in the workspace now passes') : c.red('`node --test` in the workspace still fails'),
    ]
    ui.line(`  ${o.api.padEnd(10)} ${parts.join(' · ')}`)
    for (const f of o.scriptFailures) ui.line(c.red(`             script failed: ${f}`))
  }
}
