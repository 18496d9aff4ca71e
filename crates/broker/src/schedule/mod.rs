//! Delayed delivery (RocketMQ's delay levels): a message with `DELAY=n` waits in queue
//! n − 1 of `SCHEDULE_TOPIC_XXXX` and is re-put to its real topic and queue when due. The
//! store writes each such entry's deliver time as its tags code; this module owns the rest:
//!
//! - [`message`]: the rewrites into and out of the schedule topic;
//! - [`deliver`]: one pass over a level's queue;
//! - [`wake`]: when an arrival in the schedule topic wakes the task;
//! - here: each level's progress (cursors), the task that runs the passes, and the task
//!   that persists the progress to `config/delayOffset.json`.
//!
//! One task serves every level. Each round passes over every level once, in batches; then
//! the task sleeps until the earliest next due time, or until the dispatcher announces a
//! new entry at a level that had none waiting, or at most [`IDLE_CHECK`]. Nothing is due ⇒
//! nothing runs.
//!
//! Delivery is at least once: a cursor is written to disk only once the commit log is
//! durable up to every message it covers, so a crash may deliver a message again but never
//! loses one.

pub mod deliver;
pub mod message;
pub mod wake;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use ferromq_protocol::body::fastjson::{Json, JsonStyle, ToJson};
use ferromq_protocol::topic::SCHEDULE_TOPIC;
use ferromq_store::delay_level::level_to_queue_id;
use ferromq_store::meta::{self, DelayOffsets};
use ferromq_store::{now_millis, DelayLevels, Store};
use tokio::sync::watch;
use tracing::{debug, info, warn};

use self::deliver::{deliver_level, LevelPass};
use self::wake::Wake;
use crate::error::BrokerError;
use crate::state::BrokerState;
use crate::stats::BrokerStats;

/// Longest sleep of the delivery task when nothing is known to be due.
pub const IDLE_CHECK: Duration = Duration::from_secs(10);
/// Pause before a level whose put failed is tried again.
const RETRY_AFTER: Duration = Duration::from_secs(1);
/// Longest wait for the commit log to be durable before a progress write (an async flush
/// covers it within `flushCommitLogThoroughInterval`, 10 s by default).
const DURABLE_WAIT: Duration = Duration::from_secs(30);

/// The delay levels, their delivery progress, and the wake-up of the delivery task.
#[derive(Debug)]
pub struct Schedule {
    levels: DelayLevels,
    /// What is on disk: offsets known durable.
    persisted: DelayOffsets,
    /// Next queue offset to look at, per level (only levels that have moved, or were
    /// loaded from disk).
    cursors: Mutex<BTreeMap<i32, i64>>,
    wake: Arc<Wake>,
}

/// The outcome of one round over every level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Round {
    /// The earliest time a waiting entry is due.
    pub next_due: Option<i64>,
    /// A level delivered a whole batch: run again at once.
    pub more: bool,
    /// A put failed: try again after a pause.
    pub failed: bool,
}

impl Schedule {
    /// Loads the progress from `<store root>/config/delayOffset.json`; `wake` hears of
    /// entries arriving in the schedule topic.
    pub fn open(store: &Store, wake: Arc<Wake>) -> Result<Schedule, BrokerError> {
        let levels = store.config().delay_levels()?;
        let persisted =
            DelayOffsets::open(meta::delay_offset_path(&store.config().store_path_root_dir))?;
        let cursors = persisted.all();
        info!(levels = levels.max_level(), ?cursors, "delay levels loaded");
        Ok(Schedule { levels, persisted, cursors: Mutex::new(cursors), wake })
    }

    /// The delay levels (`messageDelayLevel`).
    pub fn levels(&self) -> &DelayLevels {
        &self.levels
    }

    /// The progress of every level that has one.
    pub fn cursors(&self) -> BTreeMap<i32, i64> {
        self.cursors.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// The progress as Java's `ScheduleMessageService.encode()` gives it (compact
    /// `delayOffset.json` content, current cursors): the GET_ALL_DELAY_OFFSET body.
    pub fn to_json(&self) -> Vec<u8> {
        let tree = Json::bean([
            ("dataVersion", self.persisted.data_version().to_json_tree()),
            ("offsetTable", self.cursors().to_json_tree()),
        ]);
        tree.render(JsonStyle::Fastjson)
    }

    /// One pass over every level at `now`. Blocking.
    pub fn deliver_round(&self, store: &Store, stats: &BrokerStats, now: i64) -> Round {
        let mut round = Round::default();
        for level in self.levels.levels() {
            let queue_id = level_to_queue_id(level);
            let start = self.cursor(level, store.min_offset(SCHEDULE_TOPIC, queue_id));
            let mut cursor = start;
            self.wake.listen(level);
            let pass = deliver_level(store, &self.levels, level, &mut cursor, now, |topic| {
                stats.record_put(topic, 1);
            });
            if cursor != start {
                self.cursors.lock().unwrap_or_else(PoisonError::into_inner).insert(level, cursor);
            }
            if !matches!(pass, Ok(LevelPass::CaughtUp)) {
                self.wake.ignore(level);
            }
            match pass {
                Ok(LevelPass::CaughtUp) => {}
                Ok(LevelPass::More) => round.more = true,
                Ok(LevelPass::DueAt(due)) => {
                    round.next_due = Some(round.next_due.map_or(due, |d| d.min(due)));
                }
                Err(e) => {
                    warn!(level, cursor, "delayed delivery failed, retrying shortly: {e}");
                    round.failed = true;
                }
            }
        }
        round
    }

    fn cursor(&self, level: i32, queue_min: i64) -> i64 {
        let cursors = self.cursors.lock().unwrap_or_else(PoisonError::into_inner);
        cursors.get(&level).copied().unwrap_or(queue_min)
    }

    /// Records `cursors` as durable and writes the file if anything changed. Blocking.
    fn persist_cursors(&self, cursors: &BTreeMap<i32, i64>) -> Result<bool, BrokerError> {
        for (level, offset) in cursors {
            self.persisted.update(*level, *offset);
        }
        Ok(self.persisted.persist()?)
    }

    /// Writes the current progress as it is: only once the commit log is durable (after
    /// the store's clean shutdown). Blocking.
    pub fn persist_after_store_shutdown(&self) -> Result<bool, BrokerError> {
        self.persist_cursors(&self.cursors())
    }
}

/// How long the delivery task sleeps after `round` at `now`.
pub fn sleep_after(round: Round, now: i64) -> Duration {
    let until_due = round
        .next_due
        .map(|due| Duration::from_millis(u64::try_from(due.saturating_sub(now)).unwrap_or(0)));
    let sleep = until_due.map_or(IDLE_CHECK, |d| d.min(IDLE_CHECK));
    if round.failed {
        sleep.min(RETRY_AFTER)
    } else {
        sleep
    }
}

/// The delivery task: rounds over every level until `stop` turns true.
pub async fn run(state: Arc<BrokerState>, mut stop: watch::Receiver<bool>) {
    let wake = Arc::clone(&state.schedule.wake);
    loop {
        // Registered before the round, so an arrival during the round is not missed.
        let woken = wake.notified();
        tokio::pin!(woken);
        woken.as_mut().enable();
        let now = now_millis();
        let round = {
            let state = Arc::clone(&state);
            tokio::task::spawn_blocking(move || {
                state.schedule.deliver_round(&state.store, &state.stats, now)
            })
            .await
        };
        let round = match round {
            Ok(round) => round,
            Err(e) => {
                warn!("delayed delivery round panicked: {e}");
                Round { failed: true, ..Round::default() }
            }
        };
        if *stop.borrow() {
            return;
        }
        if round.more && !round.failed {
            tokio::task::yield_now().await;
            continue;
        }
        let sleep = sleep_after(round, now_millis());
        debug!(?round, ?sleep, "delayed delivery round done");
        tokio::select! {
            _ = tokio::time::sleep(sleep) => {}
            _ = &mut woken => {}
            _ = stop.changed() => return,
        }
    }
}

/// The progress task: every `flushDelayOffsetInterval`, writes the cursors once the commit
/// log is durable up to where it ended when they were read.
pub async fn persist_progress(state: Arc<BrokerState>, mut stop: watch::Receiver<bool>) {
    loop {
        let period =
            Duration::from_millis(state.config.get().store.flush_delay_offset_interval.max(100));
        tokio::select! {
            _ = tokio::time::sleep(period) => {}
            _ = stop.changed() => return,
        }
        // Waiting for durability may take a flush interval: a stop does not wait for it
        // (the clean stop writes the progress itself once the store is closed).
        tokio::select! {
            _ = persist_durable(&state) => {}
            _ = stop.changed() => return,
        }
    }
}

/// Writes the cursors if they moved, once every message they cover is durable.
async fn persist_durable(state: &Arc<BrokerState>) {
    let cursors = state.schedule.cursors();
    if cursors == state.schedule.persisted.all() {
        return;
    }
    // Read after the cursors: every re-put they cover ends below it.
    let end = state.store.commit_log_range().1;
    match tokio::time::timeout(DURABLE_WAIT, state.store.durable(end)).await {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(reason))) => {
            warn!("delay offsets not written: the store is poisoned: {reason}");
            return;
        }
        Ok(Err(_)) | Err(_) => {
            warn!("delay offsets not written: the commit log did not become durable in time");
            return;
        }
    }
    let state = Arc::clone(state);
    let written =
        tokio::task::spawn_blocking(move || state.schedule.persist_cursors(&cursors)).await;
    match written {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => warn!("cannot write delay offsets: {e}"),
        Err(e) => warn!("writing delay offsets panicked: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sleeps_until_the_next_due_time_within_bounds() {
        let idle = Round::default();
        assert_eq!(sleep_after(idle, 0), IDLE_CHECK);
        let due = Round { next_due: Some(1_250), ..Round::default() };
        assert_eq!(sleep_after(due, 1_000), Duration::from_millis(250));
        assert_eq!(sleep_after(due, 2_000), Duration::ZERO, "overdue: at once");
        let far = Round { next_due: Some(i64::MAX), ..Round::default() };
        assert_eq!(sleep_after(far, 0), IDLE_CHECK);
        let failed = Round { failed: true, ..Round::default() };
        assert_eq!(sleep_after(failed, 0), RETRY_AFTER);
    }
}
