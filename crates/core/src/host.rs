//! The boundary between the engine and whoever embeds it (the napi binding,
//! or a Rust test). Sandbox threads hand the host batches of [`Outgoing`]
//! messages; the host answers tool calls through [`ToolOutcome`]s routed back
//! with [`crate::Engine::settle`].

use serde::Serialize;
use serde_json::value::RawValue;

use crate::errors::ErrorCode;
use crate::events::HarnessEvent;
use crate::result::ScriptResult;

/// Identifies one tool call for its answer: which worker, which script on
/// it, which call of that script.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct CallToken {
    /// The run the call belongs to (its gate).
    pub run: u64,
    pub worker: u32,
    pub script: u64,
    pub call: u32,
}

/// What a sandbox thread asks of the host. Messages of one script keep
/// their order; a batch is delivered in one hop.
#[derive(Debug, Serialize)]
#[serde(tag = "t", rename_all = "camelCase")]
pub enum Outgoing {
    /// Run the handler of tool `tool` with `args` (JSON text).
    #[serde(rename_all = "camelCase")]
    Call {
        token: CallToken,
        tool: u32,
        tool_name: String,
        script_id: String,
        /// For tools that may need approval (what a person is shown):
        /// left out of the common call, which never reads it.
        #[serde(skip_serializing_if = "Option::is_none")]
        script_hash: Option<String>,
        call_id: String,
        args: Box<RawValue>,
        /// For tools that may need approval: how long the host may wait
        /// for a person to approve the call.
        #[serde(skip_serializing_if = "Option::is_none")]
        approval_timeout_ms: Option<u64>,
        /// `maxToolResultBytes`: a longer result is refused by the host
        /// before it crosses back.
        max_result_bytes: u64,
        /// For tools that may need approval: `args` with secrets redacted,
        /// to show a person.
        #[serde(skip_serializing_if = "Option::is_none")]
        display_args: Option<Box<RawValue>>,
        /// Line of the call in the script (tools that may need approval).
        #[serde(skip_serializing_if = "Option::is_none")]
        line: Option<u32>,
    },
    /// Fire the `AbortSignal` of a call the script no longer waits for.
    #[serde(rename_all = "camelCase")]
    Abort { token: CallToken, reason: String },
    /// An event of run `run`'s script (its `onEvent` gets it too).
    Event { run: u64, event: HarnessEvent },
    /// The script of run `run` ended.
    Done { run: u64, result: ScriptResult },
    /// The script of run `run` (one submitted with `report_idle`) waits
    /// for its calls and has nothing else to run, after `delivered` of
    /// their answers: what a replaying host needs to tell a replay that
    /// left its path (it waits for answers the host holds) from one still
    /// on its way.
    Idle { run: u64, delivered: u32 },
}

/// How a tool call ended, as the host reports it.
#[derive(Debug, Clone, PartialEq)]
pub enum ToolOutcome {
    /// The handler's value as JSON text; `None` for `undefined`.
    Ok(Option<String>),
    Err {
        code: ErrorCode,
        message: String,
        /// What the handler threw, summarised as JSON by the host (`name`,
        /// `code`, `status`, `cause`, `errors`): fields of the script's error.
        details: Option<String>,
    },
    /// The host did not start the call: its script had already ended, been
    /// cancelled or passed its deadline when the call arrived. The engine
    /// records it as aborted; nothing of it ran.
    NotStarted,
}

/// Implemented by the embedder. Called from sandbox threads; must not block.
pub trait Host: Send + Sync + 'static {
    fn deliver(&self, batch: Vec<Outgoing>);
    /// Whether anyone listens to events; when not, none are built. Read
    /// for each event, so a host may start listening at any time.
    fn wants_events(&self) -> bool {
        true
    }
}
