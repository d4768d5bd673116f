//! The engine's `Host` in Node: one threadsafe function into the bridge's
//! `dispatch`, called once per batch of messages (one thread hop).

use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};

use std::sync::Arc;

use napi::threadsafe_function::ThreadsafeFunction;
use napi::threadsafe_function::ThreadsafeFunctionCallMode;
use napi::{Env, Status, sys};
use script_harness_core::errors::Phase;
use script_harness_core::{ErrorCode, Host, Outgoing, ScriptError, ScriptResult};

use crate::hold::Hold;

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
        crate::hold::run_started();
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
        crate::hold::runs_finished(n);
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
    /// Told of every batch handed to Node, so a Node thread holding for one
    /// returns as soon as it is queued.
    pub hold: Arc<Hold>,
    /// Whether anyone listens to events: the harness's `onEvent`, or a run's
    /// (set once the first run with an `onEvent` starts, and kept).
    pub events: Arc<AtomicBool>,
}

/// A batch is cut into calls of at most this many bytes of JSON, so no
/// string handed to V8 nears its longest (2^29 - 24 units).
const CHUNK_BYTES: usize = 32 * 1024 * 1024;
/// No single message can be this long under the limits' ceilings; one that
/// is (a bug) is replaced rather than handed to V8.
const MAX_MESSAGE_BYTES: usize = 400 * 1024 * 1024;

impl Host for NapiHost {
    fn deliver(&self, batch: Vec<Outgoing>) {
        let mut chunk = String::from("[");
        let mut finished = Vec::new();
        for m in batch {
            let ends = match &m {
                Outgoing::Done { run, .. } => Some(*run),
                _ => None,
            };
            let json = match serde_json::to_string(&m) {
                Ok(json) if json.len() <= MAX_MESSAGE_BYTES => json,
                _ => match undeliverable(m) {
                    Some(json) => json,
                    None => continue,
                },
            };
            if chunk.len() > 1 && chunk.len() + json.len() > CHUNK_BYTES {
                self.send(
                    std::mem::replace(&mut chunk, String::from("[")),
                    &mut finished,
                );
            }
            if chunk.len() > 1 {
                chunk.push(',');
            }
            chunk.push_str(&json);
            finished.extend(ends);
        }
        if chunk.len() > 1 {
            self.send(chunk, &mut finished);
        }
    }

    fn wants_events(&self) -> bool {
        self.events.load(Ordering::Relaxed)
    }
}

impl NapiHost {
    fn send(&self, mut chunk: String, finished: &mut Vec<u64>) {
        chunk.push(']');
        // Counted on both sides of the queueing: see `Hold`.
        self.hold.batch_begun();
        // `Closing` means Node is tearing down: nobody is left to tell.
        let _ = self.dispatch.call(
            Batch {
                json: chunk,
                finished: std::mem::take(finished),
            },
            ThreadsafeFunctionCallMode::NonBlocking,
        );
        self.hold.batch_sent();
    }
}

/// A message that would not serialize, or would be too long for V8 (a
/// bug): a result is replaced by `HarnessInternalError`, so no run is left
/// waiting; anything else is dropped.
fn undeliverable(m: Outgoing) -> Option<String> {
    let Outgoing::Done { run, result } = m else {
        return None;
    };
    let error = ScriptError::new(
        ErrorCode::HarnessInternalError,
        Phase::Finalizing,
        "the result of this script could not be delivered (a bug: please report it)",
    );
    let result = ScriptResult::failed_before_start(result.script_id, error);
    serde_json::to_string(&Outgoing::Done { run, result }).ok()
}
