//! Data keys at rest: age ciphertexts in `DATA_KEYS`, unwrapped once at open.

use std::collections::BTreeMap;
use std::path::Path;

use redb::{ReadableTable, WriteTransaction};

use super::StoreError;
use super::schema::decode_u32;
use super::tables::*;
use crate::crypto::key_file::KeyPassphrase;
use crate::crypto::keyring::{DataKey, Keyring};
use crate::crypto::master::MasterKey;

const FIRST_KEY_ID: u32 = 1;

/// Unwraps the database's data keys with `master` (already loaded from `key_file`; `None`
/// when that file does not exist), or on a database without any, creates the first one (and
/// the master key file too, sealed under `passphrase` when given).
pub fn unlock_or_init(
    txn: &WriteTransaction,
    db_path: &Path,
    key_file: &Path,
    passphrase: Option<&KeyPassphrase>,
    master: Option<&MasterKey>,
) -> Result<Keyring, StoreError> {
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
            let table = txn.open_table(DATA_KEYS)?;
            let mut keys = BTreeMap::new();
            for entry in table.iter()? {
                let (id, wrapped) = entry?;
                keys.insert(id.value(), master.unwrap_key(wrapped.value())?);
            }
            Keyring::new(active, keys)
                .ok_or_else(|| StoreError::Corrupt(format!("active data key {active} is missing")))
        }
        None => {
            let created;
            let master = match master {
                Some(m) => m,
                None => {
                    created = MasterKey::create(key_file, passphrase)?;
                    &created
                }
            };
            let key = DataKey::generate()?;
            let wrapped = master.wrap(&key)?;
            txn.open_table(DATA_KEYS)?
                .insert(FIRST_KEY_ID, wrapped.as_slice())?;
            txn.open_table(META)?
                .insert(META_ACTIVE_DATA_KEY, FIRST_KEY_ID.to_be_bytes().as_slice())?;
            let mut keys = BTreeMap::new();
            keys.insert(FIRST_KEY_ID, key);
            Keyring::new(FIRST_KEY_ID, keys)
                .ok_or_else(|| StoreError::Corrupt("new data key vanished".into()))
        }
    }
}
