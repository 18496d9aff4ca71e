//! What each worker measured, recorded without a shared lock: every worker owns its
//! histograms and hands the current second's over to the reporter (through a channel) when
//! the second ends — on its next record, or from its own boundary timer while it waits, so a
//! worker stuck in a slow operation still reports on time.
//!
//! Seconds are counted from the run's start: interval `k` covers `[k s, k+1 s)`. A
//! completion lands in the interval in which it is recorded. A recorder fed from callbacks
//! rather than through [`Recorder::during`] (a consumer's listener) hands seconds over as
//! records cross them; while it is idle, the reporter prints without it after a grace period.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tokio::sync::mpsc;
use tokio::time::Sleep;

use super::summary::{new_histogram, new_interval_histogram, record};
use super::Failure;

/// One worker's figures for one second.
#[derive(Debug)]
pub struct IntervalStats {
    /// Latencies of every operation completed in the second, warm-up included.
    pub latency: Histogram<u64>,
    pub messages: u64,
    pub errors: u64,
}

impl IntervalStats {
    /// No operations yet.
    pub fn empty() -> IntervalStats {
        IntervalStats { latency: new_interval_histogram(), messages: 0, errors: 0 }
    }

    /// Adds `other` (another worker's figures for the same second).
    pub fn add(&mut self, other: &IntervalStats) {
        // Both histograms auto-resize, so adding cannot overflow their range.
        let _ = self.latency.add(&other.latency);
        self.messages += other.messages;
        self.errors += other.errors;
    }
}

/// One worker's figures for the measured part of the run (warm-up excluded).
#[derive(Debug)]
pub struct Totals {
    /// Latency of each measured operation: from when it was due (paced) or started
    /// (unpaced) to its completion.
    pub latency: Histogram<u64>,
    /// How late each paced operation started after its due time (the bench's own delay).
    pub lag: Histogram<u64>,
    pub operations: u64,
    pub messages: u64,
    pub errors: BTreeMap<String, u64>,
    pub warmup_operations: u64,
    /// When the last measured operation completed.
    pub last_completion: Option<Instant>,
}

impl Default for Totals {
    fn default() -> Totals {
        Totals::new()
    }
}

impl Totals {
    /// Empty totals.
    pub fn new() -> Totals {
        Totals {
            latency: new_histogram(),
            lag: new_histogram(),
            operations: 0,
            messages: 0,
            errors: BTreeMap::new(),
            warmup_operations: 0,
            last_completion: None,
        }
    }

    /// Adds another worker's totals.
    pub fn add(&mut self, other: &Totals) {
        let _ = self.latency.add(&other.latency);
        let _ = self.lag.add(&other.lag);
        self.operations += other.operations;
        self.messages += other.messages;
        for (kind, n) in &other.errors {
            *self.errors.entry(kind.clone()).or_default() += n;
        }
        self.warmup_operations += other.warmup_operations;
        self.last_completion = self.last_completion.max(other.last_completion);
    }

    /// Errors of every kind.
    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }
}

/// What workers tell the reporter.
#[derive(Debug)]
pub enum Event {
    /// Interval `index` is over for `worker`; its next report will be for `next` or later.
    Interval { worker: usize, index: u64, next: u64, stats: IntervalStats },
    /// The worker has finished; these are its measured totals.
    Done { worker: usize, totals: Box<Totals> },
}

/// A worker's recorder. Not shared: each worker owns one.
#[derive(Debug)]
pub struct Recorder {
    worker: usize,
    start: Instant,
    interval: u64,
    boundary: Pin<Box<Sleep>>,
    current: IntervalStats,
    totals: Totals,
    events: mpsc::UnboundedSender<Event>,
}

/// How one operation went, for [`Recorder::record`].
#[derive(Debug)]
pub struct Completion<'a> {
    /// Whether it counts in the summary (false during the warm-up).
    pub measured: bool,
    /// When it was due (paced) or started (unpaced).
    pub intended: Instant,
    /// When it actually started.
    pub started: Instant,
    /// When it completed.
    pub done: Instant,
    pub messages: u64,
    pub outcome: Result<(), &'a Failure>,
}

impl Recorder {
    /// A recorder for `worker` of a run that started at `start`, reporting to `events`.
    /// Must be made within a tokio runtime (it owns a timer).
    pub fn new(worker: usize, start: Instant, events: mpsc::UnboundedSender<Event>) -> Recorder {
        let interval = start.elapsed().as_secs();
        let boundary = Box::pin(tokio::time::sleep_until(boundary_after(start, interval)));
        Recorder {
            worker,
            start,
            interval,
            boundary,
            current: IntervalStats::empty(),
            totals: Totals::new(),
            events,
        }
    }

    /// Runs `work` to completion, handing the current second over whenever one ends
    /// meanwhile.
    pub async fn during<F: Future>(&mut self, work: F) -> F::Output {
        tokio::pin!(work);
        loop {
            tokio::select! {
                biased;
                out = &mut work => return out,
                () = &mut self.boundary => self.roll(Instant::now()),
            }
        }
    }

    /// Records one completed operation.
    pub fn record(&mut self, c: Completion<'_>) {
        self.roll_if_due(c.done);
        let latency = c.done.saturating_duration_since(c.intended);
        record(&mut self.current.latency, latency);
        match c.outcome {
            Ok(()) => self.current.messages += c.messages,
            Err(_) => self.current.errors += 1,
        }
        if !c.measured {
            self.totals.warmup_operations += 1;
            return;
        }
        record(&mut self.totals.latency, latency);
        record(&mut self.totals.lag, c.started.saturating_duration_since(c.intended));
        self.totals.operations += 1;
        self.totals.last_completion = Some(c.done);
        match c.outcome {
            Ok(()) => self.totals.messages += c.messages,
            Err(failure) => *self.totals.errors.entry(failure.kind().to_string()).or_default() += 1,
        }
    }

    /// Hands the current second over if it has ended by `now` (a recorder fed from callbacks
    /// calls this from a ticker, so a quiet second is reported on time).
    pub fn roll_if_due(&mut self, now: Instant) {
        if now >= self.start + Duration::from_secs(self.interval + 1) {
            self.roll(now);
        }
    }

    /// Hands over the last, partial second and the totals.
    pub fn finish(mut self) {
        let next = self.interval + 1;
        let stats = std::mem::replace(&mut self.current, IntervalStats::empty());
        let _ = self.events.send(Event::Interval {
            worker: self.worker,
            index: self.interval,
            next,
            stats,
        });
        let _ =
            self.events.send(Event::Done { worker: self.worker, totals: Box::new(self.totals) });
    }

    /// Ends the current interval at `now` and starts the one `now` falls in.
    fn roll(&mut self, now: Instant) {
        let next = now.saturating_duration_since(self.start).as_secs().max(self.interval + 1);
        let stats = std::mem::replace(&mut self.current, IntervalStats::empty());
        // The reporter outlives the workers; if it is gone the run is being torn down.
        let _ = self.events.send(Event::Interval {
            worker: self.worker,
            index: self.interval,
            next,
            stats,
        });
        self.interval = next;
        let deadline = boundary_after(self.start, next);
        self.boundary.as_mut().reset(deadline);
    }
}

/// The end of interval `index`, as a tokio instant.
fn boundary_after(start: Instant, index: u64) -> tokio::time::Instant {
    tokio::time::Instant::from_std(start + Duration::from_secs(index + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn completion(measured: bool, at: Instant, latency_us: u64, ok: bool) -> Completion<'static> {
        static FAILURE: std::sync::OnceLock<Failure> = std::sync::OnceLock::new();
        let failure = FAILURE.get_or_init(|| Failure::new("timeout"));
        let intended = at - Duration::from_micros(latency_us);
        Completion {
            measured,
            intended,
            started: intended,
            done: at,
            messages: 1,
            outcome: if ok { Ok(()) } else { Err(failure) },
        }
    }

    #[tokio::test]
    async fn seconds_are_handed_over_as_they_end_and_totals_at_the_finish() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        // A run that started 2.5 s ago: the recorder starts in interval 2.
        let start = Instant::now() - Duration::from_millis(2_500);
        let mut recorder = Recorder::new(3, start, tx);
        recorder.record(completion(false, start + Duration::from_millis(2_600), 100, true));
        recorder.record(completion(true, start + Duration::from_millis(2_700), 200, false));
        // A completion in second 4 ends interval 2 (nothing happened in second 3).
        recorder.record(completion(true, start + Duration::from_millis(4_100), 300, true));
        recorder.finish();
        let Some(Event::Interval { worker: 3, index: 2, next: 4, stats }) = rx.recv().await else {
            panic!("expected interval 2");
        };
        assert_eq!((stats.messages, stats.errors, stats.latency.len()), (1, 1, 2));
        let Some(Event::Interval { index: 4, next: 5, stats, .. }) = rx.recv().await else {
            panic!("expected interval 4");
        };
        assert_eq!(stats.messages, 1);
        let Some(Event::Done { worker: 3, totals }) = rx.recv().await else {
            panic!("expected the totals");
        };
        assert_eq!((totals.operations, totals.messages, totals.warmup_operations), (2, 1, 1));
        assert_eq!(totals.errors.get("timeout"), Some(&1));
        assert_eq!(totals.latency.len(), 2);
        assert_eq!(totals.latency.max(), 300);
    }

    #[tokio::test]
    async fn a_worker_waiting_on_slow_work_still_reports_each_second() {
        tokio::time::pause();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let start = Instant::now();
        let mut recorder = Recorder::new(0, start, tx);
        // The paused clock auto-advances: this "takes" 2.5 s of virtual time at once.
        recorder.during(tokio::time::sleep(Duration::from_millis(2_500))).await;
        let mut indexes = Vec::new();
        while let Ok(Event::Interval { index, .. }) = rx.try_recv() {
            indexes.push(index);
        }
        assert_eq!(indexes, [0, 1]);
    }

    #[test]
    fn totals_add_up_across_workers() {
        let mut a = Totals::new();
        let mut b = Totals::new();
        a.operations = 2;
        a.errors.insert("timeout".into(), 1);
        b.operations = 3;
        b.errors.insert("timeout".into(), 2);
        b.errors.insert("refused".into(), 1);
        b.latency.record(10).unwrap();
        a.add(&b);
        assert_eq!(a.operations, 5);
        assert_eq!(a.error_count(), 4);
        assert_eq!(a.errors.get("timeout"), Some(&3));
        assert_eq!(a.latency.len(), 1);
    }
}
