//! `Series`: a counter's running total sampled over time, and the rate between the samples.
//! A pure core: the caller passes every time, so the rate math is tested without a clock.

use std::collections::VecDeque;

/// One sample: the counter's total at a time (ms since the epoch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Sample {
    at_ms: i64,
    total: u64,
}

/// The last `capacity` samples of a counter.
#[derive(Debug)]
pub struct Series {
    samples: VecDeque<Sample>,
    capacity: usize,
}

impl Series {
    /// A series for a counter that was 0 at `start_ms`, keeping `capacity` (at least 2)
    /// samples.
    pub fn new(capacity: usize, start_ms: i64) -> Series {
        let capacity = capacity.max(2);
        let mut samples = VecDeque::with_capacity(capacity);
        samples.push_back(Sample { at_ms: start_ms, total: 0 });
        Series { samples, capacity }
    }

    /// Records `total` at `at_ms`, forgetting the oldest sample when full. A sample older
    /// than the newest one (a clock step back) is ignored.
    pub fn record(&mut self, at_ms: i64, total: u64) {
        if self.samples.back().is_some_and(|last| at_ms < last.at_ms) {
            return;
        }
        if self.samples.len() == self.capacity {
            self.samples.pop_front();
        }
        self.samples.push_back(Sample { at_ms, total });
    }

    /// Per second, over about the last `window_ms`: from the newest sample at least
    /// `window_ms` old (the oldest sample when none is that old) to `total` at `now_ms`. The
    /// span counts as at least `min_span_ms`, so a burst just after the counter appeared
    /// reads as that burst spread over `min_span_ms`, not as an absurd rate.
    pub fn rate(&self, now_ms: i64, total: u64, window_ms: i64, min_span_ms: i64) -> f64 {
        let cutoff = now_ms.saturating_sub(window_ms);
        let base = self
            .samples
            .iter()
            .rev()
            .find(|s| s.at_ms <= cutoff)
            .or_else(|| self.samples.front())
            .copied()
            .unwrap_or(Sample { at_ms: now_ms, total });
        let span = now_ms.saturating_sub(base.at_ms).max(min_span_ms).max(1);
        total.saturating_sub(base.total) as f64 * 1000.0 / span as f64
    }

    /// Whether the series is full and the counter has not moved over all of it.
    pub fn is_idle(&self, total: u64) -> bool {
        self.samples.len() == self.capacity && self.samples.iter().all(|s| s.total == total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_700_000_000_000;

    #[test]
    fn steady_traffic_reads_as_its_rate() {
        // 100 messages a second, sampled every 10 s, window 60 s, as the per-topic series.
        let mut series = Series::new(7, T0);
        for i in 1..=10 {
            series.record(T0 + i * 10_000, (i * 1_000) as u64);
        }
        let now = T0 + 100_000;
        assert_eq!(series.rate(now, 10_000, 60_000, 10_000), 100.0);
        // Between samples the live total counts: 5 s later, 500 more.
        assert_eq!(series.rate(now + 5_000, 10_500, 60_000, 10_000), 100.0);
    }

    #[test]
    fn a_burst_after_the_start_is_spread_over_the_minimum_span() {
        let series = Series::new(7, T0);
        assert_eq!(series.rate(T0 + 5, 50, 60_000, 10_000), 5.0, "50 messages over 10 s");
        assert_eq!(series.rate(T0 + 20_000, 50, 60_000, 10_000), 2.5, "over the 20 s since");
        assert_eq!(Series::new(7, T0).rate(T0, 0, 60_000, 10_000), 0.0);
    }

    #[test]
    fn traffic_that_stopped_decays_to_zero() {
        let mut series = Series::new(7, T0);
        series.record(T0 + 10_000, 600);
        for i in 2..=8 {
            series.record(T0 + i * 10_000, 600);
        }
        assert!(series.is_idle(600));
        assert!(!series.is_idle(601));
        assert_eq!(series.rate(T0 + 80_000, 600, 60_000, 10_000), 0.0);
    }

    #[test]
    fn windows_pick_their_base_sample() {
        // Broker-wide series: a sample a second; 10 messages a second for 20 s, then 30.
        let mut series = Series::new(601, T0);
        let mut total = 0;
        for s in 1..=40 {
            total += if s <= 20 { 10 } else { 30 };
            series.record(T0 + s * 1_000, total);
        }
        let now = T0 + 40_000;
        assert_eq!(series.rate(now, total, 10_000, 1_000), 30.0);
        assert_eq!(series.rate(now, total, 60_000, 1_000), 20.0, "the whole 40 s");
        // A clock step back is ignored, and the oldest samples go when full.
        series.record(T0, 0);
        assert_eq!(series.rate(now, total, 10_000, 1_000), 30.0);
        let mut small = Series::new(2, T0);
        small.record(T0 + 1_000, 10);
        small.record(T0 + 2_000, 20);
        assert_eq!(small.rate(T0 + 2_000, 20, 60_000, 1_000), 10.0, "from the oldest kept");
    }
}
