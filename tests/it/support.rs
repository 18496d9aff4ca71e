//! The process starters every end-to-end test uses (they live in ferromq-testkit).

pub use ferromq_testkit::cluster::{BrokerProcess, Namesrv, Standalone};
