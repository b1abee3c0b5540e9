//! Service tokens: scoped, expiring credentials for machines.
//!
//! Only the SHA-256 of a token is stored (like sessions: a token has full entropy, so a
//! fast hash is enough and a stolen database authenticates nothing). A token's row is read
//! on every request that presents it, so deleting the row revokes it on the next request.

use redb::ReadableTable;
use serde::{Deserialize, Serialize};

use super::audit::{Action, Actor, Event};
use super::tables::{SERVICE_TOKEN_IDS, SERVICE_TOKENS};
use super::{Store, StoreError};
use crate::ids::{Owner, TeamId, TokenHash, TokenId, UserId};

/// A service token as stored (never the token itself).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TokenRecord {
    pub id: TokenId,
    pub name: String,
    pub created_by: UserId,
    /// The team whose secrets it acts on; `None` for its creator's own secrets.
    pub team: Option<TeamId>,
    /// Read is always granted; these add create/update/delete and share links.
    pub write: bool,
    pub share: bool,
    /// Only secrets whose stored name starts with this (byte for byte) are visible.
    pub prefix: Option<String>,
    /// Networks it may be used from (CIDR text as given, already validated); empty: any.
    pub allowed_cidrs: Vec<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub last_used_at: Option<i64>,
    pub last_used_ip: Option<String>,
}

impl TokenRecord {
    /// The owner of the secrets this token acts on.
    pub fn scope(&self) -> Owner {
        match &self.team {
            Some(team) => Owner::team(team),
            None => Owner::user(&self.created_by),
        }
    }
}

impl Store {
    /// Stores `token` under `hash`; `Conflict` when its scope already has a token of that
    /// name (names are how `token rm NAME` finds one).
    pub fn create_token(
        &self,
        token: &TokenRecord,
        hash: &TokenHash,
        actor: &Actor,
    ) -> Result<(), StoreError> {
        let (token, hash) = (token.clone(), *hash);
        self.write(actor, token.created_at, move |tx| {
            let scope = token.scope();
            if !tx
                .tokens_where(|t| t.scope() == scope && t.name == token.name)?
                .is_empty()
            {
                return Err(StoreError::Conflict("a token with this name"));
            }
            tx.txn
                .open_table(SERVICE_TOKENS)?
                .insert(hash.as_slice(), Store::encode(&token)?.as_slice())?;
            tx.txn
                .open_table(SERVICE_TOKEN_IDS)?
                .insert(token.id.as_str(), hash.as_slice())?;
            let target = Some(format!("token:{}", token.id));
            tx.audit(Event::ok(Action::TokenCreate, target, Some(&scope)))
        })
    }

    /// The token stored under `hash`, if any (expired ones too: the caller decides).
    pub fn find_token(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, StoreError> {
        let txn = self.core.db.begin_read()?;
        let table = txn.open_table(SERVICE_TOKENS)?;
        match table.get(hash.as_slice())? {
            None => Ok(None),
            Some(row) => Self::decode(row.value(), "service token").map(Some),
        }
    }

    /// Every token whose scope is `scope`, oldest first.
    pub fn tokens_of(&self, scope: &Owner) -> Result<Vec<TokenRecord>, StoreError> {
        let txn = self.core.db.begin_read()?;
        let table = txn.open_table(SERVICE_TOKENS)?;
        let mut out = Vec::new();
        for entry in table.iter()? {
            let (_, row) = entry?;
            let token: TokenRecord = Self::decode(row.value(), "service token")?;
            if token.scope() == *scope {
                out.push(token);
            }
        }
        out.sort_by(|a, b| (a.created_at, &a.name).cmp(&(b.created_at, &b.name)));
        Ok(out)
    }

    /// The token with id `id`, if any.
    pub fn token_by_id(&self, id: &TokenId) -> Result<Option<TokenRecord>, StoreError> {
        let txn = self.core.db.begin_read()?;
        let Some(hash) = txn
            .open_table(SERVICE_TOKEN_IDS)?
            .get(id.as_str())?
            .map(|h| h.value().to_vec())
        else {
            return Ok(None);
        };
        match txn.open_table(SERVICE_TOKENS)?.get(hash.as_slice())? {
            None => Ok(None),
            Some(row) => Self::decode(row.value(), "service token").map(Some),
        }
    }

    /// Revokes token `id` at once; `NotFound` when it does not exist (any more).
    pub fn revoke_token(&self, id: &TokenId, actor: &Actor, now: i64) -> Result<(), StoreError> {
        let id = id.clone();
        self.write(actor, now, move |tx| {
            let Some(token) = tx.tokens_where(|t| t.id == id)?.pop() else {
                return Ok(Err(StoreError::NotFound));
            };
            tx.remove_token(&token)?;
            let target = Some(format!("token:{}", token.id));
            tx.audit(Event::ok(Action::TokenRevoke, target, Some(&token.scope())))?;
            Ok(Ok(()))
        })?
    }

    /// Records when and from where the token under `hash` was last used. Nothing is audited
    /// here: the request's own events name the token.
    pub fn touch_token(
        &self,
        hash: &TokenHash,
        ip: &str,
        actor: &Actor,
        now: i64,
    ) -> Result<(), StoreError> {
        let (hash, ip) = (*hash, ip.to_string());
        self.write(actor, now, move |tx| {
            let mut table = tx.txn.open_table(SERVICE_TOKENS)?;
            let row = table.get(hash.as_slice())?.map(|r| r.value().to_vec());
            // Revoked meanwhile: nothing to record.
            let Some(row) = row else {
                return Ok(());
            };
            let mut token: TokenRecord = Store::decode(&row, "service token")?;
            token.last_used_at = Some(now);
            token.last_used_ip = Some(ip.clone());
            table.insert(hash.as_slice(), Store::encode(&token)?.as_slice())?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::token::token_hash;
    use crate::store::test_support::{actor, temp_store};

    fn token(id: &str, name: &str, team: Option<&str>) -> TokenRecord {
        TokenRecord {
            id: TokenId::new(id),
            name: name.into(),
            created_by: UserId::new("alice"),
            team: team.map(TeamId::new),
            write: false,
            share: false,
            prefix: None,
            allowed_cidrs: vec![],
            created_at: 1,
            expires_at: 100,
            last_used_at: None,
            last_used_ip: None,
        }
    }

    #[test]
    fn create_find_list_touch_revoke() {
        let t = temp_store("tokens");
        let s = &t.store;
        let ci = token("t1", "ci", None);
        s.create_token(&ci, &token_hash("sctl_svc_a"), &actor())
            .unwrap();
        // Same name in another scope is fine; in the same scope it is not.
        s.create_token(
            &token("t2", "ci", Some("ops")),
            &token_hash("sctl_svc_b"),
            &actor(),
        )
        .unwrap();
        assert!(matches!(
            s.create_token(
                &token("t3", "ci", None),
                &token_hash("sctl_svc_c"),
                &actor()
            ),
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(
            s.find_token(&token_hash("sctl_svc_a")).unwrap(),
            Some(ci.clone())
        );
        assert_eq!(s.find_token(&token_hash("sctl_svc_x")).unwrap(), None);
        let mine = s.tokens_of(&Owner::user(&UserId::new("alice"))).unwrap();
        assert_eq!(mine, std::slice::from_ref(&ci));
        s.touch_token(&token_hash("sctl_svc_a"), "10.0.0.1", &actor(), 7)
            .unwrap();
        let used = s.token_by_id(&ci.id).unwrap().unwrap();
        assert_eq!(
            (used.last_used_at, used.last_used_ip.as_deref()),
            (Some(7), Some("10.0.0.1"))
        );
        s.revoke_token(&ci.id, &actor(), 8).unwrap();
        assert_eq!(s.find_token(&token_hash("sctl_svc_a")).unwrap(), None);
        assert!(matches!(
            s.revoke_token(&ci.id, &actor(), 9),
            Err(StoreError::NotFound)
        ));
    }
}
