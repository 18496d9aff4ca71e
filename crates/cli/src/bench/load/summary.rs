//! Latency histograms and how they are summarised: the HDR histogram every recorder uses
//! (microseconds, three significant digits), the percentiles a summary reports, and the
//! text formatting of durations and counts.

use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

/// Significant decimal digits kept: 3 gives 1 µs resolution up to about 2 ms, 0.1 % above.
const SIGNIFICANT_DIGITS: u8 = 3;

/// Significant digits of the per-second histograms: 1 % is plenty for a progress line, and
/// their counts take a tenth of the memory (every worker writes one, so cache misses count).
const INTERVAL_SIGNIFICANT_DIGITS: u8 = 2;

/// A new, empty latency histogram in microseconds; it grows to fit the largest value
/// (auto-resizing: it starts small and resizes rarely, as larger values arrive).
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new(SIGNIFICANT_DIGITS).expect("3 significant digits is within hdrhistogram's 0..=5")
}

/// A coarser histogram for one second's progress line.
pub fn new_interval_histogram() -> Histogram<u64> {
    Histogram::new(INTERVAL_SIGNIFICANT_DIGITS)
        .expect("2 significant digits is within hdrhistogram's 0..=5")
}

/// Records `latency` in microseconds (rounded up, so nothing reads as zero).
pub fn record(histogram: &mut Histogram<u64>, latency: Duration) {
    let micros = u64::try_from(latency.as_nanos().div_ceil(1_000)).unwrap_or(u64::MAX).max(1);
    // `record` grows an auto-resizing histogram (`saturating_record` would clamp to its
    // current top instead); past the largest size it can take, clamp.
    if histogram.record(micros).is_err() {
        histogram.saturating_record(micros);
    }
}

/// Latency percentiles in microseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Percentiles {
    pub count: u64,
    pub min: u64,
    pub mean: f64,
    pub p50: u64,
    pub p99: u64,
    #[serde(rename = "p99.6")]
    pub p99_6: u64,
    #[serde(rename = "p99.9")]
    pub p99_9: u64,
    #[serde(rename = "p99.99")]
    pub p99_99: u64,
    #[serde(rename = "p99.996")]
    pub p99_996: u64,
    pub max: u64,
}

impl Percentiles {
    /// The summary of `histogram` (all zero when it is empty).
    pub fn of(histogram: &Histogram<u64>) -> Percentiles {
        if histogram.is_empty() {
            return Percentiles::default();
        }
        let at = |q: f64| histogram.value_at_quantile(q);
        Percentiles {
            count: histogram.len(),
            min: histogram.min(),
            mean: histogram.mean(),
            p50: at(0.50),
            p99: at(0.99),
            p99_6: at(0.996),
            p99_9: at(0.999),
            p99_99: at(0.9999),
            p99_996: at(0.99996),
            max: histogram.max(),
        }
    }

    /// The summary's percentiles, then max.
    pub fn values(&self) -> [(&'static str, u64); 7] {
        [
            ("p50", self.p50),
            ("p99", self.p99),
            ("p99.6", self.p99_6),
            ("p99.9", self.p99_9),
            ("p99.99", self.p99_99),
            ("p99.996", self.p99_996),
            ("max", self.max),
        ]
    }

    /// One line: `p50 0.412 ms  p99 1.203 ms  …  max 9.870 ms`.
    pub fn line(&self) -> String {
        let parts: Vec<String> =
            self.values().iter().map(|(label, us)| format!("{label} {}", ms(*us))).collect();
        parts.join("  ")
    }
}

/// Microseconds as milliseconds with three decimals (`1234` → `1.234 ms`).
pub fn ms(micros: u64) -> String {
    format!("{}.{:03} ms", group_digits(micros / 1_000), micros % 1_000)
}

/// An integer with thousands separators (`1234567` → `1,234,567`).
pub fn group_digits(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A rate with thousands separators, rounded to a whole number.
pub fn rate(per_second: f64) -> String {
    if per_second.is_finite() && per_second >= 0.0 {
        group_digits(per_second.round() as u64)
    } else {
        "-".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_counts_read_well() {
        assert_eq!(ms(0), "0.000 ms");
        assert_eq!(ms(412), "0.412 ms");
        assert_eq!(ms(1_203), "1.203 ms");
        assert_eq!(ms(12_345_678), "12,345.678 ms");
        assert_eq!(group_digits(0), "0");
        assert_eq!(group_digits(999), "999");
        assert_eq!(group_digits(1_000), "1,000");
        assert_eq!(group_digits(1_234_567), "1,234,567");
        assert_eq!(rate(99_999.6), "100,000");
        assert_eq!(rate(f64::NAN), "-");
    }

    #[test]
    fn latencies_round_up_to_whole_microseconds() {
        let mut h = new_histogram();
        record(&mut h, Duration::from_nanos(1));
        record(&mut h, Duration::from_nanos(1_001));
        record(&mut h, Duration::ZERO);
        record(&mut h, Duration::from_secs(30));
        assert_eq!(h.min(), 1);
        assert_eq!(h.len(), 4);
        // The histogram grew to hold 30 s (within its 0.1 % precision).
        assert!(h.max() >= 30_000_000 && h.max() < 30_040_000, "{}", h.max());
    }

    #[test]
    fn percentiles_of_a_known_distribution() {
        let mut h = new_histogram();
        // 100,000 samples: 1..=100,000 µs, one each.
        for us in 1..=100_000u64 {
            h.record(us).unwrap();
        }
        let p = Percentiles::of(&h);
        assert_eq!(p.count, 100_000);
        assert_eq!(p.min, 1);
        // Three significant digits: each percentile within 0.1 % of the exact value.
        let close = |got: u64, exact: u64| (got as f64 - exact as f64).abs() <= exact as f64 / 1e3;
        assert!(close(p.p50, 50_000), "p50 {}", p.p50);
        assert!(close(p.p99, 99_000), "p99 {}", p.p99);
        assert!(close(p.p99_6, 99_600), "p99.6 {}", p.p99_6);
        assert!(close(p.p99_9, 99_900), "p99.9 {}", p.p99_9);
        assert!(close(p.p99_99, 99_990), "p99.99 {}", p.p99_99);
        assert!(close(p.p99_996, 99_996), "p99.996 {}", p.p99_996);
        assert!(close(p.max, 100_000), "max {}", p.max);
        let line = p.line();
        assert!(line.starts_with("p50 50."), "{line}");
        assert!(line.contains("  p99.996 "), "{line}");
        assert!(line.ends_with(" ms"), "{line}");
    }

    #[test]
    fn an_empty_histogram_summarises_to_zeros() {
        let p = Percentiles::of(&new_histogram());
        assert_eq!(p, Percentiles::default());
        assert_eq!(p.values()[6], ("max", 0));
    }

    #[test]
    fn percentiles_serialize_with_dotted_names() {
        let mut h = new_histogram();
        h.record(7).unwrap();
        let json = serde_json::to_value(Percentiles::of(&h)).unwrap();
        assert_eq!(json["p99.996"], 7);
        assert_eq!(json["p99.6"], 7);
        assert_eq!(json["count"], 1);
    }
}
