//! User accounts: id, unique username, scrypt PHC hash, and an optional email address for
//! security alerts.

use redb::ReadableTable;
use serde::{Deserialize, Serialize};

use super::audit::{Action, Actor, Event};
use super::tables::{USERNAMES, USERS};
use super::{Store, StoreError, Tx};

/// A user as stored. The password hash never leaves the server and is not `Debug`.
#[derive(Clone, Serialize, Deserialize)]
pub struct UserRecord {
    pub id: String,
    pub username: String,
    pub password_hash: String,
    pub created_at: i64,
    /// Where security alerts go; rows written before this field existed read as `None`.
    #[serde(default)]
    pub email: Option<String>,
}

impl Store {
    /// Adds a user; `Conflict("username")` when the name is taken.
    pub fn create_user(&self, user: &UserRecord, actor: &Actor) -> Result<(), StoreError> {
        let user = user.clone();
        self.write(actor, user.created_at, move |tx| {
            {
                let mut names = tx.txn.open_table(USERNAMES)?;
                if names.get(user.username.as_str())?.is_some() {
                    return Err(StoreError::Conflict("username"));
                }
                names.insert(user.username.as_str(), user.id.as_str())?;
            }
            tx.put_user(&user)?;
            let target = Some(format!("user:{}", user.id));
            tx.audit(Event::ok(Action::UserRegister, target, Some(&user.id)))
        })
    }

    /// The user with this username, if any.
    pub fn find_user_by_name(&self, username: &str) -> Result<Option<UserRecord>, StoreError> {
        let txn = self.core.db.begin_read()?;
        let names = txn.open_table(USERNAMES)?;
        let Some(id) = names.get(username)? else {
            return Ok(None);
        };
        let users = txn.open_table(USERS)?;
        let row = users
            .get(id.value())?
            .ok_or_else(|| StoreError::Corrupt("username points at a missing user".into()))?;
        Self::decode(row.value(), "user").map(Some)
    }

    /// The user with this id, if any.
    pub fn find_user_by_id(&self, id: &str) -> Result<Option<UserRecord>, StoreError> {
        let txn = self.core.db.begin_read()?;
        let users = txn.open_table(USERS)?;
        let Some(row) = users.get(id)? else {
            return Ok(None);
        };
        Self::decode(row.value(), "user").map(Some)
    }

    /// Sets (or with `None` clears) user `id`'s alert address, audited as `account.set_email`
    /// in the same transaction. The address itself stays out of the audit record, like every
    /// other piece of account data. `NotFound` when there is no such user.
    pub fn set_email(
        &self,
        id: &str,
        email: Option<&str>,
        actor: &Actor,
        now: i64,
    ) -> Result<UserRecord, StoreError> {
        let (id, email) = (id.to_string(), email.map(str::to_string));
        self.write(actor, now, move |tx| {
            let Some(mut user) = tx.user(&id)? else {
                return Err(StoreError::NotFound);
            };
            user.email = email.clone();
            tx.put_user(&user)?;
            let target = Some(format!("user:{id}"));
            tx.audit(Event::ok(Action::AccountSetEmail, target, Some(&id)))?;
            Ok(user)
        })
    }
}

/// Typed operations on users, for closures given to `Store::write`.
impl Tx<'_> {
    /// The user with id `id`, if any.
    pub fn user(&self, id: &str) -> Result<Option<UserRecord>, StoreError> {
        let users = self.txn.open_table(USERS)?;
        let row = users.get(id)?;
        match row {
            Some(row) => Ok(Some(Store::decode(row.value(), "user")?)),
            None => Ok(None),
        }
    }

    fn put_user(&self, user: &UserRecord) -> Result<(), StoreError> {
        self.txn
            .open_table(USERS)?
            .insert(user.id.as_str(), Store::encode(user)?.as_slice())?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::{actor, temp_store};

    #[test]
    fn usernames_are_unique() {
        let t = temp_store("users");
        let u = UserRecord {
            id: "u1".into(),
            username: "alice".into(),
            password_hash: "$scrypt$x".into(),
            created_at: 1,
            email: None,
        };
        t.store.create_user(&u, &actor()).unwrap();
        let dup = UserRecord {
            id: "u2".into(),
            ..u.clone()
        };
        assert!(matches!(
            t.store.create_user(&dup, &actor()),
            Err(StoreError::Conflict("username"))
        ));
        assert_eq!(
            t.store.find_user_by_name("alice").unwrap().unwrap().id,
            "u1"
        );
        assert!(t.store.find_user_by_name("bob").unwrap().is_none());
    }

    #[test]
    fn email_is_set_cleared_and_audited() {
        let t = temp_store("email");
        let u = UserRecord {
            id: "u1".into(),
            username: "alice".into(),
            password_hash: "$scrypt$x".into(),
            created_at: 1,
            email: None,
        };
        t.store.create_user(&u, &actor()).unwrap();
        let set = t
            .store
            .set_email("u1", Some("alice@example.com"), &actor(), 2)
            .unwrap();
        assert_eq!(set.email.as_deref(), Some("alice@example.com"));
        let found = t.store.find_user_by_id("u1").unwrap().unwrap();
        assert_eq!(found.email.as_deref(), Some("alice@example.com"));
        assert_eq!(found.password_hash, "$scrypt$x");
        t.store.set_email("u1", None, &actor(), 3).unwrap();
        assert!(
            t.store
                .find_user_by_id("u1")
                .unwrap()
                .unwrap()
                .email
                .is_none()
        );
        assert!(matches!(
            t.store.set_email("nobody", Some("x@y"), &actor(), 4),
            Err(StoreError::NotFound)
        ));
        let trail = t.store.audit_for_user("u1", 10, None).unwrap();
        let sets: Vec<_> = trail
            .iter()
            .filter(|r| r.body.action == Action::AccountSetEmail)
            .collect();
        assert_eq!(sets.len(), 2);
        assert!(
            sets.iter()
                .all(|r| r.body.target.as_deref() == Some("user:u1"))
        );
        let raw = serde_json::to_string(&trail).unwrap();
        assert!(!raw.contains("alice@example.com"), "{raw}");
    }

    #[test]
    fn rows_without_email_still_read() {
        let old = br#"{"id":"u1","username":"alice","password_hash":"h","created_at":1}"#;
        let u: UserRecord = Store::decode(old, "user").unwrap();
        assert!(u.email.is_none());
    }
}
