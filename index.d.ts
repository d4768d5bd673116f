// The public types of script-harness, written by scripts/build-js.mjs from
// the declarations of its TypeScript layer (src/js/index.ts and types.ts).
// Do not edit: change src/js and run `npm run build`.
import type { StandardJSONSchemaV1, StandardSchemaV1 } from '@standard-schema/spec';

/** `enabled` runs scripts; `dry-run` validates and runs nothing; `disabled` runs nothing. */
export type HarnessMode = 'disabled' | 'dry-run' | 'enabled';
export type ApiFormat = 'responses' | 'chat' | 'messages';
export interface ScriptHarnessOptions {
    /** The tools scripts may call as `tools.<name>(args)`. */
    tools: ToolDefinition[];
    /** Default `'enabled'`. */
    mode?: HarnessMode;
    /** Overrides of the default limits (see `HarnessLimits`). */
    limits?: Partial<HarnessLimits>;
    /** Asked before a tool whose `requiresApproval` holds runs. Without it, such tools are denied. */
    onApproval?: (req: ApprovalRequest) => ApprovalAnswer | Promise<ApprovalAnswer>;
    /** Receives every `HarnessEvent`, in order per script. A throw is ignored. */
    onEvent?: (event: HarnessEvent) => void;
    /** Defaults for the sandbox's `context` object. */
    context?: ContextSeed;
    /** Sandbox threads. Default: the number of CPUs. */
    workers?: number;
    /** How scripts share realms (a realm: one QuickJS runtime and context, hardened and frozen). `'pooled'`
     *  (the default): each sandbox thread reuses a realm for script after script, each script with a fresh
     *  deep-frozen `context`, `tools` and `console` of its own, and a realm is reused only after a clean finish.
     *  `'script'`: a fresh realm for every script, freed when it ends; about twenty times the engine's CPU per script.
     *  See docs/security.md, "Realms and isolation". */
    isolation?: 'pooled' | 'script';
    /** Microseconds the Node thread may wait, after starting a script or answering one of its tool calls, for
     *  the script's next message (its result, or its next call) before it returns to the event loop; a message
     *  sent meanwhile is read at once instead of waking the thread, which costs tens of microseconds on virtual
     *  machines. Adaptive: after a wait that runs out, the next 1, 3, 7 … 63 are skipped, so slow scripts cost
     *  almost nothing; only while one script is pending in the process, at most 900 µs of any millisecond, and
     *  never on one CPU. 0 never waits. Default 50, at most 1000. `stats()` reports what it cost. See
     *  docs/configuration.md, "The Node thread's short waits". */
    holdEventLoopUs?: number;
    /** Makes scripts durable: `onApproval` may answer `'suspend'`, and `run()` then resolves with a `snapshot`
     *  sealed (HMAC-SHA256) under this key, which `resume()` on any harness with the same key and tools runs on
     *  from. At least 16 bytes (as UTF-8 text, or bytes); use 32 random ones, kept secret. See docs/durable.md. */
    snapshotKey?: string | Uint8Array;
}
export interface RunOptions {
    /** Cancels the script (`ScriptCancelledError`) and aborts its tool calls. */
    signal?: AbortSignal;
    /** Per-call mode override. */
    mode?: HarnessMode;
    /** Per-call limit overrides. */
    limits?: Partial<HarnessLimits>;
    /** Per-call context fields, merged over the harness's. */
    context?: ContextSeed;
    /** Receives this script's events, in order, after the harness's `onEvent` got each. A throw is ignored. */
    onEvent?: (event: HarnessEvent) => void;
}
/** Options of `processResponse` and `stream`: those of `run`, for every script of the turn, plus: */
export interface TurnOptions extends RunOptions {
    /** Scripts after one that failed are not run (reported as `ScriptCancelledError`). Default: false, every
     *  script runs. In a stream, a script that already started when the failure is known runs to its end. */
    stopAfterFailure?: boolean;
}
/** Limits of one script. Defaults in brackets. */
export interface HarnessLimits {
    /** Wall clock from the start on a worker, including time awaiting tools, but not time the script
     *  spends suspended while a person decides an approval (`approvalTimeoutMs` bounds that) [30000]. */
    timeoutMs: number;
    /** Sandbox heap [96]. */
    memoryMb: number;
    /** JS stack; 64 KiB to 4 MiB [524288]. */
    maxStackBytes: number;
    /** Script size in UTF-8 bytes [20480]. */
    maxSourceBytes: number;
    /** Serialized return value in UTF-8 bytes [131072]. */
    maxReturnBytes: number;
    /** Tool calls per script [32]. */
    maxToolCalls: number;
    /** Tool calls in flight per script; further calls wait their turn [4]. */
    maxConcurrentToolCalls: number;
    /** Console entries kept per script [200]. */
    maxLogEvents: number;
    /** Time `onApproval` has to answer [60000]. */
    approvalTimeoutMs: number;
    /** After the script ends, time for aborted calls to settle [250]. */
    orphanGraceMs: number;
    /** One tool call's arguments, as JSON in UTF-8 bytes; a larger call is refused with
     *  `ToolValidationError` before the host sees it [1048576]. */
    maxToolArgBytes: number;
    /** One tool call's result, as JSON in UTF-8 bytes; a larger result is a
     *  `ToolExecutionError` [4194304]. */
    maxToolResultBytes: number;
    /** Arguments and results kept whole in `ScriptResult.toolCalls`, in JSON bytes per script;
     *  past it a value is kept as a `TruncatedValue` [1048576]. */
    maxCallRecordBytes: number;
}
/** How `ToolCallRecord.args` and `.result` keep a value past `maxCallRecordBytes`:
 *  its size in JSON bytes and the first 256 bytes of that JSON. */
export interface TruncatedValue {
    $truncated: number;
    preview: string;
}
export interface ContextSeed {
    conversationId?: string;
    sessionId?: string;
    turnId?: string;
    workingDirectory?: string;
    provider?: string;
    model?: string;
}
/** A tool's schema: a JSON Schema (a plain object), or a Standard Schema with a JSON Schema view (zod 4.2 or later,
 *  and other libraries that implement Standard JSON Schema), converted once when the harness is made. */
export type ToolSchema = object | StandardJSONSchemaV1;
/** The handler's arguments for a `parameters` schema: a Standard Schema's output type; `unknown` for JSON Schema. */
export type ToolArgs<P> = P extends StandardSchemaV1<any, infer O> ? O : unknown;
/** What the handler returns for a `returns` schema: a Standard Schema's input type; `unknown` for JSON Schema. */
export type ToolResult<R> = R extends StandardSchemaV1<infer I, any> ? I : unknown;
export interface ToolDefinition {
    /** `exec`, `fileSearch`, `mcp.github.searchIssues` (dots make namespaces). */
    name: string;
    description?: string;
    /** Schema of the single argument object: arguments are checked against its JSON Schema before `handler` runs, and,
     *  for a Standard Schema, by its own validation too (the handler gets its parsed value: defaults, transforms). */
    parameters?: ToolSchema;
    /** Schema of the handler's result: `describeTools()` declares it as the tool's result type. Not checked at
     *  run time (the handler's value is JSON the script owns); check it in your handler's tests. */
    returns?: ToolSchema;
    /** Whether a call waits for `onApproval` (a predicate sees the arguments). */
    requiresApproval?: boolean | ((args: unknown) => boolean | Promise<boolean>);
    /** Runs on the Node main thread; gets the script's arguments as JSON values. Its value must be JSON. */
    handler(args: unknown, ctx: ToolContext): unknown | Promise<unknown>;
}
/** A tool as `harness.listTools()` gives it: what a search over a large catalog reads. */
export interface ToolSummary {
    readonly name: string;
    readonly description?: string;
}
export interface ToolContext {
    /** Aborted when the call is orphaned, loses a race, times out or is cancelled. */
    signal: AbortSignal;
    scriptId: string;
    callId: string;
    toolName: string;
}
export interface ApprovalRequest {
    requestId: string;
    scriptId: string;
    callId: string;
    toolName: string;
    /** For display: values under secret-looking keys are `"[redacted]"`. */
    args: unknown;
    /** sha256 of the script source, hex. */
    scriptHash: string;
    /** Line of the call in the script, where known. */
    line?: number;
}
/** Only `'approved'` or `true` approves. `'suspend'` (with a `snapshotKey`) suspends the script until `resume()`. */
export type ApprovalDecision = 'approved' | 'denied' | 'suspend' | boolean;
/** What `onApproval` returns: a decision, or any other string, which denies. Wider than `ApprovalDecision` so
 *  that `async () => 'approved'` type-checks without `as const` (TypeScript infers `Promise<string>` for it). */
export type ApprovalAnswer = ApprovalDecision | (string & {});
export interface LogEntry {
    level: 'log' | 'info' | 'warn' | 'error';
    message: string;
}
export interface ScriptResult {
    ok: boolean;
    scriptId: string;
    /** The script's return value as a JSON value; absent when it returned nothing. */
    value?: unknown;
    error?: ScriptError;
    logs: LogEntry[];
    /** In call order, including failed, denied and aborted ones. */
    toolCalls: ToolCallRecord[];
    metadata: {
        durationMs: number;
        toolCallsMade: number;
        memoryUsedMb?: number;
    };
    /** The script was suspended waiting for approval (`error.code` is `'ScriptSuspendedError'`): `snapshot`
     *  resumes it, with `harness.resume(snapshot, decision)`. */
    suspended?: true;
    /** A suspended script, sealed under the harness's `snapshotKey`: store it anywhere. It holds the script's
     *  source, and the arguments and results of its finished tool calls, in readable form. */
    snapshot?: string;
}
export interface ToolCallRecord {
    callId: string;
    toolName: string;
    /** As the script sent them; a `TruncatedValue` once the script's records passed `maxCallRecordBytes`. */
    args: unknown;
    status: 'ok' | 'error' | 'denied' | 'aborted';
    durationMs: number;
    /** As the handler returned it; a `TruncatedValue` once the records passed `maxCallRecordBytes`. */
    result?: unknown;
    error?: ScriptError;
}
export interface ScriptError {
    code: ErrorCode;
    message: string;
    phase: 'parsing' | 'executing' | 'finalizing';
    /** In the script as the model wrote it (line 1 is its first line). */
    line?: number;
    column?: number;
    toolName?: string;
    callId?: string;
    /** Script frames only; no host paths or harness internals. */
    stack?: string;
    retryable: boolean;
}
export type ErrorCode = 'ScriptSyntaxError' | 'ScriptTooLargeError' | 'BannedConstructError' | 'ScriptRuntimeError' | 'ScriptTimeoutError' | 'ScriptMemoryError' | 'ScriptStackOverflowError' | 'ScriptCancelledError' | 'ToolNotFoundError' | 'ToolValidationError' | 'ToolExecutionError' | 'ToolBudgetExceededError' | 'ApprovalDeniedError' | 'ApprovalTimeoutError' | 'DetachedPromiseError' | 'SerializationError' | 'ReturnValueTooLargeError' | 'HarnessDisabledError' | 'HarnessInternalError' | 'ScriptSuspendedError' | 'ScriptReplayDivergedError';
export type HarnessEvent = {
    scriptId: string;
    timestamp: number;
} & ({
    type: 'script_started';
    language: 'ts' | 'js';
    scriptHash: string;
} | {
    type: 'tool_call_started';
    callId: string;
    toolName: string;
    args: unknown;
} | {
    type: 'approval_requested';
    request: ApprovalRequest;
} | {
    type: 'approval_resolved';
    requestId: string;
    decision: 'approved' | 'denied' | 'timeout' | 'suspended';
} | {
    type: 'tool_call_completed';
    callId: string;
    toolName: string;
    status: ToolCallRecord['status'];
    durationMs: number;
} | {
    type: 'console';
    level: 'log' | 'info' | 'warn' | 'error';
    message: string;
} | {
    type: 'progress';
    message: string;
} | {
    type: 'script_completed';
    ok: boolean;
    error?: ScriptError;
    durationMs: number;
});
/** What `validate()` (and dry-run) found, without running anything. */
export interface ValidationReport {
    ok: boolean;
    /** sha256 of the script source, hex. */
    scriptHash: string;
    language: 'ts' | 'js';
    /** Syntax, size and banned constructs (phase 'parsing'). */
    errors: ScriptError[];
    /** Tool paths the script mentions: `exec`, `mcp.github.searchIssues`. */
    toolsReferenced: string[];
    /** Of those, the ones that are not registered. */
    unknownTools: string[];
}
/** A piece of model text, as `detectScripts` splits it. Offsets are UTF-16 positions. */
export type Segment = {
    type: 'text';
    text: string;
    start: number;
    end: number;
} | {
    type: 'script';
    source: string;
    language: 'ts' | 'js';
    start: number;
    end: number;
    attributes: Record<string, string>;
    form: 'tag' | 'fence';
}
/** Malformed blocks: reported, never run; `text` is the raw text, tags included.
 *  `stray` is a closing tag with no script open. */
 | {
    type: 'problem';
    kind: 'nested' | 'unclosed' | 'stray';
    text: string;
    start: number;
    end: number;
};
/** What a turn held that did not run or was not read. A malformed block (`nested`, `unclosed`, `stray`): reported
 *  to the model too, never run; `line` counts lines of the text block it stands in. `unread`: a part of the
 *  response the harness does not read (a second Chat choice, a content part that is neither text nor refusal),
 *  reported to the host only; `field` is its path in the response. */
export type ScriptProblem = {
    kind: 'nested' | 'unclosed' | 'stray';
    message: string;
    line: number;
    text: string;
} | {
    kind: 'unread';
    message: string;
    field: string;
}
/** A streamed turn only: a script that ran from the stream's text deltas, but that the assembled turn does not
 *  hold (the stream's events disagree, e.g. a final output unlike its deltas). Its result is in `scripts`, after
 *  the turn's own. Reported to the host only. */
 | {
    kind: 'unmatched';
    message: string;
    scriptId: string;
};
/** What the host appends after the assistant turn to report script results, in that API's input shape. */
export type ContinuationOf<F extends ApiFormat> = F extends 'responses' ? {
    type: 'message';
    role: 'user';
    content: Array<{
        type: 'input_text';
        text: string;
    }>;
} : F extends 'chat' ? {
    role: 'user';
    content: string;
} : {
    role: 'user';
    content: Array<{
        type: 'text';
        text: string;
    }>;
};
/** Codex `ResponseItem` shapes, plus the two script variants. */
export type HistoryItem = {
    type: 'message';
    role: 'assistant';
    content: Array<{
        type: 'output_text';
        text: string;
    }>;
    phase?: unknown;
} | {
    type: 'reasoning';
    id?: string;
    summary: Array<{
        type: 'summary_text';
        text: string;
    }>;
    content?: Array<{
        type: 'reasoning_text';
        text: string;
    }>;
    encrypted_content?: string;
    /** The provider's block exactly as received. */
    raw: unknown;
} | {
    type: 'function_call';
    id?: string;
    name: string;
    arguments: string;
    call_id: string;
}
/** A freeform native call (Responses `custom_tool_call`, Chat `type: 'custom'` tool calls; codex's apply_patch):
 *  the host runs it and answers with a `custom_tool_call_output`. */
 | {
    type: 'custom_tool_call';
    id?: string;
    name: string;
    input: string;
    call_id: string;
}
/** An item or block the harness does not model (`web_search_call`, `server_tool_use`, ...), exactly as received
 *  in `raw`: send `raw` back to the provider as it is. */
 | {
    type: 'other';
    raw: unknown;
} | {
    type: 'script_tool_call';
    id: string;
    call_id: string;
    language: 'ts' | 'js';
    source_code: string;
    source_sha256: string;
    status: 'completed' | 'error';
} | {
    type: 'script_tool_call_output';
    id: string;
    call_id: string;
    output_json?: string;
    error?: ScriptError;
    summary?: string;
    metadata: {
        duration_ms: number;
        tool_calls_made: number;
        memory_used_mb?: number;
    };
};
export interface ProcessedTurn<F extends ApiFormat = ApiFormat> {
    /** The whole turn, in order, for conversation history. */
    items: HistoryItem[];
    /** Provider-native input reporting script results, for the next request. */
    continuation: ContinuationOf<F>[];
    /** One per script, in order (empty in dry-run). */
    scripts: ScriptResult[];
    /** Malformed blocks (nested, unclosed, stray): reported, never run; and parts of the response not read. */
    problems: ScriptProblem[];
    /** Dry-run mode: one validation report per script. */
    reports?: ValidationReport[];
    /** A script of the turn was suspended waiting for approval (a `snapshotKey`): the later scripts did not run,
     *  `items` and `continuation` are interim (do not send them to the model), and `snapshot` resumes the whole
     *  turn with `harness.resumeTurn(snapshot, decision)`. */
    suspended?: {
        scriptId: string;
        snapshot: string;
    };
}
/** A streamed turn: feed events with `push`, then `end()`. */
export interface ResponseStream<F extends ApiFormat = ApiFormat> {
    /** Feed one provider stream event (synchronous). Returns the assistant text that is now
     *  safe to show: script bodies and not-yet-decided text are held back, never lost. */
    push(event: unknown): string;
    /** The turn as processResponse would give it, once every script finished. */
    end(): Promise<ProcessedTurn<F>>;
    /** Cancel: aborts running scripts; end() then resolves with what is known. */
    abort(reason?: string): void;
}
/** `harness.stats()`: counters for operators and leak checks. */
export interface HarnessStats {
    /** Sandbox threads. */
    workers: number;
    /** Scripts submitted whose results have not been delivered yet (queued, running or awaiting tools). */
    activeScripts: number;
    /** Scripts finished since the harness started. */
    scriptsFinished: number;
    /** Tool calls handed to a handler or an approval whose answer the harness still waits for. */
    pendingToolCalls: number;
    /** Bytes held by the QuickJS heaps of the sandbox threads (the realms of running scripts and idle
     *  realms), as of each thread's last message. */
    sandboxHeapBytes: number;
    /** Realms built since the harness started (ahead of demand, and to replace discarded ones). */
    realmsBuilt: number;
    /** Scripts that ran in a realm an earlier script had used (`isolation: 'pooled'`). */
    realmsReused: number;
    /** Sandbox threads replaced: after a panic, or abandoned by the watchdog while stuck in a built-in QuickJS
     *  cannot interrupt (see docs/security.md). Alert when it is above 0. */
    workerRestarts: number;
    /** Abandoned sandbox threads now parked for good: they use no CPU and keep their memory until the process
     *  exits (see docs/security.md). 0 unless QuickJS has a loop the project's patches missed. */
    threadsParked: number;
    /** Times the Node thread waited for a script's next message (`holdEventLoopUs`), and how long it waited
     *  in all, in microseconds: what the waits cost the event loop. */
    eventLoopHolds: number;
    eventLoopHeldUs: number;
}
/** `resume()` refused a snapshot: altered, truncated, sealed under another key, of another version, or too large.
 *  `code`: `ERR_SNAPSHOT_SIGNATURE`, `ERR_SNAPSHOT_MALFORMED`, `ERR_SNAPSHOT_FORMAT`, `ERR_SNAPSHOT_TOO_LARGE`, `ERR_SNAPSHOT_KEY`. */
export declare class SnapshotError extends Error {
    readonly code: string;
    constructor(code: string, message: string);
}
/**
 * Runs scripts written by a model in hardened QuickJS sandboxes on their own
 * threads. Tools are your JavaScript functions; scripts call them as
 * `await tools.<name>(args)`.
 */
export declare class ScriptHarness {
    #private;
    /**
     * Start a harness: validates the options (a `TypeError` names the bad
     * field) and starts `workers` sandbox threads.
     */
    constructor(options: ScriptHarnessOptions);
    /**
     * Run one script body (TypeScript or JavaScript, no surrounding tags).
     * Resolves with a `ScriptResult` whether the script succeeded or not;
     * rejects only for misuse (closed harness, bad options).
     */
    run(source: string, options?: RunOptions): Promise<ScriptResult>;
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
    resume(snapshot: string, decision: 'approved' | 'denied', options?: Pick<RunOptions, 'signal' | 'onEvent'>): Promise<ScriptResult>;
    /**
     * Resume a turn suspended at one of its scripts (`processResponse` or a
     * stream's `end()` gave `suspended`): that script is resumed as by
     * `resume()`, then the turn's later scripts run, and it resolves with
     * the whole turn, its items and continuation, as `processResponse` would
     * have given it had the approval been answered at once. It may be
     * suspended again, at a later approval. `options`: `signal` and
     * `onEvent`.
     */
    resumeTurn<F extends ApiFormat = ApiFormat>(snapshot: string, decision: 'approved' | 'denied', options?: Pick<RunOptions, 'signal' | 'onEvent'>): Promise<ProcessedTurn<F>>;
    /**
     * Suspend a running script whose tool calls are all awaiting a person's
     * approval (as if `onApproval` had answered `'suspend'` for the first):
     * its `run()` resolves with `suspended` and a `snapshot`. False when it is
     * not such a script of this harness (unknown, finished, or with a call
     * that is not awaiting approval). Needs a `snapshotKey`.
     */
    suspend(scriptId: string): boolean;
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
    setTools(tools: ToolDefinition[]): void;
    /**
     * The tools scripts can call now, in order: each one's name and
     * description. The array and its entries are frozen, and the same array
     * is returned until `setTools` changes the tools (a cache may key on it).
     * For a search over a catalog too large to declare in a prompt (the MCP
     * code-mode server's `search_tools`).
     */
    listTools(): readonly ToolSummary[];
    /**
     * Validate one script body without running it (what dry-run does):
     * syntax, size, banned constructs, and the tools it references that are
     * not registered.
     */
    validate(source: string): ValidationReport;
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
    describeTools(options?: {
        context?: 'full' | 'brief' | 'none';
        tools?: readonly string[];
    }): string;
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
        delivery?: 'tag' | 'fence' | 'argument';
        context?: 'full' | 'brief' | 'none';
        catalog?: 'declared' | 'searched';
    }): string;
    /**
     * Take one complete assistant turn in the native shape of `format`, find
     * every script in it, run them in order, and return the ordered history
     * items plus the provider-native input that reports the results back.
     */
    processResponse<F extends ApiFormat>(format: F, response: unknown, options?: TurnOptions): Promise<ProcessedTurn<F>>;
    /**
     * Incremental form of `processResponse` for streamed turns: `push` each
     * provider stream event as it arrives; the turn's scripts run in order,
     * each once its closing tag has arrived and the previous one ended;
     * `end()` resolves to what `processResponse` gives on the assembled turn.
     */
    stream<F extends ApiFormat>(format: F, options?: TurnOptions): ResponseStream<F>;
    /**
     * Counters for operators and leak checks: scripts active and finished,
     * tool calls pending, sandbox heap bytes, worker restarts.
     */
    stats(): HarnessStats;
    /**
     * Abort running scripts (each settles with `ScriptCancelledError`),
     * refuse new work and let the sandbox threads end. Idempotent.
     */
    close(): Promise<void>;
}
/**
 * A tool whose handler's argument (and result) types come from its schemas: with zod 4,
 * `defineTool({ name: 'read', parameters: z.object({ path: z.string() }), handler: ({ path }) => ... })`
 * types `path` as `string` without a cast. Returns the definition unchanged.
 */
export declare function defineTool<P extends ToolSchema | undefined = undefined, R extends ToolSchema | undefined = undefined>(tool: {
    name: string;
    description?: string;
    parameters?: P;
    returns?: R;
    requiresApproval?: ToolDefinition['requiresApproval'];
    handler(args: ToolArgs<P>, ctx: ToolContext): ToolResult<R> | Promise<ToolResult<R>>;
}): ToolDefinition;
/**
 * Split text into ordered text, script and problem segments (both the
 * `<tool-calls>` tag and the ```` ```ts tool-calls ```` fence). Offsets are
 * UTF-16 positions in `text`; the segments cover it exactly.
 */
export declare function detectScripts(text: string): Segment[];
/**
 * Whether `schemaJson` (a JSON Schema as JSON text) is one the harness
 * accepts as a tool's `parameters` or `returns`: `null` when it is,
 * otherwise why not. `mcpTools` uses it to leave out one bad tool rather
 * than fail the harness.
 */
export declare function checkToolSchema(schemaJson: string): string | null;
/**
 * Which binding artifact the generated loader actually loaded: `'native'` for
 * a native addon, otherwise the `platformArchABI` of the WASI flavor. Every
 * flavor napi-rs can build is listed, because `NAPI_RS_NATIVE_LIBRARY_PATH`
 * can point the loader at a WASI artifact this package does not build itself.
 */
export declare const __napiBindingTarget: 'native' | 'wasm32-wasi' | 'wasm32-wasip1';
