//! Data keys at rest: age ciphertexts in `DATA_KEYS`, unwrapped once at open, and the
//! authentication code over them (see `crypto::key_set`).
//!
//! Invariants: a key set is used only after its tag verifies under the master identity's
//! secret; every change this process makes to `DATA_KEYS` or the active id re-makes the tag
//! in the same transaction ([`authenticate_key_set`]); a sealed value naming a key id outside
//! the set is an error, never a guess.

use std::collections::BTreeMap;
use std::path::Path;

use redb::{ReadableTable, ReadableTableMetadata, WriteTransaction};

use super::StoreError;
use super::schema::decode_u32;
use super::tables::*;
use crate::crypto::key_file::KeyPassphrase;
use crate::crypto::keyring::{DataKey, Keyring};
use crate::crypto::master::MasterKey;
use crate::crypto::{CryptoError, KeyNotice, key_set};

const FIRST_KEY_ID: u32 = 1;

/// `META` key of the key set's HMAC tag (32 bytes): over every `DATA_KEYS` row and the
/// active id, under a key derived from the master identity's secret.
pub const META_KEY_SET_MAC: &str = "key_set_mac";

/// An unlocked key set, and what the operator should hear about how it was unlocked.
pub struct Unlocked {
    pub keyring: Keyring,
    pub notices: Vec<KeyNotice>,
}

/// Unwraps the database's data keys with `master` (already loaded from `key_file`; `None`
/// when that file does not exist) and checks their authentication code, or on a database
/// without any, creates the first one (and the master key file too, sealed under
/// `passphrase` when given).
pub fn unlock_or_init(
    txn: &WriteTransaction,
    db_path: &Path,
    key_file: &Path,
    passphrase: Option<&KeyPassphrase>,
    master: Option<&MasterKey>,
) -> Result<Unlocked, StoreError> {
    let active = {
        let meta = txn.open_table(META)?;
        let v = meta.get(META_ACTIVE_DATA_KEY)?;
        match v {
            Some(v) => Some(decode_u32(v.value())?),
            None => None,
        }
    };
    match active {
        Some(active) => {
            let Some(master) = master else {
                return Err(StoreError::KeyFileMissing {
                    db: db_path.to_path_buf(),
                    key: key_file.to_path_buf(),
                });
            };
            unlock(txn, active, master)
        }
        None => init(txn, db_path, key_file, passphrase, master),
    }
}

fn unlock(txn: &WriteTransaction, active: u32, master: &MasterKey) -> Result<Unlocked, StoreError> {
    let rows = wrapped_keys(txn)?;
    let mut keys = BTreeMap::new();
    let mut first_failure = None;
    for (id, wrapped) in &rows {
        match master.unwrap_key(wrapped) {
            Ok(key) => {
                keys.insert(*id, key);
            }
            Err(e) => {
                first_failure.get_or_insert(e);
            }
        }
    }
    if let Some(e) = first_failure {
        // None opening means the wrong key file (which `explain_unlock_failure` may trace to
        // an interrupted rotation); some opening means the set was changed behind our back.
        return Err(if keys.is_empty() {
            e.into()
        } else {
            mismatch("a data key does not open with this master key")
        });
    }
    let keyring = Keyring::new(active, keys)
        .ok_or_else(|| mismatch("the active data key is not in the set"))?;
    let mut notices = Vec::new();
    match stored_tag(txn)? {
        Some(tag) => key_set::verify(master, active, &as_refs(&rows), &tag)?,
        None => {
            adopt_unauthenticated(txn, master, &keyring)?;
            authenticate_key_set(txn, master)?;
            notices.push(KeyNotice::KeySetAuthenticated {
                key_file: master.path().to_path_buf(),
            });
        }
    }
    Ok(Unlocked { keyring, notices })
}

/// A database from a build before key-set authentication has no tag. Nothing inside the file
/// can tell that apart from a tag an attacker deleted, so a set is adopted only when it is
/// what those builds always left (one data key, active) and that key opens every value
/// stored: a planted key cannot, since its maker never saw the plaintexts. A key file that
/// pins the key set (every file this build writes) accepts no missing tag at all.
fn adopt_unauthenticated(
    txn: &WriteTransaction,
    master: &MasterKey,
    keyring: &Keyring,
) -> Result<(), StoreError> {
    if master.pins_key_set() {
        return Err(mismatch(
            "the authentication code is missing, and this key file requires one",
        ));
    }
    if keyring.key_ids().len() != 1 {
        return Err(mismatch(
            "no authentication code yet, and more than the one data key older builds leave",
        ));
    }
    super::rotation::check_every_value_opens(txn, keyring).map_err(|e| match e {
        StoreError::Crypto(CryptoError::OpenFailed | CryptoError::UnknownDataKey(_)) => mismatch(
            "no authentication code yet, and a stored value does not open under the active data key",
        ),
        other => other,
    })
}

/// A fresh database: its first data key (and, without a key file, a new master key).
fn init(
    txn: &WriteTransaction,
    db_path: &Path,
    key_file: &Path,
    passphrase: Option<&KeyPassphrase>,
    master: Option<&MasterKey>,
) -> Result<Unlocked, StoreError> {
    // No active key but keys or a tag present: someone removed the active id, and starting
    // over with a new key would silently orphan every stored value.
    let holds_values =
        txn.open_table(SECRET_VALUES)?.len()? > 0 || txn.open_table(SHARE_PAYLOADS)?.len()? > 0;
    if holds_values || !wrapped_keys(txn)?.is_empty() || stored_tag(txn)?.is_some() {
        return Err(mismatch("the active data key id is missing"));
    }
    let mut notices = Vec::new();
    let created;
    let master = match master {
        Some(m) => m,
        None => {
            created = MasterKey::create(key_file, passphrase)?;
            notices.push(KeyNotice::MasterKeyCreated {
                path: key_file.to_path_buf(),
                sealed: created.is_sealed(),
                beside_database: same_dir(key_file, db_path),
            });
            &created
        }
    };
    let key = DataKey::generate()?;
    let wrapped = master.wrap(&key)?;
    txn.open_table(DATA_KEYS)?
        .insert(FIRST_KEY_ID, wrapped.as_slice())?;
    txn.open_table(META)?
        .insert(META_ACTIVE_DATA_KEY, FIRST_KEY_ID.to_be_bytes().as_slice())?;
    authenticate_key_set(txn, master)?;
    let keyring = Keyring::new(FIRST_KEY_ID, BTreeMap::from([(FIRST_KEY_ID, key)]))
        .ok_or_else(|| StoreError::Corrupt("new data key vanished".into()))?;
    Ok(Unlocked { keyring, notices })
}

/// Re-makes the key set's tag under `master` from what `txn` now holds. Every change to
/// `DATA_KEYS` or the active id calls this before committing.
pub fn authenticate_key_set(txn: &WriteTransaction, master: &MasterKey) -> Result<(), StoreError> {
    let active = {
        let meta = txn.open_table(META)?;
        let v = meta.get(META_ACTIVE_DATA_KEY)?;
        match v {
            Some(v) => decode_u32(v.value())?,
            None => return Err(mismatch("the active data key id is missing")),
        }
    };
    let rows = wrapped_keys(txn)?;
    if !rows.iter().any(|(id, _)| *id == active) {
        return Err(mismatch("the active data key is not in the set"));
    }
    let tag = key_set::tag(master, active, &as_refs(&rows));
    txn.open_table(META)?
        .insert(META_KEY_SET_MAC, tag.as_slice())?;
    Ok(())
}

/// Every `DATA_KEYS` row, by id.
fn wrapped_keys(txn: &WriteTransaction) -> Result<Vec<(u32, Vec<u8>)>, StoreError> {
    let table = txn.open_table(DATA_KEYS)?;
    let mut rows = Vec::new();
    for entry in table.iter()? {
        let (id, wrapped) = entry?;
        rows.push((id.value(), wrapped.value().to_vec()));
    }
    Ok(rows)
}

fn stored_tag(txn: &WriteTransaction) -> Result<Option<Vec<u8>>, StoreError> {
    let meta = txn.open_table(META)?;
    let v = meta.get(META_KEY_SET_MAC)?;
    Ok(v.map(|v| v.value().to_vec()))
}

fn as_refs(rows: &[(u32, Vec<u8>)]) -> Vec<(u32, &[u8])> {
    rows.iter().map(|(id, w)| (*id, w.as_slice())).collect()
}

fn mismatch(reason: &'static str) -> StoreError {
    CryptoError::KeySetMismatch { reason }.into()
}

/// Whether `a` and `b` are in the same directory (so one copy of it holds both).
fn same_dir(a: &Path, b: &Path) -> bool {
    let dir = |p: &Path| {
        let d = p.parent().unwrap_or(Path::new("."));
        let d = if d.as_os_str().is_empty() {
            Path::new(".")
        } else {
            d
        };
        d.canonicalize().unwrap_or_else(|_| d.to_path_buf())
    };
    dir(a) == dir(b)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::str::FromStr;

    use redb::Database;

    use super::*;
    use crate::store::Store;
    use crate::store::test_support::actor;
    use crate::store::{NewSecret, StoreError};

    struct Files {
        _dir: tempfile::TempDir,
        db: PathBuf,
        key: PathBuf,
    }

    /// A database with one secret in it, closed.
    fn with_a_secret() -> Files {
        let dir = tempfile::tempdir().unwrap();
        let (db, key) = (dir.path().join("db.redb"), dir.path().join("master.key"));
        let store = Store::open(&db, &key).unwrap();
        store
            .create_secret(
                &crate::ids::Owner::new("alice"),
                NewSecret {
                    name: "db".into(),
                    description: String::new(),
                    tags: vec![],
                    value: "hunter2".into(),
                },
                &actor(),
                0,
            )
            .unwrap();
        Files { _dir: dir, db, key }
    }

    /// What an attacker with write access to the database file and the master *public* key
    /// (printed in the key file's comment) can do: wrap a key of their own to it.
    fn wrap_to_public_key(key_file: &Path, key: &[u8; 32]) -> Vec<u8> {
        let public = MasterKey::load(key_file, None).unwrap().public_key();
        let recipient = age::x25519::Recipient::from_str(&public).unwrap();
        age::encrypt(&recipient, key).unwrap()
    }

    /// Runs `f` in a raw write transaction on the closed database file.
    fn tamper(db: &Path, f: impl FnOnce(&WriteTransaction)) {
        let db = Database::create(db).unwrap();
        let txn = db.begin_write().unwrap();
        f(&txn);
        txn.commit().unwrap();
    }

    fn set_active(txn: &WriteTransaction, id: u32) {
        txn.open_table(META)
            .unwrap()
            .insert(META_ACTIVE_DATA_KEY, id.to_be_bytes().as_slice())
            .unwrap();
    }

    fn refused(files: &Files) -> String {
        let err = Store::open(&files.db, &files.key)
            .expect_err("a tampered key set must not open")
            .to_string();
        assert!(err.contains("authentication check"), "{err}");
        err
    }

    /// Issue 8, item 2: a data key planted with only the public key, made active.
    #[test]
    fn a_data_key_planted_with_the_public_key_is_refused() {
        let files = with_a_secret();
        let planted = wrap_to_public_key(&files.key, &[7u8; 32]);
        tamper(&files.db, |txn| {
            txn.open_table(DATA_KEYS)
                .unwrap()
                .insert(2, planted.as_slice())
                .unwrap();
            set_active(txn, 2);
        });
        refused(&files);
        // Putting the old active id back is not enough: key 2 is still an extra.
        tamper(&files.db, |txn| set_active(txn, 1));
        refused(&files);
        // Nor is a key that does not even unwrap (wrapped to some other identity).
        let stranger = age::x25519::Identity::generate().to_public();
        let foreign = age::encrypt(&stranger, &[8u8; 32]).unwrap();
        tamper(&files.db, |txn| {
            txn.open_table(DATA_KEYS)
                .unwrap()
                .insert(2, foreign.as_slice())
                .unwrap();
        });
        let err = refused(&files);
        assert!(err.contains("does not open with this master key"), "{err}");
        tamper(&files.db, |txn| {
            txn.open_table(DATA_KEYS).unwrap().remove(2).unwrap();
        });
        drop(Store::open(&files.db, &files.key).unwrap());
    }

    #[test]
    fn a_replaced_key_a_deleted_tag_or_a_deleted_active_id_is_refused() {
        let files = with_a_secret();
        let planted = wrap_to_public_key(&files.key, &[9u8; 32]);
        let original: Vec<u8> = {
            let db = Database::create(&files.db).unwrap();
            let txn = db.begin_write().unwrap();
            let table = txn.open_table(DATA_KEYS).unwrap();
            table.get(1).unwrap().unwrap().value().to_vec()
        };
        // Same id, the attacker's key.
        tamper(&files.db, |txn| {
            txn.open_table(DATA_KEYS)
                .unwrap()
                .insert(1, planted.as_slice())
                .unwrap();
        });
        refused(&files);
        // And the tag deleted too, to pass for a database from an older build: the key
        // file this build wrote says a tag is required.
        tamper(&files.db, |txn| {
            txn.open_table(META)
                .unwrap()
                .remove(META_KEY_SET_MAC)
                .unwrap();
        });
        let err = refused(&files);
        assert!(err.contains("missing"), "{err}");
        // The active id deleted: refused, rather than starting over with a new key.
        tamper(&files.db, |txn| {
            txn.open_table(DATA_KEYS)
                .unwrap()
                .insert(1, original.as_slice())
                .unwrap();
            txn.open_table(META)
                .unwrap()
                .remove(META_ACTIVE_DATA_KEY)
                .unwrap();
        });
        refused(&files);
        let count = {
            let db = Database::create(&files.db).unwrap();
            let txn = db.begin_write().unwrap();
            txn.open_table(DATA_KEYS).unwrap().len().unwrap()
        };
        assert_eq!(count, 1, "no new data key was made");
        // Every key and the code gone as well: the stored secret still says a key existed.
        tamper(&files.db, |txn| {
            txn.open_table(DATA_KEYS).unwrap().remove(1).unwrap();
        });
        refused(&files);
    }

    /// Turns `files` into what an older build left: no tag, and a key file without the pin.
    fn as_older_build(files: &Files) {
        tamper(&files.db, |txn| {
            txn.open_table(META)
                .unwrap()
                .remove(META_KEY_SET_MAC)
                .unwrap();
        });
        let text = std::fs::read_to_string(&files.key).unwrap();
        let unpinned: String = text
            .lines()
            .filter(|l| !l.starts_with("# key set"))
            .map(|l| format!("{l}\n"))
            .collect();
        assert_ne!(text, unpinned);
        std::fs::write(&files.key, unpinned).unwrap();
        assert!(!MasterKey::load(&files.key, None).unwrap().pins_key_set());
    }

    #[test]
    fn an_older_database_gets_its_tag_on_first_open_and_is_protected_from_then_on() {
        let files = with_a_secret();
        as_older_build(&files);
        let (store, notices) = Store::open_with_key(&files.db, &files.key, None).unwrap();
        assert_eq!(
            notices,
            [KeyNotice::KeySetAuthenticated {
                key_file: files.key.clone()
            }]
        );
        drop(store);
        let (_store, notices) = Store::open_with_key(&files.db, &files.key, None).unwrap();
        assert!(notices.is_empty(), "once only: {notices:?}");
        drop(_store);
        let planted = wrap_to_public_key(&files.key, &[7u8; 32]);
        tamper(&files.db, |txn| {
            txn.open_table(DATA_KEYS)
                .unwrap()
                .insert(2, planted.as_slice())
                .unwrap();
            set_active(txn, 2);
        });
        refused(&files);
    }

    #[test]
    fn rotate_master_after_upgrading_pins_the_key_set_in_the_new_key_file() {
        let files = with_a_secret();
        as_older_build(&files);
        let outcome = crate::store::rotate_master(&files.db, &files.key, None).unwrap();
        let crate::store::MasterRotationOutcome::Rotated(r) = outcome else {
            panic!("{outcome:?}")
        };
        assert!(
            r.notices.is_empty(),
            "nothing left to ask for: {:?}",
            r.notices
        );
        assert!(MasterKey::load(&files.key, None).unwrap().pins_key_set());
        drop(Store::open(&files.db, &files.key).unwrap());
        // Now deleting the code is refused instead of being taken for an older database.
        tamper(&files.db, |txn| {
            txn.open_table(META)
                .unwrap()
                .remove(META_KEY_SET_MAC)
                .unwrap();
        });
        let err = refused(&files);
        assert!(err.contains("requires one"), "{err}");
    }

    #[test]
    fn an_older_database_whose_keys_were_tampered_with_is_not_adopted() {
        // A second key, planted before the first open by this build.
        let files = with_a_secret();
        as_older_build(&files);
        let planted = wrap_to_public_key(&files.key, &[7u8; 32]);
        tamper(&files.db, |txn| {
            txn.open_table(DATA_KEYS)
                .unwrap()
                .insert(2, planted.as_slice())
                .unwrap();
            set_active(txn, 2);
        });
        let err = refused(&files);
        assert!(err.contains("more than the one data key"), "{err}");

        // The only key replaced: the stored secret does not open under it.
        let files = with_a_secret();
        as_older_build(&files);
        let planted = wrap_to_public_key(&files.key, &[7u8; 32]);
        tamper(&files.db, |txn| {
            txn.open_table(DATA_KEYS)
                .unwrap()
                .insert(1, planted.as_slice())
                .unwrap();
        });
        let err = refused(&files);
        assert!(err.contains("does not open"), "{err}");
        assert!(!err.contains("hunter2"));
        assert!(matches!(
            Store::open(&files.db, &files.key),
            Err(StoreError::Crypto(CryptoError::KeySetMismatch { .. }))
        ));
    }

    #[test]
    fn a_new_master_key_is_reported_once_with_where_it_is() {
        let dir = tempfile::tempdir().unwrap();
        let (db, key) = (dir.path().join("db.redb"), dir.path().join("master.key"));
        let (store, notices) = Store::open_with_key(&db, &key, None).unwrap();
        assert_eq!(
            notices,
            [KeyNotice::MasterKeyCreated {
                path: key.clone(),
                sealed: false,
                beside_database: true
            }]
        );
        let text = notices[0].to_string();
        assert!(
            text.contains(&key.display().to_string())
                && text.contains("--key-file")
                && text.contains("--passphrase-file"),
            "{text}"
        );
        drop(store);
        let (store, notices) = Store::open_with_key(&db, &key, None).unwrap();
        assert!(notices.is_empty(), "{notices:?}");
        drop(store);

        // Elsewhere and sealed: the notice says so and asks only for the backup.
        let elsewhere = tempfile::tempdir().unwrap();
        let key = elsewhere.path().join("master.key");
        let pass = KeyPassphrase::new("p".into()).insecure_fast_sealing();
        let (_store, notices) =
            Store::open_with_key(&dir.path().join("db2.redb"), &key, Some(&pass)).unwrap();
        assert_eq!(
            notices,
            [KeyNotice::MasterKeyCreated {
                path: key.clone(),
                sealed: true,
                beside_database: false
            }]
        );
        assert!(!notices[0].to_string().contains("--key-file"));
    }
}
