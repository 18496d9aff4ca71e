//! The runtime overlay: the settings changed with UPDATE_BROKER_CONFIG, kept as properties
//! text in `<storePathRootDir>/config/brokerConfigOverlay.properties` (replaced atomically,
//! previous version in `.bak`, like the store's metadata files) and applied over the
//! configuration file at the next start.
//!
//! RocketMQ instead rewrites its whole `broker.properties` (the `-c` file, or
//! `~/store/config/broker.properties`). FerroMQ leaves the operator's TOML file alone and
//! keeps only what was changed at runtime, next to the data it belongs to.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ferromq_store::meta::{self, file};

use super::properties;
use crate::error::BrokerError;

/// The overlay's file name, in the store's config folder.
pub const OVERLAY_FILE: &str = "brokerConfigOverlay.properties";

/// `<store_root>/config/brokerConfigOverlay.properties`.
pub fn path(store_root: &Path) -> PathBuf {
    store_root.join(meta::CONFIG_DIR).join(OVERLAY_FILE)
}

/// The settings in the overlay at `path` (its `.bak` if the file is missing or empty);
/// empty when there is none.
pub fn load(path: &Path) -> Result<BTreeMap<String, String>, BrokerError> {
    let Some(bytes) = file::load_with_backup(path)? else {
        return Ok(BTreeMap::new());
    };
    let text = String::from_utf8(bytes)
        .map_err(|_| BrokerError::Config(format!("{} is not UTF-8 text", path.display())))?;
    Ok(properties::parse(&text))
}

/// Replaces the overlay at `path` with `settings`.
pub fn save(path: &Path, settings: &BTreeMap<String, String>) -> Result<(), BrokerError> {
    let mut text = String::from(
        "# Settings changed at runtime (UPDATE_BROKER_CONFIG); they override the config file.\n\
         # Delete a line (or this file) while the broker is stopped to return to the file's value.\n",
    );
    text.push_str(&properties::render(settings.iter().map(|(k, v)| (k.as_str(), v.as_str()))));
    file::write_atomically(path, text.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saves_and_loads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = path(dir.path());
        assert!(load(&path).unwrap().is_empty(), "a first start has no overlay");
        let settings = BTreeMap::from([
            ("brokerPermission".to_string(), "4".to_string()),
            ("regionId".to_string(), "east".to_string()),
        ]);
        save(&path, &settings).unwrap();
        assert_eq!(load(&path).unwrap(), settings);
        let mut later = settings.clone();
        later.insert("traceOn".into(), "false".into());
        save(&path, &later).unwrap();
        assert_eq!(load(&path).unwrap(), later);
        std::fs::write(&path, b"").unwrap();
        assert_eq!(load(&path).unwrap(), settings, "an emptied file falls back to its .bak");
    }
}
