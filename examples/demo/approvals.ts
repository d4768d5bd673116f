// Answers the harness's approval requests: asks in a terminal, or applies
// --yes / --no, or approves when nobody is there to ask.
import { createInterface, type Interface } from 'node:readline/promises'
import type { ApprovalDecision, ApprovalRequest } from '../../index.js'
import type { ApprovalPolicy } from './args.ts'
import { describeCall, patchPreview } from './calls.ts'
import type { Terminal } from './ui.ts'

export const POLICY_NOTE: Record<ApprovalPolicy, string> = {
  ask: 'approvals: you are asked (y/n) before each exec and applyPatch call',
  yes: 'approvals: --yes, every exec and applyPatch call is approved',
  no: "approvals: --no, every exec and applyPatch call is denied (the model's scripts catch ApprovalDeniedError)",
  auto:
    'approvals: stdin is not a terminal and neither --yes nor --no was given, so every call is approved: ' +
    'the workspace is a throwaway copy in a temp directory',
}

export class Approvals {
  private rl: Interface | undefined
  /** Questions are asked one at a time; parallel calls wait their turn here. */
  private queue: Promise<unknown> = Promise.resolve()

  constructor(
    private readonly policy: ApprovalPolicy,
    private readonly ui: Terminal,
    /** `#2` for a call id, as the event lines name calls. */
    private readonly label: (callId: string) => string,
    private readonly onInterrupt: () => void,
    /** Stopping the demo withdraws an open question (and so releases the output it holds). */
    private readonly signal: AbortSignal,
  ) {}

  decide = (req: ApprovalRequest): Promise<ApprovalDecision> => {
    const { c } = this.ui
    const who = `${this.label(req.callId)} ${req.toolName}`
    switch (this.policy) {
      case 'yes':
      case 'auto':
        this.ui.line(c.dim(`  │   ${who} approved (${this.policy === 'yes' ? '--yes' : 'auto'})`))
        return Promise.resolve('approved')
      case 'no':
        this.ui.line(c.yellow(`  │   ${who} denied (--no)`))
        return Promise.resolve('denied')
      case 'ask': {
        const answer = this.queue.then(() => this.ask(req, who))
        this.queue = answer.catch(() => undefined)
        return answer
      }
    }
  }

  private async ask(req: ApprovalRequest, who: string): Promise<ApprovalDecision> {
    const { c } = this.ui
    this.ui.hold()
    try {
      this.ui.direct('\n' + c.yellow(`  ? ${who} wants to run`) + (req.line ? c.dim(` (script line ${req.line})`) : '') + ':\n')
      const preview = req.toolName === 'applyPatch' ? patchPreview(req.args, c) : `      ${describeCall(req.toolName, req.args)}`
      this.ui.direct(preview + '\n')
      this.rl ??= this.open()
      const answer = (await this.rl.question(c.yellow('    allow? [y/N] '), { signal: this.signal })).trim().toLowerCase()
      const approved = answer === 'y' || answer === 'yes'
      this.ui.direct(approved ? c.green('    approved\n') : c.yellow('    denied\n'))
      return approved ? 'approved' : 'denied'
    } finally {
      this.ui.release()
    }
  }

  private open(): Interface {
    const rl = createInterface({ input: process.stdin, output: process.stdout })
    // Ctrl-C at the prompt stops the demo (readline would otherwise swallow it).
    rl.on('SIGINT', this.onInterrupt)
    return rl
  }

  close(): void {
    this.rl?.close()
    this.ui.release()
  }
}
