//! User accounts: id, unique username, scrypt PHC hash, and an optional email address for
//! security alerts.

use redb::{ReadableDatabase, ReadableTable};
use serde::{Deserialize, Serialize};

use super::audit::{Actor, Event, Pending};
use super::tables::{USERNAMES, USERS};
use super::{Store, StoreError};

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
        let txn = self.db.begin_write()?;
        let mut pending = Pending::default();
        {
            let mut names = txn.open_table(USERNAMES)?;
            if names.get(user.username.as_str())?.is_some() {
                return Err(StoreError::Conflict("username"));
            }
            names.insert(user.username.as_str(), user.id.as_str())?;
            txn.open_table(USERS)?
                .insert(user.id.as_str(), Self::encode(user)?.as_slice())?;
        }
        let event = Event::ok(
            "user.register",
            Some(format!("user:{}", user.id)),
            Some(&user.id),
        );
        self.append_audit(&txn, &mut pending, actor, event, user.created_at)?;
        self.commit_audited(txn, pending)
    }

    /// The user with this username, if any.
    pub fn find_user_by_name(&self, username: &str) -> Result<Option<UserRecord>, StoreError> {
        let txn = self.db.begin_read()?;
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
        let txn = self.db.begin_read()?;
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
        let txn = self.db.begin_write()?;
        let mut pending = Pending::default();
        let user = {
            let mut users = txn.open_table(USERS)?;
            let mut user: UserRecord = match users.get(id)? {
                Some(row) => Self::decode(row.value(), "user")?,
                None => return Err(StoreError::NotFound),
            };
            user.email = email.map(str::to_string);
            users.insert(id, Self::encode(&user)?.as_slice())?;
            user
        };
        let event = Event::ok("account.set_email", Some(format!("user:{id}")), Some(id));
        self.append_audit(&txn, &mut pending, actor, event, now)?;
        self.commit_audited(txn, pending)?;
        Ok(user)
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
            .filter(|r| r.body.action == "account.set_email")
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
