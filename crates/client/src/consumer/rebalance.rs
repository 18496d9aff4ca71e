//! Rebalancing (RocketMQ's `RebalanceImpl` for push consumers): every
//! `rebalance_interval`, at start and whenever a broker says the group changed, each
//! subscribed topic's read queues are split among the group's members; queues that leave
//! are released (pulling stops, listener calls under way finish, the offset is committed,
//! order locks are released) and queues that arrive start where the group left off.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;

use ferromq_protocol::body::MessageQueue;

use super::calls;
use super::group::{GroupMember, QueueRun};
use super::order_lock;
use super::process_queue::ProcessQueue;
use super::start_offset::{start_from, StartFrom};
use super::{orderly, pull_loop};
use crate::error::Result;
use crate::route::TopicRoute;

/// Rebalances at once, then on every notice or period, until the member stops.
pub async fn run(member: Arc<GroupMember>) {
    loop {
        rebalance_once(&member).await;
        tokio::select! {
            _ = member.stop.cancelled() => return,
            _ = member.rebalance_now.notified() => {}
            _ = tokio::time::sleep(member.config.rebalance_interval) => {}
        }
    }
}

/// The route of `topic`, looked up when unknown; whether it was just found.
async fn route(member: &GroupMember, topic: &str) -> Option<(Arc<TopicRoute>, bool)> {
    let fresh = member.instance.cached_route(topic).is_none();
    match member.instance.route(topic).await {
        Ok(route) => Some((route, fresh)),
        Err(e) => {
            tracing::debug!(%topic, error = %e, "no route yet");
            None
        }
    }
}

/// One rebalance of every subscribed topic.
pub async fn rebalance_once(member: &Arc<GroupMember>) {
    let topics = member.topics();
    let mut routes = Vec::with_capacity(topics.len());
    let mut new_brokers = false;
    for topic in &topics {
        if let Some((route, fresh)) = route(member, topic).await {
            new_brokers |= fresh;
            routes.push((topic.clone(), route));
        }
    }
    if new_brokers {
        // Brokers just learnt of must know the subscription before they are pulled from.
        member.instance.heartbeat().await;
    }
    // Queues of topics no longer subscribed.
    for queue in member.assigned() {
        if !topics.contains(&queue.topic) {
            release_later(member, &queue, None);
        }
    }
    for (topic, route) in routes {
        if member.stop.is_cancelled() {
            return;
        }
        let mut mq_all = route.subscribe_queues.clone();
        mq_all.sort();
        let mine: BTreeSet<MessageQueue> = if member.is_clustering() {
            let ids = match calls::group_member_ids(
                &member.instance,
                member.group(),
                &topic,
                &route,
            )
            .await
            {
                Ok(ids) => ids,
                Err(e) => {
                    tracing::debug!(%topic, error = %e, "no member list; keeping the queues held");
                    continue;
                }
            };
            let client_id = &member.instance.client_id;
            if !ids.contains(client_id) {
                // The broker has not had this member's heartbeat yet (it may have just
                // restarted): keep the queues rather than give them all up, and tell it.
                tracing::debug!(%topic, "not yet in the member list; keeping the queues held");
                member.heartbeat_soon();
                continue;
            }
            member.config.allocate_strategy.allocate(client_id, &mq_all, &ids).into_iter().collect()
        } else {
            mq_all.into_iter().collect()
        };
        update_queues(member, &topic, &mine).await;
    }
}

/// Releases the queues of `topic` not in `mine` and starts those of `mine` not running.
async fn update_queues(member: &Arc<GroupMember>, topic: &str, mine: &BTreeSet<MessageQueue>) {
    let held: Vec<MessageQueue> =
        member.assigned().into_iter().filter(|q| q.topic == topic).collect();
    let mut changed = false;
    for queue in &held {
        if !mine.contains(queue) {
            release_later(member, queue, None);
            changed = true;
        }
    }
    member.unpin_except(topic, mine);
    let mut retry_soon = false;
    for queue in mine {
        if member.stop.is_cancelled() {
            return;
        }
        // A queue still being released is taken once that is done (which asks for a
        // rebalance).
        if held.contains(queue) || member.is_draining(queue) {
            continue;
        }
        match start_queue(member, queue).await {
            Ok(true) => changed = true,
            Ok(false) => retry_soon = true,
            Err(e) => {
                tracing::warn!(?queue, error = %e, "cannot start the queue; will retry");
                retry_soon = true;
            }
        }
    }
    if changed {
        let queues: Vec<(String, i32)> = member
            .assigned()
            .into_iter()
            .filter(|q| q.topic == topic)
            .map(|q| (q.broker_name, q.queue_id))
            .collect();
        // The count at info (a topic may have thousands of queues), the list at debug.
        tracing::info!(group = member.group(), %topic, queues = queues.len(), "rebalanced");
        tracing::debug!(group = member.group(), %topic, ?queues, "queues owned now");
    }
    if retry_soon {
        rebalance_later(member);
    }
}

/// Asks for another rebalance shortly (a lock was refused, a queue could not start).
fn rebalance_later(member: &Arc<GroupMember>) {
    let weak = Arc::downgrade(member);
    let stop = member.stop.clone();
    member.tasks.spawn(async move {
        tokio::select! {
            _ = stop.cancelled() => {}
            _ = tokio::time::sleep(std::time::Duration::from_millis(500)) => {
                if let Some(member) = weak.upgrade() {
                    member.rebalance_now.notify_one();
                }
            }
        }
    });
}

/// Where a newly assigned queue starts: where this client moved it (see
/// [`GroupMember::pin_start`]), else `computePullFromWhere`.
async fn start_offset(member: &GroupMember, queue: &MessageQueue) -> Result<i64> {
    member.offsets.remove(queue);
    if let Some(offset) = member.take_pinned(queue) {
        member.offsets.update(queue, offset, false);
        return Ok(offset);
    }
    let stored = member.offsets.read_store(queue).await?;
    let config = &member.config;
    let offset = match start_from(
        config.consume_from_where,
        config.consume_timestamp_ms(),
        &queue.topic,
        stored,
    ) {
        StartFrom::Offset(offset) => offset,
        StartFrom::MaxOffset => calls::max_offset(&member.instance, queue).await?,
        StartFrom::Timestamp(ms) => calls::search_offset(&member.instance, queue, ms).await?,
    };
    Ok(offset.max(0))
}

/// Starts pulling and consuming `queue`; false if its order lock was refused.
async fn start_queue(member: &Arc<GroupMember>, queue: &MessageQueue) -> Result<bool> {
    if member.needs_locks() && !order_lock::lock_one(member, queue).await {
        tracing::debug!(?queue, "order lock refused; trying again later");
        return Ok(false);
    }
    let offset = match start_offset(member, queue).await {
        Ok(offset) => offset,
        Err(e) => {
            if member.needs_locks() {
                order_lock::unlock(member, queue).await;
            }
            return Err(e);
        }
    };
    let pq = Arc::new(ProcessQueue::new(offset));
    if member.needs_locks() {
        pq.set_locked(true, Instant::now());
    }
    let run = QueueRun { queue: queue.clone(), pq, stop: member.stop.child_token() };
    if !member.insert_run(run.clone()) {
        if member.needs_locks() {
            order_lock::unlock(member, queue).await;
        }
        return Ok(false);
    }
    tracing::debug!(?queue, offset, "queue started");
    member.tasks.spawn(pull_loop::run(Arc::clone(member), run.clone()));
    if member.is_orderly() {
        member.tasks.spawn(orderly::run(Arc::clone(member), run));
    }
    Ok(true)
}

/// Takes `queue` out of the assigned set and releases it in the background, then asks for
/// a rebalance; with `fixed_offset` (the broker moved the offset, and `run` is the queue's
/// current run) that offset is committed instead of the cache's, and the rebalance starts
/// the queue again from it.
pub fn release_later(
    member: &Arc<GroupMember>,
    queue: &MessageQueue,
    fixed_offset: Option<(i64, &QueueRun)>,
) {
    let Some(run) = member.take_run(queue, fixed_offset.map(|(_, run)| run)) else { return };
    let fixed = fixed_offset.map(|(offset, _)| offset);
    let member = Arc::clone(member);
    let tasks = member.tasks.clone();
    tasks.spawn(async move {
        release(&member, run, fixed).await;
        // The queue may be due again (its offset was moved, or it came back while draining).
        member.rebalance_now.notify_one();
    });
}

/// Gives a queue up: stop pulling and starting listener calls, let the calls under way
/// finish (at most `await_termination_when_shutdown`), commit the offset, release the order
/// lock.
pub async fn release(member: &GroupMember, run: QueueRun, fixed_offset: Option<i64>) {
    let queue = &run.queue;
    run.pq.set_dropped();
    run.stop.cancel();
    if !run.pq.wait_idle(member.config.await_termination_when_shutdown).await {
        tracing::warn!(?queue, "listener calls still running; their messages may come again");
    }
    let offset = fixed_offset.unwrap_or_else(|| run.pq.commit_offset());
    member.offsets.update(queue, offset, fixed_offset.is_none());
    if let Err(e) = member.offsets.persist(queue).await {
        tracing::warn!(?queue, offset, error = %e, "offset commit failed; messages may come again");
    }
    member.offsets.remove(queue);
    if fixed_offset.is_some() {
        member.pin_start(queue, offset);
    }
    if member.needs_locks() {
        order_lock::unlock(member, queue).await;
    }
    tracing::debug!(?queue, offset, "queue released");
    member.finish_draining(queue);
}
