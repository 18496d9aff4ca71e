//! The schedule of a load run: when each operation is meant to start (open loop, at a fixed
//! rate), which operations are warm-up, which are measured, and when the run is over. Pure
//! arithmetic on offsets from the run's start, so it is tested without clocks.
//!
//! Paced runs number their operations 0, 1, 2, … in start order; operation `seq` is due
//! `seq × messages_per_op / rate` seconds after the start, computed exactly in integers so a
//! long run does not drift. Unpaced (closed-loop) runs have no due times: each worker starts
//! its next operation when its last one ends, and the clock decides the phase.

use std::time::Duration;

const NANOS_PER_SEC: u128 = 1_000_000_000;

/// When a run ends, after its warm-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// After this many measured operations.
    Count(u64),
    /// After operations due (or, unpaced, started) this long after the warm-up.
    Duration(Duration),
}

/// What an operation is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ticket {
    /// Run it, but leave it out of the summary.
    Warmup,
    /// Run and measure it.
    Measured,
    /// The run is over: start nothing more.
    Done,
}

/// A run's pacing, warm-up and limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    /// Messages per second (open loop), or `None` for as fast as possible (closed loop).
    pub rate: Option<u64>,
    /// Messages each operation carries (a batch send carries several).
    pub messages_per_op: u64,
    pub warmup: Duration,
    pub limit: Limit,
}

impl Schedule {
    /// How long after the start paced operation `seq` is due; `None` when unpaced.
    pub fn due(&self, seq: u64) -> Option<Duration> {
        let rate = u128::from(self.rate?.max(1));
        let nanos =
            u128::from(seq) * u128::from(self.messages_per_op.max(1)) * NANOS_PER_SEC / rate;
        Some(duration_from_nanos(nanos))
    }

    /// The first paced operation due at or after the warm-up (the first measured one).
    pub fn first_measured(&self) -> u64 {
        let Some(rate) = self.rate else { return 0 };
        // Smallest seq with seq × per_op × 1e9 / rate ≥ warmup, i.e. seq × per_op × 1e9 ≥
        // warmup × rate (integer division floors, so compare before dividing).
        let per_op = u128::from(self.messages_per_op.max(1)) * NANOS_PER_SEC;
        let target = self.warmup.as_nanos() * u128::from(rate.max(1));
        u64::try_from(target.div_ceil(per_op)).unwrap_or(u64::MAX)
    }

    /// What paced operation `seq` is.
    pub fn paced_ticket(&self, seq: u64) -> Ticket {
        let first = self.first_measured();
        if seq < first {
            return Ticket::Warmup;
        }
        let in_limit = match self.limit {
            Limit::Count(count) => seq - first < count,
            Limit::Duration(length) => {
                self.due(seq).is_some_and(|due| due < self.warmup.saturating_add(length))
            }
        };
        if in_limit {
            Ticket::Measured
        } else {
            Ticket::Done
        }
    }

    /// What an unpaced operation starting `elapsed` after the start is, given that
    /// `measured_before` measured operations were started before it.
    pub fn unpaced_ticket(&self, elapsed: Duration, measured_before: u64) -> Ticket {
        if elapsed < self.warmup {
            return Ticket::Warmup;
        }
        let in_limit = match self.limit {
            Limit::Count(count) => measured_before < count,
            Limit::Duration(length) => elapsed < self.warmup.saturating_add(length),
        };
        if in_limit {
            Ticket::Measured
        } else {
            Ticket::Done
        }
    }

    /// Whether the run is counted (a progress bar can show how far it is).
    pub fn count(&self) -> Option<u64> {
        match self.limit {
            Limit::Count(count) => Some(count),
            Limit::Duration(_) => None,
        }
    }
}

fn duration_from_nanos(nanos: u128) -> Duration {
    let secs = u64::try_from(nanos / NANOS_PER_SEC).unwrap_or(u64::MAX);
    // The remainder is below 1e9, so it fits.
    let sub = u32::try_from(nanos % NANOS_PER_SEC).unwrap_or(0);
    Duration::new(secs, sub)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paced(rate: u64, per_op: u64, warmup_ms: u64, limit: Limit) -> Schedule {
        Schedule {
            rate: Some(rate),
            messages_per_op: per_op,
            warmup: Duration::from_millis(warmup_ms),
            limit,
        }
    }

    #[test]
    fn due_times_are_exact_and_do_not_drift() {
        let s = paced(10_000, 1, 0, Limit::Count(10));
        assert_eq!(s.due(0), Some(Duration::ZERO));
        assert_eq!(s.due(1), Some(Duration::from_micros(100)));
        assert_eq!(s.due(10_000), Some(Duration::from_secs(1)));
        // 3 ops/s: 1/3 s does not divide evenly, but op 3 × 10^9 lands exactly on 10^9 s.
        let thirds = paced(3, 1, 0, Limit::Count(10));
        assert_eq!(thirds.due(1), Some(Duration::from_nanos(333_333_333)));
        assert_eq!(thirds.due(3_000_000_000), Some(Duration::from_secs(1_000_000_000)));
        // A batch of 10 at 10,000 msgs/s is 1,000 ops/s.
        let batched = paced(10_000, 10, 0, Limit::Count(10));
        assert_eq!(batched.due(1), Some(Duration::from_millis(1)));
        let unpaced = Schedule { rate: None, ..s };
        assert_eq!(unpaced.due(5), None);
    }

    #[test]
    fn warmup_operations_come_first_then_a_counted_run() {
        let s = paced(1_000, 1, 2_000, Limit::Count(5));
        assert_eq!(s.first_measured(), 2_000);
        assert_eq!(s.paced_ticket(0), Ticket::Warmup);
        assert_eq!(s.paced_ticket(1_999), Ticket::Warmup);
        assert_eq!(s.paced_ticket(2_000), Ticket::Measured);
        assert_eq!(s.paced_ticket(2_004), Ticket::Measured);
        assert_eq!(s.paced_ticket(2_005), Ticket::Done);
        // A warm-up that is not a whole number of intervals rounds up to the next due time.
        let odd = paced(3, 1, 1_000, Limit::Count(1));
        assert_eq!(odd.first_measured(), 3);
        let odd = paced(3, 1, 1_100, Limit::Count(1));
        assert_eq!(odd.first_measured(), 4);
        assert_eq!(odd.due(4).map(|d| d >= Duration::from_millis(1_100)), Some(true));
        assert_eq!(odd.due(3).map(|d| d < Duration::from_millis(1_100)), Some(true));
    }

    #[test]
    fn a_timed_paced_run_ends_with_the_last_operation_due_before_its_end() {
        let s = paced(100, 1, 1_000, Limit::Duration(Duration::from_secs(2)));
        // Due times 0, 10 ms, … ; measured from 1 s up to (not including) 3 s.
        assert_eq!(s.paced_ticket(99), Ticket::Warmup);
        assert_eq!(s.paced_ticket(100), Ticket::Measured);
        assert_eq!(s.paced_ticket(299), Ticket::Measured);
        assert_eq!(s.paced_ticket(300), Ticket::Done);
        assert_eq!(s.count(), None);
    }

    #[test]
    fn unpaced_runs_follow_the_clock_and_the_count() {
        let timed = Schedule {
            rate: None,
            messages_per_op: 1,
            warmup: Duration::from_secs(1),
            limit: Limit::Duration(Duration::from_secs(5)),
        };
        assert_eq!(timed.unpaced_ticket(Duration::from_millis(999), 0), Ticket::Warmup);
        assert_eq!(timed.unpaced_ticket(Duration::from_secs(1), 0), Ticket::Measured);
        assert_eq!(timed.unpaced_ticket(Duration::from_millis(5_999), 9_999), Ticket::Measured);
        assert_eq!(timed.unpaced_ticket(Duration::from_secs(6), 0), Ticket::Done);
        let counted = Schedule { limit: Limit::Count(3), warmup: Duration::ZERO, ..timed };
        assert_eq!(counted.unpaced_ticket(Duration::from_secs(100), 2), Ticket::Measured);
        assert_eq!(counted.unpaced_ticket(Duration::ZERO, 3), Ticket::Done);
        assert_eq!(counted.count(), Some(3));
    }
}
