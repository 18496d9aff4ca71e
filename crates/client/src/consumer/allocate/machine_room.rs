//! Allocation by machine room: `AllocateMessageQueueByMachineRoom` (only queues of brokers
//! named `<room>@<name>` in the consumer's rooms, split evenly) and `AllocateMachineRoomNearby`
//! (queues go to clients in the same room; rooms without clients are shared by everyone).

use std::collections::{BTreeMap, BTreeSet};

use ferromq_protocol::body::MessageQueue;

/// Tells which machine room a broker queue and a client are in (`MachineRoomResolver`).
pub trait MachineRoomResolver: Send + Sync {
    fn broker_deploy_in(&self, queue: &MessageQueue) -> String;
    fn consumer_deploy_in(&self, client_id: &str) -> String;
}

/// The queues of brokers named `room@name` whose room is in `rooms`, split in blocks of
/// `⌊M/C⌋` with the remainder dealt one each to the first clients.
pub fn by_machine_room(
    index: usize,
    mq_all: &[MessageQueue],
    clients: usize,
    rooms: &BTreeSet<String>,
) -> Vec<MessageQueue> {
    let in_rooms: Vec<&MessageQueue> = mq_all
        .iter()
        .filter(|q| {
            let parts: Vec<&str> = q.broker_name.split('@').collect();
            parts.len() == 2 && parts.first().is_some_and(|room| rooms.contains(*room))
        })
        .collect();
    let clients = clients.max(1);
    let (block, rest) = (in_rooms.len() / clients, in_rooms.len() % clients);
    let mut result: Vec<MessageQueue> =
        in_rooms.iter().skip(block * index).take(block).map(|q| (*q).clone()).collect();
    if rest > index {
        if let Some(extra) = in_rooms.get(index + block * clients) {
            result.push((*extra).clone());
        }
    }
    result
}

/// A strategy as `nearby` applies it inside a room: `(current, queues, clients) → share`.
pub type Split<'a> = &'a dyn Fn(&str, &[MessageQueue], &[String]) -> Vec<MessageQueue>;

/// Groups queues and clients by room; `current` gets its share (by `inner`) of its own
/// room's queues, plus its share of every room that has no client at all.
pub fn nearby(
    current: &str,
    mq_all: &[MessageQueue],
    cid_all: &[String],
    resolver: &dyn MachineRoomResolver,
    inner: Split<'_>,
) -> Vec<MessageQueue> {
    let mut room_queues: BTreeMap<String, Vec<MessageQueue>> = BTreeMap::new();
    for queue in mq_all {
        room_queues.entry(resolver.broker_deploy_in(queue)).or_default().push(queue.clone());
    }
    let mut room_clients: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for cid in cid_all {
        room_clients.entry(resolver.consumer_deploy_in(cid)).or_default().push(cid.clone());
    }
    let mut result = Vec::new();
    let my_room = resolver.consumer_deploy_in(current);
    if let (Some(queues), Some(clients)) =
        (room_queues.remove(&my_room), room_clients.get(&my_room))
    {
        result.extend(inner(current, &queues, clients));
    }
    for (room, queues) in &room_queues {
        if !room_clients.contains_key(room) {
            result.extend(inner(current, queues, cid_all));
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::super::averagely::averagely;
    use super::*;

    fn ids(assigned: &[MessageQueue]) -> Vec<(String, i32)> {
        assigned.iter().map(|q| (q.broker_name.clone(), q.queue_id)).collect()
    }

    #[test]
    fn by_machine_room_keeps_only_the_consumers_rooms() {
        let mq_all: Vec<MessageQueue> = ["hz@b1", "sh@b2", "plain"]
            .iter()
            .flat_map(|b| (0..3).map(move |i| MessageQueue::new("T", *b, i)))
            .collect();
        let rooms = BTreeSet::from(["hz".to_string(), "sh".to_string()]);
        // Six queues in the rooms, four clients: blocks of 1, the first two get one more.
        let table: &[(usize, &[(&str, i32)])] = &[
            (0, &[("hz@b1", 0), ("sh@b2", 1)]),
            (1, &[("hz@b1", 1), ("sh@b2", 2)]),
            (2, &[("hz@b1", 2)]),
            (3, &[("sh@b2", 0)]),
        ];
        for (index, want) in table {
            let want: Vec<(String, i32)> = want.iter().map(|(b, i)| (b.to_string(), *i)).collect();
            assert_eq!(ids(&by_machine_room(*index, &mq_all, 4, &rooms)), want, "#{index}");
        }
    }

    struct ByPrefix;

    impl MachineRoomResolver for ByPrefix {
        fn broker_deploy_in(&self, queue: &MessageQueue) -> String {
            queue.broker_name.split('-').next().unwrap_or_default().to_string()
        }
        fn consumer_deploy_in(&self, client_id: &str) -> String {
            client_id.split('-').next().unwrap_or_default().to_string()
        }
    }

    #[test]
    fn nearby_prefers_the_clients_room_and_shares_orphan_rooms() {
        let mq_all: Vec<MessageQueue> = ["hz-a", "sh-a", "bj-a"]
            .iter()
            .flat_map(|b| (0..2).map(move |i| MessageQueue::new("T", *b, i)))
            .collect();
        let cid_all: Vec<String> = vec!["hz-1".into(), "hz-2".into(), "sh-1".into()];
        let avg = |current: &str, queues: &[MessageQueue], cids: &[String]| {
            let index = cids.iter().position(|c| c == current).unwrap_or(usize::MAX);
            averagely(index, queues, cids.len())
        };
        let got = |cid: &str| ids(&nearby(cid, &mq_all, &cid_all, &ByPrefix, &avg));
        let pairs = |v: &[(&str, i32)]| -> Vec<(String, i32)> {
            v.iter().map(|(b, i)| (b.to_string(), *i)).collect()
        };
        // bj has no client: its two queues are split over all three clients.
        assert_eq!(got("hz-1"), pairs(&[("hz-a", 0), ("bj-a", 0)]));
        assert_eq!(got("hz-2"), pairs(&[("hz-a", 1), ("bj-a", 1)]));
        assert_eq!(got("sh-1"), pairs(&[("sh-a", 0), ("sh-a", 1)]));
    }
}
