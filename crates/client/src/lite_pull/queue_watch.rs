//! Topic queue discovery: the readable queues of a topic (`fetchMessageQueues`), and the
//! background check that tells registered listeners when a topic's queues change
//! (`TopicMessageQueueChangeListener`, every `topicMetadataCheckIntervalMillis`).

use std::sync::Arc;
use std::time::Duration;

use ferromq_protocol::body::MessageQueue;

use super::core::Core;
use crate::error::{ClientError, Result};
use crate::instance::Instance;

/// Delay of the first check after start, as RocketMQ's.
const FIRST_CHECK_AFTER: Duration = Duration::from_secs(10);

/// `topic`'s readable queues, sorted, as the name servers route them now.
pub async fn fetch_queues(instance: &Instance, topic: &str) -> Result<Vec<MessageQueue>> {
    let route = instance
        .update_route(topic)
        .await?
        .ok_or_else(|| ClientError::UnknownTopic(topic.into()))?;
    let mut queues = route.subscribe_queues.clone();
    if queues.is_empty() {
        return Err(ClientError::NoRoute {
            topic: topic.into(),
            reason: "no readable queue".into(),
        });
    }
    queues.sort();
    Ok(queues)
}

/// Checks the watched topics every `topic_metadata_check_interval` until the consumer stops.
pub async fn run(core: Arc<Core>) {
    let mut delay = FIRST_CHECK_AFTER.min(core.config.topic_metadata_check_interval);
    loop {
        tokio::select! {
            _ = core.stop.cancelled() => return,
            _ = tokio::time::sleep(delay) => {}
        }
        delay = core.config.topic_metadata_check_interval;
        check_once(&core).await;
    }
}

/// Fetches every watched topic's queues and calls the listeners of those that changed.
pub async fn check_once(core: &Core) {
    let topics: Vec<String> = core.watched().keys().cloned().collect();
    for topic in topics {
        let queues = match fetch_queues(&core.instance, &topic).await {
            Ok(queues) => queues,
            Err(e) => {
                tracing::debug!(%topic, error = %e, "queue check failed");
                continue;
            }
        };
        let changed = {
            let mut watched = core.watched();
            match watched.get_mut(&topic) {
                Some(entry) if entry.queues.as_ref() != Some(&queues) => {
                    entry.queues = Some(queues.clone());
                    Some(Arc::clone(&entry.listener))
                }
                _ => None,
            }
        };
        if let Some(listener) = changed {
            tracing::info!(%topic, queues = queues.len(), "topic queues changed");
            listener(&topic, &queues);
        }
    }
}
