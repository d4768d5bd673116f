//! The driver of one script on a realm it borrows: starting it, handing it
//! tool results, running what they unblock, and ending it. Bookkeeping is
//! the [`ScriptCell`]'s; what a thrown value means is [`Thrower`]'s.

use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

use rquickjs::{Array, Function, Object, Persistent, Promise, Value, promise::PromiseState, qjs};
use serde_json::value::RawValue;

use super::exception::Thrower;
use super::outcome::{Terminal, internal_msg};
use super::realm::{Realm, bytecode, describe_exception, script_natives};
use super::run::{Progress, RunStart, ScriptCell};
use crate::compile::CompiledScript;
use crate::errors::{ErrorCode, Phase, ScriptError};
use crate::host::ToolOutcome;
use crate::text::well_formed_json;

/// Field order is drop order: the script's JS handles go before its realm.
pub(crate) struct Script {
    /// The script's own handle from the prelude (`settle`).
    handle: Option<Persistent<Object<'static>>>,
    promise: Option<Persistent<Promise<'static>>>,
    pub cell: Rc<ScriptCell>,
    compiled: Arc<CompiledScript>,
    /// Something happened that the realm must not carry to another script
    /// (an internal failure, a stack overflow, a result it could not take).
    spoiled: bool,
    /// A stack overflow in a promise job, as described with its line.
    overflow: Option<ScriptError>,
    realm: Realm,
}

impl Script {
    /// The script's clock starts now, in `realm`.
    pub fn new(realm: Realm, start: RunStart) -> Script {
        let compiled = start.compiled.clone();
        let limits = start.limits;
        let cell = ScriptCell::start(start, realm.wires().clone());
        realm.enter(cell.clone(), &limits);
        Script {
            handle: None,
            promise: None,
            cell,
            compiled,
            spoiled: false,
            overflow: None,
            realm,
        }
    }

    /// Where the watchdog pokes the script's JS to call its interrupt handler.
    pub fn interrupt_target(&self) -> super::realm::InterruptTarget {
        self.realm.interrupt_target()
    }

    /// Bytes the script's realm holds now.
    pub fn heap_bytes(&self) -> usize {
        self.realm.wires().used()
    }

    /// The script is over: its realm, and whether it may serve another
    /// script (it ended on its own, with nothing of it left behind).
    pub fn into_realm(self) -> (Realm, bool) {
        let Script {
            handle,
            promise,
            cell,
            spoiled,
            realm,
            ..
        } = self;
        drop(handle);
        drop(promise);
        let clean = !spoiled && cell.terminal().is_none() && !cell.left_calls_behind();
        (realm, clean)
    }

    /// Run the script until it first waits, and report.
    pub fn begin(&mut self, context_json: &str) -> Progress {
        let (cell, compiled) = (&self.cell, &self.compiled);
        let started = self.realm.with(|ctx, api| {
            let thrower = Thrower {
                ctx: &ctx,
                api: &api,
                cell,
                compiled,
            };
            // The prelude's own code polls the interrupt handler too: a
            // script cancelled this early ends as cancelled.
            let internal = |e| {
                cell.terminal_error()
                    .unwrap_or_else(|| internal_msg(describe_exception(&ctx, e)))
            };
            let natives = script_natives(&ctx, cell).map_err(internal)?;
            let open: Function = api.get("open").map_err(internal)?;
            let script_id = cell.script_id().unwrap_or_default();
            let opened: Array = open
                .call((natives, context_json, script_id))
                .map_err(internal)?;
            let binding = |i: usize| opened.get::<Value>(i).map_err(internal);
            let (context, tools, console) = (binding(0)?, binding(1)?, binding(2)?);
            let handle: Object = opened.get(3).map_err(internal)?;
            // Parsing is bounded by the stack limit too: bytecode compiled
            // under a larger limit than this script's is not reused.
            let stack = cell.limits().max_stack_bytes;
            let fresh;
            let bytes = match compiled.bytecode.get() {
                Some((under, bytes)) if *under <= stack => bytes,
                cached => {
                    fresh = bytecode::compile_in(
                        &ctx,
                        &compiled.wrapped,
                        "script",
                        qjs::JS_EVAL_FLAG_BACKTRACE_BARRIER,
                    )
                    .map_err(|e| thrower.error(e, Phase::Parsing))?;
                    match cached {
                        Some(_) => &fresh,
                        None => {
                            // Shared with other workers: never parked in here.
                            let _own_code = crate::sandbox::park::callback();
                            &compiled.bytecode.get_or_init(|| (stack, fresh.clone())).1
                        }
                    }
                }
            };
            let func: Function = bytecode::run(&ctx, bytes)
                .and_then(Function::from_value)
                .map_err(|e| thrower.error(e, Phase::Parsing))?;
            let promise: Promise = func
                .call((context, tools, console))
                .map_err(|e| thrower.error(e, Phase::Executing))?;
            Ok::<_, ScriptError>((
                Persistent::save(&ctx, handle),
                Persistent::save(&ctx, promise),
            ))
        });
        match started {
            Ok((handle, promise)) => {
                self.handle = Some(handle);
                self.promise = Some(promise);
                self.drive()
            }
            Err(e) => self.finish(Err(e)),
        }
    }

    /// Deliver a tool call's outcome to the script, then run what it unblocked.
    pub fn settle(&mut self, call: u32, outcome: ToolOutcome) -> Progress {
        if self.cell.is_draining() {
            return if self.cell.orphan_settled(call) {
                self.cell.end_grace()
            } else {
                Progress::Running
            };
        }
        // `NotStarted`: the host saw the script stopped before this worker
        // did; it ends the script itself at its next look (the same gate).
        let Some(d) = self.cell.deliver(call, outcome) else {
            return Progress::Running;
        };
        self.cell.count_delivered();
        let handle = self.handle.clone();
        let handed = self
            .realm
            .with_catchable_overflow(|ctx, _| -> rquickjs::Result<()> {
                let Some(handle) = handle else {
                    return Ok(());
                };
                let settle: Function = handle.restore(&ctx)?.get("settle")?;
                settle.call((
                    call,
                    d.ok,
                    d.payload,
                    d.code,
                    d.message,
                    // Seven arguments at most cross as a tuple.
                    vec![d.tool_name, d.call_id],
                    d.details,
                ))
            });
        if handed.is_err() {
            self.spoiled = true;
            self.cell.note_limits();
            if self.cell.terminal().is_none() {
                // A result too big to parse within the memory limit ends up here.
                self.cell.set_terminal(Terminal::Memory);
            }
        }
        self.drive()
    }

    /// Run pending jobs; finish the script if it settled or must stop.
    pub fn drive(&mut self) -> Progress {
        let (cell, compiled) = (&self.cell, &self.compiled);
        let mut overflow = None;
        self.realm.drain_jobs(cell, |ctx, api, thrown| {
            let thrower = Thrower {
                ctx,
                api,
                cell,
                compiled,
            };
            overflow = Some(thrower.describe(thrown, Phase::Executing));
        });
        if overflow.is_some() {
            self.overflow = overflow;
        }
        self.cell.note_limits();
        if self.cell.check_stop(Instant::now()) {
            return self.finish_terminal();
        }
        let state = self.realm.with(|ctx, _| {
            self.promise
                .clone()
                .and_then(|p| p.restore(&ctx).ok())
                .map(|p| p.state())
        });
        match state {
            Some(PromiseState::Pending) => {
                if self.cell.has_pending_calls() || self.realm.is_job_pending() {
                    if !self.realm.is_job_pending() {
                        self.cell.note_idle();
                    }
                    Progress::Running
                } else {
                    self.finish(Err(ScriptError::new(
                        ErrorCode::ScriptRuntimeError,
                        Phase::Executing,
                        "the script is waiting for a promise that nothing can settle (no tool call is pending)",
                    )))
                }
            }
            Some(PromiseState::Resolved) => {
                self.cell.mark_ended();
                let value = self.serialize_value();
                self.finish(value)
            }
            Some(PromiseState::Rejected) => {
                self.cell.mark_ended();
                let (cell, compiled) = (&self.cell, &self.compiled);
                let promise = self.promise.clone();
                let error = self.realm.with(|ctx, api| {
                    let promise = promise.and_then(|p| p.restore(&ctx).ok());
                    let reason = match promise.map(|p| p.result::<Value>()) {
                        Some(Some(Err(rquickjs::Error::Exception))) => ctx.catch(),
                        _ => Value::new_undefined(ctx.clone()),
                    };
                    let thrower = Thrower {
                        ctx: &ctx,
                        api: &api,
                        cell,
                        compiled,
                    };
                    thrower.describe(reason, Phase::Executing)
                });
                self.finish(Err(error))
            }
            None => self.finish(Err(internal_msg("the script's promise is gone".into()))),
        }
    }

    /// End the script because of a terminal condition, or end the grace
    /// period of its aborted calls.
    pub fn finish_terminal(&mut self) -> Progress {
        if self.cell.is_draining() {
            return self.cell.end_grace();
        }
        let error = match self.overflow.take() {
            Some(overflow) => overflow,
            None => self
                .cell
                .terminal_error()
                .unwrap_or_else(|| Terminal::Cancelled.error(self.cell.limits())),
        };
        self.finish(Err(error))
    }

    fn finish(&mut self, outcome: Result<Option<Box<RawValue>>, ScriptError>) -> Progress {
        if let Err(e) = &outcome
            && matches!(
                e.code,
                ErrorCode::ScriptStackOverflowError | ErrorCode::HarnessInternalError
            )
        {
            self.spoiled = true;
        }
        self.cell.finish(outcome)
    }

    /// The script's value as JSON, checked against `maxReturnBytes`.
    fn serialize_value(&self) -> Result<Option<Box<RawValue>>, ScriptError> {
        let (cell, compiled) = (&self.cell, &self.compiled);
        let promise = self.promise.clone();
        // The script has ended; what it returned is read with a stack
        // overflow catchable, so a value nested too deep for the stack (or
        // a runaway `toJSON`) is the result's `SerializationError`.
        let json =
            self.realm
                .with_catchable_overflow(|ctx, api| -> Result<Option<String>, ScriptError> {
                    let value: Value = promise
                        .and_then(|p| p.restore(&ctx).ok())
                        .and_then(|p| p.result::<Value>())
                        .and_then(|r| r.ok())
                        .unwrap_or_else(|| Value::new_undefined(ctx.clone()));
                    let internal = |e: rquickjs::Error| internal_msg(e.to_string());
                    let serialize: Function = api.get("serialize").map_err(internal)?;
                    match serialize.call::<_, Option<String>>((value,)) {
                        Ok(s) => Ok(s),
                        Err(e) => {
                            let thrower = Thrower {
                                ctx: &ctx,
                                api: &api,
                                cell,
                                compiled,
                            };
                            let mut err = thrower.error(e, Phase::Finalizing);
                            err.code = ErrorCode::SerializationError;
                            err.retryable = false;
                            err.phase = Phase::Finalizing;
                            err.stack = None;
                            err.line = None;
                            err.column = None;
                            Err(err)
                        }
                    }
                });
        if let Some(stopped) = self.cell.terminal_error() {
            return Err(stopped);
        }
        let Some(json) = json? else { return Ok(None) };
        let json = well_formed_json(&json).into_owned();
        let max = self.cell.limits().max_return_bytes;
        if json.len() as u64 > max {
            return Err(ScriptError::new(
                ErrorCode::ReturnValueTooLargeError,
                Phase::Finalizing,
                format!(
                    "the return value is {} bytes of JSON, over the {max} byte limit (maxReturnBytes); return a summary instead",
                    json.len(),
                ),
            ));
        }
        RawValue::from_string(json)
            .map(Some)
            .map_err(|e| internal_msg(format!("return value: {e}")))
    }
}
