//! Reading TOML configuration files into the library crates' typed configs.

use std::path::Path;

use anyhow::Context;
use serde::de::DeserializeOwned;

/// Reads `path` as TOML into `T`; without a path, `T`'s defaults.
pub fn load<T: DeserializeOwned + Default>(path: Option<&Path>) -> anyhow::Result<T> {
    let Some(path) = path else {
        return Ok(T::default());
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("invalid config file {}", path.display()))
}

/// Like [`load`], but for configs that cannot reject unknown keys themselves (flattened
/// sections): every key of the file must be one the defaults know, so a typo is an error
/// instead of a silently ignored setting.
pub fn load_checked<T: DeserializeOwned + Default + serde::Serialize>(
    path: Option<&Path>,
) -> anyhow::Result<T> {
    load_checked_over(path, T::default())
}

/// Like [`load_checked`], with the file's settings laid over `base` rather than over `T`'s
/// defaults (a role whose defaults differ, as standalone's auto-created topics).
pub fn load_checked_over<T: DeserializeOwned + Default + serde::Serialize>(
    path: Option<&Path>,
    base: T,
) -> anyhow::Result<T> {
    let Some(path) = path else {
        return Ok(base);
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config file {}", path.display()))?;
    let table: toml::Table =
        toml::from_str(&text).with_context(|| format!("invalid config file {}", path.display()))?;
    let known = toml::Table::try_from(T::default()).context("cannot list the known settings")?;
    if let Some(unknown) = table.keys().find(|k| !known.contains_key(*k)) {
        anyhow::bail!("invalid config file {}: unknown setting `{unknown}`", path.display());
    }
    let mut merged = toml::Table::try_from(base).context("cannot list the base settings")?;
    merged.extend(table);
    merged.try_into().with_context(|| format!("invalid config file {}", path.display()))
}

/// Splits `host:port` (a bare port means all interfaces).
pub fn split_listen(listen: &str) -> anyhow::Result<(String, u16)> {
    if let Ok(port) = listen.parse::<u16>() {
        return Ok(("0.0.0.0".to_string(), port));
    }
    let (host, port) = listen
        .rsplit_once(':')
        .with_context(|| format!("--listen {listen}: expected HOST:PORT"))?;
    let port = port.parse().with_context(|| format!("--listen {listen}: bad port"))?;
    Ok((host.trim_start_matches('[').trim_end_matches(']').to_string(), port))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferromq_namesrv::NamesrvConfig;

    #[test]
    fn reads_namesrv_toml_with_rocketmq_names() {
        let dir = std::env::temp_dir().join(format!("ferromq-settings-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("namesrv.toml");
        std::fs::write(&path, "listenPort = 19876\nscanNotActiveBrokerInterval = 1000\nkvConfigPath = \"/tmp/kv.json\"\n").unwrap();
        let config: NamesrvConfig = load(Some(&path)).unwrap();
        assert_eq!(config.listen_port, 19876);
        assert_eq!(config.scan_not_active_broker_interval, 1000);
        std::fs::write(&path, "listenPrt = 1\n").unwrap();
        let err = load::<NamesrvConfig>(Some(&path)).unwrap_err();
        assert!(format!("{err:#}").contains("listenPrt"), "{err:#}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_file_is_laid_over_the_role_defaults() {
        use ferromq_broker::BrokerConfig;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("standalone.toml");
        let base = || BrokerConfig { auto_create_topic_enable: true, ..BrokerConfig::default() };
        std::fs::write(&path, "brokerName = \"b\"\nflushIntervalCommitLog = 200\n").unwrap();
        let config: BrokerConfig = load_checked_over(Some(&path), base()).unwrap();
        assert!(config.auto_create_topic_enable, "the base's value where the file is silent");
        assert_eq!(config.broker_name, "b");
        assert_eq!(config.store.flush_interval_commit_log, 200);
        std::fs::write(&path, "autoCreateTopicEnable = false\n").unwrap();
        let config: BrokerConfig = load_checked_over(Some(&path), base()).unwrap();
        assert!(!config.auto_create_topic_enable);
        std::fs::write(&path, "autoCreateTopic = true\n").unwrap();
        let err = load_checked_over::<BrokerConfig>(Some(&path), base()).unwrap_err();
        assert!(format!("{err:#}").contains("unknown setting `autoCreateTopic`"), "{err:#}");
        assert!(load_checked_over::<BrokerConfig>(None, base()).unwrap().auto_create_topic_enable);
    }

    #[test]
    fn splits_listen_addresses() {
        assert_eq!(split_listen("127.0.0.1:9876").unwrap(), ("127.0.0.1".to_string(), 9876));
        assert_eq!(split_listen("9876").unwrap(), ("0.0.0.0".to_string(), 9876));
        assert_eq!(split_listen("[::1]:9876").unwrap(), ("::1".to_string(), 9876));
        assert!(split_listen("nonsense").is_err());
    }
}
