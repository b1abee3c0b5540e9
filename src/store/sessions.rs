//! Login sessions, keyed by the SHA-256 of their token.
//!
//! A session is shown to its owner under an opaque id derived from the token hash (never the
//! token or the hash itself, which would let anyone who sees the listing look the row up).
//! "Last used" is written at most once a minute per session, so serving a request is not a
//! database write.

use redb::ReadableTable;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::audit::{Action, Actor, Event, MAX_USER_AGENT, Outcome, clean};
use super::tables::SESSIONS;
use super::{Store, StoreError, Tx};
use crate::crypto::token::hex;
use crate::ids::{TokenHash, UserId};

/// How stale "last used" may get before a request refreshes it.
pub const LAST_USED_GRANULARITY_SECS: i64 = 60;

/// A live session.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Session {
    pub user_id: UserId,
    pub created_at: i64,
    pub expires_at: i64,
    /// When a request last used it (to the minute); `None` until the first refresh, and on
    /// rows written before this field existed.
    #[serde(default)]
    pub last_used_at: Option<i64>,
    /// The client address at login; empty on older rows.
    #[serde(default)]
    pub ip: String,
    /// The client's user agent at login, cut and cleaned like the audit trail's.
    #[serde(default)]
    pub user_agent: String,
}

impl Session {
    /// A new session opened at `now` by `actor` (its address and cleaned user agent).
    pub fn new(user_id: UserId, actor: &Actor, now: i64, expires_at: i64) -> Session {
        Session {
            user_id,
            created_at: now,
            expires_at,
            last_used_at: None,
            ip: actor.ip.clone(),
            user_agent: clean(&actor.user_agent, MAX_USER_AGENT),
        }
    }

    /// Whether a request at `now` should refresh "last used".
    pub fn needs_touch(&self, now: i64) -> bool {
        self.last_used_at
            .is_none_or(|last| now - last >= LAST_USED_GRANULARITY_SECS)
    }
}

/// The opaque id a session is listed and revoked under: 16 hex digits of
/// SHA-256("secretctl/session-id|" || token hash). One-way, so a listing (or an audit record
/// naming it) gives nothing that authenticates or finds the row without a scan.
pub fn session_id(token_hash: &TokenHash) -> String {
    let digest = Sha256::new()
        .chain_update(b"secretctl/session-id|")
        .chain_update(token_hash.as_bytes())
        .finalize();
    hex(&digest[..8])
}

/// A session as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedSession {
    pub id: String,
    pub token_hash: TokenHash,
    pub session: Session,
}

impl Store {
    /// Records a session under the hash of its token (a successful login).
    pub fn create_session(
        &self,
        token_hash: &TokenHash,
        session: &Session,
        actor: &Actor,
    ) -> Result<(), StoreError> {
        let (token_hash, session) = (*token_hash, session.clone());
        self.write(actor, session.created_at, move |tx| {
            tx.txn
                .open_table(SESSIONS)?
                .insert(token_hash.as_slice(), Store::encode(&session)?.as_slice())?;
            let user = session.user_id.as_str();
            tx.audit(Event::ok(
                Action::Login,
                Some(format!("user:{user}")),
                Some(user),
            ))
        })
    }

    /// The session for this token hash, unless it is unknown or expired at `now`.
    pub fn find_session(
        &self,
        token_hash: &TokenHash,
        now: i64,
    ) -> Result<Option<Session>, StoreError> {
        let txn = self.core.db.begin_read()?;
        let table = txn.open_table(SESSIONS)?;
        let Some(row) = table.get(token_hash.as_slice())? else {
            return Ok(None);
        };
        let session: Session = Self::decode(row.value(), "session")?;
        Ok((session.expires_at > now).then_some(session))
    }

    /// Revokes a session (a logout); false when there was none.
    pub fn delete_session(
        &self,
        token_hash: &TokenHash,
        actor: &Actor,
        now: i64,
    ) -> Result<bool, StoreError> {
        let token_hash = *token_hash;
        let user = actor.user_id.clone();
        self.write(actor, now, move |tx| {
            let existed = tx
                .txn
                .open_table(SESSIONS)?
                .remove(token_hash.as_slice())?
                .is_some();
            if existed {
                let target = user.as_deref().map(|u| format!("user:{u}"));
                tx.audit(Event::ok(Action::Logout, target, user.as_deref()))?;
            }
            Ok(existed)
        })
    }

    /// Deletes every session expired at `now`; returns how many.
    pub fn purge_expired_sessions(&self, now: i64) -> Result<usize, StoreError> {
        self.write(&Actor::system(), now, move |tx| {
            let mut removed = 0;
            tx.txn.open_table(SESSIONS)?.retain(|_, row| {
                let keep = serde_json::from_slice::<Session>(row).is_ok_and(|s| s.expires_at > now);
                removed += usize::from(!keep);
                keep
            })?;
            Ok(removed)
        })
    }
    /// The live sessions of `user_id` at `now`, oldest first. A scan of the table: sessions
    /// have no per-user index, and listing them is rare.
    pub fn list_sessions(
        &self,
        user_id: &UserId,
        now: i64,
    ) -> Result<Vec<ListedSession>, StoreError> {
        let txn = self.core.db.begin_read()?;
        let table = txn.open_table(SESSIONS)?;
        let mut out = Vec::new();
        for entry in table.iter()? {
            let (key, row) = entry?;
            let session: Session = Self::decode(row.value(), "session")?;
            if session.user_id != *user_id || session.expires_at <= now {
                continue;
            }
            let token_hash = <[u8; 32]>::try_from(key.value())
                .map(TokenHash::from_bytes)
                .map_err(|_| StoreError::Corrupt("session key is not 32 bytes".into()))?;
            out.push(ListedSession {
                id: session_id(&token_hash),
                token_hash,
                session,
            });
        }
        out.sort_by(|a, b| (a.session.created_at, &a.id).cmp(&(b.session.created_at, &b.id)));
        Ok(out)
    }

    /// Sets "last used" of the session to `now`, unless another request already did within
    /// the minute (checked again inside the transaction). Not audited: it is bookkeeping.
    pub fn touch_session(&self, token_hash: &TokenHash, now: i64) -> Result<(), StoreError> {
        let token_hash = *token_hash;
        self.write(&Actor::system(), now, move |tx| {
            let mut table = tx.txn.open_table(SESSIONS)?;
            let session = match table.get(token_hash.as_slice())? {
                Some(row) => Store::decode::<Session>(row.value(), "session")?,
                None => return Ok(()),
            };
            if session.needs_touch(now) {
                let session = Session {
                    last_used_at: Some(now),
                    ..session
                };
                table.insert(token_hash.as_slice(), Store::encode(&session)?.as_slice())?;
            }
            Ok(())
        })
    }

    /// Revokes `user_id`'s session listed as `id`; `NotFound` (audited) when the user has
    /// no such session, whoever else might.
    pub fn revoke_session(
        &self,
        user_id: &UserId,
        id: &str,
        actor: &Actor,
        now: i64,
    ) -> Result<(), StoreError> {
        let (user, id) = (user_id.to_string(), id.to_string());
        self.write(actor, now, move |tx| {
            let removed = tx.remove_sessions(&user, |sid| sid == id)?;
            if removed.is_empty() {
                let target = super::secrets::safe_target("session", &id);
                let event = Event::ok(Action::AccountSessionRevoke, target, Some(&user));
                tx.audit(event.outcome(Outcome::NotFound))?;
                return Ok(Err(StoreError::NotFound));
            }
            tx.audit_session_revokes(&user, &removed)?;
            Ok(Ok(()))
        })?
    }

    /// Revokes every session of `user_id` except the one with `keep`; returns how many.
    pub fn revoke_other_sessions(
        &self,
        user_id: &UserId,
        keep: &TokenHash,
        actor: &Actor,
        now: i64,
    ) -> Result<usize, StoreError> {
        let (user, keep) = (user_id.to_string(), session_id(keep));
        self.write(actor, now, move |tx| {
            let removed = tx.remove_sessions(&user, |sid| sid != keep)?;
            tx.audit_session_revokes(&user, &removed)?;
            Ok(removed.len())
        })
    }
}

/// Session operations for closures given to `Store::write`.
impl Tx<'_> {
    /// Removes `user_id`'s sessions whose listed id passes `revoke` (expired ones included);
    /// returns the ids removed.
    pub(super) fn remove_sessions(
        &self,
        user_id: &str,
        revoke: impl Fn(&str) -> bool,
    ) -> Result<Vec<String>, StoreError> {
        let mut removed = Vec::new();
        self.txn.open_table(SESSIONS)?.retain(|key, row| {
            let Ok(session) = serde_json::from_slice::<Session>(row) else {
                return true;
            };
            let Ok(hash) = <[u8; 32]>::try_from(key) else {
                return true;
            };
            let id = session_id(&TokenHash::from_bytes(hash));
            let drop = session.user_id == user_id && revoke(&id);
            if drop {
                removed.push(id);
            }
            !drop
        })?;
        Ok(removed)
    }

    /// One `account.session_revoke` record per revoked session, for its owner.
    pub(super) fn audit_session_revokes(
        &mut self,
        user_id: &str,
        ids: &[String],
    ) -> Result<(), StoreError> {
        for id in ids {
            let target = Some(format!("session:{id}"));
            self.audit(Event::ok(
                Action::AccountSessionRevoke,
                target,
                Some(user_id),
            ))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::{actor, temp_store};

    #[test]
    fn sessions_expire_and_revoke() {
        let t = temp_store("sessions");
        let s = Session::new("u1".into(), &actor(), 100, 200);
        t.store
            .create_session(&crate::ids::TokenHash::from_bytes([1; 32]), &s, &actor())
            .unwrap();
        t.store
            .create_session(
                &crate::ids::TokenHash::from_bytes([2; 32]),
                &Session {
                    expires_at: 500,
                    ..s.clone()
                },
                &actor(),
            )
            .unwrap();
        assert_eq!(
            t.store
                .find_session(&crate::ids::TokenHash::from_bytes([1; 32]), 150)
                .unwrap(),
            Some(s)
        );
        assert_eq!(
            t.store
                .find_session(&crate::ids::TokenHash::from_bytes([1; 32]), 200)
                .unwrap(),
            None
        );
        assert_eq!(t.store.purge_expired_sessions(300).unwrap(), 1);
        assert!(
            t.store
                .delete_session(&crate::ids::TokenHash::from_bytes([2; 32]), &actor(), 300)
                .unwrap()
        );
        assert!(
            !t.store
                .delete_session(&crate::ids::TokenHash::from_bytes([2; 32]), &actor(), 300)
                .unwrap()
        );
        assert_eq!(
            t.store
                .find_session(&crate::ids::TokenHash::from_bytes([2; 32]), 300)
                .unwrap(),
            None
        );
    }

    #[test]
    fn old_rows_read_and_ids_are_opaque() {
        let old = br#"{"user_id":"u1","created_at":1,"expires_at":2}"#;
        let s: Session = Store::decode(old, "session").unwrap();
        assert_eq!((s.last_used_at, s.ip.as_str()), (None, ""));
        let id = session_id(&crate::ids::TokenHash::from_bytes([7; 32]));
        assert_eq!(id.len(), 16);
        assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(id, session_id(&crate::ids::TokenHash::from_bytes([8; 32])));
        assert!(!hex(&[7; 32]).contains(&id));
        let mut a = actor();
        a.user_agent = "curl\r\nX-Evil: 1".into();
        assert_eq!(
            Session::new("u".into(), &a, 0, 1).user_agent,
            "curl  X-Evil: 1"
        );
    }

    #[test]
    fn last_used_is_written_at_most_once_a_minute() {
        let t = temp_store("sessions-touch");
        let s = Session::new("u1".into(), &actor(), 100, 10_000);
        t.store
            .create_session(&crate::ids::TokenHash::from_bytes([1; 32]), &s, &actor())
            .unwrap();
        assert!(s.needs_touch(100));
        t.store
            .touch_session(&crate::ids::TokenHash::from_bytes([1; 32]), 110)
            .unwrap();
        let found = t
            .store
            .find_session(&crate::ids::TokenHash::from_bytes([1; 32]), 111)
            .unwrap()
            .unwrap();
        assert_eq!(found.last_used_at, Some(110));
        assert!(!found.needs_touch(169));
        // A touch that races in within the minute leaves the first time alone.
        t.store
            .touch_session(&crate::ids::TokenHash::from_bytes([1; 32]), 150)
            .unwrap();
        let found = t
            .store
            .find_session(&crate::ids::TokenHash::from_bytes([1; 32]), 151)
            .unwrap()
            .unwrap();
        assert_eq!(found.last_used_at, Some(110));
        assert!(found.needs_touch(170));
        // Touching a revoked session does not bring it back.
        t.store
            .delete_session(&crate::ids::TokenHash::from_bytes([1; 32]), &actor(), 200)
            .unwrap();
        t.store
            .touch_session(&crate::ids::TokenHash::from_bytes([1; 32]), 300)
            .unwrap();
        assert_eq!(
            t.store
                .find_session(&crate::ids::TokenHash::from_bytes([1; 32]), 301)
                .unwrap(),
            None
        );
    }

    #[test]
    fn listing_and_revoking_stay_within_the_user() {
        let t = temp_store("sessions-revoke");
        for (hash, user) in [
            ([1; 32], "u1"),
            ([2; 32], "u1"),
            ([3; 32], "u1"),
            ([4; 32], "u2"),
        ] {
            let s = Session::new(user.into(), &actor(), 100, 10_000);
            t.store
                .create_session(&crate::ids::TokenHash::from_bytes(hash), &s, &actor())
                .unwrap();
        }
        let listed = t
            .store
            .list_sessions(&crate::ids::UserId::new("u1"), 200)
            .unwrap();
        assert_eq!(listed.len(), 3);
        assert!(listed.iter().all(|l| l.session.user_id == "u1"));
        assert_eq!(listed[0].id, session_id(&listed[0].token_hash));
        // u2's session is not u1's to revoke: the same NotFound as a made-up id.
        let other = session_id(&crate::ids::TokenHash::from_bytes([4; 32]));
        for id in [other.as_str(), "0123456789abcdef"] {
            assert!(matches!(
                t.store
                    .revoke_session(&crate::ids::UserId::new("u1"), id, &actor(), 200),
                Err(StoreError::NotFound)
            ));
        }
        assert!(
            t.store
                .find_session(&crate::ids::TokenHash::from_bytes([4; 32]), 200)
                .unwrap()
                .is_some()
        );
        t.store
            .revoke_session(
                &crate::ids::UserId::new("u1"),
                &session_id(&crate::ids::TokenHash::from_bytes([2; 32])),
                &actor(),
                200,
            )
            .unwrap();
        assert!(
            t.store
                .find_session(&crate::ids::TokenHash::from_bytes([2; 32]), 200)
                .unwrap()
                .is_none()
        );
        assert_eq!(
            t.store
                .revoke_other_sessions(
                    &crate::ids::UserId::new("u1"),
                    &crate::ids::TokenHash::from_bytes([1; 32]),
                    &actor(),
                    200
                )
                .unwrap(),
            1
        );
        assert!(
            t.store
                .find_session(&crate::ids::TokenHash::from_bytes([1; 32]), 200)
                .unwrap()
                .is_some()
        );
        assert!(
            t.store
                .find_session(&crate::ids::TokenHash::from_bytes([3; 32]), 200)
                .unwrap()
                .is_none()
        );
        assert!(
            t.store
                .find_session(&crate::ids::TokenHash::from_bytes([4; 32]), 200)
                .unwrap()
                .is_some()
        );
        let trail = t
            .store
            .audit_for_user(&crate::ids::UserId::new("u1"), 50, None)
            .unwrap();
        let revokes: Vec<_> = trail
            .iter()
            .filter(|r| r.body.action == Action::AccountSessionRevoke)
            .map(|r| (r.body.outcome, r.body.target.clone().unwrap()))
            .collect();
        assert_eq!(revokes.len(), 4, "{revokes:?}");
        assert_eq!(
            revokes
                .iter()
                .filter(|(o, _)| *o == Outcome::NotFound)
                .count(),
            2
        );
        assert!(revokes.iter().any(|(_, t)| *t
            == format!(
                "session:{}",
                session_id(&crate::ids::TokenHash::from_bytes([3; 32]))
            )));
    }
}
