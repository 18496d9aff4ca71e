//! The two even splits RocketMQ ships: contiguous blocks (`AllocateMessageQueueAveragely`,
//! the default) and round-robin dealing (`AllocateMessageQueueAveragelyByCircle`).

use ferromq_protocol::body::MessageQueue;

/// Contiguous blocks: with `M` queues and `C` clients, the first `M mod C` clients take
/// `⌊M/C⌋ + 1` queues each and the rest `⌊M/C⌋`; a client past the queues gets none.
pub fn averagely(index: usize, mq_all: &[MessageQueue], clients: usize) -> Vec<MessageQueue> {
    let (queues, clients) = (mq_all.len(), clients.max(1));
    let rest = queues % clients;
    let size = if queues <= clients {
        1
    } else if index < rest {
        queues / clients + 1
    } else {
        queues / clients
    };
    let start = if index < rest { index * size } else { index * size + rest };
    let count = size.min(queues.saturating_sub(start));
    mq_all.iter().skip(start).take(count).cloned().collect()
}

/// Round-robin dealing: queue `j` goes to client `j mod C`.
pub fn averagely_by_circle(
    index: usize,
    mq_all: &[MessageQueue],
    clients: usize,
) -> Vec<MessageQueue> {
    let clients = clients.max(1);
    mq_all
        .iter()
        .enumerate()
        .filter(|(j, _)| j % clients == index)
        .map(|(_, q)| q.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queues(n: i32) -> Vec<MessageQueue> {
        (0..n).map(|i| MessageQueue::new("T", "b", i)).collect()
    }

    fn ids(assigned: &[MessageQueue]) -> Vec<i32> {
        assigned.iter().map(|q| q.queue_id).collect()
    }

    #[test]
    fn averagely_gives_contiguous_blocks_larger_first() {
        // (queues, clients, index) → queue ids, as Java's AllocateMessageQueueAveragely.
        let table: &[(i32, usize, usize, &[i32])] = &[
            (8, 3, 0, &[0, 1, 2]),
            (8, 3, 1, &[3, 4, 5]),
            (8, 3, 2, &[6, 7]),
            (8, 2, 1, &[4, 5, 6, 7]),
            (4, 4, 3, &[3]),
            (3, 5, 1, &[1]),
            (3, 5, 4, &[]),
            (1, 1, 0, &[0]),
            (10, 4, 0, &[0, 1, 2]),
            (10, 4, 1, &[3, 4, 5]),
            (10, 4, 2, &[6, 7]),
            (10, 4, 3, &[8, 9]),
        ];
        for (m, c, i, want) in table {
            assert_eq!(
                ids(&averagely(*i, &queues(*m), *c)),
                *want,
                "{m} queues, {c} clients, #{i}"
            );
        }
    }

    #[test]
    fn by_circle_deals_queues_in_turn() {
        let table: &[(i32, usize, usize, &[i32])] = &[
            (8, 3, 0, &[0, 3, 6]),
            (8, 3, 1, &[1, 4, 7]),
            (8, 3, 2, &[2, 5]),
            (3, 5, 4, &[]),
            (4, 1, 0, &[0, 1, 2, 3]),
        ];
        for (m, c, i, want) in table {
            let got = averagely_by_circle(*i, &queues(*m), *c);
            assert_eq!(ids(&got), *want, "{m} queues, {c} clients, #{i}");
        }
    }

    #[test]
    fn every_queue_goes_to_exactly_one_client() {
        for m in 0..20 {
            for c in 1..8 {
                let all = queues(m);
                for split in [averagely, averagely_by_circle] {
                    let mut got: Vec<i32> = (0..c).flat_map(|i| ids(&split(i, &all, c))).collect();
                    got.sort_unstable();
                    assert_eq!(got, (0..m).collect::<Vec<_>>(), "{m} queues, {c} clients");
                }
            }
        }
    }
}
