// Renders the harness's events as they happen: scripts starting (often while
// the model is still streaming), each tool call with its duration and
// outcome, console output of scripts, and how each script ended.
import type { HarnessEvent } from '../../index.js'
import { describeCall, describeResult } from './calls.ts'
import { brief, seconds, type Terminal } from './ui.ts'

export type CallOutcome = { result: unknown } | { error: string }

export class EventView {
  private scripts = new Map<string, number>()
  private calls = new Map<string, string>()
  /** Filled by the tool wrappers: what each call returned or threw, for its completion line. */
  readonly outcomes = new Map<string, CallOutcome>()
  /** Set by the session while it is still pushing the model's events. */
  streaming = false

  constructor(private readonly ui: Terminal) {}

  /** `#3`: calls are numbered in the order they start, across the session. */
  callLabel = (callId: string): string => {
    let label = this.calls.get(callId)
    if (!label) this.calls.set(callId, (label = `#${this.calls.size + 1}`))
    return label
  }

  scriptNumber(scriptId: string): number {
    let n = this.scripts.get(scriptId)
    if (!n) this.scripts.set(scriptId, (n = this.scripts.size + 1))
    return n
  }

  onEvent = (e: HarnessEvent): void => {
    const { c } = this.ui
    switch (e.type) {
      case 'script_started':
        this.ui.line(
          c.cyan(`  ┌ script ${this.scriptNumber(e.scriptId)} started`) +
            c.dim(` (${e.language}, sha256 ${e.scriptHash.slice(0, 12)}…${this.streaming ? ', the model is still streaming' : ''})`),
        )
        break
      case 'tool_call_started':
        this.ui.line(`  │ ${c.dim('→')} ${this.callLabel(e.callId)} ${c.cyan(e.toolName)} ${describeCall(e.toolName, e.args)}`)
        break
      case 'approval_resolved':
        if (e.decision === 'timeout') this.ui.line(c.yellow('  │   an approval timed out'))
        break
      case 'tool_call_completed': {
        const outcome = this.outcomes.get(e.callId)
        const detail = e.status === 'ok' && outcome && 'result' in outcome ? describeResult(e.toolName, outcome.result) : outcome && 'error' in outcome ? brief(outcome.error, 120) : ''
        const status = e.status === 'ok' ? c.green('ok') : e.status === 'denied' ? c.yellow('denied') : c.red(e.status)
        this.ui.line(`  │ ${c.dim('←')} ${this.callLabel(e.callId)} ${e.toolName} ${status} ${c.dim(seconds(e.durationMs))}${detail ? c.dim(' · ' + detail) : ''}`)
        break
      }
      case 'console': {
        const paint = e.level === 'error' ? c.red : e.level === 'warn' ? c.yellow : (s: string) => s
        this.ui.line(`  │ ${c.dim(`console.${e.level}:`)} ${paint(e.message)}`)
        break
      }
      case 'progress':
        this.ui.line(`  │ ${c.dim('progress:')} ${e.message}`)
        break
      case 'script_completed': {
        const n = this.scriptNumber(e.scriptId)
        if (e.ok) this.ui.line(c.cyan(`  └ script ${n} `) + c.green('ok') + c.dim(` in ${seconds(e.durationMs)}`))
        else this.ui.line(c.cyan(`  └ script ${n} `) + c.red(`failed: ${e.error?.code}${e.error?.line ? ` at line ${e.error.line}` : ''}: ${brief(e.error?.message ?? '', 200)}`))
        break
      }
      case 'approval_requested':
        break // the approval handler prints the question or the automatic answer
    }
  }
}
