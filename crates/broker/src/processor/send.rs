//! SEND_MESSAGE, SEND_MESSAGE_V2 and SEND_BATCH_MESSAGE: validate, pick the topic and
//! queue (creating the topic when allowed), apply the retry-topic rules and the delay level
//! (a delayed message is stored in the schedule topic), append to the store, wait for the
//! flush in SYNC_FLUSH mode, and answer with the offset message id.

use bytes::Bytes;
use ferromq_protocol::body::{TopicConfig, TopicFilterType};
use ferromq_protocol::headers::{
    CommandHeader, SendMessageRequestHeader, SendMessageResponseHeader,
};
use ferromq_protocol::message::{
    decode_batch, property, sys_flag, Properties, StoredMessage, UniqIdGenerator,
};
use ferromq_protocol::{perm, topic, RemotingCommand, ResponseCode};
use ferromq_remoting::Channel;
use ferromq_store::PutResult;

use super::{success, Reply};
use crate::config::BrokerConfig;
use crate::error::BrokerError;
use crate::retry;
use crate::schedule::message::{delay_level, to_schedule_topic};
use crate::state::BrokerState;

/// A single message.
pub async fn send(state: &BrokerState, channel: &Channel, request: &RemotingCommand) -> Reply {
    let settings = state.config.get();
    let header = decode_header(request)?;
    let config = check_and_pick(state, &settings, &header)?;
    let queue_id = pick_queue(&header, &config);
    let mut properties = Properties::decode(header.properties.as_deref().unwrap_or_default());
    prepare_properties(&settings, &mut properties);
    let unique_id = properties.get(property::UNIQ_KEY).map(str::to_string);
    let mut msg = message(state, channel, &header, queue_id, request.body.clone(), properties);
    retry::apply_to_send(state, request.version, header.max_reconsume_times, &mut msg)?;
    if config.topic_filter_type == TopicFilterType::MultiTag {
        msg.sys_flag |= sys_flag::MULTI_TAGS_FLAG;
    }
    refuse_transaction(&settings, &msg)?;
    to_schedule_topic(&mut msg, state.schedule.levels());
    let put = state.store.put(&msg)?;
    state.stats.record_put(&msg.topic, 1);
    respond(&settings, put, queue_id, unique_id).await
}

/// A batch of messages for one topic and queue.
pub async fn send_batch(
    state: &BrokerState,
    channel: &Channel,
    request: &RemotingCommand,
) -> Reply {
    let settings = state.config.get();
    let header = decode_header(request)?;
    if header.topic.len() > topic::TOPIC_MAX_LENGTH
        || header.topic.starts_with(topic::RETRY_GROUP_TOPIC_PREFIX)
    {
        return Err(BrokerError::refused(
            ResponseCode::MESSAGE_ILLEGAL,
            "batch messages cannot target retry topics or long topic names",
        ));
    }
    let batch_properties = Properties::decode(header.properties.as_deref().unwrap_or_default());
    if delay_level(&batch_properties) > 0 {
        return Err(BrokerError::refused(
            ResponseCode::MESSAGE_ILLEGAL,
            "batch messages cannot be delayed",
        ));
    }
    let config = check_and_pick(state, &settings, &header)?;
    let queue_id = pick_queue(&header, &config);
    let entries = decode_batch(request.body.clone()).map_err(|e| {
        BrokerError::refused(ResponseCode::MESSAGE_ILLEGAL, format!("bad batch body: {e}"))
    })?;
    if entries.is_empty() {
        return Err(BrokerError::refused(ResponseCode::MESSAGE_ILLEGAL, "empty batch"));
    }
    let msgs: Vec<StoredMessage> = entries
        .into_iter()
        .map(|entry| {
            let mut properties = entry.properties;
            prepare_properties(&settings, &mut properties);
            let mut msg = message(state, channel, &header, queue_id, entry.body, properties);
            msg.flag = entry.flag;
            msg
        })
        .collect();
    let put = state.store.put_batch(&msgs)?;
    state.stats.record_put(&header.topic, msgs.len() as u64);
    respond(&settings, put, queue_id, None).await
}

fn decode_header(request: &RemotingCommand) -> Result<SendMessageRequestHeader, BrokerError> {
    let v2 = SendMessageRequestHeader::uses_v2_keys(request.request_code());
    Ok(SendMessageRequestHeader::from_command_ext(v2, &request.ext_fields)?)
}

/// Checks the broker, the topic name and permissions; finds or creates the topic.
fn check_and_pick(
    state: &BrokerState,
    settings: &BrokerConfig,
    header: &SendMessageRequestHeader,
) -> Result<TopicConfig, BrokerError> {
    if !settings.writeable() {
        return Err(BrokerError::refused(
            ResponseCode::NO_PERMISSION,
            format!("the broker[{}] sending message is forbidden", settings.broker_addr()),
        ));
    }
    if let Err(e) = topic::validate_topic(&header.topic) {
        return Err(BrokerError::refused(
            ResponseCode::INVALID_PARAMETER,
            format!("topic [{}]: {e}", header.topic),
        ));
    }
    if topic::is_not_allowed_to_send(&header.topic) {
        return Err(BrokerError::refused(
            ResponseCode::NO_PERMISSION,
            format!("Sending message to topic[{}] is forbidden.", header.topic),
        ));
    }
    let config = match state.topics.get(&header.topic) {
        Some(config) => config,
        None => create_topic(state, settings, header)?,
    };
    if !perm::is_writeable(config.perm) {
        return Err(BrokerError::refused(
            ResponseCode::NO_PERMISSION,
            format!("the topic[{}] sending message is forbidden", header.topic),
        ));
    }
    let queues = config.read_queue_nums.max(config.write_queue_nums);
    if header.queue_id >= queues {
        return Err(BrokerError::refused(
            ResponseCode::INVALID_PARAMETER,
            format!(
                "request queueId[{}] is illegal, {} queues, producer: {}",
                header.queue_id, queues, header.producer_group
            ),
        ));
    }
    Ok(config)
}

fn create_topic(
    state: &BrokerState,
    settings: &BrokerConfig,
    header: &SendMessageRequestHeader,
) -> Result<TopicConfig, BrokerError> {
    let created = if header.topic.starts_with(topic::RETRY_GROUP_TOPIC_PREFIX) {
        let group = header.topic.trim_start_matches(topic::RETRY_GROUP_TOPIC_PREFIX);
        Some(state.topics.create_retry_topic(group, 1)?)
    } else if settings.auto_create_topic_enable {
        state.topics.auto_create(
            &header.topic,
            &header.default_topic,
            header.default_topic_queue_nums,
            0,
        )?
    } else {
        None
    };
    match created {
        Some(ensured) => {
            if ensured.created() {
                tracing::info!(topic = %header.topic, "topic created on first send");
                state.register_now.notify_one();
            }
            Ok(ensured.into_config())
        }
        None => Err(BrokerError::refused(
            ResponseCode::TOPIC_NOT_EXIST,
            format!("topic[{}] not exist, apply first please!", header.topic),
        )),
    }
}

/// The queue a message goes to: the one asked for, or any write queue when it is negative.
fn pick_queue(header: &SendMessageRequestHeader, config: &TopicConfig) -> i32 {
    if header.queue_id >= 0 {
        return header.queue_id;
    }
    let queues = config.write_queue_nums.max(1);
    (ferromq_store::now_millis().rem_euclid(i64::from(queues))) as i32
}

/// Transactional messages need the half-message store, which this broker does not have
/// yet: refuse them clearly rather than store them as plain messages (a half message would
/// then be delivered before its commit). A retry message that an old client (before 4.6.1)
/// sent with its transaction flag still set is not a transaction, as in RocketMQ.
fn refuse_transaction(settings: &BrokerConfig, msg: &StoredMessage) -> Result<(), BrokerError> {
    let prepared = msg
        .properties
        .get(property::TRANSACTION_PREPARED)
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let legacy_retry = msg.reconsume_times > 0 && delay_level(&msg.properties) > 0;
    if prepared && !legacy_retry {
        return Err(BrokerError::refused(
            ResponseCode::NO_PERMISSION,
            format!(
                "the broker[{}] sending transaction message is forbidden",
                settings.broker_addr()
            ),
        ));
    }
    Ok(())
}

/// Adds what the broker adds: a unique id if the producer sent none, and the cluster name.
fn prepare_properties(settings: &BrokerConfig, properties: &mut Properties) {
    properties.remove(property::POP_CK);
    if properties.get(property::UNIQ_KEY).is_none_or(str::is_empty) {
        thread_local! {
            static IDS: UniqIdGenerator = UniqIdGenerator::for_process(std::net::Ipv4Addr::LOCALHOST.into());
        }
        let id = IDS.with(UniqIdGenerator::next_id);
        properties.insert(property::UNIQ_KEY, id);
    }
    properties.insert(property::CLUSTER, settings.broker_cluster_name.as_str());
}

fn message(
    state: &BrokerState,
    channel: &Channel,
    header: &SendMessageRequestHeader,
    queue_id: i32,
    body: Bytes,
    properties: Properties,
) -> StoredMessage {
    StoredMessage {
        topic: header.topic.clone(),
        queue_id,
        flag: header.flag,
        sys_flag: header.sys_flag,
        born_timestamp: header.born_timestamp,
        born_host: channel.peer_addr(),
        store_host: state.store_host,
        reconsume_times: header.reconsume_times.unwrap_or(0),
        body,
        properties,
        ..StoredMessage::default()
    }
}

/// Waits for the flush when the store asks for it, then builds the send response.
async fn respond(
    settings: &BrokerConfig,
    put: PutResult,
    queue_id: i32,
    unique_id: Option<String>,
) -> Reply {
    let mut code = ResponseCode::SUCCESS;
    if let Some(durable) = put.durable {
        let timeout = settings.store.sync_flush_timeout();
        match tokio::time::timeout(timeout, durable).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(reason))) => {
                return Err(BrokerError::Store(ferromq_store::StoreError::Poisoned(reason)))
            }
            Ok(Err(_)) | Err(_) => code = ResponseCode::FLUSH_DISK_TIMEOUT,
        }
    }
    let header = SendMessageResponseHeader {
        msg_id: put.msg_ids.join(","),
        queue_id,
        queue_offset: put.appended.first().map(|a| a.queue_offset).unwrap_or(0),
        transaction_id: unique_id,
        batch_uniq_id: None,
        recall_handle: None,
        msg_region: settings.region_id.clone(),
        trace_on: settings.trace_on,
    };
    let mut response = success().with_ext_fields(header.to_ext());
    response.code = code.0;
    Ok(Some(response))
}
