//! Concurrent consumption (RocketMQ's `ConsumeMessageConcurrentlyService`): found messages
//! are cut into batches of `consumeMessageBatchMaxSize`, each batch a task that waits for one
//! of `consumeThreadMax` slots and calls the listener. Consumed messages leave the queue's
//! cache and the offset moves; failed ones are sent back (clustering) or consumed again
//! locally after a pause — never dropped while the send-back fails.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use futures::FutureExt;

use super::group::{GroupMember, QueueRun};
use super::listener::{ConsumeConcurrentlyStatus, ConsumeContext, MessageListener};
use super::send_back::send_back;
use crate::message::MessageExt;

/// Pause before consuming again messages that could not be sent back
/// (`submitConsumeRequestLater`, 5 s).
pub const CONSUME_AGAIN_AFTER: Duration = Duration::from_secs(5);

/// Hands found messages to the listener, in batches, in the background.
pub fn submit(member: &Arc<GroupMember>, run: &QueueRun, messages: Vec<MessageExt>) {
    let batch = member.config.consume_message_batch_max_size.max(1);
    let mut messages = messages.into_iter().peekable();
    while messages.peek().is_some() {
        let chunk: Vec<MessageExt> = messages.by_ref().take(batch).collect();
        member.tasks.spawn(consume(Arc::clone(member), run.clone(), chunk));
    }
}

/// Calls the listener, catching panics (a panic counts as ReconsumeLater).
async fn call_listener(
    member: &GroupMember,
    messages: Vec<MessageExt>,
    context: ConsumeContext,
) -> ConsumeConcurrentlyStatus {
    let MessageListener::Concurrently(listener) = &member.listener else {
        return ConsumeConcurrentlyStatus::ReconsumeLater;
    };
    let call =
        std::panic::catch_unwind(AssertUnwindSafe(|| listener.consume_message(messages, context)));
    let outcome = match call {
        Ok(future) => AssertUnwindSafe(future).catch_unwind().await,
        Err(panic) => Err(panic),
    };
    outcome.unwrap_or_else(|_| {
        tracing::warn!(group = member.group(), "listener panicked; the messages will come again");
        ConsumeConcurrentlyStatus::ReconsumeLater
    })
}

/// One batch: wait for a slot, call the listener, settle the outcome. (Boxed: a batch
/// consumed again later is spawned from here.)
fn consume(
    member: Arc<GroupMember>,
    run: QueueRun,
    messages: Vec<MessageExt>,
) -> BoxFuture<'static, ()> {
    Box::pin(consume_batch(member, run, messages))
}

async fn consume_batch(member: Arc<GroupMember>, run: QueueRun, messages: Vec<MessageExt>) {
    let permit = tokio::select! {
        _ = run.stop.cancelled() => return,
        permit = member.consume_slots.acquire() => match permit {
            Ok(permit) => permit,
            Err(_) => return,
        },
    };
    if !run.pq.begin_consume() {
        return;
    }
    // Messages consumed meanwhile by an earlier delivery (after a reset) are skipped.
    let messages: Vec<MessageExt> =
        messages.into_iter().filter(|m| run.pq.contains(m.queue_offset)).collect();
    if !messages.is_empty() {
        let context = ConsumeContext { message_queue: run.queue.clone() };
        let status = call_listener(&member, messages.clone(), context).await;
        settle(&member, &run, messages, status).await;
    }
    drop(permit);
    run.pq.end_consume();
}

/// After a listener call: consumed messages leave the cache; failed ones are sent back or
/// kept to be consumed again; the offset moves to the lowest message still cached.
async fn settle(
    member: &Arc<GroupMember>,
    run: &QueueRun,
    messages: Vec<MessageExt>,
    status: ConsumeConcurrentlyStatus,
) {
    let mut done = Vec::with_capacity(messages.len());
    let mut again = Vec::new();
    for message in messages {
        if status == ConsumeConcurrentlyStatus::ConsumeSuccess {
            done.push(message.queue_offset);
            continue;
        }
        if member.is_clustering() {
            match send_back(member, &message).await {
                Ok(()) => done.push(message.queue_offset),
                Err(e) => {
                    tracing::warn!(msg_id = message.msg_id(), error = %e, "cannot send the message back; consuming it again locally");
                    again.push(message);
                }
            }
        } else if message.reconsume_times < member.config.max_reconsume_concurrently() {
            // Broadcasting has no retry topic (RocketMQ drops the message at once).
            again.push(message);
        } else {
            tracing::warn!(
                msg_id = message.msg_id(),
                "broadcast message failed every delivery; dropped"
            );
            done.push(message.queue_offset);
        }
    }
    run.pq.remove(&done);
    member.offsets.update(&run.queue, run.pq.commit_offset(), true);
    if !again.is_empty() {
        for message in &mut again {
            message.reconsume_times += 1;
        }
        let (member, run) = (Arc::clone(member), run.clone());
        let tasks = member.tasks.clone();
        tasks.spawn(async move {
            if member.pause(CONSUME_AGAIN_AFTER, &run.stop).await {
                consume(member, run, again).await;
            }
        });
    }
}
