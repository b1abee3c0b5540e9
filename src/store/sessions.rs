//! Login sessions, keyed by the SHA-256 of their token.

use redb::ReadableDatabase;
use serde::{Deserialize, Serialize};

use super::audit::{Actor, Event, Pending};
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
        let txn = self.db.begin_write()?;
        let mut pending = Pending::default();
        txn.open_table(SESSIONS)?
            .insert(token_hash.as_slice(), Self::encode(session)?.as_slice())?;
        let user = session.user_id.as_str();
        let event = Event::ok("login", Some(format!("user:{user}")), Some(user));
        self.append_audit(&txn, &mut pending, actor, event, session.created_at)?;
        self.commit_audited(txn, pending)
    }

    /// The session for this token hash, unless it is unknown or expired at `now`.
    pub fn find_session(
        &self,
        token_hash: &[u8; 32],
        now: i64,
    ) -> Result<Option<Session>, StoreError> {
        let txn = self.db.begin_read()?;
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
        let txn = self.db.begin_write()?;
        let mut pending = Pending::default();
        let existed = txn
            .open_table(SESSIONS)?
            .remove(token_hash.as_slice())?
            .is_some();
        if existed {
            let user = actor.user_id.as_deref();
            let event = Event::ok("logout", user.map(|u| format!("user:{u}")), user);
            self.append_audit(&txn, &mut pending, actor, event, now)?;
        }
        self.commit_audited(txn, pending)?;
        Ok(existed)
    }

    /// Deletes every session expired at `now`; returns how many.
    pub fn purge_expired_sessions(&self, now: i64) -> Result<usize, StoreError> {
        let txn = self.db.begin_write()?;
        let mut removed = 0;
        {
            let mut table = txn.open_table(SESSIONS)?;
            table.retain(|_, row| {
                let keep = serde_json::from_slice::<Session>(row).is_ok_and(|s| s.expires_at > now);
                removed += usize::from(!keep);
                keep
            })?;
        }
        txn.commit()?;
        Ok(removed)
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
