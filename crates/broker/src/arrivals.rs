//! Who hears that queues grew (the store's dispatcher announces it): pulls held by long
//! polling, and the delayed-delivery task when the schedule topic did.

use std::sync::Arc;

use ferromq_protocol::topic::SCHEDULE_TOPIC;
use ferromq_store::ArrivalListener;

use crate::long_polling::LongPolling;
use crate::schedule::wake::Wake;

/// The broker's arrival listener.
#[derive(Debug)]
pub struct Arrivals {
    pub pulls: Arc<LongPolling>,
    /// Wakes the delivery task of the delay levels.
    pub schedule: Arc<Wake>,
}

impl ArrivalListener for Arrivals {
    fn arrived(&self, topic: &str, queue_id: i32, max_offset: i64) {
        if topic == SCHEDULE_TOPIC {
            self.schedule.arrived(queue_id);
        }
        self.pulls.arrived(topic, queue_id, max_offset);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn the_schedule_topic_wakes_the_scheduler() {
        let arrivals = Arrivals { pulls: Arc::default(), schedule: Arc::new(Wake::new(18)) };
        arrivals.arrived("Other", 0, 1);
        let idle = tokio::time::timeout(Duration::from_millis(20), arrivals.schedule.notified());
        assert!(idle.await.is_err(), "other topics do not wake it");
        arrivals.arrived(SCHEDULE_TOPIC, 2, 1);
        let woken = tokio::time::timeout(Duration::from_secs(10), arrivals.schedule.notified());
        assert!(woken.await.is_ok());
    }
}
