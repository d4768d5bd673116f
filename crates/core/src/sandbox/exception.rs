//! What a thrown value means: a limit the harness hit, a harness error
//! keeping its code, an engine stack overflow, or the script's own error,
//! with its line in the script as written.

use rquickjs::{Array, Ctx, Function, Object, Value};

use super::outcome::MAX_ERROR_MESSAGE_BYTES;
use super::run::ScriptCell;
use crate::compile::CompiledScript;
use crate::errors::{ErrorCode, Phase, ScriptError};
use crate::text::truncated;

/// The message of the RangeError QuickJS throws when the stack limit is hit.
const STACK_OVERFLOW_MESSAGE: &str = "Maximum call stack size exceeded";

/// Where a script ran and what it was, for reading what it threw.
pub(crate) struct Thrower<'a, 'js> {
    pub ctx: &'a Ctx<'js>,
    /// The realm's prelude handle (its `describe`).
    pub api: &'a Object<'js>,
    pub cell: &'a ScriptCell,
    pub compiled: &'a CompiledScript,
}

impl<'js> Thrower<'_, 'js> {
    /// The `ScriptError` for a failed call into the realm (a pending
    /// exception, syntax errors included).
    pub fn error(&self, e: rquickjs::Error, phase: Phase) -> ScriptError {
        if let Some(stopped) = self.cell.terminal_error() {
            return stopped;
        }
        let value = match e {
            rquickjs::Error::Exception => self.ctx.catch(),
            other => {
                return ScriptError::new(
                    ErrorCode::HarnessInternalError,
                    Phase::Executing,
                    other.to_string(),
                );
            }
        };
        self.describe(value, phase)
    }

    /// Classify what the script threw: a harness error keeps its code (from
    /// the prelude's records); anything else is the script's own error.
    pub fn describe(&self, thrown: Value<'js>, phase: Phase) -> ScriptError {
        if let Some(stopped) = self.cell.terminal_error() {
            return stopped;
        }
        let described: Option<Array> = (|| {
            let describe: Function = self.api.get("describe").ok()?;
            describe.call((thrown,)).ok()
        })();
        let _ = self.ctx.catch();
        let Some(d) = described else {
            if let Some(stopped) = self.cell.terminal_error() {
                return stopped;
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
        let frames = self.compiled.script_frames(stack.as_deref().unwrap_or(""));
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
                ScriptError::new(
                    ErrorCode::ScriptStackOverflowError,
                    phase,
                    format!(
                        "the script exceeded its {} byte stack limit (unbounded recursion?)",
                        self.cell.limits().max_stack_bytes
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
}
