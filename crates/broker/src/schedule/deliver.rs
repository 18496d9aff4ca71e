//! One delivery pass over one delay level's queue of `SCHEDULE_TOPIC_XXXX`: entries are
//! read in order from the level's cursor, each due message is re-put to its real topic and
//! queue, and the pass stops at the first message not due yet — every later entry of the
//! level was stored later with the same delay, so it is due later too. Blocking (store
//! reads and appends); the scheduler runs it off the async runtime.

use ferromq_protocol::message::StoredMessage;
use ferromq_protocol::topic::SCHEDULE_TOPIC;
use ferromq_store::delay_level::level_to_queue_id;
use ferromq_store::{DelayLevels, Store, StoreError};
use tracing::{error, warn};

use super::message::time_up;

/// Entries read per pass of a level: bounds the memory and the time of one pass.
pub const BATCH: usize = 256;

/// Where a level stands after a pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LevelPass {
    /// Everything stored so far is delivered.
    CaughtUp,
    /// The next entry is due at this time (ms since the epoch).
    DueAt(i64),
    /// A whole batch was delivered; more may be due at once.
    More,
}

/// When an entry whose tags code says `deliver_time` is due: that time, or `now` when it is
/// further ahead than the level's whole delay (the clock went back, or the level was
/// shortened), as RocketMQ's `correctDeliverTimestamp`.
pub fn due_time(now: i64, deliver_time: i64, level_delay_ms: i64) -> i64 {
    if deliver_time > now.saturating_add(level_delay_ms) {
        now
    } else {
        deliver_time
    }
}

/// Delivers what of `level` is due at `now`, from `*cursor` (the next queue offset to look
/// at), advancing it past each entry handled. A message that can no longer be read or has
/// no real destination is skipped with a log line, as RocketMQ skips it; a failed put stops
/// the pass with the cursor on that entry, so it is tried again. `delivered` hears the real
/// topic of each message put.
pub fn deliver_level(
    store: &Store,
    levels: &DelayLevels,
    level: i32,
    cursor: &mut i64,
    now: i64,
    mut delivered: impl FnMut(&str),
) -> Result<LevelPass, StoreError> {
    let queue_id = level_to_queue_id(level);
    let (min, max) =
        (store.min_offset(SCHEDULE_TOPIC, queue_id), store.max_offset(SCHEDULE_TOPIC, queue_id));
    if *cursor < min || *cursor > max {
        warn!(level, cursor = *cursor, min, max, "delay level offset out of its queue; corrected");
        *cursor = (*cursor).clamp(min, max);
    }
    let entries = store.queue_entries(SCHEDULE_TOPIC, queue_id, *cursor, BATCH)?;
    let delay = levels.delay_ms(level).unwrap_or(0);
    for entry in &entries {
        let Ok(size) = usize::try_from(entry.size) else {
            *cursor += 1;
            continue;
        };
        if size == 0 || entry.size == i32::MAX {
            *cursor += 1; // a filler slot
            continue;
        }
        let due = due_time(now, entry.tags_code, delay);
        if due > now {
            return Ok(LevelPass::DueAt(due));
        }
        if let Some(msg) = due_message(store, level, *cursor, entry.commit_log_offset) {
            store.put(&msg)?;
            delivered(&msg.topic);
        }
        *cursor += 1;
    }
    Ok(if entries.len() == BATCH { LevelPass::More } else { LevelPass::CaughtUp })
}

/// The message to put for the schedule record at commit-log `offset`, or `None` (logged)
/// when it is gone or cannot be delivered.
fn due_message(store: &Store, level: i32, queue_offset: i64, offset: i64) -> Option<StoredMessage> {
    let Some(mut record) = store.message_at(offset) else {
        warn!(level, queue_offset, offset, "delayed message no longer stored; skipped");
        return None;
    };
    let scheduled = match StoredMessage::decode(&mut record) {
        Ok(scheduled) => scheduled,
        Err(e) => {
            error!(level, queue_offset, offset, "delayed message does not decode, skipped: {e}");
            return None;
        }
    };
    match time_up(scheduled) {
        Ok(msg) => Some(msg),
        Err(why) => {
            error!(level, queue_offset, offset, "delayed message skipped: {why}");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use ferromq_protocol::message::{property, Properties};
    use ferromq_store::{AllMessages, StoreConfig};

    use super::*;
    use crate::schedule::message::to_schedule_topic;

    #[test]
    fn due_time_corrects_deliver_times_too_far_ahead() {
        assert_eq!(due_time(1_000, 1_500, 1_000), 1_500);
        assert_eq!(due_time(1_000, 2_000, 1_000), 2_000, "exactly one delay ahead");
        assert_eq!(due_time(1_000, 2_001, 1_000), 1_000, "further: due now");
        assert_eq!(due_time(1_000, 10, 1_000), 10, "long overdue");
        assert_eq!(due_time(i64::MAX, i64::MAX, 1), i64::MAX);
    }

    fn open(dir: &std::path::Path) -> Store {
        let config = StoreConfig {
            store_path_root_dir: dir.to_path_buf(),
            mapped_file_size_commit_log: 1 << 20,
            max_message_size: 64 * 1024,
            max_hash_slot_num: 1_000,
            max_index_num: 4_000,
            disk_max_used_space_ratio: 100,
            disk_space_clean_forcibly_ratio: 100,
            disk_space_warning_level_ratio: 100,
            warm_mapped_file_enable: false,
            message_delay_level: "1s 5s".into(),
            ..StoreConfig::default()
        };
        Store::open(config, None).unwrap()
    }

    fn delayed(levels: &DelayLevels, body: &str, real_queue: i32) -> StoredMessage {
        let mut properties = Properties::new();
        properties.insert(property::DELAY, "1");
        let mut msg = StoredMessage {
            topic: "Real".into(),
            queue_id: real_queue,
            body: body.to_string().into(),
            born_host: "127.0.0.1:1".parse().unwrap(),
            store_host: "127.0.0.1:2".parse().unwrap(),
            properties,
            ..StoredMessage::default()
        };
        assert!(to_schedule_topic(&mut msg, levels));
        msg
    }

    fn wait_dispatched(store: &Store) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while store.dispatched() < store.commit_log_range().1 {
            assert!(Instant::now() < deadline, "dispatch did not catch up");
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    #[test]
    fn delivers_what_is_due_in_order_and_waits_for_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path());
        let levels = store.config().delay_levels().unwrap();
        let first = store.put(&delayed(&levels, "a", 0)).unwrap().appended[0].store_timestamp;
        store.put(&delayed(&levels, "b", 1)).unwrap();
        wait_dispatched(&store);
        let mut cursor = 0;
        let mut topics = Vec::new();
        // Before the first is due: nothing moves.
        let pass =
            deliver_level(&store, &levels, 1, &mut cursor, first, |t| topics.push(t.to_owned()));
        assert_eq!(pass.unwrap(), LevelPass::DueAt(first + 1_000));
        assert_eq!(cursor, 0);
        assert_eq!(store.max_offset("Real", 0), 0);
        // Both due: both delivered to their real queues, in order.
        let later = first + 60_000;
        let pass =
            deliver_level(&store, &levels, 1, &mut cursor, later, |t| topics.push(t.to_owned()));
        assert_eq!(pass.unwrap(), LevelPass::CaughtUp);
        assert_eq!((cursor, topics.len()), (2, 2));
        wait_dispatched(&store);
        let got = store.get_messages("Real", 1, 0, 10, 1 << 20, &AllMessages).unwrap();
        let msg = StoredMessage::decode(&mut got.messages[0].clone()).unwrap();
        assert_eq!(&msg.body[..], b"b");
        assert_eq!(msg.properties.get(property::REAL_TOPIC), Some("Real"));
        // Nothing left; an empty or unknown level is caught up.
        let pass = deliver_level(&store, &levels, 1, &mut cursor, later, |_| {});
        assert_eq!(pass.unwrap(), LevelPass::CaughtUp);
        let mut other = 0;
        assert_eq!(
            deliver_level(&store, &levels, 2, &mut other, later, |_| {}).unwrap(),
            LevelPass::CaughtUp
        );
    }

    #[test]
    fn a_cursor_outside_the_queue_is_corrected() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path());
        let levels = store.config().delay_levels().unwrap();
        store.put(&delayed(&levels, "a", 0)).unwrap();
        wait_dispatched(&store);
        let mut cursor = 50;
        let pass = deliver_level(&store, &levels, 1, &mut cursor, i64::MAX / 2, |_| {});
        assert_eq!((pass.unwrap(), cursor), (LevelPass::CaughtUp, 1));
    }

    #[test]
    fn bursts_are_delivered_in_batches() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path());
        let levels = store.config().delay_levels().unwrap();
        let count = BATCH + 10;
        for i in 0..count {
            store.put(&delayed(&levels, &i.to_string(), 0)).unwrap();
        }
        wait_dispatched(&store);
        let (mut cursor, mut n) = (0, 0);
        let now = i64::MAX / 2;
        assert_eq!(
            deliver_level(&store, &levels, 1, &mut cursor, now, |_| n += 1).unwrap(),
            LevelPass::More
        );
        assert_eq!(
            deliver_level(&store, &levels, 1, &mut cursor, now, |_| n += 1).unwrap(),
            LevelPass::CaughtUp
        );
        assert_eq!((cursor, n), (count as i64, count));
    }
}
