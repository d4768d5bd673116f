//! The gate of one run: the single place, shared by its sandbox thread and
//! the host's thread, that says whether the run is still live, owns its
//! clock, and owns the phase of each of its tool calls.
//!
//! Stopping must win every race. A cancel (`abort()`, an `AbortSignal`,
//! `close()`) lands here at once, from the host's own thread; the deadline
//! is read from the same clock the sandbox thread uses. Before a handler
//! starts, and before a person is asked to approve a call, the host asks
//! [`Gate::admit`]; once the run is stopped, cancelled or past its
//! deadline, or the call was aborted, the answer is no, whatever messages
//! are still on their way between the threads.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

/// Where one tool call stands. Transitions only go forward:
/// `Dispatched → AwaitingApproval → Running → Ended`, any of them straight
/// to `Ended` (settled, refused or aborted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallPhase {
    /// Made by the script, waiting behind `maxConcurrentToolCalls`.
    Queued,
    /// Handed to the host; nothing of it has started there yet.
    Dispatched,
    /// Its approval predicate or a person is deciding.
    AwaitingApproval,
    /// Its handler started.
    Running,
    Ended,
}

impl CallPhase {
    /// The phase a host asks for by number (`native.admit`).
    pub fn from_index(i: u32) -> Option<CallPhase> {
        match i {
            2 => Some(CallPhase::AwaitingApproval),
            3 => Some(CallPhase::Running),
            _ => None,
        }
    }
}

#[derive(Debug, Default)]
struct GateState {
    /// The script ended, or was stopped: nothing of it starts any more.
    stopped: bool,
    /// When the script's time is up; `None` before it starts.
    deadline: Option<Instant>,
    /// Approvals pending for this run, and whether it is suspended (no JS
    /// of it running): time with both is a person's, not the script's,
    /// and does not count toward `timeoutMs`.
    approvals: u32,
    suspended: bool,
    paused_since: Option<Instant>,
    calls: Vec<CallPhase>,
}

impl GateState {
    fn effective_deadline(&self) -> Option<Instant> {
        if self.paused_since.is_some() {
            return None;
        }
        self.deadline
    }

    fn begin_pause(&mut self, now: Instant) {
        if self.suspended && self.approvals > 0 && self.paused_since.is_none() {
            self.paused_since = Some(now);
        }
    }

    fn end_pause(&mut self, now: Instant) {
        if let Some(since) = self.paused_since.take()
            && let Some(d) = self.deadline
        {
            self.deadline = Some(d + now.saturating_duration_since(since));
        }
    }
}

#[derive(Debug, Default)]
pub struct Gate {
    cancelled: AtomicBool,
    /// Why the host cancelled the run (its abort reason, as text), if it
    /// said; the first reason given wins.
    reason: OnceLock<String>,
    state: Mutex<GateState>,
}

impl Gate {
    fn lock(&self) -> MutexGuard<'_, GateState> {
        // Nothing that holds this lock can panic halfway through a change.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Cancel the run (from any thread). Takes effect for the host at once.
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Release);
    }

    /// Cancel the run, saying why (shown in the script's error).
    pub fn cancel_because(&self, reason: String) {
        if !reason.is_empty() {
            let _ = self.reason.set(reason);
        }
        self.cancel();
    }

    pub fn cancel_reason(&self) -> Option<&str> {
        self.reason.get().map(String::as_str)
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Acquire)
    }

    /// The script starts running now, with `timeout` to go.
    pub fn start_clock(&self, now: Instant, timeout: Duration) {
        let mut g = self.lock();
        g.deadline = Some(now + timeout);
    }

    /// When the sandbox thread must next look at this run; none while its
    /// clock is paused for an approval.
    pub fn deadline(&self) -> Option<Instant> {
        self.lock().effective_deadline()
    }

    pub fn past_deadline(&self, now: Instant) -> bool {
        matches!(self.deadline(), Some(d) if now >= d)
    }

    /// Move the deadline (the end of an orphan grace period), and stop
    /// counting approvals: the script has ended.
    pub fn set_deadline(&self, deadline: Instant) {
        let mut g = self.lock();
        g.paused_since = None;
        g.approvals = 0;
        g.deadline = Some(deadline);
    }

    /// The script's JS is about to run: a pause for approval ends here.
    pub fn resume_clock(&self, now: Instant) {
        let mut g = self.lock();
        g.suspended = false;
        g.end_pause(now);
    }

    /// The script waits (for tools or approvals) and runs no JS.
    pub fn suspend_clock(&self, now: Instant) {
        let mut g = self.lock();
        g.suspended = true;
        g.begin_pause(now);
    }

    /// An approval request of this run started or ended.
    pub fn approval_pending(&self, pending: bool, now: Instant) {
        let mut g = self.lock();
        if g.stopped {
            return;
        }
        if pending {
            g.approvals += 1;
            g.begin_pause(now);
        } else {
            g.approvals = g.approvals.saturating_sub(1);
            if g.approvals == 0 {
                g.end_pause(now);
            }
        }
    }

    /// The script ended or was stopped: no call of it starts from now on.
    pub fn stop(&self) {
        self.lock().stopped = true;
    }

    /// Record call `call` in `phase` (the sandbox thread: made, dispatched,
    /// ended).
    pub fn set_phase(&self, call: u32, phase: CallPhase) {
        let mut g = self.lock();
        let i = call as usize;
        if g.calls.len() <= i {
            g.calls.resize(i + 1, CallPhase::Ended);
        }
        g.calls[i] = phase;
    }

    /// The host asks to move call `call` to `to` (awaiting approval, or
    /// running): yes only while the run is live, before its deadline, and
    /// the call has not ended. Asking for the phase a call is already in
    /// checks that it is still live.
    pub fn admit(&self, call: u32, to: CallPhase, now: Instant) -> bool {
        let mut g = self.lock();
        if g.stopped || self.is_cancelled() {
            g.stopped = true;
            return false;
        }
        if matches!(g.effective_deadline(), Some(d) if now >= d) {
            return false;
        }
        let Some(from) = g.calls.get(call as usize).copied() else {
            return false;
        };
        let allowed = matches!(
            (from, to),
            (CallPhase::Dispatched, CallPhase::AwaitingApproval)
                | (CallPhase::Dispatched, CallPhase::Running)
                | (CallPhase::AwaitingApproval, CallPhase::AwaitingApproval)
                | (CallPhase::AwaitingApproval, CallPhase::Running)
        );
        if allowed {
            g.calls[call as usize] = to;
        }
        allowed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live_gate() -> (Gate, Instant) {
        let gate = Gate::default();
        let now = Instant::now();
        gate.start_clock(now, Duration::from_millis(100));
        gate.set_phase(0, CallPhase::Dispatched);
        (gate, now)
    }

    #[test]
    fn a_dispatched_call_may_be_approved_then_run_once() {
        let (gate, now) = live_gate();
        assert!(gate.admit(0, CallPhase::AwaitingApproval, now));
        assert!(gate.admit(0, CallPhase::AwaitingApproval, now));
        assert!(gate.admit(0, CallPhase::Running, now));
        assert!(!gate.admit(0, CallPhase::Running, now));
        assert!(!gate.admit(0, CallPhase::AwaitingApproval, now));
    }

    #[test]
    fn nothing_is_admitted_after_a_cancel_a_stop_or_the_deadline() {
        let (gate, now) = live_gate();
        gate.cancel();
        assert!(!gate.admit(0, CallPhase::Running, now));
        let (gate, now) = live_gate();
        gate.stop();
        assert!(!gate.admit(0, CallPhase::Running, now));
        let (gate, now) = live_gate();
        assert!(!gate.admit(0, CallPhase::Running, now + Duration::from_millis(100)));
        let (gate, now) = live_gate();
        gate.set_phase(0, CallPhase::Ended);
        assert!(!gate.admit(0, CallPhase::Running, now));
        assert!(!gate.admit(7, CallPhase::Running, now));
    }

    #[test]
    fn an_approval_wait_of_a_suspended_script_pauses_its_clock() {
        let (gate, now) = live_gate();
        gate.suspend_clock(now);
        gate.approval_pending(true, now);
        assert_eq!(gate.deadline(), None);
        let later = now + Duration::from_millis(500);
        assert!(gate.admit(0, CallPhase::AwaitingApproval, later));
        gate.approval_pending(false, later);
        assert_eq!(gate.deadline(), Some(now + Duration::from_millis(600)));
        assert!(gate.admit(0, CallPhase::Running, later));
    }

    #[test]
    fn a_script_running_while_an_approval_is_pending_keeps_its_clock() {
        let (gate, now) = live_gate();
        gate.approval_pending(true, now);
        assert_eq!(gate.deadline(), Some(now + Duration::from_millis(100)));
        assert!(!gate.admit(0, CallPhase::Running, now + Duration::from_millis(150)));
    }
}
