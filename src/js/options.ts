// Options as the user gives them → the plain configuration the engine takes
// (names and types checked here, where a TypeError can name the field;
// ranges are checked by the engine), plus the functions that stay in
// JavaScript.
import type { StandardSchemaV1 } from '@standard-schema/spec'
import { isObject, typeError } from './errors.js'
import type { HarnessConfig, RunConfig, ToolConfig } from './native.js'
import type { ApprovalAnswer, ApprovalRequest, HarnessEvent, HarnessMode, ToolContext, TurnOptions } from './types.js'
import { reasonText } from './errors.js'

const SEED_FIELDS = ['conversationId', 'sessionId', 'turnId', 'workingDirectory', 'provider', 'model']
const MODES: readonly HarnessMode[] = ['disabled', 'dry-run', 'enabled']

/** What stays in JavaScript of one tool. */
export interface HostTool {
  handler: (args: unknown, ctx: ToolContext) => unknown
  /** A Standard Schema's own validation, run after the engine checked its JSON Schema view. */
  validator: StandardSchemaV1 | undefined
  approval: 'never' | 'always' | 'predicate'
  predicate: ((args: unknown) => unknown) | undefined
}

export interface HarnessParts {
  config: HarnessConfig
  tools: HostTool[]
  onEvent: ((event: HarnessEvent) => void) | undefined
  onApproval: ((request: ApprovalRequest) => ApprovalAnswer | Promise<ApprovalAnswer>) | undefined
  /** The `snapshotKey`'s bytes: runs are durable. */
  snapshotKey: Buffer | undefined
}

function checkSeed(seed: unknown, field: string): Record<string, string> | undefined {
  if (seed === undefined) return undefined
  if (!isObject(seed)) throw typeError(field, 'must be an object')
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(seed)) {
    if (!SEED_FIELDS.includes(k)) throw typeError(`${field}.${k}`, `is not a context field (use ${SEED_FIELDS.join(', ')})`)
    if (v === undefined) continue
    if (typeof v !== 'string') throw typeError(`${field}.${k}`, 'must be a string')
    out[k] = v
  }
  return out
}

/** The limits patch as JSON, its fields type-checked (ranges are the engine's). */
function checkLimits(limits: unknown, field: string): string | undefined {
  if (limits === undefined) return undefined
  if (!isObject(limits)) throw typeError(field, 'must be an object')
  for (const [k, v] of Object.entries(limits)) {
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v))) {
      throw typeError(`${field}.${k}`, 'must be a finite number')
    }
  }
  return JSON.stringify(limits)
}

function checkMode(mode: unknown, field: string): HarnessMode | undefined {
  if (mode === undefined) return undefined
  if (!MODES.includes(mode as HarnessMode)) throw typeError(field, `must be one of ${MODES.map((m) => `'${m}'`).join(', ')}`)
  return mode as HarnessMode
}

/**
 * A tool's `parameters` or `returns`: a JSON Schema as given, or a Standard
 * Schema with a JSON Schema view (zod 4, valibot, arktype, ...), converted
 * once, here, by the library itself. `view` is `input` for arguments (what
 * the script sends) and `output` for results. Anything else that is not a
 * plain object (a zod 3 schema, a class instance) is refused: it would
 * otherwise pass as a JSON Schema of unknown keywords that checks nothing.
 */
function schemaOf(value: unknown, field: string, view: 'input' | 'output'): { json: string | undefined; standard: StandardSchemaV1 | undefined } {
  if (value === undefined) return { json: undefined, standard: undefined }
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) {
    throw typeError(field, 'must be a JSON Schema object or a Standard Schema (zod 4, ...)')
  }
  const std = (value as { '~standard'?: unknown })['~standard']
  if (std !== undefined) {
    const props = std !== null && typeof std === 'object' ? (std as Record<string, unknown>) : {}
    const views = props.jsonSchema as Record<string, unknown> | null | undefined
    const convert = views != null ? views[view] : undefined
    const vendor = typeof props.vendor === 'string' ? props.vendor : 'unknown'
    if (typeof convert !== 'function') {
      throw typeError(field, `is a Standard Schema (${vendor}) without a JSON Schema view: use a library version that implements Standard JSON Schema (zod 4.2 or later, ...), or pass a JSON Schema`)
    }
    let json: unknown
    try {
      json = convert.call(views, { target: 'draft-2020-12' })
    } catch (e) {
      throw typeError(field, `its conversion to JSON Schema failed (${vendor}): ${e instanceof Error ? e.message : String(e)}`)
    }
    if (!isObject(json)) throw typeError(field, `its conversion to JSON Schema (${vendor}) gave no object`)
    return { json: stringify(json, field), standard: typeof props.validate === 'function' ? (value as StandardSchemaV1) : undefined }
  }
  const proto = Object.getPrototypeOf(value)
  if (typeof value === 'function' || Array.isArray(value) || (proto !== Object.prototype && proto !== null)) {
    throw typeError(field, 'is neither a JSON Schema (a plain object) nor a Standard Schema with a JSON Schema view (zod 4, ...)')
  }
  return { json: stringify(value, field), standard: undefined }
}

function stringify(schema: unknown, field: string): string {
  try {
    return JSON.stringify(schema)
  } catch (e) {
    throw typeError(field, `is not JSON (${e instanceof Error ? e.message : String(e)})`)
  }
}

/** Tool definitions → the engine's configuration and the handlers that stay here; `field` names the array in errors. */
export function normalizeTools(tools: unknown, field: string): { specs: ToolConfig[]; hostTools: HostTool[] } {
  if (!Array.isArray(tools)) throw typeError(field, 'must be an array of tool definitions')
  const hostTools: HostTool[] = []
  const specs: ToolConfig[] = []
  // Each element read once, holes included (`map` would skip them and the
  // engine's indexes would no longer be the handlers').
  const count = tools.length
  for (let i = 0; i < count; i++) specs.push(toolSpec(tools[i], `${field}[${i}]`, hostTools))
  return { specs, hostTools }
}

/**
 * Unknown keys of a tool are ignored, but an approval setting under another
 * name (`needsApproval`, as other agent SDKs spell it; `requiresAproval`;
 * `requiresConfirmation`) would run a tool its author meant to be asked
 * about: such keys are refused, own or inherited (a class's getter),
 * enumerable or not, string or symbol.
 */
function refuseOtherApprovalKeys(t: object, at: string): void {
  for (let o: object | null = t; o !== null && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
    for (const key of Reflect.ownKeys(o)) {
      const name = typeof key === 'string' ? key : (key.description ?? '')
      if (key !== 'requiresApproval' && /ap+rov|confirm/i.test(name.normalize('NFKC'))) {
        throw typeError(`${at}.${name}`, 'is not an option of a tool: approval is set by requiresApproval')
      }
    }
  }
}

/** One tool definition, checked; its handler and checks go to `hostTools`. */
function toolSpec(t: unknown, at: string, hostTools: HostTool[]): ToolConfig {
  if (!isObject(t)) throw typeError(at, 'must be an object')
  if (typeof t.name !== 'string') throw typeError(`${at}.name`, 'must be a string')
  if (typeof t.handler !== 'function') throw typeError(`${at}.handler`, 'must be a function')
  if (t.description !== undefined && typeof t.description !== 'string') throw typeError(`${at}.description`, 'must be a string')
  const parameters = schemaOf(t.parameters, `${at}.parameters`, 'input')
  const returns = schemaOf(t.returns, `${at}.returns`, 'output')
  const ra = t.requiresApproval
  if (ra !== undefined && typeof ra !== 'boolean' && typeof ra !== 'function') {
    throw typeError(`${at}.requiresApproval`, 'must be a boolean or a function')
  }
  refuseOtherApprovalKeys(t, at)
  const approval: HostTool['approval'] = typeof ra === 'function' ? 'predicate' : ra === true ? 'always' : 'never'
  hostTools.push({
    handler: t.handler as HostTool['handler'],
    validator: parameters.standard,
    approval,
    predicate: typeof ra === 'function' ? (ra as HostTool['predicate']) : undefined,
  })
  return { name: t.name, description: t.description, parameters: parameters.json, returns: returns.json, approval }
}

/** `ScriptHarnessOptions` → engine configuration and the host's functions. */
export function normalizeOptions(options: unknown): HarnessParts {
  if (!isObject(options)) throw typeError('options', 'must be an object')
  const { tools, mode, limits, onApproval, onEvent, context, workers, isolation, snapshotKey, holdEventLoopUs } = options
  let key: Buffer | undefined
  if (snapshotKey !== undefined) {
    if (typeof snapshotKey !== 'string' && !(snapshotKey instanceof Uint8Array)) throw typeError('options.snapshotKey', 'must be a string or a Uint8Array')
    // A lone surrogate becomes U+FFFD in UTF-8: two different keys would seal alike.
    if (typeof snapshotKey === 'string' && Buffer.from(snapshotKey, 'utf8').toString('utf8') !== snapshotKey) throw typeError('options.snapshotKey', 'must be well-formed text (it has a lone surrogate)')
    // A copy: the host may reuse its buffer.
    key = Buffer.from(typeof snapshotKey === 'string' ? Buffer.from(snapshotKey, 'utf8') : snapshotKey)
    if (key.length < 16) throw typeError('options.snapshotKey', 'must be at least 16 bytes')
  }
  const { specs, hostTools } = normalizeTools(tools, 'options.tools')
  if (onApproval !== undefined && typeof onApproval !== 'function') throw typeError('options.onApproval', 'must be a function')
  if (onEvent !== undefined && typeof onEvent !== 'function') throw typeError('options.onEvent', 'must be a function')
  if (workers !== undefined && (!Number.isInteger(workers) || (workers as number) < 1 || (workers as number) > 256)) {
    throw typeError('options.workers', 'must be an integer between 1 and 256')
  }
  if (isolation !== undefined && isolation !== 'pooled' && isolation !== 'script') {
    throw typeError('options.isolation', "must be 'pooled' or 'script'")
  }
  if (holdEventLoopUs !== undefined && (!Number.isInteger(holdEventLoopUs) || (holdEventLoopUs as number) < 0 || (holdEventLoopUs as number) > 1000)) {
    throw typeError('options.holdEventLoopUs', 'must be an integer between 0 and 1000')
  }
  return {
    config: {
      tools: specs,
      mode: checkMode(mode, 'options.mode'),
      limits: checkLimits(limits, 'options.limits'),
      context: checkSeed(context, 'options.context'),
      workers: workers as number | undefined,
      isolation: isolation as HarnessConfig['isolation'],
      holdEventLoopUs: holdEventLoopUs as number | undefined,
      events: onEvent !== undefined,
    },
    tools: hostTools,
    onEvent: onEvent as HarnessParts['onEvent'],
    onApproval: onApproval as HarnessParts['onApproval'],
    snapshotKey: key,
  }
}

/** `RunOptions` (or `TurnOptions`), checked. */
export interface RunParts {
  /** The options as read, once: what a turn hands each of its scripts (a getter is not read again). */
  snapshot: TurnOptions
  config: RunConfig
  mode: HarnessMode | undefined
  signal: AbortSignal | undefined
  onEvent: ((event: HarnessEvent) => void) | undefined
  stopAfterFailure: boolean
}

export function normalizeRunOptions(options: unknown): RunParts {
  if (options === undefined || options === null) {
    return { snapshot: {}, config: {}, mode: undefined, signal: undefined, onEvent: undefined, stopAfterFailure: false }
  }
  if (!isObject(options)) throw typeError('options', 'must be an object')
  const { signal, mode, limits, context, onEvent, stopAfterFailure } = options
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw typeError('options.signal', 'must be an AbortSignal')
  if (onEvent !== undefined && typeof onEvent !== 'function') throw typeError('options.onEvent', 'must be a function')
  const parts: RunParts = {
    snapshot: {},
    config: { limits: checkLimits(limits, 'options.limits'), context: checkSeed(context, 'options.context') },
    mode: checkMode(mode, 'options.mode'),
    signal,
    onEvent: onEvent as RunParts['onEvent'],
    stopAfterFailure: stopAfterFailure === true,
  }
  const snapshot = parts.snapshot
  if (parts.signal !== undefined) snapshot.signal = parts.signal
  if (parts.mode !== undefined) snapshot.mode = parts.mode
  if (parts.config.limits !== undefined) snapshot.limits = JSON.parse(parts.config.limits) as TurnOptions['limits']
  if (parts.config.context !== undefined) snapshot.context = parts.config.context
  if (parts.onEvent !== undefined) snapshot.onEvent = parts.onEvent
  if (parts.stopAfterFailure) snapshot.stopAfterFailure = true
  return parts
}

/** The reason of an aborted signal, as text; '' when none was given. */
export function abortReason(signal: AbortSignal): string {
  return reasonText(signal.reason)
}
