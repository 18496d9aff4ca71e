//! Finding where the commit log really ends after a start: walk records from a point known
//! to be good, verifying each (length, magic and, optionally, body CRC), and stop at the first
//! one that is not whole. What follows is cut: it was never acknowledged, or it is torn.

use ferromq_protocol::message::{check_record, RecordCheck};

/// How far a segment holds whole records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanOutcome {
    /// Bytes from the segment start that hold whole records (and the BLANK, when full).
    pub end: usize,
    /// Whether the segment ends with a BLANK record, so the log goes on in the next one.
    pub full: bool,
    /// Records found.
    pub records: u64,
}

/// Scans `bytes` (one whole segment) from its start.
pub fn scan_segment(bytes: &[u8], check_crc: bool) -> ScanOutcome {
    let mut pos = 0usize;
    let mut records = 0u64;
    while let Some(rest) = bytes.get(pos..) {
        match check_record(rest, check_crc) {
            Ok(RecordCheck::Message { size }) => {
                pos += size;
                records += 1;
            }
            Ok(RecordCheck::Blank { .. }) => {
                return ScanOutcome { end: bytes.len(), full: true, records };
            }
            Err(_) => break,
        }
    }
    ScanOutcome { end: pos.min(bytes.len()), full: false, records }
}

/// How many bytes after `end` hold leftovers (torn or cut records) that must be zeroed so a
/// later recovery cannot mistake them for data: up to the first all-zero page.
pub fn dirty_tail_len(bytes: &[u8], end: usize, page: usize) -> usize {
    let mut pos = end;
    loop {
        let page_end = (pos / page + 1) * page;
        let Some(chunk) = bytes.get(pos..page_end.min(bytes.len())) else {
            return pos - end;
        };
        if chunk.is_empty() {
            return pos - end;
        }
        if chunk.iter().all(|b| *b == 0) && pos.is_multiple_of(page) {
            return pos - end;
        }
        pos += chunk.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BytesMut;
    use ferromq_protocol::message::{StoredMessage, BLANK_MAGIC_CODE};

    fn record(body: &[u8]) -> Vec<u8> {
        let msg = StoredMessage {
            topic: "T".into(),
            body: body.to_vec().into(),
            born_host: "127.0.0.1:1".parse().unwrap(),
            store_host: "127.0.0.1:2".parse().unwrap(),
            ..StoredMessage::default()
        };
        let mut out = BytesMut::new();
        msg.encode(&mut out).unwrap();
        out.to_vec()
    }

    #[test]
    fn stops_at_the_first_damaged_record() {
        let a = record(b"first");
        let b = record(b"second");
        let mut seg = vec![0u8; 4096];
        seg[..a.len()].copy_from_slice(&a);
        seg[a.len()..a.len() + b.len()].copy_from_slice(&b);
        let whole = scan_segment(&seg, true);
        assert_eq!(whole, ScanOutcome { end: a.len() + b.len(), full: false, records: 2 });
        // Flip a body byte of the second: with CRC checks it is cut.
        let mut torn = seg.clone();
        torn[a.len() + 88] ^= 0xFF; // the first body byte of the second record
        assert_eq!(scan_segment(&torn, true).end, a.len());
        // Cut mid-record: only the first survives.
        let mut cut = seg.clone();
        for byte in &mut cut[a.len() + 10..] {
            *byte = 0;
        }
        assert_eq!(scan_segment(&cut, false).end, a.len());
        assert_eq!(dirty_tail_len(&cut, a.len(), 4096), 4096 - a.len());
        assert_eq!(dirty_tail_len(&seg, a.len() + b.len(), 4096), 4096 - a.len() - b.len());
    }

    #[test]
    fn a_blank_record_means_the_segment_is_full() {
        let a = record(b"x");
        let mut seg = vec![0u8; 1024];
        seg[..a.len()].copy_from_slice(&a);
        let blank_len = (1024 - a.len()) as i32;
        seg[a.len()..a.len() + 4].copy_from_slice(&blank_len.to_be_bytes());
        seg[a.len() + 4..a.len() + 8].copy_from_slice(&BLANK_MAGIC_CODE.to_be_bytes());
        assert_eq!(scan_segment(&seg, true), ScanOutcome { end: 1024, full: true, records: 1 });
    }
}
