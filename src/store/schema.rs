//! Schema versioning. Every open runs `migrate` in one write transaction: a fresh file gets
//! every table and the current version; an older file is upgraded step by step; a file from
//! a newer release is refused rather than misread.

use redb::{ReadableTable, WriteTransaction};

use super::StoreError;
use super::tables::*;

/// The schema this build reads and writes.
pub const CURRENT_VERSION: u32 = 6;
/// The version from which the audit trail is keyed and has an authenticated head.
pub const AUDIT_HEAD_SINCE: u32 = 4;
/// The version from which new audit records are stored compact (`audit_row`). Older JSON
/// records stay as they are and read as before, so upgrading rewrites nothing; the version
/// is bumped so that an older secretctl refuses the file (`NewerSchema`) instead of taking
/// its compact records for a broken trail.
pub const COMPACT_AUDIT_SINCE: u32 = 6;

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
    // One step per version, in order; each is idempotent within its transaction.
    if found < 2 {
        migrate_1_to_2(txn)?;
    }
    if found < 3 {
        migrate_2_to_3(txn)?;
    }
    if found < 4 {
        migrate_3_to_4(txn)?;
    }
    if found < 5 {
        migrate_4_to_5(txn)?;
    }
    if found < COMPACT_AUDIT_SINCE {
        migrate_5_to_6(txn)?;
    }
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

/// Version 2 adds share links.
fn migrate_1_to_2(txn: &WriteTransaction) -> Result<(), StoreError> {
    txn.open_table(SHARES)?;
    txn.open_table(SHARE_PAYLOADS)?;
    txn.open_table(SHARE_IDS)?;
    txn.open_table(SECRET_SHARES)?;
    Ok(())
}

/// Version 3 adds the audit trail and share tombstones.
fn migrate_2_to_3(txn: &WriteTransaction) -> Result<(), StoreError> {
    txn.open_table(AUDIT)?;
    txn.open_table(AUDIT_BY_USER)?;
    txn.open_table(SHARE_TOMBSTONES)?;
    Ok(())
}

/// Version 4 keys the audit chain: its keys (created at open, which has the master key)
/// and, in `META`, its authenticated head.
fn migrate_3_to_4(txn: &WriteTransaction) -> Result<(), StoreError> {
    txn.open_table(AUDIT_KEYS)?;
    Ok(())
}

/// Version 5 keeps older values of secrets, and who set each version when, and adds teams
/// and service tokens. Existing secrets get a row for their current version, dated by their
/// last update (the best record of when the value was set) and credited to their owner; their
/// owner string is their user's id, which is what a personal owner is (`ids::Owner::user`).
fn migrate_4_to_5(txn: &WriteTransaction) -> Result<(), StoreError> {
    txn.open_table(TEAMS)?;
    txn.open_table(TEAM_NAMES)?;
    txn.open_table(TEAM_MEMBERS)?;
    txn.open_table(USER_TEAMS)?;
    txn.open_table(SERVICE_TOKENS)?;
    txn.open_table(SERVICE_TOKEN_IDS)?;
    txn.open_table(SECRET_VERSIONS)?;
    let mut info = txn.open_table(SECRET_VERSION_INFO)?;
    let secrets = txn.open_table(SECRETS)?;
    for entry in secrets.iter()? {
        let (_, row) = entry?;
        let rec: super::SecretRecord = serde_json::from_slice(row.value())
            .map_err(|_| StoreError::Corrupt("secret row".into()))?;
        if info.get((rec.id.as_str(), rec.version))?.is_none() {
            let row = super::versions::VersionInfo {
                created_at: rec.updated_at,
                created_by: rec.owner.to_string(),
            };
            let row = serde_json::to_vec(&row).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            info.insert((rec.id.as_str(), rec.version), row.as_slice())?;
        }
    }
    Ok(())
}

/// Version 6 stores new audit records compact (see `COMPACT_AUDIT_SINCE`). Nothing is
/// rewritten: the JSON records already there keep verifying byte for byte.
fn migrate_5_to_6(_txn: &WriteTransaction) -> Result<(), StoreError> {
    Ok(())
}

/// Reads a big-endian u32 stored in `META`.
pub fn decode_u32(bytes: &[u8]) -> Result<u32, StoreError> {
    bytes
        .try_into()
        .map(u32::from_be_bytes)
        .map_err(|_| StoreError::Corrupt("a meta value is not a u32".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use redb::{Database, ReadableDatabase, TableHandle};

    #[test]
    fn version_5_dates_and_credits_the_current_value_of_existing_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::create(dir.path().join("db")).unwrap();
        // A file as version 4 left it, with one secret at version 3.
        let txn = db.begin_write().unwrap();
        create_v1(&txn).unwrap();
        migrate_1_to_2(&txn).unwrap();
        migrate_2_to_3(&txn).unwrap();
        migrate_3_to_4(&txn).unwrap();
        let rec = crate::store::SecretRecord {
            id: "s1".into(),
            owner: "alice-id".into(),
            name: "db".into(),
            description: String::new(),
            tags: vec![],
            version: 3,
            created_at: 10,
            updated_at: 30,
        };
        txn.open_table(SECRETS)
            .unwrap()
            .insert("s1", serde_json::to_vec(&rec).unwrap().as_slice())
            .unwrap();
        txn.open_table(META)
            .unwrap()
            .insert(META_SCHEMA_VERSION, 4u32.to_be_bytes().as_slice())
            .unwrap();
        txn.commit().unwrap();

        let txn = db.begin_write().unwrap();
        assert_eq!(migrate(&txn).unwrap(), 4);
        txn.commit().unwrap();
        let read = db.begin_read().unwrap();
        let info = read.open_table(SECRET_VERSION_INFO).unwrap();
        let row = info.get(("s1", 3)).unwrap().unwrap();
        let row: crate::store::versions::VersionInfo = serde_json::from_slice(row.value()).unwrap();
        assert_eq!((row.created_at, row.created_by.as_str()), (30, "alice-id"));
        assert!(info.get(("s1", 2)).unwrap().is_none());
        assert!(read.open_table(SECRET_VERSIONS).is_ok());
    }

    #[test]
    fn a_version_1_file_is_upgraded_and_a_newer_one_refused() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::create(dir.path().join("db")).unwrap();
        // A file as version 1 left it.
        let txn = db.begin_write().unwrap();
        create_v1(&txn).unwrap();
        txn.open_table(META)
            .unwrap()
            .insert(META_SCHEMA_VERSION, 1u32.to_be_bytes().as_slice())
            .unwrap();
        txn.commit().unwrap();

        let txn = db.begin_write().unwrap();
        assert_eq!(migrate(&txn).unwrap(), 1);
        txn.commit().unwrap();
        let read = db.begin_read().unwrap();
        let tables: Vec<String> = read
            .list_tables()
            .unwrap()
            .map(|t| t.name().to_string())
            .collect();
        assert!(tables.contains(&"shares".to_string()), "{tables:?}");
        assert!(tables.contains(&"audit".to_string()), "{tables:?}");
        for t in ["teams", "team_members", "service_tokens"] {
            assert!(tables.contains(&t.to_string()), "{t}: {tables:?}");
        }
        let v = read
            .open_table(META)
            .unwrap()
            .get(META_SCHEMA_VERSION)
            .unwrap()
            .unwrap()
            .value()
            .to_vec();
        assert_eq!(decode_u32(&v).unwrap(), CURRENT_VERSION);
        drop(read);

        let txn = db.begin_write().unwrap();
        txn.open_table(META)
            .unwrap()
            .insert(META_SCHEMA_VERSION, 99u32.to_be_bytes().as_slice())
            .unwrap();
        txn.commit().unwrap();
        let txn = db.begin_write().unwrap();
        assert!(matches!(
            migrate(&txn),
            Err(StoreError::NewerSchema { found: 99, .. })
        ));
    }
}
