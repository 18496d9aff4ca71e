//! GET_BROKER_CONFIG and UPDATE_BROKER_CONFIG: the settings as Java properties text, and
//! changing them while the broker runs (checked, persisted to the overlay, then in force for
//! the next request), with what a change must set off: a re-registration when the
//! permission changes, the TBW102 template when auto-creation is turned on, the order locks'
//! lifetime.

use std::time::Duration;

use ferromq_protocol::{RemotingCommand, ResponseCode};
use ferromq_remoting::Channel;
use tracing::{info, warn};

use super::{success, Reply};
use crate::config::live::Updated;
use crate::config::properties;
use crate::error::BrokerError;
use crate::state::BrokerState;

/// GET_BROKER_CONFIG: every setting as `key=value` lines.
pub fn get(state: &BrokerState) -> Reply {
    let text = state.config.get().to_properties()?;
    Ok(Some(success().with_body(text.into_bytes())))
}

/// UPDATE_BROKER_CONFIG: the body is properties text; see `config::update` for the rules.
pub fn update(state: &BrokerState, channel: &Channel, request: &RemotingCommand) -> Reply {
    let text = std::str::from_utf8(&request.body).map_err(|_| {
        BrokerError::refused(ResponseCode::INVALID_PARAMETER, "the body is not UTF-8 text")
    })?;
    let pairs = properties::parse(text);
    info!(peer = %channel.peer_addr(), "update broker config: {pairs:?}");
    let updated = state.config.update(&pairs)?;
    if !updated.applied.is_empty() {
        info!(peer = %channel.peer_addr(), "broker config updated: {:?}", updated.applied);
    }
    take_effect(state, &updated);
    let mut response = success();
    if !updated.ignored.is_empty() {
        warn!("update broker config: ignoring unknown settings {:?}", updated.ignored);
        response = response
            .with_remark(format!("ignored unknown settings: {}", updated.ignored.join(", ")));
    }
    Ok(Some(response))
}

/// What the broker does beyond reading the new snapshot.
fn take_effect(state: &BrokerState, updated: &Updated) {
    let (old, new) = (&updated.old, &updated.new);
    if old.auto_create_topic_enable != new.auto_create_topic_enable {
        // The topic table gates the TBW102 template on this flag, and turning it on needs
        // the template to exist.
        if state.topics.ensure_system_topics(&new.system_topic_options()) > 0 {
            if let Err(e) = state.topics.persist() {
                warn!("cannot persist the topic table: {e}");
            }
            state.register_now.notify_one();
        }
    }
    if old.rebalance_lock_max_live_time != new.rebalance_lock_max_live_time {
        state.locks.set_max_live(Duration::from_millis(new.rebalance_lock_max_live_time));
    }
    if old.broker_permission != new.broker_permission {
        // Name servers re-read a broker's topics only when their data version moves.
        if let Err(e) = state.topics.bump_version() {
            warn!("cannot persist the topic table: {e}");
        }
        state.register_now.notify_one();
    }
}
