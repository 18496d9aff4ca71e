//! Segment files of one consume queue: their geometry, names and listing.
//!
//! A queue's entries are split into files of `entries_per_file` entries each. A file is
//! named by the byte offset, within the queue, of its first entry, as 20 zero-padded decimal
//! digits: with the default 300,000 entries (6,000,000 bytes) per file the names run
//! `00000000000000000000`, `00000000000006000000`, ... Logical offset `n` lives in the file
//! starting at `n - n % entries_per_file`, at byte `(n % entries_per_file) * 20`.
//!
//! ```text
//! file 00000000000006000000 (300,000 entries per file)
//!  0          20         40              5,999,980    6,000,000
//!  +----------+----------+-----   ------+------------+
//!  | entry    | entry    |  ...         | entry      |
//!  | 300,000  | 300,001  |              | 599,999    |
//!  +----------+----------+-----   ------+------------+
//! ```
//!
//! Files are created at full length (sparse), so unwritten slots read as zeros.

use std::path::{Path, PathBuf};

use super::entry::ENTRY_SIZE;
use crate::error::{Result, StoreError};

/// Digits in a segment file name.
const NAME_DIGITS: usize = 20;

/// The geometry of a queue's files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Layout {
    per_file: i64,
}

/// A segment file found on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Listed {
    /// Logical offset of the file's first entry.
    pub start: i64,
    /// The file's length in bytes.
    pub len: u64,
}

impl Layout {
    /// Files of `entries_per_file` entries; refused if zero or too large to address.
    pub fn new(entries_per_file: usize) -> Result<Layout> {
        let per_file = i64::try_from(entries_per_file).ok().filter(|n| {
            *n > 0 && n.checked_mul(ENTRY_SIZE as i64).is_some_and(|b| b <= i64::from(i32::MAX))
        });
        match per_file {
            Some(per_file) => Ok(Layout { per_file }),
            None => Err(StoreError::Config(format!(
                "consume queue entries per file must be in 1..={}, got {entries_per_file}",
                i64::from(i32::MAX) / ENTRY_SIZE as i64
            ))),
        }
    }

    /// Entries per file.
    pub fn per_file(&self) -> i64 {
        self.per_file
    }

    /// Bytes per file.
    pub fn file_bytes(&self) -> u64 {
        self.per_file.unsigned_abs() * ENTRY_SIZE as u64
    }

    /// Logical offset of the first entry of the file holding `offset` (`offset >= 0`).
    pub fn file_start(&self, offset: i64) -> i64 {
        offset - offset.rem_euclid(self.per_file)
    }

    /// Byte position of `offset` within its file.
    pub fn byte_pos(&self, offset: i64) -> u64 {
        offset.rem_euclid(self.per_file).unsigned_abs() * ENTRY_SIZE as u64
    }

    /// The name of the file whose first entry is `start`.
    pub fn file_name(&self, start: i64) -> String {
        format!("{:020}", i128::from(start) * ENTRY_SIZE as i128)
    }

    /// The path of the file whose first entry is `start`, in `dir`.
    pub fn path(&self, dir: &Path, start: i64) -> PathBuf {
        dir.join(self.file_name(start))
    }

    /// The first logical offset of the file named `name`: `None` if `name` is not a segment
    /// name, an error if it is one but does not fit this geometry.
    fn parse_name(&self, dir: &Path, name: &str) -> Option<Result<i64>> {
        if name.len() != NAME_DIGITS || !name.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let bytes = name.parse::<i64>().ok();
        let start = bytes.filter(|b| b % (self.file_bytes() as i64) == 0);
        Some(start.map(|b| b / ENTRY_SIZE as i64).ok_or_else(|| {
            StoreError::Config(format!(
                "{}: not at a multiple of the consume queue file size {} (entries per file changed?)",
                dir.join(name).display(),
                self.file_bytes()
            ))
        }))
    }

    /// The segment files in `dir`, oldest first. Other files are ignored (and logged).
    /// A file longer than the file size is refused: the queue was written with another
    /// geometry.
    pub fn list(&self, dir: &Path) -> Result<Vec<Listed>> {
        let mut found = Vec::new();
        for item in std::fs::read_dir(dir).map_err(|e| StoreError::io(dir, e))? {
            let item = item.map_err(|e| StoreError::io(dir, e))?;
            let meta = item.metadata().map_err(|e| StoreError::io(item.path(), e))?;
            let name = item.file_name();
            let start = match name.to_str().and_then(|n| self.parse_name(dir, n)) {
                Some(start) if meta.is_file() => start?,
                _ => {
                    tracing::warn!(path = %item.path().display(), "not a consume queue file, ignored");
                    continue;
                }
            };
            if meta.len() > self.file_bytes() {
                return Err(StoreError::Config(format!(
                    "{}: {} bytes, more than the consume queue file size {} (entries per file changed?)",
                    item.path().display(),
                    meta.len(),
                    self.file_bytes()
                )));
            }
            found.push(Listed { start, len: meta.len() });
        }
        found.sort_unstable_by_key(|f| f.start);
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_byte_offsets() {
        let layout = Layout::new(300_000).unwrap();
        assert_eq!(layout.file_bytes(), 6_000_000);
        assert_eq!(layout.file_name(0), "00000000000000000000");
        assert_eq!(layout.file_name(300_000), "00000000000006000000");
        assert_eq!(layout.file_start(599_999), 300_000);
        assert_eq!(layout.byte_pos(300_001), 20);
        let dir = Path::new("/q");
        assert_eq!(layout.parse_name(dir, "00000000000006000000").unwrap().unwrap(), 300_000);
        assert!(layout.parse_name(dir, "00000000000006000020").unwrap().is_err());
        assert!(layout.parse_name(dir, "0000000000000600000").is_none());
        assert!(layout.parse_name(dir, "0000000000000600000x").is_none());
    }

    #[test]
    fn geometry_is_validated() {
        assert!(matches!(Layout::new(0), Err(StoreError::Config(_))));
        assert!(matches!(Layout::new(usize::MAX), Err(StoreError::Config(_))));
        assert!(Layout::new(1).is_ok());
    }

    #[test]
    fn lists_sorted_and_refuses_oversized_files() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(2).unwrap();
        std::fs::write(layout.path(dir.path(), 4), [0u8; 40]).unwrap();
        std::fs::write(layout.path(dir.path(), 0), [0u8; 10]).unwrap();
        std::fs::write(dir.path().join("notes.txt"), b"x").unwrap();
        std::fs::create_dir(dir.path().join("00000000000000000160")).unwrap();
        let listed = layout.list(dir.path()).unwrap();
        assert_eq!(listed, vec![Listed { start: 0, len: 10 }, Listed { start: 4, len: 40 }]);
        std::fs::write(layout.path(dir.path(), 2), [0u8; 41]).unwrap();
        assert!(matches!(layout.list(dir.path()), Err(StoreError::Config(_))));
    }
}
