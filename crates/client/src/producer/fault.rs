//! Latency-based fault avoidance (`sendLatencyFaultEnable`): a broker that answered slowly
//! or failed is passed over for a while, longer the slower it was, as RocketMQ's
//! `MQFaultStrategy` does.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Latency steps (ms) and how long a broker is avoided after reaching each (RocketMQ 5).
const LATENCY_MAX_MS: [u64; 7] = [50, 100, 550, 1_800, 3_000, 5_000, 15_000];
const NOT_AVAILABLE_MS: [u64; 7] = [0, 0, 2_000, 5_000, 6_000, 10_000, 30_000];
/// A failed call counts as this latency.
const FAILURE_LATENCY_MS: u64 = 10_000;

/// How long to avoid a broker after a call that took `latency`.
pub fn not_available_for(latency: Duration) -> Duration {
    let ms = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX);
    let step = LATENCY_MAX_MS.iter().rposition(|max| ms >= *max);
    Duration::from_millis(step.map_or(0, |i| NOT_AVAILABLE_MS[i]))
}

/// Brokers to avoid, and until when.
#[derive(Debug, Default)]
pub struct FaultTable {
    until: Mutex<HashMap<String, Instant>>,
}

impl FaultTable {
    /// Records how a call to `broker` went: its latency, or a failure.
    pub fn record(&self, broker: &str, latency: Duration, failed: bool, now: Instant) {
        let latency = if failed { Duration::from_millis(FAILURE_LATENCY_MS) } else { latency };
        let avoid = not_available_for(latency);
        let mut until = self.until.lock().unwrap_or_else(PoisonError::into_inner);
        if avoid.is_zero() {
            until.remove(broker);
        } else {
            until.insert(broker.to_string(), now + avoid);
        }
    }

    /// Whether `broker` may be sent to at `now`.
    pub fn is_available(&self, broker: &str, now: Instant) -> bool {
        let until = self.until.lock().unwrap_or_else(PoisonError::into_inner);
        until.get(broker).is_none_or(|t| now >= *t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slower_answers_mean_longer_avoidance() {
        let ms = Duration::from_millis;
        assert_eq!(not_available_for(ms(3)), Duration::ZERO);
        assert_eq!(not_available_for(ms(120)), Duration::ZERO);
        assert_eq!(not_available_for(ms(600)), ms(2_000));
        assert_eq!(not_available_for(ms(10_000)), ms(10_000));
        assert_eq!(not_available_for(ms(60_000)), ms(30_000));
    }

    #[test]
    fn a_failed_broker_is_avoided_then_forgiven() {
        let table = FaultTable::default();
        let now = Instant::now();
        table.record("a", Duration::from_millis(1), true, now);
        assert!(!table.is_available("a", now + Duration::from_secs(9)));
        assert!(table.is_available("a", now + Duration::from_secs(10)));
        assert!(table.is_available("b", now));
        table.record("a", Duration::from_millis(1), false, now);
        assert!(table.is_available("a", now), "a fast answer clears the record");
    }
}
