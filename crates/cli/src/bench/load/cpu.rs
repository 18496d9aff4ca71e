//! CPU time used by a process: this one through `getrusage` (microsecond resolution), any
//! other through `/proc/<pid>/stat` (clock ticks), so a run can say how much CPU the bench
//! and the server spent per message.
//!
//! This module holds the harness's only `unsafe` code: two libc calls, each with its safety
//! note.
#![allow(unsafe_code)]

use std::time::{Duration, Instant};

use serde::Serialize;

/// User and system CPU time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpuTime {
    pub user: Duration,
    pub system: Duration,
}

impl CpuTime {
    /// User plus system time.
    pub fn total(&self) -> Duration {
        self.user + self.system
    }

    /// The time spent since `earlier`.
    pub fn since(&self, earlier: &CpuTime) -> CpuTime {
        CpuTime {
            user: self.user.saturating_sub(earlier.user),
            system: self.system.saturating_sub(earlier.system),
        }
    }
}

/// CPU time of the bench and of the server at one moment.
#[derive(Debug, Clone, Copy)]
pub struct Snapshot {
    pub at: Instant,
    pub bench: Option<CpuTime>,
    pub server: Option<CpuTime>,
}

impl Snapshot {
    /// Now, with the server's time when `server_pid` is given.
    pub fn now(server_pid: Option<u32>) -> Snapshot {
        Snapshot {
            at: Instant::now(),
            bench: this_process(),
            server: server_pid.and_then(of_process),
        }
    }

    /// A task taking a snapshot at `when` (at once if that has passed). Needs a runtime.
    pub fn at(when: Instant, server_pid: Option<u32>) -> tokio::task::JoinHandle<Snapshot> {
        tokio::spawn(async move {
            tokio::time::sleep_until(when.into()).await;
            Snapshot::now(server_pid)
        })
    }
}

/// CPU time of this process (every thread, living or ended).
pub fn this_process() -> Option<CpuTime> {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: `usage` is a valid, writable `rusage`; getrusage only writes into it and
    // RUSAGE_SELF is a valid `who`.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) };
    if rc != 0 {
        return None;
    }
    // SAFETY: zero-initialised and, on success, filled in by the kernel.
    let usage = unsafe { usage.assume_init() };
    let time = |t: libc::timeval| {
        let secs = u64::try_from(t.tv_sec).unwrap_or(0);
        let micros = u64::try_from(t.tv_usec).unwrap_or(0);
        Duration::from_secs(secs) + Duration::from_micros(micros)
    };
    Some(CpuTime { user: time(usage.ru_utime), system: time(usage.ru_stime) })
}

/// CPU time of process `pid`, from `/proc/<pid>/stat`.
pub fn of_process(pid: u32) -> Option<CpuTime> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&stat, clock_ticks_per_second())
}

fn clock_ticks_per_second() -> u64 {
    // SAFETY: sysconf takes a constant name and has no memory effects.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(ticks).ok().filter(|t| *t > 0).unwrap_or(100)
}

/// utime and stime (fields 14 and 15) of a `/proc/<pid>/stat` line. The command name (field
/// 2) is in parentheses and may itself hold spaces and parentheses, so fields are counted
/// from the last `)`.
fn parse_stat(stat: &str, ticks_per_second: u64) -> Option<CpuTime> {
    let after_name = stat.get(stat.rfind(')')? + 1..)?;
    let mut fields = after_name.split_whitespace();
    // Field 3 (state) is the first after the name; utime is field 14, stime 15.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    let ticks = |t: u64| Duration::from_nanos(t.saturating_mul(1_000_000_000 / ticks_per_second));
    Some(CpuTime { user: ticks(utime), system: ticks(stime) })
}

/// CPU spent by one process over the measured part of a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CpuReport {
    pub pid: u32,
    pub user_s: f64,
    pub system_s: f64,
    /// (user + system) / messages, in microseconds.
    pub us_per_message: f64,
    /// (user + system) / wall-clock time: 1.0 is one core busy all the time.
    pub cores: f64,
}

impl CpuReport {
    /// The report for `spent` over `messages` and `wall` time.
    pub fn new(pid: u32, spent: CpuTime, messages: u64, wall: Duration) -> CpuReport {
        let total = spent.total().as_secs_f64();
        CpuReport {
            pid,
            user_s: spent.user.as_secs_f64(),
            system_s: spent.system.as_secs_f64(),
            us_per_message: if messages == 0 { 0.0 } else { total * 1e6 / messages as f64 },
            cores: if wall.is_zero() { 0.0 } else { total / wall.as_secs_f64() },
        }
    }

    /// `12.3 s user + 4.5 s system = 28.5 µs per message (0.85 cores)`.
    pub fn text(&self) -> String {
        format!(
            "{:.2} s user + {:.2} s system = {:.1} µs per message ({:.2} cores)",
            self.user_s, self.system_s, self.us_per_message, self.cores
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_from_the_end_of_the_name() {
        let line = "4242 (tokio (rt) x) S 1 4242 4242 0 -1 4194560 1234 0 5 0 250 75 0 0 20 0 9 0";
        let cpu = parse_stat(line, 100).unwrap();
        assert_eq!(cpu.user, Duration::from_millis(2_500));
        assert_eq!(cpu.system, Duration::from_millis(750));
        assert_eq!(parse_stat("12 (x) S 1 2", 100), None);
    }

    #[test]
    fn this_process_has_used_some_cpu_and_so_has_its_proc_entry() {
        let mine = this_process().unwrap();
        let via_proc = of_process(std::process::id()).unwrap();
        // Both clocks count the same process; /proc rounds to ticks.
        assert!(mine.total() + Duration::from_millis(50) >= via_proc.total());
    }

    #[test]
    fn reports_divide_by_messages_and_time() {
        let spent = CpuTime { user: Duration::from_secs(3), system: Duration::from_secs(1) };
        let report = CpuReport::new(7, spent, 1_000_000, Duration::from_secs(8));
        assert_eq!(report.us_per_message, 4.0);
        assert_eq!(report.cores, 0.5);
        assert!(report.text().contains("4.0 µs per message (0.50 cores)"));
        assert_eq!(CpuReport::new(7, spent, 0, Duration::ZERO).us_per_message, 0.0);
        let later = CpuTime { user: Duration::from_secs(5), system: Duration::from_secs(1) };
        assert_eq!(later.since(&spent).total(), Duration::from_secs(2));
    }
}
