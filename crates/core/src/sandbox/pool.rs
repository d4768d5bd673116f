//! The engine: a harness's pool of sandbox workers and what they share.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Sender, channel};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use serde_json::{Map, Value};

use super::gate::{CallPhase, Gate};
use super::watchdog::{self, Watch};
use super::worker::{Inbound, Job, Worker};
use crate::compile::{CompiledScript, Language, compile, sha256_hex};
use crate::errors::{HarnessError, ScriptError};
use crate::host::{CallToken, Host, ToolOutcome};
use crate::limits::HarnessLimits;
use crate::tools::{ToolRegistry, ToolSpec};

/// Stack of each sandbox thread. Far above `MAX_STACK_BYTES_CEILING` so the
/// JS stack limit, not the thread, is what a deep script hits first; it is
/// address space, only touched pages cost memory.
pub const THREAD_STACK_BYTES: usize = 16 * 1024 * 1024;
/// Compiled scripts kept per harness.
const COMPILE_CACHE_ENTRIES: usize = 256;

pub struct EngineConfig {
    pub tools: Vec<ToolSpec>,
    pub limits: HarnessLimits,
    /// Sandbox threads; 0 means one per CPU.
    pub workers: usize,
    /// `ContextSeed` defaults of the harness.
    pub seed: Map<String, Value>,
    pub host: Arc<dyn Host>,
}

/// What every worker of one engine reads.
pub struct EngineShared {
    pub registry: ToolRegistry,
    pub host: Arc<dyn Host>,
    pub limits: HarnessLimits,
    pub seed: Map<String, Value>,
    /// JSON tree of namespaces → tool indexes, for the prelude.
    pub tool_tree: String,
    pub closing: AtomicBool,
    /// Nanoseconds after `epoch` when `close()` was called; 0 before.
    pub closed_at: AtomicU64,
    pub epoch: Instant,
    pub counters: Counters,
    cache: Mutex<HashMap<String, Arc<CompiledScript>>>,
    /// The gate of every run submitted and not yet reported, by run.
    gates: Mutex<HashMap<u64, Arc<Gate>>>,
}

/// Totals since the engine started.
#[derive(Default)]
pub struct Counters {
    pub scripts_finished: AtomicU64,
    /// Sandbox threads replaced: after a panic, or abandoned by the
    /// watchdog while stuck in a built-in.
    pub worker_restarts: AtomicU64,
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
}

impl EngineShared {
    fn gates(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Gate>>> {
        self.gates.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn gate(&self, run: u64) -> Option<Arc<Gate>> {
        self.gates().get(&run).cloned()
    }

    /// Run `run` was reported: its gate admits nothing more.
    pub(crate) fn retire(&self, run: u64) {
        if let Some(gate) = self.gates().remove(&run) {
            gate.stop();
        }
    }

    pub(crate) fn compile_cached(
        &self,
        source: &str,
        language: Language,
        max_source_bytes: u64,
    ) -> Result<Arc<CompiledScript>, ScriptError> {
        let key = sha256_hex(source);
        if let Some(hit) = self.cache.lock().ok().and_then(|c| c.get(&key).cloned())
            && hit.language == language
            && (hit.wrapped.len() as u64) <= max_source_bytes + 64
        {
            return Ok(hit);
        }
        let compiled = Arc::new(compile(source, language, max_source_bytes)?);
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() >= COMPILE_CACHE_ENTRIES {
                cache.clear();
            }
            cache.insert(key, compiled.clone());
        }
        Ok(compiled)
    }

    /// The script's `context` object, as JSON.
    pub(crate) fn context_json(&self, job: &Job) -> String {
        let mut ctx = self.seed.clone();
        for (k, v) in &job.seed {
            ctx.insert(k.clone(), v.clone());
        }
        ctx.insert("scriptId".into(), Value::String(job.script_id.clone()));
        ctx.insert("mode".into(), Value::String("enabled".into()));
        ctx.insert(
            "limits".into(),
            serde_json::to_value(job.limits).unwrap_or(Value::Null),
        );
        ctx.insert(
            "tools".into(),
            Value::Array(
                self.registry
                    .names()
                    .map(|n| Value::String(n.into()))
                    .collect(),
            ),
        );
        Value::Object(ctx).to_string()
    }
}

fn tool_tree(registry: &ToolRegistry) -> String {
    let mut root = Map::new();
    for (i, name) in registry.names().enumerate() {
        let mut node = &mut root;
        let segments: Vec<&str> = name.split('.').collect();
        for seg in &segments[..segments.len() - 1] {
            node = node
                .entry(seg.to_string())
                .or_insert_with(|| Value::Object(Map::new()))
                .as_object_mut()
                .expect("registry refuses a name that is both tool and namespace");
        }
        // A leaf is the tool's index; `[index, 1]` for a tool that may need
        // approval, whose calls report their line to the person asked.
        let needs_approval = registry
            .get(i)
            .is_some_and(|t| t.approval != crate::tools::ApprovalRule::Never);
        let leaf = if needs_approval {
            Value::from(vec![i, 1])
        } else {
            Value::from(i)
        };
        node.insert(segments[segments.len() - 1].to_string(), leaf);
    }
    Value::Object(root).to_string()
}

pub(crate) struct WorkerHandle {
    tx: Sender<Inbound>,
    load: Arc<AtomicUsize>,
    heap: Arc<AtomicUsize>,
    pub watch: Arc<Watch>,
    /// How many workers held this slot before this one.
    pub generation: u64,
}

/// Start the worker of slot `index`.
pub(crate) fn spawn_worker(
    index: usize,
    generation: u64,
    shared: &Arc<EngineShared>,
) -> Result<WorkerHandle, HarnessError> {
    let (tx, rx) = channel();
    let handle = WorkerHandle {
        tx,
        load: Arc::new(AtomicUsize::new(0)),
        heap: Arc::new(AtomicUsize::new(0)),
        watch: Arc::new(Watch::default()),
        generation,
    };
    let worker = (
        shared.clone(),
        handle.load.clone(),
        handle.heap.clone(),
        handle.watch.clone(),
    );
    std::thread::Builder::new()
        .name(format!("script-harness-{index}"))
        .stack_size(THREAD_STACK_BYTES)
        .spawn(move || {
            let (shared, load, heap, watch) = worker;
            Worker::new(index as u32, generation, shared, rx, load, heap, watch).supervise()
        })
        .map_err(|e| HarnessError::Thread(e.to_string()))?;
    Ok(handle)
}

/// Cancels one run. Cheap to clone; usable from any thread.
#[derive(Clone)]
pub struct RunHandle {
    pub run: u64,
    pub script_id: String,
    gate: Arc<Gate>,
    tx: Sender<Inbound>,
}

impl RunHandle {
    /// Cancel the run: from this moment no handler of it starts and no
    /// approval of it is asked; its sandbox thread ends it promptly.
    pub fn cancel(&self) {
        self.gate.cancel();
        let _ = self.tx.send(Inbound::Wake);
    }
}

/// Per-run overrides of a submission.
pub struct Submission {
    pub source: String,
    pub language: Language,
    pub limits: HarnessLimits,
    pub seed: Map<String, Value>,
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
        let tool_tree = tool_tree(&registry);
        let shared = Arc::new(EngineShared {
            registry,
            host: config.host,
            limits: config.limits,
            seed: config.seed,
            tool_tree,
            closing: AtomicBool::new(false),
            closed_at: AtomicU64::new(0),
            epoch: Instant::now(),
            counters: Counters::default(),
            cache: Mutex::new(HashMap::new()),
            gates: Mutex::new(HashMap::new()),
        });
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
        let script_id = format!("{}_{run}", self.id_prefix);
        let count = self.workers.len() as u64;
        let slot = self
            .workers
            .iter()
            .enumerate()
            .min_by_key(|(i, slot)| {
                let load = slot
                    .read()
                    .map_or(usize::MAX, |w| w.load.load(Ordering::Relaxed));
                (load, (*i as u64 + run) % count)
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

#[cfg(test)]
mod tests {
    use std::sync::mpsc::{Receiver, channel};
    use std::time::Duration;

    use super::*;
    use crate::errors::ErrorCode;
    use crate::host::Outgoing;
    use crate::result::ScriptResult;
    use crate::tools::ApprovalRule;

    struct ChannelHost(Mutex<Sender<Vec<Outgoing>>>);

    impl Host for ChannelHost {
        fn deliver(&self, batch: Vec<Outgoing>) {
            let _ = self.0.lock().unwrap().send(batch);
        }
    }

    fn engine() -> (Engine, Receiver<Vec<Outgoing>>) {
        let (tx, rx) = channel();
        let engine = Engine::new(EngineConfig {
            tools: vec![ToolSpec {
                name: "wait".into(),
                description: None,
                parameters: None,
                approval: ApprovalRule::Never,
            }],
            limits: HarnessLimits::default(),
            workers: 1,
            seed: Map::new(),
            host: Arc::new(ChannelHost(Mutex::new(tx))),
        })
        .unwrap();
        (engine, rx)
    }

    fn submit(engine: &Engine, source: &str) -> u64 {
        submit_with(engine, source, engine.default_limits())
    }

    fn submit_with(engine: &Engine, source: &str, limits: HarnessLimits) -> u64 {
        let sub = Submission {
            source: source.into(),
            language: Language::Ts,
            limits,
            seed: Map::new(),
        };
        engine.submit(sub).unwrap().run
    }

    /// Waits for `run` to finish, noting the tool calls that started.
    fn done(rx: &Receiver<Vec<Outgoing>>, run: u64, calls: &mut usize) -> ScriptResult {
        loop {
            let batch = rx
                .recv_timeout(Duration::from_secs(10))
                .expect("a result in time");
            for m in batch {
                match m {
                    Outgoing::Done { run: r, result } if r == run => return result,
                    Outgoing::Call { .. } => *calls += 1,
                    _ => {}
                }
            }
        }
    }

    /// Starts a script that waits in a tool call, injects `fault`, and
    /// returns the error the script ended with.
    fn fail_held_script(engine: &Engine, rx: &Receiver<Vec<Outgoing>>, fault: Inbound) -> String {
        let stuck = submit(engine, "await tools.wait({}); return 1");
        let mut calls = 0;
        while calls == 0 {
            for m in rx.recv_timeout(Duration::from_secs(10)).unwrap() {
                calls += matches!(m, Outgoing::Call { .. }) as usize;
            }
        }
        engine.inject(0, fault);
        let r = done(rx, stuck, &mut calls);
        let e = r.error.expect("the held script fails");
        assert_eq!(e.code, ErrorCode::HarnessInternalError);
        e.message
    }

    #[test]
    fn a_panic_inside_a_script_operation_fails_that_script_only() {
        let (engine, rx) = engine();
        let message = fail_held_script(&engine, &rx, Inbound::PanicInScripts);
        assert!(message.contains("failed internally"), "{message}");
        let next = submit(&engine, "return 'still here'");
        let r = done(&rx, next, &mut 0);
        assert_eq!(r.value.unwrap().get(), "\"still here\"");
    }

    #[test]
    fn a_worker_whose_loop_panics_fails_its_scripts_and_is_replaced() {
        let (engine, rx) = engine();
        let message = fail_held_script(&engine, &rx, Inbound::Panic);
        assert!(message.contains("replaced"), "{message}");
        assert_eq!(engine.stats().worker_restarts, 1);
        let mut calls = 0;
        // The same worker slot takes new work, with a fresh state.
        let next = submit(&engine, "return 40 + 2");
        let r = done(&rx, next, &mut calls);
        assert!(r.ok, "{:?}", r.error);
        assert_eq!(r.value.unwrap().get(), "42");
    }

    #[test]
    fn time_waiting_for_an_approval_does_not_count_but_running_does() {
        let (engine, rx) = engine();
        let limits = HarnessLimits {
            timeout_ms: 150,
            ..engine.default_limits()
        };
        let start = |source: &str| submit_with(&engine, source, limits);
        let mut calls = Vec::new();
        let mut next_call = || loop {
            if !calls.is_empty() {
                return calls.remove(0);
            }
            for m in rx.recv_timeout(Duration::from_secs(10)).unwrap() {
                if let Outgoing::Call { token, .. } = m {
                    calls.push(token);
                }
            }
        };
        // Suspended on a call whose approval takes twice the time limit.
        let run = start("return await tools.wait({})");
        let token = next_call();
        engine.approval_pending(token, true);
        std::thread::sleep(Duration::from_millis(300));
        engine.approval_pending(token, false);
        engine.settle(token, ToolOutcome::Ok(Some("7".into())));
        let r = done(&rx, run, &mut 0);
        assert!(r.ok, "{:?}", r.error);
        // A script that runs while an approval of it is pending still
        // times out.
        let run = start("tools.wait({}); await tools.wait({}); while (true) {}");
        let (asked, other) = (next_call(), next_call());
        engine.approval_pending(asked, true);
        engine.settle(other, ToolOutcome::Ok(None));
        let r = done(&rx, run, &mut 0);
        assert_eq!(r.error.unwrap().code, ErrorCode::ScriptTimeoutError);
    }

    #[test]
    fn a_script_stuck_in_a_native_loop_is_abandoned_after_its_deadline() {
        let (engine, rx) = engine();
        let limits = HarnessLimits {
            timeout_ms: 100,
            ..engine.default_limits()
        };
        let start = |source: &str| submit_with(&engine, source, limits);
        // A neighbour on the same (only) worker, waiting for a tool.
        let neighbour = start("await tools.wait({}); return 1");
        let stuck = start("return Array.prototype.reverse.call({ length: 2 ** 40 }).length");
        let queued = start("return 'queued'");
        let began = std::time::Instant::now();
        let mut results = HashMap::new();
        while results.len() < 3 {
            for m in rx
                .recv_timeout(Duration::from_secs(10))
                .expect("results in time")
            {
                if let Outgoing::Done { run, result } = m {
                    results.insert(run, result);
                }
            }
        }
        assert!(
            began.elapsed() < Duration::from_secs(2),
            "{:?}",
            began.elapsed()
        );
        let code = |run: u64| results[&run].error.as_ref().map(|e| e.code);
        assert_eq!(code(stuck), Some(ErrorCode::ScriptTimeoutError));
        assert_eq!(code(neighbour), Some(ErrorCode::HarnessInternalError));
        // Queued behind the stuck script: reported, or run by nobody twice.
        assert!(matches!(
            code(queued),
            Some(ErrorCode::HarnessInternalError) | None
        ));
        assert_eq!(engine.stats().worker_restarts, 1);
        // A fresh worker holds the slot.
        let next = submit(&engine, "return 40 + 2");
        let r = done(&rx, next, &mut 0);
        assert_eq!(r.value.unwrap().get(), "42");
    }
}
