//! Test helpers shared by FerroMQ's crates (not published): free loopback ports, temporary
//! folders, polling with a deadline, and child processes that are killed by PID when dropped.

use std::collections::BTreeSet;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

pub mod cluster;

pub use tempfile::TempDir;

/// A port on 127.0.0.1 that was free a moment ago (bound, then released), and never handed
/// out before in this process: the kernel may offer a just-released port again, and two
/// servers of one test must not be given the same one.
pub fn free_port() -> u16 {
    static HANDED_OUT: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap_or_else(|e| panic!("cannot find a free port: {e}"));
        if HANDED_OUT.lock().unwrap_or_else(PoisonError::into_inner).insert(port) {
            return port;
        }
    }
}

/// A fresh temporary folder, removed when dropped.
pub fn temp_dir() -> TempDir {
    tempfile::Builder::new()
        .prefix("ferromq-test-")
        .tempdir()
        .unwrap_or_else(|e| panic!("cannot create a temporary folder: {e}"))
}

/// Polls `condition` every few milliseconds until it holds; panics naming `what` if it does
/// not within `timeout`.
pub fn wait_until(timeout: Duration, what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(2);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out after {timeout:?} waiting for {what}");
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(100));
    }
}

/// Waits until something accepts TCP connections at `addr`.
pub fn wait_for_listener(addr: SocketAddr, timeout: Duration) {
    wait_until(timeout, &format!("a listener on {addr}"), || {
        TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
    });
}

/// The `ferromq` binary, freshly built (override with `FERROMQ_BIN`).
///
/// End-to-end tests live in their own crate, where Cargo gives no path to another package's
/// binary, so the first call builds it with the same cargo and profile that built the tests
/// (a no-op when it is up to date) and every call returns its path.
pub fn ferromq_bin() -> PathBuf {
    static BIN: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(path) = std::env::var_os("FERROMQ_BIN") {
            return PathBuf::from(path);
        }
        // Test executables live in target/<profile>/deps; the binary one level up.
        let exe = std::env::current_exe().unwrap_or_else(|e| panic!("no current exe: {e}"));
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .unwrap_or_else(|| panic!("unexpected test executable location {}", exe.display()));
        let target_dir = profile_dir.parent().unwrap_or(profile_dir);
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut build = Command::new(cargo);
        build.args(["build", "--quiet", "-p", "ferromq", "--bin", "ferromq"]);
        build.arg("--target-dir").arg(target_dir);
        if profile_dir.file_name().is_some_and(|name| name == "release") {
            build.arg("--release");
        }
        let status = build.status().unwrap_or_else(|e| panic!("cannot run cargo build: {e}"));
        assert!(status.success(), "building the ferromq binary failed");
        let bin = profile_dir.join(format!("ferromq{}", std::env::consts::EXE_SUFFIX));
        assert!(bin.exists(), "{} not found after building it", bin.display());
        bin
    })
    .clone()
}

/// A child process that is killed (SIGKILL, by PID) and reaped when dropped.
/// Its stdout and stderr go to `<dir>/<name>.log`.
#[derive(Debug)]
pub struct ChildProcess {
    child: Child,
    name: String,
    log: PathBuf,
}

impl ChildProcess {
    /// Starts `program args…`, logging to `log_dir`.
    pub fn spawn(name: &str, program: &Path, args: &[&str], log_dir: &Path) -> ChildProcess {
        let log = log_dir.join(format!("{name}.log"));
        let out = std::fs::File::create(&log)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", log.display()));
        let err = out.try_clone().unwrap_or_else(|e| panic!("cannot clone log handle: {e}"));
        let child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
        ChildProcess { child, name: name.to_string(), log }
    }

    /// Starts `program args…` with its stdout piped to the caller (stderr goes to the log).
    pub fn spawn_piped(
        name: &str,
        program: &Path,
        args: &[&str],
        log_dir: &Path,
    ) -> (ChildProcess, std::process::ChildStdout) {
        let log = log_dir.join(format!("{name}.log"));
        let err = std::fs::File::create(&log)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", log.display()));
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
        let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout pipe"));
        (ChildProcess { child, name: name.to_string(), log }, stdout)
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the child has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends SIGKILL and reaps the child.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM and waits up to `timeout` for the child to exit; returns its exit status
    /// (None if it had to be killed).
    pub fn terminate(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let _ = Command::new("kill").arg("-TERM").arg(self.pid().to_string()).status();
        let deadline = Instant::now() + timeout;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return Some(status),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10))
                }
                _ => {
                    self.kill9();
                    return None;
                }
            }
        }
    }

    /// Whether the child is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// The name given at spawn.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        self.kill9();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_for_a_condition_and_times_out_clearly() {
        let start = Instant::now();
        wait_until(Duration::from_secs(5), "a short while", || {
            start.elapsed() > Duration::from_millis(20)
        });
        let err =
            std::panic::catch_unwind(|| wait_until(Duration::from_millis(20), "never", || false));
        assert!(err.is_err());
    }

    #[test]
    fn child_processes_are_killed_on_drop() {
        let dir = temp_dir();
        let mut child = ChildProcess::spawn("sleeper", Path::new("sleep"), &["30"], dir.path());
        assert!(child.is_running());
        let pid = child.pid();
        drop(child);
        // The PID is reaped: /proc no longer lists it as our child.
        assert!(
            !Path::new(&format!("/proc/{pid}/cmdline")).exists()
                || std::fs::read_to_string(format!("/proc/{pid}/cmdline"))
                    .map(|c| !c.contains("sleep"))
                    .unwrap_or(true)
        );
    }

    #[test]
    fn free_ports_are_bindable() {
        let port = free_port();
        assert!(TcpListener::bind(("127.0.0.1", port)).is_ok());
    }
}
