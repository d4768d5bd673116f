// One conversation with one API: the model's turns are streamed through
// `harness.stream()`, its scripts run against the coding tools in a fresh
// workspace, and each turn's continuation is what would be sent back.
import { spawnSync } from 'node:child_process'
import { ScriptHarness, type ApiFormat, type ContinuationOf, type ProcessedTurn, type ToolDefinition } from '../../index.js'
import { codingTools, type ExecArgs, type ExecResult } from '../tools/index.ts'
import { Approvals } from './approvals.ts'
import type { ApprovalPolicy } from './args.ts'
import { EventView } from './events.ts'
import { USER_REQUEST } from './recordings/conversation.ts'
import type { TurnSource } from './replay.ts'
import { brief, type Terminal } from './ui.ts'

export interface SessionOptions {
  api: ApiFormat
  title: string
  workspace: string
  model: TurnSource
  approvals: ApprovalPolicy
  ui: Terminal
  signal: AbortSignal
  onInterrupt: () => void
}

/** Runs of `node --test <file>` the model made, before and after its patch. */
export interface TestRun {
  file: string
  exitCode: number
  afterPatch: boolean
}

export interface Outcome {
  api: ApiFormat
  testRuns: TestRun[]
  patched: boolean
  denied: number
  /** Scripts that failed (not counting denials the scripts caught). */
  scriptFailures: string[]
  /** `node --test` run by the demo itself in the workspace at the end. */
  testsPassNow: boolean
}

export async function runSession(o: SessionOptions): Promise<Outcome> {
  const { ui } = o
  const { c } = ui
  const view = new EventView(ui)
  const outcome: Outcome = { api: o.api, testRuns: [], patched: false, denied: 0, scriptFailures: [], testsPassNow: false }
  const approvals = new Approvals(o.approvals, ui, view.callLabel, o.onInterrupt, o.signal)
  const harness = new ScriptHarness({
    tools: codingTools(o.workspace).map((tool) => observed(tool, view, outcome)),
    onApproval: approvals.decide,
    onEvent: view.onEvent,
    context: { workingDirectory: o.workspace, provider: o.api, model: o.model.label },
  })

  ui.line()
  ui.line(c.bold(`━━ ${o.title} · ${o.model.label} ━━`))
  ui.line(c.dim(`workspace ${o.workspace}`))
  ui.line(`${c.magenta('user ▸')} ${USER_REQUEST}`)
  try {
    let previous: ProcessedTurn | undefined
    for (let n = 1; ; n++) {
      const events = o.model.next(previous, o.signal)
      if (!events || o.signal.aborted) break
      ui.line(c.dim(`── turn ${n} ──`))
      ui.startText(c.magenta('assistant ▸ '))
      const stream = harness.stream(o.api, { signal: o.signal, context: { turnId: `turn-${n}` } })
      view.streaming = true
      for await (const event of events) ui.text(stream.push(event))
      view.streaming = false
      ui.endText()
      const turn = await stream.end()
      showTurn(ui, o.api, turn, view)
      for (const s of turn.scripts) {
        outcome.denied += s.toolCalls.filter((call) => call.status === 'denied').length
        if (!s.ok) outcome.scriptFailures.push(`${s.error?.code}: ${s.error?.message}`)
      }
      previous = turn
    }
  } finally {
    approvals.close()
    await harness.close()
  }
  outcome.testsPassNow = spawnSync(process.execPath, ['--test'], { cwd: o.workspace, stdio: 'ignore', timeout: 60_000 }).status === 0
  return outcome
}

/**
 * The tool as registered, plus bookkeeping for the display: each call's
 * result or error (the events carry neither), the test runs, and whether
 * the patch landed. The tool's behaviour is unchanged.
 */
function observed(tool: ToolDefinition, view: EventView, outcome: Outcome): ToolDefinition {
  return {
    ...tool,
    handler: async (args, ctx) => {
      try {
        const result = await tool.handler(args, ctx)
        view.outcomes.set(ctx.callId, { result })
        if (tool.name === 'applyPatch') outcome.patched = true
        const command = (args as ExecArgs).command
        if (tool.name === 'exec' && command?.includes('--test')) {
          outcome.testRuns.push({ file: command.at(-1)!, exitCode: (result as ExecResult).exitCode, afterPatch: outcome.patched })
        }
        return result
      } catch (err) {
        view.outcomes.set(ctx.callId, { error: err instanceof Error ? err.message : String(err) })
        throw err
      }
    },
  }
}

/** After a turn: what each script returned, the turn as history, and what goes back to the model. */
function showTurn<F extends ApiFormat>(ui: Terminal, api: F, turn: ProcessedTurn<F>, view: EventView): void {
  const { c } = ui
  for (const s of turn.scripts) {
    const n = view.scriptNumber(s.scriptId)
    if (s.ok) ui.line(`  ${c.green('⇒')} script ${n} returned ${c.dim(brief(s.value ?? null, 300))}`)
    else ui.line(`  ${c.red('⇒')} script ${n} failed: ${s.error?.code}${s.error?.line ? ` (line ${s.error.line})` : ''}`)
  }
  for (const p of turn.problems) {
    if (p.kind === 'unread') ui.line(c.yellow(`  ⚠ not read: ${p.message}`))
    else if (p.kind === 'unmatched') ui.line(c.yellow(`  ⚠ ${p.message}`))
    else ui.line(c.yellow(`  ⚠ ${p.kind} block at line ${p.line}: ${p.message}`))
  }
  ui.line(c.dim(`  history: ${turn.items.map((i) => i.type).join(' · ')}`))
  if (turn.continuation.length === 0) {
    ui.line(c.dim('  no scripts in this turn: nothing to send back, the conversation ends'))
    return
  }
  const text = continuationText(api, turn.continuation)
  const lines = text.split('\n')
  ui.line(c.dim(`  ↩ sent back with the next request, after the assistant turn: ${turn.continuation.length} user message, ${text.length} chars`))
  for (const l of lines.slice(0, 6)) ui.line(c.dim(`    ┆ ${brief(l, 110)}`))
  if (lines.length > 6) ui.line(c.dim(`    ┆ … ${lines.length - 6} more line${lines.length === 7 ? '' : 's'}`))
}

function continuationText<F extends ApiFormat>(api: F, continuation: ContinuationOf<F>[]): string {
  return continuation
    .map((m) => {
      const content = (m as { content: string | Array<{ text: string }> }).content
      return typeof content === 'string' ? content : content.map((part) => part.text).join('\n')
    })
    .join('\n')
}
