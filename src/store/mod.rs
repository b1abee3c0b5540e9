//! Storage: one redb file holding users, sessions and sealed secrets.
//!
//! Invariants kept here: every value is sealed with the keyring before it is written and
//! opened only on the way out, so the file never holds plaintext; tokens are stored as
//! hashes; every change goes through [`Store::write`] (see `write`), which returns only once
//! the change and its audit records are durable, so an acknowledged write survives a crash.
//! Reads run on their own read transactions, outside the writer; this module never sees HTTP
//! types.

mod accounts;
mod archive;
pub mod audit;
mod audit_keys;
mod audit_row;
mod audit_vocab;
pub mod backup;
mod journal;
mod keys;
mod rotation;
mod schema;
mod secrets;
mod sessions;
mod shares;
pub mod tables;
mod teams;
mod tokens;
mod users;
mod versions;
mod write;

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use redb::Database;

use crate::crypto::key_file::KeyPassphrase;
use crate::crypto::keyring::Keyring;
use crate::crypto::master::MasterKey;
use crate::crypto::{CryptoError, KeyNotice};

pub use accounts::DeletedAccount;
pub use archive::{ArchiveReport, verify_with_archives};
pub use audit::{Action, Actor, AuditLog, AuditRecord, ChainCheck, Event, Outcome, verify_chain};
pub use rotation::{
    DataKeyRotation, MasterRotation, MasterRotationOutcome, pending_master_path, rotate_master,
};
pub use schema::CURRENT_VERSION;
pub use secrets::{NewSecret, SecretPatch, SecretRecord};
pub use sessions::{LAST_USED_GRANULARITY_SECS, ListedSession, Session, session_id};
pub use shares::{MAX_WRONG_PASSPHRASES, Redemption, ShareRecord};
pub use teams::{LastAdmin, Role, TeamRecord};
pub use tokens::TokenRecord;
pub use users::{OPERATOR, UserRecord, UserSummary};
pub use versions::{DEFAULT_KEEP_VERSIONS, MAX_KEEP_VERSIONS, SecretVersion};
pub use write::{CommitStats, Degraded, MAX_BATCH, Tx};

use audit_keys::{AuditKeys, SignedHead};
use write::{Committer, Core, LiveDb};

/// Errors from the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database {0} is already in use by another secretctl process; stop it first")]
    AlreadyInUse(PathBuf),
    #[error(
        "database {0} was not closed cleanly: its newest commits are still in its journal beside it; start the server on it (or run any `secretctl admin` command on its data dir) once to apply them, then try again"
    )]
    JournalPending(PathBuf),
    #[error(
        "database {db} was created with a master key, but the key file {key} is missing; restore it from backup or point --key-file at it"
    )]
    KeyFileMissing { db: PathBuf, key: PathBuf },
    #[error("no database at {0}: check --data-dir")]
    NoDatabase(PathBuf),
    #[error(
        "the master key in {key} does not open this database, but {pending} does: an interrupted `secretctl admin rotate-master` re-keyed the database and did not put the new key in place; finish it with `secretctl admin rotate-master --data-dir {data_dir} --key-file {key}` (or `mv {pending} {key}`)"
    )]
    InterruptedMasterRotation {
        key: PathBuf,
        pending: PathBuf,
        data_dir: PathBuf,
    },
    #[error(
        "database schema version {found} is newer than this secretctl supports ({supported}); upgrade secretctl"
    )]
    NewerSchema { found: u32, supported: u32 },
    #[error(
        "the audit trail does not end at its authenticated head: records were deleted or altered while the server was stopped; run `secretctl audit verify` to see where, and restore the database from a backup"
    )]
    AuditTampered,
    #[error(
        "this account is the last admin of a team: make another member admin, or delete the team, first"
    )]
    LastTeamAdmin,
    #[error("not found")]
    NotFound,
    #[error("{0} already exists")]
    Conflict(&'static str),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error("database record is corrupt: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Db(#[from] redb::Error),
    #[error("database {path}: {source}")]
    DbFile {
        path: PathBuf,
        #[source]
        source: redb::DatabaseError,
    },
    #[error("database file {path}: {source}")]
    FileMode {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The batch's commit failed (disk full, I/O error): nothing of it was applied.
    #[error("the write could not be made durable: {0}")]
    CommitFailed(#[source] redb::CommitError),
    /// Another write of the same batch failed the whole batch (see `CommitFailed`).
    #[error("{0}")]
    Batch(#[source] Arc<StoreError>),
    #[error("audit trail unavailable: {0}")]
    AuditUnavailable(String),
    #[error("the database is closed")]
    Closed,
    #[error("a write panicked and was rolled back")]
    Panicked,
    #[error("a write finished without a result")]
    WriteLost,
    #[error("cannot start the commit thread: {0}")]
    CommitterThread(#[source] std::io::Error),
    /// A read-only open met a file a crash left unrecovered (only a writable open repairs).
    #[error(
        "database {0} was not closed cleanly (a crash?): start the server once so it recovers the file, then back up through it"
    )]
    NeedsRecovery(PathBuf),
    /// Refused without trying: an earlier write failed for the host's storage and the store
    /// is between recovery attempts (see `write::LiveDb`).
    #[error("{}", .0.reason())]
    Degraded(Degraded),
    #[error("audit archive {path}: {source}")]
    Archive {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot create the database {path}: {source}")]
    CreateDb {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl StoreError {
    /// True when the write failed for a reason of the host (disk full, I/O error, closing),
    /// not of the request: the caller may try again later, and nothing was applied.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::CommitFailed(_)
            | StoreError::Closed
            | StoreError::CommitterThread(_)
            | StoreError::Degraded(_)
            | StoreError::Db(
                redb::Error::Io(_) | redb::Error::PreviousIo | redb::Error::DatabaseClosed,
            ) => true,
            StoreError::Batch(cause) => cause.is_unavailable(),
            _ => false,
        }
    }
}

/// redb's per-operation errors all convert into `redb::Error`, which keeps the cause.
macro_rules! db_error_from {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self {
                StoreError::Db(e.into())
            }
        }
    )*};
}
db_error_from!(
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

/// The open database and the data keys that seal its values.
pub struct Store {
    core: Arc<Core>,
    /// Started by the first write, stopped by `&mut self` operations that need the database
    /// to themselves (attaching observers, rotation, compaction) and on drop.
    committer: OnceLock<Committer>,
    /// Values of each secret kept, the current one included (see `versions`).
    keep_versions: u32,
}

impl Drop for Store {
    /// Answers every queued write before the database closes.
    fn drop(&mut self) {
        if let Some(c) = self.committer.take() {
            c.stop();
        }
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (or creates) the database at `db_path`, migrates it, and unlocks its data keys
    /// with the master identity in `key_file`. A new master key is created only for a
    /// database that has no data key yet; an existing one is never silently re-keyed.
    ///
    /// Drops the notices [`Store::open_with_key`] returns: for tests and tools with no one to
    /// tell.
    pub fn open(db_path: &Path, key_file: &Path) -> Result<Store, StoreError> {
        Self::open_with_key(db_path, key_file, None).map(|(store, _)| store)
    }

    /// [`Store::open`] with a key file that may be sealed under `passphrase`; a new key file
    /// is sealed under it from the start. Also returns what the operator should hear about
    /// the key (a new key to back up, a loose file mode...): this layer does not print.
    pub fn open_with_key(
        db_path: &Path,
        key_file: &Path,
        passphrase: Option<&KeyPassphrase>,
    ) -> Result<(Store, Vec<KeyNotice>), StoreError> {
        // An existing key is loaded, and its passphrase checked, before the database is
        // touched: a wrong passphrase leaves every byte of both files as it was.
        let master = if key_file.exists() {
            Some(MasterKey::load(key_file, passphrase)?)
        } else {
            None
        };
        preflight(db_path, key_file, master.as_ref())?;
        // A new database is built under a temporary name and put in place only once complete
        // (see `NewDbFile`): a first start that fails, on a full disk say, leaves nothing at
        // `db_path` that would block the next one.
        let (db, fresh) = if db_path.exists() {
            (open_database(db_path)?, None)
        } else {
            let (fresh, db) = NewDbFile::create(db_path)?;
            (db, Some(fresh))
        };
        let txn = db.begin_write()?;
        let found = schema::migrate(&txn)?;
        let unlocked = keys::unlock_or_init(&txn, db_path, key_file, passphrase, master.as_ref())
            .map_err(|e| {
            rotation::explain_unlock_failure(e, &txn, db_path, key_file, passphrase)
        })?;
        let mut notices = master.as_ref().map(|m| m.notices()).unwrap_or_default();
        // A new database has just had its master key created: load it for the audit keys.
        let master = match master {
            Some(m) => m,
            None => MasterKey::load(key_file, passphrase)?,
        };
        let audit_keys = open_audit_trail(&txn, &master, found)?;
        txn.commit()?;
        let db = match fresh {
            Some(fresh) => fresh.publish(db)?,
            None => db,
        };
        notices.extend(unlocked.notices);
        notices.extend(rotation::pending_master_left(key_file));
        let store = Store::from_parts(db, db_path, unlocked.keyring, audit_keys);
        Ok((store, notices))
    }

    fn from_parts(db: Database, path: &Path, keyring: Keyring, audit_keys: AuditKeys) -> Store {
        Store {
            core: Arc::new(Core {
                db: LiveDb::new(db, path.to_path_buf()),
                keyring,
                audit_keys,
                audit_log: None,
                observers: Vec::new(),
                stats: Arc::default(),
                writer: std::sync::Mutex::default(),
            }),
            committer: OnceLock::new(),
            keep_versions: versions::DEFAULT_KEEP_VERSIONS,
        }
    }

    /// Runs `f` in a write transaction and returns its result once the transaction, with
    /// every audit record `f` appended, is durable, mirrored and observed. This is the only
    /// way to change the database. `f` may run more than once (see `write`): it must act only
    /// through the `Tx` it is given. An `Err` from `f` rolls back everything `f` did.
    pub fn write<T, F>(&self, actor: &Actor, now: i64, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnMut(&mut Tx<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        let committer = match self.committer.get() {
            Some(c) => c,
            None => {
                let started = Committer::start(Arc::clone(&self.core))?;
                // Two first writers may race here; the loser's thread ends at once.
                if let Err(extra) = self.committer.set(started) {
                    extra.stop();
                }
                self.committer.get().ok_or(StoreError::Closed)?
            }
        };
        committer.submit(actor, now, f)
    }

    /// Why the store cannot write now (disk full...), if it cannot; cleared by the first
    /// write or probe that commits again.
    pub fn degraded(&self) -> Option<Degraded> {
        self.core.db.degraded()
    }

    /// Counters of the write path (batches, writes, commit time).
    pub fn commit_stats(&self) -> Arc<CommitStats> {
        Arc::clone(&self.core.stats)
    }

    /// Runs `f` at once on this thread, in a transaction of its own, for operations that
    /// hold the store exclusively (rotations): `f` may borrow the store and runs once.
    fn write_exclusive<T>(
        &mut self,
        actor: &Actor,
        now: i64,
        f: impl FnOnce(&Store, &mut Tx<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        if let Some(c) = self.committer.take() {
            c.stop();
        }
        let this: &Store = self;
        write::run_exclusive(&this.core, actor, now, |tx| f(this, tx))
    }

    /// The shared state, to itself: stops the committer (after it has drained its queue)
    /// so nothing else holds it.
    fn core_mut(&mut self) -> &mut Core {
        if let Some(c) = self.committer.take() {
            c.stop();
        }
        Arc::get_mut(&mut self.core).unwrap_or_else(|| {
            unreachable!("only the committer thread shares the core, and it has ended")
        })
    }

    fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T, StoreError> {
        serde_json::from_slice(bytes).map_err(|_| StoreError::Corrupt(format!("{what} row")))
    }

    fn encode<T: serde::Serialize>(row: &T) -> Result<Vec<u8>, StoreError> {
        serde_json::to_vec(row).map_err(|e| StoreError::Corrupt(e.to_string()))
    }
}

/// Unwraps the audit keys (making the first for a database without) and checks the trail
/// against its authenticated head. A database upgraded from before heads existed (`found`,
/// the schema version it had) gets its first head now; after that a trail that does not end
/// at its head was cut or rewritten while the server was stopped, and opening it would let
/// new records paper over that: refused, pointing at `audit verify`.
fn open_audit_trail(
    txn: &redb::WriteTransaction,
    master: &MasterKey,
    found: u32,
) -> Result<AuditKeys, StoreError> {
    let keys = audit_keys::load_or_init(txn, master)?;
    let last = write::load_head(txn)?;
    let stored = audit_keys::read_head(&txn.open_table(tables::META)?)?;
    let intact = stored.as_ref().is_some_and(|h| h.vouches_for(&keys, &last));
    if found < schema::AUDIT_HEAD_SINCE && stored.is_none() {
        audit_keys::write_head(txn, &SignedHead::sign(&keys, last.seq, &last.hash)?)?;
    } else if !intact {
        return Err(StoreError::AuditTampered);
    }
    Ok(keys)
}

/// The refusals an existing database can meet at open, checked on a read-only open first,
/// so that refusing leaves every byte of the file as it was (a writable open alone may
/// rewrite part of it). A file that cannot be opened read-only is left to the writable open,
/// which reports (or repairs) it.
fn preflight(
    db_path: &Path,
    key_file: &Path,
    master: Option<&MasterKey>,
) -> Result<(), StoreError> {
    // After a crash the file alone is older than what was acknowledged (and redb would ask
    // for a repair anyway): the writable open applies the journal and checks as it opens.
    if !db_path.is_file() || journal::is_pending(db_path) {
        return Ok(());
    }
    let db = match redb::ReadOnlyDatabase::open(db_path) {
        Ok(db) => db,
        Err(redb::DatabaseError::DatabaseAlreadyOpen) => {
            return Err(StoreError::AlreadyInUse(db_path.to_path_buf()));
        }
        Err(_) => return Ok(()),
    };
    let txn = redb::ReadableDatabase::begin_read(&db)?;
    let meta = match txn.open_table(tables::META) {
        Ok(meta) => meta,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let found = match meta.get(tables::META_SCHEMA_VERSION)? {
        Some(v) => schema::decode_u32(v.value())?,
        None => 0,
    };
    if found > schema::CURRENT_VERSION {
        return Err(StoreError::NewerSchema {
            found,
            supported: schema::CURRENT_VERSION,
        });
    }
    let has_keys = meta.get(tables::META_ACTIVE_DATA_KEY)?.is_some();
    let Some(master) = master else {
        return match has_keys {
            true => Err(StoreError::KeyFileMissing {
                db: db_path.to_path_buf(),
                key: key_file.to_path_buf(),
            }),
            false => Ok(()),
        };
    };
    if found >= schema::AUDIT_HEAD_SINCE {
        let tag = audit_keys::read_tag(&meta)?;
        let keys = match txn.open_table(tables::AUDIT_KEYS) {
            Ok(table) => match audit_keys::unwrap_all(&table, tag.as_deref(), master) {
                Ok(keys) => keys,
                // The wrong master key (an interrupted rotation, say): the writable open
                // explains which key file opens this database.
                Err(StoreError::Crypto(_)) => return Ok(()),
                Err(e) => return Err(e),
            },
            Err(redb::TableError::TableDoesNotExist(_)) => AuditKeys::none(),
            Err(e) => return Err(e.into()),
        };
        let last = match txn.open_table(tables::AUDIT) {
            Ok(table) => write::last_record(&table)?,
            Err(redb::TableError::TableDoesNotExist(_)) => audit::ChainHead::genesis(),
            Err(e) => return Err(e.into()),
        };
        let head = audit_keys::read_head(&meta)?;
        if !head.is_some_and(|h| h.vouches_for(&keys, &last)) {
            return Err(StoreError::AuditTampered);
        }
    }
    Ok(())
}

/// Bytes of redb page cache (see `open_database`).
const CACHE_BYTES: usize = 32 << 20;

/// Refuses a read-only look at `db_path` while its journal holds commits (after a crash):
/// the file alone would show an older state than was acknowledged. (A running server holds
/// the file: its readers are refused as `AlreadyInUse` before this matters.)
pub(crate) fn refuse_pending_journal(db_path: &Path) -> Result<(), StoreError> {
    if journal::is_pending(db_path) && !backup::in_use(db_path)? {
        return Err(StoreError::JournalPending(db_path.to_path_buf()));
    }
    Ok(())
}

/// Removes the journal beside `db_path`, whose commits belong to the file a restore has just
/// replaced.
pub fn discard_journal(db_path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(journal::path_for(db_path)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Opens (or creates) the redb file over its commit journal (`journal`), mapping a lock held
/// by another process to `AlreadyInUse`.
fn open_database(db_path: &Path) -> Result<Database, StoreError> {
    let db = open_journaled(db_path, true)?;
    restrict_to_owner(db_path)?;
    Ok(db)
}

/// Opens the redb file at `db_path` (creating it only when `create`) with its commit journal
/// applied and in use.
pub(super) fn open_journaled(db_path: &Path, create: bool) -> Result<Database, StoreError> {
    use std::os::unix::fs::OpenOptionsExt;
    let in_use = || StoreError::AlreadyInUse(db_path.to_path_buf());
    let io_err = |source: std::io::Error| StoreError::DbFile {
        path: db_path.to_path_buf(),
        source: redb::DatabaseError::Storage(redb::StorageError::Io(source)),
    };
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(create)
        .truncate(false)
        .mode(0o600)
        .open(db_path)
        .map_err(io_err)?;
    let backend = journal::Journaled::open(db_path, file).map_err(|e| match e.kind() {
        std::io::ErrorKind::WouldBlock => in_use(),
        _ => io_err(e),
    })?;
    // redb's page cache grows to 1 GiB by default, i.e. the whole file for any real secrets
    // database; 32 MiB holds the hot metadata and indexes of hundreds of thousands of secrets,
    // and the kernel's page cache serves the rest.
    redb::Builder::new()
        .set_cache_size(CACHE_BYTES)
        .create_with_backend(backend)
        .map_err(|e| match e {
            redb::DatabaseError::DatabaseAlreadyOpen => in_use(),
            source => StoreError::DbFile {
                path: db_path.to_path_buf(),
                source,
            },
        })
}

/// A database being created: a 0600 file under a temporary name beside its final path,
/// linked into place by `publish` once initialised, closed and fsync'd; removed on drop
/// otherwise. The link (not a rename) never replaces a database another first start put
/// there meanwhile. A crash mid-way leaves only `<name>.new-<pid>`, which blocks nothing.
struct NewDbFile {
    tmp: PathBuf,
    path: PathBuf,
}

impl NewDbFile {
    fn create(path: &Path) -> Result<(NewDbFile, Database), StoreError> {
        use std::os::unix::fs::OpenOptionsExt;
        let tmp = crate::crypto::key_file::sibling(path, &format!(".new-{}", std::process::id()));
        let create_err = |source| StoreError::CreateDb {
            path: path.to_path_buf(),
            source,
        };
        // Our pid: a file by this name is a dead process's leftover, safe to truncate. Made
        // empty and 0600 first: redb initialises an empty file and keeps its mode.
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(create_err)?;
        let fresh = NewDbFile {
            tmp,
            path: path.to_path_buf(),
        };
        let db = Database::create(&fresh.tmp).map_err(|source| StoreError::DbFile {
            path: path.to_path_buf(),
            source,
        })?;
        Ok((fresh, db))
    }

    /// Closes `db` (its committed state made durable), puts the file at its final path and
    /// opens it there.
    fn publish(self, db: Database) -> Result<Database, StoreError> {
        let create_err = |source| StoreError::CreateDb {
            path: self.path.clone(),
            source,
        };
        db.close().map_err(|source| StoreError::DbFile {
            path: self.path.clone(),
            source,
        })?;
        std::fs::File::open(&self.tmp)
            .and_then(|f| f.sync_all())
            .map_err(create_err)?;
        match std::fs::hard_link(&self.tmp, &self.path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(StoreError::AlreadyInUse(self.path.clone()));
            }
            // A file system without hard links: rename, after checking nothing came meanwhile.
            Err(_) if !self.path.exists() => {
                std::fs::rename(&self.tmp, &self.path).map_err(create_err)?
            }
            Err(e) => return Err(create_err(e)),
        }
        let parent = self.path.parent().filter(|p| !p.as_os_str().is_empty());
        std::fs::File::open(parent.unwrap_or(Path::new(".")))
            .and_then(|d| d.sync_all())
            .map_err(create_err)?;
        // Drop removes the temporary name; the database lives on under its own.
        let path = self.path.clone();
        drop(self);
        open_database(&path)
    }
}

impl Drop for NewDbFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.tmp);
    }
}

/// The database holds only ciphertext and hashes, but there is no reason for anyone else to
/// read it: 0600 like the key file.
fn restrict_to_owner(path: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(|source| {
        StoreError::FileMode {
            path: path.to_path_buf(),
            source,
        }
    })
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;

    /// A store in a fresh temp dir; the dir is removed when the guard drops.
    pub struct TempStore {
        pub store: Store,
        pub dir: PathBuf,
    }

    impl Drop for TempStore {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    pub fn actor() -> Actor {
        Actor {
            user_id: Some("u1".into()),
            ip: "127.0.0.1".into(),
            user_agent: "test".into(),
            actor_name: None,
        }
    }

    /// A user record as an account registered at time 1 has it.
    pub fn user(id: &str, name: &str) -> UserRecord {
        UserRecord {
            id: id.into(),
            username: name.into(),
            password_hash: "$scrypt$old".into(),
            created_at: 1,
            email: None,
            disabled: false,
            links_kept: false,
            must_change_password_until: None,
        }
    }

    pub fn temp_store(tag: &str) -> TempStore {
        let dir = std::env::temp_dir().join(format!(
            "sctl-store-{tag}-{}-{}",
            std::process::id(),
            crate::crypto::token::new_id().unwrap()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let store = Store::open(&dir.join("db.redb"), &dir.join("master.key")).unwrap();
        TempStore { store, dir }
    }
}
