//! Prepares the next commit-log segment in the background, so that rolling to a new segment
//! never waits on creating a file, and (when warming is on) no append takes a page fault.

use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;

use tracing::{debug, warn};

use super::segment;
use crate::error::{Result, StoreError};
use crate::mmap::{MappedFile, Writer};

/// How far ahead of the append point pages are kept mapped, and how often that is renewed:
/// enough for 32 MiB / 10 ms = 3.2 GB/s of appends, while holding RSS to 32 MiB.
const WARM_AHEAD: usize = 32 * 1024 * 1024;
const WARM_PERIOD: std::time::Duration = std::time::Duration::from_millis(10);
/// Pages are allocated this many bytes at a time, with a yield between chunks. The kernel
/// does a chunk without a break: at 16 MiB the thread held a CPU for 12 ms, and requests
/// woken on that CPU waited for it (send p99 of some seconds 20–35 ms at 10,000 msgs/s).
/// One MiB is well under a millisecond.
const WARM_CHUNK: usize = 1024 * 1024;

#[derive(Debug, Default)]
struct State {
    /// Start offset of the segment wanted next.
    wanted: Option<i64>,
    /// A prepared segment and its writer.
    ready: Option<(i64, Writer)>,
    /// The segment being written, whose pages just ahead of the append point are kept mapped.
    current: Option<Arc<MappedFile>>,
    stop: bool,
}

/// Background creator of segments.
#[derive(Debug)]
pub struct Allocator {
    shared: Arc<(Mutex<State>, Condvar)>,
    worker: Option<JoinHandle<()>>,
    dir: PathBuf,
    segment_size: usize,
    warm: bool,
}

impl Allocator {
    /// Starts the background thread for segments of `segment_size` bytes in `dir`.
    pub fn start(dir: PathBuf, segment_size: usize, warm: bool) -> Result<Allocator> {
        let shared = Arc::new((Mutex::new(State::default()), Condvar::new()));
        let worker_shared = Arc::clone(&shared);
        let worker_dir = dir.clone();
        let worker = std::thread::Builder::new()
            .name("commitlog-allocator".into())
            .spawn(move || run(&worker_shared, &worker_dir, segment_size, warm))
            .map_err(|e| StoreError::io(&dir, e))?;
        Ok(Allocator { shared, worker: Some(worker), dir, segment_size, warm })
    }

    /// Names the segment being written, so its next pages are kept mapped ahead of appends.
    pub fn set_current(&self, file: Arc<MappedFile>) {
        file.set_writing(true);
        let (lock, _) = &*self.shared;
        let mut state = lock.lock().unwrap_or_else(PoisonError::into_inner);
        let previous = state.current.replace(Arc::clone(&file));
        drop(state);
        // Naming the same segment again (the open path does, after a first take) keeps it.
        if let Some(sealed) = previous.filter(|p| !Arc::ptr_eq(p, &file)) {
            sealed.set_writing(false);
        }
    }

    /// Asks for the segment starting at `start` to be prepared.
    pub fn prepare(&self, start: i64) {
        let (lock, wake) = &*self.shared;
        let mut state = lock.lock().unwrap_or_else(PoisonError::into_inner);
        if state.ready.as_ref().is_some_and(|(s, _)| *s == start) {
            return;
        }
        state.wanted = Some(start);
        wake.notify_all();
    }

    /// The segment starting at `start`: the prepared one if it is ready, otherwise made now.
    /// Asks for the one after it to be prepared.
    pub fn take(&self, start: i64) -> Result<Writer> {
        let ready = {
            let (lock, _) = &*self.shared;
            let mut state = lock.lock().unwrap_or_else(PoisonError::into_inner);
            match state.ready.take() {
                Some((s, writer)) if s == start => Some(writer),
                Some(other) => {
                    state.ready = Some(other);
                    None
                }
                None => None,
            }
        };
        let writer = match ready {
            Some(writer) => writer,
            None => {
                debug!(start, "no prepared segment; creating it now");
                create(&self.dir, start, self.segment_size, self.warm)?
            }
        };
        self.set_current(Arc::clone(writer.file()));
        self.prepare(start + self.segment_size as i64);
        Ok(writer)
    }
}

impl Drop for Allocator {
    fn drop(&mut self) {
        {
            let (lock, wake) = &*self.shared;
            let mut state = lock.lock().unwrap_or_else(PoisonError::into_inner);
            state.stop = true;
            wake.notify_all();
        }
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
        // A prepared but unused segment stays on disk, all zeros: recovery ignores or reuses it.
    }
}

fn run(shared: &(Mutex<State>, Condvar), dir: &std::path::Path, segment_size: usize, warm: bool) {
    run_in_the_background();
    let (lock, wake) = shared;
    let mut warmed = Warmed::default();
    let mut next_head = Warmed::default();
    loop {
        let wanted = {
            let mut state = lock.lock().unwrap_or_else(PoisonError::into_inner);
            loop {
                if state.stop {
                    return;
                }
                if let Some(wanted) = state.wanted.take() {
                    if state.ready.as_ref().is_none_or(|(s, _)| *s != wanted) {
                        break wanted;
                    }
                }
                if warm {
                    if let Some(current) = &state.current {
                        warmed.ahead_of(current);
                        // Near the end of the segment, the window continues into the next.
                        let runway = current.len().saturating_sub(current.published());
                        if let (true, Some((_, next))) = (runway < WARM_AHEAD, &state.ready) {
                            next_head.up_to(next.file(), WARM_AHEAD - runway);
                        }
                    }
                }
                state =
                    wake.wait_timeout(state, WARM_PERIOD).unwrap_or_else(PoisonError::into_inner).0;
            }
        };
        // Its first pages are mapped only when the writer nears it (above): mapped now, they
        // would be dirty zeros for the kernel to write back long before they are used.
        match create(dir, wanted, segment_size, false) {
            Ok(writer) => {
                let mut state = lock.lock().unwrap_or_else(PoisonError::into_inner);
                state.ready = Some((wanted, writer));
            }
            Err(e) => warn!(start = wanted, "cannot prepare the next commit-log segment: {e}"),
        }
    }
}

/// How far the current segment's pages have been mapped, so that each round maps only the
/// pages that came into the window since the last one. Populating a range walks every page
/// table entry in it even when all are present: re-populating the whole 32 MiB window every
/// 10 ms cost a tenth of a core on an idle broker and a quarter of a busy one's CPU.
#[derive(Debug, Default)]
struct Warmed {
    /// The segment (weak, so its address is never reused by another while held here) and
    /// the offset its pages are mapped up to.
    file: std::sync::Weak<MappedFile>,
    end: usize,
}

impl Warmed {
    /// Maps the pages of `current` up to `WARM_AHEAD` past its append point that are not
    /// mapped yet.
    fn ahead_of(&mut self, current: &Arc<MappedFile>) {
        let from = current.published();
        let same = std::sync::Weak::ptr_eq(&self.file, &Arc::downgrade(current));
        let done = if same { self.end.max(from) } else { from };
        let target = from.saturating_add(WARM_AHEAD).min(current.len());
        if done < target {
            prefault_in_chunks(current, done, target - done);
        }
        *self = Warmed { file: Arc::downgrade(current), end: target.max(done) };
    }

    /// Maps the first `len` bytes of `next` (the prepared segment) not mapped yet.
    fn up_to(&mut self, next: &Arc<MappedFile>, len: usize) {
        let same = std::sync::Weak::ptr_eq(&self.file, &Arc::downgrade(next));
        let done = if same { self.end } else { 0 };
        let target = len.min(next.len());
        if done < target {
            prefault_in_chunks(next, done, target - done);
        }
        *self = Warmed { file: Arc::downgrade(next), end: target.max(done) };
    }
}

/// Creates (or, when a prepared empty file is left from before, reopens) the segment at
/// `start` and makes its existence durable. With `map_head` its first pages are mapped (for a
/// segment needed at once); the allocator keeps mapping ahead of the append point from then
/// on.
///
/// The whole segment is not warmed in advance: that made a gibibyte of dirty zero pages,
/// which the kernel wrote back half a minute later while appends were waiting on the disk
/// (send p99 of those seconds 15–30 ms), for no gain over mapping just ahead of the writer.
fn create(dir: &std::path::Path, start: i64, size: usize, map_head: bool) -> Result<Writer> {
    let path = segment::path(dir, start);
    let file = match MappedFile::create(&path, size) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            // Left from before, or being made by the background thread this very moment
            // (created but not sized yet): size it here too — setting the same length twice
            // is harmless — so it never maps as an empty file.
            let sized = std::fs::OpenOptions::new().write(true).open(&path).and_then(|f| {
                if f.metadata()?.len() < size as u64 {
                    f.set_len(size as u64)?;
                }
                Ok(())
            });
            sized.map_err(|e| StoreError::io(&path, e))?;
            MappedFile::open(&path, 0).map_err(|e| StoreError::io(&path, e))?
        }
        Err(e) => return Err(StoreError::io(&path, e)),
    };
    sync_file_and_dir(&path)?;
    let file = Arc::new(file);
    file.set_writing(true);
    if map_head {
        prefault_in_chunks(&file, 0, WARM_AHEAD);
    }
    file.writer().ok_or_else(|| StoreError::Corrupt("segment writer taken".into()))
}

/// Gives this thread the lowest CPU priority (`SCHED_IDLE`): mapping pages ahead is done in
/// the kernel, which zeroes each new page, and at normal priority the thread held a core for
/// 10–12 ms at a time about once a second while request threads woken on that core waited
/// (send p99 of those seconds 10–35 ms at 10,000 msgs/s). Idle-priority work yields to any
/// other; if it cannot keep up, appends fault the pages in themselves, as without warming.
fn run_in_the_background() {
    use thread_priority::{
        set_thread_priority_and_policy, thread_native_id, NormalThreadSchedulePolicy,
        ThreadPriority, ThreadSchedulePolicy,
    };
    let idle = ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle);
    if let Err(e) = set_thread_priority_and_policy(thread_native_id(), ThreadPriority::Min, idle) {
        debug!("the commit-log allocator keeps normal priority: {e:?}");
    }
}

/// Maps `[pos, pos + len)` of `file` ahead of the writer, [`WARM_CHUNK`] at a time.
fn prefault_in_chunks(file: &MappedFile, pos: usize, len: usize) {
    let end = pos.saturating_add(len);
    let mut at = pos;
    while at < end {
        let chunk = WARM_CHUNK.min(end - at);
        file.prefault(at, chunk);
        at += chunk;
        if at < end {
            std::thread::yield_now();
        }
    }
}

/// Makes a new file's size and directory entry durable.
pub fn sync_file_and_dir(path: &std::path::Path) -> Result<()> {
    std::fs::File::open(path).and_then(|f| f.sync_all()).map_err(|e| StoreError::io(path, e))?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(|e| StoreError::io(dir, e))?;
    }
    Ok(())
}
