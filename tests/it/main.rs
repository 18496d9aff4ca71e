//! End-to-end tests that start real `ferromq` processes on loopback.

mod broker;
mod client_producer;
mod client_push;
mod namesrv;
mod store_crash;
mod support;
