//! What a worker's scripts send the host, on its way out.
//!
//! Messages are batched: a `Promise.all` over four tools crosses to the
//! host's thread in one hop. A batch leaves when the worker has handled
//! what was in its inbox, and also while a script's JS is still running:
//! the interrupt handler sends whatever has waited `STALE`, so a call made
//! just before a long computation reaches the host as it is made, not when
//! the script next yields (by which time it may be past its deadline).

use std::cell::{Cell, RefCell};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::shared::EngineShared;
use super::watch::Watch;
use crate::host::Outgoing;

/// How long a message may wait in the outbox while JS runs.
const STALE: Duration = Duration::from_micros(500);

pub(crate) struct Outbox {
    items: RefCell<Vec<Outgoing>>,
    /// When the oldest waiting message was queued.
    since: Cell<Option<Instant>>,
    shared: Arc<EngineShared>,
    /// The worker's count of runs not yet reported.
    load: Arc<AtomicUsize>,
    watch: Arc<Watch>,
}

impl Outbox {
    pub fn new(shared: Arc<EngineShared>, load: Arc<AtomicUsize>, watch: Arc<Watch>) -> Outbox {
        Outbox {
            items: RefCell::new(Vec::new()),
            since: Cell::new(None),
            shared,
            load,
            watch,
        }
    }

    pub fn push(&self, m: Outgoing) {
        self.items.borrow_mut().push(m);
        if self.since.get().is_none() {
            self.since.set(Some(Instant::now()));
        }
    }

    pub fn extend(&self, ms: Vec<Outgoing>) {
        for m in ms {
            self.push(m);
        }
    }

    /// From the interrupt handler, while JS runs: send what has waited
    /// long enough.
    pub fn flush_if_stale(&self) {
        if self.since.get().is_some_and(|t| t.elapsed() >= STALE) {
            let _ = self.flush();
        }
    }

    /// Deliver everything waiting, in order. Returns how many results
    /// (`Done`) left.
    pub fn flush(&self) -> usize {
        let Ok(mut items) = self.items.try_borrow_mut() else {
            return 0;
        };
        let batch = std::mem::take(&mut *items);
        drop(items);
        self.since.set(None);
        if batch.is_empty() {
            return 0;
        }
        let finished = batch
            .iter()
            .filter(|m| matches!(m, Outgoing::Done { .. }))
            .count();
        if finished > 0 {
            self.load.fetch_sub(finished, Ordering::Relaxed);
            self.shared
                .counters
                .scripts_finished
                .fetch_add(finished as u64, Ordering::Relaxed);
        }
        // Under the `held` lock: a run is reported by this worker or, if
        // the watchdog abandoned it, by the watchdog; never by both.
        let mut held = self.watch.held.lock().unwrap_or_else(|e| e.into_inner());
        if self.watch.is_abandoned() {
            return 0;
        }
        for m in &batch {
            if let Outgoing::Done { run, .. } = m {
                held.retain(|(r, _)| r != run);
                self.shared.retire(*run);
            }
        }
        self.shared.host.deliver(batch);
        finished
    }
}
