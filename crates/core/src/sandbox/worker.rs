//! A sandbox worker: one OS thread that owns its QuickJS runtimes for life.
//! Work arrives by channel; results leave through the host in batches.
//! Scripts waiting for tools hold no thread: the worker interleaves every
//! script it owns and prepares the next sandbox while it would otherwise idle.

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use super::gate::Gate;
use super::outbox::Outbox;
use super::pool::EngineShared;
use super::runtime::Sandbox;
use super::script::{Progress, Start};
use super::watchdog::Watch;
use crate::compile::{CompiledScript, Language};
use crate::errors::{ErrorCode, Phase, ScriptError};
use crate::events::{EventKind, HarnessEvent, now_ms};
use crate::host::{CallToken, Outgoing, ToolOutcome};
use crate::limits::HarnessLimits;
use crate::result::ScriptResult;

/// How long an idle worker that expects a tool answer keeps polling before
/// it parks: waking a parked thread costs about 35 µs on these machines,
/// more than a fast tool's whole round trip.
const SPIN: Duration = Duration::from_micros(60);
/// How long a worker whose scripts await tools waits for an answer before it
/// spends its time preparing the next sandbox instead.
const PATIENCE: Duration = Duration::from_millis(2);

pub(crate) enum Inbound {
    Start(Box<Job>),
    Settle {
        script: u64,
        call: u32,
        outcome: ToolOutcome,
    },
    /// Look at cancel flags and deadlines now (a run was cancelled, or an
    /// approval wait moved its deadline).
    Wake,
    Shutdown,
    /// Panics on the worker's own loop, outside any script's guard: how
    /// tests reach the supervisor.
    #[cfg(test)]
    Panic,
    /// Panics inside each live script's guard.
    #[cfg(test)]
    PanicInScripts,
}

pub struct Job {
    pub run: u64,
    pub script_id: String,
    pub source: String,
    pub language: Language,
    pub limits: HarnessLimits,
    /// The `ContextSeed` fields, merged over the harness's.
    pub seed: Map<String, Value>,
    /// Its cancel flag, clock and call phases, shared with the host.
    pub gate: Arc<Gate>,
}

struct Live {
    sandbox: Sandbox,
    compiled: Arc<CompiledScript>,
    run: u64,
    /// `timeoutMs`, for the watchdog before the script's clock starts.
    timeout: Duration,
}

pub(crate) struct Worker {
    index: u32,
    shared: Arc<EngineShared>,
    rx: Receiver<Inbound>,
    live: HashMap<u64, Live>,
    spare: Option<Sandbox>,
    next_script: u64,
    outbox: Rc<Outbox>,
    load: Arc<AtomicUsize>,
    /// Bytes held by this worker's sandboxes, live and spare, as of the
    /// last flush: for `Engine::stats`.
    heap: Arc<AtomicUsize>,
    watch: Arc<Watch>,
    generation: u64,
    shutting_down: bool,
}

impl Worker {
    pub fn new(
        index: u32,
        generation: u64,
        shared: Arc<EngineShared>,
        rx: Receiver<Inbound>,
        load: Arc<AtomicUsize>,
        heap: Arc<AtomicUsize>,
        watch: Arc<Watch>,
    ) -> Worker {
        let outbox = Rc::new(Outbox::new(shared.clone(), load.clone(), watch.clone()));
        Worker {
            index,
            shared,
            rx,
            live: HashMap::new(),
            spare: None,
            // Script keys of each generation of a slot differ, so answers
            // meant for an abandoned worker's scripts match nothing here.
            next_script: generation << 32,
            outbox,
            load,
            heap,
            watch,
            generation,
            shutting_down: false,
        }
    }

    /// The thread body. A panic that escapes the per-script guards (a bug
    /// in the worker's own loop) ends the scripts this worker held with
    /// `HarnessInternalError`, and a fresh worker takes over the same inbox:
    /// nothing queued is lost and no run is left waiting.
    pub fn supervise(mut self) {
        loop {
            match catch_unwind(AssertUnwindSafe(|| self.run())) {
                Ok(()) => return,
                Err(_) => self = self.replaced(),
            }
        }
    }

    /// Report every script this worker held as failed, then give up its
    /// state: sandboxes a panic may have left half-changed are leaked, not
    /// torn down.
    fn replaced(mut self) -> Worker {
        let held: Vec<(u64, String)> = self
            .live
            .values()
            .filter_map(|l| Some((l.sandbox.cell.run_id()?, l.sandbox.cell.script_id()?)))
            .collect();
        std::mem::forget(std::mem::take(&mut self.live));
        std::mem::forget(self.spare.take());
        for (run, script_id) in held {
            self.report_failure(run, script_id, thread_replaced());
        }
        self.shared
            .counters
            .worker_restarts
            .fetch_add(1, Ordering::Relaxed);
        let _ = catch_unwind(AssertUnwindSafe(|| self.flush()));
        let Worker {
            index,
            generation,
            shared,
            rx,
            load,
            heap,
            watch,
            ..
        } = self;
        Worker::new(index, generation, shared, rx, load, heap, watch)
    }

    fn run(&mut self) {
        loop {
            if self.watch.is_abandoned() {
                return;
            }
            // Handle everything that is already here, then flush once.
            let mut handled = false;
            loop {
                match self.rx.try_recv() {
                    Ok(msg) => {
                        self.handle(msg);
                        handled = true;
                    }
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => {
                        self.shutting_down = true;
                        break;
                    }
                }
            }
            self.check_stops();
            self.flush();
            if self.shutting_down && self.live.is_empty() {
                return;
            }
            if handled {
                continue;
            }
            // An answer due soon goes first: spin briefly for it, and do
            // not start preparing a sandbox (about a millisecond of work)
            // until the wait looks long.
            let expecting = self
                .live
                .values()
                .any(|l| l.sandbox.cell.has_pending_calls());
            if expecting {
                if let Some(m) = self.poll_for(SPIN) {
                    self.handle(m);
                    continue;
                }
                if self.spare.is_none()
                    && let Some(m) = self.wait_for(Some(Instant::now() + PATIENCE))
                {
                    self.handle(m);
                    continue;
                }
            }
            if self.spare.is_none() && !self.shutting_down {
                self.spare = self.prepare().ok();
                self.publish_heap();
                continue;
            }
            // Park until a message or the nearest deadline.
            let deadline = self
                .live
                .values()
                .filter_map(|l| l.sandbox.cell.deadline())
                .min();
            if let Some(m) = self.wait_for(deadline) {
                self.handle(m);
            }
        }
    }

    /// Poll the inbox without parking, for up to `spin`.
    fn poll_for(&mut self, spin: Duration) -> Option<Inbound> {
        let until = Instant::now() + spin;
        while Instant::now() < until {
            match self.rx.try_recv() {
                Ok(m) => return Some(m),
                Err(TryRecvError::Empty) => std::hint::spin_loop(),
                Err(TryRecvError::Disconnected) => {
                    self.shutting_down = true;
                    return None;
                }
            }
        }
        None
    }

    /// Park until a message arrives or `until` passes (forever if `None`).
    fn wait_for(&mut self, until: Option<Instant>) -> Option<Inbound> {
        let got = match until {
            Some(d) => match self
                .rx
                .recv_timeout(d.saturating_duration_since(Instant::now()))
            {
                Ok(m) => return Some(m),
                Err(RecvTimeoutError::Timeout) => return None,
                Err(RecvTimeoutError::Disconnected) => None,
            },
            None => self.rx.recv().ok(),
        };
        if got.is_none() {
            self.shutting_down = true;
        }
        got
    }

    fn prepare(&self) -> Result<Sandbox, String> {
        let max_stack = self.shared.limits.max_stack_bytes as usize;
        match catch_unwind(AssertUnwindSafe(|| {
            Sandbox::prepare(&self.shared.tool_tree, max_stack)
        })) {
            Ok(Ok(s)) => Ok(s),
            Ok(Err(e)) => Err(e.0),
            Err(_) => Err("panic while preparing a sandbox".into()),
        }
    }

    fn flush(&mut self) {
        self.outbox.flush();
        self.publish_heap();
    }

    /// Bytes held by this worker's sandboxes, for `Engine::stats`.
    fn publish_heap(&self) {
        let heap: usize = self
            .live
            .values()
            .map(|l| l.sandbox.wires.used())
            .sum::<usize>()
            + self.spare.as_ref().map_or(0, |s| s.wires.used());
        self.heap.store(heap, Ordering::Relaxed);
    }

    fn handle(&mut self, msg: Inbound) {
        match msg {
            Inbound::Start(job) => self.start(*job),
            Inbound::Settle {
                script,
                call,
                outcome,
            } => {
                self.guarded(script, |live| {
                    live.sandbox.settle(call, outcome, &live.compiled)
                });
            }
            Inbound::Wake => self.check_stops(),
            Inbound::Shutdown => {
                self.shutting_down = true;
                self.check_stops();
            }
            #[cfg(test)]
            Inbound::Panic => panic!("injected worker panic"),
            #[cfg(test)]
            Inbound::PanicInScripts => {
                let keys: Vec<u64> = self.live.keys().copied().collect();
                for key in keys {
                    self.guarded(key, |_| panic!("injected script panic"));
                }
            }
        }
    }

    /// Finish every live script whose cancel flag is set or whose deadline passed.
    fn check_stops(&mut self) {
        let now = Instant::now();
        let stopped: Vec<u64> = self
            .live
            .iter()
            .filter(|(_, l)| l.sandbox.cell.check_stop(now))
            .map(|(k, _)| *k)
            .collect();
        for key in stopped {
            self.guarded(key, |live| live.sandbox.finish_terminal());
        }
    }

    /// Run `f` on a live script, containing panics: a script whose
    /// operation panicked ends with `HarnessInternalError`, and its sandbox
    /// is leaked rather than torn down in an unknown state.
    fn guarded(&mut self, key: u64, f: impl FnOnce(&mut Live) -> Progress) {
        let Some(mut live) = self.live.remove(&key) else {
            return;
        };
        live.sandbox.cell.resume_clock(Instant::now());
        let deadline = live
            .sandbox
            .cell
            .deadline()
            .unwrap_or_else(|| Instant::now() + live.timeout);
        self.watch.enter(live.run, deadline, self.shared.epoch);
        let progress = catch_unwind(AssertUnwindSafe(|| f(&mut live)));
        self.watch.leave();
        match progress {
            Ok(Progress::Running) => {
                live.sandbox.cell.suspend_clock(Instant::now());
                self.live.insert(key, live);
            }
            Ok(Progress::Finished) => drop(live),
            Err(_) => {
                let run = live.sandbox.cell.run_id();
                let script_id = live.sandbox.cell.script_id();
                std::mem::forget(live);
                if let (Some(run), Some(script_id)) = (run, script_id) {
                    self.report_failure(run, script_id, internal_panic());
                }
            }
        }
    }

    fn report_failure(&self, run: u64, script_id: String, error: ScriptError) {
        let wants_events = self.shared.host.wants_events();
        let mut out = Vec::new();
        failure_messages(run, script_id, error, wants_events, &mut out);
        self.outbox.extend(out);
    }

    fn start(&mut self, job: Job) {
        if self.shutting_down || self.shared.closing.load(Ordering::Relaxed) {
            let e = ScriptError::new(
                ErrorCode::ScriptCancelledError,
                Phase::Executing,
                "the harness was closed before the script started",
            );
            self.report_failure(job.run, job.script_id, e);
            return;
        }
        let compiled =
            match self
                .shared
                .compile_cached(&job.source, job.language, job.limits.max_source_bytes)
            {
                Ok(c) => c,
                Err(e) => {
                    if self.shared.host.wants_events() {
                        self.outbox.push(Outgoing::Event {
                            event: HarnessEvent {
                                script_id: job.script_id.clone(),
                                timestamp: now_ms(),
                                kind: EventKind::ScriptStarted {
                                    language: job.language.as_str(),
                                    script_hash: crate::compile::sha256_hex(&job.source),
                                },
                            },
                        });
                    }
                    self.report_failure(job.run, job.script_id, e);
                    return;
                }
            };
        let sandbox = match self.spare.take().map(Ok).unwrap_or_else(|| self.prepare()) {
            Ok(s) => s,
            Err(why) => {
                self.report_failure(
                    job.run,
                    job.script_id,
                    ScriptError::new(
                        ErrorCode::HarnessInternalError,
                        Phase::Executing,
                        format!("could not create a sandbox: {why}"),
                    ),
                );
                return;
            }
        };
        self.next_script += 1;
        let key = self.next_script;
        let context_json = self.shared.context_json(&job);
        let start = Start {
            shared: self.shared.clone(),
            run: job.run,
            token_base: CallToken {
                run: job.run,
                worker: self.index,
                script: key,
                call: 0,
            },
            script_id: job.script_id,
            compiled: compiled.clone(),
            limits: job.limits,
            context_json,
            gate: job.gate,
            outbox: self.outbox.clone(),
        };
        self.live.insert(
            key,
            Live {
                sandbox,
                compiled,
                run: job.run,
                timeout: Duration::from_millis(job.limits.timeout_ms),
            },
        );
        self.guarded(key, move |live| live.sandbox.begin(start));
    }
}

/// The messages that end run `run` as failed without a result of its own:
/// a `script_completed` event (when the host wants events) and the result.
pub(crate) fn failure_messages(
    run: u64,
    script_id: String,
    error: ScriptError,
    wants_events: bool,
    out: &mut Vec<Outgoing>,
) {
    if wants_events {
        out.push(Outgoing::Event {
            event: HarnessEvent {
                script_id: script_id.clone(),
                timestamp: now_ms(),
                kind: EventKind::ScriptCompleted {
                    ok: false,
                    error: Some(error.clone()),
                    duration_ms: 0.0,
                },
            },
        });
    }
    out.push(Outgoing::Done {
        run,
        result: ScriptResult::failed_before_start(script_id, error),
    });
}

fn thread_replaced() -> ScriptError {
    ScriptError::new(
        ErrorCode::HarnessInternalError,
        Phase::Executing,
        "the sandbox thread running this script failed internally and was replaced (a bug: please report it)",
    )
}

fn internal_panic() -> ScriptError {
    ScriptError::new(
        ErrorCode::HarnessInternalError,
        Phase::Executing,
        "the harness failed internally while running this script (a bug: please report it)",
    )
}
