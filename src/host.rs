//! The engine's `Host` in Node: one threadsafe function into the bridge's
//! `dispatch`, called once per batch of messages (one thread hop).

use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

use napi::threadsafe_function::ThreadsafeFunction;
use napi::threadsafe_function::ThreadsafeFunctionCallMode;
use napi::{Env, Status, sys};
use script_harness_core::errors::Phase;
use script_harness_core::{ErrorCode, Host, Outgoing, ScriptError, ScriptResult};

/// A batch as it crosses to the main thread: already JSON (serialized on
/// the sandbox thread, not the main one), with the runs it finishes.
pub struct Batch {
    pub json: String,
    pub finished: Vec<u64>,
}

/// `bridge.dispatch(batchJson)`: weak (it does not keep Node alive by
/// itself), not error-first, called with one string.
pub type DispatchFn = ThreadsafeFunction<Batch, (), String, Status, false, true>;

/// Keeps the process alive while runs are pending, and only then: the
/// dispatch function is weak, and referenced from the first pending run to
/// the last result. Touched on the main thread only.
#[derive(Default)]
pub struct KeepAlive {
    pending: AtomicUsize,
    tsfn: AtomicPtr<std::ffi::c_void>,
}

impl KeepAlive {
    pub fn set_function(&self, raw: sys::napi_threadsafe_function) {
        self.tsfn.store(raw.cast(), Ordering::Relaxed);
    }

    pub fn run_started(&self, env: &Env) {
        if self.pending.fetch_add(1, Ordering::Relaxed) == 0 {
            // SAFETY: main thread; the function lives as long as the engine's host.
            unsafe {
                sys::napi_ref_threadsafe_function(
                    env.raw(),
                    self.tsfn.load(Ordering::Relaxed).cast(),
                )
            };
        }
    }

    pub fn runs_finished(&self, env: &Env, n: usize) {
        if n > 0 && self.pending.fetch_sub(n, Ordering::Relaxed) == n {
            // SAFETY: as above.
            unsafe {
                sys::napi_unref_threadsafe_function(
                    env.raw(),
                    self.tsfn.load(Ordering::Relaxed).cast(),
                )
            };
        }
    }
}

pub struct NapiHost {
    pub dispatch: DispatchFn,
    pub events: bool,
}

impl Host for NapiHost {
    fn deliver(&self, batch: Vec<Outgoing>) {
        let finished = batch
            .iter()
            .filter_map(|m| match m {
                Outgoing::Done { run, .. } => Some(*run),
                _ => None,
            })
            .collect();
        let json = serde_json::to_string(&batch).unwrap_or_else(|_| salvage(batch));
        // `Closing` means Node is tearing down: nobody is left to tell.
        let _ = self.dispatch.call(
            Batch { json, finished },
            ThreadsafeFunctionCallMode::NonBlocking,
        );
    }

    fn wants_events(&self) -> bool {
        self.events
    }
}

/// A batch that would not serialize as a whole (a bug): keep every message
/// that does, and end the run of any result that does not with
/// `HarnessInternalError`, so no run is left waiting.
fn salvage(batch: Vec<Outgoing>) -> String {
    let parts: Vec<String> = batch
        .into_iter()
        .filter_map(|m| match serde_json::to_string(&m) {
            Ok(json) => Some(json),
            Err(_) => match m {
                Outgoing::Done { run, result } => {
                    let error = ScriptError::new(
                        ErrorCode::HarnessInternalError,
                        Phase::Finalizing,
                        "the result of this script could not be delivered (a bug: please report it)",
                    );
                    let result = ScriptResult::failed_before_start(result.script_id, error);
                    serde_json::to_string(&Outgoing::Done { run, result }).ok()
                }
                _ => None,
            },
        })
        .collect();
    format!("[{}]", parts.join(","))
}
