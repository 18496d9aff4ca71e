//! Registration with the name servers: at start, every `registerNameServerPeriod` (30 s), and
//! at once when a topic is created or the broker's permission changes; unregistration at a
//! clean stop. A broker that is not both readable and writable registers its topics with
//! their permission masked by its own, as RocketMQ does, so clients route around it.

use std::time::Duration;

use ferromq_protocol::body::RegisterBrokerBody;
use ferromq_protocol::headers::{
    CommandHeader, RegisterBrokerRequestHeader, UnRegisterBrokerRequestHeader,
};
use ferromq_protocol::message::crc32_masked;
use ferromq_protocol::{RemotingCommand, RequestCode, ResponseCode};
use ferromq_remoting::RemotingClient;
use tracing::{debug, warn};

use crate::state::BrokerState;

/// How long one registration call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(6);

/// Registers with every name server once; returns how many accepted.
pub async fn register_all(state: &BrokerState, client: &RemotingClient) -> usize {
    let config = state.config.get();
    let mut topics = state.topics.all();
    if !config.writeable() || !config.readable() {
        for topic in topics.topic_config_table.values_mut() {
            topic.perm &= config.broker_permission;
        }
    }
    let body = RegisterBrokerBody {
        topic_config_serialize_wrapper: topics,
        filter_server_list: Vec::new(),
    };
    let body = match body.encode(false) {
        Ok(body) => body,
        Err(e) => {
            warn!("cannot encode the registration body: {e}");
            return 0;
        }
    };
    let header = RegisterBrokerRequestHeader {
        broker_name: config.broker_name.clone(),
        broker_addr: config.broker_addr(),
        cluster_name: config.broker_cluster_name.clone(),
        ha_server_addr: format!("{}:{}", config.broker_ip1, u32::from(config.listen_port) + 1),
        broker_id: config.broker_id,
        heartbeat_timeout_millis: None,
        enable_acting_master: Some(false),
        compressed: false,
        body_crc32: crc32_masked(&body),
    };
    let mut accepted = 0;
    for addr in config.name_servers() {
        let request = RemotingCommand::request(RequestCode::REGISTER_BROKER)
            .with_ext_fields(header.to_ext())
            .with_body(body.clone());
        match client.invoke(&addr, request, CALL_TIMEOUT).await {
            Ok(r) if r.response_code() == ResponseCode::SUCCESS => {
                debug!(namesrv = %addr, "registered");
                accepted += 1;
            }
            Ok(r) => {
                warn!(namesrv = %addr, code = r.code, remark = ?r.remark, "registration refused")
            }
            Err(e) => warn!(namesrv = %addr, "registration failed: {e}"),
        }
    }
    accepted
}

/// Unregisters from every name server (clean stop).
pub async fn unregister_all(state: &BrokerState, client: &RemotingClient) {
    let config = state.config.get();
    let header = UnRegisterBrokerRequestHeader {
        broker_name: config.broker_name.clone(),
        broker_addr: config.broker_addr(),
        cluster_name: config.broker_cluster_name.clone(),
        broker_id: config.broker_id,
    };
    for addr in config.name_servers() {
        let request = RemotingCommand::request(RequestCode::UNREGISTER_BROKER)
            .with_ext_fields(header.to_ext());
        if let Err(e) = client.invoke(&addr, request, CALL_TIMEOUT).await {
            warn!(namesrv = %addr, "unregistration failed: {e}");
        }
    }
}

/// Registers now, then every period and whenever `register_now` is signalled.
pub async fn run(state: &BrokerState, client: &RemotingClient) {
    loop {
        register_all(state, client).await;
        tokio::select! {
            _ = tokio::time::sleep(state.config.get().register_period()) => {}
            _ = state.register_now.notified() => {}
        }
    }
}
