//! A commit-log segment: one mapped file of fixed size, named by the 20-digit decimal
//! commit-log offset of its first byte (`00000000001073741824`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::mmap::MappedFile;

/// One segment of the commit log.
#[derive(Debug, Clone)]
pub struct Segment {
    /// Commit-log offset of the segment's first byte.
    pub start: i64,
    /// The mapped file.
    pub file: Arc<MappedFile>,
}

impl Segment {
    /// Commit-log offset just past the segment's last byte.
    pub fn end(&self) -> i64 {
        self.start + self.file.len() as i64
    }

    /// Whether the commit-log `offset` falls inside this segment.
    pub fn contains(&self, offset: i64) -> bool {
        offset >= self.start && offset < self.end()
    }
}

/// The file name of the segment starting at `offset`.
pub fn file_name(offset: i64) -> String {
    format!("{offset:020}")
}

/// The path of the segment starting at `offset` in `dir`.
pub fn path(dir: &Path, offset: i64) -> PathBuf {
    dir.join(file_name(offset))
}

/// The start offset encoded in a segment file name, if it is one.
pub fn parse_name(name: &str) -> Option<i64> {
    if name.len() != 20 || !name.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    name.parse().ok()
}

/// The segment files in `dir`, sorted by start offset.
pub fn list(dir: &Path) -> std::io::Result<Vec<(i64, PathBuf)>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if let Some(start) = entry.file_name().to_str().and_then(parse_name) {
            found.push((start, entry.path()));
        }
    }
    found.sort_by_key(|(start, _)| *start);
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_twenty_digit_offsets() {
        assert_eq!(file_name(0), "00000000000000000000");
        assert_eq!(file_name(1 << 30), "00000000001073741824");
        assert_eq!(parse_name("00000000001073741824"), Some(1 << 30));
        assert_eq!(parse_name("0000000000107374182x"), None);
        assert_eq!(parse_name("checkpoint"), None);
    }
}
