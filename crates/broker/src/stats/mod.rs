//! Message statistics: how many messages were put per topic and pulled per consumer group
//! and topic, broker-wide totals, and rates as RocketMQ reports them — `topicPutTps`
//! (GET_TOPIC_STATS_INFO), `consumeTps` (GET_CONSUME_STATS), and `putTps`,
//! `getTransferredTps` and the `msg{Put,Get}Total*` counts (GET_BROKER_RUNTIME_INFO).
//!
//! RocketMQ's definitions, kept: per-key rates are its "minute" statistics (a sample every
//! 10 s, rate over the last minute); the broker-wide rates are its store statistics (a sample
//! a second, rates over 10 s, 60 s and 600 s); the daily totals leave system topics out and
//! roll over at midnight. FerroMQ differences: the rate runs up to the live count instead of
//! the last sample (so it moves at once), midnight is UTC, and counting starts at boot.
//!
//! Handlers count with no clock read and no allocation once a key exists; the broker's
//! housekeeping calls [`BrokerStats::sample`] every second with the time, which is the only
//! clock this module sees.

mod series;
mod table;

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use ferromq_protocol::topic;

use series::Series;
use table::Table;

/// Period of the per-key samples (RocketMQ: 10 s).
const KEY_SAMPLE_MS: i64 = 10_000;
/// Per-key rate window (RocketMQ's "minute" statistics).
const KEY_WINDOW_MS: i64 = 60_000;
/// Per-key samples kept: a window's worth and one more.
const KEY_SAMPLES: usize = 7;
/// Broker-wide samples: one a second for the longest window, 600 s.
const BROKER_SAMPLES: usize = 601;
/// Broker-wide rate windows, as RocketMQ's `putTps` and `getTransferredTps` list them.
pub const BROKER_WINDOWS_S: [i64; 3] = [10, 60, 600];
/// Most keys per table; past it new keys are not counted.
const MAX_KEYS: usize = 65_536;
const DAY_MS: i64 = 86_400_000;

/// The broker's message statistics.
#[derive(Debug)]
pub struct BrokerStats {
    topic_puts: Table,
    group_gets: Table,
    puts: Direction,
    gets: Direction,
    /// The time of the last sample: when a new key's counter starts.
    clock_ms: AtomicI64,
    last_key_sample_ms: AtomicI64,
}

/// Broker-wide counts one way (put or get).
#[derive(Debug)]
struct Direction {
    all: AtomicU64,
    /// Messages of non-system topics (RocketMQ's daily totals leave system topics out).
    user: AtomicU64,
    state: Mutex<DirectionState>,
}

#[derive(Debug)]
struct DirectionState {
    series: Series,
    day: i64,
    today_morning: u64,
    yesterday_morning: u64,
}

impl Direction {
    fn new(now_ms: i64) -> Direction {
        Direction {
            all: AtomicU64::new(0),
            user: AtomicU64::new(0),
            state: Mutex::new(DirectionState {
                series: Series::new(BROKER_SAMPLES, now_ms),
                day: now_ms.div_euclid(DAY_MS),
                today_morning: 0,
                yesterday_morning: 0,
            }),
        }
    }

    fn add(&self, topic: &str, n: u64) {
        self.all.fetch_add(n, Ordering::Relaxed);
        if !topic::is_system_topic(topic) {
            self.user.fetch_add(n, Ordering::Relaxed);
        }
    }

    fn sample(&self, now_ms: i64) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.series.record(now_ms, self.all.load(Ordering::Relaxed));
        let day = now_ms.div_euclid(DAY_MS);
        if day > state.day {
            state.yesterday_morning = state.today_morning;
            state.today_morning = self.user.load(Ordering::Relaxed);
            state.day = day;
        }
    }

    fn rates(&self, now_ms: i64) -> [f64; 3] {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let total = self.all.load(Ordering::Relaxed);
        BROKER_WINDOWS_S.map(|w| state.series.rate(now_ms, total, w * 1000, 1000))
    }

    fn totals(&self) -> DailyTotals {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        DailyTotals {
            now: self.user.load(Ordering::Relaxed),
            today_morning: state.today_morning,
            yesterday_morning: state.yesterday_morning,
        }
    }
}

/// Message counts of non-system topics since boot: now, and at the last two midnights.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DailyTotals {
    pub now: u64,
    pub today_morning: u64,
    pub yesterday_morning: u64,
}

impl BrokerStats {
    /// Statistics starting at `now_ms`.
    pub fn new(now_ms: i64) -> BrokerStats {
        BrokerStats {
            topic_puts: Table::new(MAX_KEYS, KEY_SAMPLES),
            group_gets: Table::new(MAX_KEYS, KEY_SAMPLES),
            puts: Direction::new(now_ms),
            gets: Direction::new(now_ms),
            clock_ms: AtomicI64::new(now_ms),
            last_key_sample_ms: AtomicI64::new(now_ms),
        }
    }

    /// `n` messages stored to `topic`.
    pub fn record_put(&self, topic: &str, n: u64) {
        self.topic_puts.add(topic, "", n, self.clock_ms.load(Ordering::Relaxed));
        self.puts.add(topic, n);
    }

    /// `n` messages of `topic` returned to a pull of `group`.
    pub fn record_get(&self, group: &str, topic: &str, n: u64) {
        self.group_gets.add(group, topic, n, self.clock_ms.load(Ordering::Relaxed));
        self.gets.add(topic, n);
    }

    /// Messages put to `topic` per second over the last minute (`topicPutTps`).
    pub fn topic_put_tps(&self, topic: &str, now_ms: i64) -> f64 {
        self.topic_puts.rate(topic, "", now_ms, KEY_WINDOW_MS, KEY_SAMPLE_MS)
    }

    /// Messages of `topic` pulled by `group` per second over the last minute (`consumeTps`).
    pub fn consume_tps(&self, group: &str, topic: &str, now_ms: i64) -> f64 {
        self.group_gets.rate(group, topic, now_ms, KEY_WINDOW_MS, KEY_SAMPLE_MS)
    }

    /// Broker-wide puts per second over [`BROKER_WINDOWS_S`].
    pub fn put_tps(&self, now_ms: i64) -> [f64; 3] {
        self.puts.rates(now_ms)
    }

    /// Broker-wide messages pulled per second over [`BROKER_WINDOWS_S`].
    pub fn get_tps(&self, now_ms: i64) -> [f64; 3] {
        self.gets.rates(now_ms)
    }

    /// Daily put totals.
    pub fn put_totals(&self) -> DailyTotals {
        self.puts.totals()
    }

    /// Daily get totals.
    pub fn get_totals(&self) -> DailyTotals {
        self.gets.totals()
    }

    /// Forgets a deleted topic.
    pub fn remove_topic(&self, topic: &str) {
        self.topic_puts.remove_first(topic);
        self.group_gets.remove_second(topic);
    }

    /// Forgets a deleted consumer group.
    pub fn remove_group(&self, group: &str) {
        self.group_gets.remove_first(group);
    }

    /// Takes the samples due at `now_ms`; called about every second.
    pub fn sample(&self, now_ms: i64) {
        self.clock_ms.store(now_ms, Ordering::Relaxed);
        self.puts.sample(now_ms);
        self.gets.sample(now_ms);
        let last = self.last_key_sample_ms.load(Ordering::Relaxed);
        if now_ms.saturating_sub(last) >= KEY_SAMPLE_MS {
            self.last_key_sample_ms.store(now_ms, Ordering::Relaxed);
            self.topic_puts.sample(now_ms);
            self.group_gets.sample(now_ms);
        }
    }

    /// Keys counted (topics, group and topic pairs).
    #[cfg(test)]
    fn keys(&self) -> (usize, usize) {
        (self.topic_puts.len(), self.group_gets.len())
    }
}

/// Rates as RocketMQ's runtime info writes them: space-separated, one per window.
pub fn format_rates(rates: [f64; 3]) -> String {
    let [a, b, c] = rates;
    format!("{a:.2} {b:.2} {c:.2}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Midnight UTC, 2023-11-15.
    const MIDNIGHT: i64 = 1_700_006_400_000;
    const T0: i64 = MIDNIGHT - 3_600_000;

    #[test]
    fn per_key_rates_follow_the_counts() {
        let stats = BrokerStats::new(T0);
        for second in 1..=30 {
            stats.record_put("T", 20);
            stats.record_get("G", "T", 10);
            stats.sample(T0 + second * 1000);
        }
        let now = T0 + 30_000;
        assert_eq!(stats.topic_put_tps("T", now), 20.0);
        assert_eq!(stats.consume_tps("G", "T", now), 10.0);
        assert_eq!(stats.topic_put_tps("other", now), 0.0);
        assert_eq!(stats.consume_tps("G", "other", now), 0.0);
        assert_eq!(stats.put_tps(now), [20.0, 20.0, 20.0]);
        assert_eq!(stats.get_tps(now), [10.0, 10.0, 10.0]);
        assert_eq!(format_rates(stats.put_tps(now)), "20.00 20.00 20.00");
    }

    #[test]
    fn deleted_topics_and_groups_are_forgotten() {
        let stats = BrokerStats::new(T0);
        stats.record_put("T", 1);
        stats.record_get("G", "T", 1);
        stats.record_get("G", "U", 1);
        stats.record_get("H", "U", 1);
        assert_eq!(stats.keys(), (1, 3));
        stats.remove_topic("T");
        assert_eq!(stats.keys(), (0, 2));
        stats.remove_group("G");
        assert_eq!(stats.keys(), (0, 1));
        assert_eq!(stats.put_totals().now, 1, "broker totals stay");
    }

    #[test]
    fn daily_totals_roll_over_at_midnight_and_leave_system_topics_out() {
        let stats = BrokerStats::new(T0);
        stats.record_put("T", 5);
        stats.record_put("rmq_sys_SYNC_BROKER_MEMBER_x", 100);
        stats.record_put("SCHEDULE_TOPIC_XXXX", 100);
        stats.sample(MIDNIGHT - 1);
        let before = stats.put_totals();
        assert_eq!((before.now, before.today_morning, before.yesterday_morning), (5, 0, 0));
        stats.sample(MIDNIGHT + 500);
        stats.record_put("T", 2);
        stats.record_get("G", "T", 3);
        let after = stats.put_totals();
        assert_eq!((after.now, after.today_morning, after.yesterday_morning), (7, 5, 0));
        stats.sample(MIDNIGHT + DAY_MS);
        assert_eq!(stats.put_totals().yesterday_morning, 5);
        assert_eq!(stats.put_totals().today_morning, 7);
        assert_eq!(stats.get_totals().now, 3);
        stats.sample(MIDNIGHT + DAY_MS + 10_000);
        let rates = stats.put_tps(MIDNIGHT + DAY_MS + 10_000);
        assert_eq!(rates[0], 0.0, "nothing in the last 10 s");
        assert!(rates[2] > 0.0, "the 600 s window reaches back to the last puts");
    }
}
