// Durable scripts: a script waiting for a person is written down as a
// sealed snapshot (its source, run options, seed and clock readings, and
// the journal of its finished tool calls) and the harness lets go of it.
// `resume` runs it again with every finished call answered from the
// journal, in the order the calls settled the first time, then answers the
// waiting call with the person's decision and goes on live. A script has
// no I/O, timers or clock of its own, so the replay takes the same path.
import { binding } from './native.js'
import { type ApiFormat, SnapshotError, type ScriptResult } from './types.js'

/** The snapshot format this package writes and reads. */
export const SNAPSHOT_VERSION = 1

/** One finished call: what the script asked, and what it got. */
export interface JournalEntry {
  tool: string
  /** The arguments as JSON text, as the script sent them. */
  args: string
  /** The result as JSON text, `null` for none; absent when the call failed. */
  ok?: string | null
  error?: { code: string; message: string; details?: string }
}

/** The call a suspended script waits on. */
export interface WaitingCall {
  call: number
  tool: string
  args: string
}

/** What a script's snapshot holds. */
export interface SnapshotPayload {
  v: typeof SNAPSHOT_VERSION
  kind: 'script'
  source: string
  /** The run's own `context` and `limits` options, as the engine took them. */
  context?: Record<string, string>
  limits?: string
  seed: string
  /** Clock readings, `[ms, count]`. */
  clock: [number, number][]
  /** Finished calls by their index in the script, and the order they settled in. */
  calls: [number, JournalEntry][]
  order: number[]
  waiting: WaitingCall
  /** Calls made but not finished, other than the waiting one: `[call, tool, args or null]`. */
  inFlight: [number, string, string | null][]
  scriptId: string
}

/** What a turn's snapshot holds: the turn, the results of the scripts before the suspended one, and its snapshot. */
export interface TurnPayload {
  v: typeof SNAPSHOT_VERSION
  kind: 'turn'
  format: ApiFormat
  /** The assembled response, as JSON. */
  response: string
  /** The turn's options: limits (JSON) and context, and stopAfterFailure. */
  limits?: string
  context?: Record<string, string>
  stopAfterFailure: boolean
  results: ScriptResult[]
  script: string
}

/** The finished calls of a durable run, recorded as they settle. */
export class Journal {
  readonly calls = new Map<number, JournalEntry>()
  readonly order: number[] = []
  /** Set when the run is suspended: what settles after is not what the script saw. */
  closed = false

  /** Whether it was recorded (not after the run was suspended, nor twice). */
  record(call: number, entry: JournalEntry): boolean {
    if (this.closed || this.calls.has(call)) return false
    this.calls.set(call, entry)
    this.order.push(call)
    return true
  }
}

/** The replay of a resumed run: which journal answer goes next, and the calls held until the journal is done. */
export class Replay<M> {
  readonly calls: Map<number, JournalEntry>
  readonly order: number[]
  readonly waiting: WaitingCall
  readonly inFlight: Map<number, { tool: string; args: string | null }>
  readonly decision: 'approved' | 'denied'
  /** Journal calls the script has made again, not yet answered. */
  readonly issued = new Map<number, M>()
  /** Calls past the journal, made before it was all answered: they start after it. */
  readonly held: M[] = []
  /** The waiting call, once the script has made it again. */
  waitingCall: M | undefined
  /** The journal is answered and the waiting call made: the run is live from here. */
  released = false
  #next = 0

  constructor(payload: SnapshotPayload, decision: 'approved' | 'denied') {
    this.calls = new Map(payload.calls)
    this.order = payload.order
    this.waiting = payload.waiting
    this.inFlight = new Map(payload.inFlight.map(([call, tool, args]) => [call, { tool, args }]))
    this.decision = decision
  }

  /** Every journal call answered. */
  get done(): boolean {
    return this.#next >= this.order.length
  }

  /** The journal call to answer next (an index into the script's calls); -1 once all are answered. */
  get next(): number {
    return this.done ? -1 : this.order[this.#next]!
  }

  /** The next journal call to answer, and its recorded outcome, if the script has made it again. */
  takeNext(): [M, JournalEntry] | undefined {
    const call = this.next
    const m = this.issued.get(call)
    if (m === undefined) return undefined
    this.#next++
    this.issued.delete(call)
    return [m, this.calls.get(call)!]
  }

  /** The calls of the journal the script never made again. */
  get missing(): number {
    return this.order.length - this.#next
  }
}

/**
 * Why a call made during a replay is not the one the snapshot recorded, or
 * undefined when it is. `expected.args` null: only the tool is known (a call
 * the host never saw).
 */
export function divergence(expected: { tool: string; args: string | null }, call: number, tool: string, args: string): string | undefined {
  if (expected.tool === tool && (expected.args === null || expected.args === args)) return undefined
  return expected.tool !== tool
    ? `call ${call + 1} of the script was tools.${tool} on resuming, tools.${expected.tool} when it was suspended`
    : `call ${call + 1} of the script (tools.${tool}) had other arguments on resuming than when it was suspended`
}


function openPayload(key: Buffer, snapshot: string): Record<string, unknown> {
  const out = binding.openSnapshot(key, snapshot)
  if (out.text == null) throw new SnapshotError(out.code ?? 'ERR_SNAPSHOT', out.message ?? 'the snapshot is refused')
  return JSON.parse(out.text) as Record<string, unknown>
}

const foreign = (what: string) => new SnapshotError('ERR_SNAPSHOT_FORMAT', `not a script-harness ${what} snapshot of a version this package reads`)

/** The payload of a script's `snapshot`, checked: a `SnapshotError` says why one is refused. */
export function open(key: Buffer, snapshot: string): SnapshotPayload {
  // Sealed by this package under this key: its shape is ours, checked all
  // the same so that a bug never runs half a snapshot.
  const p = openPayload(key, snapshot) as unknown as SnapshotPayload
  const ok =
    p !== null && typeof p === 'object' && p.v === SNAPSHOT_VERSION && p.kind === 'script' && typeof p.source === 'string' && typeof p.seed === 'string' &&
    Array.isArray(p.clock) && Array.isArray(p.calls) && Array.isArray(p.order) && Array.isArray(p.inFlight) && typeof p.scriptId === 'string' &&
    p.waiting !== null && typeof p.waiting === 'object' && Number.isInteger(p.waiting.call)
  if (!ok) throw foreign(p !== null && typeof p === 'object' && (p as { kind?: unknown }).kind === 'turn' ? 'script (it is a turn\'s: use resumeTurn)' : 'script')
  return p
}

/** The payload of a turn's `snapshot`, checked. */
export function openTurn(key: Buffer, snapshot: string): TurnPayload {
  const p = openPayload(key, snapshot) as unknown as TurnPayload
  const ok =
    p !== null && typeof p === 'object' && p.v === SNAPSHOT_VERSION && p.kind === 'turn' && typeof p.format === 'string' &&
    typeof p.response === 'string' && Array.isArray(p.results) && typeof p.script === 'string' && typeof p.stopAfterFailure === 'boolean'
  if (!ok) throw foreign(p !== null && typeof p === 'object' && (p as { kind?: unknown }).kind === 'script' ? "turn (it is a script's: use resume)" : 'turn')
  return p
}

/** `payload` sealed: a script's or a turn's. */
export function seal(key: Buffer, payload: SnapshotPayload | TurnPayload): string {
  const out = binding.sealSnapshot(key, JSON.stringify(payload))
  if (out.text == null) throw new SnapshotError(out.code ?? 'ERR_SNAPSHOT', out.message ?? 'the snapshot could not be sealed')
  return out.text
}

/** The result of a run suspended at `waiting`. */
export function suspendedResult(result: ScriptResult, waiting: WaitingCall, snapshot: string): ScriptResult {
  return {
    ...result,
    ok: false,
    error: {
      code: 'ScriptSuspendedError',
      message: `the script was suspended waiting for approval of tools.${waiting.tool}: resume it with harness.resume(snapshot, decision)`,
      phase: 'executing',
      toolName: waiting.tool,
      retryable: false,
    },
    suspended: true,
    snapshot,
  }
}

/** A run that could not be written down (the reason): it ends cancelled. */
export function unsuspendableResult(result: ScriptResult, why: string): ScriptResult {
  return {
    ...result,
    ok: false,
    error: { code: 'ScriptCancelledError', message: `the script could not be suspended: ${why}`, phase: 'executing', retryable: false },
  }
}

/** The result of a resumed run whose replay left its journal. */
export function divergedResult(result: ScriptResult, why: string): ScriptResult {
  const { value: _value, ...rest } = result
  return {
    ...rest,
    ok: false,
    error: { code: 'ScriptReplayDivergedError', message: `the resumed script left its journal: ${why}; nothing new ran`, phase: 'executing', retryable: false },
  }
}
