//! The pull loop of one assigned queue (RocketMQ's `pullMessage` and its callback): wait
//! while the queue's cache is full (or, for orderly consumption, while its lock is not
//! held), long-poll the broker, hand found messages to consumption, move the pull position,
//! correct an illegal offset, and back off on errors. It ends when the queue is given up.

use std::sync::Arc;
use std::time::Instant;

use ferromq_protocol::ResponseCode;

use super::calls::master_of;
use super::group::{GroupMember, QueueRun, PULL_DELAY_ON_ERROR, PULL_DELAY_ON_FLOW_CONTROL};
use super::pull::{self, PullSpec, PullStatus, CONSUMER_TIMEOUT_WHEN_SUSPEND};
use super::{concurrently, rebalance};
use crate::error::{ClientError, Result};

/// Pulls `run`'s queue until it is given up or the member stops.
pub async fn run(member: Arc<GroupMember>, run: QueueRun) {
    let limits = member.thresholds();
    let mut flow_controlled: u64 = 0;
    while !run.stop.is_cancelled() && !run.pq.is_dropped() {
        let freed = run.pq.freed();
        if let Some(full) = run.pq.full(&limits) {
            if flow_controlled.is_multiple_of(1000) {
                tracing::info!(queue = ?run.queue, ?full, "cache full; pulling paused");
            }
            flow_controlled += 1;
            tokio::select! {
                _ = run.stop.cancelled() => return,
                _ = freed => {}
                _ = tokio::time::sleep(PULL_DELAY_ON_FLOW_CONTROL) => {}
            }
            continue;
        }
        if member.needs_locks() && !run.pq.is_locked(Instant::now()) {
            let arrived = run.pq.arrived();
            tokio::select! {
                _ = run.stop.cancelled() => return,
                _ = arrived => {}
                _ = tokio::time::sleep(PULL_DELAY_ON_ERROR) => {}
            }
            continue;
        }
        let outcome = tokio::select! {
            _ = run.stop.cancelled() => return,
            outcome = pull_once(&member, &run) => outcome,
        };
        match outcome {
            Ok(Next::Again) => {}
            Ok(Next::Stop) => return,
            Err(e) => {
                let code = e.response_code();
                if matches!(
                    code,
                    Some(
                        ResponseCode::SUBSCRIPTION_NOT_EXIST
                            | ResponseCode::SUBSCRIPTION_NOT_LATEST
                    )
                ) {
                    member.heartbeat_soon();
                }
                if !run.queue.topic.starts_with(ferromq_protocol::topic::RETRY_GROUP_TOPIC_PREFIX) {
                    tracing::debug!(queue = ?run.queue, error = %e, "pull failed; retrying in 3 s");
                }
                if !member.pause(PULL_DELAY_ON_ERROR, &run.stop).await {
                    return;
                }
            }
        }
    }
}

/// What the loop does after a pull.
enum Next {
    Again,
    Stop,
}

/// One pull and what follows from its answer.
async fn pull_once(member: &Arc<GroupMember>, run: &QueueRun) -> Result<Next> {
    let queue = &run.queue;
    let subscription = member.subscription(&queue.topic).ok_or_else(|| ClientError::NoRoute {
        topic: queue.topic.clone(),
        reason: "no longer subscribed".into(),
    })?;
    let commit_offset = if member.is_clustering() {
        member.offsets.read_memory(queue).filter(|offset| *offset > 0)
    } else {
        None
    };
    let offset = run.pq.next_offset();
    let spec = PullSpec {
        group: member.group(),
        queue,
        offset,
        max_nums: member.config.pull_batch_size,
        commit_offset,
        subscription: &subscription,
    };
    let addr = master_of(&member.instance, queue).await?;
    let response =
        member.instance.call(&addr, spec.request(), CONSUMER_TIMEOUT_WHEN_SUSPEND).await?;
    let result = pull::parse(&addr, queue, member.group(), &subscription, response)?;
    match result.status {
        PullStatus::Found => {
            if result.next_begin_offset < offset {
                tracing::warn!(?queue, offset, next = result.next_begin_offset, "pull went back");
            }
            let messages = result.messages;
            run.pq.put(messages.clone(), result.next_begin_offset);
            if messages.is_empty() {
                // Everything found was filtered out on the client.
                record_idle_offset(member, run);
            } else if !member.is_orderly() {
                concurrently::submit(member, run, messages);
            }
        }
        PullStatus::NoNewMsg | PullStatus::NoMatchedMsg => {
            run.pq.set_next_offset(result.next_begin_offset);
            record_idle_offset(member, run);
        }
        PullStatus::OffsetIllegal => {
            tracing::warn!(
                ?queue,
                offset,
                next = result.next_begin_offset,
                "offset out of the queue's range; moving it"
            );
            rebalance::release_later(member, queue, Some((result.next_begin_offset, run)));
            return Ok(Next::Stop);
        }
    }
    Ok(Next::Again)
}

/// With nothing cached, the offset may move up to the pull position (`correctTagsOffset`).
fn record_idle_offset(member: &GroupMember, run: &QueueRun) {
    if run.pq.size().0 == 0 {
        member.offsets.update(&run.queue, run.pq.commit_offset(), true);
    }
}
