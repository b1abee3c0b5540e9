//! Schema versioning. Every open runs `migrate` in one write transaction: a fresh file gets
//! every table and the current version; an older file is upgraded step by step; a file from
//! a newer release is refused rather than misread.

use redb::{ReadableTable, WriteTransaction};

use super::StoreError;
use super::tables::*;

/// The schema this build reads and writes.
pub const CURRENT_VERSION: u32 = 1;

/// Brings the file to `CURRENT_VERSION`; returns the version found (0 for a fresh file).
pub fn migrate(txn: &WriteTransaction) -> Result<u32, StoreError> {
    let found = {
        let meta = txn.open_table(META)?;
        let v = meta.get(META_SCHEMA_VERSION)?;
        match v {
            None => 0,
            Some(v) => decode_u32(v.value())?,
        }
    };
    if found > CURRENT_VERSION {
        return Err(StoreError::NewerSchema {
            found,
            supported: CURRENT_VERSION,
        });
    }
    if found == 0 {
        create_v1(txn)?;
    }
    // Later releases add `if found < 2 { migrate_1_to_2(txn)? }` here, one step per version.
    if found != CURRENT_VERSION {
        txn.open_table(META)?.insert(
            META_SCHEMA_VERSION,
            CURRENT_VERSION.to_be_bytes().as_slice(),
        )?;
    }
    Ok(found)
}

fn create_v1(txn: &WriteTransaction) -> Result<(), StoreError> {
    txn.open_table(DATA_KEYS)?;
    txn.open_table(USERS)?;
    txn.open_table(USERNAMES)?;
    txn.open_table(SESSIONS)?;
    txn.open_table(SECRETS)?;
    txn.open_table(SECRET_VALUES)?;
    txn.open_table(SECRET_NAMES)?;
    Ok(())
}

/// Reads a big-endian u32 stored in `META`.
pub fn decode_u32(bytes: &[u8]) -> Result<u32, StoreError> {
    bytes
        .try_into()
        .map(u32::from_be_bytes)
        .map_err(|_| StoreError::Corrupt("a meta value is not a u32".into()))
}
