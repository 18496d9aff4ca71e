//! `LiveConfig`: the broker's settings as an immutable snapshot that handlers read once per
//! request, replaced as a whole by UPDATE_BROKER_CONFIG after the change is checked and
//! persisted to the overlay.
//!
//! Reading costs a read lock and an `Arc` clone (two uncontended atomic operations); a
//! handler keeps its snapshot for the whole request, so one request never sees half a change.
//! Updates are serialized by the overlay's mutex, as RocketMQ's `updateBrokerConfig` is
//! `synchronized`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use super::{overlay, update, BrokerConfig};
use crate::error::BrokerError;

/// The running configuration and its persisted runtime changes.
#[derive(Debug)]
pub struct LiveConfig {
    current: RwLock<Arc<BrokerConfig>>,
    /// The overlay's content; its lock also serializes updates.
    overlay: Mutex<BTreeMap<String, String>>,
    overlay_path: PathBuf,
}

/// What an accepted update did.
#[derive(Debug)]
pub struct Updated {
    pub old: Arc<BrokerConfig>,
    pub new: Arc<BrokerConfig>,
    /// Runtime settings set by the request, with their new values.
    pub applied: BTreeMap<String, String>,
    /// Unknown keys, ignored.
    pub ignored: Vec<String>,
}

impl LiveConfig {
    /// `base` (the configuration file and options) with the overlay in its store folder
    /// applied; an overlay that no longer applies is an error naming the file.
    pub fn open(base: BrokerConfig) -> Result<LiveConfig, BrokerError> {
        let overlay_path = overlay::path(&base.store.store_path_root_dir);
        let settings = overlay::load(&overlay_path)?;
        let config = if settings.is_empty() {
            base
        } else {
            let change = update::apply(&base, &settings).map_err(|e| {
                BrokerError::Config(format!(
                    "{}: {e} (edit or delete that file to start)",
                    overlay_path.display()
                ))
            })?;
            tracing::info!(
                file = %overlay_path.display(),
                "settings changed at runtime override the config file: {:?}",
                change.applied
            );
            for key in &change.ignored {
                tracing::warn!(file = %overlay_path.display(), "ignoring unknown setting {key}");
            }
            change.config
        };
        Ok(LiveConfig {
            current: RwLock::new(Arc::new(config)),
            overlay: Mutex::new(settings),
            overlay_path,
        })
    }

    /// The current settings.
    pub fn get(&self) -> Arc<BrokerConfig> {
        Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Applies `pairs` (properties text parsed), persists the runtime settings it set, and
    /// makes them current; a refusal changes nothing.
    pub fn update(&self, pairs: &BTreeMap<String, String>) -> Result<Updated, BrokerError> {
        let mut overlay = self.overlay.lock().unwrap_or_else(PoisonError::into_inner);
        let old = self.get();
        let change = update::apply(&old, pairs)?;
        if change.applied.is_empty() {
            return Ok(Updated {
                new: Arc::clone(&old),
                old,
                applied: change.applied,
                ignored: change.ignored,
            });
        }
        let mut next = overlay.clone();
        next.extend(change.applied.iter().map(|(k, v)| (k.clone(), v.clone())));
        overlay::save(&self.overlay_path, &next)?;
        *overlay = next;
        let new = Arc::new(change.config);
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::clone(&new);
        Ok(Updated { old, new, applied: change.applied, ignored: change.ignored })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(dir: &std::path::Path) -> BrokerConfig {
        let mut config = BrokerConfig::default();
        config.store.store_path_root_dir = dir.to_path_buf();
        config
    }

    fn pairs(items: &[(&str, &str)]) -> BTreeMap<String, String> {
        items.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn an_accepted_change_is_current_and_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let live = LiveConfig::open(base(dir.path())).unwrap();
        let before = live.get();
        let updated =
            live.update(&pairs(&[("autoCreateTopicEnable", "true"), ("x", "1")])).unwrap();
        assert!(!updated.old.auto_create_topic_enable && updated.new.auto_create_topic_enable);
        assert_eq!(updated.ignored, vec!["x"]);
        assert!(live.get().auto_create_topic_enable);
        assert!(!before.auto_create_topic_enable, "a snapshot taken before is unchanged");
        live.update(&pairs(&[("regionId", "east")])).unwrap();

        let reopened = LiveConfig::open(base(dir.path())).unwrap();
        assert!(reopened.get().auto_create_topic_enable);
        assert_eq!(reopened.get().region_id, "east");
    }

    #[test]
    fn a_refused_change_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let live = LiveConfig::open(base(dir.path())).unwrap();
        assert!(live.update(&pairs(&[("traceOn", "false"), ("brokerPermission", "9")])).is_err());
        assert!(live.update(&pairs(&[("traceOn", "false"), ("listenPort", "1")])).is_err());
        assert!(live.get().trace_on);
        assert!(!overlay::path(dir.path()).exists(), "nothing persisted");
        let noop = live.update(&pairs(&[])).unwrap();
        assert!(noop.applied.is_empty() && Arc::ptr_eq(&noop.old, &noop.new));
    }

    #[test]
    fn an_overlay_that_no_longer_applies_stops_the_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = overlay::path(dir.path());
        overlay::save(&path, &pairs(&[("brokerPermission", "99")])).unwrap();
        let error = LiveConfig::open(base(dir.path())).unwrap_err().to_string();
        assert!(error.contains(overlay::OVERLAY_FILE), "{error}");
    }
}
