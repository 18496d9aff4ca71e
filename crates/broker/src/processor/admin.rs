//! The admin codes RocketMQ's tools use: topics (create or update, delete, list), consumer
//! groups (create or update, delete), topic and consumer statistics, the delay levels'
//! progress, and the broker's runtime information (its configuration is in
//! `broker_config`).

use std::collections::BTreeMap;

use ferromq_protocol::body::{
    ConsumeStats, KvTable, MessageQueue, OffsetWrapper, SubscriptionGroupConfig, TopicConfig,
    TopicOffset, TopicStatsTable,
};
use ferromq_protocol::headers::{
    CommandHeader, CreateTopicRequestHeader, DeleteSubscriptionGroupRequestHeader,
    DeleteTopicRequestHeader, GetConsumeStatsRequestHeader, GetTopicStatsInfoRequestHeader,
};
use ferromq_protocol::{perm, topic, RemotingCommand, ResponseCode};
use tracing::info;

use super::{success, Reply};
use crate::error::BrokerError;
use crate::state::BrokerState;
use crate::stats;

/// GET_ALL_DELAY_OFFSET: how far each delay level is delivered, as `delayOffset.json`.
pub fn all_delay_offsets(state: &BrokerState) -> Reply {
    Ok(Some(success().with_body(state.schedule.to_json())))
}

/// UPDATE_AND_CREATE_TOPIC.
pub fn create_topic(state: &BrokerState, request: &RemotingCommand) -> Reply {
    let h = CreateTopicRequestHeader::from_command(request)?;
    if let Err(e) = topic::validate_topic(&h.topic) {
        return Err(BrokerError::refused(
            ResponseCode::INVALID_PARAMETER,
            format!("topic [{}]: {e}", h.topic),
        ));
    }
    if topic::is_system_topic(&h.topic) {
        return Err(BrokerError::refused(
            ResponseCode::SYSTEM_ERROR,
            format!("The topic[{}] is conflict with system topic.", h.topic),
        ));
    }
    if !perm::is_valid(h.perm) || h.read_queue_nums <= 0 || h.write_queue_nums <= 0 {
        return Err(BrokerError::refused(
            ResponseCode::INVALID_PARAMETER,
            format!("invalid queue numbers or perm for topic [{}]", h.topic),
        ));
    }
    let config = TopicConfig {
        topic_name: h.topic.clone(),
        read_queue_nums: h.read_queue_nums,
        write_queue_nums: h.write_queue_nums,
        perm: h.perm,
        topic_filter_type: h.topic_filter_type,
        topic_sys_flag: h.topic_sys_flag.unwrap_or(0),
        order: h.order,
        attributes: parse_attributes(h.attributes.as_deref()),
    };
    state.topics.upsert(config)?;
    info!(topic = %h.topic, "topic created or updated by admin");
    state.register_now.notify_one();
    Ok(Some(success()))
}

/// Parses RocketMQ's `+key=value,+key2=value2` attribute string (`-key` removals ignored).
fn parse_attributes(text: Option<&str>) -> BTreeMap<String, String> {
    text.unwrap_or_default()
        .split(',')
        .filter_map(|item| item.trim().strip_prefix('+'))
        .filter_map(|item| item.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// DELETE_TOPIC_IN_BROKER: the topic's config, consume queues and committed offsets.
pub fn delete_topic(state: &BrokerState, request: &RemotingCommand) -> Reply {
    let h = DeleteTopicRequestHeader::from_command(request)?;
    if topic::is_system_topic(&h.topic) {
        return Err(BrokerError::refused(
            ResponseCode::SYSTEM_ERROR,
            format!("The topic[{}] is conflict with system topic.", h.topic),
        ));
    }
    state.topics.delete(&h.topic)?;
    state.store.delete_topic(&h.topic)?;
    state.offsets.remove_topic(&h.topic);
    state.stats.remove_topic(&h.topic);
    info!(topic = %h.topic, "topic deleted by admin");
    state.register_now.notify_one();
    Ok(Some(success()))
}

/// GET_ALL_TOPIC_CONFIG.
pub fn all_topics(state: &BrokerState) -> Reply {
    Ok(Some(success().with_body(state.topics.all().to_json_with_mapping())))
}

/// UPDATE_AND_CREATE_SUBSCRIPTIONGROUP: the body is the group's config.
pub fn create_group(state: &BrokerState, request: &RemotingCommand) -> Reply {
    let config = SubscriptionGroupConfig::from_json(&request.body)?;
    if let Err(e) = topic::validate_group(&config.group_name) {
        return Err(BrokerError::refused(
            ResponseCode::INVALID_PARAMETER,
            format!("group [{}]: {e}", config.group_name),
        ));
    }
    info!(group = %config.group_name, "subscription group created or updated by admin");
    state.groups.upsert(config)?;
    Ok(Some(success()))
}

/// DELETE_SUBSCRIPTIONGROUP, optionally with its committed offsets.
pub fn delete_group(state: &BrokerState, request: &RemotingCommand) -> Reply {
    let h = DeleteSubscriptionGroupRequestHeader::from_command(request)?;
    state.groups.delete(&h.group_name)?;
    if h.clean_offset {
        state.offsets.remove_group(&h.group_name);
    }
    state.stats.remove_group(&h.group_name);
    info!(group = %h.group_name, clean_offset = h.clean_offset, "subscription group deleted by admin");
    Ok(Some(success()))
}

/// GET_TOPIC_STATS_INFO: each write queue's offset range and last store time, and the
/// topic's put rate over the last minute.
pub fn topic_stats(state: &BrokerState, request: &RemotingCommand) -> Reply {
    let broker_name = &state.config.get().broker_name;
    let h = GetTopicStatsInfoRequestHeader::from_command(request)?;
    let Some(config) = state.topics.get(&h.topic) else {
        return Err(BrokerError::refused(
            ResponseCode::TOPIC_NOT_EXIST,
            format!("topic[{}] not exist", h.topic),
        ));
    };
    let mut table = TopicStatsTable {
        topic_put_tps: state.stats.topic_put_tps(&h.topic, ferromq_store::now_millis()),
        ..TopicStatsTable::default()
    };
    for queue_id in 0..config.write_queue_nums {
        let (min, max) = (
            state.store.min_offset(&h.topic, queue_id),
            state.store.max_offset(&h.topic, queue_id),
        );
        let last = if max > 0 {
            state.store.queue_message_time(&h.topic, queue_id, max - 1)?.unwrap_or(0)
        } else {
            0
        };
        table.offset_table.insert(
            MessageQueue::new(h.topic.clone(), broker_name.clone(), queue_id),
            TopicOffset { min_offset: min, max_offset: max, last_update_timestamp: last },
        );
    }
    Ok(Some(success().with_body(table.to_json())))
}

/// GET_CONSUME_STATS: for each read queue of the group's topics, the queue's end, the
/// group's committed offset, and the store time of the last message it consumed; and the
/// messages the group pulled per second over the last minute, summed over those topics.
pub fn consume_stats(state: &BrokerState, request: &RemotingCommand) -> Reply {
    let broker_name = &state.config.get().broker_name;
    let now = ferromq_store::now_millis();
    let h = GetConsumeStatsRequestHeader::from_command(request)?;
    let topics: Vec<String> = match (&h.topic, h.topics()) {
        (Some(topic), _) if !topic.is_empty() => vec![topic.clone()],
        (_, list) if !list.is_empty() => list.into_iter().map(str::to_string).collect(),
        _ => state.offsets.topics_of_group(&h.consumer_group).into_iter().collect(),
    };
    let mut stats = ConsumeStats::default();
    for topic_name in topics {
        let Some(config) = state.topics.get(&topic_name) else { continue };
        stats.consume_tps += state.stats.consume_tps(&h.consumer_group, &topic_name, now);
        for queue_id in 0..config.read_queue_nums {
            let broker_offset = state.store.max_offset(&topic_name, queue_id).max(0);
            let consumer_offset =
                state.offsets.query(&h.consumer_group, &topic_name, queue_id).unwrap_or(0).max(0);
            let last_timestamp = if consumer_offset > 0 {
                state
                    .store
                    .queue_message_time(&topic_name, queue_id, consumer_offset - 1)?
                    .unwrap_or(0)
            } else {
                0
            };
            stats.offset_table.insert(
                MessageQueue::new(topic_name.clone(), broker_name.clone(), queue_id),
                OffsetWrapper {
                    broker_offset,
                    consumer_offset,
                    pull_offset: consumer_offset,
                    last_timestamp,
                },
            );
        }
    }
    Ok(Some(success().with_body(stats.to_json())))
}

/// GET_BROKER_RUNTIME_INFO: what the broker can say about itself, as a KV table.
pub fn runtime_info(state: &BrokerState) -> Reply {
    let (min, max) = state.store.commit_log_range();
    let dispatched = state.store.dispatched();
    let mut table = BTreeMap::new();
    table.insert("brokerVersionDesc".to_string(), "V5_3_3".to_string());
    table.insert("brokerVersion".to_string(), ferromq_protocol::CURRENT_VERSION.to_string());
    table.insert("brokerActive".to_string(), "true".to_string());
    table.insert("bootTimestamp".to_string(), state.boot_timestamp.to_string());
    table.insert("commitLogMinOffset".to_string(), min.to_string());
    table.insert("commitLogMaxOffset".to_string(), max.to_string());
    table.insert("dispatchBehindBytes".to_string(), (max - dispatched).max(0).to_string());
    table.insert(
        "commitLogDiskRatio".to_string(),
        format!("{:.2}", f64::from(state.store.disk_used_percent()) / 100.0),
    );
    table.insert("consumeQueueCount".to_string(), state.store.queue_count().to_string());
    table.insert("flushedOffset".to_string(), state.store.flushed().to_string());
    let now = ferromq_store::now_millis();
    let (puts, gets) = (state.stats.put_totals(), state.stats.get_totals());
    let put_tps = stats::format_rates(state.stats.put_tps(now));
    let get_tps = stats::format_rates(state.stats.get_tps(now));
    for (key, value) in [
        ("putTps", put_tps),
        ("getTransferredTps", get_tps.clone()),
        // RocketMQ 4.x's spelling, still read by older tools.
        ("getTransferedTps", get_tps),
        ("msgPutTotalTodayNow", puts.now.to_string()),
        ("msgPutTotalTodayMorning", puts.today_morning.to_string()),
        ("msgPutTotalYesterdayMorning", puts.yesterday_morning.to_string()),
        ("msgGetTotalTodayNow", gets.now.to_string()),
        ("msgGetTotalTodayMorning", gets.today_morning.to_string()),
        ("msgGetTotalYesterdayMorning", gets.yesterday_morning.to_string()),
    ] {
        table.insert(key.to_string(), value);
    }
    Ok(Some(success().with_body(KvTable { table }.to_json())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_parse_like_rocketmq() {
        let parsed = parse_attributes(Some("+message.type=NORMAL,+a=b,-c,bad"));
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed["message.type"], "NORMAL");
        assert!(parse_attributes(None).is_empty());
    }
}
