//! Crash-safe replacement and loading of one small metadata file, with RocketMQ's `.bak`.
//!
//! ```text
//! write:  <name>.tmp  ← bytes, fsync
//!         <name>.bak  ← copy of the current <name> (if any), fsync
//!         <name>      ← rename <name>.tmp over it, fsync the folder
//! load:   <name> if present, non-empty and parsable, else <name>.bak, else nothing
//! ```
//! `<name>` is only ever replaced by a rename of a complete, synced file, so it is either the
//! old or the new content. A torn `<name>` can still come from elsewhere (a Java broker
//! writes its files in place after moving the old one to `.bak`; a damaged disk); loading
//! then falls back to `.bak`.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::error::{Result, StoreError};

/// `path` with `suffix` appended to its file name (`topics.json` → `topics.json.bak`).
pub fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = OsString::from(path.as_os_str());
    name.push(suffix);
    PathBuf::from(name)
}

/// The backup kept next to `path`.
pub fn backup_path(path: &Path) -> PathBuf {
    sibling(path, ".bak")
}

/// The scratch file a write goes through.
pub fn temp_path(path: &Path) -> PathBuf {
    sibling(path, ".tmp")
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Makes the folder's entries (a rename, a new file) durable.
fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| StoreError::io(dir, e))
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .map_err(|e| StoreError::io(path, e))?;
    file.write_all(bytes).and_then(|()| file.sync_all()).map_err(|e| StoreError::io(path, e))
}

/// Replaces `path` with `bytes` so that a crash leaves either the old or the new content,
/// and keeps the old content in `<path>.bak`. Creates the folder if needed.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = parent_dir(path);
    fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, e))?;
    let tmp = temp_path(path);
    write_synced(&tmp, bytes)?;
    match fs::read(path) {
        Ok(current) => write_synced(&backup_path(path), &current)?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(StoreError::io(path, e)),
    }
    fs::rename(&tmp, path).map_err(|e| StoreError::io(path, e))?;
    sync_dir(dir)
}

/// The bytes of `path`, or `None` if it is missing or empty (Java treats an empty config
/// file as absent).
fn read_present(path: &Path) -> Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(bytes) if bytes.is_empty() => Ok(None),
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StoreError::io(path, e)),
    }
}

/// The bytes of `path`, or of `<path>.bak` when `path` is missing or empty; `None` when
/// neither has content. Whether the bytes parse is the caller's business: see [`load_json`].
pub fn load_with_backup(path: &Path) -> Result<Option<Vec<u8>>> {
    if let Some(bytes) = read_present(path)? {
        return Ok(Some(bytes));
    }
    let backup = backup_path(path);
    let found = read_present(&backup)?;
    if found.is_some() {
        tracing::warn!("{} is missing or empty; loading {}", path.display(), backup.display());
    }
    Ok(found)
}

/// Loads and parses `path`, falling back to `<path>.bak` when `path` is missing, empty or
/// does not parse. `Ok(None)` when neither file has content (a first start).
///
/// A main file that does not parse with no backup, or a backup that does not parse either,
/// is an error rather than an empty table: Java would start empty and lose every entry.
pub fn load_json<T>(path: &Path, parse: impl Fn(&[u8]) -> Result<T>) -> Result<Option<T>> {
    let main_error = match read_present(path)? {
        Some(bytes) => match parse(&bytes) {
            Ok(value) => return Ok(Some(value)),
            Err(e) => e,
        },
        None => return load_with_backup(path)?.map(|bytes| parse(&bytes)).transpose(),
    };
    let backup = backup_path(path);
    tracing::warn!("{} is unreadable ({main_error}); loading {}", path.display(), backup.display());
    match read_present(&backup)? {
        Some(bytes) => parse(&bytes).map(Some).map_err(|e| {
            StoreError::Corrupt(format!(
                "{} ({main_error}) and its backup ({e}) are both unreadable",
                path.display()
            ))
        }),
        None => Err(StoreError::Corrupt(format!(
            "{} is unreadable ({main_error}) and has no backup",
            path.display()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_text(bytes: &[u8]) -> Result<String> {
        // A stand-in for a JSON parser: a value is complete only with its closing brace.
        let text = std::str::from_utf8(bytes).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        if text.starts_with('{') && text.ends_with('}') {
            Ok(text.to_owned())
        } else {
            Err(StoreError::Corrupt(format!("incomplete: {text:?}")))
        }
    }

    #[test]
    fn writes_replace_and_keep_a_backup() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config").join("topics.json");
        assert_eq!(load_with_backup(&path).unwrap(), None);
        assert_eq!(load_json(&path, parse_text).unwrap(), None);

        write_atomically(&path, b"{1}").unwrap();
        assert!(!backup_path(&path).exists());
        write_atomically(&path, b"{2}").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"{2}");
        assert_eq!(fs::read(backup_path(&path)).unwrap(), b"{1}");
        assert!(!temp_path(&path).exists());
        assert_eq!(load_json(&path, parse_text).unwrap().as_deref(), Some("{2}"));
    }

    #[test]
    fn crash_mid_write_recovers_from_backup() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("consumerOffset.json");
        write_atomically(&path, b"{old}").unwrap();
        write_atomically(&path, b"{new}").unwrap();
        // A writer died: a half-written .tmp and a torn main file (as Java's in-place write
        // can leave).
        fs::write(temp_path(&path), b"{new").unwrap();
        fs::write(&path, b"{ne").unwrap();
        assert_eq!(load_json(&path, parse_text).unwrap().as_deref(), Some("{old}"));
        // The next write goes through and the torn main file becomes the backup.
        write_atomically(&path, b"{newer}").unwrap();
        assert_eq!(load_json(&path, parse_text).unwrap().as_deref(), Some("{newer}"));
    }

    #[test]
    fn a_torn_main_file_never_loads_as_a_partial_value() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("subscriptionGroup.json");
        let old = b"{\"a\":1}".as_slice();
        let new = b"{\"a\":1,\"b\":2}".as_slice();
        write_atomically(&path, old).unwrap();
        write_atomically(&path, new).unwrap();
        for cut in 0..new.len() {
            fs::write(&path, &new[..cut]).unwrap();
            let loaded = load_json(&path, parse_text).unwrap().unwrap();
            assert_eq!(loaded.as_bytes(), old, "cut at {cut}");
        }
    }

    #[test]
    fn missing_or_empty_main_file_falls_back_to_backup() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("topics.json");
        fs::write(backup_path(&path), b"{bak}").unwrap();
        assert_eq!(load_with_backup(&path).unwrap().as_deref(), Some(b"{bak}".as_slice()));
        fs::write(&path, b"").unwrap();
        assert_eq!(load_json(&path, parse_text).unwrap().as_deref(), Some("{bak}"));
    }

    #[test]
    fn unreadable_without_a_good_backup_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("topics.json");
        fs::write(&path, b"{torn").unwrap();
        assert!(matches!(load_json(&path, parse_text), Err(StoreError::Corrupt(_))));
        fs::write(backup_path(&path), b"also torn").unwrap();
        assert!(matches!(load_json(&path, parse_text), Err(StoreError::Corrupt(_))));
    }
}
