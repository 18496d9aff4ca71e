//! What the application gives a push consumer: a listener called with messages, concurrently
//! (`MessageListenerConcurrently`) or one queue at a time in order (`MessageListenerOrderly`),
//! and the statuses it answers with. Listeners are async; closures returning a future work,
//! and so does an `Err` (or a panic), which counts as a failed delivery.

use std::fmt::Display;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use ferromq_protocol::body::MessageQueue;

use crate::message::MessageExt;

/// The future a listener returns.
pub type ConsumeFuture<S> = Pin<Box<dyn Future<Output = S> + Send + 'static>>;

/// How a concurrent listener call ended (`ConsumeConcurrentlyStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConsumeConcurrentlyStatus {
    /// Consumed; the offset may move past these messages.
    ConsumeSuccess,
    /// Deliver them again later (sent back to the broker's retry queue).
    ReconsumeLater,
}

/// How an orderly listener call ended (`ConsumeOrderlyStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConsumeOrderlyStatus {
    /// Consumed; the queue moves on.
    Success,
    /// Hold the queue and deliver the same messages again after
    /// `suspendCurrentQueueTimeMillis`.
    SuspendCurrentQueueAMoment,
}

impl<E: Display> From<Result<ConsumeConcurrentlyStatus, E>> for ConsumeConcurrentlyStatus {
    fn from(result: Result<ConsumeConcurrentlyStatus, E>) -> Self {
        result.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "listener failed; the messages will be consumed again");
            ConsumeConcurrentlyStatus::ReconsumeLater
        })
    }
}

impl<E: Display> From<Result<ConsumeOrderlyStatus, E>> for ConsumeOrderlyStatus {
    fn from(result: Result<ConsumeOrderlyStatus, E>) -> Self {
        result.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "orderly listener failed; the queue is suspended");
            ConsumeOrderlyStatus::SuspendCurrentQueueAMoment
        })
    }
}

/// What a listener call is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumeContext {
    /// The queue the messages were pulled from (for retried messages, the group's retry
    /// queue).
    pub message_queue: MessageQueue,
}

/// A listener called with batches of messages from any queues, several calls at once.
pub trait MessageListenerConcurrently: Send + Sync + 'static {
    fn consume_message(
        &self,
        messages: Vec<MessageExt>,
        context: ConsumeContext,
    ) -> ConsumeFuture<ConsumeConcurrentlyStatus>;
}

/// A listener called with one queue's messages in queue order, one call per queue at a time.
pub trait MessageListenerOrderly: Send + Sync + 'static {
    fn consume_message(
        &self,
        messages: Vec<MessageExt>,
        context: ConsumeContext,
    ) -> ConsumeFuture<ConsumeOrderlyStatus>;
}

/// A closure as a listener.
struct FnListener<F>(F);

impl<F, Fut, S> MessageListenerConcurrently for FnListener<F>
where
    F: Fn(Vec<MessageExt>, ConsumeContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = S> + Send + 'static,
    S: Into<ConsumeConcurrentlyStatus>,
{
    fn consume_message(
        &self,
        messages: Vec<MessageExt>,
        context: ConsumeContext,
    ) -> ConsumeFuture<ConsumeConcurrentlyStatus> {
        let call = (self.0)(messages, context);
        Box::pin(async move { call.await.into() })
    }
}

impl<F, Fut, S> MessageListenerOrderly for FnListener<F>
where
    F: Fn(Vec<MessageExt>, ConsumeContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = S> + Send + 'static,
    S: Into<ConsumeOrderlyStatus>,
{
    fn consume_message(
        &self,
        messages: Vec<MessageExt>,
        context: ConsumeContext,
    ) -> ConsumeFuture<ConsumeOrderlyStatus> {
        let call = (self.0)(messages, context);
        Box::pin(async move { call.await.into() })
    }
}

/// The listener a push consumer calls.
#[derive(Clone)]
pub enum MessageListener {
    Concurrently(Arc<dyn MessageListenerConcurrently>),
    Orderly(Arc<dyn MessageListenerOrderly>),
}

impl std::fmt::Debug for MessageListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.is_orderly() {
            "MessageListener::Orderly"
        } else {
            "MessageListener::Concurrently"
        })
    }
}

impl MessageListener {
    /// A concurrent listener from a closure returning a future of a
    /// [`ConsumeConcurrentlyStatus`] (or of a `Result` of one: `Err` means reconsume later).
    pub fn concurrently<F, Fut, S>(listener: F) -> MessageListener
    where
        F: Fn(Vec<MessageExt>, ConsumeContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = S> + Send + 'static,
        S: Into<ConsumeConcurrentlyStatus> + 'static,
    {
        MessageListener::Concurrently(Arc::new(FnListener(listener)))
    }

    /// An orderly listener from a closure returning a future of a [`ConsumeOrderlyStatus`]
    /// (or of a `Result` of one: `Err` means suspend the queue a moment).
    pub fn orderly<F, Fut, S>(listener: F) -> MessageListener
    where
        F: Fn(Vec<MessageExt>, ConsumeContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = S> + Send + 'static,
        S: Into<ConsumeOrderlyStatus> + 'static,
    {
        MessageListener::Orderly(Arc::new(FnListener(listener)))
    }

    pub fn is_orderly(&self) -> bool {
        matches!(self, MessageListener::Orderly(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context() -> ConsumeContext {
        ConsumeContext { message_queue: MessageQueue::new("T", "b", 0) }
    }

    #[tokio::test]
    async fn closures_and_results_become_statuses() {
        let ok = MessageListener::concurrently(|messages, _| async move {
            assert!(messages.is_empty());
            ConsumeConcurrentlyStatus::ConsumeSuccess
        });
        let failing = MessageListener::concurrently(|_, _| async {
            Err::<ConsumeConcurrentlyStatus, _>("database down")
        });
        for (listener, want) in [
            (ok, ConsumeConcurrentlyStatus::ConsumeSuccess),
            (failing, ConsumeConcurrentlyStatus::ReconsumeLater),
        ] {
            let MessageListener::Concurrently(l) = listener else { panic!("not concurrent") };
            assert_eq!(l.consume_message(Vec::new(), context()).await, want);
        }
        let orderly = MessageListener::orderly(|_, ctx: ConsumeContext| async move {
            assert_eq!(ctx.message_queue.queue_id, 0);
            Err::<ConsumeOrderlyStatus, _>(std::io::Error::other("no"))
        });
        assert!(orderly.is_orderly());
        let MessageListener::Orderly(l) = orderly else { panic!("not orderly") };
        assert_eq!(
            l.consume_message(Vec::new(), context()).await,
            ConsumeOrderlyStatus::SuspendCurrentQueueAMoment
        );
    }
}
