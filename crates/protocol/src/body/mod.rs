//! JSON bodies: every body type encodes exactly as the Java broker's fastjson 1.x does and
//! decodes leniently from either fastjson or standard JSON.
//!
//! Each type has `to_json(&self) -> Vec<u8>` (keys sorted, nulls left out, integer map keys
//! unquoted, `MessageQueue` map keys as raw objects) and `from_json(&[u8]) -> Result<Self>`
//! (unknown keys ignored, missing keys defaulted, numbers and strings interchangeable).
//! Map keys come out in sorted order where Java would use `HashMap` order; Java readers do
//! not care. [`fastjson`] holds the writer and the reader they share.

/// Adds `to_json`/`from_json` to body types that implement `ToJson` and `FromJsonValue`.
macro_rules! json_body {
    ($($ty:ty),+ $(,)?) => {$(
        impl $ty {
            /// The body as the Java broker writes it (fastjson: keys sorted, nulls left out).
            pub fn to_json(&self) -> Vec<u8> {
                $crate::body::fastjson::ToJson::to_json_tree(self)
                    .render($crate::body::fastjson::JsonStyle::Fastjson)
            }

            /// Reads the body from fastjson or standard JSON, leniently.
            pub fn from_json(bytes: &[u8]) -> $crate::error::Result<Self> {
                $crate::body::fastjson::decode(bytes)
            }
        }
    )+};
}

/// Declares a Java enum carried by name: `name()`, `from_name()`, ordinal order, a default,
/// and lenient decoding (unknown names and ordinals fall back to the default, where fastjson
/// would yield null).
macro_rules! java_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident (default $default:ident) {
            $( $(#[$vmeta:meta])* $variant:ident = $java:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every variant in Java declaration (ordinal) order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The Java constant name, as fastjson writes it.
            pub fn name(self) -> &'static str {
                match self {
                    $(Self::$variant => $java,)+
                }
            }

            /// The variant with this Java constant name.
            pub fn from_name(name: &str) -> Option<Self> {
                match name {
                    $($java => Some(Self::$variant),)+
                    _ => None,
                }
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::$default
            }
        }

        impl $crate::body::fastjson::ToJson for $name {
            fn to_json_tree(&self) -> $crate::body::fastjson::Json {
                $crate::body::fastjson::Json::Str(self.name().to_owned())
            }
        }

        impl $crate::body::fastjson::FromJsonValue for $name {
            fn from_json_value(v: &serde_json::Value) -> $crate::error::Result<Self> {
                Ok(match v {
                    serde_json::Value::String(s) => Self::from_name(s.trim()).unwrap_or_default(),
                    serde_json::Value::Number(n) => n
                        .as_u64()
                        .and_then(|i| usize::try_from(i).ok())
                        .and_then(|i| Self::ALL.get(i).copied())
                        .unwrap_or_default(),
                    _ => Self::default(),
                })
            }
        }
    };
}

pub mod fastjson;

mod broker_member_group;
mod cluster_info;
mod connection;
mod consume_model;
mod consume_stats;
mod consumer_list;
mod consumer_offset;
mod data_version;
mod heartbeat;
mod kv_table;
mod lock_batch;
mod message_queue;
mod register_broker;
mod reset_offset;
mod route;
mod subscription;
mod subscription_group;
mod topic_config;
mod topic_config_wrapper;
mod topic_list;
mod topic_stats;

#[cfg(test)]
mod tests;

pub use broker_member_group::{BrokerMemberGroup, GetBrokerMemberGroupResponseBody};
pub use cluster_info::ClusterInfo;
pub use connection::{Connection, ConsumerConnection, ProducerConnection};
pub use consume_model::{ConsumeFromWhere, ConsumeType, MessageModel};
pub use consume_stats::{ConsumeStats, OffsetWrapper};
pub use consumer_list::GetConsumerListByGroupResponseBody;
pub use consumer_offset::ConsumerOffsetSerializeWrapper;
pub use data_version::DataVersion;
pub use fastjson::JsonStyle;
pub use heartbeat::{ConsumerData, HeartbeatData, ProducerData};
pub use kv_table::{KvConfigFile, KvTable};
pub use lock_batch::{LockBatchRequestBody, LockBatchResponseBody, UnlockBatchRequestBody};
pub use message_queue::MessageQueue;
pub use register_broker::{RegisterBrokerBody, MAX_INFLATED_BODY};
pub use reset_offset::ResetOffsetBody;
pub use route::{BrokerData, QueueData, TopicRouteData};
pub use subscription::{SubscriptionData, EXPRESSION_SQL92, EXPRESSION_TAG, SUB_ALL};
pub use subscription_group::{
    CustomizedRetryPolicy, ExponentialRetryPolicy, GroupRetryPolicy, GroupRetryPolicyType,
    SimpleSubscriptionData, SubscriptionGroupConfig,
};
pub use topic_config::{TopicConfig, TopicFilterType};
pub use topic_config_wrapper::TopicConfigSerializeWrapper;
pub use topic_list::TopicList;
pub use topic_stats::{TopicOffset, TopicStatsTable};

/// Milliseconds since the Unix epoch (Java's `System.currentTimeMillis()`).
pub(crate) fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
