//! What makes a run repeatable. A script has no I/O and no timers; given
//! its tool results, only `Math.random()` and the clock (`Date.now()`,
//! `new Date()`, `Date()`) can differ between two runs of it. A run
//! submitted with `record` reports its generator's seed and every clock
//! reading; a run submitted with those replays them exactly, then reads
//! the real clock. This is what a suspended script is resumed from
//! (durable scripts: the host keeps the journal of tool results).

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

/// The most distinct clock readings one run records. Readings repeat
/// (a loop that polls `Date.now()` reads the same millisecond many
/// times), so they are kept as runs of equal values; past this many runs
/// the run stops recording and can no longer be replayed.
pub const MAX_CLOCK_RUNS: usize = 4096;

/// A run's nondeterminism, given when it is submitted.
#[derive(Debug, Clone, Default)]
pub struct Determinism {
    /// `Math.random`'s seed; a fresh unpredictable one when absent.
    pub seed: Option<u64>,
    /// Clock readings to give back first, in order, as recorded.
    pub clock: Vec<ClockRun>,
    /// Report the seed and the readings in the result (`replay`).
    pub record: bool,
    /// Say each time the script waits on its calls with nothing else to
    /// run (`Outgoing::Idle`): a replaying host checks its replay then.
    pub report_idle: bool,
}

/// `count` clock readings in a row that gave `ms`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ClockRun {
    pub ms: f64,
    pub count: u32,
}

/// What a recording run reports: enough to run it again the same way.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplayRecord {
    /// The seed as decimal text: a JavaScript number cannot hold 64 bits.
    pub seed: String,
    /// Every clock reading, in order; `None` when there were too many
    /// distinct ones to keep (`MAX_CLOCK_RUNS`).
    pub clock: Option<Vec<ClockRun>>,
}

/// One script's clock: recorded readings first, then the real clock.
#[derive(Debug, Default)]
pub struct ScriptClock {
    replay: VecDeque<ClockRun>,
    /// `None` when not recording, or once recording gave up.
    recorded: Option<Vec<ClockRun>>,
    overflowed: bool,
}

impl ScriptClock {
    pub fn new(replay: Vec<ClockRun>, record: bool) -> ScriptClock {
        ScriptClock {
            replay: replay.into_iter().filter(|r| r.count > 0).collect(),
            recorded: record.then(Vec::new),
            overflowed: false,
        }
    }

    /// The time now, in milliseconds since the epoch, as the script sees it.
    pub fn now(&mut self) -> f64 {
        let ms = match self.replay.front_mut() {
            Some(run) => {
                let ms = run.ms;
                run.count -= 1;
                if run.count == 0 {
                    self.replay.pop_front();
                }
                ms
            }
            None => real_now(),
        };
        self.note(ms);
        ms
    }

    fn note(&mut self, ms: f64) {
        let Some(recorded) = self.recorded.as_mut() else {
            return;
        };
        if let Some(last) = recorded.last_mut()
            && last.ms == ms
            && last.count < u32::MAX
        {
            last.count += 1;
        } else if recorded.len() >= MAX_CLOCK_RUNS {
            self.recorded = None;
            self.overflowed = true;
        } else {
            recorded.push(ClockRun { ms, count: 1 });
        }
    }

    /// The readings recorded, or `None` when not recording or too many.
    pub fn take_recorded(&mut self) -> Option<Vec<ClockRun>> {
        if self.overflowed {
            return None;
        }
        self.recorded.take()
    }
}

/// Whole milliseconds since the epoch, as QuickJS's `Date.now()` gives.
fn real_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_millis() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replayed_readings_come_first_then_the_real_clock_and_all_are_recorded() {
        let mut clock = ScriptClock::new(
            vec![
                ClockRun { ms: 5.0, count: 2 },
                ClockRun { ms: 9.0, count: 1 },
            ],
            true,
        );
        assert_eq!([clock.now(), clock.now(), clock.now()], [5.0, 5.0, 9.0]);
        let live = clock.now();
        assert!(live > 1.7e12, "the real clock after the replay: {live}");
        let recorded = clock.take_recorded().unwrap();
        assert_eq!(
            recorded[..2],
            [
                ClockRun { ms: 5.0, count: 2 },
                ClockRun { ms: 9.0, count: 1 }
            ]
        );
        assert_eq!(recorded.iter().map(|r| r.count).sum::<u32>(), 4);
    }

    #[test]
    fn a_clock_not_recording_keeps_nothing_and_too_many_readings_give_up() {
        let mut quiet = ScriptClock::new(Vec::new(), false);
        quiet.now();
        assert_eq!(quiet.take_recorded(), None);
        let many: Vec<ClockRun> = (0..=MAX_CLOCK_RUNS)
            .map(|i| ClockRun {
                ms: i as f64,
                count: 1,
            })
            .collect();
        let mut clock = ScriptClock::new(many, true);
        for _ in 0..=MAX_CLOCK_RUNS {
            clock.now();
        }
        assert_eq!(clock.take_recorded(), None);
    }
}
