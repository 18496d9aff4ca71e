//! Names of the well-known message properties (`MessageConst`), as they appear on the wire.

/// Business keys, separated by [`KEY_SEPARATOR`]; each one is indexed.
pub const KEYS: &str = "KEYS";
/// The message tag; its Java hash goes into the consume-queue tags code.
pub const TAGS: &str = "TAGS";
/// `"true"`/`"false"`: wait for flush/replication before answering (absent = true).
pub const WAIT: &str = "WAIT";
/// Delay level (an integer).
pub const DELAY: &str = "DELAY";
/// Original topic of a retried message.
pub const RETRY_TOPIC: &str = "RETRY_TOPIC";
/// Original topic of a half, delay or timer message.
pub const REAL_TOPIC: &str = "REAL_TOPIC";
/// Original queue id of a half, delay or timer message.
pub const REAL_QUEUE_ID: &str = "REAL_QID";
/// `"true"` on a transactional (prepared) send.
pub const TRANSACTION_PREPARED: &str = "TRAN_MSG";
/// Producer group (transactions).
pub const PRODUCER_GROUP: &str = "PGROUP";
/// Set by the client on pulled messages.
pub const MIN_OFFSET: &str = "MIN_OFFSET";
/// Set by the client on pulled messages.
pub const MAX_OFFSET: &str = "MAX_OFFSET";
/// Legacy.
pub const BUYER_ID: &str = "BUYER_ID";
/// Offset id of the original message, set on retry.
pub const ORIGIN_MESSAGE_ID: &str = "ORIGIN_MESSAGE_ID";
/// Legacy.
pub const TRANSFER_FLAG: &str = "TRANSFER_FLAG";
/// Legacy.
pub const CORRECTION_FLAG: &str = "CORRECTION_FLAG";
/// Legacy.
pub const MQ2_FLAG: &str = "MQ2_FLAG";
/// Legacy reconsume count.
pub const RECONSUME_TIME: &str = "RECONSUME_TIME";
/// Region of the broker that stored the message.
pub const MSG_REGION: &str = "MSG_REGION";
/// Trace switch.
pub const TRACE_SWITCH: &str = "TRACE_ON";
/// Client-generated unique id (see [`super::uniq_id`]); the broker creates one if missing.
pub const UNIQ_KEY: &str = "UNIQ_KEY";
/// Extra uniqueness information.
pub const EXTEND_UNIQ_INFO: &str = "EXTEND_UNIQ_INFO";
/// Per-message maximum number of retries.
pub const MAX_RECONSUME_TIMES: &str = "MAX_RECONSUME_TIMES";
/// Client timestamp of the start of consumption.
pub const CONSUME_START_TIME: &str = "CONSUME_START_TIME";
/// Inner-batch message count.
pub const INNER_NUM: &str = "INNER_NUM";
/// Inner-batch base offset.
pub const INNER_BASE: &str = "INNER_BASE";
/// Duplication information.
pub const DUP_INFO: &str = "DUP_INFO";
/// Delay before the first transaction check.
pub const CHECK_IMMUNITY_TIME_IN_SECONDS: &str = "CHECK_IMMUNITY_TIME_IN_SECONDS";
/// Queue offset of the prepared (half) message.
pub const TRANSACTION_PREPARED_QUEUE_OFFSET: &str = "TRAN_PREPARED_QUEUE_OFFSET";
/// Transaction id (copied from `UNIQ_KEY` on half messages).
pub const TRANSACTION_ID: &str = "__transactionId__";
/// Transaction check counter.
pub const TRANSACTION_CHECK_TIMES: &str = "TRANSACTION_CHECK_TIMES";
/// Request-reply: instance id.
pub const INSTANCE_ID: &str = "INSTANCE_ID";
/// Request-reply: correlation id.
pub const CORRELATION_ID: &str = "CORRELATION_ID";
/// Request-reply: client to deliver the reply to.
pub const REPLY_TO_CLIENT: &str = "REPLY_TO_CLIENT";
/// Request-reply: time to live.
pub const TTL: &str = "TTL";
/// Request-reply: arrival time of the reply.
pub const ARRIVE_TIME: &str = "ARRIVE_TIME";
/// Request-reply: push time of the reply.
pub const PUSH_REPLY_TIME: &str = "PUSH_REPLY_TIME";
/// Broker cluster name; added by the broker on send.
pub const CLUSTER: &str = "CLUSTER";
/// `reply` for reply messages.
pub const MSG_TYPE: &str = "MSG_TYPE";
/// POP checkpoint (the broker strips a client-supplied one).
pub const POP_CK: &str = "POP_CK";
/// POP checkpoint offset.
pub const POP_CK_OFFSET: &str = "POP_CK_OFFSET";
/// Time of the first POP.
pub const FIRST_POP_TIME: &str = "1ST_POP_TIME";
/// Sharding key.
pub const SHARDING_KEY: &str = "__SHARDINGKEY";
/// Forward queue id.
pub const FORWARD_QUEUE_ID: &str = "PROPERTY_FORWARD_QUEUE_ID";
/// Redirect marker.
pub const REDIRECT: &str = "REDIRECT";
/// LMQ: queues to dispatch to.
pub const INNER_MULTI_DISPATCH: &str = "INNER_MULTI_DISPATCH";
/// LMQ: offsets in those queues.
pub const INNER_MULTI_QUEUE_OFFSET: &str = "INNER_MULTI_QUEUE_OFFSET";
/// Trace context.
pub const TRACE_CONTEXT: &str = "TRACE_CONTEXT";
/// 5.x arbitrary delay, in seconds.
pub const TIMER_DELAY_SEC: &str = "TIMER_DELAY_SEC";
/// 5.x arbitrary delay, in milliseconds relative to now.
pub const TIMER_DELAY_MS: &str = "TIMER_DELAY_MS";
/// 5.x arbitrary delay, as an absolute delivery time in milliseconds.
pub const TIMER_DELIVER_MS: &str = "TIMER_DELIVER_MS";
/// Timer wheel internal.
pub const TIMER_ENQUEUE_MS: &str = "TIMER_ENQUEUE_MS";
/// Timer wheel internal.
pub const TIMER_DEQUEUE_MS: &str = "TIMER_DEQUEUE_MS";
/// Timer wheel internal.
pub const TIMER_ROLL_TIMES: &str = "TIMER_ROLL_TIMES";
/// Timer wheel internal.
pub const TIMER_OUT_MS: &str = "TIMER_OUT_MS";
/// Timer wheel internal.
pub const TIMER_DEL_UNIQKEY: &str = "TIMER_DEL_UNIQKEY";
/// Timer wheel internal.
pub const TIMER_DELAY_LEVEL: &str = "TIMER_DELAY_LEVEL";
/// Born host as a string.
pub const BORN_HOST: &str = "__BORNHOST";
/// Born timestamp as a string.
pub const BORN_TIMESTAMP: &str = "BORN_TIMESTAMP";
/// Optional whole-record CRC, least-significant digit first (§6.3).
pub const CRC32: &str = "__CRC32#";
/// DLQ bookkeeping: original topic.
pub const DLQ_ORIGIN_TOPIC: &str = "DLQ_ORIGIN_TOPIC";
/// DLQ bookkeeping: original message id.
pub const DLQ_ORIGIN_MESSAGE_ID: &str = "DLQ_ORIGIN_MESSAGE_ID";

/// Properties whose name starts with this prefix are client-side only and never stored.
pub const TRANSIENT_PREFIX: &str = "__RMQ.TRANSIENT.";
/// Separator between the business keys of [`KEYS`].
pub const KEY_SEPARATOR: char = ' ';

/// Every name above: the system properties a user may not set (`MessageConst.STRING_HASH_SET`).
pub const RESERVED: &[&str] = &[
    KEYS,
    TAGS,
    WAIT,
    DELAY,
    RETRY_TOPIC,
    REAL_TOPIC,
    REAL_QUEUE_ID,
    TRANSACTION_PREPARED,
    PRODUCER_GROUP,
    MIN_OFFSET,
    MAX_OFFSET,
    BUYER_ID,
    ORIGIN_MESSAGE_ID,
    TRANSFER_FLAG,
    CORRECTION_FLAG,
    MQ2_FLAG,
    RECONSUME_TIME,
    MSG_REGION,
    TRACE_SWITCH,
    UNIQ_KEY,
    EXTEND_UNIQ_INFO,
    MAX_RECONSUME_TIMES,
    CONSUME_START_TIME,
    INNER_NUM,
    INNER_BASE,
    DUP_INFO,
    CHECK_IMMUNITY_TIME_IN_SECONDS,
    TRANSACTION_PREPARED_QUEUE_OFFSET,
    TRANSACTION_ID,
    TRANSACTION_CHECK_TIMES,
    INSTANCE_ID,
    CORRELATION_ID,
    REPLY_TO_CLIENT,
    TTL,
    ARRIVE_TIME,
    PUSH_REPLY_TIME,
    CLUSTER,
    MSG_TYPE,
    POP_CK,
    POP_CK_OFFSET,
    FIRST_POP_TIME,
    SHARDING_KEY,
    FORWARD_QUEUE_ID,
    REDIRECT,
    INNER_MULTI_DISPATCH,
    INNER_MULTI_QUEUE_OFFSET,
    TRACE_CONTEXT,
    TIMER_DELAY_SEC,
    TIMER_DELAY_MS,
    TIMER_DELIVER_MS,
    TIMER_ENQUEUE_MS,
    TIMER_DEQUEUE_MS,
    TIMER_ROLL_TIMES,
    TIMER_OUT_MS,
    TIMER_DEL_UNIQKEY,
    TIMER_DELAY_LEVEL,
    BORN_HOST,
    BORN_TIMESTAMP,
    CRC32,
    DLQ_ORIGIN_TOPIC,
    DLQ_ORIGIN_MESSAGE_ID,
];

/// Whether `name` is a system property name users may not set.
pub fn is_reserved(name: &str) -> bool {
    RESERVED.contains(&name)
}
