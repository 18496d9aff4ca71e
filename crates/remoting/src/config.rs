//! Limits and timeouts of the remoting server and client, with RocketMQ's defaults.

use std::time::Duration;

use ferromq_protocol::frame::DEFAULT_MAX_FRAME_SIZE;

/// How a remoting server treats its connections.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Largest frame accepted, length prefix included (RocketMQ: 16 MiB).
    pub max_frame_size: usize,
    /// Requests of one connection being processed at once; past this the server stops
    /// reading from that connection until one finishes (back-pressure through TCP). Pulls
    /// held by long polling count, and a consumer holds one per queue it owns on the broker,
    /// so this must be well above the queues one client consumes (RocketMQ's server has no
    /// such cap; its clients keep at most 65,535 calls outstanding).
    pub max_in_flight_per_connection: usize,
    /// Connections served at once; further ones wait in the accept queue.
    pub max_connections: usize,
    /// A connection with no incoming frame for this long is closed
    /// (`serverChannelMaxIdleTimeSeconds`, 120 s).
    pub idle_timeout: Duration,
    /// How long a graceful shutdown waits for in-flight requests before closing anyway.
    pub shutdown_grace: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_frame_size: DEFAULT_MAX_FRAME_SIZE,
            max_in_flight_per_connection: 65_536,
            max_connections: 65_536,
            idle_timeout: Duration::from_secs(120),
            shutdown_grace: Duration::from_secs(5),
        }
    }
}

/// How a remoting client connects and calls.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Largest frame accepted from a server, length prefix included.
    pub max_frame_size: usize,
    /// TCP connect timeout (`connectTimeoutMillis`, 3 s).
    pub connect_timeout: Duration,
    /// Calls waiting for a response on one connection (RocketMQ's async semaphore: 65535).
    pub max_in_flight_per_connection: usize,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            max_frame_size: DEFAULT_MAX_FRAME_SIZE,
            connect_timeout: Duration::from_secs(3),
            max_in_flight_per_connection: 65_535,
        }
    }
}
