//! The name server's KV config: namespaced key/value pairs set by admins (for example the
//! `ORDER_TOPIC_CONFIG` namespace), kept in `kvConfig.json` and replaced atomically on change.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::NamesrvError;

/// The namespace whose entries give each ordered topic's queue layout.
pub const ORDER_TOPIC_CONFIG: &str = "ORDER_TOPIC_CONFIG";

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct KvConfigFile {
    #[serde(default)]
    config_table: BTreeMap<String, BTreeMap<String, String>>,
}

/// Namespaced key/value pairs, persisted to a file when one is given.
#[derive(Debug, Default)]
pub struct KvConfig {
    table: BTreeMap<String, BTreeMap<String, String>>,
    path: Option<PathBuf>,
}

impl KvConfig {
    /// An in-memory store (tests).
    pub fn in_memory() -> Self {
        Self::default()
    }

    /// Loads `path` (a missing file is an empty store) and persists every change there.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, NamesrvError> {
        let path = path.into();
        let table = match std::fs::read(&path) {
            Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => BTreeMap::new(),
            Ok(bytes) => {
                serde_json::from_slice::<KvConfigFile>(&bytes)
                    .map_err(|e| NamesrvError::Config(format!("{}: {e}", path.display())))?
                    .config_table
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(NamesrvError::Io { path: path.clone(), source: e }),
        };
        Ok(KvConfig { table, path: Some(path) })
    }

    /// Sets `key` in `namespace`.
    pub fn put(&mut self, namespace: &str, key: &str, value: &str) -> Result<(), NamesrvError> {
        self.table
            .entry(namespace.to_string())
            .or_default()
            .insert(key.to_string(), value.to_string());
        self.persist()
    }

    /// The value of `key` in `namespace`.
    pub fn get(&self, namespace: &str, key: &str) -> Option<&str> {
        self.table.get(namespace)?.get(key).map(String::as_str)
    }

    /// Removes `key` from `namespace`.
    pub fn delete(&mut self, namespace: &str, key: &str) -> Result<(), NamesrvError> {
        let removed = match self.table.get_mut(namespace) {
            Some(entries) => {
                let removed = entries.remove(key).is_some();
                if entries.is_empty() {
                    self.table.remove(namespace);
                }
                removed
            }
            None => false,
        };
        if removed {
            self.persist()?;
        }
        Ok(())
    }

    /// Every pair of `namespace`, if it has any.
    pub fn list(&self, namespace: &str) -> Option<&BTreeMap<String, String>> {
        self.table.get(namespace)
    }

    fn persist(&self) -> Result<(), NamesrvError> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let file = KvConfigFile { config_table: self.table.clone() };
        let bytes = serde_json::to_vec_pretty(&file)
            .map_err(|e| NamesrvError::Config(format!("cannot encode KV config: {e}")))?;
        write_atomically(path, &bytes)
            .map_err(|e| NamesrvError::Io { path: path.clone(), source: e })
    }
}

/// Replaces `path` with `bytes` so that a crash leaves either the old or the new file:
/// write a temporary sibling, fsync it, rename it over, fsync the folder.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("json.tmp");
    {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("namesrv").join("kvConfig.json");
        let mut kv = KvConfig::open(&path).unwrap();
        kv.put(ORDER_TOPIC_CONFIG, "OrderTopic", "broker-a:4").unwrap();
        kv.put("ns", "k", "v").unwrap();
        kv.delete("ns", "k").unwrap();
        let again = KvConfig::open(&path).unwrap();
        assert_eq!(again.get(ORDER_TOPIC_CONFIG, "OrderTopic"), Some("broker-a:4"));
        assert_eq!(again.get("ns", "k"), None);
        assert!(again.list("ns").is_none());
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"configTable\""));
    }

    #[test]
    fn a_damaged_file_is_an_error_not_an_empty_store() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kvConfig.json");
        std::fs::write(&path, b"{\"configTable\":").unwrap();
        assert!(KvConfig::open(&path).is_err());
    }
}
