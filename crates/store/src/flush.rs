//! Making appends durable. ASYNC_FLUSH: a thread writes dirty commit-log pages to disk every
//! `flushIntervalCommitLog` once enough have gathered (or `flushCommitLogThoroughInterval`
//! passed). SYNC_FLUSH: group commit — appends register the offset they need, the flush
//! thread writes everything published so far in one go and releases every waiter that one
//! flush covered, so concurrent writers share a flush instead of queueing for one each.
//!
//! A failed flush poisons the store: what reached the disk is unknown, so no later append
//! may be acknowledged.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use futures_channel::oneshot;
use tracing::error;

use crate::commit_log::CommitLog;
use crate::config::{FlushDiskType, StoreConfig};
use crate::error::{Result, StoreError};
use crate::mmap::PAGE_SIZE;

/// Flushed pages this close to the append point stay mapped (recent reads are likely).
const RESIDENT_WINDOW: i64 = 32 * 1024 * 1024;
/// How often mapped pages are given back.
const RELEASE_PERIOD: Duration = Duration::from_millis(500);

/// Resolves once an append is durable (or the flush failed).
pub type Durable = oneshot::Receiver<Result<(), String>>;

type Waiter = (i64, oneshot::Sender<Result<(), String>>);

struct Shared {
    commit_log: Arc<CommitLog>,
    waiters: Mutex<Vec<Waiter>>,
    wake: Condvar,
    /// Signalled (under `resolved_lock`) after each round of waiters is resolved, for
    /// callers that block instead of awaiting.
    resolved_lock: Mutex<()>,
    resolved: Condvar,
    stop: AtomicBool,
    poisoned: OnceLock<String>,
}

/// The flush thread of one store.
pub struct Flusher {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    mode: FlushDiskType,
}

impl std::fmt::Debug for Flusher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Flusher").field("mode", &self.mode).finish()
    }
}

impl Flusher {
    /// Starts flushing `commit_log` as `config` says.
    pub fn start(commit_log: Arc<CommitLog>, config: &StoreConfig) -> Result<Flusher> {
        let shared = Arc::new(Shared {
            commit_log,
            waiters: Mutex::new(Vec::new()),
            wake: Condvar::new(),
            resolved_lock: Mutex::new(()),
            resolved: Condvar::new(),
            stop: AtomicBool::new(false),
            poisoned: OnceLock::new(),
        });
        let mode = config.flush_disk_type;
        let interval = Duration::from_millis(config.flush_interval_commit_log.max(1));
        let thorough = Duration::from_millis(config.flush_commit_log_thorough_interval);
        let least = (config.flush_commit_log_least_pages * PAGE_SIZE) as i64;
        let worker = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("commitlog-flush".into())
            .spawn(move || match mode {
                FlushDiskType::SyncFlush => group_commit(&worker),
                FlushDiskType::AsyncFlush => periodic(&worker, interval, thorough, least),
            })
            .map_err(|e| StoreError::io("commitlog-flush thread", e))?;
        Ok(Flusher { shared, thread: Some(thread), mode })
    }

    /// The flush mode.
    pub fn mode(&self) -> FlushDiskType {
        self.mode
    }

    /// Why the store is poisoned, if it is.
    pub fn poisoned(&self) -> Option<&str> {
        self.shared.poisoned.get().map(String::as_str)
    }

    /// A handle that resolves once everything below `end` is on disk (group commit).
    pub fn durable(&self, end: i64) -> Durable {
        let (tx, rx) = oneshot::channel();
        if let Some(reason) = self.poisoned() {
            let _ = tx.send(Err(reason.to_string()));
            return rx;
        }
        if self.shared.commit_log.flushed() >= end {
            let _ = tx.send(Ok(()));
            return rx;
        }
        self.shared.waiters.lock().unwrap_or_else(PoisonError::into_inner).push((end, tx));
        self.shared.wake.notify_one();
        rx
    }

    /// Blocks until `durable` resolves, at most `timeout`.
    pub fn wait_blocking(&self, mut durable: Durable, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        let mut guard = self.shared.resolved_lock.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            // Checked under the lock the flush thread signals with, so no wake-up is missed.
            match durable.try_recv() {
                Ok(Some(Ok(()))) => return Ok(()),
                Ok(Some(Err(reason))) => return Err(StoreError::Poisoned(reason)),
                Err(_) => return Err(StoreError::ShutDown),
                Ok(None) => {}
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(StoreError::FlushTimeout);
            }
            guard = self
                .shared
                .resolved
                .wait_timeout(guard, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Flushes everything now (shutdown); fails if the store is poisoned.
    pub fn flush_all(&self) -> Result<i64> {
        if let Some(reason) = self.poisoned() {
            return Err(StoreError::Poisoned(reason.to_string()));
        }
        flush_once(&self.shared).map_err(StoreError::Poisoned)
    }
}

impl Drop for Flusher {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        self.shared.wake.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One flush of everything published; poisons the store on failure.
fn flush_once(shared: &Shared) -> std::result::Result<i64, String> {
    if let Some(reason) = shared.poisoned.get() {
        return Err(reason.clone());
    }
    match shared.commit_log.flush() {
        Ok(flushed) => Ok(flushed),
        Err(e) => {
            let reason = format!("commit-log flush failed: {e}");
            error!("{reason}; refusing further writes");
            let _ = shared.poisoned.set(reason.clone());
            Err(reason)
        }
    }
}

/// Wakes blocked waiters after their handles were resolved.
fn signal_resolved(shared: &Shared) {
    let _guard = shared.resolved_lock.lock().unwrap_or_else(PoisonError::into_inner);
    shared.resolved.notify_all();
}

/// Drops mapped pages no longer needed (see `CommitLog::release_flushed_pages`), at most
/// once per `RELEASE_PERIOD`, whether or not anything was written (reads map pages too).
fn release_pages(shared: &Shared, last: &mut Instant) {
    if last.elapsed() >= RELEASE_PERIOD {
        shared.commit_log.release_flushed_pages(RESIDENT_WINDOW);
        *last = Instant::now();
    }
}

fn group_commit(shared: &Shared) {
    let mut last_release = Instant::now();
    loop {
        release_pages(shared, &mut last_release);
        let batch: Vec<Waiter> = {
            let mut waiters = shared.waiters.lock().unwrap_or_else(PoisonError::into_inner);
            if waiters.is_empty() && !shared.stop.load(Ordering::Acquire) {
                let (guard, _) = shared
                    .wake
                    .wait_timeout(waiters, Duration::from_millis(10))
                    .unwrap_or_else(PoisonError::into_inner);
                waiters = guard;
            }
            if waiters.is_empty() {
                if shared.stop.load(Ordering::Acquire) {
                    let _ = flush_once(shared);
                    return;
                }
                continue;
            }
            std::mem::take(&mut *waiters)
        };
        // Everything registered so far was published before it registered, so this one
        // flush covers every waiter of the batch.
        let started = Instant::now();
        let outcome = flush_once(shared);
        tracing::trace!(
            waiters = batch.len(),
            micros = started.elapsed().as_micros() as u64,
            "group commit"
        );
        let mut later = Vec::new();
        for (end, tx) in batch {
            match &outcome {
                Ok(flushed) if *flushed >= end => {
                    let _ = tx.send(Ok(()));
                }
                Ok(_) => later.push((end, tx)),
                Err(reason) => {
                    let _ = tx.send(Err(reason.clone()));
                }
            }
        }
        if !later.is_empty() {
            shared.waiters.lock().unwrap_or_else(PoisonError::into_inner).extend(later);
        }
        signal_resolved(shared);
    }
}

fn periodic(shared: &Shared, interval: Duration, thorough: Duration, least: i64) {
    let mut last_thorough = Instant::now();
    let mut last_release = Instant::now();
    loop {
        release_pages(shared, &mut last_release);
        {
            let waiters = shared.waiters.lock().unwrap_or_else(PoisonError::into_inner);
            let _ =
                shared.wake.wait_timeout(waiters, interval).unwrap_or_else(PoisonError::into_inner);
        }
        let stopping = shared.stop.load(Ordering::Acquire);
        let due = last_thorough.elapsed() >= thorough;
        if stopping || due || shared.commit_log.unflushed() >= least.max(1) {
            if due {
                last_thorough = Instant::now();
            }
            let outcome = flush_once(shared);
            // Waiters exist in async mode only when a caller asked to wait explicitly.
            if let Ok(flushed) = outcome {
                let mut waiters = shared.waiters.lock().unwrap_or_else(PoisonError::into_inner);
                let pending = std::mem::take(&mut *waiters);
                for (end, tx) in pending {
                    if flushed >= end {
                        let _ = tx.send(Ok(()));
                    } else {
                        waiters.push((end, tx));
                    }
                }
            }
            signal_resolved(shared);
        }
        if stopping {
            return;
        }
    }
}
