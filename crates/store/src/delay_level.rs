//! `DelayLevels`: the delay levels of `messageDelayLevel` (`"1s 5s 10s … 2h"`: level *n* is
//! the *n*-th entry), and the deliver time of a message stored at a level. The dispatcher
//! writes that deliver time as the consume-queue tags code of `SCHEDULE_TOPIC_XXXX`
//! entries; the broker's scheduler reads it back to know when a message is due.

use std::fmt;

use crate::error::{Result, StoreError};

/// RocketMQ's default `messageDelayLevel`.
pub const DEFAULT_MESSAGE_DELAY_LEVEL: &str =
    "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h";

/// Delay used for a level missing from the table (RocketMQ's `computeDeliverTimestamp`).
const UNKNOWN_LEVEL_DELAY_MS: i64 = 1_000;

/// The parsed `messageDelayLevel`: the delay of each level, level 1 first.
#[derive(Clone, PartialEq, Eq)]
pub struct DelayLevels {
    delays_ms: Vec<i64>,
}

impl fmt::Debug for DelayLevels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DelayLevels").field("delays_ms", &self.delays_ms).finish()
    }
}

impl Default for DelayLevels {
    fn default() -> Self {
        // The default string is known to parse.
        DelayLevels::parse(DEFAULT_MESSAGE_DELAY_LEVEL)
            .unwrap_or(DelayLevels { delays_ms: vec![UNKNOWN_LEVEL_DELAY_MS] })
    }
}

impl DelayLevels {
    /// Parses space-separated delays, each a whole number followed by a unit: `s`, `m`, `h`
    /// or `d` (RocketMQ's units). At least one level is needed; `0s` is accepted (deliver
    /// at once), as RocketMQ accepts it.
    pub fn parse(text: &str) -> Result<DelayLevels> {
        let bad = |why: String| StoreError::Config(format!("messageDelayLevel {text:?}: {why}"));
        let mut delays_ms = Vec::new();
        for item in text.split_whitespace() {
            let split = item.len().saturating_sub(1);
            let (number, unit) = (item.get(..split), item.get(split..));
            let unit_ms: i64 = match unit {
                Some("s") => 1_000,
                Some("m") => 60_000,
                Some("h") => 3_600_000,
                Some("d") => 86_400_000,
                _ => return Err(bad(format!("{item:?} does not end in s, m, h or d"))),
            };
            let count = number
                .and_then(|n| n.parse::<i64>().ok())
                .filter(|n| *n >= 0)
                .ok_or_else(|| bad(format!("{item:?} is not a whole number of units")))?;
            let ms =
                count.checked_mul(unit_ms).ok_or_else(|| bad(format!("{item:?} is too long")))?;
            delays_ms.push(ms);
        }
        if delays_ms.is_empty() {
            return Err(bad("no level".into()));
        }
        if i32::try_from(delays_ms.len()).is_err() {
            return Err(bad("too many levels".into()));
        }
        Ok(DelayLevels { delays_ms })
    }

    /// The highest level (the number of levels).
    pub fn max_level(&self) -> i32 {
        i32::try_from(self.delays_ms.len()).unwrap_or(i32::MAX)
    }

    /// The levels, 1 to [`DelayLevels::max_level`].
    pub fn levels(&self) -> impl Iterator<Item = i32> {
        1..=self.max_level()
    }

    /// The delay of `level` in ms; `None` outside 1..=max.
    pub fn delay_ms(&self, level: i32) -> Option<i64> {
        let index = usize::try_from(level.checked_sub(1)?).ok()?;
        self.delays_ms.get(index).copied()
    }

    /// `level` lowered to the highest level if above it (as RocketMQ clamps on put).
    pub fn clamp(&self, level: i32) -> i32 {
        level.min(self.max_level())
    }

    /// When a message stored at `store_timestamp` at `level` is due: the level's delay
    /// later, or one second later for a level the table lacks (RocketMQ's fallback).
    pub fn deliver_time(&self, level: i32, store_timestamp: i64) -> i64 {
        let delay = self.delay_ms(level).unwrap_or(UNKNOWN_LEVEL_DELAY_MS);
        store_timestamp.saturating_add(delay)
    }

    /// The consume-queue tags code of a `SCHEDULE_TOPIC_XXXX` record whose `DELAY` property
    /// is `delay` (RocketMQ's `checkMessageAndReturnSize`): the deliver time for a level
    /// above 0 (clamped to the highest), `None` otherwise (the tag hash is kept).
    pub fn schedule_tags_code(&self, delay: &str, store_timestamp: i64) -> Option<i64> {
        let level = self.clamp(delay.trim().parse::<i32>().ok()?);
        (level > 0).then(|| self.deliver_time(level, store_timestamp))
    }
}

/// The queue of `SCHEDULE_TOPIC_XXXX` holding `level` (level − 1).
pub fn level_to_queue_id(level: i32) -> i32 {
    level.saturating_sub(1)
}

/// The level a `SCHEDULE_TOPIC_XXXX` queue holds (queue id + 1).
pub fn queue_id_to_level(queue_id: i32) -> i32 {
    queue_id.saturating_add(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rocketmq_default_levels() {
        let levels = DelayLevels::default();
        assert_eq!(levels.max_level(), 18);
        assert_eq!(levels.delay_ms(1), Some(1_000));
        assert_eq!(levels.delay_ms(4), Some(30_000));
        assert_eq!(levels.delay_ms(5), Some(60_000));
        assert_eq!(levels.delay_ms(17), Some(3_600_000));
        assert_eq!(levels.delay_ms(18), Some(7_200_000));
        assert_eq!(levels.delay_ms(0), None);
        assert_eq!(levels.delay_ms(19), None);
        assert_eq!(levels.delay_ms(-3), None);
        assert_eq!(levels.levels().collect::<Vec<_>>(), (1..=18).collect::<Vec<_>>());
    }

    #[test]
    fn units_and_spacing() {
        let levels = DelayLevels::parse(" 0s  2m 1h\t3d ").unwrap();
        assert_eq!(levels.max_level(), 4);
        assert_eq!(
            levels.levels().map(|l| levels.delay_ms(l).unwrap()).collect::<Vec<_>>(),
            vec![0, 120_000, 3_600_000, 3 * 86_400_000]
        );
    }

    #[test]
    fn rejects_what_rocketmq_cannot_parse() {
        for bad in ["", "   ", "1", "s", "1x", "1.5s", "-1s", "1s 2", "99999999999999999d"] {
            assert!(DelayLevels::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn deliver_time_and_clamping() {
        let levels = DelayLevels::parse("1s 5s 10s").unwrap();
        assert_eq!(levels.deliver_time(2, 1_000_000), 1_005_000);
        assert_eq!(levels.deliver_time(7, 1_000_000), 1_001_000, "unknown level: one second");
        assert_eq!(levels.clamp(9), 3);
        assert_eq!(levels.clamp(2), 2);
        assert_eq!(levels.schedule_tags_code("2", 100), Some(5_100));
        assert_eq!(levels.schedule_tags_code("40", 100), Some(10_100), "clamped to level 3");
        assert_eq!(levels.schedule_tags_code("0", 100), None);
        assert_eq!(levels.schedule_tags_code("-1", 100), None);
        assert_eq!(levels.schedule_tags_code("x", 100), None);
        assert_eq!(levels.deliver_time(1, i64::MAX), i64::MAX);
    }

    #[test]
    fn queue_ids() {
        assert_eq!(level_to_queue_id(1), 0);
        assert_eq!(level_to_queue_id(18), 17);
        assert_eq!(queue_id_to_level(17), 18);
    }
}
