//! What a finished script reports: `ScriptResult` and its parts.

use serde::Serialize;
use serde_json::value::RawValue;

use crate::errors::ScriptError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Log,
    Info,
    Warn,
    Error,
}

impl LogLevel {
    pub fn from_index(i: u32) -> LogLevel {
        match i {
            1 => LogLevel::Info,
            2 => LogLevel::Warn,
            3 => LogLevel::Error,
            _ => LogLevel::Log,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct LogEntry {
    pub level: LogLevel,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CallStatus {
    Ok,
    Error,
    Denied,
    Aborted,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolCallRecord {
    pub call_id: String,
    pub tool_name: String,
    pub args: Box<RawValue>,
    pub status: CallStatus,
    pub duration_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<Box<RawValue>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ScriptError>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResultMetadata {
    pub duration_ms: f64,
    pub tool_calls_made: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_used_mb: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScriptResult {
    pub ok: bool,
    pub script_id: String,
    /// The return value as JSON text, exactly as the script's
    /// `JSON.stringify` produced it; absent when the script returned nothing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Box<RawValue>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ScriptError>,
    pub logs: Vec<LogEntry>,
    pub tool_calls: Vec<ToolCallRecord>,
    pub metadata: ResultMetadata,
    /// For a run submitted with `Determinism::record`: its seed and clock
    /// readings. The package's JavaScript layer takes it off the result.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replay: Option<crate::replay::ReplayRecord>,
}

impl ScriptResult {
    /// A result for a script that failed before it ran (size, syntax,
    /// closed harness, ...).
    pub fn failed_before_start(script_id: String, error: ScriptError) -> ScriptResult {
        ScriptResult {
            ok: false,
            script_id,
            value: None,
            error: Some(error),
            logs: Vec::new(),
            tool_calls: Vec::new(),
            replay: None,
            metadata: ResultMetadata {
                duration_ms: 0.0,
                tool_calls_made: 0,
                memory_used_mb: None,
            },
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("ScriptResult serializes")
    }
}
