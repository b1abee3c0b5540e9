//! Secrets: metadata rows, sealed values and the per-owner name index.
//!
//! Every lookup is by (owner, id): a secret of another user is `NotFound`, exactly like a
//! missing one, so ids cannot be probed. Values are sealed bound to (owner, id, version).

use redb::{ReadableDatabase, ReadableTable};
use serde::{Deserialize, Serialize};

use super::tables::{SECRET_NAMES, SECRET_VALUES, SECRETS};
use super::{Store, StoreError};
use crate::crypto::keyring::SealContext;
use crate::crypto::token;
use crate::sensitive::{ExposeSecret, SecretString};

pub(super) const SEAL_PURPOSE: &str = "secretctl/secret-value/v1";

/// Metadata of a stored secret (never its value).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SecretRecord {
    pub id: String,
    pub owner: String,
    pub name: String,
    pub description: String,
    pub tags: Vec<String>,
    pub version: u64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A secret to create; fields are already validated.
pub struct NewSecret {
    pub name: String,
    pub description: String,
    pub tags: Vec<String>,
    pub value: SecretString,
}

/// Changes to a secret; `None` leaves a field as it is. A new value bumps the version.
#[derive(Default)]
pub struct SecretPatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub tags: Option<Vec<String>>,
    pub value: Option<SecretString>,
}

pub(super) fn seal_parts<'a>(owner: &'a str, id: &'a str, version: &'a [u8; 8]) -> [&'a [u8]; 3] {
    [owner.as_bytes(), id.as_bytes(), version.as_slice()]
}

impl Store {
    fn seal_value(&self, rec: &SecretRecord, value: &SecretString) -> Result<Vec<u8>, StoreError> {
        let version = rec.version.to_be_bytes();
        let parts = seal_parts(&rec.owner, &rec.id, &version);
        Ok(self.keyring.seal(
            value.expose_secret().as_bytes(),
            &SealContext {
                purpose: SEAL_PURPOSE,
                parts: &parts,
            },
        )?)
    }

    fn open_value(&self, rec: &SecretRecord, sealed: &[u8]) -> Result<SecretString, StoreError> {
        let version = rec.version.to_be_bytes();
        let parts = seal_parts(&rec.owner, &rec.id, &version);
        let plain = self.keyring.open(
            sealed,
            &SealContext {
                purpose: SEAL_PURPOSE,
                parts: &parts,
            },
        )?;
        let text = std::str::from_utf8(&plain)
            .map_err(|_| StoreError::Corrupt("a secret value is not UTF-8".into()))?;
        Ok(SecretString::from(text))
    }

    /// Stores a new secret for `owner`; `Conflict("secret name")` when the name is taken.
    pub fn create_secret(
        &self,
        owner: &str,
        new: NewSecret,
        now: i64,
    ) -> Result<SecretRecord, StoreError> {
        let rec = SecretRecord {
            id: token::new_id()?,
            owner: owner.to_string(),
            name: new.name,
            description: new.description,
            tags: new.tags,
            version: 1,
            created_at: now,
            updated_at: now,
        };
        let sealed = self.seal_value(&rec, &new.value)?;
        let txn = self.db.begin_write()?;
        {
            let mut names = txn.open_table(SECRET_NAMES)?;
            if names.get((owner, rec.name.as_str()))?.is_some() {
                return Err(StoreError::Conflict("a secret with this name"));
            }
            names.insert((owner, rec.name.as_str()), rec.id.as_str())?;
            txn.open_table(SECRETS)?
                .insert(rec.id.as_str(), Self::encode(&rec)?.as_slice())?;
            txn.open_table(SECRET_VALUES)?
                .insert(rec.id.as_str(), sealed.as_slice())?;
        }
        txn.commit()?;
        Ok(rec)
    }

    /// `owner`'s secrets sorted by name, optionally only those with `tag` or named `name`.
    pub fn list_secrets(
        &self,
        owner: &str,
        tag: Option<&str>,
        name: Option<&str>,
    ) -> Result<Vec<SecretRecord>, StoreError> {
        let txn = self.db.begin_read()?;
        let names = txn.open_table(SECRET_NAMES)?;
        let secrets = txn.open_table(SECRETS)?;
        let mut out = Vec::new();
        for entry in names.range((owner, "")..)? {
            let (key, id) = entry?;
            let (entry_owner, entry_name) = key.value();
            if entry_owner != owner {
                break;
            }
            if name.is_some_and(|n| n != entry_name) {
                continue;
            }
            let row = secrets.get(id.value())?.ok_or_else(|| {
                StoreError::Corrupt("name index points at a missing secret".into())
            })?;
            let rec: SecretRecord = Self::decode(row.value(), "secret")?;
            if tag.is_none_or(|t| rec.tags.iter().any(|x| x == t)) {
                out.push(rec);
            }
        }
        Ok(out)
    }

    /// `owner`'s secret `id` with its value opened.
    pub fn get_secret(
        &self,
        owner: &str,
        id: &str,
    ) -> Result<(SecretRecord, SecretString), StoreError> {
        let txn = self.db.begin_read()?;
        let secrets = txn.open_table(SECRETS)?;
        let rec = owned_record(&secrets, owner, id)?;
        let values = txn.open_table(SECRET_VALUES)?;
        let sealed = values
            .get(id)?
            .ok_or_else(|| StoreError::Corrupt("secret without a value".into()))?;
        let value = self.open_value(&rec, sealed.value())?;
        Ok((rec, value))
    }

    /// Applies `patch` to `owner`'s secret `id` in one transaction.
    pub fn update_secret(
        &self,
        owner: &str,
        id: &str,
        patch: SecretPatch,
        now: i64,
    ) -> Result<SecretRecord, StoreError> {
        let txn = self.db.begin_write()?;
        let rec = {
            let mut secrets = txn.open_table(SECRETS)?;
            let mut rec = owned_record(&secrets, owner, id)?;
            if let Some(new_name) = patch.name.filter(|n| *n != rec.name) {
                let mut names = txn.open_table(SECRET_NAMES)?;
                if names.get((owner, new_name.as_str()))?.is_some() {
                    return Err(StoreError::Conflict("a secret with this name"));
                }
                names.remove((owner, rec.name.as_str()))?;
                names.insert((owner, new_name.as_str()), id)?;
                rec.name = new_name;
            }
            if let Some(d) = patch.description {
                rec.description = d;
            }
            if let Some(t) = patch.tags {
                rec.tags = t;
            }
            if let Some(value) = patch.value {
                rec.version += 1;
                let sealed = self.seal_value(&rec, &value)?;
                txn.open_table(SECRET_VALUES)?
                    .insert(id, sealed.as_slice())?;
            }
            rec.updated_at = now;
            secrets.insert(id, Self::encode(&rec)?.as_slice())?;
            rec
        };
        txn.commit()?;
        Ok(rec)
    }

    /// Deletes `owner`'s secret `id` and its value.
    pub fn delete_secret(&self, owner: &str, id: &str) -> Result<(), StoreError> {
        let txn = self.db.begin_write()?;
        {
            let mut secrets = txn.open_table(SECRETS)?;
            let rec = owned_record(&secrets, owner, id)?;
            secrets.remove(id)?;
            txn.open_table(SECRET_VALUES)?.remove(id)?;
            txn.open_table(SECRET_NAMES)?
                .remove((owner, rec.name.as_str()))?;
            // Deleting a secret revokes every link to it.
            super::shares::remove_secret_shares(&txn, id)?;
        }
        txn.commit()?;
        Ok(())
    }
}

/// Loads a secret row, answering `NotFound` alike for a missing id and another owner's.
pub(super) fn owned_record(
    secrets: &impl ReadableTable<&'static str, &'static [u8]>,
    owner: &str,
    id: &str,
) -> Result<SecretRecord, StoreError> {
    let Some(row) = secrets.get(id)? else {
        return Err(StoreError::NotFound);
    };
    let rec: SecretRecord = Store::decode(row.value(), "secret")?;
    if rec.owner != owner {
        return Err(StoreError::NotFound);
    }
    Ok(rec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::temp_store;

    fn new(name: &str, value: &str, tags: &[&str]) -> NewSecret {
        NewSecret {
            name: name.into(),
            description: String::new(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            value: SecretString::from(value),
        }
    }

    #[test]
    fn create_get_list_update_delete() {
        let t = temp_store("secrets");
        let s = &t.store;
        let a = s
            .create_secret("alice", new("db/password", "pw-1", &["prod"]), 10)
            .unwrap();
        s.create_secret("alice", new("api-key", "k", &[]), 10)
            .unwrap();
        s.create_secret("bob", new("db/password", "bob-pw", &["prod"]), 10)
            .unwrap();
        assert!(matches!(
            s.create_secret("alice", new("db/password", "x", &[]), 10),
            Err(StoreError::Conflict(_))
        ));
        let names: Vec<_> = s
            .list_secrets("alice", None, None)
            .unwrap()
            .into_iter()
            .map(|r| r.name)
            .collect();
        assert_eq!(names, ["api-key", "db/password"]);
        assert_eq!(
            s.list_secrets("alice", Some("prod"), None).unwrap().len(),
            1
        );
        assert_eq!(
            s.list_secrets("alice", None, Some("api-key"))
                .unwrap()
                .len(),
            1
        );
        let (rec, value) = s.get_secret("alice", &a.id).unwrap();
        assert_eq!(rec, a);
        assert_eq!(value.expose_secret(), "pw-1");
        assert!(matches!(
            s.get_secret("bob", &a.id),
            Err(StoreError::NotFound)
        ));

        let patch = SecretPatch {
            name: Some("db/main".into()),
            value: Some(SecretString::from("pw-2")),
            ..Default::default()
        };
        let up = s.update_secret("alice", &a.id, patch, 20).unwrap();
        assert_eq!(
            (up.version, up.updated_at, up.name.as_str()),
            (2, 20, "db/main")
        );
        assert_eq!(
            s.get_secret("alice", &a.id).unwrap().1.expose_secret(),
            "pw-2"
        );
        assert!(matches!(
            s.update_secret(
                "alice",
                &a.id,
                SecretPatch {
                    name: Some("api-key".into()),
                    ..Default::default()
                },
                30
            ),
            Err(StoreError::Conflict(_))
        ));
        assert!(matches!(
            s.delete_secret("bob", &a.id),
            Err(StoreError::NotFound)
        ));
        s.delete_secret("alice", &a.id).unwrap();
        assert!(matches!(
            s.get_secret("alice", &a.id),
            Err(StoreError::NotFound)
        ));
        // The name is free again.
        s.create_secret("alice", new("db/main", "again", &[]), 40)
            .unwrap();
    }
}
