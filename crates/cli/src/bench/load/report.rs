//! The final summary of a run: totals, throughput, HDR percentiles of the latency (and of
//! the pacer's own lag), errors by kind and CPU per message — printed as text and written as
//! JSON.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use serde::Serialize;

use super::cpu::{CpuReport, CpuTime};
use super::reporter::{Collected, IntervalLine};
use super::schedule::{Limit, Schedule};
use super::summary::{group_digits, rate, Percentiles};
use super::{LoadArgs, Plan};

/// The machine-readable report (`--json`).
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub bench: String,
    /// The bench's own settings (address, topic, …).
    pub settings: serde_json::Value,
    /// `open loop` or `closed loop`.
    pub mode: String,
    /// Messages per second asked for (open loop).
    pub rate: Option<u64>,
    pub concurrency: usize,
    pub messages_per_operation: u64,
    pub message_size: usize,
    pub warmup_s: f64,
    /// From the end of the warm-up to the last measured completion.
    pub elapsed_s: f64,
    /// Measured operations, failed ones included.
    pub operations: u64,
    /// Messages of the measured operations that succeeded.
    pub messages: u64,
    pub errors: u64,
    pub errors_by_kind: BTreeMap<String, u64>,
    pub warmup_operations: u64,
    pub throughput_msgs_per_s: f64,
    /// Body bytes per second, in MB (10^6 bytes).
    pub throughput_mb_per_s: f64,
    /// Per operation: from its due time (open loop) or start (closed loop) to completion.
    pub latency_us: Percentiles,
    /// Open loop: how late operations started after their due time (the bench's own delay).
    pub schedule_lag_us: Option<Percentiles>,
    pub bench_cpu: Option<CpuReport>,
    pub server_cpu: Option<CpuReport>,
    /// Interrupted (Ctrl-C) before the planned end.
    pub stopped_early: bool,
    pub intervals: Vec<IntervalLine>,
}

/// Everything a report is made from.
#[derive(Debug)]
pub struct Measured<'a> {
    pub plan: &'a Plan,
    pub args: &'a LoadArgs,
    pub schedule: &'a Schedule,
    pub start: Instant,
    pub collected: Collected,
    pub stopped_early: bool,
    /// When the CPU snapshots were taken.
    pub cpu_window: Range<Instant>,
    pub bench_cpu: Option<CpuTime>,
    pub server_cpu: Option<CpuTime>,
}

/// The line a run starts with: what it will do.
pub fn headline(plan: &Plan, args: &LoadArgs, schedule: &Schedule) -> String {
    let mode = match schedule.rate {
        Some(rate) => format!("open loop at {} msgs/s", group_digits(rate)),
        None => "closed loop (as fast as possible)".to_string(),
    };
    let batch = if plan.messages_per_op > 1 {
        format!(" in batches of {}", plan.messages_per_op)
    } else {
        String::new()
    };
    let limit = match schedule.limit {
        Limit::Count(ops) => format!("{} messages", group_digits(ops * schedule.messages_per_op)),
        Limit::Duration(d) => format!("{:.1} s", d.as_secs_f64()),
    };
    let warmup = if schedule.warmup.is_zero() {
        String::new()
    } else {
        format!(" after {:.1} s of warm-up", schedule.warmup.as_secs_f64())
    };
    format!(
        "{} bench: {mode}, {} in flight, {} B messages{batch}, {limit}{warmup}",
        plan.bench, args.concurrency, plan.message_size
    )
}

impl Report {
    /// Builds the report.
    pub fn new(m: Measured<'_>) -> Report {
        let totals = &m.collected.totals;
        let warmup_end = m.start + m.schedule.warmup;
        let elapsed = totals
            .last_completion
            .map(|last| last.saturating_duration_since(warmup_end))
            .unwrap_or_default();
        let secs = elapsed.as_secs_f64();
        let per_second = |n: f64| if secs > 0.0 { n / secs } else { 0.0 };
        let messages = totals.messages;
        let wall = m.cpu_window.end.saturating_duration_since(m.cpu_window.start);
        let cpu = |pid: Option<u32>, spent: Option<CpuTime>| {
            Some(CpuReport::new(pid?, spent?, messages, wall))
        };
        Report {
            bench: m.plan.bench.to_string(),
            settings: m.plan.settings.clone(),
            mode: if m.schedule.rate.is_some() { "open loop" } else { "closed loop" }.into(),
            rate: m.schedule.rate,
            concurrency: m.args.concurrency,
            messages_per_operation: m.schedule.messages_per_op,
            message_size: m.plan.message_size,
            warmup_s: m.schedule.warmup.as_secs_f64(),
            elapsed_s: secs,
            operations: totals.operations,
            messages,
            errors: totals.error_count(),
            errors_by_kind: totals.errors.clone(),
            warmup_operations: totals.warmup_operations,
            throughput_msgs_per_s: per_second(messages as f64),
            throughput_mb_per_s: per_second(messages as f64 * m.plan.message_size as f64) / 1e6,
            latency_us: Percentiles::of(&totals.latency),
            schedule_lag_us: m.schedule.rate.map(|_| Percentiles::of(&totals.lag)),
            bench_cpu: cpu(Some(std::process::id()), m.bench_cpu),
            server_cpu: cpu(m.args.server_pid, m.server_cpu),
            stopped_early: m.stopped_early,
            intervals: m.collected.lines,
        }
    }

    /// The summary as text lines.
    pub fn lines(&self) -> Vec<String> {
        let mut lines = vec![format!(
            "{}: {} messages ({} operations) in {:.2} s = {} msgs/s, {:.2} MB/s; {} errors{}",
            self.bench,
            group_digits(self.messages),
            group_digits(self.operations),
            self.elapsed_s,
            rate(self.throughput_msgs_per_s),
            self.throughput_mb_per_s,
            group_digits(self.errors),
            if self.stopped_early { " (stopped early)" } else { "" }
        )];
        let from = if self.schedule_lag_us.is_some() { "due time" } else { "start" };
        lines.push(format!("latency (from {from}): {}", self.latency_us.line()));
        if let Some(lag) = &self.schedule_lag_us {
            lines.push(format!("  start lag behind schedule (the bench's own): {}", lag.line()));
        }
        if let Some(cpu) = &self.bench_cpu {
            lines.push(format!("bench CPU (pid {}): {}", cpu.pid, cpu.text()));
        }
        if let Some(cpu) = &self.server_cpu {
            lines.push(format!("server CPU (pid {}): {}", cpu.pid, cpu.text()));
        }
        if !self.errors_by_kind.is_empty() {
            let kinds: Vec<String> =
                self.errors_by_kind.iter().map(|(kind, n)| format!("{kind}: {n}")).collect();
            lines.push(format!("errors by kind: {}", kinds.join(", ")));
        }
        lines
    }

    /// Prints the summary.
    pub fn print(&self) {
        for line in self.lines() {
            println!("{line}");
        }
    }

    /// Writes the report as pretty JSON to `path`.
    pub fn write_json(&self, path: &Path) -> anyhow::Result<()> {
        let json = serde_json::to_vec_pretty(self).context("cannot encode the report")?;
        std::fs::write(path, json).with_context(|| format!("cannot write {}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use clap::Parser;

    use super::super::recorder::Totals;
    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        load: LoadArgs,
    }

    fn sample() -> Report {
        let args = Cli::try_parse_from(["b", "--rate", "1000", "--count", "3000", "--warmup", "1"])
            .unwrap()
            .load;
        let schedule = args.schedule(1).unwrap();
        let plan = Plan {
            bench: "produce",
            messages_per_op: 1,
            message_size: 1024,
            settings: serde_json::json!({ "topic": "T" }),
            label: None,
        };
        let start = Instant::now();
        let mut totals = Totals::new();
        for us in [100, 100, 300] {
            totals.latency.record(us).unwrap();
            totals.lag.record(us / 10).unwrap();
        }
        totals.operations = 3_000;
        totals.messages = 2_999;
        totals.errors.insert("timeout".into(), 1);
        totals.warmup_operations = 1_000;
        totals.last_completion = Some(start + Duration::from_secs(4));
        let collected = Collected { lines: Vec::new(), totals };
        let measured = Measured {
            plan: &plan,
            args: &args,
            schedule: &schedule,
            start,
            collected,
            stopped_early: false,
            cpu_window: start..start + Duration::from_secs(3),
            bench_cpu: Some(CpuTime {
                user: Duration::from_millis(300),
                system: Duration::from_millis(150),
            }),
            server_cpu: None,
        };
        assert!(headline(&plan, &args, &schedule).contains("open loop at 1,000 msgs/s"));
        Report::new(measured)
    }

    #[test]
    fn the_report_counts_and_divides_over_the_measured_time() {
        let report = sample();
        assert_eq!(report.elapsed_s, 3.0);
        assert!((report.throughput_msgs_per_s - 2_999.0 / 3.0).abs() < 1e-6);
        assert!((report.throughput_mb_per_s - 2_999.0 * 1024.0 / 3.0 / 1e6).abs() < 1e-9);
        assert_eq!(report.errors, 1);
        let cpu = report.bench_cpu.as_ref().unwrap();
        assert!((cpu.us_per_message - 450_000.0 / 2_999.0).abs() < 1e-6);
        let text = report.lines().join("\n");
        assert!(
            text.contains("2,999 messages (3,000 operations) in 3.00 s = 1,000 msgs/s"),
            "{text}"
        );
        assert!(text.contains("latency (from due time): p50 0.100 ms"), "{text}");
        assert!(text.contains("errors by kind: timeout: 1"), "{text}");
    }

    #[test]
    fn the_json_report_has_the_documented_fields() {
        let report = sample();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        report.write_json(&path).unwrap();
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(json["bench"], "produce");
        assert_eq!(json["mode"], "open loop");
        assert_eq!(json["rate"], 1000);
        assert_eq!(json["messages"], 2_999);
        assert_eq!(json["operations"], 3_000);
        assert_eq!(json["errors"], 1);
        assert_eq!(json["errors_by_kind"]["timeout"], 1);
        assert_eq!(json["warmup_operations"], 1_000);
        assert_eq!(json["latency_us"]["p50"], 100);
        assert_eq!(json["latency_us"]["max"], 300);
        assert_eq!(json["schedule_lag_us"]["max"], 30);
        assert_eq!(json["settings"]["topic"], "T");
        assert!(json["server_cpu"].is_null());
        assert!(json["intervals"].as_array().unwrap().is_empty());
    }
}
