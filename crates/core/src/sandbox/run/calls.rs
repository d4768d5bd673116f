//! The call table: the one owner of each tool call's state, from the
//! moment the script makes it (refused, queued or dispatched) until it is
//! settled, refused or aborted.

use serde_json::value::RawValue;

use super::cell::ScriptCell;
use super::state::{CallRecord, RunState};
use crate::errors::{ErrorCode, Phase, ScriptError};
use crate::events::EventKind;
use crate::host::{CallToken, Outgoing, ToolOutcome};
use crate::result::CallStatus;
use crate::sandbox::gate::CallPhase;
use crate::sandbox::outcome::{MAX_ERROR_MESSAGE_BYTES, Terminal};

/// Longest summary of a handler's error the script is handed (its message,
/// causes and members, each cut by the host).
const MAX_ERROR_DETAILS_BYTES: usize = 64 * 1024;
use crate::sandbox::values::{MAX_JSON_DEPTH, keep_within, tool_result};
use crate::text::{json_deeper_than, truncated, well_formed_json};
use crate::tools::ApprovalRule;

/// A call refused at once: the script's promise rejects with this.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Refusal {
    pub code: ErrorCode,
    pub message: String,
    pub call_id: Option<String>,
}

impl Refusal {
    fn of(error: ScriptError) -> Refusal {
        Refusal {
            code: error.code,
            message: error.message,
            call_id: error.call_id,
        }
    }
}

/// A settled call, to hand to the script.
#[derive(Debug, PartialEq)]
pub(crate) struct Delivery {
    pub ok: bool,
    /// The result's JSON text ("" for `undefined` or an error).
    pub payload: String,
    /// The error's code ("" when ok) and message.
    pub code: &'static str,
    pub message: String,
    pub tool_name: String,
    pub call_id: String,
    /// The handler's error summarised as JSON ("" when none).
    pub details: String,
}

impl RunState {
    fn dispatch(&mut self, call: u32) {
        let record = &mut self.calls[call as usize];
        record.dispatched = true;
        record.started = std::time::Instant::now();
        self.in_flight += 1;
        self.gate.set_phase(call, CallPhase::Dispatched);
        let needs_approval = self
            .tools
            .registry
            .get(record.tool_index as usize)
            .is_some_and(|t| t.approval != ApprovalRule::Never);
        // What people see: never the raw arguments, even if they could not
        // be read (they are depth-checked and well-formed, so they can).
        let redacted = (needs_approval || self.shared.host.wants_events()).then(|| {
            serde_json::from_str::<serde_json::Value>(record.args.get())
                .ok()
                .and_then(|v| RawValue::from_string(crate::redact::redact(&v).to_string()).ok())
                .unwrap_or_else(|| {
                    RawValue::from_string(r#""[arguments not shown]""#.into()).expect("JSON")
                })
        });
        let msg = Outgoing::Call {
            token: CallToken {
                call,
                ..self.token_base
            },
            tool: record.tool_index,
            tool_name: record.tool_name.clone(),
            script_id: self.script_id.clone(),
            script_hash: needs_approval.then(|| self.script_hash.clone()),
            call_id: record.call_id.clone(),
            args: record.args.clone(),
            approval_timeout_ms: needs_approval.then_some(self.limits.approval_timeout_ms),
            max_result_bytes: self.limits.max_tool_result_bytes,
            display_args: if needs_approval {
                redacted.clone()
            } else {
                None
            },
            line: record.line,
        };
        if let Some(args) = redacted {
            let event = EventKind::ToolCallStarted {
                call_id: record.call_id.clone(),
                tool_name: record.tool_name.clone(),
                args,
            };
            self.emit(event);
        }
        self.outbox.push(msg);
    }

    /// Record call `call` as refused before it reached the host (unknown
    /// tool, invalid arguments): status `error`, not counted as made.
    fn refuse(
        &mut self,
        call: u32,
        path: String,
        args: Box<RawValue>,
        code: ErrorCode,
        message: String,
    ) -> Refusal {
        let call_id = format!("{}-c{}", self.script_id, call + 1);
        let error = ScriptError::new(code, Phase::Executing, message).for_call(&path, &call_id);
        let mut record = CallRecord::new(call_id, path, u32::MAX, args, None);
        record.error = Some(error.clone());
        self.calls.push(record);
        self.complete(call, CallStatus::Error);
        Refusal::of(error)
    }

    pub(super) fn complete(&mut self, call: u32, status: CallStatus) {
        self.gate.set_phase(call, CallPhase::Ended);
        let record = &mut self.calls[call as usize];
        if std::mem::take(&mut record.charged) {
            self.wires.release(record.args.get().len());
        }
        let budget = self.limits.max_call_record_bytes;
        keep_within(&mut record.args, &mut self.recorded_bytes, budget);
        if let Some(result) = record.result.as_mut() {
            keep_within(result, &mut self.recorded_bytes, budget);
        }
        record.status = Some(status);
        record.duration_ms = if record.dispatched {
            record.started.elapsed().as_secs_f64() * 1000.0
        } else {
            0.0
        };
        let event = EventKind::ToolCallCompleted {
            call_id: record.call_id.clone(),
            tool_name: record.tool_name.clone(),
            status,
            duration_ms: record.duration_ms,
        };
        self.emit(event);
    }

    /// A call ended: the next queued one goes to the host.
    fn dispatch_next(&mut self) {
        if let Some(next) = self.queued.pop_front() {
            self.dispatch(next);
        }
    }
}

impl ScriptCell {
    /// The script called `tools.<path>` (`index` -1 for a name that is not
    /// a tool) with `args` as JSON text, from the frames in `stack`.
    /// Returns the call's index, or why it was refused at once.
    pub fn start_call(
        &self,
        index: i32,
        args: String,
        path: String,
        stack: String,
    ) -> Result<u32, Refusal> {
        // A memory limit hit a moment ago (and caught) is terminal now,
        // not at the next interrupt poll.
        if let Some(e) = self.terminal_error() {
            return Err(Refusal::of(e));
        }
        let refused = |code: ErrorCode, message: String| Refusal {
            code,
            message,
            call_id: None,
        };
        if self.has_ended() {
            return Err(refused(
                ErrorCode::ScriptRuntimeError,
                format!("tools.{path} was not called: the script has already ended"),
            ));
        }
        let mut guard = self.state.borrow_mut();
        let Some(s) = guard.as_mut() else {
            return Err(refused(
                ErrorCode::HarnessInternalError,
                "no script is running".into(),
            ));
        };
        // JSON.stringify made it; only its depth can make it unreadable
        // (or unredactable, for the person asked to approve it).
        let args = match json_deeper_than(&args, MAX_JSON_DEPTH) {
            false => RawValue::from_string(well_formed_json(&args).into_owned()).ok(),
            true => None,
        };
        let Some(args) = args else {
            return Err(refused(
                ErrorCode::SerializationError,
                format!(
                    "arguments of tools.{path} are not JSON the host can read: they nest deeper than {MAX_JSON_DEPTH} levels"
                ),
            ));
        };
        // Every attempt counts, refused ones too: each leaves a record.
        if s.calls.len() as u64 >= s.limits.max_tool_calls {
            return Err(refused(
                ErrorCode::ToolBudgetExceededError,
                format!(
                    "tools.{path} was not called: the script already made its {} allowed tool calls",
                    s.limits.max_tool_calls
                ),
            ));
        }
        let call = s.calls.len() as u32;
        let size = args.get().len() as u64;
        if size > s.limits.max_tool_arg_bytes {
            let message = format!(
                "tools.{path} was not called: its arguments are {size} bytes of JSON, over the {} byte limit (maxToolArgBytes); pass a smaller value",
                s.limits.max_tool_arg_bytes
            );
            return Err(s.refuse(call, path, args, ErrorCode::ToolValidationError, message));
        }
        let known = usize::try_from(index)
            .ok()
            .filter(|i| *i < s.tools.registry.len());
        let Some(tool_index) = known else {
            let message = s.tools.registry.not_found_message(&path);
            return Err(s.refuse(call, path, args, ErrorCode::ToolNotFoundError, message));
        };
        // Read back from JSON only for a tool that has a schema to check.
        if s.tools.registry.checks_args(tool_index)
            && let Ok(value) = serde_json::from_str::<serde_json::Value>(args.get())
            && let Some(problem) = s.tools.registry.check_args(tool_index, &value)
        {
            let message =
                format!("tools.{path}: the arguments do not match its schema at {problem}");
            return Err(s.refuse(call, path, args, ErrorCode::ToolValidationError, message));
        }
        // The call's line is for the person asked to approve it: read from
        // the stack only for a tool that may need approval.
        let line = s
            .tools
            .registry
            .get(tool_index)
            .is_some_and(|t| t.approval != ApprovalRule::Never)
            .then(|| s.compiled.script_frames(&stack).first().map(|f| f.line))
            .flatten();
        // Arguments waiting for the host live outside the sandbox heap but
        // count against its budget until the call ends.
        if !s.wires.charge(args.get().len()) {
            self.set_terminal(Terminal::Memory);
            return Err(Refusal::of(Terminal::Memory.error(&s.limits)));
        }
        let call_id = format!("{}-c{}", s.script_id, call + 1);
        let mut record = CallRecord::new(call_id, path, tool_index as u32, args, line);
        record.charged = true;
        s.calls.push(record);
        if (s.in_flight as u64) < s.limits.max_concurrent_tool_calls {
            s.dispatch(call);
        } else {
            s.gate.set_phase(call, CallPhase::Queued);
            s.queued.push_back(call);
        }
        Ok(call)
    }

    /// The script no longer wants call `call` (it lost a `Promise.race` or
    /// `Promise.any`). Returns whether it was pending.
    pub fn abort_call(&self, call: u32) -> bool {
        self.with_state(|s| {
            let Some(record) = s.calls.get(call as usize) else {
                return false;
            };
            if record.status.is_some() {
                return false;
            }
            if record.dispatched {
                let token = s.token(call);
                s.outbox.push(Outgoing::Abort {
                    token,
                    reason: "the call lost a Promise.race or Promise.any".to_owned(),
                });
                s.in_flight -= 1;
            } else {
                s.queued.retain(|q| *q != call);
            }
            s.complete(call, CallStatus::Aborted);
            s.dispatch_next();
            true
        })
        .unwrap_or(false)
    }

    /// The host answered call `call`: record it, start the next queued
    /// call, and say what to hand the script. `None` when there is nothing
    /// to hand it (an unknown, ended or never-started call).
    pub fn deliver(&self, call: u32, outcome: ToolOutcome) -> Option<Delivery> {
        self.with_state(|s| {
            let record = s.calls.get_mut(call as usize)?;
            if record.status.is_some() || !record.dispatched {
                return None;
            }
            let mut details = String::new();
            let (status, payload, error) = match outcome {
                ToolOutcome::Ok(json) => match tool_result(json, &s.limits) {
                    Ok(Some(raw)) => {
                        let payload = raw.get().to_owned();
                        record.result = Some(raw);
                        (CallStatus::Ok, payload, None)
                    }
                    Ok(None) => (CallStatus::Ok, String::new(), None),
                    Err(message) => {
                        let e = ScriptError::new(
                            ErrorCode::ToolExecutionError,
                            Phase::Executing,
                            format!("tools.{}: {message}", record.tool_name),
                        )
                        .for_call(&record.tool_name, &record.call_id);
                        (CallStatus::Error, String::new(), Some(e))
                    }
                },
                ToolOutcome::NotStarted => return None,
                ToolOutcome::Err {
                    code,
                    message,
                    details: summary,
                } => {
                    // Bounded by the host's summary (three causes deep, ten
                    // members); anything longer is dropped, not cut, so
                    // the script never parses broken JSON.
                    if let Some(summary) = summary
                        && summary.len() <= MAX_ERROR_DETAILS_BYTES
                    {
                        details = summary;
                    }
                    let message = truncated(message, MAX_ERROR_MESSAGE_BYTES);
                    let e = ScriptError::new(code, Phase::Executing, message)
                        .for_call(&record.tool_name, &record.call_id);
                    let status = match code {
                        ErrorCode::ApprovalDeniedError | ErrorCode::ApprovalTimeoutError => {
                            CallStatus::Denied
                        }
                        _ => CallStatus::Error,
                    };
                    (status, String::new(), Some(e))
                }
            };
            record.error = error.clone();
            let (tool_name, call_id) = (record.tool_name.clone(), record.call_id.clone());
            s.in_flight -= 1;
            s.complete(call, status);
            s.dispatch_next();
            let (code, message) = error
                .map(|e| (e.code.as_str(), e.message))
                .unwrap_or(("", String::new()));
            Some(Delivery {
                ok: code.is_empty(),
                payload,
                code,
                message,
                tool_name,
                call_id,
                details,
            })
        })
        .flatten()
    }
}
