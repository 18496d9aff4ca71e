//! Tokio server and client for the RocketMQ remoting protocol: framing over TCP, requests
//! matched to responses by opaque, one-way calls, per-call timeouts, a connection pool, and
//! limits (frame size, requests in flight per connection) that keep memory bounded.

mod channel;
mod client;
mod codec;
mod config;
mod connection;
mod error;
mod processor;
mod server;

pub use channel::Channel;
pub use client::RemotingClient;
pub use codec::{DecodeError, FrameDecoder};
pub use config::{ClientConfig, ServerConfig};
pub use error::RemotingError;
pub use processor::{not_supported, NoRequests, RequestProcessor};
pub use server::Server;

#[cfg(test)]
mod tests;
