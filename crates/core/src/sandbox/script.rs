//! One script's life on a worker: the state its host functions record into
//! ([`RunCell`]), starting it, settling its tool calls, deciding when and
//! why it ended, and building its [`ScriptResult`].

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

use rquickjs::{Array, Ctx, Function, Object, Persistent, Promise, Value, promise::PromiseState};
use serde_json::value::RawValue;

use super::alloc::Tripwires;
use super::gate::{CallPhase, Gate};
use super::outbox::Outbox;
use super::runtime::{Sandbox, describe_exception, script_options};
use super::values::{MAX_JSON_DEPTH, keep_within, tool_result};
use crate::compile::CompiledScript;
use crate::errors::{ErrorCode, Phase, ScriptError};
use crate::events::{EventKind, HarnessEvent, now_ms};
use crate::host::{CallToken, Outgoing, ToolOutcome};
use crate::limits::HarnessLimits;
use crate::result::{CallStatus, LogEntry, LogLevel, ResultMetadata, ScriptResult, ToolCallRecord};
use crate::sandbox::pool::EngineShared;
use crate::text::{json_deeper_than, truncate_utf8, truncated, well_formed_json};

/// The message of the RangeError QuickJS throws when the stack limit is hit.
const STACK_OVERFLOW_MESSAGE: &str = "Maximum call stack size exceeded";

/// `context.emitProgress`: at most one event per interval, so many per
/// script, each this long at most; the rest is dropped and counted.
const PROGRESS_INTERVAL: std::time::Duration = std::time::Duration::from_millis(500);
const MAX_PROGRESS_EVENTS: u32 = 50;
const MAX_PROGRESS_BYTES: usize = 1024;

/// Longest console message kept, in bytes.
const MAX_LOG_MESSAGE_BYTES: usize = 8 * 1024;
/// Console output kept per script, in bytes, whatever `maxLogEvents` says.
const MAX_LOG_BYTES: usize = 4 * 1024 * 1024;
/// Longest error message kept (what a script or a handler threw), in bytes.
pub(crate) const MAX_ERROR_MESSAGE_BYTES: usize = 8 * 1024;

/// Why a script was stopped by the harness. Decided from the harness's own
/// records (deadline, cancel flags, the allocator's tripwire), never from
/// what the script threw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Terminal {
    Cancelled,
    Timeout,
    Memory,
}

impl Terminal {
    fn error(self, limits: &HarnessLimits) -> ScriptError {
        let (code, message) = match self {
            Terminal::Cancelled => (
                ErrorCode::ScriptCancelledError,
                "the script was cancelled".to_owned(),
            ),
            Terminal::Timeout => (
                ErrorCode::ScriptTimeoutError,
                format!(
                    "the script ran longer than its {} ms time limit",
                    limits.timeout_ms
                ),
            ),
            Terminal::Memory => (
                ErrorCode::ScriptMemoryError,
                format!(
                    "the script used more than its {} MB memory limit",
                    limits.memory_mb
                ),
            ),
        };
        ScriptError::new(code, Phase::Executing, message)
    }
}

struct CallRecord {
    call_id: String,
    tool_name: String,
    tool_index: u32,
    args: Box<RawValue>,
    status: Option<CallStatus>,
    started: Instant,
    dispatched: bool,
    duration_ms: f64,
    result: Option<Box<RawValue>>,
    error: Option<ScriptError>,
    /// Aborted because the script ended first; waiting to settle.
    orphan: bool,
    /// Its arguments are counted against the script's memory budget until
    /// it ends.
    charged: bool,
    /// Line of the call in the script, for tools that may need approval.
    line: Option<u32>,
}

impl CallRecord {
    fn new(
        call_id: String,
        tool_name: String,
        tool_index: u32,
        args: Box<RawValue>,
        line: Option<u32>,
    ) -> CallRecord {
        CallRecord {
            call_id,
            tool_name,
            tool_index,
            args,
            status: None,
            started: Instant::now(),
            dispatched: false,
            duration_ms: 0.0,
            result: None,
            error: None,
            orphan: false,
            charged: false,
            line,
        }
    }
}

/// Everything about the live script that host functions and the worker
/// record. Present from `begin` until the result is built.
pub(crate) struct RunState {
    pub shared: Arc<EngineShared>,
    pub run: u64,
    pub token_base: CallToken,
    pub script_id: String,
    pub script_hash: String,
    pub compiled: Arc<CompiledScript>,
    pub limits: HarnessLimits,
    pub started: Instant,
    pub gate: Arc<Gate>,
    calls: Vec<CallRecord>,
    in_flight: usize,
    queued: VecDeque<u32>,
    logs: Vec<LogEntry>,
    logs_dropped: u64,
    log_bytes: usize,
    /// Bytes of arguments and results kept in the call records so far.
    recorded_bytes: u64,
    wires: Rc<Tripwires>,
    progress_sent: u32,
    progress_dropped: u32,
    last_progress: Option<Instant>,
    /// While aborted calls get `orphanGraceMs` to settle: how the script
    /// itself ended, and how many calls are still out.
    outcome: Option<Outcome>,
    orphans: usize,
    outbox: Rc<Outbox>,
}

type Outcome = Result<Option<Box<RawValue>>, ScriptError>;

impl RunState {
    fn emit(&self, kind: EventKind) {
        if self.shared.host.wants_events() {
            self.outbox.push(Outgoing::Event {
                event: HarnessEvent {
                    script_id: self.script_id.clone(),
                    timestamp: now_ms(),
                    kind,
                },
            });
        }
    }

    fn token(&self, call: u32) -> CallToken {
        CallToken {
            call,
            ..self.token_base
        }
    }

    fn dispatch(&mut self, call: u32) {
        let record = &mut self.calls[call as usize];
        record.dispatched = true;
        record.started = Instant::now();
        self.in_flight += 1;
        self.gate.set_phase(call, CallPhase::Dispatched);
        let needs_approval = self
            .shared
            .registry
            .get(record.tool_index as usize)
            .is_some_and(|t| t.approval != crate::tools::ApprovalRule::Never);
        // What people see: never the raw arguments, even if they could not
        // be read (they are depth-checked and well-formed, so they can).
        let redacted = (needs_approval || self.shared.host.wants_events()).then(|| {
            serde_json::from_str::<serde_json::Value>(record.args.get())
                .ok()
                .and_then(|v| RawValue::from_string(crate::redact::redact(&v).to_string()).ok())
                .unwrap_or_else(|| {
                    RawValue::from_string(r#""[arguments not shown]""#.into()).expect("JSON")
                })
        });
        let msg = Outgoing::Call {
            token: CallToken {
                call,
                ..self.token_base
            },
            tool: record.tool_index,
            tool_name: record.tool_name.clone(),
            script_id: self.script_id.clone(),
            script_hash: self.script_hash.clone(),
            call_id: record.call_id.clone(),
            args: record.args.clone(),
            approval_timeout_ms: self.limits.approval_timeout_ms,
            max_result_bytes: self.limits.max_tool_result_bytes,
            display_args: if needs_approval {
                redacted.clone()
            } else {
                None
            },
            line: record.line,
        };
        if let Some(args) = redacted {
            let event = EventKind::ToolCallStarted {
                call_id: record.call_id.clone(),
                tool_name: record.tool_name.clone(),
                args,
            };
            self.emit(event);
        }
        self.outbox.push(msg);
    }

    /// Record call `call` as refused before it reached the host (unknown
    /// tool, invalid arguments): status `error`, not counted as made.
    fn refuse(
        &mut self,
        call: u32,
        path: String,
        args: Box<RawValue>,
        code: ErrorCode,
        message: String,
    ) -> ScriptError {
        let call_id = format!("{}-c{}", self.script_id, call + 1);
        let error = ScriptError::new(code, Phase::Executing, message).for_call(&path, &call_id);
        let mut record = CallRecord::new(call_id, path, u32::MAX, args, None);
        record.error = Some(error.clone());
        self.calls.push(record);
        self.complete(call, CallStatus::Error);
        error
    }

    fn complete(&mut self, call: u32, status: CallStatus) {
        self.gate.set_phase(call, CallPhase::Ended);
        let record = &mut self.calls[call as usize];
        if std::mem::take(&mut record.charged) {
            self.wires.release(record.args.get().len());
        }
        let budget = self.limits.max_call_record_bytes;
        keep_within(&mut record.args, &mut self.recorded_bytes, budget);
        if let Some(result) = record.result.as_mut() {
            keep_within(result, &mut self.recorded_bytes, budget);
        }
        record.status = Some(status);
        record.duration_ms = if record.dispatched {
            record.started.elapsed().as_secs_f64() * 1000.0
        } else {
            0.0
        };
        let event = EventKind::ToolCallCompleted {
            call_id: record.call_id.clone(),
            tool_name: record.tool_name.clone(),
            status,
            duration_ms: record.duration_ms,
        };
        self.emit(event);
    }
}

/// Shared by a sandbox's host functions, its interrupt handler and its
/// worker.
#[derive(Default)]
pub(crate) struct RunCell {
    terminal: Cell<Option<Terminal>>,
    /// The script ended; aborted calls are given their grace period.
    draining: Cell<bool>,
    /// The run's gate (liveness, clock, call phases), shared with the host.
    gate: RefCell<Option<Arc<Gate>>>,
    /// The script returned or threw: code that still runs (getters and
    /// `toJSON` of its value, accessors of what it threw) starts no call.
    ended: Cell<bool>,
    state: RefCell<Option<RunState>>,
}

impl RunCell {
    pub fn terminal(&self) -> Option<Terminal> {
        self.terminal.get()
    }

    pub fn set_terminal(&self, t: Terminal) {
        if self.terminal.get().is_none() {
            self.terminal.set(Some(t));
        }
    }

    fn gate<R>(&self, f: impl FnOnce(&Gate) -> R) -> Option<R> {
        self.gate.try_borrow().ok()?.as_deref().map(f)
    }

    /// When the worker must next look at this script; none while its
    /// clock is paused for an approval.
    pub fn deadline(&self) -> Option<Instant> {
        self.gate(Gate::deadline).flatten()
    }

    /// The script's JS is about to run: a pause for approval ends here.
    pub fn resume_clock(&self, now: Instant) {
        self.gate(|g| g.resume_clock(now));
    }

    /// The script waits (for tools or approvals) and runs no JS.
    pub fn suspend_clock(&self, now: Instant) {
        self.gate(|g| g.suspend_clock(now));
    }

    /// Record the memory tripwire as terminal.
    pub fn note_limits(&self, wires: &Tripwires) {
        if wires.memory_tripped() {
            self.set_terminal(Terminal::Memory);
        }
    }

    /// Checks the cancel flags and the deadline; true when the script must stop.
    pub fn check_stop(&self, now: Instant) -> bool {
        if self.draining.get() {
            return self.gate(|g| g.past_deadline(now)).unwrap_or(true);
        }
        if self.terminal.get().is_some() {
            return true;
        }
        let (cancelled, late) = self
            .gate(|g| (g.is_cancelled(), g.past_deadline(now)))
            .unwrap_or((false, false));
        if cancelled {
            self.set_terminal(Terminal::Cancelled);
            return true;
        }
        if late {
            self.set_terminal(Terminal::Timeout);
            return true;
        }
        false
    }

    /// The QuickJS interrupt handler: polled while JS runs.
    pub fn should_interrupt(&self, wires: &Tripwires) -> bool {
        if let Ok(state) = self.state.try_borrow()
            && let Some(s) = state.as_ref()
        {
            s.outbox.flush_if_stale();
        }
        self.note_limits(wires);
        self.check_stop(Instant::now())
    }

    fn with_state<R>(&self, f: impl FnOnce(&mut RunState) -> R) -> Option<R> {
        self.state.borrow_mut().as_mut().map(f)
    }

    /// `host.call`: a script called `tools.<path>`. Returns the call's index,
    /// or `[code, message, callId?]` for a call refused at once.
    pub fn start_call<'js>(
        &self,
        ctx: &Ctx<'js>,
        index: i32,
        args: String,
        path: String,
        stack: String,
        wires: &Tripwires,
    ) -> rquickjs::Result<Value<'js>> {
        let refused = |code: ErrorCode,
                       message: String,
                       call_id: Option<String>|
         -> rquickjs::Result<Value<'js>> {
            let arr = Array::new(ctx.clone())?;
            arr.set(0, code.as_str())?;
            arr.set(1, message)?;
            if let Some(id) = call_id {
                arr.set(2, id)?;
            }
            Ok(arr.into_value())
        };
        if let Some(t) = self.terminal.get() {
            let limits = self.with_state(|s| s.limits).unwrap_or_default();
            let e = t.error(&limits);
            return refused(e.code, e.message, None);
        }
        if self.ended.get() {
            return refused(
                ErrorCode::ScriptRuntimeError,
                format!("tools.{path} was not called: the script has already ended"),
                None,
            );
        }
        let mut guard = self.state.borrow_mut();
        let Some(s) = guard.as_mut() else {
            return refused(
                ErrorCode::HarnessInternalError,
                "no script is running".into(),
                None,
            );
        };
        // JSON.stringify made it; only its depth can make it unreadable
        // (or unredactable, for the person asked to approve it).
        let args = match json_deeper_than(&args, MAX_JSON_DEPTH) {
            false => RawValue::from_string(well_formed_json(&args).into_owned()).ok(),
            true => None,
        };
        let Some(args) = args else {
            return refused(
                ErrorCode::SerializationError,
                format!(
                    "arguments of tools.{path} are not JSON the host can read: they nest deeper than {MAX_JSON_DEPTH} levels"
                ),
                None,
            );
        };
        // Every attempt counts, refused ones too: each leaves a record.
        if s.calls.len() as u64 >= s.limits.max_tool_calls {
            return refused(
                ErrorCode::ToolBudgetExceededError,
                format!(
                    "tools.{path} was not called: the script already made its {} allowed tool calls",
                    s.limits.max_tool_calls
                ),
                None,
            );
        }
        let call = s.calls.len() as u32;
        let call_id = format!("{}-c{}", s.script_id, call + 1);
        let known = usize::try_from(index)
            .ok()
            .filter(|i| *i < s.shared.registry.len());
        let size = args.get().len() as u64;
        if size > s.limits.max_tool_arg_bytes {
            let message = format!(
                "tools.{path} was not called: its arguments are {size} bytes of JSON, over the {} byte limit (maxToolArgBytes); pass a smaller value",
                s.limits.max_tool_arg_bytes
            );
            let error = s.refuse(call, path, args, ErrorCode::ToolValidationError, message);
            return refused(error.code, error.message, error.call_id);
        }
        let Some(tool_index) = known else {
            let message = s.shared.registry.not_found_message(&path);
            let error = s.refuse(call, path, args, ErrorCode::ToolNotFoundError, message);
            return refused(error.code, error.message, error.call_id);
        };
        if let Ok(value) = serde_json::from_str::<serde_json::Value>(args.get())
            && let Some(problem) = s.shared.registry.check_args(tool_index, &value)
        {
            let message =
                format!("tools.{path}: the arguments do not match its schema at {problem}");
            let error = s.refuse(call, path, args, ErrorCode::ToolValidationError, message);
            return refused(error.code, error.message, error.call_id);
        }
        let line = (!stack.is_empty())
            .then(|| s.compiled.script_frames(&stack).first().map(|f| f.line))
            .flatten();
        // Arguments waiting for the host live outside the sandbox heap but
        // count against its budget until the call ends.
        if !wires.charge(args.get().len()) {
            self.set_terminal(Terminal::Memory);
            let e = Terminal::Memory.error(&s.limits);
            return refused(e.code, e.message, None);
        }
        let mut record = CallRecord::new(call_id, path, tool_index as u32, args, line);
        record.charged = true;
        s.calls.push(record);
        if (s.in_flight as u64) < s.limits.max_concurrent_tool_calls {
            s.dispatch(call);
        } else {
            s.gate.set_phase(call, CallPhase::Queued);
            s.queued.push_back(call);
        }
        Ok(Value::new_int(ctx.clone(), call as i32))
    }

    /// `console.*`: kept up to `maxLogEvents`, the rest counted.
    pub fn log(&self, level: u32, mut message: String) {
        self.with_state(|s| {
            truncate_utf8(&mut message, MAX_LOG_MESSAGE_BYTES);
            if s.logs.len() as u64 >= s.limits.max_log_events
                || s.log_bytes + message.len() > MAX_LOG_BYTES
            {
                s.logs_dropped += 1;
                return;
            }
            s.log_bytes += message.len();
            let level = LogLevel::from_index(level);
            s.emit(EventKind::Console {
                level,
                message: message.clone(),
            });
            s.logs.push(LogEntry { level, message });
        });
    }

    /// `context.emitProgress`.
    pub fn progress(&self, mut message: String, _kind: String) {
        self.with_state(|s| {
            let now = Instant::now();
            let too_soon = s
                .last_progress
                .is_some_and(|t| now.duration_since(t) < PROGRESS_INTERVAL);
            if too_soon || s.progress_sent >= MAX_PROGRESS_EVENTS {
                s.progress_dropped += 1;
                return;
            }
            s.progress_sent += 1;
            s.last_progress = Some(now);
            truncate_utf8(&mut message, MAX_PROGRESS_BYTES);
            s.emit(EventKind::Progress { message });
        });
    }

    /// `host.abort`: the script no longer wants call `call` (it lost a
    /// `Promise.race` or `Promise.any`). Returns whether it was pending.
    pub fn abort_call(&self, call: u32) -> bool {
        self.with_state(|s| {
            let Some(record) = s.calls.get(call as usize) else {
                return false;
            };
            if record.status.is_some() {
                return false;
            }
            if record.dispatched {
                let token = s.token(call);
                s.outbox.push(Outgoing::Abort {
                    token,
                    reason: "the call lost a Promise.race or Promise.any".to_owned(),
                });
                s.in_flight -= 1;
            } else {
                s.queued.retain(|q| *q != call);
            }
            s.complete(call, CallStatus::Aborted);
            if let Some(next) = s.queued.pop_front() {
                s.dispatch(next);
            }
            true
        })
        .unwrap_or(false)
    }

    pub fn run_id(&self) -> Option<u64> {
        self.state.try_borrow().ok()?.as_ref().map(|s| s.run)
    }

    pub fn script_id(&self) -> Option<String> {
        self.state
            .try_borrow()
            .ok()?
            .as_ref()
            .map(|s| s.script_id.clone())
    }

    pub fn has_pending_calls(&self) -> bool {
        self.with_state(|s| s.in_flight > 0 || !s.queued.is_empty())
            .unwrap_or(false)
    }
}

/// What the worker needs to start a script on a sandbox.
pub(crate) struct Start {
    pub shared: Arc<EngineShared>,
    pub run: u64,
    pub token_base: CallToken,
    pub script_id: String,
    pub compiled: Arc<CompiledScript>,
    pub limits: HarnessLimits,
    pub context_json: String,
    pub gate: Arc<Gate>,
    pub outbox: Rc<Outbox>,
}

/// Where a script stands after the worker drove it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Progress {
    Running,
    Finished,
}

impl Sandbox {
    /// Install the script, run it until it first waits, and report.
    pub fn begin(&mut self, start: Start) -> Progress {
        let limits = start.limits;
        self.wires
            .set_memory_limit((limits.memory_mb as usize) * 1024 * 1024);
        self.wires.reset_run();
        self.runtime
            .set_max_stack_size(limits.max_stack_bytes as usize);
        let started = Instant::now();
        start
            .gate
            .start_clock(started, std::time::Duration::from_millis(limits.timeout_ms));
        *self.cell.gate.borrow_mut() = Some(start.gate.clone());
        let state = RunState {
            shared: start.shared,
            run: start.run,
            token_base: start.token_base,
            script_id: start.script_id,
            script_hash: start.compiled.hash.clone(),
            compiled: start.compiled.clone(),
            limits,
            started,
            gate: start.gate,
            calls: Vec::new(),
            in_flight: 0,
            queued: VecDeque::new(),
            logs: Vec::new(),
            logs_dropped: 0,
            log_bytes: 0,
            recorded_bytes: 0,
            wires: self.wires.clone(),
            progress_sent: 0,
            progress_dropped: 0,
            last_progress: None,
            outcome: None,
            orphans: 0,
            outbox: start.outbox,
        };
        state.emit(EventKind::ScriptStarted {
            language: start.compiled.language.as_str(),
            script_hash: state.script_hash.clone(),
        });
        *self.cell.state.borrow_mut() = Some(state);

        let compiled = start.compiled;
        let outcome =
            self.context
                .with(|ctx| -> Result<Persistent<Promise<'static>>, ScriptError> {
                    let api: Object = self.api.clone().restore(&ctx).map_err(internal)?;
                    let begin: Function = api.get("begin").map_err(internal)?;
                    begin
                        .call::<_, ()>((start.context_json.as_str(),))
                        .map_err(|e| internal_msg(describe_exception(&ctx, e)))?;
                    let func: Function = match ctx
                        .eval_with_options(compiled.wrapped.as_str(), script_options())
                    {
                        Ok(f) => f,
                        Err(e) => {
                            return Err(self.exception_error(&ctx, e, Phase::Parsing, &compiled));
                        }
                    };
                    match func.call::<_, Promise>(()) {
                        Ok(p) => Ok(Persistent::save(&ctx, p)),
                        Err(e) => Err(self.exception_error(&ctx, e, Phase::Executing, &compiled)),
                    }
                });
        match outcome {
            Ok(p) => {
                self.promise = Some(p);
                self.drive(&compiled)
            }
            Err(e) => self.finish(Err(e)),
        }
    }

    /// Deliver a tool call's outcome to the script, then run what it unblocked.
    pub fn settle(
        &mut self,
        call: u32,
        outcome: ToolOutcome,
        compiled: &CompiledScript,
    ) -> Progress {
        if self.cell.draining.get() {
            let all_in = self.cell.with_state(|s| {
                if let Some(record) = s.calls.get_mut(call as usize)
                    && record.orphan
                {
                    record.orphan = false;
                    s.orphans -= 1;
                }
                s.orphans == 0
            });
            return if all_in == Some(true) {
                self.end_grace()
            } else {
                Progress::Running
            };
        }
        if outcome == ToolOutcome::NotStarted {
            // The host saw the script stopped before this worker did: it
            // ends the script itself at its next look (the same gate).
            return Progress::Running;
        }
        let delivered = self.cell.with_state(|s| {
            let record = s.calls.get_mut(call as usize)?;
            if record.status.is_some() || !record.dispatched {
                return None;
            }
            let (status, ok, payload, error) = match outcome {
                ToolOutcome::Ok(json) => match tool_result(json, &s.limits) {
                    Ok(Some(raw)) => {
                        let payload = raw.get().to_owned();
                        record.result = Some(raw);
                        (CallStatus::Ok, true, payload, None)
                    }
                    Ok(None) => (CallStatus::Ok, true, String::new(), None),
                    Err(message) => {
                        let e = ScriptError::new(
                            ErrorCode::ToolExecutionError,
                            Phase::Executing,
                            format!("tools.{}: {message}", record.tool_name),
                        )
                        .for_call(&record.tool_name, &record.call_id);
                        (CallStatus::Error, false, String::new(), Some(e))
                    }
                },
                ToolOutcome::NotStarted => return None,
                ToolOutcome::Err { code, message } => {
                    let message = truncated(message, MAX_ERROR_MESSAGE_BYTES);
                    let e = ScriptError::new(code, Phase::Executing, message)
                        .for_call(&record.tool_name, &record.call_id);
                    let status = match code {
                        ErrorCode::ApprovalDeniedError | ErrorCode::ApprovalTimeoutError => {
                            CallStatus::Denied
                        }
                        _ => CallStatus::Error,
                    };
                    (status, false, String::new(), Some(e))
                }
            };
            record.error = error.clone();
            let (tool_name, call_id) = (record.tool_name.clone(), record.call_id.clone());
            s.in_flight -= 1;
            s.complete(call, status);
            if let Some(next) = s.queued.pop_front() {
                s.dispatch(next);
            }
            Some((ok, payload, error, tool_name, call_id))
        });
        let Some(Some((ok, payload, error, tool_name, call_id))) = delivered else {
            return Progress::Running;
        };
        let (code, message) = error
            .map(|e| (e.code.as_str(), e.message))
            .unwrap_or(("", String::new()));
        let result = self.context.with(|ctx| -> rquickjs::Result<()> {
            let api: Object = self.api.clone().restore(&ctx)?;
            let settle: Function = api.get("settle")?;
            settle.call((call, ok, payload, code, message, tool_name, call_id))
        });
        if result.is_err() {
            self.cell.note_limits(&self.wires);
            if self.cell.terminal().is_none() {
                // A result too big to parse within the memory limit ends up here.
                self.cell.set_terminal(Terminal::Memory);
            }
        }
        self.drive(compiled)
    }

    /// Run pending jobs; finish the script if it settled or must stop.
    pub fn drive(&mut self, compiled: &CompiledScript) -> Progress {
        self.drain_jobs();
        self.cell.note_limits(&self.wires);
        if self.cell.check_stop(Instant::now()) {
            return self.finish_terminal();
        }
        let state = self.context.with(|ctx| {
            self.promise
                .clone()
                .and_then(|p| p.restore(&ctx).ok())
                .map(|p| p.state())
        });
        match state {
            Some(PromiseState::Pending) => {
                if self.cell.has_pending_calls() || self.runtime.is_job_pending() {
                    Progress::Running
                } else {
                    self.finish(Err(ScriptError::new(
                        ErrorCode::ScriptRuntimeError,
                        Phase::Executing,
                        "the script is waiting for a promise that nothing can settle (no tool call is pending)",
                    )))
                }
            }
            Some(PromiseState::Resolved) => {
                self.cell.ended.set(true);
                let value = self.serialize_value(compiled);
                self.finish(value)
            }
            Some(PromiseState::Rejected) => {
                self.cell.ended.set(true);
                let error = self.context.with(|ctx| {
                    let promise = self.promise.clone().and_then(|p| p.restore(&ctx).ok());
                    let reason = match promise.map(|p| p.result::<Value>()) {
                        Some(Some(Err(rquickjs::Error::Exception))) => ctx.catch(),
                        _ => Value::new_undefined(ctx.clone()),
                    };
                    self.describe_thrown(&ctx, reason, Phase::Executing, compiled)
                });
                self.finish(Err(error))
            }
            None => self.finish(Err(internal_msg("the script's promise is gone".into()))),
        }
    }

    /// End the script because of a terminal condition, or end the grace
    /// period of its aborted calls.
    pub fn finish_terminal(&mut self) -> Progress {
        if self.cell.draining.get() {
            return self.end_grace();
        }
        self.cell.note_limits(&self.wires);
        let t = self.cell.terminal().unwrap_or(Terminal::Cancelled);
        let limits = self.cell.with_state(|s| s.limits).unwrap_or_default();
        self.finish(Err(t.error(&limits)))
    }

    fn serialize_value(
        &self,
        compiled: &CompiledScript,
    ) -> Result<Option<Box<RawValue>>, ScriptError> {
        let limits = self.cell.with_state(|s| s.limits).unwrap_or_default();
        let json = self
            .context
            .with(|ctx| -> Result<Option<String>, ScriptError> {
                let value: Value = self
                    .promise
                    .clone()
                    .and_then(|p| p.restore(&ctx).ok())
                    .and_then(|p| p.result::<Value>())
                    .and_then(|r| r.ok())
                    .unwrap_or_else(|| Value::new_undefined(ctx.clone()));
                let api: Object = self.api.clone().restore(&ctx).map_err(internal)?;
                let serialize: Function = api.get("serialize").map_err(internal)?;
                match serialize.call::<_, Option<String>>((value,)) {
                    Ok(s) => Ok(s),
                    Err(e) => {
                        let mut err = self.exception_error(&ctx, e, Phase::Finalizing, compiled);
                        err.code = ErrorCode::SerializationError;
                        err.retryable = false;
                        err.phase = Phase::Finalizing;
                        err.stack = None;
                        err.line = None;
                        err.column = None;
                        Err(err)
                    }
                }
            });
        self.cell.note_limits(&self.wires);
        if let Some(t) = self.cell.terminal() {
            return Err(t.error(&limits));
        }
        let Some(json) = json? else { return Ok(None) };
        let json = well_formed_json(&json).into_owned();
        if json.len() as u64 > limits.max_return_bytes {
            return Err(ScriptError::new(
                ErrorCode::ReturnValueTooLargeError,
                Phase::Finalizing,
                format!(
                    "the return value is {} bytes of JSON, over the {} byte limit (maxReturnBytes); return a summary instead",
                    json.len(),
                    limits.max_return_bytes
                ),
            ));
        }
        RawValue::from_string(json)
            .map(Some)
            .map_err(|e| internal_msg(format!("return value: {e}")))
    }

    /// The `ScriptError` for a pending exception (syntax errors included).
    fn exception_error(
        &self,
        ctx: &Ctx<'_>,
        e: rquickjs::Error,
        phase: Phase,
        compiled: &CompiledScript,
    ) -> ScriptError {
        self.cell.note_limits(&self.wires);
        if let Some(t) = self.cell.terminal() {
            let limits = self.cell.with_state(|s| s.limits).unwrap_or_default();
            return t.error(&limits);
        }
        let value = match e {
            rquickjs::Error::Exception => ctx.catch(),
            other => return internal_msg(other.to_string()),
        };
        self.describe_thrown(ctx, value, phase, compiled)
    }

    /// Classify what the script threw: a harness error keeps its code (from
    /// the prelude's records); anything else is the script's own error.
    fn describe_thrown<'js>(
        &self,
        ctx: &Ctx<'js>,
        thrown: Value<'js>,
        phase: Phase,
        compiled: &CompiledScript,
    ) -> ScriptError {
        self.cell.note_limits(&self.wires);
        if let Some(t) = self.cell.terminal() {
            let limits = self.cell.with_state(|s| s.limits).unwrap_or_default();
            return t.error(&limits);
        }
        let described: Option<Array> = (|| {
            let api: Object = self.api.clone().restore(ctx).ok()?;
            let describe: Function = api.get("describe").ok()?;
            describe.call((thrown,)).ok()
        })();
        let _ = ctx.catch();
        let Some(d) = described else {
            self.cell.note_limits(&self.wires);
            if let Some(t) = self.cell.terminal() {
                let limits = self.cell.with_state(|s| s.limits).unwrap_or_default();
                return t.error(&limits);
            }
            return ScriptError::new(
                ErrorCode::ScriptRuntimeError,
                phase,
                "the script threw a value that cannot be described",
            );
        };
        let field = |i: usize| -> Option<String> { d.get::<Option<String>>(i).ok().flatten() };
        let (code, name, message, stack, tool_name, call_id) = (
            field(0).unwrap_or_default(),
            field(1),
            field(2),
            field(3),
            field(4),
            field(5),
        );
        let frames = compiled.script_frames(stack.as_deref().unwrap_or(""));
        let position = frames.first().map(|f| (f.line, f.column));
        let is_syntax = phase == Phase::Parsing && name.as_deref() == Some("SyntaxError");
        let message = truncated(message.unwrap_or_default(), MAX_ERROR_MESSAGE_BYTES);
        let mut error = match ErrorCode::parse(&code) {
            Some(code) => {
                let mut e = ScriptError::new(code, phase, message);
                e.tool_name = tool_name;
                e.call_id = call_id;
                e
            }
            None if is_syntax => {
                ScriptError::new(ErrorCode::ScriptSyntaxError, Phase::Parsing, message)
            }
            // QuickJS gives no hook at the moment it overflows, so an
            // uncaught overflow is known by the engine's own RangeError.
            None if name.as_deref() == Some("RangeError") && message == STACK_OVERFLOW_MESSAGE => {
                let limits = self.cell.with_state(|s| s.limits).unwrap_or_default();
                ScriptError::new(
                    ErrorCode::ScriptStackOverflowError,
                    phase,
                    format!(
                        "the script exceeded its {} byte stack limit (unbounded recursion?)",
                        limits.max_stack_bytes
                    ),
                )
            }
            None => {
                let text = match name {
                    Some(n) if !n.is_empty() => format!("{n}: {message}"),
                    _ => message,
                };
                ScriptError::new(ErrorCode::ScriptRuntimeError, phase, text)
            }
        };
        if let Some((line, column)) = position {
            error.line = Some(line);
            error.column = Some(column);
        }
        if !frames.is_empty() {
            error.stack = Some(
                frames
                    .iter()
                    .map(|f| format!("    at {} (script:{}:{})", f.function, f.line, f.column))
                    .collect::<Vec<_>>()
                    .join("\n"),
            );
        }
        error
    }

    /// The script ended: abort what is still pending. When it ended on its
    /// own, calls already with the host get `orphanGraceMs` to settle
    /// before the result is built.
    pub fn finish(&mut self, outcome: Outcome) -> Progress {
        let mut guard = self.cell.state.borrow_mut();
        let Some(s) = guard.as_mut() else {
            return Progress::Finished;
        };
        let terminal = matches!(&outcome, Err(e) if e.code.is_terminal());
        let reason = match &outcome {
            Err(e) if terminal => e.message.clone(),
            _ => "the script ended before this call finished".to_owned(),
        };
        let mut orphans = 0;
        for call in 0..s.calls.len() as u32 {
            let record = &mut s.calls[call as usize];
            if record.status.is_none() {
                if record.dispatched {
                    record.orphan = true;
                    orphans += 1;
                    let token = s.token(call);
                    s.outbox.push(Outgoing::Abort {
                        token,
                        reason: reason.clone(),
                    });
                }
                s.complete(call, CallStatus::Aborted);
            }
        }
        s.in_flight = 0;
        s.queued.clear();
        s.gate.stop();
        // A script stopped by a limit or cancelled ends now, as its limit
        // promises: its aborted calls are not waited for.
        let grace = s.limits.orphan_grace_ms;
        if orphans > 0 && grace > 0 && !terminal {
            s.outcome = Some(outcome);
            s.orphans = orphans;
            let gate = s.gate.clone();
            drop(guard);
            self.cell.draining.set(true);
            // The grace period ends at the script's own deadline at the
            // latest: a run never outlasts its time limit.
            let grace_end = Instant::now() + std::time::Duration::from_millis(grace);
            let end = gate.deadline().map_or(grace_end, |d| d.min(grace_end));
            gate.set_deadline(end);
            return Progress::Running;
        }
        drop(guard);
        self.conclude(outcome);
        Progress::Finished
    }

    /// The grace period is over (every aborted call settled, or time ran
    /// out): calls still out are detached, and their late results dropped.
    fn end_grace(&mut self) -> Progress {
        let outcome = self.cell.with_state(|s| {
            let grace = s.limits.orphan_grace_ms;
            for record in s.calls.iter_mut().filter(|r| r.orphan) {
                record.error = Some(
                    ScriptError::new(
                        ErrorCode::DetachedPromiseError,
                        Phase::Finalizing,
                        format!(
                            "tools.{} did not settle within {grace} ms (orphanGraceMs) of being aborted; its late result is dropped",
                            record.tool_name
                        ),
                    )
                    .for_call(&record.tool_name, &record.call_id),
                );
            }
            s.outcome.take()
        });
        self.cell.draining.set(false);
        self.conclude(outcome.flatten().unwrap_or(Ok(None)));
        Progress::Finished
    }

    /// Build the result and queue the final event and the result.
    fn conclude(&mut self, outcome: Outcome) {
        let Some(mut s) = self.cell.state.borrow_mut().take() else {
            return;
        };
        if s.progress_dropped > 0 {
            s.logs.push(LogEntry {
                level: LogLevel::Warn,
                message: format!(
                    "[script-harness] {} progress messages were dropped (at most one per 500 ms and 50 per script)",
                    s.progress_dropped
                ),
            });
        }
        if s.logs_dropped > 0 {
            s.logs.push(LogEntry {
                level: LogLevel::Warn,
                message: format!(
                    "[script-harness] {} more console entries were dropped (maxLogEvents is {})",
                    s.logs_dropped, s.limits.max_log_events
                ),
            });
        }
        let duration_ms = s.started.elapsed().as_secs_f64() * 1000.0;
        let (value, error) = match outcome {
            Ok(v) => (v, None),
            Err(e) => (None, Some(e)),
        };
        let tool_calls: Vec<ToolCallRecord> = s
            .calls
            .drain(..)
            .map(|c| ToolCallRecord {
                call_id: c.call_id,
                tool_name: c.tool_name,
                args: c.args,
                status: c.status.unwrap_or(CallStatus::Aborted),
                duration_ms: c.duration_ms,
                result: c.result,
                error: c.error,
            })
            .collect();
        let tool_calls_made = tool_calls
            .iter()
            .filter(|c| {
                c.error.as_ref().is_none_or(|e| {
                    !matches!(
                        e.code,
                        ErrorCode::ToolNotFoundError | ErrorCode::ToolValidationError
                    )
                })
            })
            .count() as u32;
        let result = ScriptResult {
            ok: error.is_none(),
            script_id: s.script_id.clone(),
            value,
            error: error.clone(),
            logs: std::mem::take(&mut s.logs),
            tool_calls,
            metadata: ResultMetadata {
                duration_ms,
                tool_calls_made,
                memory_used_mb: Some(
                    (self.wires.peak() as f64 / (1024.0 * 1024.0) * 100.0).round() / 100.0,
                ),
            },
        };
        s.emit(EventKind::ScriptCompleted {
            ok: result.ok,
            error,
            duration_ms,
        });
        s.outbox.push(Outgoing::Done { run: s.run, result });
    }
}

fn internal(e: rquickjs::Error) -> ScriptError {
    internal_msg(e.to_string())
}

fn internal_msg(message: String) -> ScriptError {
    ScriptError::new(ErrorCode::HarnessInternalError, Phase::Executing, message)
}
