//! The FerroMQ name server: brokers register their topics here every 30 s, clients ask it
//! where a topic lives. It keeps the route table in memory (several name servers are peers
//! that never talk to each other) and a small KV config on disk.

mod config;
mod error;
mod kv_config;
mod processor;
mod route_table;
mod server;

pub use config::NamesrvConfig;
pub use error::NamesrvError;
pub use kv_config::{KvConfig, ORDER_TOPIC_CONFIG};
pub use processor::NamesrvProcessor;
pub use route_table::{BrokerAddr, BrokerLive, RegisterOutcome, Registration, RouteTable};
pub use server::NameServer;
