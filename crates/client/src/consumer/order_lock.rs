//! Order locks for orderly consumption in clustering mode: a queue is consumed only while
//! the broker says this client holds its lock (LOCK_BATCH_MQ); locks are renewed every
//! `lock_interval` for all queues at once, per broker, and released (UNLOCK_BATCH_MQ) when a
//! queue is given up.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Instant;

use ferromq_protocol::body::MessageQueue;

use super::calls;
use super::group::GroupMember;

/// Asks for one queue's lock; true if granted (and records it on the queue's cache).
pub async fn lock_one(member: &Arc<GroupMember>, queue: &MessageQueue) -> bool {
    let addr = match calls::master_of(&member.instance, queue).await {
        Ok(addr) => addr,
        Err(e) => {
            tracing::debug!(?queue, error = %e, "no broker to lock at");
            return false;
        }
    };
    let wanted = BTreeSet::from([queue.clone()]);
    match calls::lock_batch(&member.instance, &addr, member.group(), wanted).await {
        Ok(granted) => {
            let now = Instant::now();
            for locked in &granted {
                if let Some(run) = member.run_of(locked) {
                    run.pq.set_locked(true, now);
                }
            }
            granted.contains(queue)
        }
        Err(e) => {
            tracing::debug!(?queue, error = %e, "lock request failed");
            false
        }
    }
}

/// Renews the locks of every assigned queue, one request per broker (`lockAll`).
pub async fn lock_all(member: &Arc<GroupMember>) {
    let mut by_broker: BTreeMap<String, BTreeSet<MessageQueue>> = BTreeMap::new();
    for queue in member.assigned() {
        by_broker.entry(queue.broker_name.clone()).or_default().insert(queue);
    }
    for queues in by_broker.into_values() {
        let Some(first) = queues.first() else { continue };
        let addr = match calls::master_of(&member.instance, first).await {
            Ok(addr) => addr,
            Err(e) => {
                tracing::debug!(error = %e, "no broker to renew locks at");
                continue;
            }
        };
        match calls::lock_batch(&member.instance, &addr, member.group(), queues.clone()).await {
            Ok(granted) => {
                let now = Instant::now();
                for queue in &queues {
                    if let Some(run) = member.run_of(queue) {
                        let locked = granted.contains(queue);
                        if !locked {
                            tracing::info!(?queue, "order lock lost");
                        }
                        run.pq.set_locked(locked, now);
                    }
                }
            }
            // Locks lapse on their own after 30 s if renewals keep failing.
            Err(e) => tracing::debug!(%addr, error = %e, "lock renewal failed"),
        }
    }
}

/// Renews locks every `lock_interval` until the member stops.
pub async fn run(member: Arc<GroupMember>) {
    loop {
        tokio::select! {
            _ = member.stop.cancelled() => return,
            _ = tokio::time::sleep(member.config.lock_interval) => {}
        }
        lock_all(&member).await;
    }
}

/// Releases one queue's lock (errors only logged: the broker lets it lapse anyway).
pub async fn unlock(member: &GroupMember, queue: &MessageQueue) {
    let addr = match calls::master_of(&member.instance, queue).await {
        Ok(addr) => addr,
        Err(_) => return,
    };
    let queues = BTreeSet::from([queue.clone()]);
    if let Err(e) = calls::unlock_batch(&member.instance, &addr, member.group(), queues).await {
        tracing::debug!(?queue, error = %e, "unlock failed; the lock will lapse");
    }
}
