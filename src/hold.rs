//! Holding the Node thread a few microseconds for a quick script's next
//! message (`holdEventLoopUs`).
//!
//! A sandbox thread hands Node a batch through a libuv async handle. When
//! the Node thread is asleep in `epoll_wait` it must be woken, and on the
//! virtual machines measured that costs 25-70 µs, more than a short script
//! or a tool call's whole round trip. So right after the Node thread starts
//! a script or answers one of its calls (the two moments a message is most
//! likely to follow soon), it waits, polling an atomic counter, for up to
//! `max` before it returns to the event loop; a batch sent meanwhile finds
//! it awake and is read at once.
//!
//! Bounds, so that the event loop keeps turning:
//! - only while one run is pending in the whole process (with more, their
//!   messages keep the loop busy anyway);
//! - at most [`BUDGET`] of holding in any [`WINDOW`]: a chain of quick calls
//!   answered inside one libuv callback would otherwise hold hold after
//!   hold without the loop turning between them; past the budget the
//!   thread returns to the loop and is woken as before;
//! - after a hold that runs out, the next 1, 3, 7 ... 63 are skipped, so a
//!   harness whose scripts are slow pays almost nothing; but a hold that
//!   ran out just before the batch came (within another `max`) is no sign
//!   of a slow script and is not counted. Counted, such near misses made a
//!   fast chain of calls collapse: once holds were skipped the Node thread
//!   woke late, the sandbox thread parked while it waited for the answer,
//!   its own wake-up made the next hold run out, and the backoff deepened
//!   (W3 at 20-24 µs per call, against 15-17 µs while holds caught);
//! - at most [`CHAIN`] for a chain of holds with no pause between them
//!   (each one made within [`CHAIN_GAP`] of the last): answered in one
//!   libuv callback, such a chain keeps the event loop from turning even
//!   when its holds are short, so after a millisecond one hold is skipped
//!   and the callback returns to the loop;
//! - never on a single CPU, where the sandbox thread cannot run while the
//!   Node thread polls. When the sandbox thread last sent from the core
//!   this thread runs on (the scheduler puts the two on one core at times;
//!   polling there kept the sandbox thread from running, and calls took
//!   ~85 µs each, for thousands of calls), the poll yields the core between
//!   checks, and only after an answered call (after a start there is no
//!   hold then: see [`Hold::hold`]); otherwise it never yields, so that
//!   the hold ends on time however loaded the machine (a yield can give
//!   the core away for a scheduler time slice: yielding in every hold,
//!   holds lasted up to a millisecond on a loaded machine).

use std::sync::OnceLock;
use std::sync::atomic::{AtomicI32, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The longest hold a harness may ask for, µs.
pub const MAX_HOLD_US: u32 = 1000;
/// The hold of a harness that does not say, µs.
pub const DEFAULT_HOLD_US: u32 = 50;
/// Holds that ran out in a row beyond which the backoff stops growing
/// (then 63 are skipped between tries).
const MAX_BACKOFF: u32 = 6;
/// The window the holding budget is counted over, and the budget: the
/// Node thread holds at most 900 µs of any millisecond, then skips holds
/// until the next, so the event loop turns at least once a millisecond
/// however long a chain of quick calls runs.
pub const WINDOW: Duration = Duration::from_millis(1);
pub const BUDGET: Duration = Duration::from_micros(900);

/// A chain of holds may last this long from its first hold's start; then
/// one hold is skipped so the event loop turns.
pub const CHAIN: Duration = Duration::from_millis(1);
/// Holds made within this of the last one continue its chain: the Node
/// thread answered a call and was handed the next inside one callback.
const CHAIN_GAP: Duration = Duration::from_micros(200);

/// Runs pending in this process, every harness counted (the napi layer
/// keeps it: one more when a run starts, one less when its result is read).
static PENDING_RUNS: AtomicUsize = AtomicUsize::new(0);
/// The holding budget's window, shared by every harness of the process:
/// when the current window started (ns after `EPOCH`) and what was held in
/// it (ns).
static WINDOW_START: AtomicU64 = AtomicU64::new(0);
static WINDOW_HELD: AtomicU64 = AtomicU64::new(0);
static EPOCH: OnceLock<Instant> = OnceLock::new();

pub fn run_started() {
    PENDING_RUNS.fetch_add(1, Ordering::Relaxed);
}

pub fn runs_finished(n: usize) {
    // Never below zero, whatever a caller miscounts.
    let _ = PENDING_RUNS.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |p| {
        Some(p.saturating_sub(n))
    });
}

/// Runs pending in the whole process.
pub fn pending_runs() -> usize {
    PENDING_RUNS.load(Ordering::Relaxed)
}

/// What is left of this window's budget at `now` (opening a new window
/// if the last one is over).
fn budget_left(now: Instant) -> Duration {
    let at = nanos_since_epoch(now);
    let (start, held) = window_at(
        WINDOW_START.load(Ordering::Relaxed),
        WINDOW_HELD.load(Ordering::Relaxed),
        at,
    );
    WINDOW_START.store(start, Ordering::Relaxed);
    WINDOW_HELD.store(held, Ordering::Relaxed);
    BUDGET.saturating_sub(Duration::from_nanos(held))
}

/// The core the calling thread runs on, where the platform says (-1: it
/// does not).
fn current_cpu() -> i32 {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: sched_getcpu takes nothing and only reads (a vDSO call).
        unsafe { libc::sched_getcpu() }
    }
    #[cfg(not(target_os = "linux"))]
    {
        -1
    }
}

fn nanos_since_epoch(now: Instant) -> u64 {
    let epoch = *EPOCH.get_or_init(Instant::now);
    now.saturating_duration_since(epoch).as_nanos() as u64
}

/// The window (its start, what was held in it) as of `at`, all in ns: the
/// same one while it lasts, a fresh one once it is over.
fn window_at(start: u64, held: u64, at: u64) -> (u64, u64) {
    if at.saturating_sub(start) >= WINDOW.as_nanos() as u64 {
        (at, 0)
    } else {
        (start, held)
    }
}

/// What the Node thread did just before it holds.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum HoldAfter {
    /// Started a script.
    Start,
    /// Answered one of a script's tool calls.
    Answer,
}

#[derive(Default)]
pub struct Hold {
    /// Batches whose handing to Node's event loop has begun, and those
    /// fully queued (any thread). A hold ends when more batches are queued
    /// than had begun at its mark: then one begun after the mark is in the
    /// queue, not one of before that was still on its way.
    begun: AtomicU64,
    sent: AtomicU64,
    /// The longest hold; zero: never hold.
    max: Duration,
    /// Holds still to skip after ones that ran out (the Node thread; a
    /// batch sent just after a miss clears it).
    skip: AtomicU32,
    /// Holds that ran out in a row (as `skip`).
    misses: AtomicU32,
    /// When the last hold ran out (ns after `EPOCH`), until the next batch
    /// is sent; 0: none did.
    missed_at: AtomicU64,
    /// The core the sandbox thread last sent a batch from (-1: unknown).
    sender_cpu: AtomicI32,
    /// When the current chain of holds began, and when a hold was last
    /// asked for or ended (ns after `EPOCH`; the Node thread only).
    chain_start: AtomicU64,
    last_asked: AtomicU64,
    /// What holding cost: holds made, and their total length in ns.
    holds: AtomicU64,
    held_ns: AtomicU64,
}

impl Hold {
    pub fn new(max_us: u32) -> Hold {
        // On one CPU the sandbox thread cannot run while this one polls.
        let cpus = std::thread::available_parallelism().map_or(1, usize::from);
        let max_us = if cpus < 2 { 0 } else { max_us.min(MAX_HOLD_US) };
        Hold::with_max(Duration::from_micros(u64::from(max_us)))
    }

    fn with_max(max: Duration) -> Hold {
        Hold {
            max,
            sender_cpu: AtomicI32::new(-1),
            ..Hold::default()
        }
    }

    /// A batch is about to be handed to Node (on the sandbox thread, just
    /// before the threadsafe function queues it).
    pub fn batch_begun(&self) {
        self.sender_cpu.store(current_cpu(), Ordering::Relaxed);
        self.begun.fetch_add(1, Ordering::AcqRel);
    }

    /// That batch is in the threadsafe function's queue (its libuv wake-up
    /// sent): a Node thread that stops holding now finds it there.
    pub fn batch_sent(&self) {
        self.sent.fetch_add(1, Ordering::Release);
        // A hold that ran out shortly before this batch: the script is
        // fast after all; the next hold is made, and the backoff starts
        // over.
        let missed_at = self.missed_at.swap(0, Ordering::Relaxed);
        if missed_at != 0
            && nanos_since_epoch(Instant::now()).saturating_sub(missed_at)
                <= self.max.as_nanos() as u64
        {
            self.misses.store(0, Ordering::Relaxed);
            self.skip.store(0, Ordering::Relaxed);
        }
    }

    /// Where the count of batches stands: taken before handing the engine
    /// work, so a batch sent while it is handed over ends the hold at once.
    pub fn mark(&self) -> u64 {
        self.begun.load(Ordering::Acquire)
    }

    /// On the Node thread: wait until a batch was sent after `mark`, or
    /// the hold runs out, whichever comes first; at once if holding is off
    /// or another run is pending anywhere in the process. `after`: what
    /// the thread just did; after a start, a sandbox thread on this core is
    /// not waited for (a yield would hand it the core for a script that may
    /// compute for its whole time limit, and the event loop would wait for
    /// the scheduler to give the core back).
    pub fn hold(&self, mark: u64, after: HoldAfter) {
        if self.max.is_zero() || pending_runs() != 1 {
            return;
        }
        let skip = self.skip.load(Ordering::Relaxed);
        if skip > 0 {
            self.skip.store(skip - 1, Ordering::Relaxed);
            return;
        }
        let start = Instant::now();
        if !self.chain_allows(nanos_since_epoch(start)) {
            return;
        }
        // The sandbox thread last sent from this very core: polling would
        // only keep it from running, so the poll yields the core instead.
        let cpu = current_cpu();
        let shared_core = cpu >= 0 && cpu == self.sender_cpu.load(Ordering::Relaxed);
        if shared_core && after == HoldAfter::Start {
            return;
        }
        let left = budget_left(start);
        if left.is_zero() {
            return;
        }
        let until = start + self.max.min(left);
        let caught = loop {
            if self.sent.load(Ordering::Acquire) > mark {
                break true;
            }
            let now = Instant::now();
            if now >= until {
                break false;
            }
            if shared_core {
                std::thread::yield_now();
            } else {
                // A few pause instructions between clock reads: gentle on
                // a sibling hardware thread.
                for _ in 0..8 {
                    std::hint::spin_loop();
                }
            }
        };
        let held = start.elapsed().as_nanos() as u64;
        WINDOW_HELD.fetch_add(held, Ordering::Relaxed);
        self.holds.fetch_add(1, Ordering::Relaxed);
        self.held_ns.fetch_add(held, Ordering::Relaxed);
        // A chain is measured from the end of its last hold.
        self.last_asked
            .store(nanos_since_epoch(Instant::now()), Ordering::Relaxed);
        if caught {
            self.misses.store(0, Ordering::Relaxed);
        } else if left >= self.max {
            // Ran out of its own length (not cut short by the budget).
            self.ran_out();
        }
    }

    /// Whether a hold asked for at `now` may be made: not if it would
    /// continue a chain begun [`CHAIN`] or more ago (that one is skipped,
    /// and the next hold begins a new chain).
    fn chain_allows(&self, now: u64) -> bool {
        let last = self.last_asked.swap(now, Ordering::Relaxed);
        let gap = CHAIN_GAP.as_nanos() as u64;
        if last == 0 || now.saturating_sub(last) > gap {
            self.chain_start.store(now, Ordering::Relaxed);
            return true;
        }
        if now.saturating_sub(self.chain_start.load(Ordering::Relaxed)) < CHAIN.as_nanos() as u64 {
            return true;
        }
        self.last_asked.store(0, Ordering::Relaxed);
        false
    }

    /// A hold ran out: the script may be slower than the hold, so the next
    /// ones are skipped, unless a batch comes soon after (`batch_sent`).
    fn ran_out(&self) {
        let misses = (self.misses.load(Ordering::Relaxed) + 1).min(MAX_BACKOFF);
        self.misses.store(misses, Ordering::Relaxed);
        self.skip.store((1 << misses) - 1, Ordering::Relaxed);
        // Stamped after the backoff is set, so that a batch sent meanwhile
        // clears it.
        self.missed_at
            .store(nanos_since_epoch(Instant::now()).max(1), Ordering::Relaxed);
    }

    /// Holds made so far, and their total length in µs.
    pub fn cost(&self) -> (u64, f64) {
        (
            self.holds.load(Ordering::Relaxed),
            self.held_ns.load(Ordering::Relaxed) as f64 / 1e3,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_sent_ends_the_hold_and_one_that_runs_out_backs_off() {
        let hold = Hold::with_max(Duration::from_micros(200));
        // Each hold as if the sandbox thread were on another core and the
        // loop had turned since the last (those bounds have tests of their
        // own).
        let held = |hold: &Hold, mark: u64| {
            hold.sender_cpu.store(-1, Ordering::Relaxed);
            hold.last_asked.store(0, Ordering::Relaxed);
            hold.hold(mark, HoldAfter::Answer);
        };
        // One run pending (the count never goes below zero, whatever a
        // caller miscounts). The only test that touches the count.
        runs_finished(usize::MAX);
        run_started();
        assert_eq!(pending_runs(), 1);
        // Already sent since the mark: no wait at all.
        let mark = hold.mark();
        hold.batch_begun();
        hold.batch_sent();
        held(&hold, mark);
        assert_eq!(hold.cost().0, 1);
        // Nothing comes: the hold runs out, then the next one is skipped,
        // then after a second miss three are.
        let mark = hold.mark();
        held(&hold, mark);
        assert_eq!(hold.cost().0, 2);
        assert!(hold.cost().1 >= 200.0);
        held(&hold, mark);
        assert_eq!(hold.cost().0, 2, "skipped after one miss");
        held(&hold, mark);
        assert_eq!(hold.cost().0, 3);
        for _ in 0..3 {
            held(&hold, mark);
        }
        assert_eq!(hold.cost().0, 3, "three skipped after two misses");
        // A catch resets the backoff.
        hold.batch_begun();
        hold.batch_sent();
        held(&hold, mark);
        held(&hold, mark);
        assert_eq!(hold.cost().0, 5);
        // A batch begun before the mark and queued after it is not the
        // one held for.
        hold.batch_begun();
        let mark = hold.mark();
        hold.batch_sent();
        held(&hold, mark);
        assert!(hold.cost().1 >= 3.0 * 200.0, "it ran out");
        // With a second run pending, no hold at all.
        run_started();
        held(&hold, hold.mark());
        assert_eq!(hold.cost().0, 6);
        runs_finished(2);
    }

    #[test]
    fn a_hold_that_ran_out_just_before_its_batch_is_not_counted() {
        // Misses are recorded directly: `hold` depends on the process's
        // pending-run count, which another test owns.
        let hold = Hold::with_max(Duration::from_millis(5));
        // Ran out, and the batch came right after: the next hold is made.
        hold.ran_out();
        hold.batch_begun();
        hold.batch_sent();
        assert_eq!(hold.skip.load(Ordering::Relaxed), 0);
        assert_eq!(hold.misses.load(Ordering::Relaxed), 0);
        // Ran out twice, and the batch came long after: the backoff holds.
        hold.ran_out();
        hold.ran_out();
        std::thread::sleep(Duration::from_millis(20));
        hold.batch_begun();
        hold.batch_sent();
        assert_eq!(hold.skip.load(Ordering::Relaxed), 3);
        assert_eq!(hold.misses.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn a_chain_of_holds_gives_the_loop_a_turn_every_millisecond() {
        let hold = Hold::with_max(Duration::from_micros(50));
        let us = 1_000;
        // Holds 20 µs apart: one chain, until a millisecond from its start.
        let mut t = 10_000 * us;
        let mut made = 0;
        while t < 10_000 * us + 999 * us {
            assert!(hold.chain_allows(t));
            made += 1;
            t += 20 * us;
        }
        assert_eq!(made, 50);
        assert!(!hold.chain_allows(t), "skipped: the loop turns");
        // The next one begins a new chain, as does one after a pause.
        assert!(hold.chain_allows(t + 20 * us));
        assert!(hold.chain_allows(t + 40 * us));
        assert!(hold.chain_allows(t + 5_000 * us));
        assert_eq!(hold.chain_start.load(Ordering::Relaxed), t + 5_000 * us);
    }

    #[test]
    fn the_budget_is_counted_over_windows_of_a_millisecond() {
        let ms = 1_000_000;
        assert_eq!(window_at(0, 300_000, ms / 2), (0, 300_000), "same window");
        assert_eq!(window_at(0, 300_000, ms), (ms, 0), "a new one");
        assert_eq!(
            window_at(5 * ms, 0, 4 * ms),
            (5 * ms, 0),
            "no time backwards"
        );
        assert!(BUDGET < WINDOW);
    }

    #[test]
    fn zero_never_holds() {
        let hold = Hold::new(0);
        hold.hold(hold.mark(), HoldAfter::Answer);
        assert_eq!(hold.cost().0, 0);
    }
}
