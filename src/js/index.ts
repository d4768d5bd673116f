// The package's public face: `ScriptHarness` and the free functions. The
// class is a typed wrapper over the native engine (`NativeHarness`, see
// src/native.rs): options are checked here, tool calls are served by
// `ToolHost`, turns are sequenced by `turns.ts`. The build writes this
// module's declarations, with those of `types.ts`, into index.d.ts.
import { type DurableRun, ToolHost } from './calls.js'
import { Journal, Replay, type TurnPayload, open as openSnapshot, openTurn, seal } from './durable.js'
import { isObject, reasonText, typeError } from './errors.js'
import { binding, type NativeHarness } from './native.js'
import { normalizeOptions, normalizeRunOptions, normalizeTools } from './options.js'
import { type TurnHost, TurnStream, checkFormat, checkLimitRanges, finishTurn } from './turns.js'
import type {
  ApiFormat,
  HarnessStats,
  ProcessedTurn,
  ResponseStream,
  RunOptions,
  ScriptHarnessOptions,
  ScriptResult,
  Segment,
  ToolArgs,
  ToolContext,
  ToolDefinition,
  ToolResult,
  ToolSchema,
  ToolSummary,
  TurnOptions,
  ValidationReport,
} from './types.js'

export * from './types.js'

/**
 * Runs scripts written by a model in hardened QuickJS sandboxes on their own
 * threads. Tools are your JavaScript functions; scripts call them as
 * `await tools.<name>(args)`.
 */
export class ScriptHarness {
  readonly #native: NativeHarness
  readonly #host: ToolHost
  readonly #turns: TurnHost
  #catalog: readonly ToolSummary[]
  /** Present when scripts are durable (`snapshotKey`). */
  readonly #snapshotKey: Buffer | undefined

  /**
   * Start a harness: validates the options (a `TypeError` names the bad
   * field) and starts `workers` sandbox threads.
   */
  constructor(options: ScriptHarnessOptions) {
    const parts = normalizeOptions(options)
    const slot = dispatchSlot()
    this.#native = new binding.NativeHarness(parts.config, slot.dispatch)
    this.#host = slot.attach(new ToolHost(this.#native.link(), parts))
    this.#turns = {
      native: this.#native,
      run: (source, o) => this.run(source, o),
      sealTurn: (t) => {
        const payload: TurnPayload = { v: 1, kind: 'turn', format: t.format, response: t.response, stopAfterFailure: t.stopAfterFailure, results: t.results, script: t.script }
        // The turn's own limits and context; its signal and listener are the resumer's to give.
        const limits = t.options?.limits
        if (limits !== undefined) payload.limits = JSON.stringify(limits)
        const context = t.options?.context as Record<string, string> | undefined
        if (context !== undefined) payload.context = context
        return seal(this.#snapshotKey!, payload)
      },
    }
    this.#catalog = summaries(parts.config.tools)
    this.#snapshotKey = parts.snapshotKey
  }

  /**
   * Run one script body (TypeScript or JavaScript, no surrounding tags).
   * Resolves with a `ScriptResult` whether the script succeeded or not;
   * rejects only for misuse (closed harness, bad options).
   */
  run(source: string, options?: RunOptions): Promise<ScriptResult> {
    const native = this.#native
    if (typeof source !== 'string') return Promise.reject(notAString('source', source))
    if (native.closed) return Promise.reject(new Error('the harness is closed'))
    let parts
    try {
      parts = normalizeRunOptions(options)
      // Already aborted: nothing runs (a script could otherwise finish
      // before the abort is seen).
      if (parts.signal?.aborted) return Promise.resolve(parseResult(native.notRun('cancelled', reasonText(parts.signal.reason))))
      checkLimitRanges(native, parts)
    } catch (e) {
      return Promise.reject(e)
    }
    const mode = parts.mode ?? native.mode
    if (mode === 'dry-run') return native.dryRun(source, true, parts.config.limits).then(parseResult)
    if (mode === 'disabled') return Promise.resolve(parseResult(native.notRun('disabled')))
    const key = this.#snapshotKey
    const durable =
      key === undefined
        ? undefined
        : { key, source, context: parts.config.context, limits: parts.config.limits ?? undefined, journal: new Journal(), issued: new Map(), answered: 0 }
    return this.#start(source, parts, durable)
  }

  #start(
    source: string,
    parts: ReturnType<typeof normalizeRunOptions>,
    durable: DurableRun | undefined,
    seed?: { seed: string; clock: [number, number][]; scriptId: string },
  ): Promise<ScriptResult> {
    const native = this.#native
    let run: number
    try {
      if (parts.onEvent !== undefined) native.listen()
      // A durable run records its seed and clock readings; a resumed one replays them.
      const config =
        durable === undefined
          ? parts.config
          : seed === undefined
            ? { ...parts.config, replay: { record: true } }
            : { ...parts.config, replay: { seed: seed.seed, clock: seed.clock, record: true, reportIdle: true }, scriptId: seed.scriptId }
      run = native.start(source, config)
    } catch (e) {
      if (e instanceof TypeError || native.closed) return Promise.reject(e)
      // A bug in starting the run: it still resolves, as a result.
      return Promise.resolve(parseResult(native.internalFailure()))
    }
    return this.#host.begin(run, parts.signal, parts.onEvent, durable)
  }

  /**
   * Resume a script suspended for approval (`onApproval` answered
   * `'suspend'`, or `suspend()`): `snapshot` is its result's, `decision`
   * answers the approval it waited on. Needs the `snapshotKey` it was
   * sealed under and the same tools. The script runs again with every tool
   * call it had finished answered from the snapshot (their handlers are not
   * called again), in the order they settled, then goes on live; it
   * resolves with the script's final `ScriptResult`. A snapshot that is
   * altered, truncated, sealed under another key or of another version
   * rejects with a `SnapshotError` before anything runs; a script whose
   * replay takes another path ends with `ScriptReplayDivergedError`, having
   * run nothing new. `options`: `signal` and `onEvent` (the limits and
   * `context` are the snapshot's).
   */
  resume(snapshot: string, decision: 'approved' | 'denied', options?: Pick<RunOptions, 'signal' | 'onEvent'>): Promise<ScriptResult> {
    const key = this.#snapshotKey
    if (key === undefined) return Promise.reject(new TypeError('resume: the harness has no snapshotKey (options.snapshotKey)'))
    if (typeof snapshot !== 'string') return Promise.reject(notAString('snapshot', snapshot))
    if (decision !== 'approved' && decision !== 'denied') return Promise.reject(typeError('decision', "must be 'approved' or 'denied'"))
    if (this.#native.closed) return Promise.reject(new Error('the harness is closed'))
    let parts
    let payload
    try {
      if (options !== undefined && options !== null && isObject(options)) {
        for (const field of ['limits', 'context', 'mode']) {
          if (options[field as keyof typeof options] !== undefined) throw typeError(`options.${field}`, 'a resumed script keeps the options it ran with')
        }
      }
      parts = normalizeRunOptions(options)
      payload = openSnapshot(key, snapshot)
    } catch (e) {
      return Promise.reject(e)
    }
    if (parts.signal?.aborted) return Promise.resolve(parseResult(this.#native.notRun('cancelled', reasonText(parts.signal.reason))))
    // The harness's mode holds for resumed scripts too: a disabled harness
    // runs nothing, a dry-run one only validates.
    const mode = this.#native.mode
    if (mode === 'disabled') return Promise.resolve(parseResult(this.#native.notRun('disabled')))
    if (mode === 'dry-run') return this.#native.dryRun(payload.source, true, payload.limits).then(parseResult)
    parts.config = { limits: payload.limits, context: payload.context }
    const durable: DurableRun = {
      key,
      source: payload.source,
      context: payload.context,
      limits: payload.limits,
      journal: new Journal(),
      issued: new Map(),
      answered: 0,
      replay: new Replay(payload, decision),
      // Its id as it first ran: `context.scriptId` and call ids read the same.
      scriptId: payload.scriptId,
    }
    return this.#start(payload.source, parts, durable, { seed: payload.seed, clock: payload.clock, scriptId: payload.scriptId })
  }

  /**
   * Resume a turn suspended at one of its scripts (`processResponse` or a
   * stream's `end()` gave `suspended`): that script is resumed as by
   * `resume()`, then the turn's later scripts run, and it resolves with
   * the whole turn, its items and continuation, as `processResponse` would
   * have given it had the approval been answered at once. It may be
   * suspended again, at a later approval. `options`: `signal` and
   * `onEvent`.
   */
  async resumeTurn<F extends ApiFormat = ApiFormat>(snapshot: string, decision: 'approved' | 'denied', options?: Pick<RunOptions, 'signal' | 'onEvent'>): Promise<ProcessedTurn<F>> {
    const key = this.#snapshotKey
    if (key === undefined) throw new TypeError('resumeTurn: the harness has no snapshotKey (options.snapshotKey)')
    if (typeof snapshot !== 'string') throw notAString('snapshot', snapshot)
    if (decision !== 'approved' && decision !== 'denied') throw typeError('decision', "must be 'approved' or 'denied'")
    const turn = openTurn(key, snapshot)
    // Options checked before anything starts (a bad one must not leave a
    // resumed run behind).
    const parts = normalizeRunOptions(options)
    // The scripts that ran keep their results; the resumed one and those
    // after it run as the harness's mode says (disabled: they are
    // reported so, and the model reads what really ran).
    const resumed = this.resume(turn.script, decision, options)
    resumed.catch(() => {})
    const runOptions: TurnOptions = { ...parts.snapshot }
    if (turn.limits !== undefined) runOptions.limits = JSON.parse(turn.limits) as TurnOptions['limits']
    if (turn.context !== undefined) runOptions.context = turn.context
    return finishTurn(this.#turns, turn.format as F, turn.response, runOptions, 'enabled', turn.stopAfterFailure, [], { prior: turn.results, resumed })
  }

  /**
   * Suspend a running script whose tool calls are all awaiting a person's
   * approval (as if `onApproval` had answered `'suspend'` for the first):
   * its `run()` resolves with `suspended` and a `snapshot`. False when it is
   * not such a script of this harness (unknown, finished, or with a call
   * that is not awaiting approval). Needs a `snapshotKey`.
   */
  suspend(scriptId: string): boolean {
    if (this.#snapshotKey === undefined) throw new TypeError('suspend: the harness has no snapshotKey (options.snapshotKey)')
    if (typeof scriptId !== 'string') throw notAString('scriptId', scriptId)
    return this.#host.suspend(scriptId)
  }

  /**
   * Replace the tools. Scripts started from now on (`run`, and the scripts
   * of turns processed from now on) call `tools`; a script already started
   * keeps the tools it started with, handlers included, to its end.
   * `describeTools()`, `instructions()` and `validate()` describe the new
   * tools at once. Validated as the constructor's `options.tools` (a
   * `TypeError` names the bad tool, and nothing changes). For a tool
   * source that changes while the harness lives: an MCP server's
   * `tools/list_changed` (see `mcpTools`'s `onChange`).
   */
  setTools(tools: ToolDefinition[]): void {
    const { specs, hostTools } = normalizeTools(tools, 'tools')
    this.#native.setTools(specs)
    this.#host.setTools(hostTools)
    this.#catalog = summaries(specs)
  }

  /**
   * The tools scripts can call now, in order: each one's name and
   * description. The array and its entries are frozen, and the same array
   * is returned until `setTools` changes the tools (a cache may key on it).
   * For a search over a catalog too large to declare in a prompt (the MCP
   * code-mode server's `search_tools`).
   */
  listTools(): readonly ToolSummary[] {
    return this.#catalog
  }

  /**
   * Validate one script body without running it (what dry-run does):
   * syntax, size, banned constructs, and the tools it references that are
   * not registered.
   */
  validate(source: string): ValidationReport {
    if (typeof source !== 'string') throw notAString('source', source)
    return JSON.parse(this.#native.validate(source)) as ValidationReport
  }

  /**
   * TypeScript declarations of `tools` and `context` as a script sees
   * them, generated from the tool definitions, for a model's system prompt.
   *
   * `options.context`: `'full'` (the default) declares all of `context`,
   * `'brief'` leaves out its `limits` and `tools`, `'none'` leaves it out.
   * `options.tools`: declare only these tools; each entry is a tool's name
   * or a namespace (`'gh'` is every `gh.*` tool). An entry that names
   * nothing is a `TypeError` that quotes it.
   */
  describeTools(options?: { context?: 'full' | 'brief' | 'none'; tools?: readonly string[] }): string {
    const context = choice(options, 'context', ['full', 'brief', 'none'] as const) ?? 'full'
    const tools = toolNames(options)
    return tools === undefined ? this.#native.describeTools(context) : this.#native.describeTools(context, tools)
  }

  /**
   * The text that teaches a model to use this harness, for its system
   * prompt: how to hand a script over, the sandbox's rules and limits,
   * and the declarations of `tools` (and `context`).
   *
   * `options.delivery`: `'tag'` (`<tool-calls>`, the default), `'fence'`
   * (a ```` ```ts tool-calls ```` block) or `'argument'` (the `code`
   * argument of a tool, as an MCP server's `execute`). `options.context`: as
   * for `describeTools`, `'brief'` by default. `options.catalog`:
   * `'declared'` (the default) declares every tool; `'searched'` declares
   * none, names the namespaces and their sizes, and tells the model to find
   * tools with a `search_tools` tool and read their declarations with
   * `describe_tools`, tools you offer it (`createCodeModeServer` does).
   */
  instructions(options?: {
    delivery?: 'tag' | 'fence' | 'argument'
    context?: 'full' | 'brief' | 'none'
    catalog?: 'declared' | 'searched'
  }): string {
    const delivery = choice(options, 'delivery', ['tag', 'fence', 'argument'] as const) ?? 'tag'
    const context = choice(options, 'context', ['full', 'brief', 'none'] as const) ?? 'brief'
    const catalog = choice(options, 'catalog', ['declared', 'searched'] as const) ?? 'declared'
    return this.#native.instructions(delivery, context, catalog)
  }

  /**
   * Take one complete assistant turn in the native shape of `format`, find
   * every script in it, run them in order, and return the ordered history
   * items plus the provider-native input that reports the results back.
   */
  async processResponse<F extends ApiFormat>(format: F, response: unknown, options?: TurnOptions): Promise<ProcessedTurn<F>> {
    checkFormat(format)
    if (response === null || typeof response !== 'object') throw typeError('response', 'must be a response object or array')
    // A bad option throws here, before anything runs.
    const parts = normalizeRunOptions(options)
    checkLimitRanges(this.#native, parts)
    let json: string
    try {
      json = JSON.stringify(response)
    } catch (e) {
      throw typeError('response', `is not JSON (${e instanceof Error ? e.message : String(e)})`)
    }
    if (typeof json !== 'string') throw typeError('response', 'is not JSON (it serializes to nothing)')
    const mode = parts.mode ?? this.#native.mode
    return finishTurn(this.#turns, format, json, parts.snapshot, mode, parts.stopAfterFailure, [])
  }

  /**
   * Incremental form of `processResponse` for streamed turns: `push` each
   * provider stream event as it arrives; the turn's scripts run in order,
   * each once its closing tag has arrived and the previous one ended;
   * `end()` resolves to what `processResponse` gives on the assembled turn.
   */
  stream<F extends ApiFormat>(format: F, options?: TurnOptions): ResponseStream<F> {
    checkFormat(format)
    const parts = normalizeRunOptions(options)
    checkLimitRanges(this.#native, parts)
    const mode = parts.mode ?? this.#native.mode
    return new TurnStream(this.#turns, format, parts.snapshot, mode, parts.stopAfterFailure)
  }

  /**
   * Counters for operators and leak checks: scripts active and finished,
   * tool calls pending, sandbox heap bytes, worker restarts.
   */
  stats(): HarnessStats {
    const e = this.#native.stats()
    return {
      workers: e.workers,
      activeScripts: e.activeScripts,
      scriptsFinished: e.scriptsFinished,
      pendingToolCalls: this.#host.pendingCalls,
      sandboxHeapBytes: e.sandboxHeapBytes,
      workerRestarts: e.workerRestarts,
      threadsParked: e.threadsParked,
      realmsBuilt: e.realmsBuilt,
      realmsReused: e.realmsReused,
      eventLoopHolds: e.eventLoopHolds,
      eventLoopHeldUs: e.eventLoopHeldUs,
    }
  }

  /**
   * Abort running scripts (each settles with `ScriptCancelledError`),
   * refuse new work and let the sandbox threads end. Idempotent.
   */
  close(): Promise<void> {
    this.#native.close()
    return this.#host.settled()
  }
}

/**
 * A tool whose handler's argument (and result) types come from its schemas: with zod 4,
 * `defineTool({ name: 'read', parameters: z.object({ path: z.string() }), handler: ({ path }) => ... })`
 * types `path` as `string` without a cast. Returns the definition unchanged.
 */
export function defineTool<P extends ToolSchema | undefined = undefined, R extends ToolSchema | undefined = undefined>(tool: {
  name: string
  description?: string
  parameters?: P
  returns?: R
  requiresApproval?: ToolDefinition['requiresApproval']
  handler(args: ToolArgs<P>, ctx: ToolContext): ToolResult<R> | Promise<ToolResult<R>>
}): ToolDefinition {
  return tool as ToolDefinition
}

/**
 * Split text into ordered text, script and problem segments (both the
 * `<tool-calls>` tag and the ```` ```ts tool-calls ```` fence). Offsets are
 * UTF-16 positions in `text`; the segments cover it exactly.
 */
export function detectScripts(text: string): Segment[] {
  if (typeof text !== 'string') throw notAString('text', text)
  return binding.detectScripts(text) as Segment[]
}

/**
 * Whether `schemaJson` (a JSON Schema as JSON text) is one the harness
 * accepts as a tool's `parameters` or `returns`: `null` when it is,
 * otherwise why not. `mcpTools` uses it to leave out one bad tool rather
 * than fail the harness.
 */
export function checkToolSchema(schemaJson: string): string | null {
  if (typeof schemaJson !== 'string') throw notAString('schemaJson', schemaJson)
  return binding.checkToolSchema(schemaJson) ?? null
}

/**
 * Which binding artifact the generated loader actually loaded: `'native'` for
 * a native addon, otherwise the `platformArchABI` of the WASI flavor. Every
 * flavor napi-rs can build is listed, because `NAPI_RS_NATIVE_LIBRARY_PATH`
 * can point the loader at a WASI artifact this package does not build itself.
 */
export const __napiBindingTarget: 'native' | 'wasm32-wasi' | 'wasm32-wasip1' = binding.__napiBindingTarget

// The engine's dispatch callback must not hold the harness (nor its native
// object): napi holds it for as long as the engine lives, so a harness
// dropped without close() would never be collected. It reaches the
// `ToolHost`, which holds the engine only weakly (`NativeLink`).
function dispatchSlot(): { dispatch: (batch: string) => void; attach: (host: ToolHost) => ToolHost } {
  let host: ToolHost | undefined
  return {
    dispatch: (batch) => host?.dispatch(batch),
    attach: (h) => (host = h),
  }
}

function parseResult(json: string): ScriptResult {
  return JSON.parse(json) as ScriptResult
}

/** `TypeError: <name>: must be a string, got <kind>`, code ERR_INVALID_ARG_TYPE. */
function notAString(name: string, value: unknown): TypeError {
  const got =
    value === null ? 'null'
    : typeof value === 'object' ? 'an object'
    : typeof value === 'undefined' ? 'undefined'
    : `a ${typeof value}`
  return withCode(typeError(name, `must be a string, got ${got}`), 'ERR_INVALID_ARG_TYPE')
}

function withCode<E extends Error>(e: E, code: string): E {
  Object.defineProperty(e, 'code', { value: code, enumerable: true, configurable: true, writable: true })
  return e
}

/** `options[field]` when it is one of `allowed`; undefined when absent; a TypeError naming the field otherwise. */
/** The frozen `listTools()` of a harness's tool configurations. */
function summaries(specs: ReadonlyArray<{ name: string; description?: string | null }>): readonly ToolSummary[] {
  return Object.freeze(
    specs.map((t) => Object.freeze(typeof t.description === 'string' ? { name: t.name, description: t.description } : { name: t.name })),
  )
}

/** `options.tools` of `describeTools`: an array of strings, or undefined. */
function toolNames(options: unknown): string[] | undefined {
  const value = isObject(options) ? options.tools : undefined
  if (value === undefined) return undefined
  if (!Array.isArray(value)) throw withCode(typeError('options.tools', 'must be an array of tool names or namespaces'), 'ERR_INVALID_ARG_TYPE')
  const names: string[] = []
  for (let i = 0; i < value.length; i++) {
    const name: unknown = value[i]
    if (typeof name !== 'string') throw withCode(typeError(`options.tools[${i}]`, 'must be a string'), 'ERR_INVALID_ARG_TYPE')
    names.push(name)
  }
  return names
}

function choice<T extends string>(options: unknown, field: string, allowed: readonly T[]): T | undefined {
  if (options === undefined || options === null) return undefined
  if (typeof options !== 'object') throw withCode(typeError('options', 'must be an object'), 'ERR_INVALID_ARG_TYPE')
  const value = isObject(options) ? options[field] : undefined
  if (value === undefined) return undefined
  if (allowed.includes(value as T)) return value as T
  throw withCode(typeError(`options.${field}`, `must be one of ${allowed.map((a) => `'${a}'`).join(', ')}`), 'ERR_INVALID_ARG_VALUE')
}
