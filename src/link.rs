//! `NativeLink`: how the TypeScript side answers the engine (tool replies,
//! admissions, approval pauses, cancels). It is what the dispatch callback
//! holds, so it reaches the engine weakly: a harness dropped without
//! `close()` still drops its engine and threads. Runs still pending hold the
//! engine strongly until their results are delivered.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use napi_derive::napi;

use script_harness_core::sandbox::gate::CallPhase;
use script_harness_core::{Engine, ErrorCode, RunHandle, ToolOutcome};

use crate::contain::contained;
use crate::hold::Hold;

/// Pending runs: how to cancel each, and the engine it keeps alive until
/// its result is delivered (the harness object itself may be collected).
pub type Runs = Arc<Mutex<HashMap<u64, (RunHandle, Arc<Engine>)>>>;

/// Names one tool call, as a `call` message gives it.
#[napi(object, js_name = "CallToken")]
#[derive(Clone, Copy)]
pub struct CallTokenData {
    pub run: f64,
    pub worker: u32,
    pub script: f64,
    pub call: u32,
}

impl From<CallTokenData> for script_harness_core::CallToken {
    fn from(t: CallTokenData) -> Self {
        script_harness_core::CallToken {
            run: t.run as u64,
            worker: t.worker,
            script: t.script as u64,
            call: t.call,
        }
    }
}

/// The engine as tool handlers answer it. Every method is a no-op once the
/// engine is gone.
#[napi]
pub struct NativeLink {
    engine: Weak<Engine>,
    runs: Runs,
    hold: Arc<Hold>,
}

impl NativeLink {
    pub fn new(engine: Weak<Engine>, runs: Runs, hold: Arc<Hold>) -> Self {
        NativeLink { engine, runs, hold }
    }

    fn settle(&self, token: CallTokenData, outcome: ToolOutcome) {
        if let Some(engine) = self.engine.upgrade() {
            engine.settle(token.into(), outcome);
        }
    }

    /// A call was answered: its script often makes its next call or ends
    /// within microseconds, so the Node thread holds briefly for that
    /// (see `Hold` for when it does not).
    fn answer(&self, token: CallTokenData, outcome: ToolOutcome, what: &str) -> napi::Result<()> {
        let mark = self.hold.mark();
        contained(what, || {
            self.settle(token, outcome);
            Ok(())
        })?;
        self.hold.hold(mark, crate::hold::HoldAfter::Answer);
        Ok(())
    }

    fn admit(&self, token: CallTokenData, phase: CallPhase) -> bool {
        self.engine
            .upgrade()
            .is_some_and(|engine| engine.admit(token.into(), phase))
    }
}

#[napi]
impl NativeLink {
    /// The call's handler returned: `json` is its value as JSON
    /// (`undefined` for none).
    #[napi(catch_unwind)]
    pub fn resolve(&self, token: CallTokenData, json: Option<String>) -> napi::Result<()> {
        self.answer(token, ToolOutcome::Ok(json), "link.resolve")
    }

    /// The call failed: `code` is an `ErrorCode` (anything else counts as
    /// `ToolExecutionError`), `details` the thrown error's summary as JSON.
    #[napi(catch_unwind)]
    pub fn reject(
        &self,
        token: CallTokenData,
        code: String,
        message: String,
        details: Option<String>,
    ) -> napi::Result<()> {
        let code = ErrorCode::parse(&code).unwrap_or(ErrorCode::ToolExecutionError);
        let outcome = ToolOutcome::Err {
            code,
            message,
            details,
        };
        self.answer(token, outcome, "link.reject")
    }

    /// Nothing of the call started (its script was stopped first): the
    /// script does not wait out its grace period for it.
    #[napi(catch_unwind)]
    pub fn skip(&self, token: CallTokenData) -> napi::Result<()> {
        contained("link.skip", || {
            self.settle(token, ToolOutcome::NotStarted);
            Ok(())
        })
    }

    /// Whether the call's approval may be asked (its predicate run) now:
    /// false once its script was cancelled, closed or out of time. The
    /// engine decides, so a stop wins every race with messages in flight.
    #[napi(catch_unwind)]
    pub fn may_ask_approval(&self, token: CallTokenData) -> napi::Result<bool> {
        contained("link.mayAskApproval", || {
            Ok(self.admit(token, CallPhase::AwaitingApproval))
        })
    }

    /// Whether the call's handler may start now (as `mayAskApproval`).
    #[napi(catch_unwind)]
    pub fn may_run(&self, token: CallTokenData) -> napi::Result<bool> {
        contained("link.mayRun", || Ok(self.admit(token, CallPhase::Running)))
    }

    /// A person is (`pending`) or is no longer deciding about the call: the
    /// script's clock pauses meanwhile.
    #[napi(catch_unwind)]
    pub fn approval_pending(&self, token: CallTokenData, pending: bool) -> napi::Result<()> {
        contained("link.approvalPending", || {
            if let Some(engine) = self.engine.upgrade() {
                engine.approval_pending(token.into(), pending);
            }
            Ok(())
        })
    }

    /// Cancels a pending run; `reason` is the abort reason as text.
    #[napi(catch_unwind)]
    pub fn cancel(&self, run: f64, reason: Option<String>) -> napi::Result<()> {
        contained("link.cancel", || {
            let handle = self
                .runs
                .lock()
                .ok()
                .and_then(|m| m.get(&(run as u64)).map(|(h, _)| h.clone()));
            if let Some(handle) = handle {
                match reason.filter(|r| !r.is_empty()) {
                    Some(reason) => handle.cancel_because(reason),
                    None => handle.cancel(),
                }
            }
            Ok(())
        })
    }
}
