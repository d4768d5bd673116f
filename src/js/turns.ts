// Turns: the scripts of one assistant turn run in order, each after the
// previous one ended, whether the turn arrives whole (`processResponse`) or
// streamed (`stream`). Provider shapes are read and written in Rust
// (`NativeTurn`, `NativeStream`); this module only sequences the runs.
import { typeError } from './errors.js'
import { binding, type NativeHarness } from './native.js'
import type { RunParts } from './options.js'
import type { ApiFormat, HarnessMode, ProcessedTurn, ResponseStream, ScriptResult, TurnOptions, ValidationReport } from './types.js'

const FORMATS: readonly ApiFormat[] = ['responses', 'chat', 'messages']

/** What a turn needs of its harness. */
export interface TurnHost {
  native: NativeHarness
  run(source: string, options: TurnOptions | undefined): Promise<ScriptResult>
  /** The snapshot of a turn suspended at a script (whose own snapshot is `script`). */
  sealTurn(turn: { format: ApiFormat; response: string; options: TurnOptions | undefined; stopAfterFailure: boolean; results: ScriptResult[]; script: string }): string
}

/** A suspended turn being resumed: the results of the scripts before the suspended one, and its resumed run. */
export interface TurnResumption {
  prior: ScriptResult[]
  resumed: Promise<ScriptResult>
}

export function checkFormat(format: unknown): asserts format is ApiFormat {
  if (!FORMATS.includes(format as ApiFormat)) throw typeError('format', `must be one of ${FORMATS.map((f) => `'${f}'`).join(', ')}`)
}

/** Turn options are checked whole before anything runs: names and types by `normalize`, limit ranges by the engine. */
export function checkLimitRanges(native: NativeHarness, parts: RunParts): void {
  if (parts.config.limits === undefined) return
  const problem = native.checkLimits(parts.config.limits)
  if (problem != null) {
    const at = problem.indexOf(': ')
    throw typeError(problem.slice(0, at), problem.slice(at + 2))
  }
}

// What the turn's items and continuation are built from: a result without
// its call records' values, and its console output cut to what the model
// is shown, so a turn of many scripts stays far below V8's longest string.
const REPORTED_LOG_CHARS = 16 * 1024
function reported(r: ScriptResult | ValidationReport): unknown {
  if (!('toolCalls' in r) || !Array.isArray(r.toolCalls) || !Array.isArray(r.logs)) return r
  const logs = []
  let chars = 0
  for (const l of r.logs) {
    if (chars > REPORTED_LOG_CHARS) break
    chars += l.message.length
    logs.push(l)
  }
  const toolCalls = r.toolCalls.map((c) => ({ callId: c.callId, toolName: c.toolName, status: c.status }))
  return { ...r, logs, toolCalls }
}

/** A script a stream already started (or decided to skip), in order. */
interface Started {
  source: string
  result: Promise<ScriptResult>
}

/**
 * Reads `responseJson`, runs (or validates) its scripts in order, and
 * builds the turn. `started` holds the runs a stream began early, in the
 * same order, by the same rules.
 */
export async function finishTurn<F extends ApiFormat>(
  host: TurnHost,
  format: F,
  responseJson: string,
  options: TurnOptions | undefined,
  mode: HarnessMode,
  stopAfterFailure: boolean,
  started: Started[],
  resumption?: TurnResumption,
): Promise<ProcessedTurn<F>> {
  const { native } = host
  const turn = binding.NativeTurn.read(format, responseJson)
  const results: Array<ScriptResult | ValidationReport> = []
  const reports: ValidationReport[] = []
  // What a stream started, not yet matched to a script of the turn. A
  // script is never run twice: one the stream ran gives its result, by
  // source, in order. The turn's other scripts (a stream whose events
  // disagree: text deltas against the final output) run only once every
  // started script has ended, so scripts never overlap.
  const unmatched = [...started]
  const allStartedEnded = () => Promise.allSettled(started.map((s) => s.result))
  let failed = false
  // A script suspended for approval: the turn waits with it, and the
  // scripts after it do not run (they do when the turn is resumed).
  let suspendedAt = -1
  for (const [i, source] of turn.scripts.entries()) {
    let result: ScriptResult | ValidationReport
    const k = mode === 'enabled' ? unmatched.findIndex((s) => s.source === source) : -1
    if (resumption !== undefined && i < resumption.prior.length) {
      result = resumption.prior[i]!
    } else if (resumption !== undefined && i === resumption.prior.length) {
      result = await resumption.resumed
    } else if (suspendedAt >= 0) {
      // A stream skipped it already; either way, it has not run.
      if (k >= 0) await unmatched.splice(k, 1)[0]!.result
      result = JSON.parse(native.notRun('skipped')) as ScriptResult
    } else if (k >= 0) {
      result = await unmatched.splice(k, 1)[0].result
    } else if (mode === 'enabled' && failed && stopAfterFailure) {
      result = JSON.parse(native.notRun('skipped')) as ScriptResult
    } else if (mode === 'dry-run') {
      const report = JSON.parse(await native.dryRun(source, false)) as ValidationReport
      reports.push(report)
      result = report
    } else {
      await allStartedEnded()
      result = await host.run(source, mode === 'disabled' ? { mode: 'disabled' } : options)
    }
    if (mode === 'enabled' && !result.ok) failed = true
    if (mode === 'enabled' && suspendedAt < 0 && (result as ScriptResult).suspended === true) suspendedAt = i
    results.push(result)
  }
  // Scripts that ran from the stream's text but are not in the assembled
  // turn: their results are reported after the turn's own, and said so.
  const extra: ScriptResult[] = []
  for (const s of unmatched) extra.push(await s.result)
  const out = JSON.parse(turn.finish(JSON.stringify(results.map(reported)), mode === 'dry-run', native.maxReturnBytes)) as Pick<
    ProcessedTurn<F>,
    'items' | 'continuation' | 'problems'
  >
  const processed: ProcessedTurn<F> = {
    items: out.items,
    continuation: out.continuation,
    scripts: mode === 'dry-run' ? [] : [...(results as ScriptResult[]), ...extra],
    problems: [
      ...out.problems,
      ...extra.map((r) => ({
        kind: 'unmatched' as const,
        message: `script ${r.scriptId} ran from the stream's text, but the assembled turn does not hold it (the stream's events disagree); its result is in scripts, after the turn's own`,
        scriptId: r.scriptId,
      })),
    ],
  }
  if (mode === 'dry-run') processed.reports = reports
  if (suspendedAt >= 0) {
    const waiting = results[suspendedAt] as ScriptResult
    const snapshot = host.sealTurn({
      format,
      response: responseJson,
      options,
      stopAfterFailure,
      results: results.slice(0, suspendedAt) as ScriptResult[],
      script: waiting.snapshot!,
    })
    processed.suspended = { scriptId: waiting.scriptId, snapshot }
  }
  return processed
}

/** A streamed turn: `NativeStream` assembles the events; scripts run as their closing tags arrive, in order. */
export class TurnStream<F extends ApiFormat> implements ResponseStream<F> {
  readonly #host: TurnHost
  readonly #format: F
  readonly #mode: HarnessMode
  readonly #stopAfterFailure: boolean
  readonly #assembler: InstanceType<typeof binding.NativeStream>
  readonly #controller = new AbortController()
  readonly #runOptions: TurnOptions
  readonly #started: Started[] = []
  /** Settles false once a script failed and the host asked to stop. */
  #goOn: Promise<boolean> = Promise.resolve(true)
  #ended = false
  #turn: Promise<ProcessedTurn<F>> | undefined
  /** Removes the listener on the host's signal, once the turn is done. */
  #unlisten: () => void = () => {}

  constructor(host: TurnHost, format: F, options: TurnOptions | undefined, mode: HarnessMode, stopAfterFailure: boolean) {
    this.#host = host
    this.#format = format
    this.#mode = mode
    this.#stopAfterFailure = stopAfterFailure
    this.#assembler = new binding.NativeStream(format)
    const userSignal = options?.signal
    if (userSignal) {
      if (userSignal.aborted) this.#controller.abort(userSignal.reason)
      else {
        const onAbort = () => this.#controller.abort(userSignal.reason)
        userSignal.addEventListener('abort', onAbort, { once: true })
        // A signal shared by many streams must not keep each of them.
        this.#unlisten = () => userSignal.removeEventListener('abort', onAbort)
      }
    }
    this.#runOptions = { ...(options ?? {}), signal: this.#controller.signal }
  }

  push(event: unknown): string {
    if (this.#ended) throw new TypeError('push: the stream has ended')
    if (event === null || typeof event !== 'object') throw typeError('event', 'must be an object')
    let json: string
    try {
      json = JSON.stringify(event)
    } catch (e) {
      throw typeError('event', `is not JSON (${e instanceof Error ? e.message : String(e)})`)
    }
    // A `toJSON` that returns undefined (or a function) serializes to nothing.
    if (typeof json !== 'string') throw typeError('event', 'is not JSON (it serializes to nothing)')
    const released = this.#assembler.push(json)
    this.#startScripts(released.scripts)
    return released.text
  }

  end(): Promise<ProcessedTurn<F>> {
    // Once: a second end() gets the same turn, and runs nothing again.
    if (this.#turn === undefined) {
      this.#ended = true
      try {
        this.#startScripts(this.#assembler.finish().scripts)
        const response = this.#assembler.response()
        this.#turn = finishTurn(this.#host, this.#format, response, this.#runOptions, this.#mode, this.#stopAfterFailure, this.#started)
      } catch (e) {
        this.#turn = Promise.reject(e)
      }
      const unlisten = () => this.#unlisten()
      this.#turn.then(unlisten, unlisten)
    }
    return this.#turn
  }

  abort(reason?: string): void {
    this.#controller.abort(reason)
  }

  // Scripts of a turn run one after another, as in processResponse: each
  // starts when its closing tag has arrived and the previous one ended.
  #startScripts(sources: string[]): void {
    if (this.#mode !== 'enabled') return
    const host = this.#host
    for (const source of sources) {
      const stop = this.#stopAfterFailure
      const result = this.#goOn.then((go) =>
        go ? host.run(source, this.#runOptions) : (JSON.parse(host.native.notRun('skipped')) as ScriptResult),
      )
      // A suspended script holds the turn: the later ones wait for its resumption.
      this.#goOn = result.then((r) => r.suspended !== true && (r.ok || !stop), () => false)
      // A run that rejects (the harness was closed) rejects end(), not the
      // process: it must not count as unhandled here.
      result.catch(() => {})
      this.#started.push({ source, result })
    }
  }
}
