//! The pacer of open-loop runs: a thread of its own that releases one permit per operation
//! when the operation is due. Tokio's timers tick in whole milliseconds, far too coarse at
//! 10,000 operations a second (100 µs apart); a dedicated thread sleeping with a 1 µs timer
//! slack starts operations within a few tens of microseconds of their due time. Whatever
//! delay remains is measured (the "schedule lag") and counts in the latency, which is
//! measured from the due time.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

use super::schedule::{Schedule, Ticket};

/// The longest the pacer sleeps at once, so a stop request is seen quickly.
const MAX_NAP: Duration = Duration::from_millis(10);
/// The most permits released in one go (a pacer that fell far behind catches up in steps).
const MAX_RELEASE: u64 = 4096;

/// Starts the pacer: permits for operations `0, 1, …` as they fall due, until the schedule
/// or `stop` ends the run; then one more permit per worker, so that every worker wakes, draws
/// a number past the end, and stops.
pub fn spawn(
    schedule: Schedule,
    start: Instant,
    permits: Arc<Semaphore>,
    workers: usize,
    stop: Arc<AtomicBool>,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new().name("bench-pacer".into()).spawn(move || {
        tighten_timer_slack();
        let mut released = 0u64;
        while !stop.load(Ordering::Relaxed) {
            if schedule.paced_ticket(released) == Ticket::Done {
                break;
            }
            let now = Instant::now();
            let due = start + schedule.due(released).unwrap_or_default();
            if due > now {
                std::thread::sleep((due - now).min(MAX_NAP));
                continue;
            }
            let first = released;
            while released - first < MAX_RELEASE
                && schedule.paced_ticket(released) != Ticket::Done
                && start + schedule.due(released).unwrap_or_default() <= now
            {
                released += 1;
            }
            permits.add_permits(usize::try_from(released - first).unwrap_or(usize::MAX));
        }
        permits.add_permits(workers);
    })
}

/// Asks the kernel to wake this thread within 1 µs of its sleep's end rather than the
/// default 50 µs. Best effort: without it pacing is merely a little later.
fn tighten_timer_slack() {
    if let Err(e) = std::fs::write("/proc/thread-self/timerslack_ns", "1000") {
        tracing::debug!("cannot tighten the pacer's timer slack: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::load::schedule::Limit;

    #[test]
    fn releases_one_permit_per_operation_then_one_per_worker() {
        let schedule = Schedule {
            rate: Some(100_000),
            messages_per_op: 1,
            warmup: Duration::from_millis(1),
            limit: Limit::Count(50),
        };
        let permits = Arc::new(Semaphore::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let pacer =
            spawn(schedule, Instant::now(), Arc::clone(&permits), 3, Arc::clone(&stop)).unwrap();
        pacer.join().unwrap();
        // 100 warm-up operations (1 ms at 100,000/s), 50 measured, 3 for the workers.
        assert_eq!(permits.available_permits(), 153);
    }

    #[test]
    fn a_stop_request_ends_a_long_run_quickly() {
        let schedule = Schedule {
            rate: Some(1),
            messages_per_op: 1,
            warmup: Duration::ZERO,
            limit: Limit::Duration(Duration::from_secs(3_600)),
        };
        let permits = Arc::new(Semaphore::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let started = Instant::now();
        let pacer = spawn(schedule, started, Arc::clone(&permits), 2, Arc::clone(&stop)).unwrap();
        std::thread::sleep(Duration::from_millis(30));
        stop.store(true, Ordering::Relaxed);
        pacer.join().unwrap();
        assert!(started.elapsed() < Duration::from_secs(5));
        // Operation 0 was due at once; then the two wake-ups for the workers.
        assert_eq!(permits.available_permits(), 3);
    }
}
