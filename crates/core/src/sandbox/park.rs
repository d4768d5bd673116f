//! Parking: the last resort for a sandbox thread stuck in a built-in that
//! QuickJS (even patched) does not interrupt.
//!
//! A thread cannot be killed, and one left spinning burns a core until the
//! process exits. So the watchdog, after it has given the worker's slot to
//! a fresh thread, sends the stuck thread a signal whose handler sleeps
//! forever: the thread keeps its memory (counted in `stats().threadsParked`)
//! and uses no CPU.
//!
//! A thread may only stop where it holds no lock another thread could
//! wait for: inside QuickJS's own code, never inside `malloc`, a native of
//! the harness, or the worker's own Rust code. Each worker thread keeps a
//! *depth*: 1 in its own code, 0 while QuickJS runs ([`in_quickjs`]), and
//! one more inside any callback from QuickJS ([`callback`]: the allocators,
//! the natives, the interrupt handler). The handler parks at depth 0;
//! otherwise it leaves a request, and the callback that brings the depth
//! back to 0 parks on its way out, before QuickJS runs again.
//!
//! Unix only (the signal is `SIGURG`, whose default is to be ignored; it is
//! not installed when another handler already owns it). Elsewhere a stuck
//! thread runs until its built-in returns.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering, compiler_fence};
use std::sync::{Arc, Mutex};

/// One worker thread's parking state, shared with the watchdog.
pub(crate) struct ParkState {
    /// 1 in the worker's own code, 0 in QuickJS, above 0 in a callback.
    depth: AtomicI32,
    /// The watchdog asked this thread to park.
    requested: AtomicBool,
    /// The thread is parked, for good.
    parked: AtomicBool,
    /// The thread, once it has registered; `None` once it has ended. The
    /// watchdog signals it only under this lock, so never after it ended.
    thread: Mutex<Option<usize>>,
}

impl Default for ParkState {
    fn default() -> Self {
        ParkState {
            depth: AtomicI32::new(1),
            requested: AtomicBool::new(false),
            parked: AtomicBool::new(false),
            thread: Mutex::new(None),
        }
    }
}

impl ParkState {
    pub fn is_parked(&self) -> bool {
        self.parked.load(Ordering::Acquire)
    }
}

thread_local! {
    /// The running worker thread's state; null on every other thread.
    static CURRENT: Cell<*const ParkState> = const { Cell::new(std::ptr::null()) };
}

/// The calling thread is `state`'s worker until the guard drops (its
/// thread ends): the watchdog may signal it meanwhile.
pub(crate) fn register(state: Arc<ParkState>) -> Registration {
    *state.thread.lock().unwrap_or_else(|e| e.into_inner()) = Some(this_thread());
    CURRENT.with(|c| c.set(Arc::as_ptr(&state)));
    Registration(state)
}

pub(crate) struct Registration(Arc<ParkState>);

impl Drop for Registration {
    fn drop(&mut self) {
        *self.0.thread.lock().unwrap_or_else(|e| e.into_inner()) = None;
        CURRENT.with(|c| c.set(std::ptr::null()));
    }
}

/// Marks the span where QuickJS runs the script (or the realm's code).
pub(crate) fn in_quickjs() -> Depth {
    Depth::change(-1)
}

/// Marks a callback from QuickJS into the harness's code.
#[inline]
pub(crate) fn callback() -> Depth {
    Depth::change(1)
}

pub(crate) struct Depth(*const ParkState, i32);

impl Depth {
    #[inline]
    fn change(by: i32) -> Depth {
        let state = CURRENT.with(Cell::get);
        if !state.is_null() {
            // SAFETY: a registered thread's state outlives its registration,
            // which outlives every guard made on that thread.
            let depth = &unsafe { &*state }.depth;
            // Only this thread writes its depth, and the signal handler that
            // reads it runs on this thread: plain loads and stores suffice
            // (no locked instruction on every allocation).
            depth.store(depth.load(Ordering::Relaxed) + by, Ordering::Relaxed);
            compiler_fence(Ordering::SeqCst);
        }
        Depth(state, by)
    }
}

impl Drop for Depth {
    #[inline]
    fn drop(&mut self) {
        if self.0.is_null() {
            return;
        }
        // SAFETY: as in `change`.
        let state = unsafe { &*self.0 };
        compiler_fence(Ordering::SeqCst);
        let now = state.depth.load(Ordering::Relaxed) - self.1;
        state.depth.store(now, Ordering::Relaxed);
        compiler_fence(Ordering::SeqCst);
        if now == 0 && state.requested.load(Ordering::Relaxed) {
            park_here(state);
        }
    }
}

/// The process's allocator with every call marked as a callback, so a
/// thread is never parked inside `malloc` by Rust code QuickJS calls (the
/// natives and rquickjs's own glue; QuickJS's own allocations go through
/// the sandbox heap's allocator, marked the same way). The addon installs
/// it as its `#[global_allocator]`; it costs a thread-local read and two
/// plain stores per allocation.
pub struct MarkedAllocator;

// SAFETY: every call is forwarded unchanged to `System`.
unsafe impl std::alloc::GlobalAlloc for MarkedAllocator {
    #[inline]
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        let _callback = callback();
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { std::alloc::System.alloc(layout) }
    }
    #[inline]
    unsafe fn alloc_zeroed(&self, layout: std::alloc::Layout) -> *mut u8 {
        let _callback = callback();
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { std::alloc::System.alloc_zeroed(layout) }
    }
    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        let _callback = callback();
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { std::alloc::System.dealloc(ptr, layout) }
    }
    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new_size: usize) -> *mut u8 {
        let _callback = callback();
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { std::alloc::System.realloc(ptr, layout, new_size) }
    }
}

fn park_here(state: &ParkState) -> ! {
    state.parked.store(true, Ordering::Release);
    loop {
        #[cfg(unix)]
        // SAFETY: pause(2) only waits for a signal; async-signal-safe.
        unsafe {
            libc::pause();
        }
        #[cfg(not(unix))]
        std::thread::park();
    }
}

/// Ask `state`'s thread to park. True when it was asked (it parks at once
/// if it is in QuickJS, or when it next returns there); false when it has
/// ended or parking is not available here.
pub(crate) fn request(state: &ParkState) -> bool {
    let thread = state.thread.lock().unwrap_or_else(|e| e.into_inner());
    let Some(thread) = *thread else { return false };
    if !signal::install() {
        return false;
    }
    state.requested.store(true, Ordering::SeqCst);
    signal::send(thread)
}

#[cfg(unix)]
fn this_thread() -> usize {
    // SAFETY: pthread_self has no preconditions.
    unsafe { libc::pthread_self() as usize }
}

#[cfg(not(unix))]
fn this_thread() -> usize {
    0
}

#[cfg(unix)]
mod signal {
    use std::sync::OnceLock;
    use std::sync::atomic::Ordering;

    use super::{CURRENT, park_here};

    const SIGNAL: libc::c_int = libc::SIGURG;

    extern "C" fn on_signal(_: libc::c_int) {
        // Only atomics and pause(2) from here: async-signal-safe.
        let state = CURRENT.with(std::cell::Cell::get);
        if state.is_null() {
            return; // not a worker thread: SIGURG's default is to ignore it
        }
        // SAFETY: the registered state outlives the registration.
        let state = unsafe { &*state };
        if !state.requested.load(Ordering::SeqCst) {
            return;
        }
        if state.depth.load(Ordering::Relaxed) == 0 {
            park_here(state);
        }
        // Otherwise the callback that returns to QuickJS parks.
    }

    /// Install the handler once, unless another one owns the signal.
    pub(super) fn install() -> bool {
        static INSTALLED: OnceLock<bool> = OnceLock::new();
        *INSTALLED.get_or_init(|| {
            // SAFETY: sigaction with valid pointers; the old action is only
            // read, and ours is installed only over the default or ignore.
            unsafe {
                let mut old: libc::sigaction = std::mem::zeroed();
                if libc::sigaction(SIGNAL, std::ptr::null(), &mut old) != 0 {
                    return false;
                }
                if old.sa_sigaction != libc::SIG_DFL && old.sa_sigaction != libc::SIG_IGN {
                    return false;
                }
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
                action.sa_flags = libc::SA_RESTART;
                libc::sigemptyset(&mut action.sa_mask);
                libc::sigaction(SIGNAL, &action, std::ptr::null_mut()) == 0
            }
        })
    }

    /// Signal `thread`, which the caller knows has not ended.
    pub(super) fn send(thread: usize) -> bool {
        // SAFETY: `thread` is a live thread of this process (the caller
        // holds the lock its end takes).
        unsafe { libc::pthread_kill(thread as libc::pthread_t, SIGNAL) == 0 }
    }
}

#[cfg(not(unix))]
mod signal {
    pub(super) fn install() -> bool {
        false
    }
    pub(super) fn send(_: usize) -> bool {
        false
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    /// CPU time the thread `tid` (a Linux task id) has used.
    #[cfg(target_os = "linux")]
    fn cpu_time(tid: i32) -> Duration {
        let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).unwrap();
        let after_name = &stat[stat.rfind(')').unwrap() + 2..];
        let fields: Vec<&str> = after_name.split(' ').collect();
        // utime and stime: fields 14 and 15, 12 and 13 after the name.
        let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
        // SAFETY: sysconf has no preconditions.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as u64;
        Duration::from_millis(ticks * 1000 / hz)
    }

    fn wait_for(what: impl Fn() -> bool) {
        let until = Instant::now() + Duration::from_secs(5);
        while !what() {
            assert!(Instant::now() < until, "timed out");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// A thread spinning "in QuickJS" parks at once and stops using CPU.
    #[test]
    #[cfg(target_os = "linux")]
    fn a_spinning_thread_parks_and_stops_using_cpu() {
        let state = Arc::new(ParkState::default());
        let tid = Arc::new(AtomicI32::new(0));
        {
            let (state, tid) = (state.clone(), tid.clone());
            std::thread::spawn(move || {
                // SAFETY: gettid has no preconditions.
                tid.store(unsafe { libc::gettid() }, Ordering::SeqCst);
                let _registered = register(state);
                let _js = in_quickjs();
                loop {
                    std::hint::spin_loop();
                }
            });
        }
        wait_for(|| tid.load(Ordering::SeqCst) != 0 && state.depth.load(Ordering::SeqCst) == 0);
        assert!(request(&state));
        wait_for(|| state.is_parked());
        let tid = tid.load(Ordering::SeqCst);
        let before = cpu_time(tid);
        std::thread::sleep(Duration::from_millis(300));
        let used = cpu_time(tid) - before;
        assert!(
            used <= Duration::from_millis(20),
            "a parked thread used {used:?} of CPU"
        );
    }

    /// A thread inside a callback (the allocator, a native) is not stopped
    /// there: it parks when it returns to QuickJS.
    #[test]
    fn a_thread_in_a_callback_parks_when_it_returns_to_quickjs() {
        let state = Arc::new(ParkState::default());
        let (in_callback, leave) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicBool::new(false)),
        );
        let passed_callback = Arc::new(AtomicBool::new(false));
        {
            let (state, in_callback, leave, passed) = (
                state.clone(),
                in_callback.clone(),
                leave.clone(),
                passed_callback.clone(),
            );
            std::thread::spawn(move || {
                let _registered = register(state);
                let _js = in_quickjs();
                {
                    let _cb = callback();
                    in_callback.store(true, Ordering::SeqCst);
                    while !leave.load(Ordering::SeqCst) {
                        std::hint::spin_loop();
                    }
                }
                passed.store(true, Ordering::SeqCst);
            });
        }
        wait_for(|| in_callback.load(Ordering::SeqCst));
        assert!(request(&state));
        std::thread::sleep(Duration::from_millis(50));
        assert!(!state.is_parked(), "parked inside a callback");
        leave.store(true, Ordering::SeqCst);
        wait_for(|| state.is_parked());
        assert!(!passed_callback.load(Ordering::SeqCst));
    }

    /// A thread in its own code is not stopped, and one that has ended is
    /// not signalled.
    #[test]
    fn a_thread_in_its_own_code_runs_on_and_an_ended_one_is_not_signalled() {
        let state = Arc::new(ParkState::default());
        let (asked, go) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicBool::new(false)),
        );
        let worker = {
            let (state, asked, go) = (state.clone(), asked.clone(), go.clone());
            std::thread::spawn(move || {
                let _registered = register(state);
                asked.store(true, Ordering::SeqCst);
                while !go.load(Ordering::SeqCst) {
                    std::hint::spin_loop();
                }
            })
        };
        wait_for(|| asked.load(Ordering::SeqCst));
        assert!(request(&state));
        std::thread::sleep(Duration::from_millis(50));
        assert!(!state.is_parked());
        go.store(true, Ordering::SeqCst);
        worker.join().unwrap();
        assert!(!request(&state), "an ended thread was signalled");
    }
}
