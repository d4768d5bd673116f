//! The watchdog: the last resort for a script stuck in native code.
//!
//! QuickJS polls its interrupt handler between bytecodes and, with the
//! project's patch 0003, inside the loops of the built-ins that had none
//! (`Array.prototype.reverse.call({ length: 2 ** 53 - 1 })`, a quadratic
//! `String#indexOf`, ...). Should a loop still escape it, the script cannot
//! be stopped and a thread cannot be killed. So when a worker has run one
//! script's JS past that script's deadline (or past `close()`) by `GRACE`,
//! the watchdog abandons the worker: its runs are reported at once, a fresh
//! worker takes its slot, and the stuck thread, marked abandoned, delivers
//! nothing more and is parked for good ([`park`]): it uses no CPU and keeps
//! its memory (`stats().threadsParked`).

use std::sync::atomic::Ordering;
use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;

use super::outcome::failure_messages;
use super::park;
use super::shared::EngineShared;
use super::worker::{WorkerHandle, spawn_worker};
use crate::errors::{ErrorCode, Phase, ScriptError};
use crate::host::Outgoing;

/// How far past its deadline a script's JS may run before its worker is
/// abandoned. The interrupt handler normally stops it within a
/// millisecond; this only catches native loops.
pub const GRACE: Duration = Duration::from_millis(250);
const TICK: Duration = Duration::from_millis(25);
/// How often JS past its deadline (or running while the harness closes) is
/// asked again to call its interrupt handler: the first request can be
/// undone by a racing decrement of QuickJS's poll counter.
const NUDGE: Duration = Duration::from_millis(2);

/// Runs until the engine is gone. Each worker's JS is asked to call its
/// interrupt handler at its deadline (QuickJS patch 0008: a loop of long
/// native calls then stops after the call in progress, whatever the call),
/// and abandoned `GRACE` later if it still has not yielded. Sleeps until
/// the nearest deadline, at most `TICK`.
pub(crate) fn run(shared: Weak<EngineShared>, slots: Weak<Vec<RwLock<WorkerHandle>>>) {
    let mut sleep = TICK;
    loop {
        std::thread::sleep(sleep);
        let (Some(shared), Some(slots)) = (shared.upgrade(), slots.upgrade()) else {
            return;
        };
        let now = shared.epoch.elapsed().as_nanos() as u64;
        let closed_at = shared.closed_at.load(Ordering::Relaxed);
        let grace = GRACE.as_nanos() as u64;
        sleep = TICK;
        for (index, slot) in slots.iter().enumerate() {
            let stuck = {
                let Ok(handle) = slot.read() else { continue };
                let until = handle.watch.busy_until();
                if until != 0 && (now >= until || closed_at != 0) {
                    handle.watch.request_interrupt();
                    sleep = NUDGE;
                } else if until != 0 {
                    sleep = sleep.min(Duration::from_nanos(until - now));
                }
                let late = until != 0 && now > until.saturating_add(grace);
                let closing = until != 0 && closed_at != 0 && now > closed_at + grace;
                late || closing
            };
            if stuck {
                abandon(&shared, slot, index);
            }
        }
        sleep = sleep.max(Duration::from_micros(500));
        if shared.closing.load(Ordering::Relaxed) && slots.iter().all(idle) {
            return;
        }
    }
}

fn idle(slot: &RwLock<WorkerHandle>) -> bool {
    slot.read()
        .map(|h| {
            h.watch
                .held
                .lock()
                .map(|held| held.is_empty())
                .unwrap_or(true)
        })
        .unwrap_or(true)
}

fn abandon(shared: &Arc<EngineShared>, slot: &RwLock<WorkerHandle>, index: usize) {
    let Ok(mut handle) = slot.write() else { return };
    let Ok(fresh) = spawn_worker(index, handle.generation + 1, shared) else {
        return;
    };
    let old = std::mem::replace(&mut *handle, fresh);
    drop(handle);
    let held = {
        let mut held = old.watch.held.lock().unwrap_or_else(|e| e.into_inner());
        old.watch.abandoned.store(true, Ordering::Release);
        std::mem::take(&mut *held)
    };
    shared
        .counters
        .worker_restarts
        .fetch_add(1, Ordering::Relaxed);
    let executing = old.watch.executing();
    let closing = shared.closing.load(Ordering::Relaxed);
    let mut batch = Vec::new();
    for (run, script_id) in held {
        shared.retire(run);
        let error = if run != executing {
            ScriptError::new(
                ErrorCode::HarnessInternalError,
                Phase::Executing,
                "the sandbox thread of this script was replaced because another script on it was stuck in a built-in that cannot be interrupted; run it again",
            )
        } else if closing {
            ScriptError::new(
                ErrorCode::ScriptCancelledError,
                Phase::Executing,
                "the script was cancelled while stuck in a built-in that cannot be interrupted",
            )
        } else {
            ScriptError::new(
                ErrorCode::ScriptTimeoutError,
                Phase::Executing,
                "the script ran past its time limit inside a built-in that cannot be interrupted (a huge array-like, or a quadratic string search)",
            )
        };
        failure_messages(
            run,
            script_id,
            error,
            shared.host.wants_events(),
            &mut batch,
        );
    }
    // The stuck thread sleeps for good at its next call into the harness:
    // it burns no core. Were its built-in to return first, it sees
    // `abandoned` (or its inbox closed, as the sender goes with `old`) and
    // ends.
    if park::request(&old.watch.park) {
        shared.given_up(old.watch.park.clone());
    }
    drop(old);
    let reported = batch
        .iter()
        .filter(|m| matches!(m, Outgoing::Done { .. }))
        .count();
    shared
        .counters
        .scripts_finished
        .fetch_add(reported as u64, Ordering::Relaxed);
    if !batch.is_empty() {
        shared.host.deliver(batch);
    }
}
