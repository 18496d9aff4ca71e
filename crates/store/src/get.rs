//! Reading messages for consumers: from a queue offset, through the consume queue, to the
//! records in the commit log, served as zero-copy slices of the mapped segments. Statuses
//! and offset corrections follow RocketMQ's `getMessage`, since clients act on them.

use bytes::Bytes;

/// Outcome of a read, as RocketMQ's `GetMessageStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GetStatus {
    /// Messages were found.
    Found,
    /// Entries existed but none passed the filter.
    NoMatchedMessage,
    /// The entries point at commit-log data already deleted.
    MessageWasRemoving,
    /// An entry could not be read from the commit log.
    OffsetFoundNull,
    /// The offset is past the end of the queue by more than one.
    OffsetOverflowBadly,
    /// The offset is exactly the end of the queue: nothing new yet.
    OffsetOverflowOne,
    /// The offset is before the first message still stored.
    OffsetTooSmall,
    /// The queue does not exist.
    NoMatchedLogicQueue,
    /// The queue exists but holds no message.
    NoMessageInQueue,
}

impl GetStatus {
    /// RocketMQ's name, which brokers put in the pull response's remark.
    pub fn name(self) -> &'static str {
        match self {
            GetStatus::Found => "FOUND",
            GetStatus::NoMatchedMessage => "NO_MATCHED_MESSAGE",
            GetStatus::MessageWasRemoving => "MESSAGE_WAS_REMOVING",
            GetStatus::OffsetFoundNull => "OFFSET_FOUND_NULL",
            GetStatus::OffsetOverflowBadly => "OFFSET_OVERFLOW_BADLY",
            GetStatus::OffsetOverflowOne => "OFFSET_OVERFLOW_ONE",
            GetStatus::OffsetTooSmall => "OFFSET_TOO_SMALL",
            GetStatus::NoMatchedLogicQueue => "NO_MATCHED_LOGIC_QUEUE",
            GetStatus::NoMessageInQueue => "NO_MESSAGE_IN_QUEUE",
        }
    }
}

/// What a read returns.
#[derive(Debug, Clone)]
pub struct GetResult {
    pub status: GetStatus,
    /// Where the consumer should read next.
    pub next_begin_offset: i64,
    /// The queue's first and next-to-write offsets.
    pub min_offset: i64,
    pub max_offset: i64,
    /// Whole stored records, in queue order; each slice shares the mapped segment.
    pub messages: Vec<Bytes>,
    /// Queue offset of each message.
    pub queue_offsets: Vec<i64>,
}

impl GetResult {
    /// Bytes of all messages.
    pub fn total_bytes(&self) -> usize {
        self.messages.iter().map(Bytes::len).sum()
    }

    pub(crate) fn empty(status: GetStatus, next: i64, min: i64, max: i64) -> GetResult {
        GetResult {
            status,
            next_begin_offset: next,
            min_offset: min,
            max_offset: max,
            messages: Vec::new(),
            queue_offsets: Vec::new(),
        }
    }
}

/// Which messages a read returns, by the tag hash code stored in the consume queue.
pub trait MessageFilter {
    /// Whether a message with this tag hash code (0 = no tag) is wanted.
    fn matches(&self, tags_code: i64) -> bool;
}

/// Every message.
#[derive(Debug, Clone, Copy, Default)]
pub struct AllMessages;

impl MessageFilter for AllMessages {
    fn matches(&self, _tags_code: i64) -> bool {
        true
    }
}

impl<F: Fn(i64) -> bool> MessageFilter for F {
    fn matches(&self, tags_code: i64) -> bool {
        self(tags_code)
    }
}
