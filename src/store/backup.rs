//! Backups: a consistent copy of the database in a new redb file, and the checks that tell
//! whether such a file is whole.
//!
//! A snapshot is made from ONE read transaction, so it is consistent by construction while
//! writes go on (redb's MVCC: the writer never waits for it). Every table this build knows is
//! copied row by row into a new file under a temporary name, committed (which fsyncs), made
//! 0600 and renamed into place: a crash leaves either no backup or a whole one. A table the
//! build does not know refuses the snapshot rather than leaving it out silently.
//!
//! The file also holds a manifest (`tables::BACKUP_MANIFEST`): schema version, rows per
//! table, the audit trail's last record and when it was made, so [`inspect_backup`] can
//! check the file on its own. The file holds what the database holds (sealed values,
//! wrapped keys, token hashes), never the master key: restoring it needs the key file,
//! which is backed up separately.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use redb::{
    Database, ReadOnlyDatabase, ReadTransaction, ReadableDatabase, ReadableTable, TableDefinition,
    TableHandle, WriteTransaction,
};
use serde::{Deserialize, Serialize};

use super::audit::{ChainCheck, ChainHead, StoredRecord};
use super::tables::*;
use super::{Store, StoreError, schema};
use crate::crypto::master::MasterKey;

/// Version of the backup layout (the manifest table and its fields).
pub const BACKUP_FORMAT: u32 = 1;
/// The one key of `BACKUP_MANIFEST`.
const MANIFEST_KEY: &str = "manifest";

/// What a backup held when it was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub schema_version: u32,
    /// Unix seconds.
    pub created_at: i64,
    /// Rows per table, by table name.
    pub tables: BTreeMap<String, u64>,
    /// The last audit record (0 and the genesis hash for an empty trail).
    pub audit_head_seq: u64,
    pub audit_head_hash: String,
}

impl Manifest {
    /// Rows of one table (0 when absent).
    pub fn count(&self, table: &str) -> u64 {
        self.tables.get(table).copied().unwrap_or(0)
    }
}

/// Calls `$each!(TABLE)` for every table a backup holds. This list is the schema as far as
/// backups go: a new table must be added here, or snapshots refuse the database (see
/// [`unknown_tables`]) rather than leave it out.
macro_rules! every_table {
    ($each:ident) => {
        $each!(META);
        $each!(DATA_KEYS);
        $each!(USERS);
        $each!(USERNAMES);
        $each!(SESSIONS);
        $each!(SECRETS);
        $each!(SECRET_VALUES);
        $each!(SECRET_NAMES);
        $each!(SHARES);
        $each!(SHARE_PAYLOADS);
        $each!(SHARE_IDS);
        $each!(SECRET_SHARES);
        $each!(AUDIT);
        $each!(AUDIT_BY_USER);
        $each!(SHARE_TOMBSTONES);
        $each!(AUDIT_KEYS);
        $each!(SECRET_VERSIONS);
        $each!(SECRET_VERSION_INFO);
        $each!(TEAMS);
        $each!(TEAM_NAMES);
        $each!(TEAM_MEMBERS);
        $each!(USER_TEAMS);
        $each!(SERVICE_TOKENS);
        $each!(SERVICE_TOKEN_IDS);
    };
}

/// Copies every table from `src` into `dst`; returns the rows copied per table present.
fn copy_all(
    src: &ReadTransaction,
    dst: &WriteTransaction,
) -> Result<BTreeMap<String, u64>, StoreError> {
    let mut counts = BTreeMap::new();
    macro_rules! copy {
        ($t:ident) => {
            if let Some(n) = copy_table(src, dst, $t)? {
                counts.insert($t.name().to_string(), n);
            }
        };
    }
    every_table!(copy);
    Ok(counts)
}

/// Copies one table; `None` when `src` does not have it.
fn copy_table<K: redb::Key + 'static, V: redb::Value + 'static>(
    src: &ReadTransaction,
    dst: &WriteTransaction,
    def: TableDefinition<K, V>,
) -> Result<Option<u64>, StoreError> {
    let from = match src.open_table(def) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let mut to = dst.open_table(def)?;
    let mut rows = 0u64;
    for entry in from.iter()? {
        let (k, v) = entry?;
        to.insert(k.value(), v.value())?;
        rows += 1;
    }
    Ok(Some(rows))
}

/// Counts the rows of one table by reading every one of them (so a damaged page is hit).
fn count_table<K: redb::Key + 'static, V: redb::Value + 'static>(
    txn: &ReadTransaction,
    def: TableDefinition<K, V>,
) -> Result<Option<u64>, StoreError> {
    let table = match txn.open_table(def) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let mut rows = 0u64;
    for entry in table.iter()? {
        let (k, v) = entry?;
        // Touch both halves: reading them is what surfaces a damaged page.
        let _ = (k.value(), v.value());
        rows += 1;
    }
    Ok(Some(rows))
}

/// Rows per table present in `txn`, every row read.
fn count_all(txn: &ReadTransaction) -> Result<BTreeMap<String, u64>, StoreError> {
    let mut counts = BTreeMap::new();
    macro_rules! count {
        ($t:ident) => {
            if let Some(n) = count_table(txn, $t)? {
                counts.insert($t.name().to_string(), n);
            }
        };
    }
    every_table!(count);
    Ok(counts)
}

/// Tables of `txn` that `copy_all` does not copy (the manifest of a restored backup aside).
fn unknown_tables(
    txn: &ReadTransaction,
    known: &BTreeMap<String, u64>,
) -> Result<Vec<String>, StoreError> {
    let mut unknown = Vec::new();
    for t in txn.list_tables()? {
        let name = t.name().to_string();
        if !known.contains_key(&name) && name != BACKUP_MANIFEST.name() {
            unknown.push(name);
        }
    }
    Ok(unknown)
}

fn schema_version(txn: &ReadTransaction) -> Result<u32, StoreError> {
    let meta = match txn.open_table(META) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(0),
        Err(e) => return Err(e.into()),
    };
    let v = meta.get(META_SCHEMA_VERSION)?;
    match v {
        Some(v) => schema::decode_u32(v.value()),
        None => Ok(0),
    }
}

fn audit_head(txn: &ReadTransaction) -> Result<ChainHead, StoreError> {
    match txn.open_table(AUDIT) {
        Ok(t) => super::write::last_record(&t),
        Err(redb::TableError::TableDoesNotExist(_)) => Ok(ChainHead::genesis()),
        Err(e) => Err(e.into()),
    }
}

/// Writes the snapshot of `src` to `dest` (temp name, commit, 0600, rename, fsync dir).
fn write_snapshot(src: ReadTransaction, dest: &Path, now: i64) -> Result<Manifest, StoreError> {
    let tmp = temp_sibling(dest)?;
    let result = (|| {
        let db = Database::create(&tmp).map_err(|source| StoreError::DbFile {
            path: tmp.clone(),
            source,
        })?;
        super::restrict_to_owner(&tmp)?;
        let txn = db.begin_write()?;
        let tables = copy_all(&src, &txn)?;
        let unknown = unknown_tables(&src, &tables)?;
        if !unknown.is_empty() {
            return Err(StoreError::Corrupt(format!(
                "the database has tables this backup does not know how to copy ({}); use the secretctl that wrote them",
                unknown.join(", ")
            )));
        }
        let head = audit_head(&src)?;
        let manifest = Manifest {
            format: BACKUP_FORMAT,
            schema_version: schema_version(&src)?,
            created_at: now,
            tables,
            audit_head_seq: head.seq,
            audit_head_hash: head.hash,
        };
        txn.open_table(BACKUP_MANIFEST)?
            .insert(MANIFEST_KEY, Store::encode(&manifest)?.as_slice())?;
        // Durable: redb's commit fsyncs the file.
        txn.commit()?;
        drop(src);
        drop(db);
        rename_durably(&tmp, dest)?;
        Ok(manifest)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// `.NAME.tmp-RANDOM` next to `path`, so the final rename stays on one file system.
pub fn temp_sibling(path: &Path) -> Result<PathBuf, StoreError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "backup".into());
    let id = crate::crypto::token::new_id()?;
    Ok(path.with_file_name(format!(".{name}.tmp-{}", &id[..12])))
}

/// Renames `from` over `to` and fsyncs the directory, so the new name survives a crash.
pub fn rename_durably(from: &Path, to: &Path) -> Result<(), StoreError> {
    let io = |source| StoreError::FileMode {
        path: to.to_path_buf(),
        source,
    };
    std::fs::rename(from, to).map_err(io)?;
    let dir = match to.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io)
}

impl Store {
    /// Writes a consistent snapshot of this open store to `dest` while writes go on (see the
    /// module docs).
    pub fn backup_to(&self, dest: &Path, now: i64) -> Result<Manifest, StoreError> {
        write_snapshot(self.core.db.begin_read()?, dest, now)
    }
}

/// Writes a snapshot of the database at `db_path` (server stopped; opened read-only, so it
/// is left exactly as it was) to `dest`.
pub fn backup_offline(db_path: &Path, dest: &Path, now: i64) -> Result<Manifest, StoreError> {
    if !db_path.is_file() {
        return Err(StoreError::NoDatabase(db_path.to_path_buf()));
    }
    let db = open_read_only(db_path).map_err(|e| match e {
        StoreError::DbFile {
            source: redb::DatabaseError::RepairAborted,
            ..
        } => StoreError::NeedsRecovery(db_path.to_path_buf()),
        e => e,
    })?;
    write_snapshot(db.begin_read()?, dest, now)
}

/// True when a process holds the database at `path` open (a server); a missing or
/// unreadable file is not in use.
pub fn in_use(path: &Path) -> Result<bool, StoreError> {
    if !path.exists() {
        return Ok(false);
    }
    match ReadOnlyDatabase::open(path) {
        Err(redb::DatabaseError::DatabaseAlreadyOpen) => Ok(true),
        _ => Ok(false),
    }
}

fn open_read_only(path: &Path) -> Result<ReadOnlyDatabase, StoreError> {
    super::refuse_pending_journal(path)?;
    ReadOnlyDatabase::open(path).map_err(|e| match e {
        redb::DatabaseError::DatabaseAlreadyOpen => StoreError::AlreadyInUse(path.to_path_buf()),
        source => StoreError::DbFile {
            path: path.to_path_buf(),
            source,
        },
    })
}

/// What [`inspect_backup`] found.
#[derive(Debug)]
pub struct BackupReport {
    pub manifest: Manifest,
    /// Every disagreement between the file and its manifest, or with itself; empty when whole.
    pub problems: Vec<String>,
    /// The keyed check of the audit trail (`verify_chain`), when a master key was given.
    pub keyed_chain: Option<ChainCheck>,
}

impl BackupReport {
    pub fn is_whole(&self) -> bool {
        self.problems.is_empty() && !matches!(self.keyed_chain, Some(ChainCheck::Broken { .. }))
    }
}

/// Checks a backup file on its own, opening it read-only (it may be on read-only storage;
/// not a byte changes): every row of every table is read and counted against the manifest;
/// the schema version is one this build reads; the audit trail is linked record to record
/// and ends at the manifest's head. With `master`, also that the key opens every data key
/// and the audit keys, and the keyed check of the whole trail (`verify_chain`), which
/// must contain the manifest's head.
pub fn inspect_backup(path: &Path, master: Option<&MasterKey>) -> Result<BackupReport, StoreError> {
    let mut problems = Vec::new();
    let manifest = {
        let db = open_read_only(path)?;
        let txn = db.begin_read()?;
        let manifest: Manifest = match txn.open_table(BACKUP_MANIFEST) {
            Ok(t) => match t.get(MANIFEST_KEY)? {
                Some(v) => Store::decode(v.value(), "backup manifest")?,
                None => return Err(not_a_backup(path)),
            },
            Err(redb::TableError::TableDoesNotExist(_)) => return Err(not_a_backup(path)),
            Err(e) => return Err(e.into()),
        };
        if manifest.format != BACKUP_FORMAT {
            problems.push(format!(
                "backup format {} is not the one this secretctl reads ({BACKUP_FORMAT})",
                manifest.format
            ));
        }
        let version = schema_version(&txn)?;
        if version != manifest.schema_version {
            problems.push(format!(
                "schema version {version} differs from the manifest's {}",
                manifest.schema_version
            ));
        }
        if version > schema::CURRENT_VERSION {
            problems.push(format!(
                "schema version {version} is newer than this secretctl supports ({}); upgrade secretctl",
                schema::CURRENT_VERSION
            ));
        }
        let counts = count_all(&txn)?;
        if counts != manifest.tables {
            for name in manifest.tables.keys().chain(counts.keys()) {
                let (want, got) = (manifest.tables.get(name), counts.get(name));
                if want != got
                    && !problems
                        .iter()
                        .any(|p| p.starts_with(&format!("table {name}:")))
                {
                    problems.push(format!(
                        "table {name}: {} rows, the manifest says {}",
                        got.copied().unwrap_or(0),
                        want.copied().unwrap_or(0)
                    ));
                }
            }
        }
        let unknown = unknown_tables(&txn, &counts)?;
        if !unknown.is_empty() {
            problems.push(format!("unexpected tables: {}", unknown.join(", ")));
        }
        if let Some(p) = chain_structure(&txn, &manifest)? {
            problems.push(p);
        }
        if let Some(master) = master {
            let keys = txn.open_table(DATA_KEYS)?;
            for entry in keys.iter()? {
                let (id, wrapped) = entry?;
                if master.unwrap_key(wrapped.value()).is_err() {
                    problems.push(format!(
                        "the master key {} does not open data key {} of this backup",
                        master.path().display(),
                        id.value()
                    ));
                }
            }
        }
        manifest
    };
    let keyed_chain = match master {
        None => None,
        Some(master) => {
            let head = ChainHead {
                seq: manifest.audit_head_seq,
                hash: manifest.audit_head_hash.clone(),
            };
            match super::audit::verify_chain(path, master, Some(&head)) {
                Ok(check) => Some(check),
                Err(StoreError::Crypto(e)) => {
                    problems.push(format!(
                        "the master key {} does not open this backup's audit keys: {e}",
                        master.path().display()
                    ));
                    None
                }
                Err(e) => return Err(e),
            }
        }
    };
    Ok(BackupReport {
        manifest,
        problems,
        keyed_chain,
    })
}

fn not_a_backup(path: &Path) -> StoreError {
    StoreError::Corrupt(format!(
        "{} has no backup manifest: not a file made by `secretctl admin backup`",
        path.display()
    ))
}

/// The trail's structure without the key: sequence numbers with no gap from where the live
/// trail starts (after the archive anchor, or 1), every record readable, a JSON record's
/// `prev_hash` equal to the hash the record before it carries (a compact record's is that
/// by construction), and the last one the manifest's head. The links themselves (keyed
/// MACs, which also cover a compact record's implied `seq` and `prev_hash`) and the anchor's
/// MAC need the master key.
fn chain_structure(
    txn: &ReadTransaction,
    manifest: &Manifest,
) -> Result<Option<String>, StoreError> {
    let start = match txn.open_table(META) {
        Ok(meta) => super::audit::live_start(&meta)?,
        Err(redb::TableError::TableDoesNotExist(_)) => ChainHead::genesis(),
        Err(e) => return Err(e.into()),
    };
    let audit = match txn.open_table(AUDIT) {
        Ok(t) => Some(t),
        Err(redb::TableError::TableDoesNotExist(_)) => None,
        Err(e) => return Err(e.into()),
    };
    let mut expected = start.seq + 1;
    let mut prev = start.hash;
    for entry in audit.iter().flat_map(|t| t.iter()).flatten() {
        let (k, v) = entry?;
        let seq = k.value();
        if seq != expected {
            return Ok(Some(format!(
                "audit record {expected} is missing (next is {seq})"
            )));
        }
        let record = match StoredRecord(v.value()).decode(seq, &prev) {
            Ok(record) => record,
            Err(why) => return Ok(Some(format!("audit record {seq} is not readable ({why})"))),
        };
        if record.body.seq != seq || record.body.prev_hash != prev {
            return Ok(Some(format!(
                "audit record {seq} does not link to the record before it"
            )));
        }
        prev = record.hash;
        expected += 1;
    }
    let last = expected - 1;
    if last != manifest.audit_head_seq || prev != manifest.audit_head_hash {
        return Ok(Some(format!(
            "the audit trail ends at record {last}, the manifest says {}",
            manifest.audit_head_seq
        )));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::{actor, temp_store};
    use crate::store::{Action, Event};

    #[test]
    fn a_snapshot_holds_every_table_and_checks_against_its_manifest() {
        let t = temp_store("backup");
        for i in 0..5 {
            t.store
                .write(&actor(), 100 + i, |tx| {
                    tx.audit(Event::ok(Action::SecretRead, None, None))
                })
                .unwrap();
        }
        let dest = t.dir.join("snap.redb");
        let m = t.store.backup_to(&dest, 1234).unwrap();
        assert_eq!(m.created_at, 1234);
        assert_eq!(m.count("audit"), 5);
        assert_eq!(m.audit_head_seq, 5);
        assert_eq!(m.schema_version, schema::CURRENT_VERSION);
        // Every table of a fresh store is one the snapshot knows.
        let read = t.store.core.db.begin_read().unwrap();
        let names: Vec<String> = read
            .list_tables()
            .unwrap()
            .map(|t| t.name().to_string())
            .collect();
        for name in &names {
            assert!(m.tables.contains_key(name), "{name} not copied");
        }
        drop(read);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&dest).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);

        let master = MasterKey::load(&t.dir.join("master.key"), None).unwrap();
        let r = inspect_backup(&dest, Some(&master)).unwrap();
        assert!(r.is_whole(), "{r:?}");
        assert!(matches!(
            r.keyed_chain,
            Some(ChainCheck::Intact { records: 5, .. })
        ));
        let r = inspect_backup(&dest, None).unwrap();
        assert!(r.is_whole() && r.keyed_chain.is_none(), "{r:?}");

        // Another master key opens nothing in it.
        let other = t.dir.join("other.key");
        let stranger = MasterKey::create(&other, None).unwrap();
        let r = inspect_backup(&dest, Some(&stranger)).unwrap();
        assert!(!r.is_whole(), "{r:?}");
        assert!(
            r.problems.iter().any(|p| p.contains("does not open")),
            "{r:?}"
        );
    }

    #[test]
    fn a_backup_with_a_row_removed_is_reported() {
        let t = temp_store("backup-cut");
        for i in 0..3 {
            t.store
                .write(&actor(), 100 + i, |tx| {
                    tx.audit(Event::ok(Action::SecretRead, None, None))
                })
                .unwrap();
        }
        let dest = t.dir.join("snap.redb");
        t.store.backup_to(&dest, 1).unwrap();
        {
            let db = Database::open(&dest).unwrap();
            let txn = db.begin_write().unwrap();
            txn.open_table(AUDIT).unwrap().remove(2u64).unwrap();
            txn.commit().unwrap();
        }
        let r = inspect_backup(&dest, None).unwrap();
        assert!(!r.is_whole());
        assert!(
            r.problems.iter().any(|p| p.contains("table audit: 2 rows")),
            "{r:?}"
        );
        assert!(
            r.problems.iter().any(|p| p.contains("record 2 is missing")),
            "{r:?}"
        );
    }

    #[test]
    fn a_plain_database_is_not_a_backup() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plain.redb");
        {
            let db = Database::create(&path).unwrap();
            let txn = db.begin_write().unwrap();
            schema::migrate(&txn).unwrap();
            txn.commit().unwrap();
        }
        let e = inspect_backup(&path, None).unwrap_err();
        assert!(e.to_string().contains("no backup manifest"), "{e}");
    }

    #[test]
    fn a_table_the_snapshot_does_not_know_refuses_it_and_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.redb");
        {
            let db = Database::create(&path).unwrap();
            let txn = db.begin_write().unwrap();
            schema::migrate(&txn).unwrap();
            let extra: TableDefinition<&str, &str> = TableDefinition::new("from_the_future");
            txn.open_table(extra).unwrap().insert("k", "v").unwrap();
            txn.commit().unwrap();
        }
        let dest = dir.path().join("out.redb");
        let e = backup_offline(&path, &dest, 1).unwrap_err();
        assert!(e.to_string().contains("from_the_future"), "{e}");
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, vec![std::ffi::OsString::from("db.redb")], "{left:?}");
    }
}
