//! Examples of the FerroMQ client live in `examples/`; run one with
//! `cargo run -p ferromq-examples --example <name>` while `ferromq standalone` is running
//! (they use `NAMESRV_ADDR`, default `127.0.0.1:9876`).

/// The name server address the examples use: `NAMESRV_ADDR`, else `127.0.0.1:9876`.
pub fn namesrv_addr() -> String {
    std::env::var("NAMESRV_ADDR").unwrap_or_else(|_| "127.0.0.1:9876".to_string())
}
