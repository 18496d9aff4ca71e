//! The broker's request processor: routes each request code to its handler and turns every
//! refusal into RocketMQ's response code (through `BrokerError`, in one place).

mod admin;
mod broker_config;
mod client;
mod lock;
mod offset;
mod pull;
mod query;
mod reset_offset;
mod send;
mod send_back;

use std::sync::Arc;

use ferromq_protocol::{RemotingCommand, RequestCode};
use ferromq_remoting::{not_supported, Channel, RequestProcessor};

use crate::error::BrokerError;
use crate::state::BrokerState;

/// What a handler returns: a response, no response (one-way), or a refusal.
pub type Reply = Result<Option<RemotingCommand>, BrokerError>;

/// Handles every request code the broker serves.
#[derive(Debug, Clone)]
pub struct BrokerProcessor {
    state: Arc<BrokerState>,
}

impl BrokerProcessor {
    /// A processor over the broker's shared state.
    pub fn new(state: Arc<BrokerState>) -> Self {
        BrokerProcessor { state }
    }
}

impl RequestProcessor for BrokerProcessor {
    async fn process(
        &self,
        channel: &Channel,
        request: RemotingCommand,
    ) -> Option<RemotingCommand> {
        let state = &self.state;
        let reply = match request.request_code() {
            RequestCode::SEND_MESSAGE | RequestCode::SEND_MESSAGE_V2 => {
                send::send(state, channel, &request).await
            }
            RequestCode::SEND_BATCH_MESSAGE => send::send_batch(state, channel, &request).await,
            RequestCode::CONSUMER_SEND_MSG_BACK => send_back::send_back(state, &request),
            RequestCode::PULL_MESSAGE | RequestCode::LITE_PULL_MESSAGE => {
                pull::pull(state, &request).await
            }
            RequestCode::HEART_BEAT => client::heartbeat(state, channel, &request).await,
            RequestCode::UNREGISTER_CLIENT => client::unregister(state, &request).await,
            RequestCode::GET_CONSUMER_LIST_BY_GROUP => client::consumer_list(state, &request),
            RequestCode::GET_CONSUMER_CONNECTION_LIST => {
                client::consumer_connections(state, &request)
            }
            RequestCode::QUERY_CONSUMER_OFFSET => offset::query_consumer_offset(state, &request),
            RequestCode::UPDATE_CONSUMER_OFFSET => offset::update_consumer_offset(state, &request),
            RequestCode::GET_MAX_OFFSET => offset::max_offset(state, &request),
            RequestCode::GET_MIN_OFFSET => offset::min_offset(state, &request),
            RequestCode::SEARCH_OFFSET_BY_TIMESTAMP => offset::search_by_time(state, &request),
            RequestCode::GET_EARLIEST_MSG_STORETIME => offset::earliest_time(state, &request),
            RequestCode::QUERY_MESSAGE => query::query_message(state, &request),
            RequestCode::VIEW_MESSAGE_BY_ID => query::view_message(state, &request),
            RequestCode::UPDATE_AND_CREATE_TOPIC => admin::create_topic(state, &request),
            RequestCode::DELETE_TOPIC_IN_BROKER => admin::delete_topic(state, &request),
            RequestCode::GET_ALL_TOPIC_CONFIG => admin::all_topics(state),
            RequestCode::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP => {
                admin::create_group(state, &request)
            }
            RequestCode::DELETE_SUBSCRIPTIONGROUP => admin::delete_group(state, &request),
            RequestCode::GET_TOPIC_STATS_INFO => admin::topic_stats(state, &request),
            RequestCode::GET_CONSUME_STATS => admin::consume_stats(state, &request),
            RequestCode::GET_BROKER_RUNTIME_INFO => admin::runtime_info(state),
            RequestCode::INVOKE_BROKER_TO_RESET_OFFSET => {
                reset_offset::reset_offset(state, &request).await
            }
            RequestCode::GET_ALL_DELAY_OFFSET => admin::all_delay_offsets(state),
            RequestCode::GET_BROKER_CONFIG => broker_config::get(state),
            RequestCode::UPDATE_BROKER_CONFIG => broker_config::update(state, channel, &request),
            RequestCode::LOCK_BATCH_MQ => lock::lock(state, &request),
            RequestCode::UNLOCK_BATCH_MQ => lock::unlock(state, &request),
            _ => Ok(Some(not_supported(&request))),
        };
        match reply {
            Ok(response) => response,
            Err(e) => {
                tracing::debug!(code = request.code, peer = %channel.peer_addr(), "request refused: {e}");
                Some(e.to_response())
            }
        }
    }

    fn on_close(&self, channel: &Channel) {
        let changed = self.state.clients.channel_closed(channel);
        if !changed.is_empty() {
            let state = Arc::clone(&self.state);
            tokio::spawn(async move {
                for group in changed {
                    state.clients.notify_ids_changed(&group).await;
                }
            });
        }
    }
}

/// A SUCCESS response.
pub fn success() -> RemotingCommand {
    RemotingCommand::response(ferromq_protocol::ResponseCode::SUCCESS)
}
