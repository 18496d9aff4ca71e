//! The unique message id (§6.5): the `UNIQ_KEY` property, the client-side "msgId".
//!
//! ```text
//! client ip (4 | 16) | pid, low 16 bits (2) | salt (4) | ms since month start (4) | counter (2)
//!   -> 16 or 28 bytes -> 32 or 56 upper-case hex characters
//! ```
//! Java's salt is the class loader's hash code; any per-process value does the job, so
//! [`UniqIdGenerator::for_process`] takes a random one. Java measures the month in the
//! JVM's local time zone; a pure codec cannot read the zone database, so we use UTC plus
//! an optional fixed offset ([`UniqIdGenerator::with_utc_offset`]). The part is only used
//! to make ids unique and to guess a send time, so the zone does not affect correctness.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Buf;

use crate::error::{ProtocolError, Result};

use super::hex;

/// Length of a unique id made on an IPv4 host.
pub const UNIQ_ID_LEN_IPV4: usize = (4 + 2 + 4 + 4 + 2) * 2;
/// Length of a unique id made on an IPv6 host.
pub const UNIQ_ID_LEN_IPV6: usize = (16 + 2 + 4 + 4 + 2) * 2;
const DAY_MS: i64 = 86_400_000;

/// Makes `UNIQ_KEY` values. Shareable between threads: the counter is atomic.
#[derive(Debug)]
pub struct UniqIdGenerator {
    /// Hex of ip | pid | salt, fixed for the generator's life.
    prefix: String,
    utc_offset_ms: i64,
    counter: AtomicU16,
}

impl UniqIdGenerator {
    /// A generator for a client at `ip` with this process id (only its low 16 bits are used)
    /// and salt.
    pub fn new(ip: IpAddr, pid: u32, salt: i32) -> Self {
        let mut prefix = String::with_capacity(UNIQ_ID_LEN_IPV6);
        match ip {
            IpAddr::V4(ip) => hex::push_upper(&ip.octets(), &mut prefix),
            IpAddr::V6(ip) => hex::push_upper(&ip.octets(), &mut prefix),
        }
        let pid_low = u16::try_from(pid & 0xFFFF).unwrap_or_default();
        hex::push_upper(&pid_low.to_be_bytes(), &mut prefix);
        hex::push_upper(&salt.to_be_bytes(), &mut prefix);
        Self { prefix, utc_offset_ms: 0, counter: AtomicU16::new(0) }
    }

    /// A generator for this process at `ip`, with a random salt.
    pub fn for_process(ip: IpAddr) -> Self {
        let pid = std::process::id();
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u32(pid);
        hasher.write_i64(now_ms());
        // Any 32 bits of the random hash will do.
        let salt = hasher.finish() as i32;
        Self::new(ip, pid, salt)
    }

    /// Measures months in a zone `offset_secs` east of UTC instead of in UTC.
    pub fn with_utc_offset(mut self, offset_secs: i32) -> Self {
        self.utc_offset_ms = i64::from(offset_secs) * 1000;
        self
    }

    /// A new id, stamped with the current time.
    pub fn next_id(&self) -> String {
        self.next_id_at(now_ms())
    }

    /// A new id, stamped with `now_ms` (ms since the Unix epoch).
    pub fn next_id_at(&self, now_ms: i64) -> String {
        let mut id = String::with_capacity(self.prefix.len() + 12);
        id.push_str(&self.prefix);
        let since_month = month_millis(now_ms, self.utc_offset_ms);
        hex::push_upper(&since_month.to_be_bytes(), &mut id);
        let counter = self.counter.fetch_add(1, Ordering::Relaxed);
        hex::push_upper(&counter.to_be_bytes(), &mut id);
        id
    }
}

/// The parts of a unique id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UniqIdParts {
    /// Client address.
    pub ip: IpAddr,
    /// Low 16 bits of the client's process id.
    pub pid: u16,
    /// Per-process salt (Java: class loader hash code).
    pub salt: i32,
    /// Milliseconds since the start of the month the id was made in.
    pub month_millis: u32,
    /// Per-process counter.
    pub counter: u16,
}

impl UniqIdParts {
    /// Parses an id: 32 characters for an IPv4 client, 56 for IPv6; anything else fails.
    pub fn parse(id: &str) -> Result<Self> {
        let ip_len = match id.len() {
            UNIQ_ID_LEN_IPV4 => 4,
            UNIQ_ID_LEN_IPV6 => 16,
            len => {
                return Err(ProtocolError::MalformedMessage(format!(
                    "unique message id of {len} characters (expected 32 or 56)"
                )))
            }
        };
        let mut bytes = [0u8; UNIQ_ID_LEN_IPV6 / 2];
        let raw = bytes
            .get_mut(..id.len() / 2)
            .ok_or_else(|| ProtocolError::MalformedMessage("unique id too long".into()))?;
        hex::decode_into(id, raw)?;
        let mut cursor = &*raw;
        let ip = if ip_len == 4 {
            IpAddr::V4(Ipv4Addr::from(cursor.get_u32()))
        } else {
            IpAddr::V6(Ipv6Addr::from(cursor.get_u128()))
        };
        Ok(Self {
            ip,
            pid: cursor.get_u16(),
            salt: cursor.get_i32(),
            month_millis: cursor.get_u32(),
            counter: cursor.get_u16(),
        })
    }

    /// A guess of when the id was made (`getNearlyTimeFromID`): the latest instant before
    /// `now_ms` that lies `month_millis` after the start of a month, in the given zone.
    pub fn approximate_time(&self, now_ms: i64, utc_offset_secs: i32) -> i64 {
        let offset = i64::from(utc_offset_secs) * 1000;
        let local_now = clamp_time(now_ms.saturating_add(offset));
        let mut start = month_start_local(local_now);
        let span = i64::from(self.month_millis);
        if start + span >= local_now {
            start = month_start_local(start - 1);
        }
        start + span - offset
    }
}

/// Milliseconds since the Unix epoch, by the system clock (0 if it is before 1970).
fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Milliseconds between the start of the month and `now_ms`, in a zone `offset_ms` east
/// of UTC.
pub fn month_millis(now_ms: i64, offset_ms: i64) -> u32 {
    let local = clamp_time(now_ms.saturating_add(offset_ms));
    // At most 31 days, which fits in 32 bits.
    u32::try_from(local - month_start_local(local)).unwrap_or(u32::MAX)
}

/// Keeps a time within ±3 million years, where none of the calendar arithmetic overflows.
fn clamp_time(ms: i64) -> i64 {
    const LIMIT: i64 = 100_000_000_000_000_000;
    ms.clamp(-LIMIT, LIMIT)
}

/// The first millisecond of the month holding the local time `local_ms` (clamped).
fn month_start_local(local_ms: i64) -> i64 {
    let days = clamp_time(local_ms).div_euclid(DAY_MS);
    (days - (day_of_month(days) - 1)) * DAY_MS
}

/// Day of the month (1–31) of a day counted from 1970-01-01, proleptic Gregorian
/// (H. Hinnant's `civil_from_days`).
fn day_of_month(days: i64) -> i64 {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    doy - (153 * mp + 2) / 5 + 1
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    // 2024-03-15T12:34:56.789Z
    const MID_MARCH_2024: i64 = 1_710_506_096_789;
    // 2024-03-01T00:00:00Z
    const MARCH_2024: i64 = 1_709_251_200_000;

    #[test]
    fn month_arithmetic() {
        assert_eq!(month_millis(MID_MARCH_2024, 0), (MID_MARCH_2024 - MARCH_2024) as u32);
        assert_eq!(month_millis(MARCH_2024, 0), 0);
        assert_eq!(month_millis(MARCH_2024 - 1, 0), 29 * DAY_MS as u32 - 1, "leap February");
        assert_eq!(month_millis(0, 0), 0);
        // One hour east of UTC, 23:30 on Feb 29 UTC is already March 1.
        assert_eq!(month_millis(MARCH_2024 - 1_800_000, 3_600_000), 1_800_000);
        assert_eq!(day_of_month(-1), 31, "1969-12-31");
    }

    #[test]
    fn layout_of_an_ipv4_id() {
        let ip = IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3));
        let gen = UniqIdGenerator::new(ip, 0x0001_2345, -2);
        let id = gen.next_id_at(MARCH_2024 + 0x10);
        assert_eq!(id, "0A0102032345FFFFFFFE000000100000");
        assert_eq!(gen.next_id_at(MARCH_2024 + 0x10), "0A0102032345FFFFFFFE000000100001");
        let parts = UniqIdParts::parse(&id).unwrap();
        assert_eq!(
            parts,
            UniqIdParts { ip, pid: 0x2345, salt: -2, month_millis: 0x10, counter: 0 }
        );
    }

    #[test]
    fn counter_wraps() {
        let gen = UniqIdGenerator::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 1, 1);
        gen.counter.store(u16::MAX, Ordering::Relaxed);
        assert!(gen.next_id_at(0).ends_with("FFFF"));
        assert!(gen.next_id_at(0).ends_with("0000"));
    }

    #[test]
    fn ipv6_ids_are_56_chars_and_fresh_ids_differ() {
        let gen = UniqIdGenerator::for_process(IpAddr::V6(Ipv6Addr::LOCALHOST));
        let a = gen.next_id();
        let b = gen.next_id();
        assert_eq!(a.len(), UNIQ_ID_LEN_IPV6);
        assert_ne!(a, b);
        assert_eq!(UniqIdParts::parse(&a).unwrap().ip, IpAddr::V6(Ipv6Addr::LOCALHOST));
    }

    #[test]
    fn approximate_time_picks_this_or_last_month() {
        let gen = UniqIdGenerator::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 1, 1);
        let parts = UniqIdParts::parse(&gen.next_id_at(MID_MARCH_2024)).unwrap();
        assert_eq!(parts.approximate_time(MID_MARCH_2024 + 5_000, 0), MID_MARCH_2024);
        // Read back early in April: still mid-March.
        assert_eq!(parts.approximate_time(MID_MARCH_2024 + 20 * DAY_MS, 0), MID_MARCH_2024);
        let gen = gen.with_utc_offset(8 * 3600);
        let parts = UniqIdParts::parse(&gen.next_id_at(MID_MARCH_2024)).unwrap();
        assert_eq!(parts.approximate_time(MID_MARCH_2024 + 1, 8 * 3600), MID_MARCH_2024);
    }

    #[test]
    fn parse_rejects_bad_ids() {
        assert!(UniqIdParts::parse("").is_err());
        assert!(UniqIdParts::parse(&"0".repeat(31)).is_err());
        assert!(UniqIdParts::parse(&"X".repeat(32)).is_err());
    }

    proptest! {
        #[test]
        fn ids_parse_back(ip in any::<u32>(), pid in any::<u32>(), salt in any::<i32>(),
                          now in 0i64..4_102_444_800_000) {
            let ip = IpAddr::V4(Ipv4Addr::from(ip));
            let gen = UniqIdGenerator::new(ip, pid, salt);
            let id = gen.next_id_at(now);
            prop_assert_eq!(id.len(), UNIQ_ID_LEN_IPV4);
            let parts = UniqIdParts::parse(&id).unwrap();
            prop_assert_eq!(parts.ip, ip);
            prop_assert_eq!(u32::from(parts.pid), pid & 0xFFFF);
            prop_assert_eq!(parts.salt, salt);
            prop_assert!(i64::from(parts.month_millis) < 31 * DAY_MS);
            prop_assert_eq!(parts.approximate_time(now + 1, 0), now);
        }
    }
}
