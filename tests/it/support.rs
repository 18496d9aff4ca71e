//! Starting `ferromq` processes for tests, each on its own free port and data folder.

use std::net::SocketAddr;
use std::time::Duration;

use ferromq_testkit::{ferromq_bin, free_port, temp_dir, wait_for_listener, ChildProcess, TempDir};

/// How long a process may take to start listening.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A name server process, killed when dropped.
pub struct Namesrv {
    pub process: ChildProcess,
    pub addr: SocketAddr,
    /// Kept alive for the process: its config, KV file and log live here.
    pub _dir: TempDir,
}

impl Namesrv {
    /// Starts `ferromq namesrv` with `extra_config` (TOML lines) added to its config file.
    pub fn start(extra_config: &str) -> Namesrv {
        let dir = temp_dir();
        let port = free_port();
        let config = dir.path().join("namesrv.toml");
        let kv = dir.path().join("kvConfig.json");
        std::fs::write(
            &config,
            format!("kvConfigPath = {:?}\n{extra_config}\n", kv.display().to_string()),
        )
        .unwrap();
        let listen = format!("127.0.0.1:{port}");
        let process = ChildProcess::spawn(
            "namesrv",
            &ferromq_bin(),
            &["namesrv", "--listen", &listen, "--config", &config.display().to_string()],
            dir.path(),
        );
        let addr: SocketAddr = listen.parse().unwrap();
        wait_for_listener(addr, START_TIMEOUT);
        Namesrv { process, addr, _dir: dir }
    }
}
