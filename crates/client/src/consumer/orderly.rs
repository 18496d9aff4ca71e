//! Orderly consumption (RocketMQ's `ConsumeMessageOrderlyService`): one task per queue
//! hands the listener the queue's messages strictly in offset order, one batch at a time,
//! and only while this client holds the queue's order lock (clustering). A batch the
//! listener suspends is delivered again after `suspendCurrentQueueTimeMillis`; past
//! `maxReconsumeTimes` it is sent to the retry topic with a count the broker moves to the
//! dead-letter queue.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::FutureExt;

use super::group::{GroupMember, QueueRun, PULL_DELAY_ON_ERROR};
use super::listener::{ConsumeContext, ConsumeOrderlyStatus, MessageListener};
use super::order_lock;
use super::send_back::resend_to_retry_topic;
use crate::message::MessageExt;

/// How long to wait for messages before checking the lock again.
const IDLE_CHECK: Duration = Duration::from_secs(1);

/// Consumes `run`'s queue in order until it is given up or the member stops.
pub async fn run(member: Arc<GroupMember>, run: QueueRun) {
    while !run.stop.is_cancelled() && !run.pq.is_dropped() {
        let arrived = run.pq.arrived();
        if member.needs_locks() && !run.pq.is_locked(Instant::now()) {
            if order_lock::lock_one(&member, &run.queue).await {
                continue;
            }
            if !member.pause(PULL_DELAY_ON_ERROR, &run.stop).await {
                return;
            }
            continue;
        }
        let batch = run.pq.take(member.config.consume_message_batch_max_size.max(1));
        if batch.is_empty() {
            tokio::select! {
                _ = run.stop.cancelled() => return,
                _ = arrived => {}
                _ = tokio::time::sleep(IDLE_CHECK) => {}
            }
            continue;
        }
        let permit = tokio::select! {
            _ = run.stop.cancelled() => None,
            permit = member.consume_slots.acquire() => permit.ok(),
        };
        if permit.is_none() || !run.pq.begin_consume() {
            run.pq.put_back(batch);
            return;
        }
        let suspend = consume_batch(&member, &run, batch).await;
        drop(permit);
        run.pq.end_consume();
        if suspend && !member.pause(member.config.suspend_current_queue_time, &run.stop).await {
            return;
        }
    }
}

/// Calls the listener, catching panics (a panic suspends the queue).
async fn call_listener(
    member: &GroupMember,
    messages: Vec<MessageExt>,
    context: ConsumeContext,
) -> ConsumeOrderlyStatus {
    let MessageListener::Orderly(listener) = &member.listener else {
        return ConsumeOrderlyStatus::SuspendCurrentQueueAMoment;
    };
    let call =
        std::panic::catch_unwind(AssertUnwindSafe(|| listener.consume_message(messages, context)));
    let outcome = match call {
        Ok(future) => AssertUnwindSafe(future).catch_unwind().await,
        Err(panic) => Err(panic),
    };
    outcome.unwrap_or_else(|_| {
        tracing::warn!(group = member.group(), "orderly listener panicked; suspending the queue");
        ConsumeOrderlyStatus::SuspendCurrentQueueAMoment
    })
}

/// One batch through the listener; true if the queue must pause before the batch comes
/// again.
async fn consume_batch(member: &GroupMember, run: &QueueRun, batch: Vec<MessageExt>) -> bool {
    let context = ConsumeContext { message_queue: run.queue.clone() };
    let status = call_listener(member, batch.clone(), context).await;
    let suspend = match status {
        ConsumeOrderlyStatus::Success => false,
        ConsumeOrderlyStatus::SuspendCurrentQueueAMoment => {
            let (suspend, batch) = check_reconsume_times(member, batch).await;
            if suspend {
                run.pq.put_back(batch);
            }
            suspend
        }
    };
    if !suspend {
        let offset = run.pq.commit_taken();
        member.offsets.update(&run.queue, offset, false);
    }
    suspend
}

/// Raises the reconsume count of each message; those past `maxReconsumeTimes` are sent to
/// the retry topic for the dead-letter queue. True (with the batch to put back) unless every
/// message went there (`checkReconsumeTimes`).
async fn check_reconsume_times(
    member: &GroupMember,
    mut batch: Vec<MessageExt>,
) -> (bool, Vec<MessageExt>) {
    let max = member.config.max_reconsume_orderly();
    let mut suspend = false;
    for message in &mut batch {
        if message.reconsume_times >= max {
            match resend_to_retry_topic(member, message, max).await {
                Ok(()) => continue,
                Err(e) => {
                    tracing::warn!(msg_id = message.msg_id(), error = %e, "cannot send the message to the dead-letter queue; consuming it again")
                }
            }
        }
        suspend = true;
        message.reconsume_times += 1;
    }
    (suspend, batch)
}
