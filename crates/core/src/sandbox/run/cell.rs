//! The cell one script's natives, its realm's interrupt handler and its
//! driver share: why it must stop, whether it has ended, and its state.
//! A cell belongs to exactly one script; a realm that serves the next
//! script gets a new cell, so nothing recorded here reaches that script.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

use super::state::{RunStart, RunState};
use crate::errors::ScriptError;
use crate::events::EventKind;
use crate::limits::HarnessLimits;
use crate::replay::{ReplayRecord, ScriptClock};
use crate::sandbox::gate::Gate;
use crate::sandbox::heap::Tripwires;
use crate::sandbox::outcome::Terminal;

pub(crate) struct ScriptCell {
    terminal: Cell<Option<Terminal>>,
    /// The script ended; aborted calls are given their grace period.
    draining: Cell<bool>,
    /// The run's gate (liveness, clock, call phases), shared with the host.
    gate: Arc<Gate>,
    /// The script returned or threw: code that still runs (getters and
    /// `toJSON` of its value, accessors of what it threw) starts no call.
    ended: Cell<bool>,
    /// When it ended, some of its calls were still with the host.
    left_calls: Cell<bool>,
    /// The harness reads what the engine itself made (the stack of the
    /// overflow's RangeError), where no script code runs: the interrupt
    /// handler lets that read finish instead of stopping it.
    quiet: Cell<bool>,
    /// The heap of the realm the script runs in.
    wires: Rc<Tripwires>,
    limits: HarnessLimits,
    /// `Math.random`'s seed for this script, and its clock (replayed
    /// readings first; recorded when the run asked).
    seed: u64,
    record: bool,
    clock: RefCell<ScriptClock>,
    /// `Outgoing::Idle` is wanted, and how many answers were delivered.
    report_idle: bool,
    delivered: Cell<u32>,
    pub(super) state: RefCell<Option<RunState>>,
}

impl ScriptCell {
    /// A script starts now: its clock runs from here and `script_started`
    /// is queued.
    pub fn start(mut start: RunStart, wires: Rc<Tripwires>) -> Rc<ScriptCell> {
        let now = Instant::now();
        let limits = start.limits;
        let gate = start.gate.clone();
        let (seed, record, report_idle) = (start.seed, start.record, start.report_idle);
        let clock = ScriptClock::new(std::mem::take(&mut start.clock), record);
        gate.start_clock(now, std::time::Duration::from_millis(limits.timeout_ms));
        let language = start.compiled.language.as_str();
        let state = RunState::new(start, wires.clone(), now);
        state.emit(EventKind::ScriptStarted {
            language,
            script_hash: state.script_hash.clone(),
        });
        Rc::new(ScriptCell {
            terminal: Cell::new(None),
            draining: Cell::new(false),
            gate,
            ended: Cell::new(false),
            left_calls: Cell::new(false),
            quiet: Cell::new(false),
            wires,
            limits,
            seed,
            record,
            clock: RefCell::new(clock),
            report_idle,
            delivered: Cell::new(0),
            state: RefCell::new(Some(state)),
        })
    }

    /// `Math.random`'s seed for this script.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The script reads the clock (`Date.now()`, `new Date()`).
    pub fn now(&self) -> f64 {
        match self.clock.try_borrow_mut() {
            Ok(mut clock) => clock.now(),
            // Unreachable (the clock calls no script code); the real clock
            // rather than a panic if it ever were.
            Err(_) => ScriptClock::default().now(),
        }
    }

    /// What the result reports for a run that asked to record.
    pub(super) fn replay_record(&self) -> Option<ReplayRecord> {
        self.record.then(|| ReplayRecord {
            seed: self.seed.to_string(),
            clock: self.clock.borrow_mut().take_recorded(),
        })
    }

    pub fn limits(&self) -> &HarnessLimits {
        &self.limits
    }

    pub fn wires(&self) -> &Tripwires {
        &self.wires
    }

    pub fn terminal(&self) -> Option<Terminal> {
        self.terminal.get()
    }

    pub fn set_terminal(&self, t: Terminal) {
        if self.terminal.get().is_none() {
            self.terminal.set(Some(t));
        }
    }

    /// The error of the limit or cancel that stopped the script, if any
    /// (a memory breach noticed now included).
    pub fn terminal_error(&self) -> Option<ScriptError> {
        self.note_limits();
        self.terminal().map(|t| {
            let mut error = t.error(&self.limits);
            if t == Terminal::Cancelled
                && let Some(reason) = self.gate.cancel_reason()
            {
                error.message = format!("{}: {reason}", error.message);
            }
            error
        })
    }

    /// Run `f`, a read of the engine's own objects, without interrupts.
    pub fn quietly<R>(&self, f: impl FnOnce() -> R) -> R {
        let before = self.quiet.replace(true);
        let out = f();
        self.quiet.set(before);
        out
    }

    pub fn has_ended(&self) -> bool {
        self.ended.get()
    }

    /// The script returned or threw.
    pub fn mark_ended(&self) {
        self.ended.set(true);
    }

    /// Whether the script ended while some of its calls were still with
    /// the host (their late answers are dropped).
    pub fn left_calls_behind(&self) -> bool {
        self.left_calls.get()
    }

    pub(super) fn note_left_calls(&self) {
        self.left_calls.set(true);
    }

    pub fn is_draining(&self) -> bool {
        self.draining.get()
    }

    pub(super) fn set_draining(&self, on: bool) {
        self.draining.set(on);
    }

    pub(super) fn gate(&self) -> &Gate {
        &self.gate
    }

    /// When the worker must next look at this script; none while its
    /// clock is paused for an approval.
    pub fn deadline(&self) -> Option<Instant> {
        self.gate.deadline()
    }

    /// The script's JS is about to run: a pause for approval ends here.
    pub fn resume_clock(&self, now: Instant) {
        self.gate.resume_clock(now);
    }

    /// The script waits (for tools or approvals) and runs no JS.
    pub fn suspend_clock(&self, now: Instant) {
        self.gate.suspend_clock(now);
    }

    /// Record the memory tripwire as terminal.
    pub fn note_limits(&self) {
        if self.wires.memory_tripped() {
            self.set_terminal(Terminal::Memory);
        }
    }

    /// Checks the cancel flags and the deadline; true when the script must stop.
    pub fn check_stop(&self, now: Instant) -> bool {
        if self.draining.get() {
            return self.gate.past_deadline(now);
        }
        if self.terminal.get().is_some() {
            return true;
        }
        if self.gate.is_cancelled() {
            self.set_terminal(Terminal::Cancelled);
            return true;
        }
        if self.gate.past_deadline(now) {
            self.set_terminal(Terminal::Timeout);
            return true;
        }
        false
    }

    /// The realm's interrupt handler, while this script's JS runs.
    pub fn should_interrupt(&self) -> bool {
        if self.quiet.get() {
            return false;
        }
        if let Ok(state) = self.state.try_borrow()
            && let Some(s) = state.as_ref()
        {
            s.outbox.flush_if_stale();
        }
        self.note_limits();
        self.check_stop(Instant::now())
    }

    pub(super) fn with_state<R>(&self, f: impl FnOnce(&mut RunState) -> R) -> Option<R> {
        self.state.borrow_mut().as_mut().map(f)
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

    /// An answer reached the script.
    pub fn count_delivered(&self) {
        self.delivered.set(self.delivered.get().saturating_add(1));
    }

    /// The script waits on its calls with nothing else to run: say so, when
    /// the run asked.
    pub fn note_idle(&self) {
        if !self.report_idle {
            return;
        }
        let delivered = self.delivered.get();
        self.with_state(|s| {
            s.outbox.push(crate::host::Outgoing::Idle {
                run: s.run,
                delivered,
            })
        });
    }

    pub fn has_pending_calls(&self) -> bool {
        self.with_state(|s| s.in_flight > 0 || !s.queued.is_empty())
            .unwrap_or(false)
    }
}
