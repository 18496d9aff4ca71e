//! Consistent hashing (`AllocateMessageQueueConsistentHash`): every client is placed on a
//! ring at `virtual_nodes` points (MD5 of `"<clientId>-<i>"`), and a queue belongs to the
//! first point at or after the MD5 of its Java `toString()`. Adding or removing a client
//! moves only the queues next to its points.

use std::collections::BTreeMap;

use ferromq_protocol::body::MessageQueue;
use md5::{Digest, Md5};

/// RocketMQ's default number of virtual nodes per client.
pub const DEFAULT_VIRTUAL_NODES: usize = 10;

/// The first four bytes of the MD5 digest of `key`, big-endian, as RocketMQ's ring hashes.
pub fn ring_hash(key: &str) -> u32 {
    let digest = Md5::digest(key.as_bytes());
    digest.iter().take(4).fold(0u32, |h, b| (h << 8) | u32::from(*b))
}

/// How Java prints a queue, which is what the ring hashes.
fn java_to_string(queue: &MessageQueue) -> String {
    format!(
        "MessageQueue [topic={}, brokerName={}, queueId={}]",
        queue.topic, queue.broker_name, queue.queue_id
    )
}

/// The queues of `mq_all` that land on `current`'s points of the ring built from `cid_all`.
pub fn consistent_hash(
    current: &str,
    mq_all: &[MessageQueue],
    cid_all: &[String],
    virtual_nodes: usize,
) -> Vec<MessageQueue> {
    // Later points overwrite earlier ones on a collision, as Java's TreeMap.put does.
    let mut ring: BTreeMap<u32, &str> = BTreeMap::new();
    for cid in cid_all {
        for i in 0..virtual_nodes {
            ring.insert(ring_hash(&format!("{cid}-{i}")), cid);
        }
    }
    let owner = |queue: &MessageQueue| {
        let hash = ring_hash(&java_to_string(queue));
        ring.range(hash..).next().or_else(|| ring.iter().next()).map(|(_, cid)| *cid)
    };
    mq_all.iter().filter(|q| owner(q) == Some(current)).cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queues(n: i32) -> Vec<MessageQueue> {
        (0..n).map(|i| MessageQueue::new("TopicTest", "broker-a", i)).collect()
    }

    fn cids(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("10.0.0.{i}@{i}")).collect()
    }

    #[test]
    fn the_ring_hash_is_the_md5_prefix() {
        // md5("") = d41d8cd9…, md5("abc") = 900150983cd24fb0…
        assert_eq!(ring_hash(""), 0xd41d_8cd9);
        assert_eq!(ring_hash("abc"), 0x9001_5098);
        let queue = MessageQueue::new("T", "b", 3);
        assert_eq!(java_to_string(&queue), "MessageQueue [topic=T, brokerName=b, queueId=3]");
    }

    #[test]
    fn owners_match_rocketmqs_ring() {
        // Owners of queues 0..12 as Java's ConsistentHashRouter (10 virtual nodes) routes
        // them for these three clients.
        const JAVA: [&str; 12] = [
            "10.0.0.3@c",
            "10.0.0.2@b",
            "10.0.0.1@a",
            "10.0.0.3@c",
            "10.0.0.3@c",
            "10.0.0.3@c",
            "10.0.0.3@c",
            "10.0.0.2@b",
            "10.0.0.3@c",
            "10.0.0.3@c",
            "10.0.0.3@c",
            "10.0.0.2@b",
        ];
        let all: Vec<MessageQueue> =
            (0..12).map(|i| MessageQueue::new("TopicTest", "broker-a", i)).collect();
        let clients: Vec<String> =
            ["10.0.0.1@a", "10.0.0.2@b", "10.0.0.3@c"].iter().map(|c| c.to_string()).collect();
        for client in &clients {
            let mine: Vec<i32> = consistent_hash(client, &all, &clients, DEFAULT_VIRTUAL_NODES)
                .iter()
                .map(|q| q.queue_id)
                .collect();
            let java: Vec<i32> = (0..12).filter(|i| JAVA[*i as usize] == client).collect();
            assert_eq!(mine, java, "{client}");
        }
    }

    #[test]
    fn every_queue_has_one_owner() {
        let (all, clients) = (queues(32), cids(5));
        let mut owned: Vec<i32> = clients
            .iter()
            .flat_map(|c| consistent_hash(c, &all, &clients, DEFAULT_VIRTUAL_NODES))
            .map(|q| q.queue_id)
            .collect();
        owned.sort_unstable();
        assert_eq!(owned, (0..32).collect::<Vec<_>>());
    }

    #[test]
    fn a_new_client_only_takes_queues_from_others() {
        let all = queues(64);
        let (before, after) = (cids(4), cids(5));
        let newcomer = &after[4];
        for client in &before {
            let old = consistent_hash(client, &all, &before, DEFAULT_VIRTUAL_NODES);
            let new = consistent_hash(client, &all, &after, DEFAULT_VIRTUAL_NODES);
            assert!(new.iter().all(|q| old.contains(q)), "{client} gained queues");
        }
        assert!(!consistent_hash(newcomer, &all, &after, DEFAULT_VIRTUAL_NODES).is_empty());
    }

    #[test]
    fn no_virtual_nodes_means_no_owner() {
        assert!(consistent_hash("a", &queues(4), &["a".to_string()], 0).is_empty());
    }
}
