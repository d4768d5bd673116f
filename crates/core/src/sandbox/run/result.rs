//! How a script's bookkeeping ends: pending calls aborted, the grace
//! period of calls already with the host, and the `ScriptResult` built and
//! queued.

use std::time::{Duration, Instant};

use super::Progress;
use super::cell::ScriptCell;
use super::state::Outcome;
use crate::errors::{ErrorCode, Phase, ScriptError};
use crate::events::EventKind;
use crate::host::Outgoing;
use crate::result::{CallStatus, LogEntry, LogLevel, ResultMetadata, ScriptResult, ToolCallRecord};

impl ScriptCell {
    /// The script ended with `outcome`: abort what is still pending. When
    /// it ended on its own, calls already with the host get
    /// `orphanGraceMs` to settle before the result is built
    /// (`Progress::Running` until then).
    pub fn finish(&self, outcome: Outcome) -> Progress {
        let mut guard = self.state.borrow_mut();
        let Some(s) = guard.as_mut() else {
            return Progress::Finished;
        };
        let terminal = matches!(&outcome, Err(e) if e.code.is_terminal());
        let reason = match &outcome {
            Err(e) if terminal => e.message.clone(),
            _ => "the script ended before this call finished".to_owned(),
        };
        let mut orphans = 0;
        for call in 0..s.calls.len() as u32 {
            let record = &mut s.calls[call as usize];
            if record.status.is_none() {
                if record.dispatched {
                    record.orphan = true;
                    orphans += 1;
                    let token = s.token(call);
                    s.outbox.push(Outgoing::Abort {
                        token,
                        reason: reason.clone(),
                    });
                }
                s.complete(call, CallStatus::Aborted);
            }
        }
        s.in_flight = 0;
        s.queued.clear();
        s.gate.stop();
        if orphans > 0 {
            self.note_left_calls();
        }
        // A script stopped by a limit or cancelled ends now, as its limit
        // promises: its aborted calls are not waited for.
        let grace = s.limits.orphan_grace_ms;
        if orphans > 0 && grace > 0 && !terminal {
            s.outcome = Some(outcome);
            s.orphans = orphans;
            drop(guard);
            self.set_draining(true);
            // The grace period ends at the script's own deadline at the
            // latest: a run never outlasts its time limit.
            let grace_end = Instant::now() + Duration::from_millis(grace);
            let end = self
                .gate()
                .deadline()
                .map_or(grace_end, |d| d.min(grace_end));
            self.gate().set_deadline(end);
            return Progress::Running;
        }
        drop(guard);
        self.conclude(outcome);
        Progress::Finished
    }

    /// During the grace period, call `call` settled; true once every
    /// aborted call has.
    pub fn orphan_settled(&self, call: u32) -> bool {
        self.with_state(|s| {
            if let Some(record) = s.calls.get_mut(call as usize)
                && record.orphan
            {
                record.orphan = false;
                s.orphans -= 1;
            }
            s.orphans == 0
        })
        .unwrap_or(false)
    }

    /// The grace period is over (every aborted call settled, or time ran
    /// out): calls still out are detached, and their late results dropped.
    pub fn end_grace(&self) -> Progress {
        let outcome = self.with_state(|s| {
            let grace = s.limits.orphan_grace_ms;
            for record in s.calls.iter_mut().filter(|r| r.orphan) {
                record.error = Some(
                    ScriptError::new(
                        ErrorCode::DetachedPromiseError,
                        Phase::Finalizing,
                        format!(
                            "tools.{} did not settle within {grace} ms (orphanGraceMs) of being aborted; its late result is dropped",
                            record.tool_name
                        ),
                    )
                    .for_call(&record.tool_name, &record.call_id),
                );
            }
            s.outcome.take()
        });
        self.set_draining(false);
        self.conclude(outcome.flatten().unwrap_or(Ok(None)));
        Progress::Finished
    }

    /// Build the result and queue the final event and the result.
    fn conclude(&self, outcome: Outcome) {
        let Some(mut s) = self.state.borrow_mut().take() else {
            return;
        };
        if s.progress_dropped > 0 {
            s.logs.push(LogEntry {
                level: LogLevel::Warn,
                message: format!(
                    "[script-harness] {} progress messages were dropped (at most one per 500 ms and 50 per script)",
                    s.progress_dropped
                ),
            });
        }
        if s.logs_dropped > 0 {
            s.logs.push(LogEntry {
                level: LogLevel::Warn,
                message: format!(
                    "[script-harness] {} more console entries were dropped (maxLogEvents is {})",
                    s.logs_dropped, s.limits.max_log_events
                ),
            });
        }
        let duration_ms = s.started.elapsed().as_secs_f64() * 1000.0;
        let (value, error) = match outcome {
            Ok(v) => (v, None),
            Err(e) => (None, Some(e)),
        };
        let tool_calls: Vec<ToolCallRecord> = s
            .calls
            .drain(..)
            .map(|c| ToolCallRecord {
                call_id: c.call_id,
                tool_name: c.tool_name,
                args: c.args,
                status: c.status.unwrap_or(CallStatus::Aborted),
                duration_ms: c.duration_ms,
                result: c.result,
                error: c.error,
            })
            .collect();
        let tool_calls_made = tool_calls
            .iter()
            .filter(|c| {
                c.error.as_ref().is_none_or(|e| {
                    !matches!(
                        e.code,
                        ErrorCode::ToolNotFoundError | ErrorCode::ToolValidationError
                    )
                })
            })
            .count() as u32;
        let peak = self.wires().peak() as f64;
        let result = ScriptResult {
            ok: error.is_none(),
            script_id: s.script_id.clone(),
            value,
            error: error.clone(),
            logs: std::mem::take(&mut s.logs),
            tool_calls,
            replay: self.replay_record(),
            metadata: ResultMetadata {
                duration_ms,
                tool_calls_made,
                memory_used_mb: Some((peak / (1024.0 * 1024.0) * 100.0).round() / 100.0),
            },
        };
        s.emit(EventKind::ScriptCompleted {
            ok: result.ok,
            error,
            duration_ms,
        });
        s.outbox.push(Outgoing::Done { run: s.run, result });
    }
}
