//! A worker's realms: built ahead of demand, lent to one script at a time,
//! and taken back only after a clean finish.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::hardened::Realm;
use crate::sandbox::shared::{EngineShared, Isolation, ToolSet};

/// Idle realms a worker keeps. A script that waits for tools keeps its
/// realm, so a burst of suspended scripts builds more; past this many
/// idle, returned realms are freed.
const MAX_IDLE: usize = 4;

pub(crate) struct RealmPool {
    /// Idle realms, each with the generation of the tool set it was built for.
    idle: Vec<(u64, Realm)>,
    /// Realms that will not serve again, freed once the worker has sent
    /// what it has (freeing a big heap takes time the host need not wait).
    retired: Vec<Realm>,
    shared: Arc<EngineShared>,
}

impl RealmPool {
    pub fn new(shared: Arc<EngineShared>) -> RealmPool {
        RealmPool {
            idle: Vec::new(),
            retired: Vec::new(),
            shared,
        }
    }

    /// A realm for the next script, whose tools are `tools`: an idle one
    /// built for them, or one built now. Idle realms of another tool set
    /// (the tools changed since they were built) are freed.
    pub fn take(&mut self, tools: &ToolSet) -> Result<Realm, String> {
        self.retire_stale(tools.generation);
        match self.idle.pop().map(|(_, realm)| realm) {
            Some(realm) => {
                if realm.served() > 0 {
                    self.shared
                        .counters
                        .realms_reused
                        .fetch_add(1, Ordering::Relaxed);
                }
                Ok(realm)
            }
            None => self.build(tools),
        }
    }

    /// Idle realms built for another tool set than `generation` will not
    /// serve again.
    fn retire_stale(&mut self, generation: u64) {
        if self.idle.iter().all(|(g, _)| *g == generation) {
            return;
        }
        let (current, stale): (Vec<_>, Vec<_>) = std::mem::take(&mut self.idle)
            .into_iter()
            .partition(|(g, _)| *g == generation);
        self.idle = current;
        self.retired
            .extend(stale.into_iter().map(|(_, realm)| realm));
    }

    /// Whether a realm should be built while the worker has nothing else
    /// to do.
    pub fn wants_one(&self) -> bool {
        let generation = self.shared.tools().generation;
        !self.idle.iter().any(|(g, _)| *g == generation)
    }

    /// Build one realm ahead of demand, for the engine's current tools.
    pub fn build_ahead(&mut self) {
        let tools = self.shared.tools();
        self.retire_stale(tools.generation);
        if let Ok(realm) = self.build(&tools) {
            self.idle.push((tools.generation, realm));
        }
    }

    /// The script a realm served finished. `clean` says it ended on its
    /// own, with nothing of it left running or waiting; only then, and
    /// only in pooled isolation, and while the engine's tools are still
    /// the set it was built for (`generation`), may the realm serve again.
    pub fn give_back(&mut self, realm: Realm, clean: bool, generation: u64) {
        if !clean
            || self.shared.isolation == Isolation::Script
            || self.idle.len() >= MAX_IDLE
            || generation != self.shared.tools().generation
        {
            self.retired.push(realm);
            return;
        }
        if let Some(realm) = realm.recycle() {
            self.idle.push((generation, realm));
        }
    }

    /// Free the realms given back that will not serve again.
    pub fn free_retired(&mut self) {
        self.retired.clear();
    }

    /// Bytes the idle realms hold.
    pub fn heap_bytes(&self) -> usize {
        self.idle.iter().map(|(_, r)| r.wires().used()).sum()
    }

    /// Give up the idle realms without tearing them down (after a panic,
    /// their state is unknown).
    pub fn forget(&mut self) {
        std::mem::forget(std::mem::take(&mut self.idle));
        std::mem::forget(std::mem::take(&mut self.retired));
    }

    fn build(&self, tools: &ToolSet) -> Result<Realm, String> {
        let max_stack = self.shared.limits.max_stack_bytes as usize;
        let built = catch_unwind(AssertUnwindSafe(|| {
            Realm::build(&tools.tool_tree, max_stack)
        }));
        match built {
            Ok(Ok(realm)) => {
                self.shared
                    .counters
                    .realms_built
                    .fetch_add(1, Ordering::Relaxed);
                Ok(realm)
            }
            Ok(Err(e)) => Err(e.0),
            Err(_) => Err("panic while building a realm".into()),
        }
    }
}
