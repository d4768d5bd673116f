// The host side of tool calls: the engine's messages arrive here in
// batches (one thread hop each); handlers run, approvals are asked, and
// every call is answered through the link. Everything here runs on the
// Node main thread. The engine's gate decides, at the moment something of
// a call is about to start, whether its script is still live: a cancel,
// close() or deadline wins every race with messages still on their way.
import { Journal, type JournalEntry, type Replay, type SnapshotPayload, type WaitingCall, divergence, divergedResult, seal, suspendedResult, unsuspendableResult } from './durable.js'
import { detailsOf, issuesText, messageOf, reasonText } from './errors.js'
import type { CallToken, NativeLink } from './native.js'
import type { HarnessParts, HostTool } from './options.js'
import type { ApprovalRequest, HarnessEvent, ScriptResult, ToolContext } from './types.js'

/** The engine's messages, as `Outgoing` in crates/core/src/host.rs serializes them. */
export type EngineMessage =
  | CallMessage
  | { t: 'abort'; token: CallToken; reason: string }
  | { t: 'event'; run: number; event: HarnessEvent }
  | { t: 'done'; run: number; result: ScriptResult }
  | { t: 'idle'; run: number; delivered: number }

interface CallMessage {
  t: 'call'
  token: CallToken
  /** Index of the tool in the harness's list. */
  tool: number
  toolName: string
  scriptId: string
  /** For tools that may need approval (the engine leaves it out of other calls). */
  scriptHash?: string
  callId: string
  args: unknown
  /** For tools that may need approval, as `scriptHash`. */
  approvalTimeoutMs?: number
  maxResultBytes: number
  /** For tools that may need approval: `args` with secrets redacted. */
  displayArgs?: unknown
  line?: number
  /** `args` as JSON text, made once for a durable run's journal and checks (`argsText`). */
  argsJson?: string
}

/** A call's arguments as JSON text: what a durable run journals and a replay compares. */
function argsText(m: CallMessage): string {
  return (m.argsJson ??= JSON.stringify(m.args))
}

/** What a run that may be suspended keeps (the harness has a `snapshotKey`). */
export interface DurableRun {
  key: Buffer
  source: string
  context: Record<string, string> | undefined
  limits: string | undefined
  journal: Journal
  /** Every call the script made that reached the host, by index: what a snapshot checks a replay's unfinished calls against. */
  issued: Map<number, { tool: string; args: string }>
  /** The call whose approval suspended the run, once one did. The run is
   *  cancelled once none of its handlers runs any more (their results are
   *  journaled first): `suspensionSent`. */
  suspended?: WaitingCall
  suspensionSent?: boolean
  /** Answers sent to the engine for this run (a replay compares them with what was delivered). */
  answered: number
  /** A resumed run, until its journal is answered and its waiting call made again. */
  replay?: Replay<CallMessage>
  /** Why a resumed run left its journal. */
  diverged?: string
  scriptId?: string
}

/** The link's methods a call answers through: the engine's, or one that also journals. */
type CallLink = Pick<NativeLink, 'resolve' | 'reject' | 'skip' | 'mayAskApproval' | 'mayRun' | 'approvalPending'>

interface PendingRun {
  resolve: (result: ScriptResult) => void
  durable: DurableRun | undefined
  /** The tools the run was started with: its calls' indexes are into these. */
  tools: HostTool[]
  signal: AbortSignal | undefined
  /** The run's own listener (`RunOptions.onEvent`). */
  onEvent: ((event: HarnessEvent) => void) | undefined
  onAbort: (() => void) | undefined
  /** The signal's own reason, once it aborted the run: its calls get it. */
  cancelled: boolean
  cancelReason: unknown
}

class PendingCall {
  /** Made when a handler first reads `ctx.signal`: most calls finish without anyone looking. */
  controller: AbortController | undefined = undefined
  /** Why the call was aborted, once it was. */
  reason: unknown = undefined
  constructor(readonly run: number) {}

  signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController()
      if (this.reason !== undefined) this.controller.abort(this.reason)
    }
    return this.controller.signal
  }
}

/** The `ctx` a handler gets: its signal made only when read. */
function toolContext(m: CallMessage, call: PendingCall): ToolContext {
  return {
    get signal() {
      return call.signal()
    },
    scriptId: m.scriptId,
    callId: m.callId,
    toolName: m.toolName,
  }
}

type Decision = 'approved' | 'denied' | 'timeout' | 'suspended'

class ApprovalTimeout extends Error {}

// JSON.stringify drops functions and symbols without a word; a tool result
// that holds one is refused instead, as arguments are.
function strictJson(_key: string, v: unknown): unknown {
  const t = typeof v
  if (t === 'function' || t === 'symbol') throw new TypeError(`it holds a ${t}`)
  return v
}

export class ToolHost {
  readonly #link: NativeLink
  /** The tools runs started from now on get. */
  #tools: HostTool[]
  readonly #onEvent: HarnessParts['onEvent']
  readonly #onApproval: HarnessParts['onApproval']
  readonly #runs = new Map<number, PendingRun>()
  readonly #calls = new Map<string, PendingCall>()
  /** Calls whose approval a person is deciding: how to answer 'suspended' for them (`harness.suspend`). */
  readonly #deciding = new Map<string, () => void>()
  #approvals = 0

  constructor(link: NativeLink, parts: HarnessParts) {
    this.#link = link
    this.#tools = parts.tools
    this.#onEvent = parts.onEvent
    this.#onApproval = parts.onApproval
  }

  /** Tool calls handed to a handler or an approval whose answer is awaited. */
  get pendingCalls(): number {
    return this.#calls.size
  }

  /** Runs started from now on call `tools` (as the engine's `setTools`). */
  setTools(tools: HostTool[]): void {
    this.#tools = tools
  }

  /** The promise of run `run`'s result; `signal` cancels it; `onEvent` hears its events. */
  begin(run: number, signal: AbortSignal | undefined, onEvent?: (event: HarnessEvent) => void, durable?: DurableRun): Promise<ScriptResult> {
    return new Promise((resolve) => {
      const entry: PendingRun = { resolve, durable, tools: this.#tools, signal, onEvent, onAbort: undefined, cancelled: false, cancelReason: undefined }
      this.#runs.set(run, entry)
      if (signal !== undefined) {
        entry.onAbort = () => {
          entry.cancelled = true
          entry.cancelReason = signal.reason
          this.#link.cancel(run, reasonText(signal.reason))
        }
        if (signal.aborted) entry.onAbort()
        else signal.addEventListener('abort', entry.onAbort, { once: true })
      }
    })
  }

  /** Resolves once every run pending now has settled. */
  settled(): Promise<void> {
    return Promise.all(
      [...this.#runs.values()].map(
        (r) =>
          new Promise<void>((done) => {
            const inner = r.resolve
            r.resolve = (v) => {
              inner(v)
              done()
            }
          }),
      ),
    ).then(() => undefined)
  }

  /** A batch of the engine's messages (JSON), in order. */
  dispatch(batch: string): void {
    for (const m of JSON.parse(batch) as EngineMessage[]) {
      // One message that fails (host code that throws where it should not)
      // must not drop the rest of the batch: other calls, other runs' results.
      try {
        switch (m.t) {
          case 'call': this.#startCall(m); break
          case 'abort': this.#abortCall(m.token, m.reason); break
          case 'event': this.#emit(m.event, m.run); break
          case 'done': this.#finish(m.run, m.result); break
          case 'idle': this.#idle(m.run, m.delivered); break
        }
      } catch (e) {
        if (m.t === 'call') {
          // Its start failed here: it ends as a tool error rather than
          // leaving its script waiting.
          this.#calls.delete(keyOf(m.token))
          this.#linkFor(m).reject(m.token, 'ToolExecutionError', messageOf(e))
        }
      }
    }
  }

  /** The link a call answers through: for a durable run, one that journals what it answers. */
  #linkFor(m: CallMessage): CallLink {
    const durable = this.#runs.get(m.token.run)?.durable
    if (durable === undefined) return this.#link
    const inner = this.#link
    const { journal } = durable
    const args = argsText(m)
    const record = (entry: Omit<JournalEntry, 'tool' | 'args'>) => {
      // Finished: the journal holds its arguments now.
      if (journal.record(m.token.call, { tool: m.toolName, args, ...entry })) durable.issued.delete(m.token.call)
    }
    // A suspension waits for the run's running handlers: one just ended.
    const ended = () => {
      if (durable.suspended !== undefined) this.#sendSuspension(m.token.run)
    }
    return {
      resolve: (token, json) => {
        record({ ok: json ?? null })
        durable.answered++
        inner.resolve(token, json)
        ended()
      },
      reject: (token, code, message, details) => {
        record(details == null ? { error: { code, message } } : { error: { code, message, details } })
        durable.answered++
        inner.reject(token, code, message, details)
        ended()
      },
      skip: (token) => {
        inner.skip(token)
        ended()
      },
      mayAskApproval: (token) => inner.mayAskApproval(token),
      mayRun: (token) => inner.mayRun(token),
      approvalPending: (token, pending) => inner.approvalPending(token, pending),
    }
  }

  #startCall(m: CallMessage, preApproved = false): void {
    const { token } = m
    const key = keyOf(token)
    const run = this.#runs.get(token.run)
    // The tool as the run knows it: the tools may have changed since it started.
    const tool = run?.tools[m.tool]
    if (run === undefined || tool === undefined) {
      // A call of a run no longer pending (its result was delivered): nothing starts.
      this.#link.skip(token)
      return
    }
    const durable = run.durable
    if (durable !== undefined) {
      durable.scriptId ??= m.scriptId
      if (!preApproved) durable.issued.set(token.call, { tool: m.toolName, args: argsText(m) })
      // Being suspended: a new call waits (the cancel aborts it; a resumption runs it live).
      if (durable.suspended !== undefined) return
    }
    // A resumed run: its journal answers until the script is where it was suspended.
    const replay = durable?.replay
    if (replay !== undefined && !replay.released) {
      this.#replayCall(m, run)
      return
    }
    const link = this.#linkFor(m)
    const call = new PendingCall(token.run)
    this.#calls.set(key, call)
    const ctx = toolContext(m, call)
    // The common call (no approval to ask, no schema library to run): no
    // closures made for it.
    if ((tool.approval === 'never' || preApproved) && tool.validator === undefined) {
      this.#start(m, key, call, tool, ctx, link, m.args)
      return
    }
    const deny = (code: string, message: string) => {
      this.#calls.delete(key)
      link.reject(token, code, message)
    }
    // Not started: the engine hears it, so a script that ended does not
    // wait out its grace period for a call that will never answer.
    const skip = () => {
      this.#calls.delete(key)
      link.skip(token)
    }
    const start = (args: unknown) => this.#start(m, key, call, tool, ctx, link, args)
    // A Standard Schema's own validation runs last (the JSON Schema view
    // was checked by the engine already): refinements, and the parsed value
    // (defaults, transforms) is what the handler gets.
    const runHandler = () => {
      const std = tool.validator
      if (std === undefined) return start(m.args)
      const invalid = (why: string) => deny('ToolValidationError', `tools.${m.toolName}: ${why}`)
      // The result is the schema library's (or a hostile host's) object:
      // a getter of it that throws fails the call, never the process.
      const checked = (r: unknown) => {
        let issues: unknown
        let value: unknown
        let valid = false
        try {
          if (r !== null && typeof r === 'object') {
            issues = (r as { issues?: unknown }).issues
            if (!Array.isArray(issues) && 'value' in r) {
              value = (r as { value: unknown }).value
              valid = true
            }
          }
        } catch (e) {
          invalid(`its schema's validation threw: ${messageOf(e)}`)
          return
        }
        if (Array.isArray(issues)) invalid(issuesText(issues))
        else if (valid) start(value)
        else invalid("its schema's validation gave no result")
      }
      let r: unknown
      try {
        r = std['~standard'].validate(m.args)
      } catch (e) {
        invalid(`its schema's validation threw: ${messageOf(e)}`)
        return
      }
      if (r !== null && typeof r === 'object' && typeof (r as { then?: unknown }).then === 'function') {
        Promise.resolve(r).then(checked, (e) => invalid(`its schema's validation threw: ${messageOf(e)}`))
      } else checked(r)
    }
    if (tool.approval === 'never' || preApproved) {
      runHandler()
      return
    }
    // The engine sends what a person is shown with every call of a tool
    // that may need approval; without it (a bug) the call fails, unasked.
    if (m.scriptHash === undefined || m.approvalTimeoutMs === undefined) {
      deny('HarnessInternalError', `tools.${m.toolName} was not run: its approval request is incomplete (a bug: please report it)`)
      return
    }
    // A stopped script's approval is never asked, nor its predicate run.
    const stillLive = () => call.reason === undefined && link.mayAskApproval(token)
    if (!stillLive()) {
      skip()
      return
    }
    this.#needsApproval(m, tool)
      .then((needed) => {
        if (!needed) return runHandler()
        if (!stillLive()) return skip()
        return this.#askApproval(m, call.signal(), stillLive, run.durable !== undefined).then((decision) => {
          if (decision === 'suspended') this.#suspend(run, m)
          else if (decision === 'approved') runHandler()
          else if (decision === 'timeout') deny('ApprovalTimeoutError', `no answer to the approval request for tools.${m.toolName} within ${m.approvalTimeoutMs} ms`)
          else deny('ApprovalDeniedError', `the user denied tools.${m.toolName}`)
        })
      })
      .catch((e) =>
        e instanceof ApprovalTimeout
          ? deny('ApprovalTimeoutError', `the approval check for tools.${m.toolName} did not answer within ${m.approvalTimeoutMs} ms`)
          : deny('ApprovalDeniedError', `the approval check for tools.${m.toolName} failed`),
      )
  }

  // Resolves true when the call must be approved; rejects when the
  // predicate throws or rejects, which denies the call (the contract). A
  // predicate answer other than false asks: doubt never skips approval. The
  // predicate gets its own copy of the arguments (the handler gets exactly
  // what was approved) and `approvalTimeoutMs` to answer.
  #needsApproval(m: CallMessage, tool: HostTool): Promise<boolean> {
    if (tool.approval === 'always' || tool.predicate === undefined) return Promise.resolve(true)
    let answer: unknown
    try {
      answer = tool.predicate(structuredClone(m.args))
    } catch (e) {
      return Promise.reject(e)
    }
    let settled: Promise<unknown>
    try {
      // A promise whose `constructor` getter throws: the call is denied
      // now, with no timer left behind.
      settled = Promise.resolve(answer)
    } catch (e) {
      return Promise.reject(e)
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new ApprovalTimeout()), m.approvalTimeoutMs)
      settled.then(
        (v) => {
          clearTimeout(timer)
          resolve(v !== false)
        },
        (e) => {
          clearTimeout(timer)
          reject(e)
        },
      )
    })
  }

  // Resolves to 'approved', 'denied' or 'timeout'; anything but 'approved'
  // or true from onApproval, and any throw, denies.
  #askApproval(m: CallMessage, signal: AbortSignal, stillLive: () => boolean, durable: boolean): Promise<Decision> {
    const request: ApprovalRequest = {
      requestId: `${m.callId}-a${++this.#approvals}`,
      scriptId: m.scriptId,
      callId: m.callId,
      toolName: m.toolName,
      args: m.displayArgs,
      scriptHash: m.scriptHash ?? '',
    }
    if (m.line !== undefined) request.line = m.line
    this.#emit({ type: 'approval_requested', scriptId: m.scriptId, timestamp: Date.now(), request }, m.token.run)
    const resolved = (decision: Decision): Decision => {
      this.#emit({ type: 'approval_resolved', scriptId: m.scriptId, timestamp: Date.now(), requestId: request.requestId, decision }, m.token.run)
      return decision
    }
    const onApproval = this.#onApproval
    // No one is asked for a script stopped meanwhile (onEvent may have
    // stopped it on approval_requested).
    if (onApproval === undefined || !stillLive()) return Promise.resolve(resolved('denied'))
    // While a person decides, the script's clock is paused.
    const { token } = m
    const link = this.#link
    link.approvalPending(token, true)
    return new Promise((resolve) => {
      let done = false
      const finish = (d: Decision) => {
        if (done) return
        done = true
        this.#deciding.delete(keyOf(token))
        // Stopped while the person decided: the call is denied, and
        // reported so, whatever the answer.
        if ((d === 'approved' || d === 'suspended') && !stillLive()) d = 'denied'
        clearTimeout(timer)
        signal.removeEventListener('abort', onAbort)
        link.approvalPending(token, false)
        resolve(resolved(d))
      }
      const timer = setTimeout(() => finish('timeout'), m.approvalTimeoutMs)
      if (durable) {
        this.#deciding.set(keyOf(token), () => finish('suspended'))
        // A suspension waiting for running handlers need not wait for a person.
        this.#sendSuspension(token.run)
      }
      const onAbort = () => finish('denied')
      signal.addEventListener('abort', onAbort, { once: true })
      try {
        Promise.resolve(onApproval(request)).then(
          // 'suspend' suspends only where a snapshot can be written (a
          // snapshotKey); anywhere else it denies, like any other answer.
          (a) => finish(a === 'approved' || a === true ? 'approved' : a === 'suspend' && durable ? 'suspended' : 'denied'),
          () => finish('denied'),
        )
      } catch {
        // A throw, or an answer whose `then` or `constructor` throws.
        finish('denied')
      }
    })
  }

  /** Runs the handler, unless the call was stopped first (then the engine hears it was not started). */
  #start(m: CallMessage, key: string, call: PendingCall, tool: HostTool, ctx: ToolContext, link: CallLink, args: unknown): void {
    const { token } = m
    if (call.reason !== undefined || !link.mayRun(token)) {
      this.#calls.delete(key)
      link.skip(token)
      return
    }
    let out: unknown
    try {
      out = tool.handler(args, ctx)
    } catch (e) {
      this.#fail(m, key, link, e)
      return
    }
    this.#settleCall(m, key, out, link)
  }

  #settleCall(m: CallMessage, key: string, out: unknown, link: CallLink): void {
    // A plain value is answered at once; a thenable when it settles.
    let then: unknown
    try {
      then = out !== null && (typeof out === 'object' || typeof out === 'function') ? (out as { then?: unknown }).then : undefined
    } catch (e) {
      this.#fail(m, key, link, e)
      return
    }
    if (typeof then !== 'function') this.#reply(m, key, link, out)
    else {
      try {
        Promise.resolve(out).then(
          (value) => this.#reply(m, key, link, value),
          (e) => this.#fail(m, key, link, e),
        )
      } catch (e) {
        // A promise whose `constructor` getter throws.
        this.#fail(m, key, link, e)
      }
    }
  }

  #reply(m: CallMessage, key: string, link: CallLink, value: unknown): void {
    this.#calls.delete(key)
    let json: string | undefined
    try {
      json = value === undefined ? undefined : JSON.stringify(value, strictJson)
    } catch (e) {
      link.reject(m.token, 'ToolExecutionError', `tools.${m.toolName} returned a value that is not JSON: ${messageOf(e)}`)
      return
    }
    // UTF-16 units never outnumber UTF-8 bytes: longer is surely over the
    // limit, and is refused before it crosses (the engine checks the exact
    // byte count).
    if (json !== undefined && json.length > m.maxResultBytes) {
      link.reject(m.token, 'ToolExecutionError', `tools.${m.toolName}: the tool returned more than ${m.maxResultBytes} bytes of JSON (maxToolResultBytes)`)
      return
    }
    link.resolve(m.token, json)
  }

  #fail(m: CallMessage, key: string, link: CallLink, e: unknown): void {
    this.#calls.delete(key)
    link.reject(m.token, 'ToolExecutionError', messageOf(e), detailsOf(e))
  }

  /**
   * Suspend `scriptId`: true when every call it has with the host is
   * awaiting a person's approval (the first is answered 'suspend'); false
   * when it is not a durable run of this harness, or some call is not.
   */
  suspend(scriptId: string): boolean {
    // One snapshot resumed twice runs twice under one id: the first of
    // them that can be suspended is.
    for (const [run, entry] of this.#runs) {
      if (entry.durable?.scriptId !== scriptId || entry.durable.suspended !== undefined) continue
      const keys = [...this.#calls].filter(([, c]) => c.run === run).map(([k]) => k)
      if (keys.length === 0 || !keys.every((k) => this.#deciding.has(k))) continue
      this.#deciding.get(keys[0]!)!()
      return true
    }
    return false
  }

  // A person answered 'suspend': the run stops (its other calls are
  // aborted, and what settles from now on is not journaled) and its result
  // becomes a snapshot when the engine delivers it.
  #suspend(run: PendingRun, m: CallMessage): void {
    const durable = run.durable!
    this.#calls.delete(keyOf(m.token))
    // A second 'suspend' (two approvals, or suspend() then an answer):
    // the first call is the waiting one; this one is asked again on resuming.
    if (durable.suspended === undefined) durable.suspended = { call: m.token.call, tool: m.toolName, args: argsText(m) }
    this.#sendSuspension(m.token.run)
  }

  // The run stops once no handler of it runs: a handler approved and
  // running has its result journaled first, so that a resumption never
  // runs it again. Calls awaiting a person are asked again on resuming.
  #sendSuspension(runNumber: number): void {
    const durable = this.#runs.get(runNumber)?.durable
    if (durable?.suspended === undefined || durable.suspensionSent) return
    for (const [key, call] of this.#calls) if (call.run === runNumber && !this.#deciding.has(key)) return
    durable.suspensionSent = true
    durable.journal.closed = true
    this.#link.cancel(runNumber, 'the script was suspended')
  }

  // A call of a resumed run whose journal is not all answered yet.
  #replayCall(m: CallMessage, run: PendingRun): void {
    const durable = run.durable!
    const replay = durable.replay!
    const call = m.token.call
    const args = argsText(m)
    const recorded = replay.calls.get(call)
    // Not finished when it was suspended, but made: the same call (its
    // arguments where the host saw them) or the replay left its path.
    const unfinished = replay.inFlight.get(call)
    const expected = recorded ?? (call === replay.waiting.call ? replay.waiting : unfinished)
    const why =
      expected === undefined
        ? `call ${call + 1} of the script (tools.${m.toolName}) was not made before it was suspended`
        : divergence(expected, call, m.toolName, args)
    if (why !== undefined) {
      this.#diverge(run, m.token.run, why)
      return
    }
    if (recorded !== undefined) replay.issued.set(call, m)
    else if (call === replay.waiting.call) replay.waitingCall = m
    else replay.held.push(m)
    this.#pump(run)
  }

  // Answer the journal's calls in the order they settled the first time,
  // each once the script has made it again; then the waiting call with the
  // decision, then the calls made meanwhile, live.
  #pump(run: PendingRun): void {
    const replay = run.durable!.replay!
    for (let next = replay.takeNext(); next !== undefined; next = replay.takeNext()) {
      const [m, entry] = next
      const link = this.#linkFor(m)
      if (entry.error !== undefined) link.reject(m.token, entry.error.code, entry.error.message, entry.error.details)
      else link.resolve(m.token, entry.ok ?? undefined)
    }
    if (!replay.done || replay.waitingCall === undefined || replay.released) return
    replay.released = true
    const waiting = replay.waitingCall
    this.#emit(
      { type: 'approval_resolved', scriptId: waiting.scriptId, timestamp: Date.now(), requestId: `${waiting.callId}-resumed`, decision: replay.decision },
      waiting.token.run,
    )
    if (replay.decision === 'approved') this.#startCall(waiting, true)
    else this.#linkFor(waiting).reject(waiting.token, 'ApprovalDeniedError', `the user denied tools.${waiting.toolName}`)
    for (const m of replay.held.splice(0).sort((a, b) => a.token.call - b.token.call)) this.#startCall(m)
  }

  // The resumed script waits on its calls, with every answer sent to it
  // delivered and nothing else to run. Before its replay is done, that
  // means it will not make the call the journal answers next (or the one it
  // was suspended at): it left its path, and would wait to its time limit.
  #idle(runNumber: number, delivered: number): void {
    const run = this.#runs.get(runNumber)
    const durable = run?.durable
    const replay = durable?.replay
    if (run === undefined || durable === undefined || replay === undefined || replay.released || durable.diverged !== undefined) return
    if (delivered !== durable.answered) return
    const next = replay.next
    this.#diverge(
      run,
      runNumber,
      replay.done
        ? `it waits without making again the call it was suspended at (call ${replay.waiting.call + 1}, tools.${replay.waiting.tool})`
        : `it waits without making again call ${next + 1} (tools.${replay.calls.get(next)!.tool}), which had finished before it was suspended`,
    )
  }

  #diverge(run: PendingRun, runNumber: number, why: string): void {
    const durable = run.durable!
    if (durable.diverged !== undefined) return
    durable.diverged = why
    durable.journal.closed = true
    this.#link.cancel(runNumber, 'the resumed script left its journal')
  }

  #abortCall(token: CallToken, why: string): void {
    const key = keyOf(token)
    const call = this.#calls.get(key)
    if (call === undefined) return
    this.#calls.delete(key)
    // A run cancelled through its signal (or a stream's abort) hands its
    // calls the signal's own reason; otherwise an AbortError says why.
    const run = this.#runs.get(token.run)
    let reason: unknown
    if (run !== undefined && run.cancelled) reason = run.cancelReason
    else {
      const error = new Error(why)
      error.name = 'AbortError'
      reason = error
    }
    call.reason = reason
    if (call.controller !== undefined) call.controller.abort(reason)
  }

  /** To the harness's listener, then to run `run`'s. */
  #emit(event: HarnessEvent, run: number): void {
    tell(this.#onEvent, event)
    tell(this.#runs.get(run)?.onEvent, event)
  }

  #finish(run: number, result: ScriptResult): void {
    const entry = this.#runs.get(run)
    if (entry === undefined) return
    this.#runs.delete(run)
    const replayRecord = (result as { replay?: { seed: string; clock: { ms: number; count: number }[] | null } }).replay
    delete (result as { replay?: unknown }).replay
    if (entry.durable !== undefined) result = durableOutcome(entry.durable, result, replayRecord)
    try {
      if (entry.signal !== undefined && entry.onAbort !== undefined) entry.signal.removeEventListener('abort', entry.onAbort)
    } finally {
      entry.resolve(result)
    }
  }
}

function tell(listener: ((event: HarnessEvent) => void) | undefined, event: HarnessEvent): void {
  if (listener === undefined) return
  try {
    const r: unknown = listener(event)
    // An async callback that rejects is ignored like one that throws.
    if (r !== null && typeof r === 'object' && typeof (r as { then?: unknown }).then === 'function') {
      ;(r as Promise<unknown>).then(undefined, () => {})
    }
  } catch {
    // An event callback that throws must not break the script.
  }
}

/** What a durable run's result becomes: a snapshot when it was suspended, an error when its replay diverged. */
function durableOutcome(d: DurableRun, result: ScriptResult, replay: { seed: string; clock: { ms: number; count: number }[] | null } | undefined): ScriptResult {
  if (d.diverged !== undefined) return divergedResult(result, d.diverged)
  const code = result.error?.code
  if (d.replay !== undefined && !d.replay.released && d.suspended === undefined) {
    const left =
      d.replay.missing > 0
        ? `${d.replay.missing} of the calls it had made before it was suspended`
        : `the call it was suspended at (tools.${d.replay.waiting.tool})`
    // Stopped from outside (a cancel, a limit): that is the result; the
    // snapshot is as good as before.
    if (code === 'ScriptTimeoutError' && result.error !== undefined) {
      return { ...result, error: { ...result.error, message: `${result.error.message} (while replaying its snapshot, before making again ${left})` } }
    }
    if (code === 'ScriptCancelledError' || code === 'ScriptMemoryError' || code === 'ScriptStackOverflowError' || code === 'HarnessInternalError') return result
    return divergedResult(result, `it ended without making again ${left}`)
  }
  // Suspended means stopped by the suspension: a script that ended on its
  // own meanwhile (it did not wait for the call) ended, and that is its result.
  if (d.suspended === undefined || !d.suspensionSent || code !== 'ScriptCancelledError') return result
  if (replay === undefined || replay.clock === null) return unsuspendableResult(result, 'it read the clock too many times to replay')
  const payload: SnapshotPayload = {
    v: 1,
    kind: 'script',
    source: d.source,
    seed: replay.seed,
    clock: replay.clock.map((r) => [r.ms, r.count]),
    calls: [...d.journal.calls],
    order: d.journal.order,
    inFlight: inFlightCalls(d, result),
    waiting: d.suspended,
    scriptId: d.scriptId ?? result.scriptId,
  }
  if (d.context !== undefined) payload.context = d.context
  if (d.limits !== undefined) payload.limits = d.limits
  let snapshot: string
  try {
    snapshot = seal(d.key, payload)
  } catch (e) {
    return unsuspendableResult(result, messageOf(e))
  }
  return suspendedResult(result, d.suspended, snapshot)
}

/**
 * The calls a suspended script had made that neither finished nor are the
 * waiting one: aborted by the suspension (or still queued in the engine),
 * they run live on resuming, and a replay must make them again as they were.
 * Arguments are known where the host saw the call; otherwise only the tool.
 */
function inFlightCalls(d: DurableRun, result: ScriptResult): [number, string, string | null][] {
  const out: [number, string, string | null][] = []
  result.toolCalls.forEach((record, call) => {
    if (d.journal.calls.has(call) || call === d.suspended?.call) return
    if (record.status !== 'aborted') return
    out.push([call, record.toolName, d.issued.get(call)?.args ?? null])
  })
  return out
}

function keyOf(t: CallToken): string {
  return `${t.worker}:${t.script}:${t.call}`
}
