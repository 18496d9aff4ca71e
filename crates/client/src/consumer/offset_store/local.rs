//! The broadcasting offset store (`LocalFileOffsetStore`): every member keeps its own
//! offsets in `<folder>/<clientId>/<group>/offsets.json`, in the same JSON as RocketMQ's
//! `OffsetSerializeWrapper` (`{"offsetTable":{{queue}:offset,…}}`), replaced atomically
//! (written to a temporary file, synced, renamed over the old one).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use ferromq_protocol::body::{MessageQueue, ResetOffsetBody};

use super::OffsetTable;
use crate::consumer::start_offset::StoredOffset;
use crate::error::{ClientError, Result};

/// The file name RocketMQ uses.
pub const FILE_NAME: &str = "offsets.json";

/// A group's offsets, kept in a local file.
#[derive(Debug)]
pub struct LocalOffsetStore {
    path: PathBuf,
    pub(super) table: OffsetTable,
    /// Held across each read-modify-write of the file, so concurrent commits of different
    /// queues do not overwrite one another.
    file: Arc<Mutex<()>>,
}

fn io_error(path: &Path, source: std::io::Error) -> ClientError {
    ClientError::Io { path: path.to_path_buf(), source }
}

/// Reads the offsets file; a missing file is empty, and so is (with a warning) one that
/// cannot be parsed, falling back to the `.bak` copy RocketMQ's client leaves.
fn read_file(path: &Path) -> Result<BTreeMap<MessageQueue, i64>> {
    let parse = |path: &Path| -> Result<Option<BTreeMap<MessageQueue, i64>>> {
        match std::fs::read(path) {
            Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => Ok(None),
            Ok(bytes) => match ResetOffsetBody::from_json(&bytes) {
                Ok(body) => Ok(Some(body.offset_table)),
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "unreadable offsets file");
                    Ok(None)
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error(path, e)),
        }
    };
    if let Some(table) = parse(path)? {
        return Ok(table);
    }
    let backup = path.with_extension("json.bak");
    Ok(parse(&backup)?.unwrap_or_default())
}

/// Replaces the file with `offsets`: a temporary file, synced, renamed over it.
fn write_file(path: &Path, offsets: &BTreeMap<MessageQueue, i64>) -> Result<()> {
    use std::io::Write;
    let folder = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(folder).map_err(|e| io_error(folder, e))?;
    let body = ResetOffsetBody { offset_table: offsets.clone() }.to_json();
    let tmp = path.with_extension("json.tmp");
    let mut file = std::fs::File::create(&tmp).map_err(|e| io_error(&tmp, e))?;
    file.write_all(&body).map_err(|e| io_error(&tmp, e))?;
    file.sync_all().map_err(|e| io_error(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| io_error(path, e))?;
    // Make the rename itself durable; not every platform can sync a folder.
    if let Ok(dir) = std::fs::File::open(folder) {
        let _ = dir.sync_all();
    }
    Ok(())
}

async fn blocking<T: Send + 'static>(
    job: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(job)
        .await
        .map_err(|e| ClientError::Io { path: PathBuf::new(), source: std::io::Error::other(e) })?
}

impl LocalOffsetStore {
    /// The store of `group` for client `client_id` under `folder`.
    pub fn new(folder: &Path, client_id: &str, group: &str) -> LocalOffsetStore {
        let path = folder.join(client_id).join(group).join(FILE_NAME);
        LocalOffsetStore { path, table: OffsetTable::default(), file: Arc::default() }
    }

    /// The file this store writes.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Loads every offset of the file into memory (at start).
    pub async fn load(&self) -> Result<()> {
        let path = self.path.clone();
        let offsets = blocking(move || read_file(&path)).await?;
        for (queue, offset) in offsets {
            self.table.update(&queue, offset, false);
        }
        Ok(())
    }

    /// The offset of `queue` in the file.
    pub async fn read(&self, queue: &MessageQueue) -> Result<StoredOffset> {
        let path = self.path.clone();
        let offsets = blocking(move || read_file(&path)).await?;
        Ok(offsets.get(queue).map_or(StoredOffset::NotFound, |o| StoredOffset::Found(*o)))
    }

    /// Writes `offsets` into the file, keeping the entries of other queues.
    pub async fn write(&self, offsets: &[(MessageQueue, i64)]) -> Result<()> {
        if offsets.is_empty() {
            return Ok(());
        }
        let (path, file) = (self.path.clone(), Arc::clone(&self.file));
        let offsets = offsets.to_vec();
        blocking(move || {
            let _file = file.lock().unwrap_or_else(PoisonError::into_inner);
            let mut all = read_file(&path)?;
            all.extend(offsets);
            write_file(&path, &all)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp() -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "ferromq-offsets-{}-{:?}",
            std::process::id(),
            std::time::SystemTime::now()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[tokio::test]
    async fn offsets_survive_a_new_store_and_other_queues_are_kept() {
        let folder = temp();
        let (a, b) = (MessageQueue::new("T", "broker-a", 0), MessageQueue::new("T", "broker-a", 1));
        let store = LocalOffsetStore::new(&folder, "10.0.0.1@app", "group");
        assert_eq!(store.read(&a).await.unwrap(), StoredOffset::NotFound, "no file yet");
        store.write(&[(a.clone(), 42)]).await.unwrap();
        store.write(&[(b.clone(), 7)]).await.unwrap();
        assert!(store.path().ends_with("10.0.0.1@app/group/offsets.json"));

        let again = LocalOffsetStore::new(&folder, "10.0.0.1@app", "group");
        assert_eq!(again.read(&a).await.unwrap(), StoredOffset::Found(42));
        again.load().await.unwrap();
        assert_eq!(again.table.get(&b), Some(7));
        let text = std::fs::read_to_string(again.path()).unwrap();
        assert!(text.starts_with(r#"{"offsetTable":{{"brokerName":"broker-a","queueId":0"#));
        assert!(!again.path().with_extension("json.tmp").exists());
        std::fs::remove_dir_all(folder).unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_commits_of_different_queues_all_land() {
        let folder = temp();
        let store = Arc::new(LocalOffsetStore::new(&folder, "c", "g"));
        let writers: Vec<_> = (0..16)
            .map(|i| {
                let store = Arc::clone(&store);
                tokio::spawn(async move {
                    store.write(&[(MessageQueue::new("T", "b", i), i64::from(i) * 10)]).await
                })
            })
            .collect();
        for writer in writers {
            writer.await.unwrap().unwrap();
        }
        for i in 0..16 {
            let q = MessageQueue::new("T", "b", i);
            assert_eq!(store.read(&q).await.unwrap(), StoredOffset::Found(i64::from(i) * 10));
        }
        std::fs::remove_dir_all(folder).unwrap();
    }

    #[tokio::test]
    async fn a_damaged_file_falls_back_to_the_backup_or_to_nothing() {
        let folder = temp();
        let store = LocalOffsetStore::new(&folder, "c", "g");
        let q = MessageQueue::new("T", "b", 0);
        std::fs::create_dir_all(store.path().parent().unwrap()).unwrap();
        std::fs::write(store.path(), b"{not json").unwrap();
        assert_eq!(store.read(&q).await.unwrap(), StoredOffset::NotFound);
        let backup = ResetOffsetBody { offset_table: BTreeMap::from([(q.clone(), 9)]) };
        std::fs::write(store.path().with_extension("json.bak"), backup.to_json()).unwrap();
        assert_eq!(store.read(&q).await.unwrap(), StoredOffset::Found(9));
        // A Java client's pretty-printed file reads too.
        let pretty = "{\n\t\"offsetTable\":{{\n\t\t\"brokerName\":\"b\",\n\t\t\"queueId\":0,\n\t\t\"topic\":\"T\"\n\t}:5\n\t}\n}";
        std::fs::write(store.path(), pretty).unwrap();
        assert_eq!(store.read(&q).await.unwrap(), StoredOffset::Found(5));
        std::fs::remove_dir_all(folder).unwrap();
    }
}
