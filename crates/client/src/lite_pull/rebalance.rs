//! Rebalancing in subscribe mode (RocketMQ's `RebalanceLitePullImpl`): at start, every
//! `rebalance_interval` and whenever a broker says the group changed, each subscribed
//! topic's read queues are split among the group's members by the allocate strategy (every
//! member gets all of them when broadcasting). Queues that leave are released — their
//! buffers dropped, their polled offsets committed and waited for — before queues that
//! arrive start where the group left off.

use std::collections::BTreeSet;
use std::sync::Arc;

use ferromq_protocol::body::MessageQueue;

use super::core::Core;
use crate::consumer::calls;

/// Rebalances at once, then on every notice or period, until the consumer stops.
pub async fn run(core: Arc<Core>) {
    loop {
        rebalance_once(&core).await;
        tokio::select! {
            _ = core.stop.cancelled() => return,
            _ = core.rebalance_now.notified() => {}
            _ = tokio::time::sleep(core.config.rebalance_interval) => {}
        }
    }
}

/// One rebalance of every subscribed topic.
pub async fn rebalance_once(core: &Arc<Core>) {
    for topic in core.topics() {
        if core.stop.is_cancelled() {
            return;
        }
        let fresh = core.instance.cached_route(&topic).is_none();
        let route = match core.instance.route(&topic).await {
            Ok(route) => route,
            Err(e) => {
                tracing::debug!(%topic, error = %e, "no route yet");
                continue;
            }
        };
        if fresh {
            // Brokers just learnt of must list this member before the group is split.
            core.instance.heartbeat().await;
        }
        let mut mq_all = route.subscribe_queues.clone();
        mq_all.sort();
        let mine: BTreeSet<MessageQueue> = if core.is_clustering() {
            let ids =
                match calls::group_member_ids(&core.instance, core.group(), &topic, &route).await {
                    Ok(ids) => ids,
                    Err(e) => {
                        tracing::debug!(%topic, error = %e, "no member list; keeping the queues");
                        continue;
                    }
                };
            let client_id = &core.instance.client_id;
            if !ids.contains(client_id) {
                // The broker has not had this member's heartbeat yet (it may have just
                // restarted): keep the queues rather than give them all up, and tell it.
                tracing::debug!(%topic, "not yet in the member list; keeping the queues");
                core.heartbeat_soon();
                continue;
            }
            core.config.allocate_strategy.allocate(client_id, &mq_all, &ids).into_iter().collect()
        } else {
            mq_all.into_iter().collect()
        };
        update_topic(core, &topic, &mine).await;
    }
}

/// Releases the queues of `topic` not in `mine` (waiting for their commits), then starts
/// those of `mine` not assigned yet.
async fn update_topic(core: &Arc<Core>, topic: &str, mine: &BTreeSet<MessageQueue>) {
    let released = core.assigned().remove_where(|q| q.topic == topic && !mine.contains(q));
    let mut changed = !released.is_empty();
    for one in released {
        core.release(one).await;
    }
    {
        // Checked under the lock `unsubscribe` takes, so an unsubscribed topic stays empty.
        let subscriptions = core.subscriptions();
        if subscriptions.topics.contains_key(topic) {
            for queue in mine {
                changed |= core.start_queue(queue);
            }
        }
    }
    if changed {
        let queues: Vec<(String, i32)> = core
            .assigned()
            .queues()
            .into_iter()
            .filter(|q| q.topic == topic)
            .map(|q| (q.broker_name, q.queue_id))
            .collect();
        // The count at info (a topic may have thousands of queues), the list at debug.
        tracing::info!(group = core.group(), %topic, queues = queues.len(), "rebalanced");
        tracing::debug!(group = core.group(), %topic, ?queues, "queues owned now");
    }
}
