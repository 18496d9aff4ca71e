//! Third-party RocketMQ clients driving real `ferromq` processes on loopback: the judge of
//! wire compatibility.

mod rust_client;
