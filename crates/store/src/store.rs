//! `Store`: the storage engine as the broker sees it. Opening it recovers whatever the last
//! run left (a clean stop skips the scan; a crash verifies the tail and rebuilds what points
//! into it); then it appends messages, serves reads and lookups, and keeps the background
//! work running until `shutdown`.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use ferromq_protocol::message::layout::{store_timestamp_pos, SYS_FLAG_POS};
use ferromq_protocol::message::{property, OffsetMsgId, StoredMessage};
use tracing::info;

use crate::background::{self, Background, Parts, DISK_FULL_BIT};
use crate::checkpoint::{AbortMarker, Checkpoint, FolderLock};
use crate::commit_log::{Appended, CommitLog, Encoded, RecoveryStart};
use crate::config::{FlushDiskType, StoreConfig};
use crate::consume_queue::Entry;
use crate::dispatch::{ArrivalListener, Dispatcher};
use crate::error::{Result, StoreError};
use crate::flush::{Durable, Flusher};
use crate::get::{GetResult, GetStatus, MessageFilter};
use crate::index::{Index, IndexConfig};
use crate::queues::QueueTable;

/// CQ entries examined at most per read, when filtering skips many (RocketMQ: 16000 bytes).
const MAX_FILTER_SCAN: usize = 800;

/// Where an append landed and, in SYNC_FLUSH mode, how to wait for it to be durable.
#[derive(Debug)]
pub struct PutResult {
    /// One per message (one for a single append).
    pub appended: Vec<Appended>,
    /// The offset message id of each message (store host and commit-log offset, §6.4), as
    /// the send response's `msgId` carries it.
    pub msg_ids: Vec<String>,
    /// Resolves once the messages are on disk; `None` when the append is already done
    /// (ASYNC_FLUSH, or the message says `WAIT=false`).
    pub durable: Option<Durable>,
}

/// Messages found by key or unique id.
#[derive(Debug, Clone, Default)]
pub struct QueryResult {
    pub messages: Vec<Bytes>,
    pub index_last_update_timestamp: i64,
    pub index_last_update_commit_log_offset: i64,
}

/// The storage engine of one broker.
#[derive(Debug)]
pub struct Store {
    parts: Parts,
    flusher: Flusher,
    background: Background,
    abort: Option<AbortMarker>,
    recovered_after_crash: bool,
    _lock: FolderLock,
}

impl Store {
    /// Opens (or creates) the store in `config.store_path_root_dir`, recovering as needed.
    /// `listener` hears of every queue that receives messages.
    pub fn open(config: StoreConfig, listener: Option<Arc<dyn ArrivalListener>>) -> Result<Store> {
        config.validate()?;
        let root = config.store_path_root_dir.clone();
        std::fs::create_dir_all(&root).map_err(|e| StoreError::io(&root, e))?;
        let lock = FolderLock::acquire(&root)?;
        let crashed = AbortMarker::was_left(&root);
        let checkpoint = Checkpoint::load(&root);
        let start = match checkpoint {
            Some(c) if !crashed && c.commit_log_end >= 0 => {
                RecoveryStart::Clean { end: c.commit_log_end }
            }
            Some(c) => RecoveryStart::Crash { from: c.commit_log_flushed.min(c.dispatched).max(0) },
            None => RecoveryStart::Crash { from: 0 },
        };
        info!(root = %root.display(), ?start, crashed, "opening store");
        let started = Instant::now();

        let queues = Arc::new(QueueTable::load(
            config.consume_queue_dir(),
            config.consume_queue_entries_per_file,
            config.max_open_consume_queue_files,
            config.consume_queue_tail_limits(),
        )?);
        let index = if config.message_index_enable {
            let index_config = IndexConfig {
                max_hash_slots: config.max_hash_slot_num,
                max_entries: config.max_index_num,
            };
            Some(Arc::new(Index::open(&config.store_path_root_dir, index_config)?))
        } else {
            None
        };
        let commit_log = Arc::new(CommitLog::open(
            &config.commit_log_dir(),
            config.mapped_file_size_commit_log,
            start,
            config.check_crc_on_recover,
            config.warm_mapped_file_enable,
        )?);
        let end = commit_log.max_offset();
        // Whatever points past the end of the commit log points at cut data.
        for queue in queues.all() {
            queue.truncate_to(end)?;
        }
        if let Some(index) = &index {
            index.truncate_to(end)?;
        }
        let dispatch_from = match (start, checkpoint) {
            (RecoveryStart::Clean { .. }, Some(c)) => c.dispatched.min(end),
            (RecoveryStart::Crash { .. }, Some(c)) => c.dispatched.min(end).max(0),
            _ => commit_log.min_offset(),
        };
        let dispatcher = Arc::new(Dispatcher::new(
            Arc::clone(&commit_log),
            Arc::clone(&queues),
            index.clone(),
            listener,
            config.delay_levels()?,
            dispatch_from.max(commit_log.min_offset()),
        ));
        // Rebuild consume queues and index up to the end before serving anything.
        dispatcher.run_once()?;
        // Entries pointing below the commit log's start (segments deleted by retention in an
        // earlier run) are no longer served: move each queue's minimum past them.
        let commit_log_min = commit_log.min_offset();
        for queue in queues.all() {
            queue.delete_below(commit_log_min)?;
        }
        commit_log.set_queue_offsets(
            queues.all().iter().map(|q| (q.topic().to_string(), q.queue_id(), q.max_offset())),
        );
        let disk = Arc::new(AtomicU32::new(0));
        let parts = Parts { config, commit_log, queues, index, dispatcher, disk };
        background::retention_pass(&parts);
        let flusher = Flusher::start(Arc::clone(&parts.commit_log), &parts.config)?;
        let abort = AbortMarker::create(&root)?;
        let background = Background::start(&parts)?;
        info!(
            end,
            queues = parts.queues.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "store open"
        );
        let recovered_after_crash = matches!(start, RecoveryStart::Crash { .. });
        Ok(Store {
            parts,
            flusher,
            background,
            abort: Some(abort),
            recovered_after_crash,
            _lock: lock,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &StoreConfig {
        &self.parts.config
    }

    fn check_writable(&self) -> Result<()> {
        if let Some(reason) = self.flusher.poisoned() {
            return Err(StoreError::Poisoned(reason.to_string()));
        }
        let disk = self.parts.disk.load(Ordering::Acquire);
        if disk & DISK_FULL_BIT != 0 {
            return Err(StoreError::DiskFull {
                used_percent: disk & !DISK_FULL_BIT,
                limit_percent: self.parts.config.disk_space_warning_level_ratio,
            });
        }
        Ok(())
    }

    fn check_size(&self, msg: &StoredMessage) -> Result<()> {
        if msg.body.len() > self.parts.config.max_message_size {
            return Err(StoreError::MessageTooLarge(format!(
                "body of {} bytes exceeds maxMessageSize {}",
                msg.body.len(),
                self.parts.config.max_message_size
            )));
        }
        Ok(())
    }

    /// Appends one message. Its queue offset, physical offset and store time are assigned
    /// here; the other fields are stored as given.
    pub fn put(&self, msg: &StoredMessage) -> Result<PutResult> {
        self.check_writable()?;
        self.check_size(msg)?;
        let encoded = Encoded::new(msg)?;
        let appended = self.parts.commit_log.append(encoded, now_millis())?;
        self.wake_dispatcher();
        let end = appended.physical_offset + i64::from(appended.size);
        Ok(PutResult {
            durable: self.durable_if_needed(msg, end),
            msg_ids: vec![OffsetMsgId::new(msg.store_host, appended.physical_offset).encode()],
            appended: vec![appended],
        })
    }

    /// Appends messages of one topic and queue with consecutive queue offsets.
    pub fn put_batch(&self, msgs: &[StoredMessage]) -> Result<PutResult> {
        self.check_writable()?;
        let Some(first) = msgs.first() else {
            return Ok(PutResult { appended: Vec::new(), msg_ids: Vec::new(), durable: None });
        };
        if msgs.iter().any(|m| m.topic != first.topic || m.queue_id != first.queue_id) {
            return Err(StoreError::IllegalMessage(
                "a batch must target one topic and queue".into(),
            ));
        }
        let mut encoded = Vec::with_capacity(msgs.len());
        for msg in msgs {
            self.check_size(msg)?;
            encoded.push(Encoded::new(msg)?);
        }
        let appended = self.parts.commit_log.append_batch(encoded, now_millis())?;
        self.wake_dispatcher();
        let end = appended.last().map(|a| a.physical_offset + i64::from(a.size)).unwrap_or(0);
        let msg_ids = appended
            .iter()
            .map(|a| OffsetMsgId::new(first.store_host, a.physical_offset).encode())
            .collect();
        Ok(PutResult { durable: self.durable_if_needed(first, end), msg_ids, appended })
    }

    fn durable_if_needed(&self, msg: &StoredMessage, end: i64) -> Option<Durable> {
        let wait =
            msg.properties.get(property::WAIT).is_none_or(|w| !w.eq_ignore_ascii_case("false"));
        (self.flusher.mode() == FlushDiskType::SyncFlush && wait).then(|| self.flusher.durable(end))
    }

    /// A handle that resolves once the commit log is on disk below `end`: in SYNC_FLUSH it
    /// asks for a group commit; in ASYNC_FLUSH it waits for the next flush covering `end`
    /// (within `flushCommitLogThoroughInterval`).
    pub fn durable(&self, end: i64) -> Durable {
        self.flusher.durable(end)
    }

    /// Blocks until an append's `durable` handle resolves, at most `timeout`.
    pub fn wait_durable(&self, durable: Durable, timeout: Duration) -> Result<()> {
        self.flusher.wait_blocking(durable, timeout)
    }

    fn wake_dispatcher(&self) {
        self.background.wake_dispatcher();
    }

    /// Reads up to `max_count` messages (and about `max_bytes`) of a queue from `offset`,
    /// keeping those `filter` accepts.
    pub fn get_messages(
        &self,
        topic: &str,
        queue_id: i32,
        offset: i64,
        max_count: usize,
        max_bytes: usize,
        filter: &dyn MessageFilter,
    ) -> Result<GetResult> {
        let Some(queue) = self.parts.queues.get(topic, queue_id) else {
            return Ok(GetResult::empty(GetStatus::NoMatchedLogicQueue, 0, 0, 0));
        };
        let (min, max) = (queue.min_offset(), queue.max_offset());
        if max == 0 {
            return Ok(GetResult::empty(GetStatus::NoMessageInQueue, 0, min, max));
        }
        if offset < min {
            return Ok(GetResult::empty(GetStatus::OffsetTooSmall, min, min, max));
        }
        if offset == max {
            return Ok(GetResult::empty(GetStatus::OffsetOverflowOne, offset, min, max));
        }
        if offset > max {
            let next = if min == 0 { min } else { max };
            return Ok(GetResult::empty(GetStatus::OffsetOverflowBadly, next, min, max));
        }
        let entries = queue.read(offset, max_count.max(MAX_FILTER_SCAN))?;
        let mut result = GetResult::empty(GetStatus::OffsetFoundNull, offset, min, max);
        let commit_log_min = self.parts.commit_log.min_offset();
        let mut bytes = 0usize;
        let mut consumed = 0usize;
        for entry in &entries {
            if result.messages.len() >= max_count {
                break;
            }
            let size = usize::try_from(entry.size).unwrap_or(0);
            if result.messages.is_empty() || bytes + size <= max_bytes {
                consumed += 1;
            } else {
                break;
            }
            if size == 0 || entry.size == i32::MAX {
                continue; // a blank filler entry
            }
            if entry.commit_log_offset < commit_log_min {
                result.status = GetStatus::MessageWasRemoving;
                continue;
            }
            if !filter.matches(entry.tags_code) {
                result.status = GetStatus::NoMatchedMessage;
                continue;
            }
            match self.parts.commit_log.read(entry.commit_log_offset, size) {
                Some(message) => {
                    bytes += size;
                    result.queue_offsets.push(offset + consumed as i64 - 1);
                    result.messages.push(message);
                }
                None => result.status = GetStatus::OffsetFoundNull,
            }
        }
        if !result.messages.is_empty() {
            result.status = GetStatus::Found;
        }
        result.next_begin_offset = offset + consumed as i64;
        Ok(result)
    }

    /// Up to `max_count` consume-queue entries of a queue from `offset` on (empty outside
    /// `[min_offset, max_offset)` or for an unknown queue): what the broker's scheduler
    /// reads to learn when each `SCHEDULE_TOPIC_XXXX` message is due (the tags code).
    pub fn queue_entries(
        &self,
        topic: &str,
        queue_id: i32,
        offset: i64,
        max_count: usize,
    ) -> Result<Vec<Entry>> {
        match self.parts.queues.get(topic, queue_id) {
            Some(queue) => queue.read(offset, max_count),
            None => Ok(Vec::new()),
        }
    }

    /// The first offset of a queue still stored (0 for an unknown queue).
    pub fn min_offset(&self, topic: &str, queue_id: i32) -> i64 {
        self.parts.queues.get(topic, queue_id).map(|q| q.min_offset()).unwrap_or(0)
    }

    /// The next offset a queue will be given (its message count; 0 for an unknown queue).
    pub fn max_offset(&self, topic: &str, queue_id: i32) -> i64 {
        self.parts.queues.get(topic, queue_id).map(|q| q.max_offset()).unwrap_or(0)
    }

    /// The store time of the record at commit-log `offset`.
    pub fn store_time_at(&self, offset: i64) -> Option<i64> {
        let sys_flag = self.parts.commit_log.read(offset + SYS_FLAG_POS as i64, 4)?;
        let sys_flag = i32::from_be_bytes(sys_flag.as_ref().try_into().ok()?);
        let at = offset + store_timestamp_pos(sys_flag) as i64;
        let time = self.parts.commit_log.read(at, 8)?;
        Some(i64::from_be_bytes(time.as_ref().try_into().ok()?))
    }

    /// The offset of a queue's first message stored at or after `timestamp` (upper: the last
    /// at or before it), as SEARCH_OFFSET_BY_TIMESTAMP answers.
    pub fn offset_by_time(
        &self,
        topic: &str,
        queue_id: i32,
        timestamp: i64,
        upper: bool,
    ) -> Result<i64> {
        let Some(queue) = self.parts.queues.get(topic, queue_id) else {
            return Ok(0);
        };
        queue.offset_by_time(timestamp, upper, |e| self.store_time_at(e.commit_log_offset))
    }

    /// Store time of the message at `offset` of a queue, if it is still stored.
    pub fn queue_message_time(
        &self,
        topic: &str,
        queue_id: i32,
        offset: i64,
    ) -> Result<Option<i64>> {
        let Some(queue) = self.parts.queues.get(topic, queue_id) else {
            return Ok(None);
        };
        Ok(queue.get(offset)?.and_then(|e| self.store_time_at(e.commit_log_offset)))
    }

    /// Store time of a queue's first message still stored.
    pub fn earliest_message_time(&self, topic: &str, queue_id: i32) -> Result<Option<i64>> {
        let Some(queue) = self.parts.queues.get(topic, queue_id) else {
            return Ok(None);
        };
        let first = queue.get(queue.min_offset())?;
        Ok(first.and_then(|e| self.store_time_at(e.commit_log_offset)))
    }

    /// The whole record at commit-log `offset`.
    pub fn message_at(&self, offset: i64) -> Option<Bytes> {
        self.parts.commit_log.read_record(offset)
    }

    /// The record an offset message id (as in send responses) points at; `None` for an id
    /// that does not decode or points at nothing stored.
    pub fn message_by_id(&self, msg_id: &str) -> Option<Bytes> {
        let id = OffsetMsgId::decode(msg_id).ok()?;
        self.message_at(id.commit_log_offset)
    }

    /// Whether this open found that the last run had crashed (and recovered by scanning).
    pub fn recovered_after_crash(&self) -> bool {
        self.recovered_after_crash
    }

    /// Messages of `topic` whose KEYS include `key` or whose UNIQ_KEY is `key`, stored within
    /// `[begin, end]` ms, newest first, at most `max`.
    pub fn query_by_key(
        &self,
        topic: &str,
        key: &str,
        max: usize,
        begin: i64,
        end: i64,
    ) -> Result<QueryResult> {
        let Some(index) = &self.parts.index else {
            return Ok(QueryResult::default());
        };
        let found = index.query(&format!("{topic}#{key}"), max, begin, end)?;
        let mut result = QueryResult {
            messages: Vec::new(),
            index_last_update_timestamp: found.last_update_timestamp,
            index_last_update_commit_log_offset: found.last_update_commit_log_offset,
        };
        for offset in found.offsets {
            let Some(record) = self.message_at(offset) else { continue };
            // Index hashes collide: keep only records that really carry the key.
            let Ok(msg) = StoredMessage::decode(&mut record.clone()) else { continue };
            let matches = msg.topic == topic
                && (msg.properties.get(property::UNIQ_KEY) == Some(key)
                    || msg.properties.keys().any(|k| k == key));
            if matches {
                result.messages.push(record);
            }
        }
        Ok(result)
    }

    /// First and next-to-write commit-log offsets.
    pub fn commit_log_range(&self) -> (i64, i64) {
        (self.parts.commit_log.min_offset(), self.parts.commit_log.max_offset())
    }

    /// Commit-log offset up to which consume queues and the index are built.
    pub fn dispatched(&self) -> i64 {
        self.parts.dispatcher.dispatched()
    }

    /// Commit-log offset below which everything is on disk.
    pub fn flushed(&self) -> i64 {
        self.parts.commit_log.flushed()
    }

    /// Disk use percent of the commit log's file system at the last check.
    pub fn disk_used_percent(&self) -> u32 {
        self.parts.disk.load(Ordering::Acquire) & !DISK_FULL_BIT
    }

    /// Runs a retention pass now (it also runs every `cleanResourceInterval`).
    pub fn run_retention(&self) {
        background::retention_pass(&self.parts);
    }

    /// Number of consume queues.
    pub fn queue_count(&self) -> usize {
        self.parts.queues.len()
    }

    /// Deletes a topic's consume queues (its commit-log records age out with retention).
    pub fn delete_topic(&self, topic: &str) -> Result<()> {
        self.parts.queues.remove_topic(topic)?;
        self.parts.commit_log.remove_topic(topic);
        Ok(())
    }

    /// Stops cleanly: dispatches and flushes everything, records the checkpoint and removes
    /// the `abort` marker, so the next start skips recovery.
    pub fn shutdown(mut self) -> Result<()> {
        self.background.stop();
        self.parts.dispatcher.run_once()?;
        let end = self.flusher.flush_all()?;
        background::flush_queues_and_checkpoint(&self.parts, end)?;
        if let Some(abort) = self.abort.take() {
            abort.remove()?;
        }
        info!(end, "store shut down cleanly");
        Ok(())
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_millis() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}
