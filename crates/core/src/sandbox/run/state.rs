//! The state of one live script: who it is, its limits and clock, its
//! calls, console and progress, and where its messages go.

use std::collections::VecDeque;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

use serde_json::value::RawValue;

use crate::compile::CompiledScript;
use crate::errors::ScriptError;
use crate::events::{EventKind, HarnessEvent, now_ms};
use crate::host::{CallToken, Outgoing};
use crate::limits::HarnessLimits;
use crate::result::{CallStatus, LogEntry};
use crate::sandbox::gate::Gate;
use crate::sandbox::heap::Tripwires;
use crate::sandbox::outbox::Outbox;
use crate::sandbox::shared::{EngineShared, ToolSet};

/// What the worker knows of a script when it starts it.
pub(crate) struct RunStart {
    pub shared: Arc<EngineShared>,
    pub run: u64,
    pub token_base: CallToken,
    pub script_id: String,
    pub compiled: Arc<CompiledScript>,
    pub limits: HarnessLimits,
    pub gate: Arc<Gate>,
    /// The tools it may call (the engine's when it was submitted).
    pub tools: Arc<ToolSet>,
    pub outbox: Rc<Outbox>,
    /// `Math.random`'s seed (chosen already) and the clock to replay.
    pub seed: u64,
    pub clock: Vec<crate::replay::ClockRun>,
    pub record: bool,
    pub report_idle: bool,
}

/// One tool call the script made, from the moment it is made (or
/// refused) until the result is built.
pub(crate) struct CallRecord {
    pub call_id: String,
    pub tool_name: String,
    pub tool_index: u32,
    pub args: Box<RawValue>,
    pub status: Option<CallStatus>,
    pub started: Instant,
    pub dispatched: bool,
    pub duration_ms: f64,
    pub result: Option<Box<RawValue>>,
    pub error: Option<ScriptError>,
    /// Aborted because the script ended first; waiting to settle.
    pub orphan: bool,
    /// Its arguments are counted against the script's memory budget until
    /// it ends.
    pub charged: bool,
    /// Line of the call in the script, for tools that may need approval.
    pub line: Option<u32>,
}

impl CallRecord {
    pub fn new(
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

pub(crate) type Outcome = Result<Option<Box<RawValue>>, ScriptError>;

/// Everything about the live script that its natives and the driver
/// record. Present from the start until the result is built.
pub(crate) struct RunState {
    pub shared: Arc<EngineShared>,
    pub tools: Arc<ToolSet>,
    pub run: u64,
    pub token_base: CallToken,
    pub script_id: String,
    pub script_hash: String,
    pub compiled: Arc<CompiledScript>,
    pub limits: HarnessLimits,
    pub started: Instant,
    pub gate: Arc<Gate>,
    pub calls: Vec<CallRecord>,
    pub in_flight: usize,
    pub queued: VecDeque<u32>,
    pub logs: Vec<LogEntry>,
    pub logs_dropped: u64,
    pub log_bytes: usize,
    /// Bytes of arguments and results kept in the call records so far.
    pub recorded_bytes: u64,
    pub wires: Rc<Tripwires>,
    pub progress_sent: u32,
    pub progress_dropped: u32,
    pub last_progress: Option<Instant>,
    /// While aborted calls get `orphanGraceMs` to settle: how the script
    /// itself ended, and how many calls are still out.
    pub outcome: Option<Outcome>,
    pub orphans: usize,
    pub outbox: Rc<Outbox>,
}

impl RunState {
    pub fn new(start: RunStart, wires: Rc<Tripwires>, started: Instant) -> RunState {
        RunState {
            shared: start.shared,
            tools: start.tools,
            run: start.run,
            token_base: start.token_base,
            script_id: start.script_id,
            script_hash: start.compiled.hash.clone(),
            compiled: start.compiled,
            limits: start.limits,
            started,
            gate: start.gate,
            calls: Vec::new(),
            in_flight: 0,
            queued: VecDeque::new(),
            logs: Vec::new(),
            logs_dropped: 0,
            log_bytes: 0,
            recorded_bytes: 0,
            wires,
            progress_sent: 0,
            progress_dropped: 0,
            last_progress: None,
            outcome: None,
            orphans: 0,
            outbox: start.outbox,
        }
    }

    pub fn emit(&self, kind: EventKind) {
        if self.shared.host.wants_events() {
            self.outbox.push(Outgoing::Event {
                run: self.run,
                event: HarnessEvent {
                    script_id: self.script_id.clone(),
                    timestamp: now_ms(),
                    kind,
                },
            });
        }
    }

    pub fn token(&self, call: u32) -> CallToken {
        CallToken {
            call,
            ..self.token_base
        }
    }
}
