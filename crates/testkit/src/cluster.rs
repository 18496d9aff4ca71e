//! Starting `ferromq` processes for tests — a name server, a broker, a standalone — each on
//! its own free port and data folder, killed when dropped.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use crate::{
    ferromq_bin, free_port, temp_dir, wait_for_listener, wait_until, ChildProcess, TempDir,
};

/// The standalone config file `Standalone::start_with_config` writes into the test folder.
const CONFIG_FILE: &str = "standalone.toml";

/// How long a process may take to start listening.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A name server process, killed when dropped.
#[derive(Debug)]
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
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let process = Self::spawn(&dir, addr);
        Namesrv { process, addr, _dir: dir }
    }

    fn spawn(dir: &TempDir, addr: SocketAddr) -> ChildProcess {
        let config = dir.path().join("namesrv.toml").display().to_string();
        let listen = addr.to_string();
        let process = ChildProcess::spawn(
            "namesrv",
            &ferromq_bin(),
            &["namesrv", "--listen", &listen, "--config", &config],
            dir.path(),
        );
        wait_for_listener(addr, START_TIMEOUT);
        process
    }

    /// Kills the name server (SIGKILL) and starts it again on the same port and config: it
    /// comes back knowing no broker until they register again.
    pub fn kill_and_restart(&mut self) {
        self.process.kill9();
        self.process = Self::spawn(&self._dir, self.addr);
    }

    /// Waits (up to `timeout`) until the broker at `broker` is registered here.
    pub fn wait_for_broker(&self, broker: SocketAddr, timeout: Duration) {
        wait_for_registration(self.addr, broker, timeout);
    }
}

/// A `ferromq standalone` process (name server and broker), killed when dropped.
#[derive(Debug)]
pub struct Standalone {
    pub process: ChildProcess,
    pub namesrv: SocketAddr,
    pub broker: SocketAddr,
    pub dir: TempDir,
}

impl Standalone {
    /// Starts standalone on free ports with a fresh data folder.
    pub fn start() -> Standalone {
        let dir = temp_dir();
        Self::start_in(dir)
    }

    /// Starts standalone on free ports with a fresh data folder and `config` (TOML lines of
    /// broker and store settings) as its `--config` file, kept for restarts.
    pub fn start_with_config(config: &str) -> Standalone {
        let dir = temp_dir();
        std::fs::write(dir.path().join(CONFIG_FILE), config).unwrap();
        Self::start_in(dir)
    }

    /// Starts standalone with its data in `dir` (reused across restarts), and the config
    /// file `start_with_config` left there, if any.
    pub fn start_in(dir: TempDir) -> Standalone {
        let (namesrv_port, broker_port) = (free_port(), free_port());
        let data = dir.path().join("data").display().to_string();
        let (namesrv_port_arg, broker_port_arg) =
            (namesrv_port.to_string(), broker_port.to_string());
        let config = dir.path().join(CONFIG_FILE).display().to_string();
        let mut args = vec![
            "standalone",
            "--data",
            &data,
            "--listen-addr",
            "127.0.0.1",
            "--namesrv-port",
            &namesrv_port_arg,
            "--broker-port",
            &broker_port_arg,
        ];
        if dir.path().join(CONFIG_FILE).exists() {
            args.extend(["--config", &config]);
        }
        let process = ChildProcess::spawn("standalone", &ferromq_bin(), &args, dir.path());
        let namesrv: SocketAddr = format!("127.0.0.1:{namesrv_port}").parse().unwrap();
        let broker: SocketAddr = format!("127.0.0.1:{broker_port}").parse().unwrap();
        wait_for_listener(namesrv, START_TIMEOUT);
        wait_for_listener(broker, START_TIMEOUT);
        wait_for_registration(namesrv, broker, START_TIMEOUT);
        Standalone { process, namesrv, broker, dir }
    }

    /// Kills the process (SIGKILL) and starts it again on the same data, returning the new one.
    pub fn kill_and_restart(mut self) -> Standalone {
        self.process.kill9();
        let Standalone { dir, .. } = self;
        Self::start_in(dir)
    }
}

/// A `ferromq broker` process registered with a name server, killed when dropped.
#[derive(Debug)]
pub struct BrokerProcess {
    pub process: ChildProcess,
    pub addr: SocketAddr,
    pub _dir: TempDir,
    name: String,
    namesrv: SocketAddr,
}

impl BrokerProcess {
    /// Starts broker group `name` (master) registering with `namesrv`; topics are
    /// auto-created unless `extra_config` (TOML lines added to its config file) says otherwise.
    pub fn start(namesrv: SocketAddr, name: &str, extra_config: &str) -> BrokerProcess {
        let dir = temp_dir();
        let port = free_port();
        let config = dir.path().join("broker.toml");
        let auto_create = if extra_config.contains("autoCreateTopicEnable") {
            ""
        } else {
            "autoCreateTopicEnable = true"
        };
        std::fs::write(
            &config,
            format!(
                "brokerName = {name:?}\nbrokerIP1 = \"127.0.0.1\"\n{auto_create}\n{extra_config}\n"
            ),
        )
        .unwrap();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let process = Self::spawn(&dir, namesrv, name, addr);
        BrokerProcess { process, addr, _dir: dir, name: name.to_string(), namesrv }
    }

    fn spawn(dir: &TempDir, namesrv: SocketAddr, name: &str, addr: SocketAddr) -> ChildProcess {
        let config = dir.path().join("broker.toml");
        let data = dir.path().join("store").display().to_string();
        let process = ChildProcess::spawn(
            &format!("broker-{name}"),
            &ferromq_bin(),
            &[
                "broker",
                "--config",
                &config.display().to_string(),
                "--listen",
                &addr.to_string(),
                "--namesrv",
                &namesrv.to_string(),
                "--data",
                &data,
            ],
            dir.path(),
        );
        wait_for_listener(addr, START_TIMEOUT);
        wait_for_registration(namesrv, addr, START_TIMEOUT);
        process
    }

    /// Kills the broker (SIGKILL) and starts it again on the same port, config and data, so
    /// clients find it at the address they knew.
    pub fn kill_and_restart(&mut self) {
        self.process.kill9();
        self.process = Self::spawn(&self._dir, self.namesrv, &self.name, self.addr);
    }
}

/// Waits until the name server at `namesrv` lists the broker at `broker` in its cluster
/// info, so clients started next find its routes.
fn wait_for_registration(namesrv: SocketAddr, broker: SocketAddr, timeout: Duration) {
    let what = format!("broker {broker} to register with {namesrv}");
    wait_until(timeout, &what, || {
        cluster_info(namesrv).is_some_and(|body| body.contains(&broker.to_string()))
    });
}

/// GET_BROKER_CLUSTER_INFO (106) as a hand-made JSON frame; the body of a success answer.
fn cluster_info(namesrv: SocketAddr) -> Option<String> {
    let mut stream = TcpStream::connect_timeout(&namesrv, Duration::from_secs(2)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let header = br#"{"code":106,"flag":0,"language":"JAVA","opaque":1,"serializeTypeCurrentRPC":"JSON","version":0}"#;
    let header_len = u32::try_from(header.len()).ok()?;
    let mut frame = Vec::new();
    frame.extend_from_slice(&(4 + header_len).to_be_bytes());
    frame.extend_from_slice(&header_len.to_be_bytes());
    frame.extend_from_slice(header);
    stream.write_all(&frame).ok()?;
    let mut len = [0u8; 4];
    stream.read_exact(&mut len).ok()?;
    let mut rest = vec![0u8; usize::try_from(u32::from_be_bytes(len)).ok()?];
    stream.read_exact(&mut rest).ok()?;
    let header_len =
        usize::try_from(u32::from_be_bytes(rest.get(..4)?.try_into().ok()?) & 0xFF_FFFF).ok()?;
    let header = String::from_utf8_lossy(rest.get(4..4 + header_len)?);
    let body = String::from_utf8_lossy(rest.get(4 + header_len..)?).into_owned();
    header.contains(r#""code":0"#).then_some(body)
}
