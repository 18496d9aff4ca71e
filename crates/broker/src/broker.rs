//! Starting and stopping a broker: open the store and metadata, bind the port, register with
//! the name servers, run the housekeeping and delayed-delivery tasks, and on stop
//! unregister, persist and close the store cleanly.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ferromq_remoting::{ClientConfig, RemotingClient, Server, ServerConfig};
use ferromq_store::Store;
use tokio::sync::{watch, Notify};
use tracing::{info, warn};

use crate::arrivals::Arrivals;
use crate::clients::ClientManager;
use crate::config::live::LiveConfig;
use crate::config::BrokerConfig;
use crate::error::BrokerError;
use crate::locks::RebalanceLocks;
use crate::long_polling::LongPolling;
use crate::processor::BrokerProcessor;
use crate::register;
use crate::schedule::wake::Wake;
use crate::schedule::{self, Schedule};
use crate::state::BrokerState;
use crate::stats::BrokerStats;

/// Period of the client-expiry scan (RocketMQ: 10 s).
const CLIENT_SCAN: Duration = Duration::from_secs(10);
/// Period of the statistics samples.
const STATS_SAMPLE: Duration = Duration::from_secs(1);

/// A broker bound to its port, ready to serve.
#[derive(Debug)]
pub struct Broker {
    server: Server,
    state: Arc<BrokerState>,
}

impl Broker {
    /// Validates `config`, applies the settings changed at runtime before (the overlay in
    /// the store folder), opens (recovering) the store and metadata, and binds the port.
    pub async fn bind(config: BrokerConfig) -> Result<Broker, BrokerError> {
        config.validate()?;
        let live = LiveConfig::open(config)?;
        let config = live.get();
        let store_host: SocketAddr = config.broker_addr().parse().map_err(|_| {
            BrokerError::Config(format!("bad broker address {}", config.broker_addr()))
        })?;
        let pulls = Arc::new(LongPolling::default());
        let schedule_wake = Arc::new(Wake::new(config.store.delay_levels()?.max_level()));
        let store_config = config.store.clone();
        let listener =
            Arc::new(Arrivals { pulls: Arc::clone(&pulls), schedule: Arc::clone(&schedule_wake) });
        let store = tokio::task::spawn_blocking(move || Store::open(store_config, Some(listener)))
            .await
            .map_err(|e| BrokerError::Config(format!("store opening panicked: {e}")))??;
        let schedule = Schedule::open(&store, schedule_wake)?;
        let (topics, offsets, groups) = BrokerState::open_meta(&config)?;
        topics.ensure_system_topics(&config.system_topic_options());
        topics.persist()?;
        let addr = config.bind_addr();
        let server_config = ServerConfig {
            max_frame_size: ferromq_protocol::frame::DEFAULT_MAX_FRAME_SIZE,
            ..ServerConfig::default()
        };
        let server = Server::bind(&addr, server_config)
            .await
            .map_err(|source| BrokerError::Bind { addr, source })?;
        let state = Arc::new(BrokerState {
            locks: RebalanceLocks::new(Duration::from_millis(config.rebalance_lock_max_live_time)),
            config: live,
            store,
            topics,
            offsets,
            groups,
            clients: ClientManager::default(),
            pulls,
            schedule,
            stats: BrokerStats::new(ferromq_store::now_millis()),
            store_host,
            register_now: Notify::new(),
            boot_timestamp: ferromq_store::now_millis(),
        });
        Ok(Broker { server, state })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.server.local_addr()
    }

    /// Serves until `shutdown` resolves, then stops cleanly.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), BrokerError> {
        let Broker { server, state } = self;
        let namesrv_client = Arc::new(RemotingClient::new(ClientConfig::default()));
        // Tasks that finish their current step when told to stop (aborting them could leave
        // a delivery half recorded).
        let (stop, stopping) = watch::channel(false);
        let mut stoppable = Vec::new();
        if state.config.get().broker_id == 0 {
            // As in RocketMQ, only a master delivers delayed messages.
            stoppable.push(tokio::spawn(schedule::run(Arc::clone(&state), stopping.clone())));
            stoppable.push(tokio::spawn(schedule::persist_progress(Arc::clone(&state), stopping)));
        }
        let tasks = vec![
            tokio::spawn({
                let (state, client) = (Arc::clone(&state), Arc::clone(&namesrv_client));
                async move { register::run(&state, &client).await }
            }),
            tokio::spawn(housekeeping(Arc::clone(&state))),
        ];
        info!(addr = ?server.local_addr().ok(), broker = %state.config.get().broker_name, "broker serving");
        server.serve(Arc::new(BrokerProcessor::new(Arc::clone(&state))), shutdown).await;
        let _ = stop.send(true);
        for task in stoppable {
            let _ = task.await;
        }
        for task in tasks {
            task.abort();
            let _ = task.await; // an aborted task drops its state only once polled
        }
        register::unregister_all(&state, &namesrv_client).await;
        persist(&state);
        // Short-lived tasks (notifications on closed connections) may still hold the state.
        let mut state = state;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        let state = loop {
            match Arc::try_unwrap(state) {
                Ok(state) => break Some(state),
                Err(shared) if tokio::time::Instant::now() < deadline => {
                    state = shared;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                Err(_) => break None,
            }
        };
        match state {
            Some(state) => {
                tokio::task::spawn_blocking(move || close(state))
                    .await
                    .map_err(|e| BrokerError::Config(format!("store shutdown panicked: {e}")))??;
                info!("broker stopped");
            }
            None => {
                warn!("broker state still in use at stop; the store will recover at the next start")
            }
        }
        Ok(())
    }
}

/// Closes the store cleanly (everything flushed), then records how far the delay levels
/// were delivered: every re-put message is durable by then.
fn close(state: BrokerState) -> Result<(), BrokerError> {
    let BrokerState { store, schedule, .. } = state;
    store.shutdown()?;
    if let Err(e) = schedule.persist_after_store_shutdown() {
        warn!("cannot write delay offsets: {e}");
    }
    Ok(())
}

/// Persists consumer offsets and any changed metadata.
fn persist(state: &BrokerState) {
    for (what, outcome) in [
        ("consumer offsets", state.offsets.persist()),
        ("topics", state.topics.persist()),
        ("subscription groups", state.groups.persist()),
    ] {
        if let Err(e) = outcome {
            warn!("cannot persist {what}: {e}");
        }
    }
}

/// Periodic work: persist offsets, expire silent clients, prune idle long-poll entries,
/// sample the statistics. Periods set at runtime take effect from the next tick.
async fn housekeeping(state: Arc<BrokerState>) {
    let persist_period = |state: &BrokerState| {
        Duration::from_millis(state.config.get().flush_consumer_offset_interval.max(100))
    };
    let mut persist_every = persist_period(&state);
    let mut persist_tick = tokio::time::interval(persist_every);
    let mut scan_tick = tokio::time::interval(CLIENT_SCAN);
    let mut stats_tick = tokio::time::interval(STATS_SAMPLE);
    loop {
        tokio::select! {
            _ = persist_tick.tick() => {
                let state = Arc::clone(&state);
                let _ = tokio::task::spawn_blocking(move || persist(&state)).await;
            }
            _ = stats_tick.tick() => {
                state.stats.sample(ferromq_store::now_millis());
                let period = persist_period(&state);
                if period != persist_every {
                    persist_every = period;
                    persist_tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
                }
            }
            _ = scan_tick.tick() => {
                let timeout = Duration::from_millis(state.config.get().channel_expired_timeout);
                let expired = state.clients.expire(timeout);
                for group in expired {
                    state.clients.notify_ids_changed(&group).await;
                }
                state.pulls.prune();
            }
        }
    }
}
