//! Message encoding (§6 of the wire reference): properties, sys flags, hashes, the CommitLog
//! record (also the wire form of pulled messages), batch bodies, message ids, compression.
//!
//! | module          | owns                                                          |
//! |-----------------|---------------------------------------------------------------|
//! | [`properties`]  | the `name 0x01 value 0x02` string and [`Properties`]          |
//! | [`property`]    | well-known property names (`KEYS`, `TAGS`, `UNIQ_KEY`, …)    |
//! | [`sys_flag`]    | `MessageSysFlag` bits and helpers                             |
//! | [`hash`]        | Java `String.hashCode`, tag codes, masked CRC-32              |
//! | [`layout`]      | record field positions, magic codes, in-place patching        |
//! | [`stored`]      | [`StoredMessage`]: encode/decode one record or a pull body    |
//! | [`check`]       | the allocation-free record check used by recovery             |
//! | [`batch`]       | the SEND_BATCH_MESSAGE body                                   |
//! | [`offset_id`]   | the offset message id (store host + commit-log offset)        |
//! | [`uniq_id`]     | the `UNIQ_KEY` unique id and its generator                    |
//! | [`compression`] | body compression types, ZLIB                                  |
//! | [`hex`]         | upper-case hex                                                |

pub mod batch;
pub mod check;
pub mod compression;
pub mod hash;
pub mod hex;
mod host;
pub mod layout;
pub mod offset_id;
pub mod properties;
pub mod property;
pub mod stored;
pub mod sys_flag;
pub mod uniq_id;

pub use batch::{count_batch, decode_batch, encode_batch, BatchEntry};
pub use check::{check_record, RecordCheck};
pub use compression::{compress, decompress, decompress_body, CompressionType};
pub use hash::{crc32_masked, java_string_hash, tag_hash_code};
pub use layout::{
    patch_physical_offset, patch_queue_offset, patch_store_timestamp, MessageVersion,
    BLANK_MAGIC_CODE, MAGIC_CODE_V1, MAGIC_CODE_V2,
};
pub use offset_id::OffsetMsgId;
pub use properties::Properties;
pub use stored::StoredMessage;
pub use sys_flag::TransactionType;
pub use uniq_id::{UniqIdGenerator, UniqIdParts};
