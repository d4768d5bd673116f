// The public data types of script-harness: options, results, events,
// turns. `index.ts` re-exports them, and the build writes them, with the
// class, into the package's one declaration file (index.d.ts).
import type { StandardJSONSchemaV1, StandardSchemaV1 } from '@standard-schema/spec'

/** `enabled` runs scripts; `dry-run` validates and runs nothing; `disabled` runs nothing. */
export type HarnessMode = 'disabled' | 'dry-run' | 'enabled'
export type ApiFormat = 'responses' | 'chat' | 'messages'

export interface ScriptHarnessOptions {
  /** The tools scripts may call as `tools.<name>(args)`. */
  tools: ToolDefinition[]
  /** Default `'enabled'`. */
  mode?: HarnessMode
  /** Overrides of the default limits (see `HarnessLimits`). */
  limits?: Partial<HarnessLimits>
  /** Asked before a tool whose `requiresApproval` holds runs. Without it, such tools are denied. */
  onApproval?: (req: ApprovalRequest) => ApprovalAnswer | Promise<ApprovalAnswer>
  /** Receives every `HarnessEvent`, in order per script. A throw is ignored. */
  onEvent?: (event: HarnessEvent) => void
  /** Defaults for the sandbox's `context` object. */
  context?: ContextSeed
  /** Sandbox threads. Default: the number of CPUs. */
  workers?: number
  /** How scripts share realms (a realm: one QuickJS runtime and context, hardened and frozen). `'pooled'`
   *  (the default): each sandbox thread reuses a realm for script after script, each script with a fresh
   *  deep-frozen `context`, `tools` and `console` of its own, and a realm is reused only after a clean finish.
   *  `'script'`: a fresh realm for every script, freed when it ends; about twenty times the engine's CPU per script.
   *  See docs/security.md, "Realms and isolation". */
  isolation?: 'pooled' | 'script'
  /** Microseconds the Node thread may wait, after starting a script or answering one of its tool calls, for
   *  the script's next message (its result, or its next call) before it returns to the event loop; a message
   *  sent meanwhile is read at once instead of waking the thread, which costs tens of microseconds on virtual
   *  machines. Adaptive: after a wait that runs out, the next 1, 3, 7 … 63 are skipped, so slow scripts cost
   *  almost nothing; only while one script is pending in the process, at most 900 µs of any millisecond, and
   *  never on one CPU. 0 never waits. Default 50, at most 1000. `stats()` reports what it cost. See
   *  docs/configuration.md, "The Node thread's short waits". */
  holdEventLoopUs?: number
  /** Makes scripts durable: `onApproval` may answer `'suspend'`, and `run()` then resolves with a `snapshot`
   *  sealed (HMAC-SHA256) under this key, which `resume()` on any harness with the same key and tools runs on
   *  from. At least 16 bytes (as UTF-8 text, or bytes); use 32 random ones, kept secret. See docs/durable.md. */
  snapshotKey?: string | Uint8Array
}

export interface RunOptions {
  /** Cancels the script (`ScriptCancelledError`) and aborts its tool calls. */
  signal?: AbortSignal
  /** Per-call mode override. */
  mode?: HarnessMode
  /** Per-call limit overrides. */
  limits?: Partial<HarnessLimits>
  /** Per-call context fields, merged over the harness's. */
  context?: ContextSeed
  /** Receives this script's events, in order, after the harness's `onEvent` got each. A throw is ignored. */
  onEvent?: (event: HarnessEvent) => void
}

/** Options of `processResponse` and `stream`: those of `run`, for every script of the turn, plus: */
export interface TurnOptions extends RunOptions {
  /** Scripts after one that failed are not run (reported as `ScriptCancelledError`). Default: false, every
   *  script runs. In a stream, a script that already started when the failure is known runs to its end. */
  stopAfterFailure?: boolean
}

/** Limits of one script. Defaults in brackets. */
export interface HarnessLimits {
  /** Wall clock from the start on a worker, including time awaiting tools, but not time the script
   *  spends suspended while a person decides an approval (`approvalTimeoutMs` bounds that) [30000]. */
  timeoutMs: number
  /** Sandbox heap [96]. */
  memoryMb: number
  /** JS stack; 64 KiB to 4 MiB [524288]. */
  maxStackBytes: number
  /** Script size in UTF-8 bytes [20480]. */
  maxSourceBytes: number
  /** Serialized return value in UTF-8 bytes [131072]. */
  maxReturnBytes: number
  /** Tool calls per script [32]. */
  maxToolCalls: number
  /** Tool calls in flight per script; further calls wait their turn [4]. */
  maxConcurrentToolCalls: number
  /** Console entries kept per script [200]. */
  maxLogEvents: number
  /** Time `onApproval` has to answer [60000]. */
  approvalTimeoutMs: number
  /** After the script ends, time for aborted calls to settle [250]. */
  orphanGraceMs: number
  /** One tool call's arguments, as JSON in UTF-8 bytes; a larger call is refused with
   *  `ToolValidationError` before the host sees it [1048576]. */
  maxToolArgBytes: number
  /** One tool call's result, as JSON in UTF-8 bytes; a larger result is a
   *  `ToolExecutionError` [4194304]. */
  maxToolResultBytes: number
  /** Arguments and results kept whole in `ScriptResult.toolCalls`, in JSON bytes per script;
   *  past it a value is kept as a `TruncatedValue` [1048576]. */
  maxCallRecordBytes: number
}

/** How `ToolCallRecord.args` and `.result` keep a value past `maxCallRecordBytes`:
 *  its size in JSON bytes and the first 256 bytes of that JSON. */
export interface TruncatedValue {
  $truncated: number
  preview: string
}

export interface ContextSeed {
  conversationId?: string
  sessionId?: string
  turnId?: string
  workingDirectory?: string
  provider?: string
  model?: string
}

/** A tool's schema: a JSON Schema (a plain object), or a Standard Schema with a JSON Schema view (zod 4.2 or later,
 *  and other libraries that implement Standard JSON Schema), converted once when the harness is made. */
export type ToolSchema = object | StandardJSONSchemaV1

/** The handler's arguments for a `parameters` schema: a Standard Schema's output type; `unknown` for JSON Schema. */
export type ToolArgs<P> = P extends StandardSchemaV1<any, infer O> ? O : unknown
/** What the handler returns for a `returns` schema: a Standard Schema's input type; `unknown` for JSON Schema. */
export type ToolResult<R> = R extends StandardSchemaV1<infer I, any> ? I : unknown

export interface ToolDefinition {
  /** `exec`, `fileSearch`, `mcp.github.searchIssues` (dots make namespaces). */
  name: string
  description?: string
  /** Schema of the single argument object: arguments are checked against its JSON Schema before `handler` runs, and,
   *  for a Standard Schema, by its own validation too (the handler gets its parsed value: defaults, transforms). */
  parameters?: ToolSchema
  /** Schema of the handler's result: `describeTools()` declares it as the tool's result type. Not checked at
   *  run time (the handler's value is JSON the script owns); check it in your handler's tests. */
  returns?: ToolSchema
  /** Whether a call waits for `onApproval` (a predicate sees the arguments). */
  requiresApproval?: boolean | ((args: unknown) => boolean | Promise<boolean>)
  /** Runs on the Node main thread; gets the script's arguments as JSON values. Its value must be JSON. */
  handler(args: unknown, ctx: ToolContext): unknown | Promise<unknown>
}

/** A tool as `harness.listTools()` gives it: what a search over a large catalog reads. */
export interface ToolSummary {
  readonly name: string
  readonly description?: string
}

export interface ToolContext {
  /** Aborted when the call is orphaned, loses a race, times out or is cancelled. */
  signal: AbortSignal
  scriptId: string
  callId: string
  toolName: string
}

export interface ApprovalRequest {
  requestId: string
  scriptId: string
  callId: string
  toolName: string
  /** For display: values under secret-looking keys are `"[redacted]"`. */
  args: unknown
  /** sha256 of the script source, hex. */
  scriptHash: string
  /** Line of the call in the script, where known. */
  line?: number
}
/** Only `'approved'` or `true` approves. `'suspend'` (with a `snapshotKey`) suspends the script until `resume()`. */
export type ApprovalDecision = 'approved' | 'denied' | 'suspend' | boolean
/** What `onApproval` returns: a decision, or any other string, which denies. Wider than `ApprovalDecision` so
 *  that `async () => 'approved'` type-checks without `as const` (TypeScript infers `Promise<string>` for it). */
export type ApprovalAnswer = ApprovalDecision | (string & {})

export interface LogEntry {
  level: 'log' | 'info' | 'warn' | 'error'
  message: string
}

export interface ScriptResult {
  ok: boolean
  scriptId: string
  /** The script's return value as a JSON value; absent when it returned nothing. */
  value?: unknown
  error?: ScriptError
  logs: LogEntry[]
  /** In call order, including failed, denied and aborted ones. */
  toolCalls: ToolCallRecord[]
  metadata: { durationMs: number; toolCallsMade: number; memoryUsedMb?: number }
  /** The script was suspended waiting for approval (`error.code` is `'ScriptSuspendedError'`): `snapshot`
   *  resumes it, with `harness.resume(snapshot, decision)`. */
  suspended?: true
  /** A suspended script, sealed under the harness's `snapshotKey`: store it anywhere. It holds the script's
   *  source, and the arguments and results of its finished tool calls, in readable form. */
  snapshot?: string
}

export interface ToolCallRecord {
  callId: string
  toolName: string
  /** As the script sent them; a `TruncatedValue` once the script's records passed `maxCallRecordBytes`. */
  args: unknown
  status: 'ok' | 'error' | 'denied' | 'aborted'
  durationMs: number
  /** As the handler returned it; a `TruncatedValue` once the records passed `maxCallRecordBytes`. */
  result?: unknown
  error?: ScriptError
}

export interface ScriptError {
  code: ErrorCode
  message: string
  phase: 'parsing' | 'executing' | 'finalizing'
  /** In the script as the model wrote it (line 1 is its first line). */
  line?: number
  column?: number
  toolName?: string
  callId?: string
  /** Script frames only; no host paths or harness internals. */
  stack?: string
  retryable: boolean
}

export type ErrorCode =
  | 'ScriptSyntaxError' | 'ScriptTooLargeError' | 'BannedConstructError'
  | 'ScriptRuntimeError'
  | 'ScriptTimeoutError' | 'ScriptMemoryError' | 'ScriptStackOverflowError' | 'ScriptCancelledError'
  | 'ToolNotFoundError' | 'ToolValidationError' | 'ToolExecutionError' | 'ToolBudgetExceededError'
  | 'ApprovalDeniedError' | 'ApprovalTimeoutError'
  | 'DetachedPromiseError' | 'SerializationError' | 'ReturnValueTooLargeError'
  | 'HarnessDisabledError' | 'HarnessInternalError'
  | 'ScriptSuspendedError' | 'ScriptReplayDivergedError'

export type HarnessEvent = { scriptId: string; timestamp: number } & (
  | { type: 'script_started'; language: 'ts' | 'js'; scriptHash: string }
  | { type: 'tool_call_started'; callId: string; toolName: string; args: unknown }
  | { type: 'approval_requested'; request: ApprovalRequest }
  | { type: 'approval_resolved'; requestId: string; decision: 'approved' | 'denied' | 'timeout' | 'suspended' }
  | { type: 'tool_call_completed'; callId: string; toolName: string; status: ToolCallRecord['status']; durationMs: number }
  | { type: 'console'; level: 'log' | 'info' | 'warn' | 'error'; message: string }
  | { type: 'progress'; message: string }
  | { type: 'script_completed'; ok: boolean; error?: ScriptError; durationMs: number })

/** What `validate()` (and dry-run) found, without running anything. */
export interface ValidationReport {
  ok: boolean
  /** sha256 of the script source, hex. */
  scriptHash: string
  language: 'ts' | 'js'
  /** Syntax, size and banned constructs (phase 'parsing'). */
  errors: ScriptError[]
  /** Tool paths the script mentions: `exec`, `mcp.github.searchIssues`. */
  toolsReferenced: string[]
  /** Of those, the ones that are not registered. */
  unknownTools: string[]
}

/** A piece of model text, as `detectScripts` splits it. Offsets are UTF-16 positions. */
export type Segment =
  | { type: 'text'; text: string; start: number; end: number }
  | { type: 'script'; source: string; language: 'ts' | 'js'; start: number; end: number;
      attributes: Record<string, string>; form: 'tag' | 'fence' }
  /** Malformed blocks: reported, never run; `text` is the raw text, tags included.
   *  `stray` is a closing tag with no script open. */
  | { type: 'problem'; kind: 'nested' | 'unclosed' | 'stray'; text: string; start: number; end: number }

/** What a turn held that did not run or was not read. A malformed block (`nested`, `unclosed`, `stray`): reported
 *  to the model too, never run; `line` counts lines of the text block it stands in. `unread`: a part of the
 *  response the harness does not read (a second Chat choice, a content part that is neither text nor refusal),
 *  reported to the host only; `field` is its path in the response. */
export type ScriptProblem =
  | { kind: 'nested' | 'unclosed' | 'stray'; message: string; line: number; text: string }
  | { kind: 'unread'; message: string; field: string }
  /** A streamed turn only: a script that ran from the stream's text deltas, but that the assembled turn does not
   *  hold (the stream's events disagree, e.g. a final output unlike its deltas). Its result is in `scripts`, after
   *  the turn's own. Reported to the host only. */
  | { kind: 'unmatched'; message: string; scriptId: string }

/** What the host appends after the assistant turn to report script results, in that API's input shape. */
export type ContinuationOf<F extends ApiFormat> =
  F extends 'responses' ? { type: 'message'; role: 'user'; content: Array<{ type: 'input_text'; text: string }> } :
  F extends 'chat'      ? { role: 'user'; content: string } :
                          { role: 'user'; content: Array<{ type: 'text'; text: string }> }

/** Codex `ResponseItem` shapes, plus the two script variants. */
export type HistoryItem =
  | { type: 'message'; role: 'assistant'; content: Array<{ type: 'output_text'; text: string }>; phase?: unknown }
  | { type: 'reasoning'; id?: string; summary: Array<{ type: 'summary_text'; text: string }>;
      content?: Array<{ type: 'reasoning_text'; text: string }>; encrypted_content?: string;
      /** The provider's block exactly as received. */
      raw: unknown }
  | { type: 'function_call'; id?: string; name: string; arguments: string; call_id: string }
  /** A freeform native call (Responses `custom_tool_call`, Chat `type: 'custom'` tool calls; codex's apply_patch):
   *  the host runs it and answers with a `custom_tool_call_output`. */
  | { type: 'custom_tool_call'; id?: string; name: string; input: string; call_id: string }
  /** An item or block the harness does not model (`web_search_call`, `server_tool_use`, ...), exactly as received
   *  in `raw`: send `raw` back to the provider as it is. */
  | { type: 'other'; raw: unknown }
  | { type: 'script_tool_call'; id: string; call_id: string; language: 'ts' | 'js';
      source_code: string; source_sha256: string; status: 'completed' | 'error' }
  | { type: 'script_tool_call_output'; id: string; call_id: string; output_json?: string; error?: ScriptError;
      summary?: string; metadata: { duration_ms: number; tool_calls_made: number; memory_used_mb?: number } }

export interface ProcessedTurn<F extends ApiFormat = ApiFormat> {
  /** The whole turn, in order, for conversation history. */
  items: HistoryItem[]
  /** Provider-native input reporting script results, for the next request. */
  continuation: ContinuationOf<F>[]
  /** One per script, in order (empty in dry-run). */
  scripts: ScriptResult[]
  /** Malformed blocks (nested, unclosed, stray): reported, never run; and parts of the response not read. */
  problems: ScriptProblem[]
  /** Dry-run mode: one validation report per script. */
  reports?: ValidationReport[]
  /** A script of the turn was suspended waiting for approval (a `snapshotKey`): the later scripts did not run,
   *  `items` and `continuation` are interim (do not send them to the model), and `snapshot` resumes the whole
   *  turn with `harness.resumeTurn(snapshot, decision)`. */
  suspended?: { scriptId: string; snapshot: string }
}

/** A streamed turn: feed events with `push`, then `end()`. */
export interface ResponseStream<F extends ApiFormat = ApiFormat> {
  /** Feed one provider stream event (synchronous). Returns the assistant text that is now
   *  safe to show: script bodies and not-yet-decided text are held back, never lost. */
  push(event: unknown): string
  /** The turn as processResponse would give it, once every script finished. */
  end(): Promise<ProcessedTurn<F>>
  /** Cancel: aborts running scripts; end() then resolves with what is known. */
  abort(reason?: string): void
}

/** `harness.stats()`: counters for operators and leak checks. */
export interface HarnessStats {
  /** Sandbox threads. */
  workers: number
  /** Scripts submitted whose results have not been delivered yet (queued, running or awaiting tools). */
  activeScripts: number
  /** Scripts finished since the harness started. */
  scriptsFinished: number
  /** Tool calls handed to a handler or an approval whose answer the harness still waits for. */
  pendingToolCalls: number
  /** Bytes held by the QuickJS heaps of the sandbox threads (the realms of running scripts and idle
   *  realms), as of each thread's last message. */
  sandboxHeapBytes: number
  /** Realms built since the harness started (ahead of demand, and to replace discarded ones). */
  realmsBuilt: number
  /** Scripts that ran in a realm an earlier script had used (`isolation: 'pooled'`). */
  realmsReused: number
  /** Sandbox threads replaced: after a panic, or abandoned by the watchdog while stuck in a built-in QuickJS
   *  cannot interrupt (see docs/security.md). Alert when it is above 0. */
  workerRestarts: number
  /** Abandoned sandbox threads now parked for good: they use no CPU and keep their memory until the process
   *  exits (see docs/security.md). 0 unless QuickJS has a loop the project's patches missed. */
  threadsParked: number
  /** Times the Node thread waited for a script's next message (`holdEventLoopUs`), and how long it waited
   *  in all, in microseconds: what the waits cost the event loop. */
  eventLoopHolds: number
  eventLoopHeldUs: number
}

/** `resume()` refused a snapshot: altered, truncated, sealed under another key, of another version, or too large.
 *  `code`: `ERR_SNAPSHOT_SIGNATURE`, `ERR_SNAPSHOT_MALFORMED`, `ERR_SNAPSHOT_FORMAT`, `ERR_SNAPSHOT_TOO_LARGE`, `ERR_SNAPSHOT_KEY`. */
export class SnapshotError extends Error {
  readonly code: string
  constructor(code: string, message: string) {
    super(message)
    this.name = 'SnapshotError'
    this.code = code
  }
}
