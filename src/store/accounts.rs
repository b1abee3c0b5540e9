//! Whole-account changes that must land in one transaction: a password change together with
//! the revocation of every other session, and the deletion of an account with everything it
//! owns.
//!
//! Deleting an account removes its user row, secrets (metadata, sealed values, name index),
//! their share links and its sessions, but never an audit record: the chain stays intact and
//! `audit verify` keeps passing. The username stays reserved (`users::RESERVED_NAME`).

use crate::ids::{Owner, SecretId, TeamId, TokenHash, UserId};
use redb::ReadableTable;

use super::audit::{Action, Actor, Event};
use super::tables::{SECRET_NAMES, TEAM_MEMBERS, USER_TEAMS, USERNAMES, USERS};
use super::users::RESERVED_NAME;
use super::{Store, StoreError};

/// What an account deletion removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeletedAccount {
    pub secrets: usize,
    pub shares: usize,
    pub sessions: usize,
}

impl Store {
    /// Replaces `user_id`'s password hash and revokes every session except `keep` (the
    /// caller's), audited as `account.password_change` plus one `account.session_revoke` per
    /// session; returns how many sessions were revoked. `NotFound` without such a user.
    pub fn change_password(
        &self,
        user_id: &UserId,
        new_hash: String,
        keep: Option<&TokenHash>,
        actor: &Actor,
        now: i64,
    ) -> Result<usize, StoreError> {
        let (user_id, keep) = (user_id.clone(), keep.map(super::sessions::session_id));
        self.write(actor, now, move |tx| {
            let Some(mut user) = tx.user(&user_id)? else {
                return Err(StoreError::NotFound);
            };
            user.password_hash = new_hash.clone();
            // A one-time password from an operator is replaced: no change is pending now.
            user.must_change_password_until = None;
            tx.put_user(&user)?;
            let revoked = tx.remove_sessions(&user_id, |id| keep.as_deref() != Some(id))?;
            tx.audit_session_revokes(&user_id, &revoked)?;
            let target = Some(format!("user:{user_id}"));
            tx.audit(Event::ok(
                Action::AccountPasswordChange,
                target,
                Some(&user_id),
            ))?;
            Ok(revoked.len())
        })
    }

    /// Deletes account `user_id` and everything it owns (see the module doc), audited as
    /// `secret.delete` / `share.revoke` per item and `account.delete` last, all in one
    /// transaction. `NotFound` without such a user.
    pub fn delete_account(
        &self,
        user_id: &UserId,
        actor: &Actor,
        now: i64,
    ) -> Result<DeletedAccount, StoreError> {
        let user_id = user_id.clone();
        self.write(actor, now, move |tx| {
            let Some(user) = tx.user(&user_id)? else {
                return Err(StoreError::NotFound);
            };
            let secret_ids: Vec<String> = {
                let names = tx.txn.open_table(SECRET_NAMES)?;
                let mut ids = Vec::new();
                for entry in names.range((user_id.as_str(), "")..)? {
                    let (key, id) = entry?;
                    if key.value().0 != user_id.as_str() {
                        break;
                    }
                    ids.push(id.value().to_string());
                }
                ids
            };
            // A team must keep an admin: the account's owner hands the role on (or deletes the
            // team) first. Its other memberships end with it.
            let teams: Vec<TeamId> = {
                let table = tx.txn.open_table(USER_TEAMS)?;
                let mut out = Vec::new();
                for entry in table.range((user_id.as_str(), "")..)? {
                    let (key, _) = entry?;
                    let (member, team) = key.value();
                    if member != user_id.as_str() {
                        break;
                    }
                    out.push(TeamId::new(team));
                }
                out
            };
            for team in &teams {
                if tx.is_last_admin(team, &user_id)? {
                    return Err(StoreError::LastTeamAdmin);
                }
            }
            for team in &teams {
                tx.txn
                    .open_table(TEAM_MEMBERS)?
                    .remove((team.as_str(), user_id.as_str()))?;
                tx.txn
                    .open_table(USER_TEAMS)?
                    .remove((user_id.as_str(), team.as_str()))?;
                let target = Some(format!("user:{user_id}"));
                let owner = Owner::team(team);
                tx.audit(Event::ok(Action::TeamMemberRemove, target, Some(&owner)))?;
            }
            // Personal tokens act on this account's secrets and die with it; team tokens it
            // made belong to their teams and outlive it.
            for token in tx.tokens_where(|t| t.created_by == user_id && t.team.is_none())? {
                tx.remove_token(&token)?;
                let target = Some(format!("token:{}", token.id));
                tx.audit(Event::ok(Action::TokenRevoke, target, Some(&user_id)))?;
            }
            let mut done = DeletedAccount {
                secrets: 0,
                shares: 0,
                sessions: 0,
            };
            for id in &secret_ids {
                let Some(rec) = tx.secret(&Owner::user(&user_id), &SecretId::new(id))? else {
                    return Err(StoreError::Corrupt(
                        "secret name index points at a missing secret".into(),
                    ));
                };
                tx.remove_secret(&rec)?;
                for share in super::shares::remove_secret_shares(tx.txn, id, tx.now())? {
                    let target = Some(format!("share:{}", share.id));
                    tx.audit(Event::ok(Action::ShareRevoke, target, Some(&user_id)))?;
                    done.shares += 1;
                }
                let target = Some(format!("secret:{id}"));
                tx.audit(Event::ok(Action::SecretDelete, target, Some(&user_id)))?;
                done.secrets += 1;
            }
            let sessions = tx.remove_sessions(&user_id, |_| true)?;
            tx.audit_session_revokes(&user_id, &sessions)?;
            done.sessions = sessions.len();
            tx.txn.open_table(USERS)?.remove(user_id.as_str())?;
            tx.txn
                .open_table(USERNAMES)?
                .insert(user.username.as_str(), RESERVED_NAME)?;
            let target = Some(format!("user:{user_id}"));
            tx.audit(Event::ok(Action::AccountDelete, target, Some(&user_id)))?;
            Ok(done)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sensitive::SecretString;
    use crate::store::test_support::{actor, temp_store, user};
    use crate::store::{NewSecret, Session};

    fn secret(name: &str) -> NewSecret {
        NewSecret {
            name: name.into(),
            description: String::new(),
            tags: Vec::new(),
            value: SecretString::from("v".to_string()),
        }
    }

    #[test]
    fn password_change_keeps_only_the_callers_session() {
        let t = temp_store("acct-passwd");
        t.store.create_user(&user("u1", "alice"), &actor()).unwrap();
        t.store.create_user(&user("u2", "bob"), &actor()).unwrap();
        for (hash, owner) in [([1; 32], "u1"), ([2; 32], "u1"), ([3; 32], "u2")] {
            let s = Session::new(owner.into(), &actor(), 1, 1000);
            t.store
                .create_session(&crate::ids::TokenHash::from_bytes(hash), &s, &actor())
                .unwrap();
        }
        let revoked = t
            .store
            .change_password(
                &crate::ids::UserId::new("u1"),
                "$scrypt$new".into(),
                Some(&crate::ids::TokenHash::from_bytes([1; 32])),
                &actor(),
                5,
            )
            .unwrap();
        assert_eq!(revoked, 1);
        let u = t
            .store
            .find_user_by_id(&crate::ids::UserId::new("u1"))
            .unwrap()
            .unwrap();
        assert_eq!(u.password_hash, "$scrypt$new");
        assert!(
            t.store
                .find_session(&crate::ids::TokenHash::from_bytes([1; 32]), 5)
                .unwrap()
                .is_some()
        );
        assert!(
            t.store
                .find_session(&crate::ids::TokenHash::from_bytes([2; 32]), 5)
                .unwrap()
                .is_none()
        );
        assert!(
            t.store
                .find_session(&crate::ids::TokenHash::from_bytes([3; 32]), 5)
                .unwrap()
                .is_some()
        );
        assert!(matches!(
            t.store.change_password(
                &crate::ids::UserId::new("nobody"),
                "h".into(),
                Some(&crate::ids::TokenHash::from_bytes([1; 32])),
                &actor(),
                5
            ),
            Err(StoreError::NotFound)
        ));
        let trail = t
            .store
            .audit_for_user(&crate::ids::UserId::new("u1"), 50, None)
            .unwrap();
        assert!(
            trail
                .iter()
                .any(|r| r.body.action == Action::AccountPasswordChange)
        );
        let raw = serde_json::to_string(&trail).unwrap();
        assert!(!raw.contains("$scrypt$"), "{raw}");
    }

    #[test]
    fn deleting_an_account_removes_what_it_owns_and_reserves_the_name() {
        let t = temp_store("acct-delete");
        t.store.create_user(&user("u1", "alice"), &actor()).unwrap();
        t.store.create_user(&user("u2", "bob"), &actor()).unwrap();
        let mine = t
            .store
            .create_secret(
                &crate::ids::Owner::user(&crate::ids::UserId::new("u1")),
                secret("a"),
                &actor(),
                2,
            )
            .unwrap();
        t.store
            .create_secret(
                &crate::ids::Owner::user(&crate::ids::UserId::new("u1")),
                secret("b"),
                &actor(),
                2,
            )
            .unwrap();
        let theirs = t
            .store
            .create_secret(
                &crate::ids::Owner::user(&crate::ids::UserId::new("u2")),
                secret("a"),
                &actor(),
                2,
            )
            .unwrap();
        for (hash, owner) in [([1; 32], "u1"), ([2; 32], "u2")] {
            let s = Session::new(owner.into(), &actor(), 1, 1000);
            t.store
                .create_session(&crate::ids::TokenHash::from_bytes(hash), &s, &actor())
                .unwrap();
        }
        let before = t
            .store
            .audit_for_user(&crate::ids::UserId::new("u1"), 500, None)
            .unwrap()
            .len();
        let done = t
            .store
            .delete_account(&crate::ids::UserId::new("u1"), &actor(), 3)
            .unwrap();
        assert_eq!(
            done,
            DeletedAccount {
                secrets: 2,
                shares: 0,
                sessions: 1
            }
        );
        assert!(
            t.store
                .find_user_by_id(&crate::ids::UserId::new("u1"))
                .unwrap()
                .is_none()
        );
        assert!(t.store.find_user_by_name("alice").unwrap().is_none());
        assert!(
            t.store
                .list_secrets(
                    &crate::ids::Owner::user(&crate::ids::UserId::new("u1")),
                    None,
                    None
                )
                .unwrap()
                .is_empty()
        );
        assert!(matches!(
            t.store.peek_secret(
                &crate::ids::Owner::user(&crate::ids::UserId::new("u1")),
                &mine.id
            ),
            Err(StoreError::NotFound)
        ));
        assert!(
            t.store
                .find_session(&crate::ids::TokenHash::from_bytes([1; 32]), 3)
                .unwrap()
                .is_none()
        );
        // The other account is untouched.
        assert!(
            t.store
                .find_session(&crate::ids::TokenHash::from_bytes([2; 32]), 3)
                .unwrap()
                .is_some()
        );
        assert_eq!(
            t.store
                .peek_secret(
                    &crate::ids::Owner::user(&crate::ids::UserId::new("u2")),
                    &theirs.id
                )
                .unwrap()
                .0
                .id,
            theirs.id
        );
        // The name stays taken.
        assert!(matches!(
            t.store.create_user(&user("u3", "alice"), &actor()),
            Err(StoreError::Conflict("username"))
        ));
        // Nothing of the trail went: every earlier record is still there, plus the deletion.
        let after = t
            .store
            .audit_for_user(&crate::ids::UserId::new("u1"), 500, None)
            .unwrap();
        assert!(after.len() > before);
        assert!(after.iter().any(|r| r.body.action == Action::AccountDelete));
        assert!(matches!(
            t.store
                .delete_account(&crate::ids::UserId::new("u1"), &actor(), 4),
            Err(StoreError::NotFound)
        ));
    }
}
