//! What a worker is asked to do.

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::compile::Language;
use crate::host::ToolOutcome;
use crate::limits::HarnessLimits;
use crate::sandbox::gate::Gate;
use crate::sandbox::shared::ToolSet;

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
    /// The tools it may call: the engine's when it was submitted.
    pub tools: Arc<ToolSet>,
    /// Its seed and clock to replay, and whether to record them.
    pub determinism: crate::replay::Determinism,
}
