//! Waking the delivery task when the schedule topic grows — but only for a level that had
//! nothing waiting: a level with a waiting entry already has a known next due time, and any
//! entry stored after it at the same level is due later still. So a burst of delayed sends
//! costs the task one wake-up per emptied level, not one per dispatch.

use std::sync::atomic::{AtomicBool, Ordering};

use ferromq_store::delay_level::queue_id_to_level;
use tokio::sync::Notify;

/// Which levels want to hear of arrivals, and the task's wake-up.
#[derive(Debug)]
pub struct Wake {
    notify: Notify,
    /// Per level (index = level − 1): nothing is known to be waiting there.
    listening: Vec<AtomicBool>,
}

impl Wake {
    /// Every one of `levels` levels listening (nothing known yet).
    pub fn new(levels: i32) -> Wake {
        let count = usize::try_from(levels).unwrap_or(0);
        Wake {
            notify: Notify::new(),
            listening: (0..count).map(|_| AtomicBool::new(true)).collect(),
        }
    }

    fn flag(&self, level: i32) -> Option<&AtomicBool> {
        self.listening.get(usize::try_from(level.checked_sub(1)?).ok()?)
    }

    /// An entry arrived in `queue_id` of the schedule topic: wakes the task if that level
    /// was listening (and stops it listening until the task looks again).
    pub fn arrived(&self, queue_id: i32) {
        let level = queue_id_to_level(queue_id);
        if self.flag(level).is_some_and(|f| f.swap(false, Ordering::AcqRel)) {
            self.notify.notify_one();
        }
    }

    /// The task is about to read `level`: an arrival from now on must wake it, in case the
    /// read finds nothing.
    pub fn listen(&self, level: i32) {
        if let Some(flag) = self.flag(level) {
            flag.store(true, Ordering::Release);
        }
    }

    /// The task knows when `level` is next due (or will look again at once): arrivals there
    /// need not wake it.
    pub fn ignore(&self, level: i32) {
        if let Some(flag) = self.flag(level) {
            flag.store(false, Ordering::Release);
        }
    }

    /// Resolves at the next wake-up (or at once if one came since the last).
    pub fn notified(&self) -> tokio::sync::futures::Notified<'_> {
        self.notify.notified()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    async fn woken(wake: &Wake) -> bool {
        tokio::time::timeout(Duration::from_millis(20), wake.notified()).await.is_ok()
    }

    #[tokio::test]
    async fn only_listening_levels_wake_the_task() {
        let wake = Wake::new(3);
        wake.arrived(0); // level 1: listening from the start
        assert!(woken(&wake).await);
        wake.arrived(0); // no longer listening until the task looks again
        assert!(!woken(&wake).await);
        wake.ignore(2);
        wake.arrived(1);
        assert!(!woken(&wake).await, "level 2 has a known due time");
        wake.listen(2);
        wake.arrived(1);
        assert!(woken(&wake).await);
        wake.arrived(7); // beyond the levels: ignored
        wake.arrived(-1);
        assert!(!woken(&wake).await);
    }
}
