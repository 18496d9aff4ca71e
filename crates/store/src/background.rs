//! The store's background threads: the dispatcher, the consume-queue flusher that also
//! writes the checkpoint, and the retention check.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tracing::{error, info, warn};

use crate::checkpoint::Checkpoint;
use crate::commit_log::CommitLog;
use crate::config::StoreConfig;
use crate::dispatch::Dispatcher;
use crate::error::{Result, StoreError};
use crate::index::Index;
use crate::queues::QueueTable;
use crate::retention;

/// Everything a background thread may touch.
#[derive(Debug, Clone)]
pub struct Parts {
    pub config: StoreConfig,
    pub commit_log: Arc<CommitLog>,
    pub queues: Arc<QueueTable>,
    pub index: Option<Arc<Index>>,
    pub dispatcher: Arc<Dispatcher>,
    /// Disk use percent, with the high bit set while appends are refused.
    pub disk: Arc<AtomicU32>,
}

/// Bit of `Parts::disk` set while the disk is too full for appends.
pub const DISK_FULL_BIT: u32 = 1 << 31;

/// How long the dispatcher naps between rounds while appends keep coming. Appends do not
/// wake it then: at 10,000 appends a second a wake-up each (a futex call and a context
/// switch) cost the broker a tenth of its CPU, and RocketMQ's dispatcher also polls every
/// millisecond. A message is dispatched (readable, and long polls woken) within this.
const BUSY_NAP: Duration = Duration::from_millis(1);
/// Rounds without new appends after which the dispatcher parks until an append wakes it.
const QUIET_ROUNDS: u32 = 20;
/// The longest an idle dispatcher parks without being woken (a safety net).
const IDLE_PARK: Duration = Duration::from_millis(10);

/// The running background threads.
#[derive(Debug)]
pub struct Background {
    stop: Arc<AtomicBool>,
    /// Set while the dispatcher is parked until an append wakes it.
    idle: Arc<AtomicBool>,
    dispatcher: Option<JoinHandle<()>>,
    others: Vec<JoinHandle<()>>,
}

impl Background {
    /// Starts the threads.
    pub fn start(parts: &Parts) -> Result<Background> {
        let stop = Arc::new(AtomicBool::new(false));
        let spawn = |name: &str, f: Box<dyn FnOnce() + Send>| {
            std::thread::Builder::new()
                .name(name.into())
                .spawn(f)
                .map_err(|e| StoreError::io(name, e))
        };
        let idle = Arc::new(AtomicBool::new(false));
        let (p, s, i) = (parts.clone(), Arc::clone(&stop), Arc::clone(&idle));
        let dispatcher = spawn("store-dispatch", Box::new(move || dispatch_loop(&p, &s, &i)))?;
        let (p, s) = (parts.clone(), Arc::clone(&stop));
        let flusher = spawn("store-cq-flush", Box::new(move || flush_loop(&p, &s)))?;
        let (p, s) = (parts.clone(), Arc::clone(&stop));
        let cleaner = spawn("store-retention", Box::new(move || retention_loop(&p, &s)))?;
        Ok(Background { stop, idle, dispatcher: Some(dispatcher), others: vec![flusher, cleaner] })
    }

    /// Called after an append: wakes the dispatcher if it is idle (a busy one finds the
    /// append within [`BUSY_NAP`]).
    pub fn wake_dispatcher(&self) {
        // Pairs with the dispatcher's fence: it sets `idle`, then reads the commit log's end;
        // the append moved that end before reading `idle`. One of the two sees the other.
        std::sync::atomic::fence(Ordering::SeqCst);
        if self.idle.load(Ordering::SeqCst) {
            if let Some(dispatcher) = &self.dispatcher {
                dispatcher.thread().unpark();
            }
        }
    }

    /// Stops every thread and waits for them.
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(d) = self.dispatcher.take() {
            d.thread().unpark();
            let _ = d.join();
        }
        for t in self.others.drain(..) {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Dispatches what the commit log gains: in rounds [`BUSY_NAP`] apart while appends come,
/// parked (and woken by the next append) once [`QUIET_ROUNDS`] rounds found nothing.
fn dispatch_loop(parts: &Parts, stop: &AtomicBool, idle: &AtomicBool) {
    let mut quiet = 0u32;
    loop {
        let before = parts.dispatcher.dispatched();
        if let Err(e) = parts.dispatcher.run_once() {
            error!("dispatch failed, retrying: {e}");
            std::thread::park_timeout(Duration::from_millis(100));
        }
        if stop.load(Ordering::Acquire) {
            // One last pass so everything appended before the stop is dispatched.
            let _ = parts.dispatcher.run_once();
            return;
        }
        let dispatched = parts.dispatcher.dispatched();
        if dispatched < parts.commit_log.max_offset() {
            continue;
        }
        quiet = if dispatched > before { 0 } else { quiet.saturating_add(1) };
        if quiet < QUIET_ROUNDS {
            std::thread::park_timeout(BUSY_NAP);
            continue;
        }
        idle.store(true, Ordering::SeqCst);
        std::sync::atomic::fence(Ordering::SeqCst);
        if parts.dispatcher.dispatched() >= parts.commit_log.max_offset() {
            std::thread::park_timeout(IDLE_PARK);
        }
        idle.store(false, Ordering::SeqCst);
    }
}

/// Flushes every consume queue (writing its in-memory tail first) and the index, then records
/// the checkpoint: a thorough pass.
pub fn flush_queues_and_checkpoint(parts: &Parts, commit_log_end: i64) -> Result<()> {
    // Read the progress before flushing, so the checkpoint never claims more than is durable:
    // every entry dispatched below it is in a queue's file or tail now, and each queue's
    // flush writes its tail before it syncs.
    let dispatched = parts.dispatcher.dispatched();
    let flushed = parts.commit_log.flushed();
    for queue in parts.queues.all() {
        queue.flush(0)?;
    }
    if let Some(index) = &parts.index {
        index.flush()?;
    }
    Checkpoint { commit_log_flushed: flushed, dispatched, commit_log_end }
        .store(&parts.config.store_path_root_dir)
}

/// Every `flushIntervalConsumeQueue`, syncs the consume queues that have at least
/// `flushConsumeQueueLeastPages` pages unflushed; every `flushConsumeQueueThoroughInterval`,
/// all of them, the index and the checkpoint (as RocketMQ does). Entries only in the page
/// cache survive a process crash; after a power cut, recovery rebuilds what the checkpoint
/// does not cover from the commit log.
fn flush_loop(parts: &Parts, stop: &AtomicBool) {
    let config = &parts.config;
    let interval = Duration::from_millis(config.flush_interval_consume_queue.max(1));
    let thorough = Duration::from_millis(config.flush_consume_queue_thorough_interval);
    let mut last_thorough = Instant::now();
    while !stop.load(Ordering::Acquire) {
        std::thread::park_timeout(interval);
        let outcome = if last_thorough.elapsed() >= thorough {
            last_thorough = Instant::now();
            flush_queues_and_checkpoint(parts, -1)
        } else {
            parts
                .queues
                .all()
                .iter()
                .try_for_each(|queue| queue.flush(config.flush_consume_queue_least_pages))
        };
        if let Err(e) = outcome {
            warn!("consume-queue flush failed: {e}");
        }
    }
}

/// One retention pass: measure the disk, set or clear the full flag, delete what may go.
pub fn retention_pass(parts: &Parts) {
    let used = retention::used_percent(parts.commit_log.dir());
    let decision = retention::decide(&parts.config, used, retention::local_hour());
    let flag = if decision.disk_full { DISK_FULL_BIT } else { 0 };
    let was_full = parts.disk.swap(used | flag, Ordering::AcqRel) & DISK_FULL_BIT != 0;
    if decision.disk_full && !was_full {
        error!(used_percent = used, "disk nearly full: refusing appends until space is freed");
    } else if !decision.disk_full && was_full {
        info!(used_percent = used, "disk space available again: accepting appends");
    }
    if !decision.delete_expired {
        return;
    }
    let reserved = parts.config.file_reserved_time;
    let (deleted, min) =
        parts.commit_log.delete_oldest(parts.config.delete_file_batch_max, |segment| {
            decision.delete_any || retention::older_than(segment.file.path(), reserved)
        });
    if deleted == 0 {
        return;
    }
    info!(deleted, min_offset = min, used_percent = used, "retention deleted commit-log segments");
    for queue in parts.queues.all() {
        if let Err(e) = queue.delete_below(min) {
            warn!(
                topic = queue.topic(),
                queue = queue.queue_id(),
                "cannot trim consume queue: {e}"
            );
        }
    }
    if let Some(index) = &parts.index {
        if let Err(e) = index.delete_below(min) {
            warn!("cannot trim the index: {e}");
        }
    }
}

fn retention_loop(parts: &Parts, stop: &AtomicBool) {
    let interval = Duration::from_millis(parts.config.clean_resource_interval.max(1));
    while !stop.load(Ordering::Acquire) {
        retention_pass(parts);
        std::thread::park_timeout(interval);
    }
}
