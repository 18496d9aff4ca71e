//! `Table`: counters keyed by two names (topic and `""`, or consumer group and topic),
//! each with its sampled `Series`. Counting takes a read lock and one atomic add, and looks
//! the key up by `&str`, so it allocates nothing once a key exists; a new key takes the
//! write lock once. Memory stays bounded: keys idle for a whole series are dropped at
//! sampling, keys can be removed by their first or second name, and past `capacity` keys
//! new ones are not counted.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError, RwLock};

use super::series::Series;

/// One key's counter.
#[derive(Debug)]
struct Counter {
    total: AtomicU64,
    series: Mutex<Series>,
}

/// Counters by (first, second) name.
#[derive(Debug)]
pub struct Table {
    entries: RwLock<HashMap<String, HashMap<String, Counter>>>,
    len: AtomicUsize,
    capacity: usize,
    /// Samples kept per key.
    samples: usize,
    full_warned: AtomicBool,
}

impl Table {
    /// A table of at most `capacity` keys, each keeping `samples` samples.
    pub fn new(capacity: usize, samples: usize) -> Table {
        Table {
            entries: RwLock::new(HashMap::new()),
            len: AtomicUsize::new(0),
            capacity,
            samples,
            full_warned: AtomicBool::new(false),
        }
    }

    /// Adds `n` to the key's counter, creating it (as 0 at `now_ms`) if needed.
    pub fn add(&self, first: &str, second: &str, n: u64, now_ms: i64) {
        {
            let entries = self.entries.read().unwrap_or_else(PoisonError::into_inner);
            if let Some(counter) = entries.get(first).and_then(|inner| inner.get(second)) {
                counter.total.fetch_add(n, Ordering::Relaxed);
                return;
            }
        }
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        let exists = entries.get(first).is_some_and(|inner| inner.contains_key(second));
        if !exists && self.len.load(Ordering::Relaxed) >= self.capacity {
            if !self.full_warned.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    capacity = self.capacity,
                    "statistics table full: new keys are not counted"
                );
            }
            return;
        }
        let counter =
            entries.entry(first.to_string()).or_default().entry(second.to_string()).or_insert_with(
                || {
                    self.len.fetch_add(1, Ordering::Relaxed);
                    Counter {
                        total: AtomicU64::new(0),
                        series: Mutex::new(Series::new(self.samples, now_ms)),
                    }
                },
            );
        counter.total.fetch_add(n, Ordering::Relaxed);
    }

    /// The key's rate per second (see [`Series::rate`]); 0 for an unknown key.
    pub fn rate(
        &self,
        first: &str,
        second: &str,
        now_ms: i64,
        window_ms: i64,
        min_span_ms: i64,
    ) -> f64 {
        let entries = self.entries.read().unwrap_or_else(PoisonError::into_inner);
        let Some(counter) = entries.get(first).and_then(|inner| inner.get(second)) else {
            return 0.0;
        };
        let total = counter.total.load(Ordering::Relaxed);
        let series = counter.series.lock().unwrap_or_else(PoisonError::into_inner);
        series.rate(now_ms, total, window_ms, min_span_ms)
    }

    /// Samples every counter at `now_ms`, then drops the keys idle over a whole series.
    pub fn sample(&self, now_ms: i64) {
        let mut idle = false;
        {
            let entries = self.entries.read().unwrap_or_else(PoisonError::into_inner);
            for counter in entries.values().flat_map(HashMap::values) {
                let total = counter.total.load(Ordering::Relaxed);
                let mut series = counter.series.lock().unwrap_or_else(PoisonError::into_inner);
                series.record(now_ms, total);
                idle |= series.is_idle(total);
            }
        }
        if idle {
            // Under the write lock no count can land between the check and the removal.
            let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
            let mut removed = 0;
            for inner in entries.values_mut() {
                inner.retain(|_, counter| {
                    let total = counter.total.load(Ordering::Relaxed);
                    let keep = !counter
                        .series
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .is_idle(total);
                    removed += usize::from(!keep);
                    keep
                });
            }
            entries.retain(|_, inner| !inner.is_empty());
            self.len.fetch_sub(removed, Ordering::Relaxed);
        }
    }

    /// Removes every key whose first name is `first`.
    pub fn remove_first(&self, first: &str) {
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(inner) = entries.remove(first) {
            self.len.fetch_sub(inner.len(), Ordering::Relaxed);
        }
    }

    /// Removes every key whose second name is `second`.
    pub fn remove_second(&self, second: &str) {
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        let mut removed = 0;
        for inner in entries.values_mut() {
            removed += usize::from(inner.remove(second).is_some());
        }
        entries.retain(|_, inner| !inner.is_empty());
        self.len.fetch_sub(removed, Ordering::Relaxed);
    }

    /// How many keys are counted.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_700_000_000_000;

    #[test]
    fn counts_rates_and_forgets() {
        let table = Table::new(3, 3);
        table.add("g", "t1", 100, T0);
        table.add("g", "t2", 5, T0);
        table.add("h", "t1", 1, T0);
        table.add("h", "t2", 1, T0);
        assert_eq!(table.len(), 3, "the fourth key is over capacity");
        assert_eq!(table.rate("h", "t2", T0 + 1, 60_000, 10_000), 0.0);
        assert_eq!(table.rate("g", "t1", T0 + 10_000, 60_000, 10_000), 10.0);
        table.remove_second("t1");
        assert_eq!(table.len(), 1);
        assert_eq!(table.rate("g", "t1", T0 + 10_000, 60_000, 10_000), 0.0);
        table.add("h", "t2", 1, T0);
        table.remove_first("g");
        assert_eq!(table.len(), 1);
        table.remove_first("h");
        assert_eq!(table.len(), 0);
    }

    #[test]
    fn keys_idle_over_a_whole_series_are_dropped() {
        let table = Table::new(10, 3);
        table.add("t", "", 7, T0);
        table.add("u", "", 1, T0);
        table.sample(T0 + 10_000);
        table.add("u", "", 1, T0);
        table.sample(T0 + 20_000);
        table.sample(T0 + 30_000);
        assert_eq!(table.len(), 1, "t stood still over 3 samples; u moved");
        assert_eq!(table.rate("t", "", T0 + 30_000, 60_000, 10_000), 0.0);
        assert!(table.rate("u", "", T0 + 30_000, 60_000, 10_000) > 0.0);
    }
}
