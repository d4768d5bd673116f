//! The engine: a harness's sandbox workers behind one facade. Submit
//! scripts, route tool answers, cancel runs, close, read stats.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, RwLock};
use std::time::Instant;

use serde_json::{Map, Value};

use super::gate::{CallPhase, Gate};
use super::shared::{EngineShared, Isolation};
use super::watch::Watch;
use super::watchdog;
use super::worker::{Inbound, Job, WorkerHandle, spawn_worker};
use crate::compile::Language;
use crate::errors::HarnessError;
use crate::host::{CallToken, Host, ToolOutcome};
use crate::limits::HarnessLimits;
use crate::tools::{ToolRegistry, ToolSpec};

pub struct EngineConfig {
    pub tools: Vec<ToolSpec>,
    pub limits: HarnessLimits,
    /// Sandbox threads; 0 means one per CPU.
    pub workers: usize,
    /// `ContextSeed` defaults of the harness.
    pub seed: Map<String, Value>,
    pub host: Arc<dyn Host>,
    /// Whether realms serve many scripts (the default) or one each.
    pub isolation: Isolation,
}

/// A snapshot of an engine, for operators and leak checks.
#[derive(Debug, Clone, Copy, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EngineStats {
    pub workers: usize,
    /// Scripts submitted whose results have not been delivered yet.
    pub active_scripts: usize,
    pub scripts_finished: u64,
    /// Bytes held by the sandboxes' heaps, live and prepared, as of each
    /// worker's last batch.
    pub sandbox_heap_bytes: usize,
    pub worker_restarts: u64,
    /// Sandbox threads the watchdog gave up on (stuck in a built-in that
    /// does not let the interrupt stop it) and that now sleep for good,
    /// holding their memory. 0 unless QuickJS has a loop the project's
    /// patches missed; alert on anything else.
    pub threads_parked: u64,
    /// Realms built since the engine started, and scripts that ran on a
    /// realm an earlier script had used.
    pub realms_built: u64,
    pub realms_reused: u64,
}

/// Cancels one run. Cheap to clone; usable from any thread.
#[derive(Clone)]
pub struct RunHandle {
    pub run: u64,
    pub script_id: String,
    gate: Arc<Gate>,
    tx: Sender<Inbound>,
    /// The worker's watch, to interrupt the run's JS if it is running.
    watch: Arc<Watch>,
}

impl RunHandle {
    /// Cancel the run: from this moment no handler of it starts and no
    /// approval of it is asked; its sandbox thread ends it promptly.
    pub fn cancel(&self) {
        self.gate.cancel();
        let _ = self.tx.send(Inbound::Wake);
        self.interrupt_if_running();
    }

    /// A run whose JS is running sees the cancel at its next interrupt
    /// poll; this makes that poll come now (QuickJS patch 0008).
    fn interrupt_if_running(&self) {
        if self.watch.executing() == self.run {
            self.watch.request_interrupt();
        }
    }

    /// Cancel the run with the host's reason (an abort signal's, as text):
    /// its error reads "the script was cancelled: <reason>".
    pub fn cancel_because(&self, reason: String) {
        self.gate.cancel_because(reason);
        let _ = self.tx.send(Inbound::Wake);
        self.interrupt_if_running();
    }
}

/// Per-run overrides of a submission.
pub struct Submission {
    pub source: String,
    pub language: Language,
    pub limits: HarnessLimits,
    pub seed: Map<String, Value>,
    /// `Math.random`'s seed and clock readings to replay, and whether the
    /// result reports them (a run that may be suspended and resumed).
    pub determinism: crate::replay::Determinism,
    /// The id the script had when it first ran (a resumed script keeps
    /// it, so that `context.scriptId` and its call ids read the same);
    /// a fresh one when absent.
    pub script_id: Option<String>,
}

pub struct Engine {
    shared: Arc<EngineShared>,
    /// One slot per sandbox thread; the watchdog may put a fresh worker in
    /// a slot whose worker got stuck.
    workers: Arc<Vec<RwLock<WorkerHandle>>>,
    next_run: AtomicU64,
    id_prefix: String,
}

impl Engine {
    pub fn new(config: EngineConfig) -> Result<Engine, HarnessError> {
        let registry = ToolRegistry::new(config.tools)?;
        let shared = Arc::new(EngineShared::new(
            registry,
            config.host,
            config.limits,
            config.seed,
            config.isolation,
        ));
        let count = if config.workers == 0 {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        } else {
            config.workers
        };
        let mut workers = Vec::with_capacity(count);
        for index in 0..count {
            workers.push(RwLock::new(spawn_worker(index, 0, &shared)?));
        }
        let workers = Arc::new(workers);
        let (watched, slots) = (Arc::downgrade(&shared), Arc::downgrade(&workers));
        std::thread::Builder::new()
            .name("script-harness-watchdog".into())
            .spawn(move || watchdog::run(watched, slots))
            .map_err(|e| HarnessError::Thread(e.to_string()))?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos() ^ (d.as_secs() as u32))
            .unwrap_or(0);
        Ok(Engine {
            shared,
            workers,
            next_run: AtomicU64::new(1),
            id_prefix: format!("scr_{:06x}", nanos & 0xff_ffff),
        })
    }

    pub fn shared(&self) -> &Arc<EngineShared> {
        &self.shared
    }

    pub fn stats(&self) -> EngineStats {
        let sum = |f: fn(&WorkerHandle) -> &AtomicUsize| {
            self.workers
                .iter()
                .filter_map(|slot| slot.read().ok().map(|w| f(&w).load(Ordering::Relaxed)))
                .sum()
        };
        EngineStats {
            workers: self.workers.len(),
            active_scripts: sum(|w| &w.load),
            scripts_finished: self
                .shared
                .counters
                .scripts_finished
                .load(Ordering::Relaxed),
            sandbox_heap_bytes: sum(|w| &w.heap),
            worker_restarts: self.shared.counters.worker_restarts.load(Ordering::Relaxed),
            threads_parked: self.shared.threads_parked(),
            realms_built: self.shared.counters.realms_built.load(Ordering::Relaxed),
            realms_reused: self.shared.counters.realms_reused.load(Ordering::Relaxed),
        }
    }

    pub fn default_limits(&self) -> HarnessLimits {
        self.shared.limits
    }

    pub fn is_closed(&self) -> bool {
        self.shared.closing.load(Ordering::Relaxed)
    }

    /// A script id for a script that will not run (disabled, dry-run,
    /// cancelled before it started): unique, in the form of the others.
    pub fn fresh_script_id(&self) -> String {
        let n = self.next_run.fetch_add(1, Ordering::Relaxed);
        format!("{}_{n}", self.id_prefix)
    }

    /// Replace the tools: scripts submitted from now on call `tools`;
    /// scripts submitted before keep the tools they had, to their end.
    /// Idle realms built for the old tools are freed as workers next look
    /// at them. A bad definition is refused whole (nothing changes).
    pub fn set_tools(&self, tools: Vec<crate::tools::ToolSpec>) -> Result<(), HarnessError> {
        let registry = ToolRegistry::new(tools)?;
        self.shared.replace_tools(registry);
        Ok(())
    }

    pub fn submit(&self, sub: Submission) -> Result<RunHandle, HarnessError> {
        let run = self.next_run.fetch_add(1, Ordering::Relaxed);
        let gate = Arc::new(Gate::default());
        {
            // Registered under the lock `close()` cancels every gate under:
            // a run is either refused here or cancelled by close().
            let mut gates = self.shared.gates();
            if self.is_closed() {
                return Err(HarnessError::Closed);
            }
            gates.insert(run, gate.clone());
        }
        let script_id = sub
            .script_id
            .unwrap_or_else(|| format!("{}_{run}", self.id_prefix));
        let count = self.workers.len() as u64;
        let slot = self
            .workers
            .iter()
            .enumerate()
            .min_by_key(|(i, slot)| {
                // The least loaded; among the idle, one polling for work
                // (it just finished a script) over a parked one; then in turn.
                let (load, parked) = slot.read().map_or((usize::MAX, true), |w| {
                    (w.load.load(Ordering::Relaxed), !w.watch.is_polling())
                });
                (load, parked, (*i as u64 + run) % count)
            })
            .map(|(_, slot)| slot)
            .ok_or(HarnessError::Closed)?;
        let worker = slot.read().map_err(|_| HarnessError::Closed)?;
        worker.load.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut held) = worker.watch.held.lock() {
            held.push((run, script_id.clone()));
        }
        let job = Job {
            run,
            script_id: script_id.clone(),
            source: sub.source,
            language: sub.language,
            limits: sub.limits,
            seed: sub.seed,
            gate: gate.clone(),
            tools: self.shared.tools(),
            determinism: sub.determinism,
        };
        if worker.tx.send(Inbound::Start(Box::new(job))).is_err() {
            self.shared.retire(run);
            return Err(HarnessError::Closed);
        }
        Ok(RunHandle {
            run,
            script_id,
            gate,
            tx: worker.tx.clone(),
            watch: worker.watch.clone(),
        })
    }

    /// Route a tool call's outcome back to its script.
    pub fn settle(&self, token: CallToken, outcome: ToolOutcome) {
        if let Some(Ok(w)) = self.workers.get(token.worker as usize).map(RwLock::read) {
            let _ = w.tx.send(Inbound::Settle {
                script: token.script,
                call: token.call,
                outcome,
            });
        }
    }

    /// A call's approval request started (`pending`) or ended: time a
    /// suspended script spends waiting for a person does not count toward
    /// its `timeoutMs` (`approvalTimeoutMs` bounds it instead).
    pub fn approval_pending(&self, token: CallToken, pending: bool) {
        let Some(gate) = self.shared.gate(token.run) else {
            return;
        };
        gate.approval_pending(pending, Instant::now());
        // Its deadline moved: the worker parks until the nearest one.
        if let Some(Ok(w)) = self.workers.get(token.worker as usize).map(RwLock::read) {
            let _ = w.tx.send(Inbound::Wake);
        }
    }

    /// The host asks to move a call to `phase` (awaiting approval, or
    /// running) just before it asks a person or starts the handler. False
    /// once the run was cancelled, closed, ended or is past its deadline,
    /// or the call was aborted: then nothing of it may start.
    pub fn admit(&self, token: CallToken, phase: CallPhase) -> bool {
        if self.is_closed() {
            return false;
        }
        self.shared
            .gate(token.run)
            .is_some_and(|g| g.admit(token.call, phase, Instant::now()))
    }

    /// Cancel every running script and let the threads end once they have
    /// reported. Idempotent.
    pub fn close(&self) {
        {
            let gates = self.shared.gates();
            if !self.shared.closing.swap(true, Ordering::Relaxed) {
                let now = self.shared.epoch.elapsed().as_nanos().max(1) as u64;
                self.shared.closed_at.store(now, Ordering::Relaxed);
            }
            for gate in gates.values() {
                gate.cancel();
            }
        }
        for slot in self.workers.iter() {
            if let Ok(w) = slot.read() {
                let _ = w.tx.send(Inbound::Shutdown);
                w.watch.request_interrupt();
            }
        }
    }
}

#[cfg(test)]
impl Engine {
    pub(crate) fn inject(&self, worker: usize, fault: Inbound) {
        let _ = self.workers[worker].read().unwrap().tx.send(fault);
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.close();
    }
}
