//! A worker's thread: it owns its realms for life and interleaves every
//! script it holds. Scripts waiting for tools hold no thread; the worker
//! builds realms ahead while it would otherwise idle.

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use super::inbox::{Inbound, Job};
use crate::errors::{ErrorCode, Phase, ScriptError};
use crate::events::{EventKind, HarnessEvent, now_ms};
use crate::host::{CallToken, Outgoing};
use crate::limits::HarnessLimits;
use crate::sandbox::outbox::Outbox;
use crate::sandbox::outcome::{failure_messages, internal_panic, thread_replaced};
use crate::sandbox::realm::{RealmPool, fresh_seed};
use crate::sandbox::run::{Progress, RunStart};
use crate::sandbox::script::Script;
use crate::sandbox::shared::EngineShared;
use crate::sandbox::watch::Watch;

/// How long an idle worker that expects a tool answer keeps polling before
/// it parks: waking a parked thread costs about 35 µs on these machines,
/// more than a fast tool's whole round trip.
const SPIN: Duration = Duration::from_micros(60);
/// How long a worker that just delivered a result polls for the next
/// script before it parks: a host that runs scripts one after another
/// sends the next within tens of microseconds, and a parked thread takes
/// about as long again to wake.
const SPIN_AFTER_RESULT: Duration = Duration::from_micros(100);
/// How long a worker whose scripts await tools waits for an answer before it
/// spends its time building a realm instead.
const PATIENCE: Duration = Duration::from_millis(2);

struct Live {
    script: Script,
    run: u64,
    /// `timeoutMs`, for the watchdog before the script's clock starts.
    timeout: Duration,
    /// The tool set its realm was built for.
    generation: u64,
}

pub(crate) struct Worker {
    index: u32,
    shared: Arc<EngineShared>,
    rx: Receiver<Inbound>,
    live: HashMap<u64, Live>,
    realms: RealmPool,
    next_script: u64,
    outbox: Rc<Outbox>,
    load: Arc<AtomicUsize>,
    /// Bytes held by this worker's realms, live and idle, as of the last
    /// flush: for `Engine::stats`.
    heap: Arc<AtomicUsize>,
    watch: Arc<Watch>,
    generation: u64,
    shutting_down: bool,
    /// Results delivered since the loop last looked (a finished script's
    /// result leaves before its realm is put back).
    delivered: usize,
    /// The last job's context JSON, and what it was made from.
    last_context: Option<ContextKey>,
}

type ContextKey = ((u64, HarnessLimits), Map<String, Value>, Rc<str>);

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
            realms: RealmPool::new(shared.clone()),
            shared,
            rx,
            live: HashMap::new(),
            // Script keys of each generation of a slot differ, so answers
            // meant for an abandoned worker's scripts match nothing here.
            next_script: generation << 32,
            outbox,
            load,
            heap,
            watch,
            generation,
            shutting_down: false,
            delivered: 0,
            last_context: None,
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
    /// state: realms a panic may have left half-changed are leaked, not
    /// torn down.
    fn replaced(mut self) -> Worker {
        let held: Vec<(u64, String)> = self
            .live
            .values()
            .filter_map(|l| Some((l.script.cell.run_id()?, l.script.cell.script_id()?)))
            .collect();
        std::mem::forget(std::mem::take(&mut self.live));
        self.realms.forget();
        for (run, script_id) in held {
            self.report_failure(run, script_id, thread_replaced());
        }
        self.shared
            .counters
            .worker_restarts
            .fetch_add(1, Ordering::Relaxed);
        let _ = catch_unwind(AssertUnwindSafe(|| {
            self.flush();
        }));
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
            let delivered = self.flush() + std::mem::take(&mut self.delivered);
            if self.shutting_down && self.live.is_empty() {
                return;
            }
            if handled {
                continue;
            }
            if delivered > 0 && !self.shutting_down {
                self.watch.set_polling(true);
                let next = self.poll_for(SPIN_AFTER_RESULT);
                self.watch.set_polling(false);
                if let Some(m) = next {
                    self.handle(m);
                    continue;
                }
            }
            // An answer due soon goes first: spin briefly for it, and do
            // not start building a realm (about a millisecond of work)
            // until the wait looks long.
            let expecting = self
                .live
                .values()
                .any(|l| l.script.cell.has_pending_calls());
            let wants_realm = self.realms.wants_one() && !self.shutting_down;
            if expecting {
                if let Some(m) = self.poll_for(SPIN) {
                    self.handle(m);
                    continue;
                }
                if wants_realm && let Some(m) = self.wait_for(Some(Instant::now() + PATIENCE)) {
                    self.handle(m);
                    continue;
                }
            }
            if wants_realm {
                self.realms.build_ahead();
                self.publish_heap();
                continue;
            }
            // Park until a message or the nearest deadline.
            let deadline = self
                .live
                .values()
                .filter_map(|l| l.script.cell.deadline())
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
                // Give the core away if a thread is waiting for it: that
                // may be the Node thread this one waits for, put on the
                // same core by the scheduler (then a spin would keep the
                // answer from coming until it ran out).
                Err(TryRecvError::Empty) => std::thread::yield_now(),
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

    /// Deliver what waits; returns how many results left.
    fn flush(&mut self) -> usize {
        let delivered = self.outbox.flush();
        self.realms.free_retired();
        self.publish_heap();
        delivered
    }

    /// Bytes held by this worker's realms, for `Engine::stats`.
    fn publish_heap(&self) {
        let live: usize = self.live.values().map(|l| l.script.heap_bytes()).sum();
        self.heap
            .store(live + self.realms.heap_bytes(), Ordering::Relaxed);
    }

    fn handle(&mut self, msg: Inbound) {
        match msg {
            Inbound::Start(job) => self.start(*job),
            Inbound::Settle {
                script,
                call,
                outcome,
            } => {
                self.guarded(script, |live| live.script.settle(call, outcome));
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
            .filter(|(_, l)| l.script.cell.check_stop(now))
            .map(|(k, _)| *k)
            .collect();
        for key in stopped {
            self.guarded(key, |live| live.script.finish_terminal());
        }
    }

    /// Run `f` on a live script, containing panics: a script whose
    /// operation panicked ends with `HarnessInternalError`, and its realm
    /// is leaked rather than torn down in an unknown state. A script that
    /// finished gives its realm back to the pool.
    fn guarded(&mut self, key: u64, f: impl FnOnce(&mut Live) -> Progress) {
        let Some(mut live) = self.live.remove(&key) else {
            return;
        };
        let cell = live.script.cell.clone();
        cell.resume_clock(Instant::now());
        let deadline = cell
            .deadline()
            .unwrap_or_else(|| Instant::now() + live.timeout);
        let target = live.script.interrupt_target();
        self.watch
            .enter(live.run, deadline, self.shared.epoch, target);
        let progress = catch_unwind(AssertUnwindSafe(|| f(&mut live)));
        self.watch.leave();
        match progress {
            Ok(Progress::Running) => {
                cell.suspend_clock(Instant::now());
                self.live.insert(key, live);
            }
            Ok(Progress::Finished) => {
                // The result leaves first: freeing the script's values and
                // readying the realm for the next one are off its path.
                self.delivered += self.outbox.flush();
                let (realm, clean) = live.script.into_realm();
                self.realms.give_back(realm, clean, live.generation);
            }
            Err(_) => {
                let (run, script_id) = (cell.run_id(), cell.script_id());
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
                            run: job.run,
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
        let realm = match self.realms.take(&job.tools) {
            Ok(realm) => realm,
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
        let context_json = self.context_json(&job);
        let generation = job.tools.generation;
        let start = RunStart {
            shared: self.shared.clone(),
            run: job.run,
            token_base: CallToken {
                run: job.run,
                worker: self.index,
                script: key,
                call: 0,
            },
            script_id: job.script_id,
            compiled,
            limits: job.limits,
            gate: job.gate,
            tools: job.tools,
            outbox: self.outbox.clone(),
            seed: job.determinism.seed.unwrap_or_else(fresh_seed),
            clock: job.determinism.clock,
            record: job.determinism.record,
            report_idle: job.determinism.report_idle,
        };
        let timeout = Duration::from_millis(job.limits.timeout_ms);
        let live = Live {
            script: Script::new(realm, start),
            run: job.run,
            timeout,
            generation,
        };
        self.live.insert(key, live);
        self.guarded(key, move |live| live.script.begin(&context_json));
    }

    /// The job's `context` as JSON (but for its scriptId), made again only
    /// when the tools, limits or seed differ from the last job's.
    fn context_json(&mut self, job: &Job) -> Rc<str> {
        let key = (job.tools.generation, job.limits);
        if let Some((k, seed, json)) = &self.last_context
            && *k == key
            && *seed == job.seed
        {
            return json.clone();
        }
        let json: Rc<str> = self
            .shared
            .context_json(&job.tools, &job.limits, &job.seed)
            .into();
        self.last_context = Some((key, job.seed.clone(), json.clone()));
        json
    }
}
