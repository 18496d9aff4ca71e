//! The dispatcher ("reput"): follows the commit log and builds what points into it — a
//! consume-queue entry per message and index entries per key — then tells the listener
//! which queues grew (the broker's held long-polling pulls wait on that). It only reads the
//! commit log, so a slave that receives raw commit-log bytes builds the same queues.
//!
//! Entries go to each queue's in-memory tail, readable at once, and reach the files in
//! batches; after each round the dispatcher writes the tails that have waited longest (see
//! `consume_queue::WriteBehind`).
//!
//! An entry's tags code is the hash of the message's tag, except in `SCHEDULE_TOPIC_XXXX`
//! where it is the time the message is due (store time + the delay of its `DELAY` level),
//! as in RocketMQ: the broker's scheduler reads it without touching the commit log.

mod view;

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use ferromq_protocol::message::{check_record, tag_hash_code, RecordCheck, TransactionType};
use ferromq_protocol::topic::SCHEDULE_TOPIC;
use tracing::{error, warn};

use self::view::RecordView;
use crate::commit_log::CommitLog;
use crate::consume_queue::Entry;
use crate::delay_level::DelayLevels;
use crate::error::Result;
use crate::index::Index;
use crate::queues::QueueTable;

/// Messages gathered before they are written out to their consume queues.
const MAX_PENDING: usize = 8192;

/// Told when queues receive new messages.
pub trait ArrivalListener: Send + Sync + 'static {
    /// `topic`/`queue_id` now holds messages up to (not including) `max_offset`.
    fn arrived(&self, topic: &str, queue_id: i32, max_offset: i64);
}

/// Builds consume queues and the index from the commit log.
pub struct Dispatcher {
    commit_log: Arc<CommitLog>,
    queues: Arc<QueueTable>,
    index: Option<Arc<Index>>,
    listener: Option<Arc<dyn ArrivalListener>>,
    /// Deliver times of `SCHEDULE_TOPIC_XXXX` entries.
    delay_levels: DelayLevels,
    /// Commit-log offset up to which everything is dispatched.
    dispatched: AtomicI64,
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatcher").field("dispatched", &self.dispatched()).finish()
    }
}

/// Entries gathered in one round, by topic and queue (looked up by `&str`, so a record's
/// topic is copied only the first time a round sees it).
type PendingQueues = HashMap<String, HashMap<i32, Pending>>;

/// Entries for one queue gathered in one round.
struct Pending {
    first: i64,
    entries: Vec<Entry>,
}

impl Dispatcher {
    /// A dispatcher that starts at commit-log offset `from`.
    pub fn new(
        commit_log: Arc<CommitLog>,
        queues: Arc<QueueTable>,
        index: Option<Arc<Index>>,
        listener: Option<Arc<dyn ArrivalListener>>,
        delay_levels: DelayLevels,
        from: i64,
    ) -> Dispatcher {
        Dispatcher {
            commit_log,
            queues,
            index,
            listener,
            delay_levels,
            dispatched: AtomicI64::new(from),
        }
    }

    /// Commit-log offset up to which everything is dispatched.
    pub fn dispatched(&self) -> i64 {
        self.dispatched.load(Ordering::Acquire)
    }

    /// Dispatches everything published so far; returns how many messages it handled.
    pub fn run_once(&self) -> Result<usize> {
        let mut offset = self.dispatched().max(self.commit_log.min_offset());
        let mut pending = PendingQueues::new();
        let mut key = String::new();
        let mut count = 0usize;
        let segment_size = self.commit_log.segment_size() as i64;
        while offset < self.commit_log.max_offset() {
            let Some((bytes, _sealed)) = self.commit_log.read_from(offset) else {
                break;
            };
            let mut local = 0usize;
            let mut next_segment = false;
            while let Some(rest) = bytes.get(local..).filter(|r| !r.is_empty()) {
                match check_record(rest, false) {
                    Ok(RecordCheck::Message { size }) => {
                        let record = bytes.get(local..local + size).unwrap_or_default();
                        self.dispatch_record(
                            offset + local as i64,
                            record,
                            &mut pending,
                            &mut key,
                        )?;
                        local += size;
                        count += 1;
                        if count.is_multiple_of(MAX_PENDING) {
                            // Bound memory on a long backlog (recovery): write out what is
                            // gathered and record the progress.
                            self.flush_pending(std::mem::take(&mut pending))?;
                            self.dispatched.store(offset + local as i64, Ordering::Release);
                        }
                    }
                    Ok(RecordCheck::Blank { .. }) => {
                        next_segment = true;
                        break;
                    }
                    Err(e) => {
                        error!(
                            offset = offset + local as i64,
                            "undecodable record in the commit log: {e}"
                        );
                        break;
                    }
                }
            }
            if next_segment {
                offset = offset - offset % segment_size + segment_size;
            } else if local == 0 {
                break;
            } else {
                offset += local as i64;
            }
        }
        self.flush_pending(pending)?;
        self.dispatched.store(offset, Ordering::Release);
        self.queues.write_due_tails()?;
        Ok(count)
    }

    fn dispatch_record(
        &self,
        offset: i64,
        record: &[u8],
        pending: &mut PendingQueues,
        key: &mut String,
    ) -> Result<()> {
        let size = record.len() as i32;
        let Some(msg) = RecordView::parse(record) else {
            warn!(offset, "skipping a record that does not parse");
            return Ok(());
        };
        let tx = TransactionType::from_sys_flag(msg.sys_flag);
        if let Some(index) = &self.index {
            if tx != TransactionType::Rollback && offset >= index.max_commit_log_offset() {
                let keys = msg.keys.map(|k| k.split(' ').filter(|k| !k.is_empty()));
                for k in msg.unique_key.into_iter().chain(keys.into_iter().flatten()) {
                    key.clear();
                    key.push_str(msg.topic);
                    key.push('#');
                    key.push_str(k);
                    index.put(key, offset, msg.store_timestamp)?;
                }
            }
        }
        if matches!(tx, TransactionType::Prepared | TransactionType::Rollback) {
            return Ok(());
        }
        let entry = Entry { commit_log_offset: offset, size, tags_code: self.tags_code(&msg) };
        let queues = match pending.get_mut(msg.topic) {
            Some(queues) => queues,
            None => pending.entry(msg.topic.to_string()).or_default(),
        };
        let contiguous = queues
            .get(&msg.queue_id)
            .is_some_and(|p| p.first + p.entries.len() as i64 == msg.queue_offset);
        if !contiguous {
            if let Some(done) = queues.remove(&msg.queue_id) {
                self.append(msg.topic, msg.queue_id, done)?;
            }
            queues.insert(msg.queue_id, Pending { first: msg.queue_offset, entries: Vec::new() });
        }
        if let Some(p) = queues.get_mut(&msg.queue_id) {
            p.entries.push(entry);
        }
        Ok(())
    }

    /// The consume-queue tags code of a record: its deliver time in the schedule topic (when
    /// it has a delay level above 0), else its tag hash.
    fn tags_code(&self, msg: &RecordView<'_>) -> i64 {
        let scheduled = match msg.delay {
            Some(delay) if msg.topic == SCHEDULE_TOPIC => {
                self.delay_levels.schedule_tags_code(delay, msg.store_timestamp)
            }
            _ => None,
        };
        scheduled.unwrap_or_else(|| tag_hash_code(msg.tags))
    }

    fn flush_pending(&self, pending: PendingQueues) -> Result<()> {
        for (topic, queues) in pending {
            for (queue_id, p) in queues {
                self.append(&topic, queue_id, p)?;
            }
        }
        Ok(())
    }

    fn append(&self, topic: &str, queue_id: i32, pending: Pending) -> Result<()> {
        let queue = self.queues.append(topic, queue_id, pending.first, &pending.entries)?;
        if let Some(listener) = &self.listener {
            listener.arrived(topic, queue_id, queue.max_offset());
        }
        Ok(())
    }
}
