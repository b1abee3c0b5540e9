//! Login sessions, keyed by the SHA-256 of their token.

use serde::{Deserialize, Serialize};

use super::audit::{Action, Actor, Event};
use super::tables::SESSIONS;
use super::{Store, StoreError};

/// A live session.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Session {
    pub user_id: String,
    pub created_at: i64,
    pub expires_at: i64,
}

impl Store {
    /// Records a session under the hash of its token (a successful login).
    pub fn create_session(
        &self,
        token_hash: &[u8; 32],
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
        token_hash: &[u8; 32],
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
        token_hash: &[u8; 32],
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::{actor, temp_store};

    #[test]
    fn sessions_expire_and_revoke() {
        let t = temp_store("sessions");
        let s = Session {
            user_id: "u1".into(),
            created_at: 100,
            expires_at: 200,
        };
        t.store.create_session(&[1; 32], &s, &actor()).unwrap();
        t.store
            .create_session(
                &[2; 32],
                &Session {
                    expires_at: 500,
                    ..s.clone()
                },
                &actor(),
            )
            .unwrap();
        assert_eq!(t.store.find_session(&[1; 32], 150).unwrap(), Some(s));
        assert_eq!(t.store.find_session(&[1; 32], 200).unwrap(), None);
        assert_eq!(t.store.purge_expired_sessions(300).unwrap(), 1);
        assert!(t.store.delete_session(&[2; 32], &actor(), 300).unwrap());
        assert!(!t.store.delete_session(&[2; 32], &actor(), 300).unwrap());
        assert_eq!(t.store.find_session(&[2; 32], 300).unwrap(), None);
    }
}
