//! `ferromq bench sink`, `produce`, `consume` and `e2e` as real processes: counted runs
//! against the sink and against a standalone end with every message acknowledged (and, for
//! the consuming benches, received), and the JSON reports say so. No timing is asserted.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ferromq_testkit::{ferromq_bin, free_port, temp_dir, wait_for_listener, ChildProcess};
use serde_json::Value;

use crate::support::Standalone;

/// A counted run of 2,000 messages takes well under a second; this allows for slow machines.
const RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// Runs `ferromq bench produce -n <namesrv> <extra…> --json <file>` to the end and returns
/// its JSON report, checked free of errors.
fn produce(namesrv: &str, extra: &[&str], dir: &Path, name: &str) -> Value {
    let report = bench("produce", namesrv, extra, dir, name);
    assert_eq!(report["bench"], "produce");
    assert_eq!(report["errors"], 0, "{name} had errors:\n{}", read(&log_of(dir, name)));
    assert!(report["errors_by_kind"].as_object().is_some_and(|kinds| kinds.is_empty()));
    report
}

fn log_of(dir: &Path, name: &str) -> std::path::PathBuf {
    dir.join(format!("{name}.log"))
}

/// Runs `ferromq bench <kind> -n <namesrv> <extra…> --json <file>` to the end and returns its
/// JSON report; the process is killed if it outlives [`RUN_TIMEOUT`].
fn bench(kind: &str, namesrv: &str, extra: &[&str], dir: &Path, name: &str) -> Value {
    let json = dir.join(format!("{name}.json"));
    let log = log_of(dir, name);
    let out = std::fs::File::create(&log).unwrap();
    let mut child = Command::new(ferromq_bin())
        .args(["bench", kind, "-n", namesrv, "--json"])
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
    serde_json::from_slice(&std::fs::read(&json).unwrap())
        .unwrap_or_else(|e| panic!("{name} wrote no valid JSON report ({e}):\n{}", read(&log)))
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

    // A new group reading the topic from its start receives all 2,000 (their bodies carry
    // no stamp, so latency is from the born timestamp).
    let consumed = bench(
        "consume",
        &standalone.namesrv.to_string(),
        &["-t", "BenchE2E", "-g", "BenchReader", "--from", "first", "--count", "2000"],
        dir.path(),
        "consume",
    );
    let log = read(&log_of(dir.path(), "consume"));
    assert_eq!(consumed["bench"], "consume");
    assert!(consumed["messages"].as_u64().is_some_and(|n| n >= 2000), "{log}");
    assert_eq!(consumed["arrivals"]["received"], consumed["messages"], "{log}");
    assert_eq!(consumed["latency_us"]["count"], consumed["messages"]);
    assert!(consumed["latency_from"].as_str().is_some_and(|s| s.contains("born timestamp")));
    assert_eq!(consumed["stopped_early"], false);
}

#[test]
fn e2e_against_a_standalone_receives_every_message_it_sent() {
    let standalone = Standalone::start();
    let dir = temp_dir();
    let namesrv = standalone.namesrv.to_string();
    let args =
        ["-t", "BenchRoundTrip", "--queues", "4", "--count", "2000", "--rate", "4000", "--warmup"];
    let report = bench("e2e", &namesrv, &[&args[..], &["0.3"]].concat(), dir.path(), "e2e");
    let log = read(&log_of(dir.path(), "e2e"));
    let (send, e2e) = (&report["send"], &report["e2e"]);
    assert_eq!(send["bench"], "e2e");
    assert_eq!(send["messages"], 2000, "{log}");
    assert_eq!(send["errors"], 0, "{log}");
    // Every message whose send succeeded, warm-up included, arrived exactly once.
    let sent = send["messages"].as_u64().unwrap() + send["warmup_operations"].as_u64().unwrap();
    assert_eq!(e2e["sent"].as_u64(), Some(sent), "{log}");
    assert_eq!(e2e["lost"], 0, "{log}");
    assert_eq!(e2e["arrivals"]["distinct"].as_u64(), Some(sent), "{log}");
    assert_eq!(e2e["arrivals"]["duplicates"], 0, "{log}");
    // The send-to-consume latency of each measured message.
    assert_eq!(e2e["messages"], 2000, "{log}");
    assert_eq!(e2e["latency_us"]["count"], 2000);
    assert!(e2e["latency_from"].as_str().is_some_and(|s| s.contains("stamped")));
    assert!(e2e["intervals"].as_array().is_some_and(|lines| !lines.is_empty()));
}
