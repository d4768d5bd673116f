//! Stable error codes and the `ScriptError` shape every failure is reported in.
//!
//! One place decides, per code, whether the model may retry and what phase it
//! belongs to; everything else refers to these definitions.

use serde::Serialize;

/// The stable codes of the contract. The JS `Error.name` inside the sandbox
/// and `ScriptError.code` outside both equal the variant name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum ErrorCode {
    ScriptSyntaxError,
    ScriptTooLargeError,
    BannedConstructError,
    ScriptRuntimeError,
    ScriptTimeoutError,
    ScriptMemoryError,
    ScriptStackOverflowError,
    ScriptCancelledError,
    ToolNotFoundError,
    ToolValidationError,
    ToolExecutionError,
    ToolBudgetExceededError,
    ApprovalDeniedError,
    ApprovalTimeoutError,
    DetachedPromiseError,
    SerializationError,
    ReturnValueTooLargeError,
    HarnessDisabledError,
    HarnessInternalError,
    ScriptSuspendedError,
    ScriptReplayDivergedError,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 21] = [
        Self::ScriptSyntaxError,
        Self::ScriptTooLargeError,
        Self::BannedConstructError,
        Self::ScriptRuntimeError,
        Self::ScriptTimeoutError,
        Self::ScriptMemoryError,
        Self::ScriptStackOverflowError,
        Self::ScriptCancelledError,
        Self::ToolNotFoundError,
        Self::ToolValidationError,
        Self::ToolExecutionError,
        Self::ToolBudgetExceededError,
        Self::ApprovalDeniedError,
        Self::ApprovalTimeoutError,
        Self::DetachedPromiseError,
        Self::SerializationError,
        Self::ReturnValueTooLargeError,
        Self::HarnessDisabledError,
        Self::HarnessInternalError,
        Self::ScriptSuspendedError,
        Self::ScriptReplayDivergedError,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ScriptSyntaxError => "ScriptSyntaxError",
            Self::ScriptTooLargeError => "ScriptTooLargeError",
            Self::BannedConstructError => "BannedConstructError",
            Self::ScriptRuntimeError => "ScriptRuntimeError",
            Self::ScriptTimeoutError => "ScriptTimeoutError",
            Self::ScriptMemoryError => "ScriptMemoryError",
            Self::ScriptStackOverflowError => "ScriptStackOverflowError",
            Self::ScriptCancelledError => "ScriptCancelledError",
            Self::ToolNotFoundError => "ToolNotFoundError",
            Self::ToolValidationError => "ToolValidationError",
            Self::ToolExecutionError => "ToolExecutionError",
            Self::ToolBudgetExceededError => "ToolBudgetExceededError",
            Self::ApprovalDeniedError => "ApprovalDeniedError",
            Self::ApprovalTimeoutError => "ApprovalTimeoutError",
            Self::DetachedPromiseError => "DetachedPromiseError",
            Self::SerializationError => "SerializationError",
            Self::ReturnValueTooLargeError => "ReturnValueTooLargeError",
            Self::HarnessDisabledError => "HarnessDisabledError",
            Self::HarnessInternalError => "HarnessInternalError",
            Self::ScriptSuspendedError => "ScriptSuspendedError",
            Self::ScriptReplayDivergedError => "ScriptReplayDivergedError",
        }
    }

    pub fn parse(name: &str) -> Option<ErrorCode> {
        Self::ALL.into_iter().find(|c| c.as_str() == name)
    }

    /// Whether running the same script again may succeed: the failure came
    /// from time, a tool or a person, not from the script's text.
    /// Codes of the limits and cancellation: the script is stopped, whatever
    /// it does.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Self::ScriptTimeoutError
                | Self::ScriptCancelledError
                | Self::ScriptMemoryError
                | Self::ScriptStackOverflowError
        )
    }

    pub fn retryable(self) -> bool {
        matches!(
            self,
            Self::ScriptTimeoutError
                | Self::ToolExecutionError
                | Self::ApprovalTimeoutError
                | Self::HarnessInternalError
        )
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    Parsing,
    Executing,
    Finalizing,
}

/// A script's failure as the host and the model see it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScriptError {
    pub code: ErrorCode,
    pub message: String,
    pub phase: Phase,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stack: Option<String>,
    pub retryable: bool,
}

impl ScriptError {
    pub fn new(code: ErrorCode, phase: Phase, message: impl Into<String>) -> Self {
        ScriptError {
            code,
            message: message.into(),
            phase,
            line: None,
            column: None,
            tool_name: None,
            call_id: None,
            stack: None,
            retryable: code.retryable(),
        }
    }

    pub fn at(mut self, line: Option<u32>, column: Option<u32>) -> Self {
        self.line = line;
        self.column = column;
        self
    }

    pub fn for_call(mut self, tool_name: &str, call_id: &str) -> Self {
        self.tool_name = Some(tool_name.to_owned());
        self.call_id = Some(call_id.to_owned());
        self
    }
}

/// Misuse of the API by the host (bad options, closed harness). The binding
/// turns `InvalidOption` into a JS `TypeError` and `Closed` into an `Error`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HarnessError {
    #[error("{field}: {message}")]
    InvalidOption { field: String, message: String },
    #[error("the harness is closed")]
    Closed,
    #[error("could not start a sandbox thread: {0}")]
    Thread(String),
}

impl HarnessError {
    pub fn option(field: impl Into<String>, message: impl Into<String>) -> Self {
        HarnessError::InvalidOption {
            field: field.into(),
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips_through_its_name() {
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::parse(code.as_str()), Some(code));
            assert_eq!(
                serde_json::to_string(&code).unwrap(),
                format!("\"{}\"", code.as_str())
            );
        }
    }
}
