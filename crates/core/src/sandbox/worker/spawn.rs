//! Starting the worker of one slot, and the handle the engine keeps.

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::sync::mpsc::{Sender, channel};

use super::inbox::Inbound;
use super::thread::Worker;
use crate::errors::HarnessError;
use crate::sandbox::park;
use crate::sandbox::shared::EngineShared;
use crate::sandbox::watch::Watch;

/// Stack of each sandbox thread. Far above `MAX_STACK_BYTES_CEILING` so the
/// JS stack limit, not the thread, is what a deep script hits first; it is
/// address space, only touched pages cost memory.
pub const THREAD_STACK_BYTES: usize = 16 * 1024 * 1024;

pub(crate) struct WorkerHandle {
    pub tx: Sender<Inbound>,
    /// Runs submitted to this worker and not yet reported.
    pub load: Arc<AtomicUsize>,
    /// Bytes held by the worker's realms, as of its last batch.
    pub heap: Arc<AtomicUsize>,
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
            let _parkable = park::register(watch.park.clone());
            Worker::new(index as u32, generation, shared, rx, load, heap, watch).supervise()
        })
        .map_err(|e| HarnessError::Thread(e.to_string()))?;
    Ok(handle)
}
