//! Data keys at rest: age ciphertexts in `DATA_KEYS`, unwrapped once at open.

use std::collections::BTreeMap;
use std::path::Path;

use redb::{ReadableTable, WriteTransaction};

use super::StoreError;
use super::schema::decode_u32;
use super::tables::*;
use crate::crypto::keyring::{DataKey, Keyring};
use crate::crypto::master::MasterKey;

const FIRST_KEY_ID: u32 = 1;

/// Unwraps the database's data keys, or on a database without any, creates the first one
/// (and the master key file too, when it does not exist yet).
pub fn unlock_or_init(
    txn: &WriteTransaction,
    db_path: &Path,
    key_file: &Path,
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
            if !key_file.exists() {
                return Err(StoreError::KeyFileMissing {
                    db: db_path.to_path_buf(),
                    key: key_file.to_path_buf(),
                });
            }
            let master = MasterKey::load(key_file)?;
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
            let master = if key_file.exists() {
                MasterKey::load(key_file)?
            } else {
                MasterKey::create(key_file)?
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
