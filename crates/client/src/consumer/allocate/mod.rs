//! Queue allocation among a consumer group's members: the strategies RocketMQ ships, each a
//! pure function of the sorted queues and the sorted client ids (`AllocateMessageQueueStrategy`).
//!
//! | strategy | Java class | module |
//! |---|---|---|
//! | [`AllocateStrategy::Averagely`] (default) | `AllocateMessageQueueAveragely` | `averagely` |
//! | [`AllocateStrategy::AveragelyByCircle`] | `AllocateMessageQueueAveragelyByCircle` | `averagely` |
//! | [`AllocateStrategy::ConsistentHash`] | `AllocateMessageQueueConsistentHash` | `consistent_hash` |
//! | [`AllocateStrategy::ByConfig`] | `AllocateMessageQueueByConfig` | here |
//! | [`AllocateStrategy::ByMachineRoom`] | `AllocateMessageQueueByMachineRoom` | `machine_room` |
//! | [`AllocateStrategy::MachineRoomNearby`] | `AllocateMachineRoomNearby` | `machine_room` |

mod averagely;
mod consistent_hash;
mod machine_room;

use std::collections::BTreeSet;
use std::sync::Arc;

use ferromq_protocol::body::MessageQueue;

pub use consistent_hash::DEFAULT_VIRTUAL_NODES;
pub use machine_room::MachineRoomResolver;

/// How a group's queues are shared among its members.
#[derive(Clone, Default)]
#[non_exhaustive]
pub enum AllocateStrategy {
    /// Contiguous blocks, the larger ones first (RocketMQ's default, `AVG`).
    #[default]
    Averagely,
    /// Queues dealt round-robin (`AVG_BY_CIRCLE`).
    AveragelyByCircle,
    /// A consistent-hash ring with this many virtual nodes per client (`CONSISTENT_HASH`;
    /// RocketMQ's default is [`DEFAULT_VIRTUAL_NODES`]).
    ConsistentHash { virtual_nodes: usize },
    /// Always these queues, whoever else is in the group (`CONFIG`).
    ByConfig(Vec<MessageQueue>),
    /// Only queues of brokers named `<room>@<name>` with a room in the set (`MACHINE_ROOM`).
    ByMachineRoom { consumer_idcs: BTreeSet<String> },
    /// Queues of a room go to the clients in that room, by `inner`; rooms without clients
    /// are shared by all (`MACHINE_ROOM_NEARBY`).
    MachineRoomNearby { inner: Box<AllocateStrategy>, resolver: Arc<dyn MachineRoomResolver> },
}

impl std::fmt::Debug for AllocateStrategy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AllocateStrategy::ConsistentHash { virtual_nodes } => {
                write!(f, "ConsistentHash({virtual_nodes})")
            }
            AllocateStrategy::ByConfig(queues) => write!(f, "ByConfig({} queues)", queues.len()),
            AllocateStrategy::ByMachineRoom { consumer_idcs } => {
                write!(f, "ByMachineRoom({consumer_idcs:?})")
            }
            AllocateStrategy::MachineRoomNearby { inner, .. } => {
                write!(f, "MachineRoomNearby({inner:?})")
            }
            other => f.write_str(other.name()),
        }
    }
}

impl AllocateStrategy {
    /// RocketMQ's name of the strategy.
    pub fn name(&self) -> &'static str {
        match self {
            AllocateStrategy::Averagely => "AVG",
            AllocateStrategy::AveragelyByCircle => "AVG_BY_CIRCLE",
            AllocateStrategy::ConsistentHash { .. } => "CONSISTENT_HASH",
            AllocateStrategy::ByConfig(_) => "CONFIG",
            AllocateStrategy::ByMachineRoom { .. } => "MACHINE_ROOM",
            AllocateStrategy::MachineRoomNearby { .. } => "MACHINE_ROOM_NEARBY",
        }
    }

    /// The queues `current` takes. `mq_all` and `cid_all` must be sorted (as Java sorts
    /// them: queues by topic, broker name and id; client ids as strings) so every member
    /// computes the same split. A client missing from `cid_all` gets nothing.
    pub fn allocate(
        &self,
        current: &str,
        mq_all: &[MessageQueue],
        cid_all: &[String],
    ) -> Vec<MessageQueue> {
        if let AllocateStrategy::ByConfig(queues) = self {
            return queues.clone();
        }
        let Some(index) = cid_all.iter().position(|c| c == current) else {
            return Vec::new();
        };
        if mq_all.is_empty() {
            return Vec::new();
        }
        match self {
            AllocateStrategy::Averagely => averagely::averagely(index, mq_all, cid_all.len()),
            AllocateStrategy::AveragelyByCircle => {
                averagely::averagely_by_circle(index, mq_all, cid_all.len())
            }
            AllocateStrategy::ConsistentHash { virtual_nodes } => {
                consistent_hash::consistent_hash(current, mq_all, cid_all, *virtual_nodes)
            }
            AllocateStrategy::ByConfig(queues) => queues.clone(),
            AllocateStrategy::ByMachineRoom { consumer_idcs } => {
                machine_room::by_machine_room(index, mq_all, cid_all.len(), consumer_idcs)
            }
            AllocateStrategy::MachineRoomNearby { inner, resolver } => {
                let inner = |cur: &str, queues: &[MessageQueue], cids: &[String]| {
                    inner.allocate(cur, queues, cids)
                };
                machine_room::nearby(current, mq_all, cid_all, resolver.as_ref(), &inner)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queues(n: i32) -> Vec<MessageQueue> {
        (0..n).map(|i| MessageQueue::new("T", "b", i)).collect()
    }

    #[test]
    fn strangers_and_empty_inputs_get_nothing() {
        let cids = vec!["a".to_string(), "b".to_string()];
        for strategy in [
            AllocateStrategy::Averagely,
            AllocateStrategy::AveragelyByCircle,
            AllocateStrategy::ConsistentHash { virtual_nodes: DEFAULT_VIRTUAL_NODES },
        ] {
            assert!(strategy.allocate("z", &queues(4), &cids).is_empty(), "{strategy:?}");
            assert!(strategy.allocate("a", &[], &cids).is_empty(), "{strategy:?}");
            assert!(strategy.allocate("a", &queues(4), &[]).is_empty(), "{strategy:?}");
        }
    }

    #[test]
    fn by_config_ignores_the_group() {
        let fixed = vec![MessageQueue::new("T", "x", 7)];
        let strategy = AllocateStrategy::ByConfig(fixed.clone());
        assert_eq!(strategy.allocate("anyone", &queues(4), &[]), fixed);
        assert_eq!(strategy.name(), "CONFIG");
    }

    #[test]
    fn the_default_is_averagely() {
        let strategy = AllocateStrategy::default();
        assert_eq!(strategy.name(), "AVG");
        let cids = vec!["a".to_string(), "b".to_string()];
        assert_eq!(strategy.allocate("b", &queues(4), &cids), queues(4)[2..].to_vec());
    }
}
