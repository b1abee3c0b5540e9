//! Storage: one redb file holding users, sessions and sealed secrets.
//!
//! Invariants kept here: every value is sealed with the keyring before it is written and
//! opened only on the way out, so the file never holds plaintext; tokens are stored as
//! hashes; each operation is one transaction, committed with redb's default (immediate,
//! fsync'd) durability before it returns, so an acknowledged write survives a crash.

pub mod audit;
mod keys;
mod rotation;
mod schema;
mod secrets;
mod sessions;
mod shares;
pub mod tables;
mod users;

use std::path::{Path, PathBuf};

use redb::Database;

use crate::crypto::key_file::KeyPassphrase;
use crate::crypto::keyring::Keyring;
use crate::crypto::master::MasterKey;
use crate::crypto::{CryptoError, KeyNotice};

pub use audit::{Actor, AuditLog, AuditRecord, ChainCheck, Event, verify_chain};
pub use rotation::{
    DataKeyRotation, MasterRotation, MasterRotationOutcome, pending_master_path, rotate_master,
};
pub use schema::CURRENT_VERSION;
pub use secrets::{NewSecret, SecretPatch, SecretRecord};
pub use sessions::Session;
pub use shares::{MAX_WRONG_PASSPHRASES, Redemption, ShareRecord};
pub use users::UserRecord;

/// Errors from the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database {0} is already in use by another secretctl process; stop it first")]
    AlreadyInUse(PathBuf),
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
    #[error("not found")]
    NotFound,
    #[error("{0} already exists")]
    Conflict(&'static str),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error("database record is corrupt: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Db(String),
    #[error("audit trail unavailable: {0}")]
    AuditUnavailable(String),
}

macro_rules! db_error_from {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self {
                StoreError::Db(e.to_string())
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
    db: Database,
    keyring: Keyring,
    audit_log: Option<audit::AuditLog>,
    observers: Vec<audit::AuditObserver>,
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
        let db = open_database(db_path)?;
        let txn = db.begin_write()?;
        schema::migrate(&txn)?;
        let unlocked = keys::unlock_or_init(&txn, db_path, key_file, passphrase, master.as_ref())
            .map_err(|e| {
            rotation::explain_unlock_failure(e, &txn, db_path, key_file, passphrase)
        })?;
        txn.commit()?;
        let mut notices = master.map(|m| m.notices()).unwrap_or_default();
        notices.extend(unlocked.notices);
        notices.extend(rotation::pending_master_left(key_file));
        let store = Store {
            db,
            keyring: unlocked.keyring,
            audit_log: None,
            observers: Vec::new(),
        };
        Ok((store, notices))
    }

    fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T, StoreError> {
        serde_json::from_slice(bytes).map_err(|_| StoreError::Corrupt(format!("{what} row")))
    }

    fn encode<T: serde::Serialize>(row: &T) -> Result<Vec<u8>, StoreError> {
        serde_json::to_vec(row).map_err(|e| StoreError::Corrupt(e.to_string()))
    }
}

/// Opens (or creates) the redb file, mapping a lock held by another process to `AlreadyInUse`.
fn open_database(db_path: &Path) -> Result<Database, StoreError> {
    let db = Database::create(db_path).map_err(|e| match e {
        redb::DatabaseError::DatabaseAlreadyOpen => StoreError::AlreadyInUse(db_path.to_path_buf()),
        other => StoreError::Db(format!("{}: {other}", db_path.display())),
    })?;
    restrict_to_owner(db_path)?;
    Ok(db)
}

/// The database holds only ciphertext and hashes, but there is no reason for anyone else to
/// read it: 0600 like the key file.
fn restrict_to_owner(path: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| StoreError::Db(format!("{}: {e}", path.display())))
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
