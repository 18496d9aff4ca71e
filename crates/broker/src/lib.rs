//! The FerroMQ broker: serves its store over the RocketMQ remoting protocol — sends, pulls
//! with long polling, client heartbeats and groups, consumer offsets, lookups, order locks,
//! consumer retry with its dead-letter queues, and delayed delivery — and registers its
//! topics with the name servers.

mod arrivals;
mod broker;
mod clients;
mod config;
mod error;
mod locks;
mod long_polling;
mod processor;
mod register;
mod retry;
mod schedule;
mod state;
mod stats;

pub use broker::Broker;
pub use config::BrokerConfig;
pub use error::BrokerError;
