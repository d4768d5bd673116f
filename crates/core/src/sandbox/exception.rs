//! What a thrown value means: a limit the harness hit, a harness error
//! keeping its code, or the script's own error, with its line in the script
//! as written (a stack overflow's too).

use rquickjs::{Array, Ctx, Function, Object, Value};

use super::outcome::{MAX_ERROR_MESSAGE_BYTES, Terminal};
use super::realm::is_uncatchable;
use super::run::ScriptCell;
use crate::compile::CompiledScript;
use crate::errors::{ErrorCode, Phase, ScriptError};
use crate::text::truncated;

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
        if let Some(stopped) = self.stopped_without_line() {
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

    /// The harness stopped the script (time, memory, cancel): that is the
    /// error, wherever it surfaced. A stack overflow is described further,
    /// for its line.
    fn stopped_without_line(&self) -> Option<ScriptError> {
        match self.cell.terminal() {
            Some(Terminal::StackOverflow) | None => None,
            Some(_) => self.cell.terminal_error(),
        }
    }

    /// Classify what the script threw: a harness error keeps its code (from
    /// the prelude's records); anything else is the script's own error.
    pub fn describe(&self, thrown: Value<'js>, phase: Phase) -> ScriptError {
        if let Some(stopped) = self.stopped_without_line() {
            return stopped;
        }
        // The stack limit (the overflow handler recorded it). Its line is
        // read natively from the uncatchable RangeError QuickJS threw: the
        // prelude's `describe` would meet the interrupt handler, which
        // stops the script from now on.
        if self.cell.terminal() == Some(Terminal::StackOverflow) {
            let mut error = Terminal::StackOverflow.error(self.cell.limits());
            error.phase = phase;
            // Formatting the stack allocates, which can bring the next
            // interrupt poll forward (QuickJS patch 0007); the handler would
            // stop this read, so it is made quietly: the RangeError is the
            // engine's own, and `Error` is frozen, so no script code runs.
            if is_uncatchable(&thrown)
                && let Some(stack) = self.cell.quietly(|| {
                    thrown
                        .as_object()
                        .and_then(|o| o.get::<_, Option<String>>("stack").ok().flatten())
                })
            {
                self.place(&mut error, &stack);
            }
            let _ = self.ctx.catch();
            return error;
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
            None => {
                let text = match name {
                    Some(n) if !n.is_empty() => format!("{n}: {message}"),
                    _ => message,
                };
                ScriptError::new(ErrorCode::ScriptRuntimeError, phase, text)
            }
        };
        self.place(&mut error, stack.as_deref().unwrap_or(""));
        error
    }

    /// Give `error` its line, column and stack in the script as written,
    /// from the engine's `stack` text.
    fn place(&self, error: &mut ScriptError, stack: &str) {
        let frames = self.compiled.script_frames(stack);
        if let Some(first) = frames.first() {
            error.line = Some(first.line);
            error.column = Some(first.column);
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
    }
}
