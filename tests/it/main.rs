//! End-to-end tests that start real `ferromq` processes on loopback.

mod bench;
mod broker;
mod cli_admin;
mod client_admin;
mod client_producer;
mod client_push;
mod lite_pull;
mod namesrv;
mod retry;
mod store_crash;
mod support;
