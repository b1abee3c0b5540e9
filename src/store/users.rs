//! User accounts: id, unique username, scrypt PHC hash, and an optional email address for
//! security alerts; and the operator's hold on them (`admin users ...`): disabling an
//! account, a one-time password that must be changed, revoking every session.
//!
//! Invariant: an operator change that locks a user out (disable, password reset, session
//! revocation) deletes the user's sessions in the same transaction as the change and its
//! audit record, so no token of theirs outlives it.

use std::collections::HashMap;

use redb::ReadableTable;
use serde::{Deserialize, Serialize};

use super::audit::{Action, Actor, Event};
use super::sessions::Session;
use super::tables::{SECRET_NAMES, SESSIONS, USERNAMES, USERS};
use super::{Store, StoreError, Tx};
use crate::ids::UserId;

/// `actor` of what an operator does through `secretctl admin` (no user id of its own).
pub const OPERATOR: &str = "operator";

/// A user as stored. The password hash never leaves the server and is not `Debug`.
#[derive(Clone, Serialize, Deserialize)]
pub struct UserRecord {
    pub id: UserId,
    pub username: String,
    pub password_hash: String,
    pub created_at: i64,
    /// Where security alerts go; rows written before this field existed read as `None`.
    #[serde(default)]
    pub email: Option<String>,
    /// Set by an operator (`admin users disable`): logins and sessions are refused.
    #[serde(default)]
    pub disabled: bool,
    /// While disabled, whether the user's share links keep working (`--keep-links`).
    #[serde(default)]
    pub links_kept: bool,
    /// Set by `admin users reset-password` (unix seconds): until then the password is a
    /// one-time password that only lets the user set a new one; after it, it is dead.
    #[serde(default)]
    pub must_change_password_until: Option<i64>,
}

impl UserRecord {
    /// True when the user's share links must answer as if they did not exist.
    pub fn links_suspended(&self) -> bool {
        self.disabled && !self.links_kept
    }
}

/// One line of `admin users ls`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct UserSummary {
    pub id: String,
    pub username: String,
    pub created_at: i64,
    /// When the newest live session began: the last login the server still knows of.
    pub last_login: Option<i64>,
    pub secrets: u64,
    pub disabled: bool,
    pub links_kept: bool,
    pub must_change_password_until: Option<i64>,
}

impl Actor {
    /// An operator at the server's host (`secretctl admin`), reaching it through `via`.
    pub fn operator(via: &str) -> Actor {
        Actor {
            user_id: Some(OPERATOR.to_string()),
            ip: String::new(),
            user_agent: via.to_string(),
            actor_name: None,
        }
    }
}

/// What `USERNAMES` maps the name of a deleted account to (ids are never empty): the name
/// stays taken, so nobody can register it later and inherit the trust, share-link recipients
/// or alert history that went with it.
pub(super) const RESERVED_NAME: &str = "";

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
        // A deleted account's name stays taken but finds nobody (see `RESERVED_NAME`).
        if id.value() == RESERVED_NAME {
            return Ok(None);
        }
        let users = txn.open_table(USERS)?;
        let row = users
            .get(id.value())?
            .ok_or_else(|| StoreError::Corrupt("username points at a missing user".into()))?;
        Self::decode(row.value(), "user").map(Some)
    }

    /// The user with this id, if any.
    pub fn find_user_by_id(&self, id: &UserId) -> Result<Option<UserRecord>, StoreError> {
        let txn = self.core.db.begin_read()?;
        let users = txn.open_table(USERS)?;
        let Some(row) = users.get(id.as_str())? else {
            return Ok(None);
        };
        Self::decode(row.value(), "user").map(Some)
    }

    /// Sets (or with `None` clears) user `id`'s alert address, audited as `account.set_email`
    /// in the same transaction. The address itself stays out of the audit record, like every
    /// other piece of account data. `NotFound` when there is no such user.
    pub fn set_email(
        &self,
        id: &UserId,
        email: Option<&str>,
        actor: &Actor,
        now: i64,
    ) -> Result<UserRecord, StoreError> {
        let (id, email) = (id.clone(), email.map(str::to_string));
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

impl Store {
    /// Every user with their secret count and last known login, by username.
    pub fn list_users(&self) -> Result<Vec<UserSummary>, StoreError> {
        let txn = self.core.db.begin_read()?;
        let mut secrets: HashMap<String, u64> = HashMap::new();
        for entry in txn.open_table(SECRET_NAMES)?.iter()? {
            let (key, _) = entry?;
            *secrets.entry(key.value().0.to_string()).or_default() += 1;
        }
        let mut last_login: HashMap<String, i64> = HashMap::new();
        for entry in txn.open_table(SESSIONS)?.iter()? {
            let (_, row) = entry?;
            let session: Session = Self::decode(row.value(), "session")?;
            let newest = last_login
                .entry(session.user_id.into_string())
                .or_insert(session.created_at);
            *newest = (*newest).max(session.created_at);
        }
        let users = txn.open_table(USERS)?;
        let mut out = Vec::new();
        for entry in txn.open_table(USERNAMES)?.iter()? {
            let (_, id) = entry?;
            // A deleted account keeps its name reserved, pointing at no user.
            if id.value() == RESERVED_NAME {
                continue;
            }
            let row = users
                .get(id.value())?
                .ok_or_else(|| StoreError::Corrupt("username points at a missing user".into()))?;
            let u: UserRecord = Self::decode(row.value(), "user")?;
            out.push(UserSummary {
                secrets: secrets.get(u.id.as_str()).copied().unwrap_or(0),
                last_login: last_login.get(u.id.as_str()).copied(),
                id: u.id.into_string(),
                username: u.username,
                created_at: u.created_at,
                disabled: u.disabled,
                links_kept: u.links_kept,
                must_change_password_until: u.must_change_password_until,
            });
        }
        Ok(out)
    }

    /// Disables (`disabled`) or enables user `username`, audited. Disabling deletes their
    /// sessions in the same transaction; `keep_links` decides whether their share links go
    /// on working meanwhile. Returns the user and the sessions revoked; `NotFound` when no
    /// such user.
    pub fn set_user_disabled(
        &self,
        username: &str,
        disabled: bool,
        keep_links: bool,
        actor: &Actor,
        now: i64,
    ) -> Result<(UserRecord, usize), StoreError> {
        let username = username.to_string();
        self.write(actor, now, move |tx| {
            let mut user = tx.user_by_name(&username)?.ok_or(StoreError::NotFound)?;
            user.disabled = disabled;
            user.links_kept = disabled && keep_links;
            tx.put_user(&user)?;
            let revoked = if disabled {
                tx.revoke_sessions_of(&user.id)?
            } else {
                0
            };
            let action = match disabled {
                true => Action::AdminUserDisable,
                false => Action::AdminUserEnable,
            };
            let target = Some(format!("user:{}", user.id));
            tx.audit(Event::ok(action, target, Some(&user.id)))?;
            Ok((user, revoked))
        })
    }

    /// Replaces user `username`'s password hash with that of a one-time password valid until
    /// `until`, which only lets them set a new one (see [`Store::set_password`]), and
    /// deletes their sessions; audited. `NotFound` when no such user.
    pub fn reset_password(
        &self,
        username: &str,
        one_time_hash: String,
        until: i64,
        actor: &Actor,
        now: i64,
    ) -> Result<(UserRecord, usize), StoreError> {
        let username = username.to_string();
        self.write(actor, now, move |tx| {
            let mut user = tx.user_by_name(&username)?.ok_or(StoreError::NotFound)?;
            user.password_hash = one_time_hash.clone();
            user.must_change_password_until = Some(until);
            tx.put_user(&user)?;
            let revoked = tx.revoke_sessions_of(&user.id)?;
            let target = Some(format!("user:{}", user.id));
            tx.audit(Event::ok(
                Action::AdminUserResetPassword,
                target,
                Some(&user.id),
            ))?;
            Ok((user, revoked))
        })
    }

    /// Deletes every session of user `username`, audited; returns how many there were.
    pub fn revoke_user_sessions(
        &self,
        username: &str,
        actor: &Actor,
        now: i64,
    ) -> Result<(UserRecord, usize), StoreError> {
        let username = username.to_string();
        self.write(actor, now, move |tx| {
            let user = tx.user_by_name(&username)?.ok_or(StoreError::NotFound)?;
            let revoked = tx.revoke_sessions_of(&user.id)?;
            let target = Some(format!("user:{}", user.id));
            tx.audit(Event::ok(
                Action::AdminSessionsRevoke,
                target,
                Some(&user.id),
            ))?;
            Ok((user, revoked))
        })
    }
}

/// Typed operations on users, for closures given to `Store::write`.
impl Tx<'_> {
    /// The user named `username`, if any.
    pub fn user_by_name(&self, username: &str) -> Result<Option<UserRecord>, StoreError> {
        let id = {
            let names = self.txn.open_table(USERNAMES)?;
            let found = names.get(username)?;
            match found {
                Some(id) => UserId::new(id.value()),
                None => return Ok(None),
            }
        };
        self.user(&id)
    }

    /// Deletes every session of `user_id`; returns how many.
    fn revoke_sessions_of(&self, user_id: &str) -> Result<usize, StoreError> {
        let mut removed = 0;
        self.txn.open_table(SESSIONS)?.retain(|_, row| {
            // A row that does not decode is kept: it is not provably this user's.
            let mine = serde_json::from_slice::<Session>(row).is_ok_and(|s| s.user_id == user_id);
            removed += usize::from(mine);
            !mine
        })?;
        Ok(removed)
    }

    /// The user with id `id`, if any.
    pub fn user(&self, id: &UserId) -> Result<Option<UserRecord>, StoreError> {
        let users = self.txn.open_table(USERS)?;
        let row = users.get(id.as_str())?;
        match row {
            Some(row) => Ok(Some(Store::decode(row.value(), "user")?)),
            None => Ok(None),
        }
    }

    pub(super) fn put_user(&self, user: &UserRecord) -> Result<(), StoreError> {
        self.txn
            .open_table(USERS)?
            .insert(user.id.as_str(), Store::encode(user)?.as_slice())?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::{actor, temp_store, user};

    #[test]
    fn usernames_are_unique() {
        let t = temp_store("users");
        let u = user("u1", "alice");
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
        let u = user("u1", "alice");
        t.store.create_user(&u, &actor()).unwrap();
        let set = t
            .store
            .set_email(
                &crate::ids::UserId::new("u1"),
                Some("alice@example.com"),
                &actor(),
                2,
            )
            .unwrap();
        assert_eq!(set.email.as_deref(), Some("alice@example.com"));
        let found = t
            .store
            .find_user_by_id(&crate::ids::UserId::new("u1"))
            .unwrap()
            .unwrap();
        assert_eq!(found.email.as_deref(), Some("alice@example.com"));
        assert_eq!(found.password_hash, "$scrypt$old");
        t.store
            .set_email(&crate::ids::UserId::new("u1"), None, &actor(), 3)
            .unwrap();
        assert!(
            t.store
                .find_user_by_id(&crate::ids::UserId::new("u1"))
                .unwrap()
                .unwrap()
                .email
                .is_none()
        );
        assert!(matches!(
            t.store
                .set_email(&crate::ids::UserId::new("nobody"), Some("x@y"), &actor(), 4),
            Err(StoreError::NotFound)
        ));
        let trail = t
            .store
            .audit_for_user(&crate::ids::UserId::new("u1"), 10, None)
            .unwrap();
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

    #[test]
    fn operator_holds_revoke_sessions_and_a_password_change_clears_the_forced_change() {
        use crate::store::Session;
        let t = temp_store("holds");
        let u = user("u1", "alice");
        t.store.create_user(&u, &actor()).unwrap();
        let session = Session::new("u1".into(), &actor(), 5, 500);
        t.store
            .create_session(
                &crate::ids::TokenHash::from_bytes([1; 32]),
                &session,
                &actor(),
            )
            .unwrap();
        let op = Actor::operator("test");
        let (user, revoked) = t
            .store
            .reset_password("alice", "$scrypt$otp".into(), 99, &op, 10)
            .unwrap();
        assert_eq!((user.must_change_password_until, revoked), (Some(99), 1));
        assert_eq!(
            t.store
                .find_session(&crate::ids::TokenHash::from_bytes([1; 32]), 10)
                .unwrap(),
            None
        );
        // The account's own password change clears the pending forced change.
        t.store
            .change_password(
                &crate::ids::UserId::new("u1"),
                "$scrypt$new".into(),
                None,
                &actor(),
                11,
            )
            .unwrap();
        let found = t
            .store
            .find_user_by_id(&crate::ids::UserId::new("u1"))
            .unwrap()
            .unwrap();
        assert_eq!(found.password_hash, "$scrypt$new");
        assert_eq!(found.must_change_password_until, None);
        let trail = t
            .store
            .audit_for_user(&crate::ids::UserId::new("u1"), 10, None)
            .unwrap();
        let actions: Vec<Action> = trail.iter().map(|r| r.body.action).collect();
        assert!(
            actions.contains(&Action::AdminUserResetPassword),
            "{actions:?}"
        );
        assert!(
            actions.contains(&Action::AccountPasswordChange),
            "{actions:?}"
        );
        let raw = serde_json::to_string(&trail).unwrap();
        assert!(!raw.contains("$scrypt$"), "no hash in the trail: {raw}");
    }
}
