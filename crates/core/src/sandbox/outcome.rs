//! How a run ends, as data: why the harness stopped a script, and the
//! messages that report a run that could not produce a result of its own.

use crate::errors::{ErrorCode, Phase, ScriptError};
use crate::events::{EventKind, HarnessEvent, now_ms};
use crate::host::Outgoing;
use crate::limits::HarnessLimits;
use crate::result::ScriptResult;

/// Longest error message kept (what a script or a handler threw), in bytes.
pub(crate) const MAX_ERROR_MESSAGE_BYTES: usize = 8 * 1024;

/// Why a script was stopped by the harness. Decided from the harness's own
/// records (deadline, cancel flags, the allocator's tripwire, QuickJS's
/// stack-overflow handler), never from what the script threw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Terminal {
    Cancelled,
    Timeout,
    Memory,
    /// The stack limit, recorded by the realm's stack-overflow handler (the
    /// project's QuickJS patch 0002) as it is hit.
    StackOverflow,
}

impl Terminal {
    pub fn error(self, limits: &HarnessLimits) -> ScriptError {
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
            Terminal::StackOverflow => (
                ErrorCode::ScriptStackOverflowError,
                format!(
                    "the script exceeded its {} byte stack limit (unbounded recursion?)",
                    limits.max_stack_bytes
                ),
            ),
        };
        ScriptError::new(code, Phase::Executing, message)
    }
}

/// The messages that end run `run` as failed without a result of its own:
/// a `script_completed` event (when the host wants events) and the result.
pub(crate) fn failure_messages(
    run: u64,
    script_id: String,
    error: ScriptError,
    wants_events: bool,
    out: &mut Vec<Outgoing>,
) {
    if wants_events {
        out.push(Outgoing::Event {
            run,
            event: HarnessEvent {
                script_id: script_id.clone(),
                timestamp: now_ms(),
                kind: EventKind::ScriptCompleted {
                    ok: false,
                    error: Some(error.clone()),
                    duration_ms: 0.0,
                },
            },
        });
    }
    out.push(Outgoing::Done {
        run,
        result: ScriptResult::failed_before_start(script_id, error),
    });
}

pub(crate) fn internal_msg(message: String) -> ScriptError {
    ScriptError::new(ErrorCode::HarnessInternalError, Phase::Executing, message)
}

pub(crate) fn thread_replaced() -> ScriptError {
    internal_msg(
        "the sandbox thread running this script failed internally and was replaced (a bug: please report it)".into(),
    )
}

pub(crate) fn internal_panic() -> ScriptError {
    internal_msg(
        "the harness failed internally while running this script (a bug: please report it)".into(),
    )
}
