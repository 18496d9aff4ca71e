//! The stamp the e2e bench writes at the front of each body, so that the consuming side can
//! tell which run and which send a message came from and when that send started, to the
//! nanosecond: `FMQB`, the run id (u32), the operation number (u64), the send's start as
//! nanoseconds since the Unix epoch (u64) and a flag byte, big-endian. Wall-clock time, so a
//! consumer in another process on the same machine can read it too.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::{BufMut, Bytes, BytesMut};

const MAGIC: &[u8; 4] = b"FMQB";
/// Bytes the stamp takes; bodies must be at least this long to carry one.
pub const LEN: usize = 4 + 4 + 8 + 8 + 1;
const MEASURED: u8 = 1;

/// What a stamped body says about its send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// Which bench run sent it.
    pub run: u32,
    /// The send's operation number in that run.
    pub seq: u64,
    /// When the send started (wall clock).
    pub sent_at: SystemTime,
    /// Whether the send counted in the run (false during the warm-up).
    pub measured: bool,
}

impl Stamp {
    /// A body of `filler`'s length (at least [`LEN`]) that starts with this stamp.
    pub fn body(&self, filler: &[u8]) -> Bytes {
        let mut body = BytesMut::with_capacity(filler.len().max(LEN));
        body.put_slice(MAGIC);
        body.put_u32(self.run);
        body.put_u64(self.seq);
        let nanos = self.sent_at.duration_since(UNIX_EPOCH).unwrap_or_default().as_nanos();
        body.put_u64(u64::try_from(nanos).unwrap_or(u64::MAX));
        body.put_u8(if self.measured { MEASURED } else { 0 });
        if let Some(rest) = filler.get(LEN..) {
            body.put_slice(rest);
        }
        body.freeze()
    }

    /// The stamp at the front of `body`, if it has one.
    pub fn read(body: &[u8]) -> Option<Stamp> {
        let head = body.get(..LEN)?;
        if &head[..4] != MAGIC {
            return None;
        }
        let u32_at = |at: usize| head.get(at..at + 4)?.try_into().ok().map(u32::from_be_bytes);
        let u64_at = |at: usize| head.get(at..at + 8)?.try_into().ok().map(u64::from_be_bytes);
        Some(Stamp {
            run: u32_at(4)?,
            seq: u64_at(8)?,
            sent_at: UNIX_EPOCH + Duration::from_nanos(u64_at(16)?),
            measured: head[24] & MEASURED != 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stamp_reads_back_from_the_body_it_starts() {
        let stamp = Stamp {
            run: 0xDEAD_BEEF,
            seq: 1 << 40,
            sent_at: UNIX_EPOCH + Duration::new(1_800_000_000, 123_456_789),
            measured: true,
        };
        let filler = vec![b'x'; 100];
        let body = stamp.body(&filler);
        assert_eq!(body.len(), 100);
        assert_eq!(&body[LEN..], &filler[LEN..]);
        assert_eq!(Stamp::read(&body), Some(stamp));
        let warmup = Stamp { measured: false, ..stamp };
        assert_eq!(Stamp::read(&warmup.body(&filler)), Some(warmup));
    }

    #[test]
    fn short_bodies_grow_to_hold_the_stamp_and_others_have_none() {
        let stamp = Stamp { run: 1, seq: 2, sent_at: UNIX_EPOCH, measured: false };
        assert_eq!(stamp.body(b"ab").len(), LEN);
        assert_eq!(Stamp::read(&stamp.body(b"ab")), Some(stamp));
        assert_eq!(Stamp::read(b"hello, world, not a stamped body"), None);
        assert_eq!(Stamp::read(&stamp.body(b"")[..LEN - 1]), None);
    }
}
