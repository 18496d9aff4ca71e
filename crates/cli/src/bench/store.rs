//! `ferromq bench store`: append throughput (single or batched, any number of writer threads
//! and queues, async or sync flush) and read throughput of the storage engine, with the
//! process's resident memory at the end. With `--print-acks` every acknowledged append is
//! printed, so a crash test can kill the process and check what survived.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use ferromq_protocol::message::{property, Properties, StoredMessage};
use ferromq_store::{AllMessages, FlushDiskType, Store, StoreConfig};

/// Prepared messages a throughput run cycles through (a multiple of every batch size used).
const POOL: u64 = 4096;

/// Options of `ferromq bench store`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Store folder (default: a fresh temporary folder, removed at the end).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Body size in bytes.
    #[arg(long, default_value_t = 128)]
    size: usize,
    /// Messages to append in all.
    #[arg(long, default_value_t = 1_000_000)]
    messages: u64,
    /// Writer threads.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Queues the messages are spread over (one topic).
    #[arg(long, default_value_t = 8)]
    queues: i32,
    /// Messages per append call (1 = single appends).
    #[arg(long, default_value_t = 1)]
    batch: usize,
    /// Flush mode.
    #[arg(long, value_enum, default_value_t = Flush::Async)]
    flush: Flush,
    /// Commit-log segment size in MiB.
    #[arg(long, default_value_t = 1024)]
    segment_mb: usize,
    /// Print `ack <queue> <queueOffset> <physicalOffset> <key> <bodyHex>` per acknowledged append.
    #[arg(long)]
    print_acks: bool,
    /// Do not pre-fault commit-log pages ahead of the append point (`warmMapedFileEnable`).
    #[arg(long)]
    no_warm: bool,
    /// Skip the read phase.
    #[arg(long)]
    no_read: bool,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Flush {
    Async,
    Sync,
}

/// Runs the benchmark.
pub fn run(args: Args) -> anyhow::Result<()> {
    let temp = match &args.dir {
        Some(_) => None,
        None => Some(tempdir()?),
    };
    let dir =
        args.dir.clone().or_else(|| temp.as_ref().map(|t| t.0.clone())).context("no folder")?;
    let config = StoreConfig {
        store_path_root_dir: dir.clone(),
        mapped_file_size_commit_log: args.segment_mb * 1024 * 1024,
        // Small segments (crash tests use 1 MiB) must still hold the largest message.
        max_message_size: (args.segment_mb * 1024 * 1024 / 2)
            .min(StoreConfig::default().max_message_size),
        flush_disk_type: match args.flush {
            Flush::Async => FlushDiskType::AsyncFlush,
            Flush::Sync => FlushDiskType::SyncFlush,
        },
        // Benchmarks measure appends, not retention: never refuse or delete.
        disk_max_used_space_ratio: 100,
        disk_space_clean_forcibly_ratio: 100,
        disk_space_warning_level_ratio: 100,
        delete_when: String::new(),
        warm_mapped_file_enable: !args.no_warm,
        ..StoreConfig::default()
    };
    let store = Arc::new(Store::open(config, None)?);
    let queues = args.queues.max(1);
    let per_thread = args.messages / args.threads.max(1) as u64;
    let done = Arc::new(AtomicU64::new(0));
    if !args.print_acks {
        println!(
            "store bench: {} messages of {} B, {} thread(s), {} queue(s), batch {}, {:?} flush, folder {}",
            per_thread * args.threads as u64,
            args.size,
            args.threads,
            queues,
            args.batch,
            args.flush,
            dir.display()
        );
    }
    let started = Instant::now();
    let reporter = (!args.print_acks).then(|| spawn_reporter(Arc::clone(&done), args.size));
    let writers: Vec<_> = (0..args.threads.max(1))
        .map(|t| {
            let store = Arc::clone(&store);
            let done = Arc::clone(&done);
            let (size, batch, print) = (args.size, args.batch.max(1), args.print_acks);
            std::thread::spawn(move || {
                write_loop(&store, t, per_thread, size, batch, queues, print, &done)
            })
        })
        .collect();
    for writer in writers {
        writer.join().map_err(|_| anyhow::anyhow!("writer thread panicked"))??;
    }
    let elapsed = started.elapsed();
    drop(reporter);
    let total = done.load(Ordering::Relaxed);
    if !args.print_acks {
        report("append", total, args.size, elapsed);
    }
    if !args.no_read && !args.print_acks {
        let dispatch_started = Instant::now();
        while store.dispatched() < store.commit_log_range().1 {
            std::thread::sleep(Duration::from_millis(1));
        }
        println!(
            "dispatch caught up {} ms after the last append",
            dispatch_started.elapsed().as_millis()
        );
        read_all(&store, queues, args.size)?;
    }
    if let Some((rss, anon, file)) = super::resident_memory() {
        if !args.print_acks {
            println!(
                "memory: RSS {} MiB (anonymous {} MiB, file-backed {} MiB), {} consume queues",
                rss >> 20,
                anon >> 20,
                file >> 20,
                store.queue_count()
            );
        }
    }
    let store = Arc::try_unwrap(store).map_err(|_| anyhow::anyhow!("store still shared"))?;
    store.shutdown()?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn write_loop(
    store: &Store,
    thread: usize,
    count: u64,
    size: usize,
    batch: usize,
    queues: i32,
    print: bool,
    done: &AtomicU64,
) -> anyhow::Result<()> {
    let born_host = "127.0.0.1:40000".parse()?;
    let store_host = "127.0.0.1:10911".parse()?;
    let make = |s: u64, queue_id: i32| -> StoredMessage {
        let key = format!("k{thread}-{s}");
        let mut properties = Properties::new();
        properties.insert(property::KEYS, key.as_str());
        properties.insert(property::TAGS, "bench");
        StoredMessage {
            topic: "BenchmarkStore".into(),
            queue_id,
            body: body(thread, s, size),
            born_timestamp: ferromq_store::now_millis(),
            born_host,
            store_host,
            properties,
            ..StoredMessage::default()
        }
    };
    // Throughput runs cycle through prepared messages, so the bench measures the store and
    // not message construction; crash runs (`print`) make every message unique.
    let pool: Vec<StoredMessage> = if print {
        Vec::new()
    } else {
        // At least one prepared message per queue, so every queue is written.
        let wanted = POOL.max(queues as u64 * batch as u64);
        let len = (wanted / batch as u64).max(1) * batch as u64;
        (0..len).map(|i| make(i, ((i / batch as u64) as i32 + thread as i32) % queues)).collect()
    };
    let mut seq = 0u64;
    while seq < count {
        let n = (batch as u64).min(count - seq);
        let queue_id = ((seq / batch as u64) as i32 + thread as i32) % queues;
        let owned: Vec<StoredMessage>;
        let msgs: &[StoredMessage] = if print {
            owned = (seq..seq + n).map(|s| make(s, queue_id)).collect();
            &owned
        } else {
            let at = (seq % pool.len() as u64) as usize;
            let end = (at + n as usize).min(pool.len());
            &pool[at..end]
        };
        let result = if msgs.len() == 1 { store.put(&msgs[0])? } else { store.put_batch(msgs)? };
        if let Some(durable) = result.durable {
            store.wait_durable(durable, store.config().sync_flush_timeout())?;
        }
        if print {
            // Locked per batch: a writer must never hold stdout while it waits on the store.
            let mut stdout = std::io::stdout().lock();
            for (msg, placed) in msgs.iter().zip(&result.appended) {
                let key = msg.properties.get(property::KEYS).unwrap_or_default();
                writeln!(
                    stdout,
                    "ack {} {} {} {} {}",
                    msg.queue_id,
                    placed.queue_offset,
                    placed.physical_offset,
                    key,
                    hex(&msg.body)
                )?;
            }
            stdout.flush()?;
        }
        seq += msgs.len() as u64;
        done.fetch_add(msgs.len() as u64, Ordering::Relaxed);
    }
    Ok(())
}

/// A body that differs per message, cheap to make.
fn body(thread: usize, seq: u64, size: usize) -> Bytes {
    let mut x = (thread as u64) << 40 ^ seq ^ 0x9E37_79B9_7F4A_7C15;
    (0..size)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn read_all(store: &Store, queues: i32, size: usize) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut total = 0u64;
    for queue_id in 0..queues {
        let mut offset = store.min_offset("BenchmarkStore", queue_id);
        loop {
            let got = store.get_messages(
                "BenchmarkStore",
                queue_id,
                offset,
                32,
                256 * 1024,
                &AllMessages,
            )?;
            if got.messages.is_empty() {
                break;
            }
            total += got.messages.len() as u64;
            offset = got.next_begin_offset;
        }
    }
    report("read", total, size, started.elapsed());
    Ok(())
}

fn report(phase: &str, count: u64, size: usize, elapsed: Duration) {
    let secs = elapsed.as_secs_f64().max(1e-9);
    println!(
        "{phase}: {count} messages in {:.2} s: {:.0} msgs/s, {:.1} MB/s of bodies",
        secs,
        count as f64 / secs,
        (count as f64 * size as f64) / secs / 1e6
    );
}

/// Prints progress once a second until dropped.
struct Reporter(Option<std::sync::mpsc::Sender<()>>, Option<std::thread::JoinHandle<()>>);

impl Drop for Reporter {
    fn drop(&mut self) {
        self.0.take();
        if let Some(t) = self.1.take() {
            let _ = t.join();
        }
    }
}

fn spawn_reporter(done: Arc<AtomicU64>, size: usize) -> Reporter {
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let thread = std::thread::spawn(move || {
        let mut last = 0;
        while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
            rx.recv_timeout(Duration::from_secs(1))
        {
            let now = done.load(Ordering::Relaxed);
            let rate = now - last;
            println!(
                "  {now} appended, {rate} msgs/s, {:.1} MB/s",
                (rate as f64 * size as f64) / 1e6
            );
            last = now;
        }
    });
    Reporter(Some(tx), Some(thread))
}

/// A temporary folder removed on drop (the bench's default).
struct TempFolder(PathBuf);

impl Drop for TempFolder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tempdir() -> anyhow::Result<TempFolder> {
    let dir = std::env::temp_dir().join(format!(
        "ferromq-bench-{}-{}",
        std::process::id(),
        ferromq_store::now_millis()
    ));
    std::fs::create_dir_all(&dir)?;
    Ok(TempFolder(dir))
}
