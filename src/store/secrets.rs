//! Secrets: metadata rows, sealed values and the per-owner name index.
//!
//! Every lookup is by (owner, id): a secret of another user is `NotFound`, exactly like a
//! missing one, so ids cannot be probed. Values are sealed bound to (owner, id, version).

use redb::ReadableTable;
use serde::{Deserialize, Serialize};

use super::audit::{Action, Actor, Event, Outcome};
use super::tables::{SECRET_NAMES, SECRET_VALUES, SECRETS};
use super::{Store, StoreError, Tx};
use crate::crypto::keyring::{Keyring, SealContext};
use crate::crypto::token;
use crate::ids::{Owner, SecretId};
use crate::sensitive::{ExposeSecret, SecretString};

pub(super) const SEAL_PURPOSE: &str = "secretctl/secret-value/v1";

/// Metadata of a stored secret (never its value).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SecretRecord {
    pub id: SecretId,
    pub owner: Owner,
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

/// A batch read: every secret with its value, in order, or the indexes of the ids that are
/// missing (or another owner's).
pub type BatchRead = Result<Vec<(SecretRecord, SecretString)>, Vec<usize>>;

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
    /// The opened value of `rec`, read from `values` (a read or a write transaction's).
    fn stored_value(
        &self,
        values: &impl ReadableTable<&'static str, &'static [u8]>,
        rec: &SecretRecord,
    ) -> Result<SecretString, StoreError> {
        stored_value(&self.core.keyring, values, rec)
    }

    /// Stores a new secret for `owner`; `Conflict("secret name")` when the name is taken.
    pub fn create_secret(
        &self,
        owner: &Owner,
        new: NewSecret,
        actor: &Actor,
        now: i64,
    ) -> Result<SecretRecord, StoreError> {
        let rec = SecretRecord {
            id: SecretId::new(token::new_time_ordered_id(
                crate::timefmt::now_unix_millis(),
            )?),
            owner: owner.clone(),
            name: new.name,
            description: new.description,
            tags: new.tags,
            version: 1,
            created_at: now,
            updated_at: now,
        };
        let sealed = seal_value(&self.core.keyring, &rec, &new.value)?;
        let by = super::versions::author(actor);
        self.write(actor, now, move |tx| {
            tx.insert_secret(&rec, &sealed)?;
            tx.record_version(&rec.id, rec.version, &by)?;
            let target = Some(format!("secret:{}", rec.id));
            tx.audit(Event::ok(Action::SecretCreate, target, Some(&rec.owner)))?;
            Ok(rec.clone())
        })
    }

    /// `owner`'s secrets sorted by name, optionally only those with `tag` or named `name`.
    pub fn list_secrets(
        &self,
        owner: &Owner,
        tag: Option<&str>,
        name: Option<&str>,
    ) -> Result<Vec<SecretRecord>, StoreError> {
        let txn = self.core.db.begin_read()?;
        let names = txn.open_table(SECRET_NAMES)?;
        let secrets = txn.open_table(SECRETS)?;
        let mut out = Vec::new();
        for entry in names.range((owner.as_str(), "")..)? {
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

    /// `owner`'s secret `id` with its value opened. The lookup and decryption run on a read
    /// transaction; the read is audited (durably) before the value is returned; a miss is
    /// audited too, visible to the real owner if any.
    pub fn get_secret(
        &self,
        owner: &Owner,
        id: &SecretId,
        actor: &Actor,
        now: i64,
    ) -> Result<(SecretRecord, SecretString), StoreError> {
        let found = self.peek_owned(owner, id)?;
        self.audit_read(found, owner, id, actor, now)
    }

    /// Hands out a value looked up as `found` only once its `secret.read` record is durable;
    /// a miss (`None`) is audited as one and is `NotFound`.
    pub(super) fn audit_read(
        &self,
        found: Option<(SecretRecord, SecretString)>,
        owner: &Owner,
        id: &SecretId,
        actor: &Actor,
        now: i64,
    ) -> Result<(SecretRecord, SecretString), StoreError> {
        let Some((rec, value)) = found else {
            return Err(self.record_miss(actor, Action::SecretRead, id, now));
        };
        let (target, owner) = (format!("secret:{id}"), owner.to_string());
        self.write(actor, now, move |tx| {
            tx.audit(Event::ok(
                Action::SecretRead,
                Some(target.clone()),
                Some(&owner),
            ))
        })?;
        Ok((rec, value))
    }

    /// The secrets `items` (each with the owner it must have), all or nothing: every value
    /// is looked up and opened on one read transaction; if any is missing (or another
    /// owner's), the indexes of those are the answer and nothing is audited or revealed;
    /// otherwise every read is audited in one write (one commit however many) before the
    /// values are returned, in order.
    pub fn read_secrets(
        &self,
        items: &[(Owner, SecretId)],
        actor: &Actor,
        now: i64,
    ) -> Result<BatchRead, StoreError> {
        let (found, missing) = {
            let txn = self.core.db.begin_read()?;
            let secrets = txn.open_table(SECRETS)?;
            let values = txn.open_table(SECRET_VALUES)?;
            let (mut found, mut missing) = (Vec::with_capacity(items.len()), Vec::new());
            for (i, (owner, id)) in items.iter().enumerate() {
                match owned_record(&secrets, owner, id) {
                    Ok(rec) => {
                        let value = self.stored_value(&values, &rec)?;
                        found.push((rec, value));
                    }
                    Err(StoreError::NotFound) => missing.push(i),
                    Err(e) => return Err(e),
                }
            }
            (found, missing)
        };
        if !missing.is_empty() {
            return Ok(Err(missing));
        }
        let items = items.to_vec();
        self.write(actor, now, move |tx| {
            for (owner, id) in &items {
                let target = Some(format!("secret:{id}"));
                tx.audit(Event::ok(Action::SecretRead, target, Some(owner)))?;
            }
            Ok(())
        })?;
        Ok(Ok(found))
    }

    /// `owner`'s secret `id` with its value, without an audit event: for callers whose own
    /// event covers the read (a share snapshot is recorded as `share.create`).
    pub fn peek_secret(
        &self,
        owner: &Owner,
        id: &SecretId,
    ) -> Result<(SecretRecord, SecretString), StoreError> {
        self.peek_owned(owner, id)?.ok_or(StoreError::NotFound)
    }

    /// `owner`'s secret `id`'s metadata, never its value; `None` for a missing id and
    /// another owner's alike. Not audited: it tells the owner only what `ls` does.
    pub fn owned_secret(&self, owner: &str, id: &str) -> Result<Option<SecretRecord>, StoreError> {
        let txn = self.core.db.begin_read()?;
        match owned_record(&txn.open_table(SECRETS)?, owner, id) {
            Ok(rec) => Ok(Some(rec)),
            Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn peek_owned(
        &self,
        owner: &Owner,
        id: &SecretId,
    ) -> Result<Option<(SecretRecord, SecretString)>, StoreError> {
        let txn = self.core.db.begin_read()?;
        let rec = match owned_record(&txn.open_table(SECRETS)?, owner, id) {
            Ok(rec) => rec,
            Err(StoreError::NotFound) => return Ok(None),
            Err(e) => return Err(e),
        };
        let value = self.stored_value(&txn.open_table(SECRET_VALUES)?, &rec)?;
        Ok(Some((rec, value)))
    }

    /// Audits a miss on secret `id` in a write of its own; returns the `NotFound` (or the
    /// audit failure) to hand back to the caller.
    pub fn record_miss(
        &self,
        actor: &Actor,
        action: Action,
        id: &SecretId,
        now: i64,
    ) -> StoreError {
        let id = id.to_string();
        match self.write(actor, now, move |tx| tx.audit_miss(action, &id)) {
            Err(e) => e,
            Ok(()) => StoreError::NotFound,
        }
    }

    /// Applies `patch` to `owner`'s secret `id` in one transaction.
    pub fn update_secret(
        &self,
        owner: &Owner,
        id: &SecretId,
        patch: SecretPatch,
        actor: &Actor,
        now: i64,
    ) -> Result<SecretRecord, StoreError> {
        let (owner, id) = (owner.clone(), id.clone());
        let (by, keep) = (super::versions::author(actor), self.keep_versions);
        self.write(actor, now, move |tx| {
            let Some(mut rec) = tx.secret(&owner, &id)? else {
                tx.audit_miss(Action::SecretUpdate, &id)?;
                return Ok(Err(StoreError::NotFound));
            };
            if let Some(new_name) = patch.name.as_ref().filter(|n| **n != rec.name) {
                if !tx.rename_secret(&owner, &rec.name, new_name, &id)? {
                    return Err(StoreError::Conflict("a secret with this name"));
                }
                rec.name = new_name.clone();
            }
            if let Some(d) = &patch.description {
                rec.description = d.clone();
            }
            if let Some(t) = &patch.tags {
                rec.tags = t.clone();
            }
            rec.updated_at = tx.now();
            // A new value is a new version; the old one joins the history.
            match &patch.value {
                Some(value) => tx.set_value(&mut rec, value, &by, keep)?,
                None => tx.put_secret(&rec, None)?,
            }
            let target = Some(format!("secret:{id}"));
            tx.audit(Event::ok(Action::SecretUpdate, target, Some(&owner)))?;
            Ok(Ok(rec))
        })?
    }

    /// Deletes `owner`'s secret `id`, its value, and every link to it.
    pub fn delete_secret(
        &self,
        owner: &Owner,
        id: &SecretId,
        actor: &Actor,
        now: i64,
    ) -> Result<(), StoreError> {
        let (owner, id) = (owner.clone(), id.clone());
        self.write(actor, now, move |tx| {
            let Some(rec) = tx.secret(&owner, &id)? else {
                tx.audit_miss(Action::SecretDelete, &id)?;
                return Ok(Err(StoreError::NotFound));
            };
            tx.remove_secret(&rec)?;
            // Deleting a secret revokes every link to it.
            for share in super::shares::remove_secret_shares(tx.txn, &id, tx.now())? {
                let target = Some(format!("share:{}", share.id));
                tx.audit(Event::ok(Action::ShareRevoke, target, Some(&owner)))?;
            }
            let target = Some(format!("secret:{id}"));
            tx.audit(Event::ok(Action::SecretDelete, target, Some(&owner)))?;
            Ok(Ok(()))
        })?
    }
}

/// Typed operations on secrets, for closures given to `Store::write`.
impl Tx<'_> {
    /// `owner`'s secret `id`; `None` for a missing id and another owner's alike.
    pub fn secret(&self, owner: &Owner, id: &SecretId) -> Result<Option<SecretRecord>, StoreError> {
        match owned_record(&self.txn.open_table(SECRETS)?, owner, id) {
            Ok(rec) => Ok(Some(rec)),
            Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Audits a miss on secret `id` (missing, or another user's) with outcome `not_found`.
    /// The real owner, if any, sees the attempt in their trail.
    pub fn audit_miss(&mut self, action: Action, id: &str) -> Result<(), StoreError> {
        let real_owner = {
            let secrets = self.txn.open_table(SECRETS)?;
            let row = secrets.get(id)?;
            row.and_then(|r| serde_json::from_slice::<SecretRecord>(r.value()).ok())
                .map(|r| r.owner)
        };
        let target = safe_target("secret", id);
        self.audit(Event::ok(action, target, real_owner.as_deref()).outcome(Outcome::NotFound))
    }

    /// Adds a new secret with its sealed value; `Conflict` when the owner has the name.
    fn insert_secret(&self, rec: &SecretRecord, sealed: &[u8]) -> Result<(), StoreError> {
        let mut names = self.txn.open_table(SECRET_NAMES)?;
        if names
            .get((rec.owner.as_str(), rec.name.as_str()))?
            .is_some()
        {
            return Err(StoreError::Conflict("a secret with this name"));
        }
        names.insert((rec.owner.as_str(), rec.name.as_str()), rec.id.as_str())?;
        self.put_secret(rec, Some(sealed))
    }

    /// Writes a secret's metadata, and its sealed value when given.
    pub(super) fn put_secret(
        &self,
        rec: &SecretRecord,
        sealed: Option<&[u8]>,
    ) -> Result<(), StoreError> {
        self.txn
            .open_table(SECRETS)?
            .insert(rec.id.as_str(), Store::encode(rec)?.as_slice())?;
        if let Some(sealed) = sealed {
            self.txn
                .open_table(SECRET_VALUES)?
                .insert(rec.id.as_str(), sealed)?;
        }
        Ok(())
    }

    /// Moves `owner`'s name index entry; false when `to` is taken.
    fn rename_secret(
        &self,
        owner: &str,
        from: &str,
        to: &str,
        id: &str,
    ) -> Result<bool, StoreError> {
        let mut names = self.txn.open_table(SECRET_NAMES)?;
        if names.get((owner, to))?.is_some() {
            return Ok(false);
        }
        names.remove((owner, from))?;
        names.insert((owner, to), id)?;
        Ok(true)
    }

    pub(super) fn remove_secret(&self, rec: &SecretRecord) -> Result<(), StoreError> {
        let id = rec.id.as_str();
        self.txn.open_table(SECRETS)?.remove(id)?;
        self.txn.open_table(SECRET_VALUES)?.remove(id)?;
        self.txn
            .open_table(SECRET_NAMES)?
            .remove((rec.owner.as_str(), rec.name.as_str()))?;
        self.remove_versions(id)
    }
}

pub(super) fn seal_value(
    keyring: &Keyring,
    rec: &SecretRecord,
    value: &SecretString,
) -> Result<Vec<u8>, StoreError> {
    let version = rec.version.to_be_bytes();
    let parts = seal_parts(&rec.owner, &rec.id, &version);
    Ok(keyring.seal(
        value.expose_secret().as_bytes(),
        &SealContext {
            purpose: SEAL_PURPOSE,
            parts: &parts,
        },
    )?)
}

/// The opened value of `rec`, read from `values` (a read or a write transaction's).
pub(super) fn stored_value(
    keyring: &Keyring,
    values: &impl ReadableTable<&'static str, &'static [u8]>,
    rec: &SecretRecord,
) -> Result<SecretString, StoreError> {
    let sealed = values
        .get(rec.id.as_str())?
        .ok_or_else(|| StoreError::Corrupt("secret without a value".into()))?;
    open_sealed(keyring, sealed.value(), &rec.owner, &rec.id, rec.version)
}

/// Opens a secret value sealed to (`owner`, `id`, `version`).
pub(super) fn open_sealed(
    keyring: &Keyring,
    sealed: &[u8],
    owner: &str,
    id: &str,
    version: u64,
) -> Result<SecretString, StoreError> {
    let version = version.to_be_bytes();
    let parts = seal_parts(owner, id, &version);
    let plain = keyring.open(
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

/// A target reference for an id from the request: ids are ours (hex), anything else a
/// client made up is cut and cleaned before it is written to the trail.
pub(super) fn safe_target(kind: &str, id: &str) -> Option<String> {
    let id: String = id
        .chars()
        .take(64)
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    Some(format!("{kind}:{id}"))
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
    use crate::store::test_support::{actor, temp_store};

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
            .create_secret(
                &crate::ids::Owner::new("alice"),
                new("db/password", "pw-1", &["prod"]),
                &actor(),
                10,
            )
            .unwrap();
        s.create_secret(
            &crate::ids::Owner::new("alice"),
            new("api-key", "k", &[]),
            &actor(),
            10,
        )
        .unwrap();
        s.create_secret(
            &crate::ids::Owner::new("bob"),
            new("db/password", "bob-pw", &["prod"]),
            &actor(),
            10,
        )
        .unwrap();
        assert!(matches!(
            s.create_secret(
                &crate::ids::Owner::new("alice"),
                new("db/password", "x", &[]),
                &actor(),
                10
            ),
            Err(StoreError::Conflict(_))
        ));
        let names: Vec<_> = s
            .list_secrets(&crate::ids::Owner::new("alice"), None, None)
            .unwrap()
            .into_iter()
            .map(|r| r.name)
            .collect();
        assert_eq!(names, ["api-key", "db/password"]);
        assert_eq!(
            s.list_secrets(&crate::ids::Owner::new("alice"), Some("prod"), None)
                .unwrap()
                .len(),
            1
        );
        assert_eq!(
            s.list_secrets(&crate::ids::Owner::new("alice"), None, Some("api-key"))
                .unwrap()
                .len(),
            1
        );
        let (rec, value) = s
            .get_secret(&crate::ids::Owner::new("alice"), &a.id, &actor(), 50)
            .unwrap();
        assert_eq!(rec, a);
        assert_eq!(value.expose_secret(), "pw-1");
        assert!(matches!(
            s.get_secret(&crate::ids::Owner::new("bob"), &a.id, &actor(), 50),
            Err(StoreError::NotFound)
        ));

        let patch = SecretPatch {
            name: Some("db/main".into()),
            value: Some(SecretString::from("pw-2")),
            ..Default::default()
        };
        let up = s
            .update_secret(&crate::ids::Owner::new("alice"), &a.id, patch, &actor(), 20)
            .unwrap();
        assert_eq!(
            (up.version, up.updated_at, up.name.as_str()),
            (2, 20, "db/main")
        );
        assert_eq!(
            s.get_secret(&crate::ids::Owner::new("alice"), &a.id, &actor(), 50)
                .unwrap()
                .1
                .expose_secret(),
            "pw-2"
        );
        assert!(matches!(
            s.update_secret(
                &crate::ids::Owner::new("alice"),
                &a.id,
                SecretPatch {
                    name: Some("api-key".into()),
                    ..Default::default()
                },
                &actor(),
                30
            ),
            Err(StoreError::Conflict(_))
        ));
        assert!(matches!(
            s.delete_secret(&crate::ids::Owner::new("bob"), &a.id, &actor(), 60),
            Err(StoreError::NotFound)
        ));
        s.delete_secret(&crate::ids::Owner::new("alice"), &a.id, &actor(), 60)
            .unwrap();
        assert!(matches!(
            s.get_secret(&crate::ids::Owner::new("alice"), &a.id, &actor(), 50),
            Err(StoreError::NotFound)
        ));
        // The name is free again.
        s.create_secret(
            &crate::ids::Owner::new("alice"),
            new("db/main", "again", &[]),
            &actor(),
            40,
        )
        .unwrap();
    }
}
