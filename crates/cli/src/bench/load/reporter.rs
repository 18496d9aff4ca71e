//! The per-second report: gathers each worker's figures for a second, prints one line per
//! second once every worker has handed that second over (or half a second after it ended),
//! drives the progress bar of counted runs, and collects the workers' totals at the end.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use tokio::sync::mpsc;

use super::recorder::{Event, IntervalStats, Totals};
use super::summary::{group_digits, ms, Percentiles};

/// How long after a second ends its line waits for workers that have not reported.
const GRACE: Duration = Duration::from_millis(500);

/// One second of the run, as printed and written to the JSON report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IntervalLine {
    /// Seconds since the start at the end of this interval.
    pub elapsed_s: f64,
    pub warmup: bool,
    pub messages: u64,
    /// Messages per second over the interval.
    pub tps: f64,
    pub errors: u64,
    pub p50_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
}

impl IntervalLine {
    /// The interval `index` (of `length`, normally one second) from its merged figures.
    pub fn new(index: u64, length: Duration, warmup: bool, stats: &IntervalStats) -> IntervalLine {
        let p = Percentiles::of(&stats.latency);
        let secs = length.as_secs_f64().max(1e-3);
        IntervalLine {
            elapsed_s: index as f64 + secs,
            warmup,
            messages: stats.messages,
            tps: stats.messages as f64 / secs,
            errors: stats.errors,
            p50_us: p.p50,
            p99_us: p.p99,
            max_us: p.max,
        }
    }

    /// `[  12s] 99,812 msgs/s  p50 0.412 ms  p99 1.203 ms  max 4.001 ms  errors 0`, with
    /// `label` after the time when given (`[  12s] e2e     99,812 msgs/s …`).
    pub fn text(&self, label: Option<&str>) -> String {
        let label = label.map(|l| format!(" {l:<7}")).unwrap_or_default();
        format!(
            "[{:>5.0}s]{label} {:>10} msgs/s  p50 {:>10}  p99 {:>10}  max {:>11}  errors {}{}",
            self.elapsed_s.ceil(),
            group_digits(self.tps.round() as u64),
            ms(self.p50_us),
            ms(self.p99_us),
            ms(self.max_us),
            self.errors,
            if self.warmup { "  (warm-up)" } else { "" }
        )
    }
}

/// What the reporter hands back once every worker has finished.
#[derive(Debug)]
pub struct Collected {
    pub lines: Vec<IntervalLine>,
    pub totals: Totals,
}

/// Prints per-second lines while a run goes on.
#[derive(Debug)]
pub struct Reporter {
    start: Instant,
    warmup: Duration,
    /// Per worker: the first interval it may still report (`u64::MAX` once done).
    watermark: Vec<u64>,
    pending: BTreeMap<u64, IntervalStats>,
    next_line: u64,
    lines: Vec<IntervalLine>,
    totals: Totals,
    bar: ProgressBar,
    label: Option<&'static str>,
}

impl Reporter {
    /// A reporter for `workers` workers; `count` (measured messages) shows a progress bar
    /// when stdout is a terminal.
    pub fn new(start: Instant, warmup: Duration, workers: usize, count: Option<u64>) -> Reporter {
        let bar = match count {
            Some(count) if std::io::stdout().is_terminal() => {
                let bar = ProgressBar::new(count);
                let style = ProgressStyle::with_template(
                    "{bar:40} {pos}/{len} messages  {elapsed_precise} (eta {eta})",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar());
                bar.set_style(style);
                bar
            }
            _ => ProgressBar::hidden(),
        };
        Reporter {
            start,
            warmup,
            watermark: vec![0; workers],
            pending: BTreeMap::new(),
            next_line: 0,
            lines: Vec::new(),
            totals: Totals::new(),
            bar,
            label: None,
        }
    }

    /// Lines carry `label` after the time (when one run prints two kinds of lines).
    pub fn with_label(mut self, label: Option<&'static str>) -> Reporter {
        self.label = label;
        self
    }

    /// Prints lines as workers report, until every worker is done.
    pub async fn run(mut self, mut events: mpsc::UnboundedReceiver<Event>) -> Collected {
        loop {
            let deadline = self.start + Duration::from_secs(self.next_line + 1) + GRACE;
            let event = tokio::select! {
                event = events.recv() => event,
                () = tokio::time::sleep_until(deadline.into()) => {
                    self.print_ready(true, Instant::now());
                    continue;
                }
            };
            match event {
                Some(event) => self.accept(event),
                None => break,
            }
            if self.watermark.iter().all(|w| *w == u64::MAX) {
                break;
            }
            self.print_ready(false, Instant::now());
        }
        let finished = Instant::now();
        self.print_ready(true, finished);
        // Whatever is left is the last, partial second.
        let rest: Vec<(u64, IntervalStats)> =
            std::mem::take(&mut self.pending).into_iter().collect();
        for (index, stats) in rest {
            let begin = self.start + Duration::from_secs(index);
            let length = finished.saturating_duration_since(begin).min(Duration::from_secs(1));
            self.emit(index, length, &stats);
        }
        self.bar.finish_and_clear();
        Collected { lines: self.lines, totals: self.totals }
    }

    fn accept(&mut self, event: Event) {
        match event {
            Event::Interval { worker, index, next, stats } => {
                if let Some(mark) = self.watermark.get_mut(worker) {
                    *mark = (*mark).max(next);
                }
                if index < self.next_line {
                    // Its second was printed already (the worker was very late); the
                    // figures still count in the totals, which workers keep themselves.
                    return;
                }
                match self.pending.get_mut(&index) {
                    Some(merged) => merged.add(&stats),
                    None => {
                        self.pending.insert(index, stats);
                    }
                }
            }
            Event::Done { worker, totals } => {
                if let Some(mark) = self.watermark.get_mut(worker) {
                    *mark = u64::MAX;
                }
                self.totals.add(&totals);
            }
        }
    }

    /// Prints every complete second in order (and, when `force`, every second that ended
    /// more than the grace period ago).
    fn print_ready(&mut self, force: bool, now: Instant) {
        loop {
            let index = self.next_line;
            let ended = self.start + Duration::from_secs(index + 1);
            let everyone = self.watermark.iter().all(|w| *w > index);
            let overdue = force && now >= ended + GRACE;
            if now < ended || !(everyone || overdue) {
                return;
            }
            // A second nobody completed anything in (a stall) prints as an empty line.
            let stats = self.pending.remove(&index).unwrap_or_else(IntervalStats::empty);
            self.emit(index, Duration::from_secs(1), &stats);
        }
    }

    fn emit(&mut self, index: u64, length: Duration, stats: &IntervalStats) {
        let warmup = Duration::from_secs(index) < self.warmup;
        let line = IntervalLine::new(index, length, warmup, stats);
        if !warmup {
            self.bar.inc(stats.messages);
        }
        let text = line.text(self.label);
        if self.bar.is_hidden() {
            println!("{text}");
        } else {
            self.bar.println(text);
        }
        self.lines.push(line);
        self.next_line = self.next_line.max(index + 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(messages: u64, latencies: &[u64]) -> IntervalStats {
        let mut s = IntervalStats::empty();
        s.messages = messages;
        for l in latencies {
            s.latency.record(*l).unwrap();
        }
        s
    }

    #[test]
    fn a_line_shows_rate_percentiles_and_errors() {
        let line =
            IntervalLine::new(11, Duration::from_secs(1), false, &stats(99_812, &[412, 1203]));
        assert_eq!(line.elapsed_s, 12.0);
        assert_eq!(line.tps, 99_812.0);
        let text = line.text(None);
        assert!(text.starts_with("[   12s]     99,812 msgs/s  p50"), "{text}");
        // Per-second histograms keep two significant digits: within 1 %.
        assert!((410..=415).contains(&line.p50_us), "{}", line.p50_us);
        assert!(text.contains("p50   0.41"), "{text}");
        assert!(text.ends_with("errors 0"), "{text}");
        let labelled = line.text(Some("e2e"));
        assert!(labelled.starts_with("[   12s] e2e         99,812 msgs/s  p50"), "{labelled}");
        let warm = IntervalLine::new(0, Duration::from_millis(500), true, &stats(100, &[]));
        assert_eq!(warm.tps, 200.0);
        assert!(warm.text(None).ends_with("(warm-up)"));
    }

    #[tokio::test]
    async fn seconds_are_printed_once_every_worker_reported_them() {
        let start = Instant::now() - Duration::from_secs(4);
        let mut reporter = Reporter::new(start, Duration::from_secs(1), 2, None);
        let now = Instant::now();
        reporter.accept(Event::Interval { worker: 0, index: 0, next: 1, stats: stats(5, &[10]) });
        reporter.print_ready(false, now);
        assert!(reporter.lines.is_empty(), "worker 1 has not reported second 0");
        reporter.accept(Event::Interval { worker: 1, index: 0, next: 2, stats: stats(7, &[20]) });
        reporter.accept(Event::Interval { worker: 0, index: 1, next: 2, stats: stats(1, &[30]) });
        reporter.print_ready(false, now);
        assert_eq!(reporter.lines.len(), 2);
        assert_eq!(reporter.lines[0].messages, 12);
        assert!(reporter.lines[0].warmup);
        assert_eq!(reporter.lines[1].messages, 1);
        assert!(!reporter.lines[1].warmup);
        // Second 2 has ended (the run started 4 s ago) but nobody reported it: only a forced
        // print past the grace period shows it, as an empty second.
        reporter.print_ready(false, now);
        assert_eq!(reporter.lines.len(), 2);
        reporter.print_ready(true, now);
        assert_eq!(reporter.lines.len(), 3);
        assert_eq!(reporter.lines[2].messages, 0);
    }

    #[tokio::test]
    async fn the_run_ends_with_the_totals_once_every_worker_is_done() {
        let start = Instant::now();
        let reporter = Reporter::new(start, Duration::ZERO, 1, Some(10));
        let (tx, rx) = mpsc::unbounded_channel();
        tx.send(Event::Interval { worker: 0, index: 0, next: 1, stats: stats(10, &[5]) }).unwrap();
        let mut totals = Totals::new();
        totals.messages = 10;
        tx.send(Event::Done { worker: 0, totals: Box::new(totals) }).unwrap();
        let collected = reporter.run(rx).await;
        assert_eq!(collected.totals.messages, 10);
        assert_eq!(collected.lines.len(), 1);
        assert_eq!(collected.lines[0].messages, 10);
        assert!(collected.lines[0].elapsed_s <= 1.0);
    }
}
