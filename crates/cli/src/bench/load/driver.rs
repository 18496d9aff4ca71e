//! Runs a load: one task per operation in flight, each taking the next operation from the
//! pacer (open loop) or at once (closed loop), running it, and recording how it went; a
//! reporter printing each second; CPU snapshots at the end of the warm-up and of the run.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{mpsc, Semaphore};

use super::cpu::Snapshot;
use super::recorder::{Completion, Recorder};
use super::report::{Measured, Report};
use super::reporter::Reporter;
use super::schedule::{Schedule, Ticket};
use super::{pacer, LoadArgs, Operation, Plan};

/// What every worker shares.
#[derive(Debug)]
struct Shared {
    schedule: Schedule,
    start: Instant,
    /// Permits from the pacer (open loop only).
    permits: Option<Arc<Semaphore>>,
    /// The next operation number.
    next: AtomicU64,
    /// Measured operations started so far (closed loop only).
    measured: AtomicU64,
    stop: Arc<AtomicBool>,
}

/// An operation to run: its number, what it is for, and when it was due.
struct Turn {
    seq: u64,
    measured: bool,
    intended: Instant,
}

/// Runs `operation` as `args` say, prints a line per second and the summary, writes the JSON
/// report if asked, and returns the report.
pub async fn run<O: Operation>(
    operation: Arc<O>,
    plan: Plan,
    args: &LoadArgs,
) -> anyhow::Result<Report> {
    run_from(Instant::now(), operation, plan, args).await
}

/// [`run`], with the run (its seconds, warm-up and due times) counted from `start`, so that
/// another meter can share its clock.
pub async fn run_from<O: Operation>(
    start: Instant,
    operation: Arc<O>,
    plan: Plan,
    args: &LoadArgs,
) -> anyhow::Result<Report> {
    let schedule = args.schedule(plan.messages_per_op)?;
    println!("{}", super::report::headline(&plan, args, &schedule));
    let stop = Arc::new(AtomicBool::new(false));
    let interrupt = {
        let stop = Arc::clone(&stop);
        tokio::spawn(async move {
            crate::shutdown::signal().await;
            stop.store(true, Ordering::Relaxed);
        })
    };
    let warmup_end = start + schedule.warmup;
    let server_pid = args.server_pid;
    let first_snapshot = Snapshot::at(warmup_end, server_pid);

    let (events, events_rx) = mpsc::unbounded_channel();
    let count = schedule.count().map(|ops| ops * schedule.messages_per_op);
    let reporter =
        Reporter::new(start, schedule.warmup, args.concurrency, count).with_label(plan.label);
    let reporter = tokio::spawn(reporter.run(events_rx));

    let permits = schedule.rate.map(|_| Arc::new(Semaphore::new(0)));
    let pacer = match &permits {
        Some(permits) => Some(pacer::spawn(
            schedule,
            start,
            Arc::clone(permits),
            args.concurrency,
            Arc::clone(&stop),
        )?),
        None => None,
    };
    let shared = Arc::new(Shared {
        schedule,
        start,
        permits,
        next: AtomicU64::new(0),
        measured: AtomicU64::new(0),
        stop: Arc::clone(&stop),
    });
    let workers: Vec<_> = (0..args.concurrency)
        .map(|id| {
            let recorder = Recorder::new(id, start, events.clone());
            tokio::spawn(work(id, Arc::clone(&operation), Arc::clone(&shared), recorder))
        })
        .collect();
    drop(events);
    for worker in workers {
        worker.await?;
    }
    let last_snapshot = Snapshot::now(server_pid);
    if let Some(pacer) = pacer {
        tokio::task::spawn_blocking(move || pacer.join())
            .await?
            .map_err(|_| anyhow::anyhow!("the pacer thread panicked"))?;
    }
    let collected = reporter.await?;
    interrupt.abort();
    // A run shorter than its warm-up never reached the first snapshot: measure from now.
    let first_snapshot = if first_snapshot.is_finished() {
        first_snapshot.await?
    } else {
        first_snapshot.abort();
        last_snapshot
    };
    let measured = Measured {
        plan: &plan,
        args,
        schedule: &shared.schedule,
        start,
        collected,
        stopped_early: stop.load(Ordering::Relaxed),
        cpu_window: first_snapshot.at..last_snapshot.at,
        bench_cpu: first_snapshot.bench.zip(last_snapshot.bench).map(|(a, b)| b.since(&a)),
        server_cpu: first_snapshot.server.zip(last_snapshot.server).map(|(a, b)| b.since(&a)),
    };
    let report = Report::new(measured);
    println!();
    report.print();
    if let Some(path) = &args.json {
        report.write_json(path)?;
        println!("JSON report written to {}", path.display());
    }
    Ok(report)
}

async fn work<O: Operation>(id: usize, operation: Arc<O>, shared: Arc<Shared>, mut rec: Recorder) {
    let messages = shared.schedule.messages_per_op;
    while let Some(turn) = next_turn(&shared, &mut rec).await {
        let started = Instant::now();
        let outcome = rec.during(operation.call(id, turn.seq, turn.measured)).await;
        rec.record(Completion {
            measured: turn.measured,
            intended: turn.intended,
            started,
            done: Instant::now(),
            messages,
            outcome: outcome.as_ref().map(|_| ()),
        });
    }
    rec.finish();
}

/// The worker's next operation, or `None` when the run is over.
async fn next_turn(shared: &Shared, rec: &mut Recorder) -> Option<Turn> {
    let schedule = &shared.schedule;
    if let Some(permits) = &shared.permits {
        // Open loop: wait for the pacer, then take the next number; it is due by now.
        rec.during(permits.acquire()).await.ok()?.forget();
        if shared.stop.load(Ordering::Relaxed) {
            return None;
        }
        let seq = shared.next.fetch_add(1, Ordering::Relaxed);
        let ticket = schedule.paced_ticket(seq);
        let intended = shared.start + schedule.due(seq).unwrap_or_default();
        return turn(seq, ticket, intended);
    }
    // Closed loop: start now.
    if shared.stop.load(Ordering::Relaxed) {
        return None;
    }
    let now = Instant::now();
    let elapsed = now.saturating_duration_since(shared.start);
    let ticket = if elapsed < schedule.warmup {
        Ticket::Warmup
    } else {
        schedule.unpaced_ticket(elapsed, shared.measured.fetch_add(1, Ordering::Relaxed))
    };
    turn(shared.next.fetch_add(1, Ordering::Relaxed), ticket, now)
}

fn turn(seq: u64, ticket: Ticket, intended: Instant) -> Option<Turn> {
    match ticket {
        Ticket::Done => None,
        Ticket::Warmup => Some(Turn { seq, measured: false, intended }),
        Ticket::Measured => Some(Turn { seq, measured: true, intended }),
    }
}
