//! End-to-end tests that start real `ferromq` processes on loopback.

mod bench;
mod broker;
mod client_producer;
mod namesrv;
mod store_crash;
mod support;
