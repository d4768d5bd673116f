//! What every worker of one engine shares and reads: the tool set, the
//! host, the default limits and context seed, the compile cache, the gates
//! of live runs and the counters.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Instant;

use serde_json::{Map, Value};

use super::gate::Gate;
use super::park::ParkState;
use crate::compile::{CompiledScript, Language, compile, sha256_hex};
use crate::errors::ScriptError;
use crate::host::Host;
use crate::limits::HarnessLimits;
use crate::tools::{ApprovalRule, ToolRegistry};

/// Compiled scripts kept per harness.
const COMPILE_CACHE_ENTRIES: usize = 256;

/// How scripts share realms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Isolation {
    /// A hardened realm serves many scripts, one at a time, and is reused
    /// only after a clean finish (the default).
    #[default]
    Pooled,
    /// Every script gets a realm of its own, freed when it ends.
    Script,
}

/// The tools scripts may call, as of the engine's start or one
/// `Engine::set_tools`. A script keeps the set it was submitted with to its
/// end; a realm serves only scripts of the set it was built for (its
/// `tools` object is built from the set's tree).
pub struct ToolSet {
    pub registry: ToolRegistry,
    /// JSON tree of namespaces → tool indexes, for the prelude.
    pub tool_tree: String,
    /// 0 at the start, one more with each change.
    pub generation: u64,
}

impl ToolSet {
    pub(crate) fn new(registry: ToolRegistry, generation: u64) -> ToolSet {
        ToolSet {
            tool_tree: tool_tree(&registry),
            registry,
            generation,
        }
    }
}

/// What every worker of one engine reads.
pub struct EngineShared {
    tools: RwLock<Arc<ToolSet>>,
    pub host: Arc<dyn Host>,
    pub limits: HarnessLimits,
    pub seed: Map<String, Value>,
    pub isolation: Isolation,
    pub closing: AtomicBool,
    /// Nanoseconds after `epoch` when `close()` was called; 0 before.
    pub closed_at: AtomicU64,
    pub epoch: Instant,
    pub counters: Counters,
    cache: Mutex<HashMap<String, Arc<CompiledScript>>>,
    /// The gate of every run submitted and not yet reported, by run.
    gates: Mutex<HashMap<u64, Arc<Gate>>>,
    /// The threads the watchdog gave up on and asked to park.
    given_up: Mutex<Vec<Arc<ParkState>>>,
}

/// Totals since the engine started.
#[derive(Default)]
pub struct Counters {
    pub scripts_finished: AtomicU64,
    /// Sandbox threads replaced: after a panic, or abandoned by the
    /// watchdog while stuck in a built-in.
    pub worker_restarts: AtomicU64,
    /// Realms built, and scripts that ran on a realm an earlier script used.
    pub realms_built: AtomicU64,
    pub realms_reused: AtomicU64,
}

impl EngineShared {
    pub(crate) fn new(
        registry: ToolRegistry,
        host: Arc<dyn Host>,
        limits: HarnessLimits,
        seed: Map<String, Value>,
        isolation: Isolation,
    ) -> EngineShared {
        EngineShared {
            tools: RwLock::new(Arc::new(ToolSet::new(registry, 0))),
            host,
            limits,
            seed,
            isolation,
            closing: AtomicBool::new(false),
            closed_at: AtomicU64::new(0),
            epoch: Instant::now(),
            counters: Counters::default(),
            cache: Mutex::new(HashMap::new()),
            gates: Mutex::new(HashMap::new()),
            given_up: Mutex::new(Vec::new()),
        }
    }

    /// The tools new scripts get.
    pub fn tools(&self) -> Arc<ToolSet> {
        self.tools.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Scripts submitted from now on get `registry`'s tools.
    pub(crate) fn replace_tools(&self, registry: ToolRegistry) {
        let mut tools = self.tools.write().unwrap_or_else(|e| e.into_inner());
        let generation = tools.generation + 1;
        *tools = Arc::new(ToolSet::new(registry, generation));
    }

    /// A thread the watchdog gave up on, asked to park.
    pub(crate) fn given_up(&self, park: Arc<ParkState>) {
        self.given_up
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(park);
    }

    /// Threads given up on that are parked now.
    pub(crate) fn threads_parked(&self) -> u64 {
        let given_up = self.given_up.lock().unwrap_or_else(|e| e.into_inner());
        given_up.iter().filter(|p| p.is_parked()).count() as u64
    }

    pub(crate) fn gates(&self) -> MutexGuard<'_, HashMap<u64, Arc<Gate>>> {
        self.gates.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn gate(&self, run: u64) -> Option<Arc<Gate>> {
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
            && hit.source_bytes <= max_source_bytes
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

    /// A script's `context` object, as JSON, with `scriptId: null` in its
    /// place: the prelude fills in each script's own. Scripts of one tool
    /// set, limits and seed share this text, so a realm parses and freezes
    /// it once for all of them.
    pub(crate) fn context_json(
        &self,
        tools: &ToolSet,
        limits: &HarnessLimits,
        seed: &Map<String, Value>,
    ) -> String {
        let mut ctx = self.seed.clone();
        for (k, v) in seed {
            ctx.insert(k.clone(), v.clone());
        }
        ctx.insert("scriptId".into(), Value::Null);
        ctx.insert("mode".into(), Value::String("enabled".into()));
        ctx.insert(
            "limits".into(),
            serde_json::to_value(limits).unwrap_or(Value::Null),
        );
        ctx.insert(
            "tools".into(),
            Value::Array(
                tools
                    .registry
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
            .is_some_and(|t| t.approval != ApprovalRule::Never);
        let leaf = if needs_approval {
            Value::from(vec![i, 1])
        } else {
            Value::from(i)
        };
        node.insert(segments[segments.len() - 1].to_string(), leaf);
    }
    Value::Object(root).to_string()
}
