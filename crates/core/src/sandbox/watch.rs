//! What a worker tells the watchdog, and the watchdog the worker: which
//! run's JS is executing and until when, which runs the worker holds, and
//! whether the worker was given up on; and what it tells the engine's
//! `submit`: whether it is polling its inbox.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::park::ParkState;
use super::realm::InterruptTarget;

#[derive(Default)]
pub(crate) struct Watch {
    /// Nanoseconds after the engine's epoch by which the JS now running
    /// must yield; 0 when no JS runs.
    busy_until: AtomicU64,
    /// The run whose JS is running.
    executing: AtomicU64,
    /// Runs submitted to this worker whose results are not delivered yet.
    /// Delivery happens under this lock, so a run is reported exactly once:
    /// by the worker, or by the watchdog after it set `abandoned`.
    pub held: Mutex<Vec<(u64, String)>>,
    pub abandoned: AtomicBool,
    /// Where the worker's thread may be parked, if it is ever given up on.
    pub park: Arc<ParkState>,
    /// The context of the JS now running, while it runs. Set and cleared
    /// under this lock, and poked only under it: the worker frees a realm
    /// only after `leave()`, so a context poked here is alive.
    target: Mutex<Option<InterruptTarget>>,
    /// The worker is spinning on its inbox for the next script (it just
    /// delivered a result): a script sent to it starts within a
    /// microsecond, where a parked worker takes tens to wake, on a core the
    /// spinning one may still hold. `submit` prefers it among the idle.
    polling: AtomicBool,
}

impl Watch {
    pub fn enter(&self, run: u64, deadline: Instant, epoch: Instant, target: InterruptTarget) {
        let until = deadline.saturating_duration_since(epoch).as_nanos().max(1) as u64;
        *self.target.lock().unwrap_or_else(|e| e.into_inner()) = Some(target);
        self.executing.store(run, Ordering::Relaxed);
        self.busy_until.store(until, Ordering::Release);
    }

    pub fn leave(&self) {
        self.busy_until.store(0, Ordering::Release);
        *self.target.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// Make the running JS call its interrupt handler at its next poll
    /// (QuickJS patch 0008): at its deadline, when it is cancelled or the
    /// harness closes, so that a loop of long native calls stops after
    /// the call in progress. Harmless when the JS has nothing to stop: the
    /// handler looks and lets it go on.
    pub fn request_interrupt(&self) {
        let target = self.target.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(target) = *target {
            // SAFETY: the worker clears the target under this lock before
            // the context can be freed (`leave()` comes first).
            unsafe { target.request() }
        }
    }

    /// When the JS now running must have yielded (nanoseconds after the
    /// epoch), or 0.
    pub fn busy_until(&self) -> u64 {
        self.busy_until.load(Ordering::Acquire)
    }

    pub fn executing(&self) -> u64 {
        self.executing.load(Ordering::Relaxed)
    }

    pub fn set_polling(&self, polling: bool) {
        self.polling.store(polling, Ordering::Relaxed);
    }

    pub fn is_polling(&self) -> bool {
        self.polling.load(Ordering::Relaxed)
    }

    pub fn is_abandoned(&self) -> bool {
        self.abandoned.load(Ordering::Acquire)
    }
}
