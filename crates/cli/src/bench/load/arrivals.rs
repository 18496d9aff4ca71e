//! The receiving side of a run: messages arriving at a consumer's listener, which the
//! client calls from many tasks at once. Each arrival is recorded with how long it took
//! since its send started, on one recorder behind a lock, and reported a line per second
//! like operations are. Arrivals that carry their send's number are counted once each, so
//! that duplicates and losses show: a bitmap of one bit per send, so its memory grows with
//! the length of the run and never past [`MAX_TRACKED`] sends.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::{mpsc, Notify};
use tokio::task::JoinHandle;

use super::recorder::{Completion, Recorder};
use super::reporter::{Collected, Reporter};

/// The most sends whose arrivals are told apart (32 MiB of bitmap); later ones are counted
/// as untracked.
pub const MAX_TRACKED: u64 = 1 << 28;
/// How often a quiet second is handed to the reporter.
const TICK: Duration = Duration::from_millis(100);

/// What arrived so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ArrivalCounts {
    /// Every arrival, duplicates included.
    pub received: u64,
    /// Sends that arrived at least once (of those that carry their number).
    pub distinct: u64,
    /// Arrivals of a send that had arrived before.
    pub duplicates: u64,
    /// Arrivals without a send number the bitmap can hold.
    pub untracked: u64,
    /// First arrivals that count in the summary (warm-up excluded).
    pub measured: u64,
}

/// Sends seen, one bit each.
#[derive(Debug, Default)]
struct Seen {
    bits: Vec<u64>,
}

impl Seen {
    /// Marks `seq`; whether it was new.
    fn insert(&mut self, seq: u64) -> bool {
        let word = usize::try_from(seq / 64).unwrap_or(usize::MAX);
        if word >= self.bits.len() {
            self.bits.resize(word + 1, 0);
        }
        let bit = 1u64 << (seq % 64);
        let new = self.bits[word] & bit == 0;
        self.bits[word] |= bit;
        new
    }
}

#[derive(Debug)]
struct State {
    /// `None` once finished.
    recorder: Option<Recorder>,
    seen: Seen,
    counts: ArrivalCounts,
}

/// Records arrivals; shared by every listener call.
#[derive(Debug)]
pub struct Arrivals {
    state: Mutex<State>,
    changed: Notify,
}

impl Arrivals {
    /// Starts recording arrivals of a run that started at `start` (its first `warmup` left
    /// out of the summary), printing a line per second marked `label`. Returns the meter and
    /// the reporter, which ends with the collected figures after [`Arrivals::finish`].
    /// Must be called within a tokio runtime.
    pub fn start(
        start: Instant,
        warmup: Duration,
        label: &'static str,
        count: Option<u64>,
    ) -> (Arc<Arrivals>, JoinHandle<Collected>) {
        let (events, events_rx) = mpsc::unbounded_channel();
        let reporter = Reporter::new(start, warmup, 1, count).with_label(Some(label));
        let reporter = tokio::spawn(reporter.run(events_rx));
        let arrivals = Arc::new(Arrivals {
            state: Mutex::new(State {
                recorder: Some(Recorder::new(0, start, events)),
                seen: Seen::default(),
                counts: ArrivalCounts::default(),
            }),
            changed: Notify::new(),
        });
        let ticker = Arc::clone(&arrivals);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(TICK);
            loop {
                tick.tick().await;
                let mut state = ticker.state();
                match state.recorder.as_mut() {
                    Some(recorder) => recorder.roll_if_due(Instant::now()),
                    None => return,
                }
            }
        });
        (arrivals, reporter)
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records one arrival at `now`, `latency` after its send started; `seq` is the send's
    /// number when the message carries one. Arrivals after [`Arrivals::finish`] are ignored.
    pub fn arrive(&self, now: Instant, latency: Duration, measured: bool, seq: Option<u64>) {
        let mut guard = self.state();
        let state = &mut *guard;
        if state.recorder.is_none() {
            return;
        }
        state.counts.received += 1;
        let first = match seq {
            Some(seq) if seq < MAX_TRACKED => {
                let new = state.seen.insert(seq);
                if new {
                    state.counts.distinct += 1;
                } else {
                    state.counts.duplicates += 1;
                }
                new
            }
            _ => {
                state.counts.untracked += 1;
                true
            }
        };
        // A duplicate counts once, in the counts: the latency summary is of first arrivals.
        if let (true, Some(recorder)) = (first, state.recorder.as_mut()) {
            if measured {
                state.counts.measured += 1;
            }
            let intended = now.checked_sub(latency).unwrap_or(now);
            recorder.record(Completion {
                measured,
                intended,
                started: intended,
                done: now,
                messages: 1,
                outcome: Ok(()),
            });
        }
        drop(guard);
        self.changed.notify_waiters();
    }

    /// What arrived so far.
    pub fn counts(&self) -> ArrivalCounts {
        self.state().counts
    }

    /// Waits until `enough` says the counts are enough, or until `deadline`; returns the
    /// counts then.
    pub async fn wait_until(
        &self,
        deadline: Instant,
        enough: impl Fn(&ArrivalCounts) -> bool,
    ) -> ArrivalCounts {
        loop {
            let changed = self.changed.notified();
            let counts = self.counts();
            if enough(&counts) || Instant::now() >= deadline {
                return counts;
            }
            // Re-check now and then even without news (a notification between the check
            // and the wait is not lost, since `notified` was created before the check).
            let nap = deadline.saturating_duration_since(Instant::now()).min(TICK);
            let _ = tokio::time::timeout(nap, changed).await;
        }
    }

    /// Ends the recording: the reporter prints the last second and returns.
    pub fn finish(&self) {
        if let Some(recorder) = self.state().recorder.take() {
            recorder.finish();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_send_is_counted_once() {
        let mut seen = Seen::default();
        assert!(seen.insert(0));
        assert!(seen.insert(1_000));
        assert!(!seen.insert(1_000));
        assert!(seen.insert(63));
        assert!(seen.insert(64));
        assert!(!seen.insert(0));
        assert_eq!(seen.bits.len(), 1_000 / 64 + 1);
    }

    #[tokio::test]
    async fn arrivals_are_counted_summarised_and_reported() {
        let start = Instant::now();
        let (arrivals, reporter) = Arrivals::start(start, Duration::ZERO, "e2e", None);
        let now = Instant::now();
        arrivals.arrive(now, Duration::from_micros(300), true, Some(0));
        arrivals.arrive(now, Duration::from_micros(500), true, Some(1));
        arrivals.arrive(now, Duration::from_micros(900), true, Some(1));
        arrivals.arrive(now, Duration::from_micros(700), false, None);
        let counts =
            arrivals.wait_until(Instant::now() + Duration::from_secs(5), |c| c.received >= 4).await;
        assert_eq!(
            counts,
            ArrivalCounts { received: 4, distinct: 2, duplicates: 1, untracked: 1, measured: 2 }
        );
        arrivals.finish();
        // Ignored once finished.
        arrivals.arrive(now, Duration::from_micros(1), true, Some(2));
        assert_eq!(arrivals.counts().received, 4);
        let collected = reporter.await.unwrap();
        let totals = collected.totals;
        // Two measured first arrivals; the warm-up one and the duplicate are left out.
        assert_eq!(totals.messages, 2);
        assert_eq!(totals.warmup_operations, 1);
        assert_eq!(totals.latency.max(), 500);
        assert_eq!(collected.lines.iter().map(|l| l.messages).sum::<u64>(), 3);
    }

    #[tokio::test]
    async fn waiting_ends_at_the_deadline_when_too_little_arrives() {
        let (arrivals, _reporter) = Arrivals::start(Instant::now(), Duration::ZERO, "c", None);
        let counts = arrivals
            .wait_until(Instant::now() + Duration::from_millis(50), |c| c.received >= 1)
            .await;
        assert_eq!(counts.received, 0);
        arrivals.finish();
    }
}
