//! Parking: the last resort for a sandbox thread stuck in a built-in that
//! QuickJS (even patched) does not let the harness stop.
//!
//! A thread cannot be killed, and one left spinning burns a core until the
//! process exits. So the watchdog, after it has given the worker's slot to
//! a fresh thread, asks the stuck thread to park: the next time QuickJS
//! calls into the harness (its interrupt handler, its allocator, a native),
//! the thread sleeps there for good. It keeps its memory (counted in
//! `stats().threadsParked`) and uses no CPU.
//!
//! It parks only there, never wherever it happens to be: a thread stopped
//! inside libc (a `localtime_r` holding glibc's timezone lock, a `malloc`
//! holding an arena) would freeze every other thread that needs the same
//! lock, the Node main thread included. Where QuickJS calls the harness it
//! holds no lock, and the harness's own code has not started. Each worker
//! thread keeps a *depth*: 1 in its own code, 0 while QuickJS runs
//! ([`in_quickjs`]), one more inside each callback ([`callback`]); a
//! callback entered at depth 0 is where it parks. A loop that neither polls
//! the interrupt handler nor allocates never reaches one: that thread runs
//! until its built-in returns (QuickJS patch 0003 is what keeps such loops
//! from existing).

use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

/// One worker thread's parking state, shared with the watchdog.
pub(crate) struct ParkState {
    /// 1 in the worker's own code, 0 in QuickJS, above 0 in a callback.
    /// Only the thread itself reads and writes it.
    depth: AtomicI32,
    /// The watchdog asked this thread to park.
    requested: AtomicBool,
    /// The thread is parked, for good.
    parked: AtomicBool,
    /// The thread has registered and not ended yet. Racing with its end is
    /// harmless: a request to a thread that has ended is never acted on.
    alive: AtomicBool,
}

impl Default for ParkState {
    fn default() -> Self {
        ParkState {
            depth: AtomicI32::new(1),
            requested: AtomicBool::new(false),
            parked: AtomicBool::new(false),
            alive: AtomicBool::new(false),
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
/// thread ends).
pub(crate) fn register(state: Arc<ParkState>) -> Registration {
    state.alive.store(true, Ordering::Release);
    CURRENT.with(|c| c.set(Arc::as_ptr(&state)));
    Registration(state)
}

pub(crate) struct Registration(Arc<ParkState>);

impl Drop for Registration {
    fn drop(&mut self) {
        self.0.alive.store(false, Ordering::Release);
        CURRENT.with(|c| c.set(std::ptr::null()));
    }
}

/// Marks the span where QuickJS runs the script (or the realm's code).
pub(crate) fn in_quickjs() -> Depth {
    Depth::change(-1)
}

/// Marks a callback from QuickJS into the harness's code. A thread asked
/// to park parks here, on its way in from QuickJS.
#[inline]
pub(crate) fn callback() -> Depth {
    if let Some(state) = current()
        && state.depth.load(Ordering::Relaxed) == 0
        && state.requested.load(Ordering::Relaxed)
    {
        park_here(state);
    }
    Depth::change(1)
}

#[inline]
fn current() -> Option<&'static ParkState> {
    let state = CURRENT.with(Cell::get);
    // SAFETY: a registered thread's state outlives its registration, which
    // outlives every guard and callback on that thread; the pointer is
    // cleared when the registration ends.
    (!state.is_null()).then(|| unsafe { &*state })
}

pub(crate) struct Depth(Option<&'static ParkState>, i32);

impl Depth {
    #[inline]
    fn change(by: i32) -> Depth {
        let state = current();
        if let Some(state) = state {
            let depth = &state.depth;
            depth.store(depth.load(Ordering::Relaxed) + by, Ordering::Relaxed);
        }
        Depth(state, by)
    }
}

impl Drop for Depth {
    #[inline]
    fn drop(&mut self) {
        let Some(state) = self.0 else { return };
        let now = state.depth.load(Ordering::Relaxed) - self.1;
        state.depth.store(now, Ordering::Relaxed);
    }
}

fn park_here(state: &ParkState) -> ! {
    state.parked.store(true, Ordering::Release);
    loop {
        std::thread::park();
    }
}

/// Ask `state`'s thread to park at its next call from QuickJS into the
/// harness. False when the thread has ended.
pub(crate) fn request(state: &ParkState) -> bool {
    if !state.alive.load(Ordering::Acquire) {
        return false;
    }
    state.requested.store(true, Ordering::SeqCst);
    true
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

    /// A thread looping in QuickJS parks at its next callback (an interrupt
    /// poll, an allocation) and stops using CPU.
    #[test]
    #[cfg(target_os = "linux")]
    fn a_looping_thread_parks_at_its_next_callback_and_stops_using_cpu() {
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
                    for _ in 0..10_000 {
                        std::hint::spin_loop();
                    }
                    drop(callback());
                }
            });
        }
        wait_for(|| tid.load(Ordering::SeqCst) != 0);
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

    /// A thread inside a callback (holding who knows what) is not stopped
    /// there: it parks at its next callback from QuickJS.
    #[test]
    fn a_thread_in_a_callback_parks_only_at_its_next_callback_from_quickjs() {
        let state = Arc::new(ParkState::default());
        let (in_callback, leave) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicBool::new(false)),
        );
        let (left, passed) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicBool::new(false)),
        );
        {
            let (state, in_callback, leave, left, passed) = (
                state.clone(),
                in_callback.clone(),
                leave.clone(),
                left.clone(),
                passed.clone(),
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
                left.store(true, Ordering::SeqCst);
                drop(callback());
                passed.store(true, Ordering::SeqCst);
            });
        }
        wait_for(|| in_callback.load(Ordering::SeqCst));
        assert!(request(&state));
        std::thread::sleep(Duration::from_millis(50));
        assert!(!state.is_parked(), "parked inside a callback");
        leave.store(true, Ordering::SeqCst);
        wait_for(|| state.is_parked());
        assert!(left.load(Ordering::SeqCst));
        assert!(!passed.load(Ordering::SeqCst));
    }

    /// A thread in its own code does not park, even at a callback (it may
    /// hold a lock), and one that has ended is not asked.
    #[test]
    fn a_thread_in_its_own_code_runs_on_and_an_ended_one_is_not_asked() {
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
                drop(callback());
            })
        };
        wait_for(|| asked.load(Ordering::SeqCst));
        assert!(request(&state));
        go.store(true, Ordering::SeqCst);
        worker.join().unwrap();
        assert!(!state.is_parked());
        assert!(!request(&state), "an ended thread was asked to park");
    }
}
