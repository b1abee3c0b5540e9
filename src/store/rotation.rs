//! Key rotation: a new data key for every stored value (`Store::rotate_data_key`), and a new
//! master identity *together with* a new data key (`rotate_master`).
//!
//! A master rotation answers a leaked key file, so it cannot keep the data keys: the old key
//! file plus any database copy taken before would still unwrap them and open every value
//! sealed afterwards. It re-seals everything under a fresh data key that only the new
//! identity wraps, so the old key file opens nothing written after the rotation.
//!
//! Both run against a database this process holds open, so redb's file lock keeps a running
//! server (or a second rotation) out: it gets `AlreadyInUse` before anything is written.
//! Each re-keying is one write transaction, so the database is entirely under the old key or
//! entirely under the new one.
//!
//! Values sealed under data keys live in exactly the tables `SECRET_VALUES`,
//! `SECRET_VERSIONS` and `SHARE_PAYLOADS`. A new table holding keyring-sealed values must be re-sealed here too, or
//! retiring the old data key would leave its rows unreadable.
//!
//! Master key swap, crash by crash (K = the key file, K.new = `pending_master_path(K)`):
//! 1. The new identity is written to K.new (`create_new`, 0600, fsync'd, directory fsync'd).
//!    A crash now leaves K opening the database and K.new opening nothing: `serve` warns
//!    about the leftover, and `rotate-master` deletes it and starts over.
//! 2. One transaction adds a new data key wrapped to K.new, re-seals every value under it,
//!    deletes the old data keys, authenticates the new key set under K.new, and commits. A
//!    crash now leaves only K.new opening the database: `serve` refuses with a message naming
//!    K.new and the command that finishes the swap; running `rotate-master` again does exactly
//!    that.
//! 3. K.new is renamed over K (atomic), and the directory fsync'd. Done.
//!
//! At no point does neither file open the database without an error saying which one does.
//!
//! Nothing here prints: notices for the operator come back in the results.

use std::path::{Path, PathBuf};

use redb::{ReadableTable, WriteTransaction};

use super::audit::{Action, Actor, Event};
use super::secrets::{SEAL_PURPOSE, SecretRecord, seal_parts};
use super::shares::{ShareRecord, payload_ctx};
use super::tables::{
    DATA_KEYS, META, META_ACTIVE_DATA_KEY, SECRET_VALUES, SECRET_VERSIONS, SECRETS, SHARE_PAYLOADS,
    SHARES,
};
use super::{Store, StoreError, keys, open_database, schema};
use crate::crypto::key_file::{self, KeyPassphrase};
use crate::crypto::keyring::{DataKey, Keyring, SealContext};
use crate::crypto::master::MasterKey;
use crate::crypto::{CryptoError, KeyNotice};

/// Appended to the key file's name for the new identity while `rotate-master` runs.
const PENDING_SUFFIX: &str = ".new";

/// Where `rotate-master` writes the new identity before it replaces `key_file`.
pub fn pending_master_path(key_file: &Path) -> PathBuf {
    key_file::sibling(key_file, PENDING_SUFFIX)
}

/// What a master rotation did.
#[derive(Debug)]
pub struct MasterRotation {
    /// The new identity's public key.
    pub public_key: String,
    /// Id of the data key now active (new, unless an interrupted rotation was finished).
    pub data_key: u32,
    /// Ids of the data keys deleted.
    pub retired: Vec<u32>,
    /// Secret values (kept older versions included) re-sealed under the new data key.
    pub secrets: usize,
    /// Pending share payloads re-sealed under the new data key.
    pub shares: usize,
    /// Whether the new key file is sealed (it is when the old one was).
    pub sealed: bool,
    /// Whether a leftover K.new from an interrupted attempt that never committed was deleted.
    pub removed_leftover: bool,
    /// Set when the rotation committed but compacting the file afterwards failed.
    pub compaction_warning: Option<String>,
    /// What the operator should hear about the key files and the database's key set.
    pub notices: Vec<KeyNotice>,
}

/// How `rotate_master` ended.
#[derive(Debug)]
pub enum MasterRotationOutcome {
    /// A new identity now holds every data key.
    Rotated(MasterRotation),
    /// An interrupted rotation had already re-keyed the database; its key was put in place.
    FinishedInterrupted(MasterRotation),
}

/// What a data key rotation did.
#[derive(Debug)]
pub struct DataKeyRotation {
    /// Id of the new, now active, data key.
    pub key_id: u32,
    /// Ids of the data keys deleted.
    pub retired: Vec<u32>,
    /// Secret values re-sealed, kept older versions included.
    pub secrets: usize,
    /// Pending share payloads re-sealed.
    pub shares: usize,
    /// Set when the rotation committed but compacting the file afterwards failed.
    pub compaction_warning: Option<String>,
}

/// A new data key installed in a write transaction that has not committed yet.
struct NewDataKey {
    id: u32,
    key: DataKey,
    retired: Vec<u32>,
    secrets: usize,
    shares: usize,
}

impl Store {
    /// Opens an existing database with an already loaded master key (for admin commands):
    /// never creates the file, and never writes a key file. `passphrase` (the one `master`
    /// was loaded with) only serves to recognise a key left by an interrupted rotation.
    pub fn open_existing(
        db_path: &Path,
        master: &MasterKey,
        passphrase: Option<&KeyPassphrase>,
    ) -> Result<(Store, Vec<KeyNotice>), StoreError> {
        if !db_path.is_file() {
            return Err(StoreError::NoDatabase(db_path.to_path_buf()));
        }
        super::preflight(db_path, master.path(), Some(master))?;
        let db = open_database(db_path)?;
        let txn = db.begin_write()?;
        let found = schema::migrate(&txn)?;
        let key_file = master.path();
        let unlocked = keys::unlock_or_init(&txn, db_path, key_file, None, Some(master))
            .map_err(|e| explain_unlock_failure(e, &txn, db_path, key_file, passphrase))?;
        let audit_keys = super::open_audit_trail(&txn, master, found)?;
        txn.commit()?;
        let store = Store::from_parts(db, db_path, unlocked.keyring, audit_keys);
        Ok((store, unlocked.notices))
    }

    /// Adds a data key (the next id, wrapped to `master`), re-seals every secret value and
    /// pending share payload under it with the same associated data, makes it active and
    /// deletes the old keys, all in one write transaction. Share payloads lose only their
    /// outer data-key layer; the token-sealed snapshot inside stays as it was. `master` must
    /// be the identity this store was opened with.
    pub fn rotate_data_key(&mut self, master: &MasterKey) -> Result<DataKeyRotation, StoreError> {
        let now = crate::timefmt::now_unix();
        let new = self.write_exclusive(&Actor::system(), now, |store, tx| {
            let txn = tx.txn;
            // Wrapping the new key to any other identity than the database's would lose
            // every value at commit: prove `master` opens the current keys.
            for entry in txn.open_table(DATA_KEYS)?.iter()? {
                master.unwrap_key(entry?.1.value())?;
            }
            let new = store.install_new_data_key(txn, master)?;
            // Key management is part of the trail too (run by an operator on the host).
            let target = Some(format!("data_key:{}", new.id));
            tx.audit(Event::ok(Action::AdminRotateDataKey, target, None))?;
            Ok(new)
        })?;
        let mut rotation = self.adopt(new)?;
        rotation.compaction_warning = self.compact_after_rotation();
        Ok(rotation)
    }

    /// Seals with the data key a rotation has just committed, and only with it, from now on.
    fn adopt(&mut self, new: NewDataKey) -> Result<DataKeyRotation, StoreError> {
        let NewDataKey {
            id,
            key,
            retired,
            secrets,
            shares,
        } = new;
        self.use_only(id, key)?;
        Ok(DataKeyRotation {
            key_id: id,
            retired,
            secrets,
            shares,
            compaction_warning: None,
        })
    }

    /// Moves the database from `old` to `new`: a fresh data key wrapped to `new` replaces
    /// every data key, every value is re-sealed under it, and the key set is authenticated
    /// under `new`, in one transaction (step 2 of the module comment). The old data keys go
    /// with the old identity: a copy of the database from before, opened with the old key
    /// file, yields nothing that opens a value written after.
    fn move_to_master(
        &mut self,
        old: &MasterKey,
        new: &MasterKey,
    ) -> Result<DataKeyRotation, StoreError> {
        let now = crate::timefmt::now_unix();
        let installed = self.write_exclusive(&Actor::system(), now, |store, tx| {
            let txn = tx.txn;
            for entry in txn.open_table(DATA_KEYS)?.iter()? {
                old.unwrap_key(entry?.1.value())?;
            }
            let installed = store.install_new_data_key(txn, new)?;
            // The audit keys move to the new identity too, and records from now on are made
            // under a fresh one: whoever holds the old key file (and an old copy of the
            // database) learns only the old audit keys, and a record forged with them cannot
            // be chained in front of records made under the new key.
            super::audit_keys::rewrap(txn, old, new)?;
            super::audit_keys::add_key(txn, new)?;
            let target = Some(format!("data_key:{}", installed.id));
            tx.audit(Event::ok(Action::AdminRotateMaster, target, None))?;
            Ok(installed)
        })?;
        // The caller compacts once the new key file is in place.
        self.adopt(installed)
    }

    /// In `txn`: adds a data key with the next id, wrapped to `wrap_to`; re-seals every value
    /// under it; makes it active; deletes every older key; authenticates the new set under
    /// `wrap_to`. The caller audits and commits, then hands the result to [`Store::use_only`].
    fn install_new_data_key(
        &self,
        txn: &WriteTransaction,
        wrap_to: &MasterKey,
    ) -> Result<NewDataKey, StoreError> {
        let key = DataKey::generate()?;
        let retired = self.core.keyring.key_ids();
        let id = retired
            .last()
            .and_then(|last| last.checked_add(1))
            .ok_or_else(|| StoreError::Corrupt("no room for another data key id".into()))?;
        let wrapped = wrap_to.wrap(&key)?;
        if wrap_to.unwrap_key(&wrapped)?.as_bytes() != key.as_bytes() {
            return Err(StoreError::Corrupt(
                "a wrapped data key did not round-trip".into(),
            ));
        }
        txn.open_table(DATA_KEYS)?.insert(id, wrapped.as_slice())?;
        let (secrets, shares) = for_each_sealed(txn, |sealed, ctx| {
            Ok(Some(self.core.keyring.reseal(sealed, ctx, id, &key)?))
        })?;
        txn.open_table(META)?
            .insert(META_ACTIVE_DATA_KEY, id.to_be_bytes().as_slice())?;
        {
            let mut data_keys = txn.open_table(DATA_KEYS)?;
            for old in &retired {
                data_keys.remove(old)?;
            }
        }
        keys::authenticate_key_set(txn, wrap_to)?;
        Ok(NewDataKey {
            id,
            key,
            retired,
            secrets,
            shares,
        })
    }

    /// After the commit: the new key is the only one this store holds.
    fn use_only(&mut self, id: u32, key: DataKey) -> Result<(), StoreError> {
        self.core_mut().keyring =
            Keyring::new(id, std::collections::BTreeMap::from([(id, key)]))
                .ok_or_else(|| StoreError::Corrupt("new data key vanished".into()))?;
        Ok(())
    }

    /// redb is copy-on-write: the rows a rotation replaced stay in freed pages, old
    /// ciphertext and all, until those pages are reused. Compacting moves live pages down
    /// into the holes and truncates the file, which in practice leaves none of them behind
    /// (the tests check); it cannot reach copies made before (backups) or blocks the
    /// filesystem already let go of. Best effort: a failure is reported, not fatal, since the
    /// rotation itself has committed.
    fn compact_after_rotation(&mut self) -> Option<String> {
        loop {
            match self.core_mut().db.compact() {
                Ok(true) => continue,
                Ok(false) => return None,
                Err(e) => {
                    return Some(format!(
                        "the rotation committed, but compacting the database failed ({e}); freed pages may still hold old ciphertext until reused"
                    ));
                }
            }
        }
    }
}

/// Calls `f` with every value sealed under a data key and the context it is bound to:
/// `SECRET_VALUES` rows (bound to their record's owner, id and version), `SECRET_VERSIONS`
/// rows (bound to owner, id and their own version) and the outer layer
/// of `SHARE_PAYLOADS` rows (bound to their share's id). Whatever `f` returns `Some` for
/// replaces that row. Returns how many secret values (older versions included) and share
/// payloads it saw.
fn for_each_sealed(
    txn: &WriteTransaction,
    mut f: impl FnMut(&[u8], &SealContext) -> Result<Option<Vec<u8>>, StoreError>,
) -> Result<(usize, usize), StoreError> {
    let secrets = {
        let records = txn.open_table(SECRETS)?;
        let mut values = txn.open_table(SECRET_VALUES)?;
        // redb cannot write a table while iterating it: collect the new ciphertexts (never
        // plaintext), then write them back.
        let (mut seen, mut replaced) = (0, Vec::new());
        for entry in values.iter()? {
            let (id, sealed) = entry?;
            let row = records
                .get(id.value())?
                .ok_or_else(|| StoreError::Corrupt("a secret value without its secret".into()))?;
            let rec: SecretRecord = Store::decode(row.value(), "secret")?;
            let version = rec.version.to_be_bytes();
            let parts = seal_parts(&rec.owner, &rec.id, &version);
            let ctx = SealContext {
                purpose: SEAL_PURPOSE,
                parts: &parts,
            };
            seen += 1;
            if let Some(new) = f(sealed.value(), &ctx)? {
                replaced.push((id.value().to_string(), new));
            }
        }
        for (id, sealed) in &replaced {
            values.insert(id.as_str(), sealed.as_slice())?;
        }
        // Older versions are sealed under the same keys: left out, they would become
        // unreadable the moment the key they were sealed under is retired.
        let mut versions = txn.open_table(SECRET_VERSIONS)?;
        let mut replaced = Vec::new();
        for entry in versions.iter()? {
            let (key, sealed) = entry?;
            let (id, version) = key.value();
            let row = records
                .get(id)?
                .ok_or_else(|| StoreError::Corrupt("a secret version without its secret".into()))?;
            let rec: SecretRecord = Store::decode(row.value(), "secret")?;
            let version_bytes = version.to_be_bytes();
            let parts = seal_parts(&rec.owner, &rec.id, &version_bytes);
            let ctx = SealContext {
                purpose: SEAL_PURPOSE,
                parts: &parts,
            };
            seen += 1;
            if let Some(new) = f(sealed.value(), &ctx)? {
                replaced.push((id.to_string(), version, new));
            }
        }
        for (id, version, sealed) in &replaced {
            versions.insert((id.as_str(), *version), sealed.as_slice())?;
        }
        seen
    };
    let shares = {
        let shares = txn.open_table(SHARES)?;
        let mut payloads = txn.open_table(SHARE_PAYLOADS)?;
        let (mut seen, mut replaced) = (0, Vec::new());
        for entry in payloads.iter()? {
            let (lookup, sealed) = entry?;
            let row = shares
                .get(lookup.value())?
                .ok_or_else(|| StoreError::Corrupt("a share payload without its share".into()))?;
            let share: ShareRecord = Store::decode(row.value(), "share")?;
            let parts = [share.id.as_bytes()];
            seen += 1;
            if let Some(new) = f(sealed.value(), &payload_ctx(&parts))? {
                replaced.push((lookup.value().to_vec(), new));
            }
        }
        for (lookup, sealed) in &replaced {
            payloads.insert(lookup.as_slice(), sealed.as_slice())?;
        }
        seen
    };
    Ok((secrets, shares))
}

/// Opens every value sealed under a data key (plaintext dropped, zeroized, at once); the
/// first that does not open under `keyring` is the error.
pub(super) fn check_every_value_opens(
    txn: &WriteTransaction,
    keyring: &Keyring,
) -> Result<(), StoreError> {
    for_each_sealed(txn, |sealed, ctx| {
        keyring.open(sealed, ctx)?;
        Ok(None)
    })?;
    Ok(())
}

/// Gives the database's data keys a new master identity and replaces `key_file` with it
/// (sealed under `passphrase` when the old file was sealed). See the module comment for the
/// crash-safe order. Also finishes a rotation that was interrupted after its commit.
pub fn rotate_master(
    db_path: &Path,
    key_file: &Path,
    passphrase: Option<&KeyPassphrase>,
) -> Result<MasterRotationOutcome, StoreError> {
    if !db_path.is_file() {
        return Err(StoreError::NoDatabase(db_path.to_path_buf()));
    }
    let pending = pending_master_path(key_file);
    if !key_file.exists() {
        return Err(StoreError::KeyFileMissing {
            db: db_path.to_path_buf(),
            key: key_file.to_path_buf(),
        });
    }
    let old = MasterKey::load(key_file, passphrase)?;
    let mut notices = old.notices();
    let mut store = match Store::open_existing(db_path, &old, passphrase) {
        Ok((store, opened)) => {
            notices.extend(opened);
            store
        }
        Err(
            StoreError::Crypto(CryptoError::WrongMasterKey { .. })
            | StoreError::InterruptedMasterRotation { .. },
        ) if pending.exists() => {
            // Step 2 committed but step 3 did not happen: the new key already opens it.
            let new = MasterKey::load(&pending, passphrase)?;
            let (mut store, opened) = Store::open_existing(db_path, &new, passphrase)?;
            notices.extend(opened);
            key_file::rename(&pending, key_file)?;
            let compaction_warning = store.compact_after_rotation();
            let data_key = store.core.keyring.active_id();
            drop(store);
            return Ok(MasterRotationOutcome::FinishedInterrupted(MasterRotation {
                public_key: new.public_key(),
                data_key,
                retired: Vec::new(),
                secrets: 0,
                shares: 0,
                sealed: new.is_sealed(),
                removed_leftover: false,
                compaction_warning,
                notices,
            }));
        }
        Err(e) => return Err(e),
    };
    // The old key opens the database, so a K.new here never committed: it opens nothing.
    let removed_leftover = pending.exists();
    if removed_leftover {
        std::fs::remove_file(&pending).map_err(|e| CryptoError::KeyFile {
            path: pending.display().to_string(),
            reason: format!("cannot remove this leftover of an interrupted rotation: {e}"),
        })?;
    }
    let new = MasterKey::create(&pending, old.is_sealed().then_some(passphrase).flatten())?;
    // Read the new file back before the database depends on it: after the commit, a key
    // file that does not load would mean losing everything.
    let reread = MasterKey::load(&pending, old.is_sealed().then_some(passphrase).flatten())?;
    if reread.public_key() != new.public_key() {
        return Err(StoreError::Corrupt(format!(
            "{} does not read back as the key just written",
            pending.display()
        )));
    }
    let r = store.move_to_master(&old, &reread)?;
    key_file::rename(&pending, key_file)?;
    // The new key file pins the key set, which is what that notice asks the operator to do.
    notices.retain(|n| !matches!(n, KeyNotice::KeySetAuthenticated { .. }));
    let compaction_warning = store.compact_after_rotation();
    // The lock is held until the new key is in place, so no server starts in between.
    drop(store);
    Ok(MasterRotationOutcome::Rotated(MasterRotation {
        public_key: new.public_key(),
        data_key: r.key_id,
        retired: r.retired,
        secrets: r.secrets,
        shares: r.shares,
        sealed: new.is_sealed(),
        removed_leftover,
        compaction_warning,
        notices,
    }))
}

/// Turns a failure to unlock into an instruction when an interrupted `rotate-master` left a
/// key file next to `key_file` that does open the database.
pub(super) fn explain_unlock_failure(
    err: StoreError,
    txn: &WriteTransaction,
    db_path: &Path,
    key_file: &Path,
    passphrase: Option<&KeyPassphrase>,
) -> StoreError {
    let wrong_or_missing = matches!(
        err,
        StoreError::Crypto(CryptoError::WrongMasterKey { .. }) | StoreError::KeyFileMissing { .. }
    );
    let pending = pending_master_path(key_file);
    if wrong_or_missing && pending.exists() && opens_every_data_key(txn, &pending, passphrase) {
        return StoreError::InterruptedMasterRotation {
            key: key_file.to_path_buf(),
            pending,
            data_dir: db_path.parent().unwrap_or(Path::new(".")).to_path_buf(),
        };
    }
    err
}

fn opens_every_data_key(
    txn: &WriteTransaction,
    key_file: &Path,
    passphrase: Option<&KeyPassphrase>,
) -> bool {
    let Ok(master) = MasterKey::load(key_file, passphrase) else {
        return false;
    };
    let Ok(table) = txn.open_table(DATA_KEYS) else {
        return false;
    };
    let Ok(rows) = table.iter() else {
        return false;
    };
    let mut any = false;
    for row in rows {
        match row {
            Ok((_, wrapped)) if master.unwrap_key(wrapped.value()).is_ok() => any = true,
            _ => return false,
        }
    }
    any
}

/// After a successful unlock with `key_file`, a K.new beside it is a leftover of a rotation
/// that never committed; the operator should hear so, since they may wonder which key is live.
pub(super) fn pending_master_left(key_file: &Path) -> Option<KeyNotice> {
    let pending = pending_master_path(key_file);
    pending.exists().then(|| KeyNotice::LeftoverPendingKey {
        pending,
        key_file: key_file.to_path_buf(),
    })
}

#[cfg(test)]
mod tests {
    use redb::ReadableDatabase;

    use super::*;
    use crate::crypto::keyring::{open_with_key, sealed_key_id};
    use crate::crypto::share;
    use crate::sensitive::{ExposeSecret, SecretString};
    use crate::store::tables::SECRET_NAMES;
    use crate::store::test_support::actor as test_actor;
    use crate::store::{NewSecret, Redemption, SecretPatch};

    const VALUE_LEN: usize = 40;

    fn value(i: usize) -> String {
        format!("{:0>width$}", format!("plain-{i}"), width = VALUE_LEN)
    }

    /// Inserts `n` secrets for `owner` in one transaction, the way `create_secret` stores
    /// each (one durable commit apiece would make thousands slow to set up).
    fn bulk_secrets(store: &Store, owner: &str, n: usize) -> Vec<SecretRecord> {
        let txn = store.core.db.begin_write().unwrap();
        let mut out = Vec::new();
        {
            let mut names = txn.open_table(SECRET_NAMES).unwrap();
            let mut records = txn.open_table(SECRETS).unwrap();
            let mut values = txn.open_table(SECRET_VALUES).unwrap();
            for i in 0..n {
                let rec = SecretRecord {
                    id: crate::crypto::token::new_id().unwrap().into(),
                    owner: owner.into(),
                    name: format!("bulk/{i:05}"),
                    description: String::new(),
                    tags: vec![],
                    version: 1,
                    created_at: 0,
                    updated_at: 0,
                };
                let version = rec.version.to_be_bytes();
                let parts = seal_parts(&rec.owner, &rec.id, &version);
                let ctx = SealContext {
                    purpose: SEAL_PURPOSE,
                    parts: &parts,
                };
                let sealed = store.core.keyring.seal(value(i).as_bytes(), &ctx).unwrap();
                names
                    .insert((owner, rec.name.as_str()), rec.id.as_str())
                    .unwrap();
                records
                    .insert(rec.id.as_str(), Store::encode(&rec).unwrap().as_slice())
                    .unwrap();
                values.insert(rec.id.as_str(), sealed.as_slice()).unwrap();
                out.push(rec);
            }
        }
        txn.commit().unwrap();
        out
    }

    struct PendingShare {
        lookup: crate::ids::ShareLookup,
        token: SecretString,
        id: String,
    }

    /// A share of `rec` as the server makes one: a token-sealed snapshot of `plaintext`.
    fn share_of(store: &Store, rec: &SecretRecord, plaintext: &str) -> PendingShare {
        let token = share::new_token().unwrap();
        let lookup = share::lookup(token.expose_secret());
        let id = crate::crypto::token::new_id().unwrap();
        let key = share::snapshot_key(token.expose_secret(), None);
        let snapshot = share::seal_snapshot(&key, &id, plaintext.as_bytes()).unwrap();
        let record = ShareRecord {
            id: id.clone().into(),
            secret_id: rec.id.clone(),
            owner: rec.owner.clone(),
            created_at: 0,
            expires_at: i64::MAX,
            max_views: 2,
            views_left: 2,
            passphrase_salt: None,
            wrong_passphrases: 0,
        };
        store
            .create_share(&rec.owner, &lookup, &record, &snapshot, &test_actor())
            .unwrap();
        PendingShare { lookup, token, id }
    }

    fn redeem(store: &Store, s: &PendingShare) -> String {
        let key = share::snapshot_key(s.token.expose_secret(), None);
        match store
            .redeem_share(&s.lookup, None, &test_actor(), 1, move |rec, sealed| {
                share::open_snapshot(&key, &rec.id, sealed)
            })
            .unwrap()
        {
            Redemption::Redeemed { plaintext, .. } => {
                String::from_utf8(plaintext.to_vec()).unwrap()
            }
            _ => panic!("share {} did not redeem", s.id),
        }
    }

    /// A store over a fresh temp dir (`db.redb`, `master.key`); the files outlive the store.
    fn fresh() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&db_path(&dir), &key_path(&dir)).unwrap();
        (dir, store)
    }

    fn db_path(dir: &tempfile::TempDir) -> PathBuf {
        dir.path().join("db.redb")
    }

    fn key_path(dir: &tempfile::TempDir) -> PathBuf {
        dir.path().join("master.key")
    }

    /// The data key `id` as stored, unwrapped with `master`.
    fn stored_data_key(store: &Store, master: &MasterKey, id: u32) -> DataKey {
        let txn = store.core.db.begin_read().unwrap();
        let table = txn.open_table(DATA_KEYS).unwrap();
        let wrapped = table.get(id).unwrap().unwrap();
        master.unwrap_key(wrapped.value()).unwrap()
    }

    /// A stored ciphertext and what its context is built from.
    type Sealed<T> = Vec<(Vec<u8>, T)>;

    /// Every (secret value, its record) and (share payload, share id) as stored.
    fn sealed_rows(store: &Store) -> (Sealed<SecretRecord>, Sealed<String>) {
        let txn = store.core.db.begin_read().unwrap();
        let records = txn.open_table(SECRETS).unwrap();
        let mut values = Vec::new();
        for row in txn.open_table(SECRET_VALUES).unwrap().iter().unwrap() {
            let (id, sealed) = row.unwrap();
            let rec: SecretRecord =
                Store::decode(records.get(id.value()).unwrap().unwrap().value(), "secret").unwrap();
            values.push((sealed.value().to_vec(), rec));
        }
        let shares = txn.open_table(SHARES).unwrap();
        let mut payloads = Vec::new();
        for row in txn.open_table(SHARE_PAYLOADS).unwrap().iter().unwrap() {
            let (lookup, sealed) = row.unwrap();
            let share: ShareRecord = Store::decode(
                shares.get(lookup.value()).unwrap().unwrap().value(),
                "share",
            )
            .unwrap();
            payloads.push((sealed.value().to_vec(), share.id.into_string()));
        }
        (values, payloads)
    }

    fn opens_value(key: &DataKey, sealed: &[u8], rec: &SecretRecord) -> bool {
        let version = rec.version.to_be_bytes();
        let parts = seal_parts(&rec.owner, &rec.id, &version);
        let ctx = SealContext {
            purpose: SEAL_PURPOSE,
            parts: &parts,
        };
        open_with_key(key.as_bytes(), sealed, &ctx).is_ok()
    }

    fn opens_payload(key: &DataKey, sealed: &[u8], share_id: &str) -> bool {
        let parts = [share_id.as_bytes()];
        open_with_key(key.as_bytes(), sealed, &payload_ctx(&parts)).is_ok()
    }

    #[test]
    fn data_key_rotation_reseals_everything_and_the_old_key_opens_nothing() {
        let (dir, mut store) = fresh();
        let master = MasterKey::load(&key_path(&dir), None).unwrap();
        let recs = bulk_secrets(&store, "alice", 300);
        // One at version 2, so the version stays bound through the rotation.
        let bumped = store
            .update_secret(
                &crate::ids::Owner::new("alice"),
                &recs[0].id,
                SecretPatch {
                    value: Some(SecretString::from("version-two")),
                    ..Default::default()
                },
                &test_actor(),
                5,
            )
            .unwrap();
        assert_eq!(bumped.version, 2);
        let bob = store
            .create_secret(
                &crate::ids::Owner::new("bob"),
                NewSecret {
                    name: "b".into(),
                    description: String::new(),
                    tags: vec![],
                    value: SecretString::from("bob-value"),
                },
                &test_actor(),
                0,
            )
            .unwrap();
        let shares = [
            share_of(&store, &recs[1], "snapshot-one"),
            share_of(&store, &bob, "snapshot-bob"),
        ];
        let old_key = stored_data_key(&store, &master, 1);

        let r = store.rotate_data_key(&master).unwrap();
        assert_eq!((r.key_id, r.retired.as_slice()), (2, [1].as_slice()));
        // 301 current values and recs[0]'s version 1.
        assert_eq!((r.secrets, r.shares), (302, 2));
        assert!(r.compaction_warning.is_none(), "{:?}", r.compaction_warning);

        // Not even freed pages of the file hold a value the old key opens: every run of
        // bytes shaped like a value sealed under key 1 is tried against every context.
        let mut contexts = recs.clone();
        contexts.extend([bumped.clone(), bob.clone()]);
        for len in [VALUE_LEN, "version-two".len(), "bob-value".len()] {
            for run in sealed_runs_in_file(&db_path(&dir), 1, 29 + len + 16) {
                assert!(
                    !contexts.iter().any(|rec| opens_value(&old_key, &run, rec)),
                    "the database file still holds a value sealed under the retired key"
                );
            }
        }

        let new_key = stored_data_key(&store, &master, 2);
        let (values, payloads) = sealed_rows(&store);
        assert_eq!((values.len(), payloads.len()), (301, 2));
        for (sealed, rec) in &values {
            assert_eq!(sealed_key_id(sealed).unwrap(), 2);
            assert!(
                !opens_value(&old_key, sealed, rec),
                "old key opens {}",
                rec.id
            );
            assert!(opens_value(&new_key, sealed, rec));
        }
        for (sealed, share_id) in &payloads {
            assert_eq!(sealed_key_id(sealed).unwrap(), 2);
            assert!(!opens_payload(&old_key, sealed, share_id));
            assert!(opens_payload(&new_key, sealed, share_id));
        }
        {
            let txn = store.core.db.begin_read().unwrap();
            let ids: Vec<u32> = txn
                .open_table(DATA_KEYS)
                .unwrap()
                .iter()
                .unwrap()
                .map(|r| r.unwrap().0.value())
                .collect();
            assert_eq!(ids, [2], "the old data key row is gone");
        }

        // The same store keeps working, and so does a fresh open from disk.
        assert_eq!(
            store
                .get_secret(
                    &crate::ids::Owner::new("alice"),
                    &recs[0].id,
                    &test_actor(),
                    0
                )
                .unwrap()
                .1
                .expose_secret(),
            "version-two"
        );
        assert_eq!(redeem(&store, &shares[0]), "snapshot-one");
        drop(store);
        let reopened = Store::open(&db_path(&dir), &key_path(&dir)).unwrap();
        assert_eq!(reopened.core.keyring.key_ids(), [2]);
        for rec in &recs[1..] {
            let i: usize = rec.name["bulk/".len()..].parse().unwrap();
            assert_eq!(
                reopened
                    .get_secret(&crate::ids::Owner::new("alice"), &rec.id, &test_actor(), 0)
                    .unwrap()
                    .1
                    .expose_secret(),
                value(i)
            );
        }
        assert_eq!(redeem(&reopened, &shares[1]), "snapshot-bob");
        assert_eq!(redeem(&reopened, &shares[0]), "snapshot-one");

        // A second rotation retires key 2 the same way.
        let mut reopened = reopened;
        let r = reopened.rotate_data_key(&master).unwrap();
        assert_eq!(
            (r.key_id, r.retired.as_slice(), r.secrets),
            (3, [2].as_slice(), 302)
        );
        // The older version was re-sealed too: it still opens with only key 3 left.
        assert_eq!(
            reopened
                .get_secret_version(
                    &crate::ids::Owner::user(&crate::ids::UserId::new("alice")),
                    &recs[0].id,
                    1,
                    &test_actor(),
                    0
                )
                .unwrap()
                .1
                .expose_secret(),
            value(0)
        );
    }

    #[test]
    fn master_rotation_reseals_under_a_new_data_key_and_the_old_identity_opens_nothing() {
        let (dir, store) = fresh();
        let rec = bulk_secrets(&store, "alice", 3).remove(0);
        let (db, key) = (db_path(&dir), key_path(&dir));
        let old_copy = dir.path().join("old.key");
        std::fs::copy(&key, &old_copy).unwrap();

        // The store is open (as a running server would hold it): refused, nothing written.
        let err = rotate_master(&db, &key, None).unwrap_err();
        assert!(matches!(err, StoreError::AlreadyInUse(_)), "{err}");
        assert_eq!(
            std::fs::read(&key).unwrap(),
            std::fs::read(&old_copy).unwrap()
        );
        assert!(!pending_master_path(&key).exists());

        drop(store);
        let outcome = rotate_master(&db, &key, None).unwrap();
        let MasterRotationOutcome::Rotated(r) = outcome else {
            panic!("{outcome:?}")
        };
        assert_eq!(
            (r.data_key, r.retired.as_slice(), r.secrets, r.shares),
            (2, [1].as_slice(), 3, 0)
        );
        assert_eq!((r.sealed, r.removed_leftover), (false, false));
        assert!(r.notices.is_empty(), "{:?}", r.notices);
        assert!(r.compaction_warning.is_none(), "{:?}", r.compaction_warning);
        assert!(!pending_master_path(&key).exists());
        // No wrapped data key anywhere in the file, freed pages included, opens under the
        // old identity; the one live copy opens under the new one.
        let old = MasterKey::load(&old_copy, None).unwrap();
        let new = MasterKey::load(&key, None).unwrap();
        let blobs = wrapped_keys_in_file(&db);
        assert!(blobs.iter().all(|b| old.unwrap_key(b).is_err()));
        assert!(blobs.iter().any(|b| new.unwrap_key(b).is_ok()));
        let err = Store::open(&db, &old_copy).unwrap_err();
        assert!(
            matches!(err, StoreError::Crypto(CryptoError::WrongMasterKey { .. })),
            "{err}"
        );
        let store = Store::open(&db, &key).unwrap();
        assert_eq!(
            store
                .get_secret(&crate::ids::Owner::new("alice"), &rec.id, &test_actor(), 0)
                .unwrap()
                .1
                .expose_secret(),
            value(0)
        );
        assert_eq!(
            MasterKey::load(&key, None).unwrap().public_key(),
            r.public_key
        );
    }

    /// Issue 8, item 1: a leaked key file plus a copy of the database taken before
    /// `rotate-master` must open nothing written after it.
    #[test]
    fn an_old_key_file_and_an_old_database_copy_open_nothing_written_after_rotate_master() {
        let (dir, store) = fresh();
        let before = bulk_secrets(&store, "alice", 2);
        drop(store);
        let (db, key) = (db_path(&dir), key_path(&dir));
        let (old_db, old_key) = (dir.path().join("old.redb"), dir.path().join("old.key"));
        std::fs::copy(&db, &old_db).unwrap();
        std::fs::copy(&key, &old_key).unwrap();

        assert!(matches!(
            rotate_master(&db, &key, None).unwrap(),
            MasterRotationOutcome::Rotated(_)
        ));
        let store = Store::open(&db, &key).unwrap();
        let after = store
            .create_secret(
                &crate::ids::Owner::new("alice"),
                NewSecret {
                    name: "after".into(),
                    description: String::new(),
                    tags: vec![],
                    value: SecretString::from("written-after-the-rotation"),
                },
                &test_actor(),
                0,
            )
            .unwrap();

        // The attacker's haul: every data key the old copy holds, unwrapped with the old key.
        let old_master = MasterKey::load(&old_key, None).unwrap();
        let stolen: Vec<DataKey> = {
            let old = redb::Database::open(&old_db).unwrap();
            let txn = old.begin_read().unwrap();
            let table = txn.open_table(DATA_KEYS).unwrap();
            table
                .iter()
                .unwrap()
                .map(|row| old_master.unwrap_key(row.unwrap().1.value()).unwrap())
                .collect()
        };
        assert!(!stolen.is_empty());
        let (values, _) = sealed_rows(&store);
        let (new_value, _) = values.iter().find(|(_, rec)| rec.id == after.id).unwrap();
        for key in &stolen {
            assert!(
                !opens_value(key, new_value, &after),
                "a data key from before the rotation opens a secret written after it"
            );
            // Nor any value re-sealed by the rotation.
            for (sealed, rec) in &values {
                assert!(!opens_value(key, sealed, rec), "old key opens {}", rec.id);
            }
        }
        assert_eq!(values.len(), before.len() + 1);
    }

    /// Every age ciphertext of a 32-byte data key found anywhere in the file's bytes.
    fn wrapped_keys_in_file(path: &Path) -> Vec<Vec<u8>> {
        let bytes = std::fs::read(path).unwrap();
        let magic = b"age-encryption.org/v1\n";
        let mut out = Vec::new();
        let mut at = 0;
        while let Some(pos) = find(&bytes[at..], magic) {
            let start = at + pos;
            at = start + 1;
            let Some(mac) = find(&bytes[start..], b"\n--- ") else {
                break;
            };
            let Some(eol) = find(&bytes[start + mac + 1..], b"\n") else {
                break;
            };
            // Header, then a 16-byte nonce and one 48-byte chunk (32 bytes + tag).
            let end = start + mac + 1 + eol + 1 + 16 + 48;
            if end <= bytes.len() {
                out.push(bytes[start..end].to_vec());
            }
        }
        out
    }

    /// Every sealed-value-shaped run of `len` bytes naming `key_id` in the file.
    fn sealed_runs_in_file(path: &Path, key_id: u32, len: usize) -> Vec<Vec<u8>> {
        let bytes = std::fs::read(path).unwrap();
        let mut head = vec![1u8];
        head.extend_from_slice(&key_id.to_be_bytes());
        let mut out = Vec::new();
        for i in 0..bytes.len().saturating_sub(len) {
            if bytes[i..i + 5] == head[..] {
                out.push(bytes[i..i + len].to_vec());
            }
        }
        out
    }

    fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
        hay.windows(needle.len()).position(|w| w == needle)
    }

    /// A rotation cut short after step 1 (K.new written, nothing committed).
    #[test]
    fn a_leftover_new_key_that_never_committed_is_harmless_and_cleaned_up() {
        let (dir, store) = fresh();
        let rec = bulk_secrets(&store, "alice", 1).remove(0);
        drop(store);
        let (db, key) = (db_path(&dir), key_path(&dir));
        let pending = pending_master_path(&key);
        let leftover = MasterKey::create(&pending, None).unwrap();
        // serve still opens with K (and warns about the leftover).
        drop(Store::open(&db, &key).unwrap());
        let MasterRotationOutcome::Rotated(r) = rotate_master(&db, &key, None).unwrap() else {
            panic!("expected a fresh rotation")
        };
        assert!(r.removed_leftover);
        assert_ne!(r.public_key, leftover.public_key());
        assert!(!pending.exists());
        let store = Store::open(&db, &key).unwrap();
        assert_eq!(
            store
                .get_secret(&crate::ids::Owner::new("alice"), &rec.id, &test_actor(), 0)
                .unwrap()
                .1
                .expose_secret(),
            value(0)
        );
    }

    /// A rotation cut short after step 2 (committed, K.new not yet renamed over K).
    #[test]
    fn an_interrupted_swap_is_explained_and_finished() {
        let passphrase = KeyPassphrase::new("key-pass-8832".into()).insecure_fast_sealing();
        let dir = tempfile::tempdir().unwrap();
        let (db, key) = (db_path(&dir), key_path(&dir));
        let (store, _) = Store::open_with_key(&db, &key, Some(&passphrase)).unwrap();
        let rec = bulk_secrets(&store, "alice", 1).remove(0);
        drop(store);
        let pending = pending_master_path(&key);
        let old = MasterKey::load(&key, Some(&passphrase)).unwrap();
        let new = MasterKey::create(&pending, Some(&passphrase)).unwrap();
        {
            let (mut store, _) = Store::open_existing(&db, &old, Some(&passphrase)).unwrap();
            store.move_to_master(&old, &new).unwrap();
        }
        let err = Store::open_with_key(&db, &key, Some(&passphrase)).unwrap_err();
        assert!(
            matches!(err, StoreError::InterruptedMasterRotation { .. }),
            "{err}"
        );
        let msg = err.to_string();
        assert!(
            msg.contains("master.key.new") && msg.contains("rotate-master"),
            "{msg}"
        );
        assert!(!msg.contains("key-pass-8832"), "no passphrase in errors");
        // A wrong passphrase is just that, found before the database is even opened.
        let db_bytes = std::fs::read(&db).unwrap();
        let wrong = KeyPassphrase::new("nope".into());
        assert!(matches!(
            Store::open_with_key(&db, &key, Some(&wrong)),
            Err(StoreError::Crypto(CryptoError::WrongPassphrase { .. }))
        ));
        assert!(
            std::fs::read(&db).unwrap() == db_bytes,
            "database untouched"
        );

        let outcome = rotate_master(&db, &key, Some(&passphrase)).unwrap();
        let MasterRotationOutcome::FinishedInterrupted(r) = outcome else {
            panic!("{outcome:?}")
        };
        assert!(r.sealed);
        assert_eq!(r.public_key, new.public_key());
        assert!(!pending.exists());
        assert_eq!(r.data_key, 2);
        let (store, _) = Store::open_with_key(&db, &key, Some(&passphrase)).unwrap();
        assert_eq!(
            store
                .get_secret(&crate::ids::Owner::new("alice"), &rec.id, &test_actor(), 0)
                .unwrap()
                .1
                .expose_secret(),
            value(0)
        );
    }

    #[test]
    fn a_sealed_master_rotates_to_a_sealed_key_under_the_same_passphrase() {
        let passphrase = KeyPassphrase::new("key-pass-8832".into()).insecure_fast_sealing();
        let dir = tempfile::tempdir().unwrap();
        let (db, key) = (db_path(&dir), key_path(&dir));
        drop(Store::open_with_key(&db, &key, Some(&passphrase)).unwrap());
        assert!(key_file::is_sealed(&key).unwrap(), "sealed from the start");
        assert!(matches!(
            rotate_master(&db, &key, None),
            Err(StoreError::Crypto(CryptoError::KeySealed { .. }))
        ));
        let MasterRotationOutcome::Rotated(r) =
            rotate_master(&db, &key, Some(&passphrase)).unwrap()
        else {
            panic!("expected a rotation")
        };
        assert!(r.sealed && key_file::is_sealed(&key).unwrap());
        drop(Store::open_with_key(&db, &key, Some(&passphrase)).unwrap());
        assert!(rotate_master(&dir.path().join("none.redb"), &key, None).is_err());
    }
}
