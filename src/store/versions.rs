//! Version history of secrets: the last N values of each secret, and who set each when.
//!
//! Invariants kept here:
//! - An older value is the very ciphertext that was the current value: moved, not re-sealed,
//!   from `SECRET_VALUES` to `SECRET_VERSIONS` under (id, version). It stays bound to (owner,
//!   id, version), so a row copied under another version or secret fails to open.
//! - At most `keep` values of a secret exist, the current one included; older ones are
//!   deleted in the same write that makes a new version (a lower `keep` takes effect at a
//!   secret's next new value).
//! - Deleting a secret deletes every version; key rotations re-seal `SECRET_VERSIONS` with
//!   `SECRET_VALUES` (`rotation::for_each_sealed`).
//! - Info rows hold a user id and a time, never a value.

use crate::ids::{Owner, SecretId};
use redb::ReadableTable;
use serde::{Deserialize, Serialize};

use super::audit::{Action, Actor, Event};
use super::secrets::{SecretRecord, open_sealed, owned_record, seal_value, stored_value};
use super::tables::{SECRET_VALUES, SECRET_VERSION_INFO, SECRET_VERSIONS, SECRETS};
use super::{Store, StoreError, Tx};
use crate::sensitive::SecretString;

/// Values of each secret kept when `serve` is not told otherwise (the current one included).
pub const DEFAULT_KEEP_VERSIONS: u32 = 10;
/// The most values of one secret `--keep-versions` may keep.
pub const MAX_KEEP_VERSIONS: u32 = 100;

/// When and by whom a version's value was set (a row of `SECRET_VERSION_INFO`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(super) struct VersionInfo {
    pub created_at: i64,
    /// The user id of the writer (`anonymous`/`system` for those actors).
    pub created_by: String,
}

/// One readable version of a secret, as `history` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretVersion {
    pub version: u64,
    pub created_at: i64,
    /// The user id of whoever set this value.
    pub created_by: String,
}

/// Who to credit with a new version written by `actor`.
pub(super) fn author(actor: &Actor) -> String {
    actor
        .user_id
        .clone()
        .unwrap_or_else(|| super::audit::ANONYMOUS.to_string())
}

impl Store {
    /// How many values of each secret are kept, the current one included.
    pub fn keep_versions(&self) -> u32 {
        self.keep_versions
    }

    /// Sets how many values of each secret are kept (clamped to 1..=`MAX_KEEP_VERSIONS`).
    pub fn set_keep_versions(&mut self, keep: u32) {
        self.keep_versions = keep.clamp(1, MAX_KEEP_VERSIONS);
    }

    /// `owner`'s secret `id` as it was at `version` (the record's `version` set to it). A
    /// version that never existed or was pruned is `NotFound` like a missing secret; either
    /// way the read (or the miss) is audited as `secret.read` on `secret:<id>`.
    pub fn get_secret_version(
        &self,
        owner: &Owner,
        id: &SecretId,
        version: u64,
        actor: &Actor,
        now: i64,
    ) -> Result<(SecretRecord, SecretString), StoreError> {
        let found = self.peek_version(owner, id, version)?;
        self.audit_read(found, owner, id, actor, now)
    }

    fn peek_version(
        &self,
        owner: &str,
        id: &str,
        version: u64,
    ) -> Result<Option<(SecretRecord, SecretString)>, StoreError> {
        let txn = self.core.db.begin_read()?;
        let mut rec = match owned_record(&txn.open_table(SECRETS)?, owner, id) {
            Ok(rec) => rec,
            Err(StoreError::NotFound) => return Ok(None),
            Err(e) => return Err(e),
        };
        if version == rec.version {
            let value = stored_value(&self.core.keyring, &txn.open_table(SECRET_VALUES)?, &rec)?;
            return Ok(Some((rec, value)));
        }
        let versions = txn.open_table(SECRET_VERSIONS)?;
        let Some(sealed) = versions.get((id, version))? else {
            return Ok(None);
        };
        let value = open_sealed(&self.core.keyring, sealed.value(), &rec.owner, id, version)?;
        rec.version = version;
        Ok(Some((rec, value)))
    }

    /// The readable versions of `owner`'s secret `id`, newest (the current one) first.
    pub fn secret_versions(
        &self,
        owner: &Owner,
        id: &SecretId,
    ) -> Result<Vec<SecretVersion>, StoreError> {
        let txn = self.core.db.begin_read()?;
        let rec = owned_record(&txn.open_table(SECRETS)?, owner, id)?;
        let info = txn.open_table(SECRET_VERSION_INFO)?;
        let versions = txn.open_table(SECRET_VERSIONS)?;
        let mut out = Vec::new();
        for entry in versions.range((id.as_str(), 0)..=(id.as_str(), u64::MAX))? {
            let (key, _) = entry?;
            let (_, version) = key.value();
            out.push(version_entry(&info, &rec, version)?);
        }
        out.push(version_entry(&info, &rec, rec.version)?);
        out.reverse();
        Ok(out)
    }

    /// Makes the value of `owner`'s secret `id` at version `to` its value again, as a new
    /// version (history is never rewritten). Audited as `secret.update`; an unknown or
    /// pruned `to` is `NotFound`, audited as a missed update.
    pub fn rollback_secret(
        &self,
        owner: &Owner,
        id: &SecretId,
        to: u64,
        actor: &Actor,
        now: i64,
    ) -> Result<SecretRecord, StoreError> {
        let (owner, id) = (owner.clone(), id.clone());
        let (by, keep) = (author(actor), self.keep_versions);
        self.write(actor, now, move |tx| {
            let Some(mut rec) = tx.secret(&owner, &id)? else {
                tx.audit_miss(Action::SecretUpdate, &id)?;
                return Ok(Err(StoreError::NotFound));
            };
            let Some(value) = tx.version_value(&rec, to)? else {
                tx.audit_miss(Action::SecretUpdate, &id)?;
                return Ok(Err(StoreError::NotFound));
            };
            rec.updated_at = tx.now();
            tx.set_value(&mut rec, &value, &by, keep)?;
            let target = Some(format!("secret:{id}"));
            tx.audit(Event::ok(Action::SecretUpdate, target, Some(&owner)))?;
            Ok(Ok(rec))
        })?
    }
}

/// The history entry of `rec`'s `version`. A version without an info row (written before
/// history existed) is dated by the record and credited to its owner.
fn version_entry(
    info: &impl ReadableTable<(&'static str, u64), &'static [u8]>,
    rec: &SecretRecord,
    version: u64,
) -> Result<SecretVersion, StoreError> {
    let row = match info.get((rec.id.as_str(), version))? {
        Some(row) => Store::decode(row.value(), "secret version")?,
        None => VersionInfo {
            created_at: if version == 1 {
                rec.created_at
            } else {
                rec.updated_at
            },
            created_by: rec.owner.to_string(),
        },
    };
    Ok(SecretVersion {
        version,
        created_at: row.created_at,
        created_by: row.created_by,
    })
}

/// Typed operations on version history, for the secret writes in this module's parent.
impl Tx<'_> {
    /// Gives `rec` the new value `value` as its next version: the current sealed value moves
    /// to the history, the new one is sealed to the new version, `by` is credited with it,
    /// and versions beyond `keep` are deleted. Writes `rec` (whose other fields the caller
    /// has already changed).
    pub(super) fn set_value(
        &self,
        rec: &mut SecretRecord,
        value: &SecretString,
        by: &str,
        keep: u32,
    ) -> Result<(), StoreError> {
        let current = self
            .txn
            .open_table(SECRET_VALUES)?
            .get(rec.id.as_str())?
            .map(|v| v.value().to_vec())
            .ok_or_else(|| StoreError::Corrupt("secret without a value".into()))?;
        self.txn
            .open_table(SECRET_VERSIONS)?
            .insert((rec.id.as_str(), rec.version), current.as_slice())?;
        rec.version += 1;
        let sealed = seal_value(self.keyring(), rec, value)?;
        self.put_secret(rec, Some(&sealed))?;
        self.record_version(&rec.id, rec.version, by)?;
        self.prune_versions(&rec.id, rec.version, keep)
    }

    /// Records that `by` set version `version` of secret `id` now.
    pub(super) fn record_version(
        &self,
        id: &str,
        version: u64,
        by: &str,
    ) -> Result<(), StoreError> {
        let row = Store::encode(&VersionInfo {
            created_at: self.now(),
            created_by: by.to_string(),
        })?;
        self.txn
            .open_table(SECRET_VERSION_INFO)?
            .insert((id, version), row.as_slice())?;
        Ok(())
    }

    /// The opened value of `rec` at `version` (the current one or a kept older one).
    fn version_value(
        &self,
        rec: &SecretRecord,
        version: u64,
    ) -> Result<Option<SecretString>, StoreError> {
        if version == rec.version {
            let values = self.txn.open_table(SECRET_VALUES)?;
            return stored_value(self.keyring(), &values, rec).map(Some);
        }
        let versions = self.txn.open_table(SECRET_VERSIONS)?;
        let Some(sealed) = versions.get((rec.id.as_str(), version))? else {
            return Ok(None);
        };
        open_sealed(self.keyring(), sealed.value(), &rec.owner, &rec.id, version).map(Some)
    }

    /// Deletes the versions of secret `id` that fall outside the last `keep` up to `current`.
    fn prune_versions(&self, id: &str, current: u64, keep: u32) -> Result<(), StoreError> {
        let Some(last_dropped) = current.checked_sub(u64::from(keep.max(1))) else {
            return Ok(());
        };
        self.remove_versions_in(id, 0, last_dropped)
    }

    /// Deletes every older value and info row of secret `id` (the secret is going).
    pub(super) fn remove_versions(&self, id: &str) -> Result<(), StoreError> {
        self.remove_versions_in(id, 0, u64::MAX)
    }

    fn remove_versions_in(&self, id: &str, from: u64, to: u64) -> Result<(), StoreError> {
        for table in [SECRET_VERSIONS, SECRET_VERSION_INFO] {
            let mut rows = self.txn.open_table(table)?;
            // redb cannot delete while iterating: collect the versions first.
            let doomed = rows
                .range((id, from)..=(id, to))?
                .map(|e| e.map(|(k, _)| k.value().1))
                .collect::<Result<Vec<u64>, _>>()?;
            for version in doomed {
                rows.remove((id, version))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sensitive::ExposeSecret;
    use crate::store::test_support::{actor, temp_store};
    use crate::store::{NewSecret, SecretPatch};
    use redb::ReadableTableMetadata;

    fn set(store: &Store, id: &SecretId, value: &str, now: i64) -> SecretRecord {
        let patch = SecretPatch {
            value: Some(SecretString::from(value)),
            ..Default::default()
        };
        store
            .update_secret(
                &crate::ids::Owner::user(&crate::ids::UserId::new("alice")),
                id,
                patch,
                &actor(),
                now,
            )
            .unwrap()
    }

    fn value_at(store: &Store, id: &SecretId, version: u64) -> Result<String, StoreError> {
        store
            .get_secret_version(
                &crate::ids::Owner::user(&crate::ids::UserId::new("alice")),
                id,
                version,
                &actor(),
                100,
            )
            .map(|(rec, v)| {
                assert_eq!(rec.version, version);
                v.expose_secret().to_string()
            })
    }

    fn listed(store: &Store, id: &SecretId) -> Vec<u64> {
        let versions = store
            .secret_versions(
                &crate::ids::Owner::user(&crate::ids::UserId::new("alice")),
                id,
            )
            .unwrap();
        versions.iter().map(|v| v.version).collect()
    }

    fn version_rows(store: &Store) -> (u64, u64) {
        let txn = store.core.db.begin_read().unwrap();
        let values = txn.open_table(SECRET_VERSIONS).unwrap().len().unwrap();
        let info = txn.open_table(SECRET_VERSION_INFO).unwrap().len().unwrap();
        (values, info)
    }

    #[test]
    fn keeps_the_last_n_values_rolls_back_as_a_new_version_and_deletes_all() {
        let mut t = temp_store("versions");
        t.store.set_keep_versions(3);
        let s = &t.store;
        let rec = s
            .create_secret(
                &crate::ids::Owner::user(&crate::ids::UserId::new("alice")),
                NewSecret {
                    name: "db".into(),
                    description: String::new(),
                    tags: vec![],
                    value: SecretString::from("v1"),
                },
                &actor(),
                10,
            )
            .unwrap();
        for (i, now) in (2..=5).zip(20..) {
            set(s, &rec.id, &format!("v{i}"), now);
        }
        // A metadata-only change is no new version.
        let patch = SecretPatch {
            description: Some("d".into()),
            ..Default::default()
        };
        assert_eq!(
            s.update_secret(
                &crate::ids::Owner::user(&crate::ids::UserId::new("alice")),
                &rec.id,
                patch,
                &actor(),
                30
            )
            .unwrap()
            .version,
            5
        );
        assert_eq!(listed(s, &rec.id), [5, 4, 3]);
        let history = s
            .secret_versions(
                &crate::ids::Owner::user(&crate::ids::UserId::new("alice")),
                &rec.id,
            )
            .unwrap();
        assert_eq!(
            (history[0].created_at, history[0].created_by.as_str()),
            (23, "u1")
        );
        assert_eq!(value_at(s, &rec.id, 3).unwrap(), "v3");
        assert_eq!(value_at(s, &rec.id, 5).unwrap(), "v5");
        for gone in [0, 1, 2, 6, u64::MAX] {
            assert!(matches!(
                value_at(s, &rec.id, gone),
                Err(StoreError::NotFound)
            ));
        }
        // Another user sees nothing of it.
        assert!(matches!(
            s.get_secret_version(
                &crate::ids::Owner::user(&crate::ids::UserId::new("bob")),
                &rec.id,
                3,
                &actor(),
                100
            ),
            Err(StoreError::NotFound)
        ));
        assert!(matches!(
            s.secret_versions(
                &crate::ids::Owner::user(&crate::ids::UserId::new("bob")),
                &rec.id
            ),
            Err(StoreError::NotFound)
        ));
        assert!(matches!(
            s.rollback_secret(
                &crate::ids::Owner::user(&crate::ids::UserId::new("bob")),
                &rec.id,
                3,
                &actor(),
                40
            ),
            Err(StoreError::NotFound)
        ));

        let back = s
            .rollback_secret(
                &crate::ids::Owner::user(&crate::ids::UserId::new("alice")),
                &rec.id,
                3,
                &actor(),
                40,
            )
            .unwrap();
        assert_eq!(back.version, 6);
        assert_eq!(
            s.get_secret(
                &crate::ids::Owner::user(&crate::ids::UserId::new("alice")),
                &rec.id,
                &actor(),
                50
            )
            .unwrap()
            .1
            .expose_secret(),
            "v3"
        );
        assert_eq!(listed(s, &rec.id), [6, 5, 4]);
        assert!(matches!(
            s.rollback_secret(
                &crate::ids::Owner::user(&crate::ids::UserId::new("alice")),
                &rec.id,
                3,
                &actor(),
                41
            ),
            Err(StoreError::NotFound)
        ));
        assert_eq!(version_rows(s), (2, 3));

        s.delete_secret(
            &crate::ids::Owner::user(&crate::ids::UserId::new("alice")),
            &rec.id,
            &actor(),
            60,
        )
        .unwrap();
        assert_eq!(version_rows(s), (0, 0));
    }

    #[test]
    fn an_older_value_moved_under_another_version_does_not_open() {
        let t = temp_store("versions-swap");
        let s = &t.store;
        let rec = s
            .create_secret(
                &crate::ids::Owner::user(&crate::ids::UserId::new("alice")),
                NewSecret {
                    name: "db".into(),
                    description: String::new(),
                    tags: vec![],
                    value: SecretString::from("first"),
                },
                &actor(),
                10,
            )
            .unwrap();
        set(s, &rec.id, "second", 11);
        set(s, &rec.id, "third", 12);
        // Someone with write access to the file copies version 1's ciphertext over version 2.
        let txn = s.core.db.begin_write().unwrap();
        {
            let mut versions = txn.open_table(SECRET_VERSIONS).unwrap();
            let v1 = versions
                .get((rec.id.as_str(), 1))
                .unwrap()
                .unwrap()
                .value()
                .to_vec();
            versions
                .insert((rec.id.as_str(), 2), v1.as_slice())
                .unwrap();
        }
        txn.commit().unwrap();
        assert_eq!(value_at(s, &rec.id, 1).unwrap(), "first");
        assert!(matches!(
            value_at(s, &rec.id, 2),
            Err(StoreError::Crypto(_))
        ));
    }
}
