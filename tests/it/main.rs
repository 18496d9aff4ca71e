//! End-to-end tests that start real `ferromq` processes on loopback.

mod broker;
mod namesrv;
mod retry;
mod rust_client;
mod store_crash;
mod support;
