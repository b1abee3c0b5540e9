//! The one write path: [`Store::write`] and the group committer behind it.
//!
//! Every change to the database, and every audit record, goes through `Store::write`: the
//! caller hands over a closure that works on a [`Tx`] (typed operations plus `audit`), and
//! gets its result back only once the transaction holding it is durable (its records
//! mirrored to the `--audit-log` file first) and the alert observers have seen them. A closure
//! cannot commit, and nothing outside this module can open a write transaction, so the rule
//! "nothing is revealed or acknowledged before its audit record and its change are durable"
//! is kept in one place.
//!
//! Group commit: one committer thread owns redb's (single) write side. It takes everything
//! queued (at most [`MAX_BATCH`] closures), runs each in turn inside one write transaction,
//! commits once with immediate durability (one fsync for the whole batch), then answers every
//! caller. There is no timer: a lone request is committed as soon as it arrives (on its own
//! thread, when nothing is queued or being committed, so it pays no thread hand-off), and a
//! batch grows only from requests that queued up while the previous commit was being fsync'd.
//!
//! A closure that fails (returns `Err` or panics) must leave no trace: redb refuses savepoints
//! in a transaction that has opened a table, so the committer aborts the transaction and runs
//! the batch again without that closure. Closures are therefore re-runnable: they touch the
//! world only through `Tx`, and their result is delivered only after the final commit. A failed
//! commit (disk full, I/O error) fails every closure of the batch with
//! [`StoreError::CommitFailed`]: nothing of it is revealed or acknowledged.
//!
//! Recovery: after a storage failure redb refuses every operation on that handle, so the
//! committer marks the store [`Degraded`] and reopens the file before it answers anyone
//! (reads go on), then retries with a backoff (a probe commit when no write comes) and
//! clears the state at the first commit that succeeds. Between retries writes are refused
//! at once with [`StoreError::Degraded`] (503). No restart is needed once there is room.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use redb::{
    Database, ReadTransaction, ReadableDatabase, ReadableTable, StorageError, TransactionError,
    WriteTransaction,
};

use super::audit::{self, Actor, AuditLog, AuditObserver, AuditRecord, ChainHead, Event};
use super::audit_keys::{self, AuditKeys, SignedHead};
use super::{StoreError, tables::AUDIT};
use crate::crypto::keyring::Keyring;
use crate::histogram::{Histogram, HistogramSnapshot};

/// Most closures in one transaction: bounds the work lost to a replay and the latency a
/// caller can see behind others.
pub const MAX_BATCH: usize = 512;
/// Closures that may wait for the committer before callers block (backpressure).
const QUEUE_DEPTH: usize = 4096;

/// What the committer and the readers share: the database, the keys that seal values, and
/// where committed audit records go besides the database.
pub(super) struct Core {
    pub(super) db: LiveDb,
    pub(super) keyring: Keyring,
    pub(super) audit_keys: AuditKeys,
    pub(super) audit_log: Option<AuditLog>,
    pub(super) observers: Vec<AuditObserver>,
    pub(super) stats: Arc<CommitStats>,
    /// redb's write side: whoever holds this runs a batch (the committer, or a lone write on
    /// its own thread).
    pub(super) writer: Mutex<WriterState>,
}

/// What the holder of the write side keeps between batches.
#[derive(Default)]
pub(super) struct WriterState {
    /// The chain head as of the last commit, so an append needs no read of the previous
    /// record; `None` after any failure (read again from the table).
    head: Option<ChainHead>,
    /// Set while the handle is poisoned by an I/O failure and reopening it failed too.
    stale: bool,
}

/// Counters of the write path, for benchmarks and monitoring.
#[derive(Debug)]
pub struct CommitStats {
    queued: AtomicU64,
    commits: AtomicU64,
    writes: AtomicU64,
    commit_nanos: AtomicU64,
    /// Closures per committed transaction.
    batch_sizes: Histogram,
    /// Time of each commit (fsync included), in microseconds.
    commit_micros: Histogram,
    /// Batches the host failed (disk full, I/O error).
    failed_batches: AtomicU64,
    /// Whether the last batch failed that way (cleared by the next commit that succeeds).
    unavailable: AtomicBool,
}

/// Upper bounds of the batch-size buckets, up to [`MAX_BATCH`].
pub const BATCH_SIZE_BOUNDS: &[u64] = &[1, 2, 4, 8, 16, 32, 64, 128, 256, 512];
/// Upper bounds of the commit-time buckets, in microseconds (100 µs to 2.5 s).
pub const COMMIT_MICROS_BOUNDS: &[u64] = &[
    100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000,
    1_000_000, 2_500_000,
];

impl Default for CommitStats {
    fn default() -> Self {
        CommitStats {
            queued: AtomicU64::new(0),
            commits: AtomicU64::new(0),
            writes: AtomicU64::new(0),
            commit_nanos: AtomicU64::new(0),
            batch_sizes: Histogram::new(BATCH_SIZE_BOUNDS),
            commit_micros: Histogram::new(COMMIT_MICROS_BOUNDS),
            failed_batches: AtomicU64::new(0),
            unavailable: AtomicBool::new(false),
        }
    }
}

impl CommitStats {
    /// Writes waiting for the committer now.
    pub fn queued(&self) -> u64 {
        self.queued.load(Ordering::SeqCst)
    }

    /// Transactions committed (one durable commit each).
    pub fn commits(&self) -> u64 {
        self.commits.load(Ordering::SeqCst)
    }

    /// Closures committed; `writes / commits` is the mean batch size.
    pub fn writes(&self) -> u64 {
        self.writes.load(Ordering::SeqCst)
    }

    /// Time spent in commits (fsync included), in nanoseconds.
    pub fn commit_nanos(&self) -> u64 {
        self.commit_nanos.load(Ordering::SeqCst)
    }

    /// How many closures each committed transaction held.
    pub fn batch_sizes(&self) -> HistogramSnapshot {
        self.batch_sizes.snapshot()
    }

    /// How long each commit took (fsync included), in microseconds.
    pub fn commit_micros(&self) -> HistogramSnapshot {
        self.commit_micros.snapshot()
    }

    /// Batches that failed for a reason of the host (disk full, I/O error).
    pub fn failed_batches(&self) -> u64 {
        self.failed_batches.load(Ordering::SeqCst)
    }

    /// True while writes fail for a reason of the host: the last batch failed so, and none
    /// has committed since.
    pub fn unavailable(&self) -> bool {
        self.unavailable.load(Ordering::SeqCst)
    }
}

/// Why the store cannot write now. Each kind has a fixed public phrase (`reason`): the OS
/// error itself goes to the log with the failed request, never to an unauthenticated probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Degraded {
    /// The file system is full (or the quota used up).
    DiskFull,
    /// Another I/O error from the database file.
    Io,
    /// Reopened after an I/O error, the trail did not end at its authenticated head: the
    /// store refuses to go on (fail closed) until an operator looks.
    AuditTampered,
}

impl Degraded {
    /// What `/healthz` says.
    pub fn reason(self) -> &'static str {
        match self {
            Degraded::DiskFull => "storage: cannot write (disk full)",
            Degraded::Io => "storage: cannot write (I/O error)",
            Degraded::AuditTampered => {
                "storage: the audit trail does not end at its authenticated head"
            }
        }
    }

    /// The kind of failure behind `e`, if it is one of the host's storage (the database must
    /// be reopened after it); `None` for a failure of the request itself.
    pub(super) fn of(e: &StoreError) -> Option<Degraded> {
        let of_io = |e: &std::io::Error| match e.kind() {
            std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded => {
                Degraded::DiskFull
            }
            _ => Degraded::Io,
        };
        let of_storage = |e: &StorageError| match e {
            StorageError::Io(io) => Some(of_io(io)),
            StorageError::PreviousIo | StorageError::DatabaseClosed => Some(Degraded::Io),
            _ => None,
        };
        match e {
            StoreError::CommitFailed(redb::CommitError::Storage(s)) => of_storage(s),
            StoreError::Db(redb::Error::Io(io)) => Some(of_io(io)),
            StoreError::Db(redb::Error::PreviousIo | redb::Error::DatabaseClosed) => {
                Some(Degraded::Io)
            }
            StoreError::Degraded(d) => Some(*d),
            StoreError::Batch(cause) => Degraded::of(cause),
            _ => None,
        }
    }
}

/// The open database, replaceable while the server runs. After an I/O error (a full disk)
/// redb fails every later operation with "previous I/O error" until the file is closed and
/// opened again; the committer does that (`reopen`), so the server serves again once the disk
/// has room, without a restart. Readers take the current handle for each transaction (a read
/// lock and an `Arc` clone: cheap); the committer is the only one that replaces it, between
/// batches, so no write transaction is ever alive across a replacement.
pub(super) struct LiveDb {
    current: RwLock<Option<Arc<Database>>>,
    path: PathBuf,
    degraded: Mutex<Option<Degraded>>,
}

impl LiveDb {
    pub(super) fn new(db: Database, path: PathBuf) -> LiveDb {
        LiveDb {
            current: RwLock::new(Some(Arc::new(db))),
            path,
            degraded: Mutex::new(None),
        }
    }

    /// The database file.
    pub(super) fn path(&self) -> &std::path::Path {
        &self.path
    }

    fn handle(&self) -> Result<Arc<Database>, TransactionError> {
        let current = self.current.read().unwrap_or_else(|p| p.into_inner());
        current
            .clone()
            .ok_or(TransactionError::Storage(StorageError::DatabaseClosed))
    }

    /// A read transaction on the current handle. One that was running when the handle was
    /// replaced fails with `DatabaseClosed` (a 503), never reads a half-state.
    pub(super) fn begin_read(&self) -> Result<ReadTransaction, TransactionError> {
        self.handle()?.begin_read()
    }

    pub(super) fn begin_write(&self) -> Result<WriteTransaction, TransactionError> {
        self.handle()?.begin_write()
    }

    /// Compacts the file; needs the store to itself (`Store::core_mut`).
    pub(super) fn compact(&mut self) -> Result<bool, redb::CompactionError> {
        let current = self.current.get_mut().unwrap_or_else(|p| p.into_inner());
        match current.as_mut().and_then(Arc::get_mut) {
            Some(db) => db.compact(),
            None => Err(redb::CompactionError::Storage(StorageError::DatabaseClosed)),
        }
    }

    /// Why the store cannot write, if it cannot.
    pub(super) fn degraded(&self) -> Option<Degraded> {
        *self.degraded.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A tampered trail stays the reason until a commit succeeds (which it cannot: its
    /// handle is never installed).
    fn set_degraded(&self, state: Option<Degraded>) {
        let mut degraded = self.degraded.lock().unwrap_or_else(|p| p.into_inner());
        if state.is_none() || *degraded != Some(Degraded::AuditTampered) {
            *degraded = state;
        }
    }

    /// Closes the database and opens the same file again (redb recovers it as after a crash:
    /// every committed transaction is kept), then checks that the trail still ends at its
    /// authenticated head before anyone uses it. Never creates a file: the database must be
    /// the one the store was opened on.
    fn reopen(&self, keys: &AuditKeys) -> Result<(), StoreError> {
        let old = self
            .current
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        // Closes the file unless a reader still holds the handle for a moment; then the open
        // below fails as "already open" and is tried again at the next backoff step.
        drop(old);
        let db = super::open_journaled(&self.path, false)?;
        let intact = {
            let txn = db.begin_read()?;
            let last = last_record(&txn.open_table(AUDIT)?)?;
            let head = audit_keys::read_head(&txn.open_table(super::tables::META)?)?;
            head.is_some_and(|h| h.vouches_for(keys, &last))
        };
        if !intact {
            return Err(StoreError::AuditTampered);
        }
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(db));
        Ok(())
    }

    /// Commits a row big enough to need fresh space from the file system, then removes it:
    /// the sign, while degraded with no writes coming (a load balancer has taken the server
    /// out), that writes would work again.
    fn probe(&self) -> Result<(), StoreError> {
        for insert in [true, false] {
            let txn = self.begin_write()?;
            {
                let mut meta = txn.open_table(super::tables::META)?;
                if insert {
                    meta.insert(META_WRITE_PROBE, vec![0u8; PROBE_BYTES].as_slice())?;
                } else {
                    meta.remove(META_WRITE_PROBE)?;
                }
            }
            txn.commit().map_err(StoreError::CommitFailed)?;
        }
        Ok(())
    }
}

/// `META` key of the probe row (present only between the two commits of a probe).
const META_WRITE_PROBE: &str = "write_probe";
/// Size of the probe row: well above a typical write, so a disk that takes it has room.
const PROBE_BYTES: usize = 256 * 1024;

/// When the committer next tries to recover a degraded store: at once after the failure,
/// then doubling up to `MAX`, so a full disk costs a reopen and a probe every few seconds at
/// most, and recovery follows freed space within `MAX`.
struct Backoff {
    next: Instant,
    delay: Duration,
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(50);
    const MAX: Duration = Duration::from_secs(2);

    fn new() -> Backoff {
        Backoff {
            next: Instant::now(),
            delay: Self::FIRST,
        }
    }

    /// After the first failure the database has just been reopened: the first probe waits
    /// one step.
    fn after_first_failure() -> Backoff {
        let mut backoff = Backoff::new();
        backoff.failed();
        backoff
    }

    fn due(&self) -> bool {
        Instant::now() >= self.next
    }

    fn until_due(&self) -> Duration {
        self.next.saturating_duration_since(Instant::now())
    }

    fn failed(&mut self) {
        self.next = Instant::now() + self.delay;
        self.delay = (self.delay * 2).min(Self::MAX);
    }
}

/// A write transaction as a closure given to [`Store::write`](super::Store::write) sees it:
/// typed operations on the tables and [`Tx::audit`], never a commit.
pub struct Tx<'a> {
    pub(super) txn: &'a WriteTransaction,
    pub(super) core: &'a Core,
    actor: &'a Actor,
    now: i64,
    head: &'a mut ChainHead,
    records: Vec<AuditRecord>,
}

impl Tx<'_> {
    /// Appends `event` by this write's actor to the audit trail, in this transaction.
    pub fn audit(&mut self, event: Event) -> Result<(), StoreError> {
        let actor = self.actor;
        self.audit_as(actor, event)
    }

    /// Appends `event` done by `actor` (e.g. the system, in a sweep) in this transaction.
    pub fn audit_as(&mut self, actor: &Actor, event: Event) -> Result<(), StoreError> {
        let keys = &self.core.audit_keys;
        let record = audit::append(self.txn, keys, self.head, actor, event, self.now)?;
        self.records.push(record);
        Ok(())
    }

    /// The time this write runs at (the caller's clock).
    pub fn now(&self) -> i64 {
        self.now
    }

    /// The keys values are sealed with.
    pub(super) fn keyring(&self) -> &Keyring {
        &self.core.keyring
    }
}

/// A closure with its result slot and the channel its caller waits on; type-erased so one
/// queue carries writes of every result type.
trait Work: Send {
    /// Runs the closure; may be called again after an abort (replay).
    fn run(&mut self, tx: &mut Tx<'_>) -> Result<(), StoreError>;
    /// Hands the caller its result: the closure's value, or why the write failed.
    fn finish(self: Box<Self>, outcome: Result<(), StoreError>);
}

struct Typed<T, F> {
    f: F,
    value: Option<T>,
    reply: SyncSender<Result<T, StoreError>>,
}

impl<T, F> Work for Typed<T, F>
where
    T: Send,
    F: FnMut(&mut Tx<'_>) -> Result<T, StoreError> + Send,
{
    fn run(&mut self, tx: &mut Tx<'_>) -> Result<(), StoreError> {
        self.value = Some((self.f)(tx)?);
        Ok(())
    }

    fn finish(mut self: Box<Self>, outcome: Result<(), StoreError>) {
        let result = outcome.and_then(|()| self.value.take().ok_or(StoreError::WriteLost));
        // The caller may have gone (it never does today: it blocks on this channel).
        let _ = self.reply.send(result);
    }
}

struct Job {
    actor: Actor,
    now: i64,
    work: Box<dyn Work>,
}

/// The committer thread and the queue into it.
pub(super) struct Committer {
    queue: SyncSender<Job>,
    thread: JoinHandle<()>,
    core: Arc<Core>,
}

impl Committer {
    pub(super) fn start(core: Arc<Core>) -> Result<Committer, StoreError> {
        let (queue, rx) = sync_channel(QUEUE_DEPTH);
        let committer_core = Arc::clone(&core);
        let thread = std::thread::Builder::new()
            .name("secretctl-commit".into())
            .spawn(move || run_committer(&committer_core, &rx))
            .map_err(StoreError::CommitterThread)?;
        Ok(Committer {
            queue,
            thread,
            core,
        })
    }

    /// Queues `f` and blocks until its batch is durable (or failed).
    pub(super) fn submit<T, F>(&self, actor: &Actor, now: i64, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnMut(&mut Tx<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply, answer) = sync_channel(1);
        let job = Job {
            actor: actor.clone(),
            now,
            work: Box::new(Typed {
                f,
                value: None,
                reply,
            }),
        };
        let stats = &self.core.stats;
        // A lone write commits on the caller's own thread: handing it to the committer and
        // back would add two thread wake-ups to its latency for nothing. Only when no write is
        // waiting (so nothing is overtaken), nothing is being committed, and the store is not
        // recovering from a storage failure (that is the committer's business).
        if stats.queued.load(Ordering::SeqCst) == 0
            && self.core.db.degraded().is_none()
            && let Some(mut state) = try_writer(&self.core)
        {
            let WriterState { head, stale } = &mut *state;
            // A storage failure here leaves the store degraded; the committer, which looks
            // at that state at least every `IDLE_CHECK`, takes the recovery from there.
            let _ = commit_batch(&self.core, head, stale, vec![job]);
            drop(state);
            return answer.recv().map_err(|_| StoreError::Closed)?;
        }
        stats.queued.fetch_add(1, Ordering::SeqCst);
        if self.queue.send(job).is_err() {
            stats.queued.fetch_sub(1, Ordering::SeqCst);
            return Err(StoreError::Closed);
        }
        answer.recv().map_err(|_| StoreError::Closed)?
    }

    /// Lets the queue drain, then waits for the thread to end.
    pub(super) fn stop(self) {
        drop(self.queue);
        let _ = self.thread.join();
    }
}

/// The write side, if nobody holds it now.
fn try_writer(core: &Core) -> Option<MutexGuard<'_, WriterState>> {
    match core.writer.try_lock() {
        Ok(guard) => Some(guard),
        Err(std::sync::TryLockError::Poisoned(p)) => Some(p.into_inner()),
        Err(std::sync::TryLockError::WouldBlock) => None,
    }
}

/// The write side, waiting for it.
fn writer(core: &Core) -> MutexGuard<'_, WriterState> {
    core.writer.lock().unwrap_or_else(|p| p.into_inner())
}

/// How often an idle committer looks whether a lone write (committed on its caller's thread)
/// left the store degraded, so recovery starts even when no write comes.
const IDLE_CHECK: Duration = Duration::from_millis(250);

fn run_committer(core: &Core, rx: &Receiver<Job>) {
    let mut backoff = Backoff::new();
    loop {
        let first = match core.db.degraded() {
            None => match rx.recv_timeout(IDLE_CHECK) {
                Ok(job) => Some(job),
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => break,
            },
            // Degraded: wake up for the next recovery step even if no write comes (a load
            // balancer that took the server out sends none).
            Some(_) => match rx.recv_timeout(backoff.until_due()) {
                Ok(job) => Some(job),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => break,
            },
        };
        // The write side first, then the queue: everything that queued up while a commit
        // (or a lone write on its own thread) held it goes into this one batch.
        let mut state = writer(core);
        let WriterState { head, stale } = &mut *state;
        let mut may_write = core.db.degraded().is_none();
        if !may_write && backoff.due() {
            *head = None;
            // With a batch waiting, the batch itself is the probe.
            match recover(core, stale, first.is_none()) {
                Ok(()) if first.is_none() => {
                    core.db.set_degraded(None);
                    backoff = Backoff::new();
                }
                Ok(()) => may_write = true,
                Err(_) => backoff.failed(),
            }
        }
        let Some(first) = first else { continue };
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        core.stats
            .queued
            .fetch_sub(batch.len() as u64, Ordering::SeqCst);
        if let (false, Some(kind)) = (may_write, core.db.degraded()) {
            // Between recovery steps: answer at once (503) rather than fail a commit again.
            for job in batch {
                job.work.finish(Err(StoreError::Degraded(kind)));
            }
            continue;
        }
        let was_degraded = core.db.degraded().is_some();
        match commit_batch(core, head, stale, batch) {
            Ok(()) if was_degraded => {
                core.db.set_degraded(None);
                backoff = Backoff::new();
            }
            Ok(()) => {}
            // Already reopened (for the reads); writes wait for the next step.
            Err(_) if was_degraded => backoff.failed(),
            Err(_) => backoff = Backoff::after_first_failure(),
        }
    }
}

/// One recovery step of a degraded store: reopen the file if the handle is still poisoned,
/// then, if no write is waiting to show it, a probe commit.
fn recover(core: &Core, stale: &mut bool, probe: bool) -> Result<(), StoreError> {
    if *stale {
        reopen_now(core, stale);
        if *stale {
            return Err(StoreError::Closed);
        }
    }
    if probe && let Err(e) = core.db.probe() {
        if let Some(kind) = Degraded::of(&e) {
            core.db.set_degraded(Some(kind));
            reopen_now(core, stale);
        }
        return Err(e);
    }
    Ok(())
}

/// Reopens the database right after a storage failure poisoned its handle, before anyone
/// hears of the failure: reads (which need no write) go on while writes cannot. `stale`
/// stays set if that failed too; the next recovery step tries again.
fn reopen_now(core: &Core, stale: &mut bool) {
    match core.db.reopen(&core.audit_keys) {
        Ok(()) => *stale = false,
        Err(StoreError::AuditTampered) => {
            *stale = true;
            core.db.set_degraded(Some(Degraded::AuditTampered));
        }
        Err(_) => *stale = true,
    }
}

/// Runs `batch` in one transaction and answers every job in it. On a storage failure (disk
/// full, I/O error) the store is marked degraded and the database reopened before anyone
/// is answered, and the failure is returned.
fn commit_batch(
    core: &Core,
    head: &mut Option<ChainHead>,
    stale: &mut bool,
    batch: Vec<Job>,
) -> Result<(), Degraded> {
    let mut jobs: Vec<(Job, Option<StoreError>)> = batch.into_iter().map(|j| (j, None)).collect();
    let committed = loop {
        match attempt(core, head, &mut jobs) {
            Attempt::Replay => continue,
            Attempt::Done(result) => break result,
        }
    };
    let host_failed = matches!(&committed, Err(e) if e.is_unavailable());
    core.stats.unavailable.store(host_failed, Ordering::SeqCst);
    if host_failed {
        core.stats.failed_batches.fetch_add(1, Ordering::SeqCst);
    }
    // A closure's own table operation may be the one that met the I/O error.
    let mut storage_failure = jobs
        .iter()
        .find_map(|(_, failed)| failed.as_ref().and_then(Degraded::of));
    let outcome = match committed {
        Ok(records) => Ok(records),
        Err(e) => {
            *head = None;
            storage_failure = Degraded::of(&e).or(storage_failure);
            Err(Arc::new(e))
        }
    };
    if let Some(kind) = storage_failure {
        core.db.set_degraded(Some(kind));
        reopen_now(core, stale);
    }
    match outcome {
        Ok(records) => {
            publish(core, &records);
            for (job, failed) in jobs {
                job.work.finish(failed.map_or(Ok(()), Err));
            }
        }
        Err(cause) => {
            for (job, failed) in jobs {
                let err = failed.unwrap_or_else(|| StoreError::Batch(Arc::clone(&cause)));
                job.work.finish(Err(err));
            }
        }
    }
    storage_failure.map_or(Ok(()), Err)
}

/// Hands durable records to the observers (alerts), before anyone is answered.
fn publish(core: &Core, records: &[AuditRecord]) {
    for record in records {
        for observer in &core.observers {
            observer(record);
        }
    }
}

/// Writes `records` to the `--audit-log` mirror, if there is one, before their commit: the
/// mirror never lacks a committed record, and when it cannot be written the whole
/// transaction is dropped (fail closed: nothing done, nothing revealed), as an audit device
/// does in Vault. The price is that a commit that then fails leaves lines for records that
/// never happened; `commit` marks them with a `rolled_back` line.
fn mirror(core: &Core, records: &[AuditRecord]) -> Result<(), StoreError> {
    match &core.audit_log {
        Some(log) if !records.is_empty() => log
            .append_records(records)
            .map_err(StoreError::AuditUnavailable),
        _ => Ok(()),
    }
}

/// Commits `txn` after mirroring `records`; on a failed commit, tells the mirror which of
/// its lines did not happen.
fn commit(core: &Core, txn: WriteTransaction, records: &[AuditRecord]) -> Result<(), StoreError> {
    if let Some(last) = records.last() {
        let head = SignedHead::sign(&core.audit_keys, last.body.seq, &last.hash)?;
        audit_keys::write_head(&txn, &head)?;
    }
    if let Err(e) = mirror(core, records) {
        let _ = txn.abort();
        return Err(e);
    }
    let stats = &core.stats;
    let started = std::time::Instant::now();
    let committed = txn.commit();
    let nanos = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
    stats.commit_nanos.fetch_add(nanos, Ordering::Relaxed);
    stats.commit_micros.observe(nanos / 1_000);
    if let Err(e) = committed {
        if let (Some(log), false) = (&core.audit_log, records.is_empty()) {
            let seqs: Vec<u64> = records.iter().map(|r| r.body.seq).collect();
            let _ = log.append_rollback(&seqs, &e.to_string());
        }
        return Err(StoreError::CommitFailed(e));
    }
    stats.commits.fetch_add(1, Ordering::SeqCst);
    Ok(())
}

/// Runs `f` in a transaction of its own on this thread, with the same audit, commit and
/// publish steps as a batch. Only for callers that hold the store exclusively (`&mut Store`,
/// committer stopped): rotations, whose closures borrow the store and run once.
pub(super) fn run_exclusive<T>(
    core: &Core,
    actor: &Actor,
    now: i64,
    f: impl FnOnce(&mut Tx<'_>) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let mut cached = writer(core);
    // Read afresh, and forgotten after: whatever this write appends, the next batch reads
    // the head from the table.
    cached.head = None;
    let txn = core.db.begin_write()?;
    let mut head = load_head(&txn)?;
    let mut tx = Tx {
        txn: &txn,
        core,
        actor,
        now,
        head: &mut head,
        records: Vec::new(),
    };
    // An error drops `txn` uncommitted, which aborts it.
    let value = f(&mut tx)?;
    let records = std::mem::take(&mut tx.records);
    commit(core, txn, &records)?;
    publish(core, &records);
    Ok(value)
}

enum Attempt {
    /// A closure failed: it is marked, the transaction aborted; run the rest again.
    Replay,
    /// Committed (with the records written), or failed as a whole.
    Done(Result<Vec<AuditRecord>, StoreError>),
}

fn attempt(
    core: &Core,
    head: &mut Option<ChainHead>,
    jobs: &mut [(Job, Option<StoreError>)],
) -> Attempt {
    let txn = match core.db.begin_write() {
        Ok(t) => t,
        Err(e) => return Attempt::Done(Err(e.into())),
    };
    let mut running = match head.clone() {
        Some(h) => h,
        None => match load_head(&txn) {
            Ok(h) => h,
            Err(e) => return Attempt::Done(Err(e)),
        },
    };
    let mut records = Vec::new();
    for (job, failed) in jobs.iter_mut().filter(|(_, f)| f.is_none()) {
        let mut tx = Tx {
            txn: &txn,
            core,
            actor: &job.actor,
            now: job.now,
            head: &mut running,
            records: Vec::new(),
        };
        let ran = catch_unwind(AssertUnwindSafe(|| job.work.run(&mut tx)));
        let error = match ran {
            Ok(Ok(())) => {
                records.append(&mut tx.records);
                continue;
            }
            Ok(Err(e)) => e,
            Err(_) => StoreError::Panicked,
        };
        *failed = Some(error);
        // Dropping an uncommitted transaction aborts it; the error of an explicit abort
        // changes nothing for the replay, which starts a new one.
        let _ = txn.abort();
        return Attempt::Replay;
    }
    match commit(core, txn, &records) {
        Ok(()) => {
            *head = Some(running);
            let ran = jobs.iter().filter(|(_, f)| f.is_none()).count();
            core.stats.writes.fetch_add(ran as u64, Ordering::SeqCst);
            core.stats.batch_sizes.observe(ran as u64);
            Attempt::Done(Ok(records))
        }
        Err(e) => Attempt::Done(Err(e)),
    }
}

/// The newest record's (seq, hash), or the genesis head of an empty trail.
pub(super) fn load_head(txn: &WriteTransaction) -> Result<ChainHead, StoreError> {
    last_record(&txn.open_table(AUDIT)?)
}

/// The newest record of `table` as a chain head.
pub(super) fn last_record(
    table: &impl ReadableTable<u64, &'static [u8]>,
) -> Result<ChainHead, StoreError> {
    let last = table.last()?;
    match last {
        Some((k, v)) => Ok(ChainHead {
            seq: k.value(),
            hash: audit::StoredRecord(v.value()).hash()?,
        }),
        None => Ok(ChainHead::genesis()),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::time::{Duration, Instant};

    use super::*;
    use crate::store::test_support::{actor, temp_store};
    use crate::store::{Action, ChainCheck, Outcome, Store};

    /// A write that parks the committer until `n` more writes are queued behind it, so a test
    /// knows exactly which writes share the next batch (no sleeps, no timing luck). Sends on
    /// `started` once it runs.
    fn blocker(
        store: &Store,
        n: u64,
        started: mpsc::Sender<()>,
    ) -> impl FnMut(&mut Tx<'_>) -> Result<(), StoreError> + Send + 'static {
        let stats = store.commit_stats();
        move |tx: &mut Tx<'_>| {
            let _ = started.send(());
            let deadline = Instant::now() + Duration::from_secs(30);
            while stats.queued() < n && Instant::now() < deadline {
                std::thread::yield_now();
            }
            tx.audit(Event::ok(Action::SecretRead, None, None))
        }
    }

    fn event(n: usize) -> Event {
        Event::ok(Action::SecretRead, Some(format!("secret:{n}")), None)
    }

    fn chain_len(store: &Store) -> u64 {
        match store.check_chain().unwrap() {
            ChainCheck::Intact { records, .. } => records,
            broken => panic!("chain broken: {broken:?}"),
        }
    }

    #[test]
    fn queued_writes_share_one_commit_and_each_gets_its_own_result() {
        let t = temp_store("batch");
        let store = &t.store;
        let before = store.commit_stats().commits();
        std::thread::scope(|s| {
            let (started_tx, started) = mpsc::channel();
            let block = blocker(store, 10, started_tx);
            let first = s.spawn(move || store.write(&actor(), 1, block));
            started.recv().unwrap();
            let writers: Vec<_> = (0..10)
                .map(|i| {
                    s.spawn(move || {
                        store.write(&actor(), 2, move |tx| {
                            tx.audit(event(i))?;
                            Ok(i * 7)
                        })
                    })
                })
                .collect();
            first.join().unwrap().unwrap();
            for (i, w) in writers.into_iter().enumerate() {
                assert_eq!(w.join().unwrap().unwrap(), i * 7);
            }
        });
        let stats = store.commit_stats();
        // The blocker's own commit, then all ten queued writes in one more.
        assert_eq!(stats.commits() - before, 2);
        assert_eq!(stats.queued(), 0);
        // Batch sizes: one of 1 (bucket <= 1), one of 10 (first in bucket <= 16).
        let sizes = stats.batch_sizes();
        assert_eq!(sizes.count, stats.commits());
        assert_eq!(sizes.cumulative[..5], [1, 1, 1, 1, 2]);
        assert_eq!(sizes.sum, 11);
        assert_eq!(stats.commit_micros().count, stats.commits());
        assert!(!stats.unavailable());
        assert_eq!(stats.failed_batches(), 0);
        assert_eq!(chain_len(store), 11);
    }

    #[test]
    fn a_failing_or_panicking_write_leaves_no_trace_in_its_batch() {
        let t = temp_store("replay");
        let store = &t.store;
        std::thread::scope(|s| {
            let (started_tx, started) = mpsc::channel();
            let block = blocker(store, 4, started_tx);
            let first = s.spawn(move || store.write(&actor(), 1, block));
            started.recv().unwrap();
            let good_a = s.spawn(move || store.write(&actor(), 2, |tx| tx.audit(event(1))));
            let failing = s.spawn(move || {
                store.write(&actor(), 2, |tx| -> Result<(), StoreError> {
                    // Writes first, then fails: its record must not survive.
                    tx.audit(event(666))?;
                    Err(StoreError::Conflict("test"))
                })
            });
            let panicking = s.spawn(move || {
                store.write(&actor(), 2, |tx| -> Result<(), StoreError> {
                    tx.audit(event(667))?;
                    panic!("write blew up")
                })
            });
            let good_b = s.spawn(move || store.write(&actor(), 2, |tx| tx.audit(event(2))));
            first.join().unwrap().unwrap();
            good_a.join().unwrap().unwrap();
            good_b.join().unwrap().unwrap();
            assert!(matches!(
                failing.join().unwrap(),
                Err(StoreError::Conflict("test"))
            ));
            assert!(matches!(
                panicking.join().unwrap(),
                Err(StoreError::Panicked)
            ));
        });
        // Everything the failed writes appended is gone; the rest chains without a gap.
        let txn = store.core.db.begin_read().unwrap();
        let audit = txn.open_table(AUDIT).unwrap();
        let mut seen = Vec::new();
        for row in audit.iter().unwrap() {
            let (k, v) = row.unwrap();
            let rec = audit::StoredRecord(v.value())
                .decode(k.value(), "")
                .unwrap();
            assert_eq!(rec.body.outcome, Outcome::Ok);
            seen.extend(rec.body.target);
        }
        seen.sort();
        assert_eq!(seen, ["secret:1", "secret:2"]);
        assert_eq!(chain_len(store), 3);
    }

    #[test]
    fn storage_failures_are_told_from_request_failures() {
        use std::io::{Error, ErrorKind};
        let commit = |e: StorageError| StoreError::CommitFailed(redb::CommitError::Storage(e));
        let full = commit(StorageError::Io(Error::from(ErrorKind::StorageFull)));
        assert_eq!(Degraded::of(&full), Some(Degraded::DiskFull));
        let quota = StoreError::Db(redb::Error::Io(Error::from(ErrorKind::QuotaExceeded)));
        assert_eq!(Degraded::of(&quota), Some(Degraded::DiskFull));
        let io = commit(StorageError::Io(Error::from(ErrorKind::Other)));
        assert_eq!(Degraded::of(&io), Some(Degraded::Io));
        assert_eq!(
            Degraded::of(&StoreError::Db(redb::Error::PreviousIo)),
            Some(Degraded::Io)
        );
        // A batch failed by another write's disk-full commit is a storage failure too.
        let batch = StoreError::Batch(Arc::new(full));
        assert_eq!(Degraded::of(&batch), Some(Degraded::DiskFull));
        assert!(batch.is_unavailable());
        assert!(StoreError::Degraded(Degraded::DiskFull).is_unavailable());
        // The request's own failures never degrade the store.
        assert_eq!(Degraded::of(&StoreError::NotFound), None);
        assert_eq!(Degraded::of(&StoreError::Conflict("name")), None);
        assert_eq!(Degraded::of(&StoreError::Panicked), None);
    }

    #[test]
    fn a_lone_write_does_not_wait_for_company() {
        let t = temp_store("lone");
        for i in 0..20 {
            t.store
                .write(&actor(), 1, move |tx| tx.audit(event(i)))
                .unwrap();
        }
        // Twenty sequential writes are twenty commits: nothing waits to fill a batch.
        assert_eq!(t.store.commit_stats().commits(), 20);
        assert_eq!(chain_len(&t.store), 20);
    }
}
