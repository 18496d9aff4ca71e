//! `ferromq bench sink` and `ferromq bench produce` as real processes: counted runs against
//! the sink and against a standalone end with every message acknowledged, and the JSON
//! report says so. No timing is asserted.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ferromq_testkit::{ferromq_bin, free_port, temp_dir, wait_for_listener, ChildProcess};
use serde_json::Value;

use crate::support::Standalone;

/// A counted run of 2,000 messages takes well under a second; this allows for slow machines.
const RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// Runs `ferromq bench produce -n <namesrv> <extra…> --json <file>` to the end and returns
/// its JSON report; the process is killed if it outlives [`RUN_TIMEOUT`].
fn produce(namesrv: &str, extra: &[&str], dir: &Path, name: &str) -> Value {
    let json = dir.join(format!("{name}.json"));
    let log = dir.join(format!("{name}.log"));
    let out = std::fs::File::create(&log).unwrap();
    let mut child = Command::new(ferromq_bin())
        .args(["bench", "produce", "-n", namesrv, "--json"])
        .arg(&json)
        .args(extra)
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .unwrap();
    let deadline = Instant::now() + RUN_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{name} did not finish in {RUN_TIMEOUT:?}:\n{}", read(&log));
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{name} failed ({status}):\n{}", read(&log));
    let report: Value = serde_json::from_slice(&std::fs::read(&json).unwrap())
        .unwrap_or_else(|e| panic!("{name} wrote no valid JSON report ({e}):\n{}", read(&log)));
    assert_eq!(report["bench"], "produce");
    assert_eq!(report["errors"], 0, "{name} had errors:\n{}", read(&log));
    assert!(report["errors_by_kind"].as_object().is_some_and(|kinds| kinds.is_empty()));
    report
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[test]
fn produce_against_the_sink_gets_every_message_acknowledged() {
    let dir = temp_dir();
    let addr = format!("127.0.0.1:{}", free_port());
    let _sink = ChildProcess::spawn(
        "sink",
        &ferromq_bin(),
        &["bench", "sink", "--listen", &addr, "--queues", "4"],
        dir.path(),
    );
    wait_for_listener(addr.parse().unwrap(), Duration::from_secs(30));

    let single = produce(&addr, &["--count", "2000", "-c", "16"], dir.path(), "single");
    assert_eq!(single["messages"], 2000);
    assert_eq!(single["operations"], 2000);
    assert_eq!(single["latency_us"]["count"], 2000);
    assert_eq!(single["mode"], "closed loop");
    assert_eq!(single["settings"]["queues"], 4);
    assert!(single["bench_cpu"]["us_per_message"].as_f64().is_some());

    let batched =
        produce(&addr, &["--count", "2000", "--batch", "10", "-s", "128"], dir.path(), "batched");
    assert_eq!(batched["messages"], 2000);
    assert_eq!(batched["operations"], 200);
    assert_eq!(batched["message_size"], 128);

    let paced = produce(
        &addr,
        &["--count", "2000", "--rate", "5000", "--warmup", "0.2", "--tags", "T", "--keys"],
        dir.path(),
        "paced",
    );
    assert_eq!(paced["messages"], 2000);
    assert_eq!(paced["mode"], "open loop");
    assert_eq!(paced["schedule_lag_us"]["count"], 2000);
    assert!(paced["warmup_operations"].as_u64().is_some_and(|n| n > 0));
}

#[test]
fn produce_against_a_standalone_gets_every_message_acknowledged() {
    let standalone = Standalone::start();
    let dir = temp_dir();
    let pid = standalone.process.pid().to_string();
    let report = produce(
        &standalone.namesrv.to_string(),
        &["--count", "2000", "-t", "BenchE2E", "--server-pid", &pid],
        dir.path(),
        "standalone",
    );
    assert_eq!(report["messages"], 2000);
    assert_eq!(report["operations"], 2000);
    assert_eq!(report["settings"]["topic"], "BenchE2E");
    assert_eq!(report["server_cpu"]["pid"].as_u64(), Some(u64::from(standalone.process.pid())));
}
