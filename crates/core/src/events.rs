//! `HarnessEvent`: what `onEvent` receives, in order, for each script.

use serde::Serialize;
use serde_json::value::RawValue;

use crate::errors::ScriptError;
use crate::result::{CallStatus, LogLevel};

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    ScriptStarted {
        language: &'static str,
        #[serde(rename = "scriptHash")]
        script_hash: String,
    },
    ToolCallStarted {
        #[serde(rename = "callId")]
        call_id: String,
        #[serde(rename = "toolName")]
        tool_name: String,
        args: Box<RawValue>,
    },
    ToolCallCompleted {
        #[serde(rename = "callId")]
        call_id: String,
        #[serde(rename = "toolName")]
        tool_name: String,
        status: CallStatus,
        #[serde(rename = "durationMs")]
        duration_ms: f64,
    },
    Console {
        level: LogLevel,
        message: String,
    },
    Progress {
        message: String,
    },
    ScriptCompleted {
        ok: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<ScriptError>,
        #[serde(rename = "durationMs")]
        duration_ms: f64,
    },
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HarnessEvent {
    pub script_id: String,
    pub timestamp: f64,
    #[serde(flatten)]
    pub kind: EventKind,
}

/// Milliseconds since the Unix epoch, like `Date.now()`.
pub fn now_ms() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or(0.0)
}
