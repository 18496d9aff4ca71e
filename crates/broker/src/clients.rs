//! The clients of a broker: producer and consumer groups, each member's connection, the
//! subscriptions consumers declared in their heartbeats, and expiry of members that stopped
//! heartbeating. Consumer groups are told (NOTIFY_CONSUMER_IDS_CHANGED) when their
//! membership changes, so they rebalance their queues.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use ferromq_protocol::body::{
    ConsumeFromWhere, ConsumeType, ConsumerData, MessageModel, SubscriptionData,
};
use ferromq_protocol::headers::{CommandHeader, NotifyConsumerIdsChangedRequestHeader};
use ferromq_protocol::{LanguageCode, RemotingCommand, RequestCode};
use ferromq_remoting::Channel;
use tracing::{debug, info};

/// A subscription with its tag hash codes computed here from its (trimmed) tag names:
/// some clients hash the untrimmed parts of `TagA || TagB`, which would filter out every
/// message, so the broker does not trust the codes it is sent.
fn normalized(subscription: &SubscriptionData) -> SubscriptionData {
    let mut subscription = subscription.clone();
    let tags: std::collections::BTreeSet<String> = subscription
        .tags_set
        .iter()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect();
    subscription.code_set =
        tags.iter().map(|t| ferromq_protocol::message::java_string_hash(t)).collect();
    subscription.tags_set = tags;
    subscription
}

/// One connected client of a group.
#[derive(Debug, Clone)]
pub struct Member {
    pub client_id: String,
    pub channel: Channel,
    pub language: LanguageCode,
    pub version: i32,
    pub last_update: Instant,
}

/// A consumer group as its members describe it.
#[derive(Debug, Clone)]
pub struct ConsumerGroup {
    pub members: BTreeMap<String, Member>,
    pub consume_type: ConsumeType,
    pub message_model: MessageModel,
    pub consume_from_where: ConsumeFromWhere,
    /// topic → subscription (the latest heartbeat's).
    pub subscriptions: BTreeMap<String, SubscriptionData>,
}

#[derive(Debug, Default)]
struct Tables {
    producers: HashMap<String, BTreeMap<String, Member>>,
    consumers: HashMap<String, ConsumerGroup>,
}

/// The producer and consumer groups connected to this broker.
#[derive(Debug, Default)]
pub struct ClientManager {
    tables: Mutex<Tables>,
}

impl ClientManager {
    fn lock(&self) -> std::sync::MutexGuard<'_, Tables> {
        self.tables.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records a producer group member's heartbeat.
    pub fn register_producer(&self, group: &str, member: Member) {
        self.lock()
            .producers
            .entry(group.to_string())
            .or_default()
            .insert(member.client_id.clone(), member);
    }

    /// Records a consumer's heartbeat for one group; returns whether the group's membership
    /// changed (the caller then notifies the group) and whether its subscriptions changed.
    pub fn register_consumer(
        &self,
        data: &ConsumerData,
        member: Member,
        keep_subscriptions: bool,
    ) -> (bool, bool) {
        let mut tables = self.lock();
        let group =
            tables.consumers.entry(data.group_name.clone()).or_insert_with(|| ConsumerGroup {
                members: BTreeMap::new(),
                consume_type: data.consume_type,
                message_model: data.message_model,
                consume_from_where: data.consume_from_where,
                subscriptions: BTreeMap::new(),
            });
        group.consume_type = data.consume_type;
        group.message_model = data.message_model;
        group.consume_from_where = data.consume_from_where;
        let joined = group.members.insert(member.client_id.clone(), member).is_none();
        let mut changed_subs = false;
        if !keep_subscriptions {
            let fresh: BTreeMap<String, SubscriptionData> = data
                .subscription_data_set
                .iter()
                .map(|s| (s.topic.clone(), normalized(s)))
                .collect();
            changed_subs = fresh.keys().ne(group.subscriptions.keys())
                || fresh.iter().any(|(t, s)| {
                    group.subscriptions.get(t).is_none_or(|old| old.sub_string != s.sub_string)
                });
            // Keep the newest version of each subscription (clients bump subVersion on change).
            for (topic, sub) in fresh.iter() {
                if let Some(old) = group.subscriptions.get(topic) {
                    if old.sub_version > sub.sub_version && old.sub_string == sub.sub_string {
                        continue;
                    }
                }
                group.subscriptions.insert(topic.clone(), sub.clone());
            }
            group.subscriptions.retain(|topic, _| fresh.contains_key(topic));
        }
        (joined, changed_subs)
    }

    /// Removes a client from the named groups (UNREGISTER_CLIENT); returns the consumer
    /// groups whose membership changed.
    pub fn unregister(
        &self,
        client_id: &str,
        producer_group: Option<&str>,
        consumer_group: Option<&str>,
    ) -> Vec<String> {
        let mut tables = self.lock();
        if let Some(group) = producer_group {
            if let Some(members) = tables.producers.get_mut(group) {
                members.remove(client_id);
            }
        }
        let mut changed = Vec::new();
        if let Some(group) = consumer_group {
            if let Some(g) = tables.consumers.get_mut(group) {
                if g.members.remove(client_id).is_some() {
                    changed.push(group.to_string());
                }
            }
        }
        tables.consumers.retain(|_, g| !g.members.is_empty());
        tables.producers.retain(|_, m| !m.is_empty());
        changed
    }

    /// Removes every membership held over `channel` (it closed); returns the consumer groups
    /// whose membership changed.
    pub fn channel_closed(&self, channel: &Channel) -> Vec<String> {
        self.remove_where(|m| m.channel.id() == channel.id())
    }

    /// Removes members not heard from within `timeout`; returns the consumer groups changed.
    pub fn expire(&self, timeout: Duration) -> Vec<String> {
        self.remove_where(|m| m.last_update.elapsed() > timeout)
    }

    fn remove_where(&self, gone: impl Fn(&Member) -> bool) -> Vec<String> {
        let mut tables = self.lock();
        for members in tables.producers.values_mut() {
            members.retain(|_, m| !gone(m));
        }
        tables.producers.retain(|_, m| !m.is_empty());
        let mut changed = Vec::new();
        for (name, group) in tables.consumers.iter_mut() {
            let before = group.members.len();
            group.members.retain(|_, m| !gone(m));
            if group.members.len() != before {
                changed.push(name.clone());
            }
        }
        tables.consumers.retain(|_, g| !g.members.is_empty());
        changed
    }

    /// The client ids of a consumer group, sorted.
    pub fn consumer_ids(&self, group: &str) -> Vec<String> {
        self.lock()
            .consumers
            .get(group)
            .map(|g| g.members.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// A snapshot of a consumer group.
    pub fn consumer_group(&self, group: &str) -> Option<ConsumerGroup> {
        self.lock().consumers.get(group).cloned()
    }

    /// The subscription a consumer group declared for `topic`.
    pub fn subscription(&self, group: &str, topic: &str) -> Option<SubscriptionData> {
        self.lock().consumers.get(group)?.subscriptions.get(topic).cloned()
    }

    /// Tells every member of `group` that the membership changed (one-way, best effort).
    pub async fn notify_ids_changed(&self, group: &str) {
        let channels: Vec<Channel> = match self.consumer_group(group) {
            Some(g) => g.members.values().map(|m| m.channel.clone()).collect(),
            None => return,
        };
        info!(group, members = channels.len(), "consumer group changed; notifying members");
        let header = NotifyConsumerIdsChangedRequestHeader { consumer_group: group.to_string() };
        for channel in channels {
            let request = RemotingCommand::request(RequestCode::NOTIFY_CONSUMER_IDS_CHANGED)
                .with_ext_fields(header.to_ext());
            if let Err(e) = channel.invoke_oneway(request).await {
                debug!(peer = %channel.peer_addr(), "cannot notify consumer: {e}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_codes_are_recomputed_from_trimmed_names() {
        let mut sent = SubscriptionData::new("T", "TagA || TagB");
        // What a client that hashes untrimmed parts sends.
        sent.code_set = ["TagA ", " TagB"]
            .iter()
            .map(|t| ferromq_protocol::message::java_string_hash(t))
            .collect();
        sent.tags_set = ["TagA ".to_string(), " TagB".to_string()].into_iter().collect();
        let fixed = normalized(&sent);
        assert!(fixed.code_set.contains(&ferromq_protocol::message::java_string_hash("TagA")));
        assert!(fixed.code_set.contains(&ferromq_protocol::message::java_string_hash("TagB")));
        assert_eq!(fixed.tags_set.len(), 2);
        assert!(normalized(&SubscriptionData::new("T", "*")).is_sub_all());
    }
}
