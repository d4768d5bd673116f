//! A worker's realms: built ahead of demand, lent to one script at a time,
//! and taken back only after a clean finish.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::hardened::Realm;
use crate::sandbox::shared::{EngineShared, Isolation};

/// Idle realms a worker keeps. A script that waits for tools keeps its
/// realm, so a burst of suspended scripts builds more; past this many
/// idle, returned realms are freed.
const MAX_IDLE: usize = 4;

pub(crate) struct RealmPool {
    idle: Vec<Realm>,
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

    /// A realm for the next script: an idle one, or one built now.
    pub fn take(&mut self) -> Result<Realm, String> {
        match self.idle.pop() {
            Some(realm) => {
                if realm.served() > 0 {
                    self.shared
                        .counters
                        .realms_reused
                        .fetch_add(1, Ordering::Relaxed);
                }
                Ok(realm)
            }
            None => self.build(),
        }
    }

    /// Whether a realm should be built while the worker has nothing else
    /// to do.
    pub fn wants_one(&self) -> bool {
        self.idle.is_empty()
    }

    /// Build one realm ahead of demand.
    pub fn build_ahead(&mut self) {
        if let Ok(realm) = self.build() {
            self.idle.push(realm);
        }
    }

    /// The script a realm served finished. `clean` says it ended on its
    /// own, with nothing of it left running or waiting; only then, and
    /// only in pooled isolation, may the realm serve again.
    pub fn give_back(&mut self, realm: Realm, clean: bool) {
        if !clean || self.shared.isolation == Isolation::Script || self.idle.len() >= MAX_IDLE {
            self.retired.push(realm);
            return;
        }
        if let Some(realm) = realm.recycle() {
            self.idle.push(realm);
        }
    }

    /// Free the realms given back that will not serve again.
    pub fn free_retired(&mut self) {
        self.retired.clear();
    }

    /// Bytes the idle realms hold.
    pub fn heap_bytes(&self) -> usize {
        self.idle.iter().map(|r| r.wires().used()).sum()
    }

    /// Give up the idle realms without tearing them down (after a panic,
    /// their state is unknown).
    pub fn forget(&mut self) {
        std::mem::forget(std::mem::take(&mut self.idle));
        std::mem::forget(std::mem::take(&mut self.retired));
    }

    fn build(&self) -> Result<Realm, String> {
        let max_stack = self.shared.limits.max_stack_bytes as usize;
        let built = catch_unwind(AssertUnwindSafe(|| {
            Realm::build(&self.shared.tool_tree, max_stack)
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
