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
//! it awake and is read at once. The wait is bounded and backs off: after
//! one that runs out, the next 1, 3, 7 ... 63 are skipped, so a harness
//! whose scripts are slow pays almost nothing. The callers hold only when
//! one run is pending: with more, their messages keep the loop awake.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The longest hold a harness may ask for, µs.
pub const MAX_HOLD_US: u32 = 1000;
/// The hold of a harness that does not say, µs.
pub const DEFAULT_HOLD_US: u32 = 50;
/// Holds that ran out in a row beyond which the backoff stops growing
/// (then 63 are skipped between tries).
const MAX_BACKOFF: u32 = 6;

#[derive(Default)]
pub struct Hold {
    /// Batches handed to Node's event loop so far (any thread).
    sent: AtomicU64,
    /// The longest hold; zero: never hold.
    max: Duration,
    /// Holds still to skip after ones that ran out (Node thread only).
    skip: AtomicU32,
    /// Holds that ran out in a row (Node thread only).
    misses: AtomicU32,
    /// What holding cost: holds made, and their total length in ns.
    holds: AtomicU64,
    held_ns: AtomicU64,
}

impl Hold {
    pub fn new(max_us: u32) -> Hold {
        Hold {
            max: Duration::from_micros(u64::from(max_us.min(MAX_HOLD_US))),
            ..Hold::default()
        }
    }

    /// A batch is about to be handed to Node (called on the sandbox thread,
    /// just before the threadsafe function queues it).
    pub fn batch_sent(&self) {
        self.sent.fetch_add(1, Ordering::Release);
    }

    /// Where the count of batches stands: taken before handing the engine
    /// work, so a batch sent while it is handed over ends the hold at once.
    pub fn mark(&self) -> u64 {
        self.sent.load(Ordering::Acquire)
    }

    /// On the Node thread: wait until a batch was sent after `mark`, or
    /// the hold runs out, whichever comes first.
    pub fn hold(&self, mark: u64) {
        if self.max.is_zero() {
            return;
        }
        let skip = self.skip.load(Ordering::Relaxed);
        if skip > 0 {
            self.skip.store(skip - 1, Ordering::Relaxed);
            return;
        }
        let start = Instant::now();
        let until = start + self.max;
        let caught = loop {
            if self.sent.load(Ordering::Acquire) != mark {
                break true;
            }
            let now = Instant::now();
            if now >= until {
                break false;
            }
            // A few pause instructions between clock reads: gentle on a
            // sibling hardware thread.
            for _ in 0..8 {
                std::hint::spin_loop();
            }
        };
        self.holds.fetch_add(1, Ordering::Relaxed);
        self.held_ns
            .fetch_add(start.elapsed().as_nanos() as u64, Ordering::Relaxed);
        if caught {
            self.misses.store(0, Ordering::Relaxed);
        } else {
            let misses = (self.misses.load(Ordering::Relaxed) + 1).min(MAX_BACKOFF);
            self.misses.store(misses, Ordering::Relaxed);
            self.skip.store((1 << misses) - 1, Ordering::Relaxed);
        }
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
        let hold = Hold::new(200);
        // Already sent since the mark: no wait at all.
        let mark = hold.mark();
        hold.batch_sent();
        hold.hold(mark);
        assert_eq!(hold.cost().0, 1);
        // Nothing comes: the hold runs out, then the next one is skipped,
        // then after a second miss three are.
        let mark = hold.mark();
        hold.hold(mark);
        assert_eq!(hold.cost().0, 2);
        assert!(hold.cost().1 >= 200.0);
        hold.hold(mark);
        assert_eq!(hold.cost().0, 2, "skipped after one miss");
        hold.hold(mark);
        assert_eq!(hold.cost().0, 3);
        for _ in 0..3 {
            hold.hold(mark);
        }
        assert_eq!(hold.cost().0, 3, "three skipped after two misses");
        // A catch resets the backoff.
        hold.batch_sent();
        hold.hold(mark);
        hold.hold(hold.mark() - 1);
        assert_eq!(hold.cost().0, 5);
    }

    #[test]
    fn zero_never_holds() {
        let hold = Hold::new(0);
        hold.hold(hold.mark());
        assert_eq!(hold.cost().0, 0);
    }
}
