//! User accounts: id, unique username, scrypt PHC hash.

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
}
