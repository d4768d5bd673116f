//! The sandbox heap: a counting allocator that enforces `memoryMb` itself
//! and keeps the tripwire that makes the memory limit terminal.
//!
//! QuickJS's "out of memory" error is catchable and leaves no trace a script
//! cannot erase. Counting here gives the harness its own record: once an
//! allocation is refused, `Tripwires::memory` stays set and the interrupt
//! handler ends the script at its next poll. (QuickJS-ng serves small
//! objects from arenas it gets here in large blocks, so this sees blocks,
//! not every object: fine for a byte budget, useless for anything else.)

use std::cell::Cell;
use std::ptr::NonNull;
use std::rc::Rc;

use rquickjs::allocator::Allocator;

use super::park;
use rquickjs::qjs;

/// Facts about one sandbox's resource use, shared by its allocator, its
/// interrupt handler and the worker.
#[derive(Debug, Default)]
pub struct Tripwires {
    used: Cell<usize>,
    limit: Cell<usize>,
    peak: Cell<usize>,
    /// Bytes an earlier script of a reused realm left for the collector:
    /// neither counted against this script's budget nor reported as its use.
    leftover: Cell<usize>,
    memory: Cell<bool>,
    /// The runtime this allocator serves, once it exists.
    runtime: Cell<Option<NonNull<qjs::JSRuntime>>>,
}

impl Tripwires {
    pub fn set_memory_limit(&self, bytes: usize) {
        self.limit.set(bytes);
    }

    pub fn memory_tripped(&self) -> bool {
        self.memory.get()
    }

    /// Bytes the sandbox's heap holds now.
    pub fn used(&self) -> usize {
        self.used.get()
    }

    /// The most the heap held during this script, as a fresh realm would
    /// have held it.
    pub fn peak(&self) -> usize {
        self.peak.get().saturating_sub(self.leftover.get())
    }

    /// Forget the tripwire and peak of a previous phase (the prelude).
    pub fn reset_run(&self) {
        self.memory.set(false);
        self.leftover.set(0);
        self.peak.set(self.used.get());
    }

    /// A script starts with `budget` bytes for the whole heap, as in a
    /// fresh realm: `leftover` bytes of an earlier script's garbage (not
    /// collected yet) are added to the limit and left out of its peak.
    pub fn start_script(&self, budget: usize, leftover: usize) {
        self.reset_run();
        self.leftover.set(leftover);
        self.limit.set(budget.saturating_add(leftover));
    }

    /// Count `bytes` the script holds outside its heap (tool-call
    /// arguments waiting for the host) against its budget. False, with the
    /// tripwire set, when they do not fit.
    pub fn charge(&self, bytes: usize) -> bool {
        if !self.admit(bytes) {
            return false;
        }
        self.grow(bytes);
        true
    }

    /// Give back what [`Tripwires::charge`] counted.
    pub fn release(&self, bytes: usize) {
        self.shrink(bytes);
    }

    pub fn set_runtime(&self, rt: *mut qjs::JSRuntime) {
        self.runtime.set(NonNull::new(rt));
    }

    #[inline]
    fn admit(&self, size: usize) -> bool {
        if self.used.get().saturating_add(size) > self.limit.get() {
            self.trip();
            return false;
        }
        true
    }

    /// The script is over its budget: record it, and turn off QuickJS's
    /// automatic GC for the rest of this runtime's script. QuickJS-ng
    /// throws its out-of-memory error from inside the failed allocation,
    /// and making that error may run the GC while the object being resized
    /// is unlinked from the GC list (`resize_properties`), which crashes
    /// (bellard/quickjs#129). The script is stopped at the next interrupt
    /// poll and its runtime freed whole, so no collection is lost.
    #[cold]
    fn trip(&self) {
        self.memory.set(true);
        if let Some(rt) = self.runtime.get() {
            // SAFETY: the runtime outlives its allocator's calls; this only
            // writes `rt->malloc_gc_threshold`.
            unsafe { qjs::JS_SetGCThreshold(rt.as_ptr(), usize::MAX as _) };
        }
    }

    #[inline]
    fn grow(&self, bytes: usize) {
        let used = self.used.get() + bytes;
        self.used.set(used);
        if used > self.peak.get() {
            self.peak.set(used);
        }
    }

    #[inline]
    fn shrink(&self, bytes: usize) {
        self.used.set(self.used.get().saturating_sub(bytes));
    }
}

pub struct CountingAllocator {
    wires: Rc<Tripwires>,
}

impl CountingAllocator {
    pub fn new(wires: Rc<Tripwires>) -> Self {
        CountingAllocator { wires }
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
unsafe fn usable(ptr: *mut u8) -> usize {
    // SAFETY: ptr came from libc malloc/calloc/realloc and is live.
    unsafe { libc::malloc_usable_size(ptr.cast()) }
}

#[cfg(target_vendor = "apple")]
unsafe fn usable(ptr: *mut u8) -> usize {
    // SAFETY: ptr came from libc malloc/calloc/realloc and is live.
    unsafe { libc::malloc_size(ptr.cast()) }
}

#[cfg(windows)]
unsafe fn usable(ptr: *mut u8) -> usize {
    unsafe extern "C" {
        fn _msize(ptr: *mut libc::c_void) -> usize;
    }
    // SAFETY: ptr came from the CRT malloc/calloc/realloc and is live.
    unsafe { _msize(ptr.cast()) }
}

// SAFETY: every pointer handed out comes from the C allocator (aligned for
// any type, at least `size` bytes) and is only resized or freed through it;
// `usable_size` asks the same allocator.
unsafe impl Allocator for CountingAllocator {
    fn alloc(&mut self, size: usize) -> *mut u8 {
        let _callback = park::callback();
        if !self.wires.admit(size) {
            return std::ptr::null_mut();
        }
        // SAFETY: plain C allocation.
        let ptr = unsafe { libc::malloc(size.max(1)) }.cast::<u8>();
        if !ptr.is_null() {
            // SAFETY: `ptr` was just returned, non-null, by the C allocator.
            self.wires.grow(unsafe { usable(ptr) });
        }
        ptr
    }

    fn calloc(&mut self, count: usize, size: usize) -> *mut u8 {
        let _callback = park::callback();
        let Some(total) = count.checked_mul(size) else {
            return std::ptr::null_mut();
        };
        if !self.wires.admit(total) {
            return std::ptr::null_mut();
        }
        // SAFETY: plain C allocation.
        let ptr = unsafe { libc::calloc(count.max(1), size.max(1)) }.cast::<u8>();
        if !ptr.is_null() {
            // SAFETY: `ptr` was just returned, non-null, by the C allocator.
            self.wires.grow(unsafe { usable(ptr) });
        }
        ptr
    }

    unsafe fn dealloc(&mut self, ptr: *mut u8) {
        let _callback = park::callback();
        // SAFETY: the caller passes a live pointer from this allocator.
        unsafe {
            self.wires.shrink(usable(ptr));
            libc::free(ptr.cast());
        }
    }

    unsafe fn realloc(&mut self, ptr: *mut u8, new_size: usize) -> *mut u8 {
        let _callback = park::callback();
        if ptr.is_null() {
            return self.alloc(new_size);
        }
        if new_size == 0 {
            // SAFETY: live pointer from this allocator.
            unsafe { self.dealloc(ptr) };
            return std::ptr::null_mut();
        }
        // SAFETY: live pointer from this allocator.
        let old = unsafe { usable(ptr) };
        if new_size > old && !self.wires.admit(new_size - old) {
            return std::ptr::null_mut();
        }
        // SAFETY: live pointer; on failure the old block stays valid.
        let grown = unsafe { libc::realloc(ptr.cast(), new_size) }.cast::<u8>();
        if !grown.is_null() {
            self.wires.shrink(old);
            // SAFETY: `grown` was just returned, non-null, by `realloc`.
            self.wires.grow(unsafe { usable(grown) });
        }
        grown
    }

    unsafe fn usable_size(ptr: *mut u8) -> usize {
        // SAFETY: live pointer from this allocator.
        unsafe { usable(ptr) }
    }
}
