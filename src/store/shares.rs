//! Share links: one-time (or few-time), expiring access to a snapshot of one secret.
//!
//! Exactly-once: a redemption reads, checks and decrements `views_left` inside one redb
//! write transaction, and write transactions are serialized, so N concurrent redemptions of
//! a one-view link commit exactly one success. When the last view is used, the link is
//! revoked, or it expires, every row of the share is deleted in that same transaction.

use redb::{ReadableTable, WriteTransaction};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::audit::{Action, Actor, Event, Outcome};
use super::tables::{SECRET_SHARES, SECRETS, SHARE_IDS, SHARE_PAYLOADS, SHARE_TOMBSTONES, SHARES};
use super::{Store, StoreError, Tx};
use crate::crypto::CryptoError;
use crate::crypto::keyring::SealContext;
use crate::ids::{Owner, SecretId, ShareId, ShareLookup};

const PAYLOAD_PURPOSE: &str = "secretctl/share-payload/v1";
/// Wrong passphrases tolerated before the link is destroyed.
pub const MAX_WRONG_PASSPHRASES: u32 = 5;

/// A share link as stored (never its token or its plaintext).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ShareRecord {
    pub id: ShareId,
    pub secret_id: SecretId,
    pub owner: Owner,
    pub created_at: i64,
    pub expires_at: i64,
    pub max_views: u32,
    pub views_left: u32,
    /// Hex salt for stretching the passphrase; `None` when the link has no passphrase.
    pub passphrase_salt: Option<String>,
    pub wrong_passphrases: u32,
}

/// What a redemption attempt came to.
pub enum Redemption {
    /// One view consumed; the snapshot's plaintext.
    Redeemed {
        share: ShareRecord,
        plaintext: Zeroizing<Vec<u8>>,
    },
    /// The passphrase did not open the snapshot; nothing consumed.
    WrongPassphrase { share: ShareRecord, destroyed: bool },
    /// The caller's view of the share is out of date (another view was used since); nothing
    /// consumed.
    Stale,
    /// Unknown, expired, used up or revoked: deliberately one answer.
    NotFound,
}

/// Why a share stopped working; kept in a tombstone for a while.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DeathReason {
    UsedUp,
    Expired,
    Revoked,
    SecretDeleted,
    TooManyWrongPassphrases,
}

impl DeathReason {
    /// The outcome a late redemption attempt is audited with.
    fn outcome(self) -> Outcome {
        match self {
            DeathReason::UsedUp => Outcome::UsedUp,
            DeathReason::Expired => Outcome::Expired,
            DeathReason::Revoked => Outcome::Revoked,
            DeathReason::SecretDeleted => Outcome::SecretDeleted,
            DeathReason::TooManyWrongPassphrases => Outcome::Destroyed,
        }
    }
}

/// What remains of a dead share: enough to audit (and alert on) a late redemption attempt
/// against its owner, nothing that opens anything.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Tombstone {
    share_id: ShareId,
    secret_id: SecretId,
    owner: Owner,
    reason: DeathReason,
    dead_at: i64,
}

/// How long tombstones are kept.
const TOMBSTONE_TTL_SECS: i64 = 7 * 86_400;

pub(super) fn payload_ctx<'a>(parts: &'a [&'a [u8]]) -> SealContext<'a> {
    SealContext {
        purpose: PAYLOAD_PURPOSE,
        parts,
    }
}

fn share_target(share: &ShareRecord) -> Option<String> {
    Some(format!("share:{}", share.id))
}

impl Store {
    /// Stores a share of `owner`'s secret. `snapshot` is already sealed under the token's key;
    /// it is sealed once more under the data key so key rotation covers pending shares too.
    pub fn create_share(
        &self,
        owner: &Owner,
        lookup: &ShareLookup,
        share: &ShareRecord,
        snapshot: &[u8],
        actor: &Actor,
    ) -> Result<(), StoreError> {
        let payload = self
            .core
            .keyring
            .seal(snapshot, &payload_ctx(&[share.id.as_bytes()]))?;
        let (owner, lookup, share) = (owner.clone(), *lookup, share.clone());
        self.write(actor, share.created_at, move |tx| {
            // The secret must still exist and be the caller's at commit time.
            if tx.secret(&owner, &share.secret_id)?.is_none() {
                tx.audit_miss(Action::ShareCreate, &share.secret_id)?;
                return Ok(Err(StoreError::NotFound));
            }
            tx.insert_share(lookup.as_bytes(), &share, &payload)?;
            tx.audit(Event::ok(
                Action::ShareCreate,
                share_target(&share),
                Some(&owner),
            ))?;
            Ok(Ok(()))
        })?
    }

    /// The live share behind `lookup`, if any (expired counts as none).
    pub fn find_share(
        &self,
        lookup: &ShareLookup,
        now: i64,
    ) -> Result<Option<ShareRecord>, StoreError> {
        let txn = self.core.db.begin_read()?;
        let table = txn.open_table(SHARES)?;
        let Some(row) = table.get(lookup.as_slice())? else {
            return Ok(None);
        };
        let share: ShareRecord = Self::decode(row.value(), "share")?;
        Ok((share.expires_at > now && share.views_left > 0).then_some(share))
    }

    /// Redeems one view. `open_snapshot` gets the snapshot (data-key layer already removed)
    /// and must fail with `OpenFailed` when the passphrase is wrong; it runs inside the
    /// writer, so it must be cheap (no key stretching) and may run more than once. With
    /// `expected_views`, the redemption only happens if the share still has exactly that
    /// many views left. Every outcome is audited in the same transaction, and the check and
    /// decrement are serialized with every other write: N concurrent redemptions of a
    /// one-view link give exactly one `Redeemed`.
    pub fn redeem_share<F>(
        &self,
        lookup: &ShareLookup,
        expected_views: Option<u32>,
        actor: &Actor,
        now: i64,
        open_snapshot: F,
    ) -> Result<Redemption, StoreError>
    where
        F: Fn(&ShareRecord, &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> + Send + 'static,
    {
        let lookup = *lookup;
        self.write(actor, now, move |tx| {
            tx.redeem(lookup.as_bytes(), expected_views, &open_snapshot)
        })
    }

    /// The live shares of `owner`'s secret `secret_id`, oldest first.
    pub fn list_shares(
        &self,
        owner: &Owner,
        secret_id: &SecretId,
        now: i64,
    ) -> Result<Vec<ShareRecord>, StoreError> {
        let txn = self.core.db.begin_read()?;
        super::secrets::owned_record(&txn.open_table(SECRETS)?, owner, secret_id)?;
        let index = txn.open_table(SECRET_SHARES)?;
        let ids = txn.open_table(SHARE_IDS)?;
        let shares = txn.open_table(SHARES)?;
        let mut out = Vec::new();
        for entry in index.range((secret_id.as_str(), "")..)? {
            let (key, _) = entry?;
            let (sid, share_id) = key.value();
            if sid != secret_id {
                break;
            }
            let Some(lookup) = ids.get(share_id)? else {
                continue;
            };
            let Some(row) = shares.get(lookup.value())? else {
                continue;
            };
            let share: ShareRecord = Self::decode(row.value(), "share")?;
            if share.expires_at > now && share.views_left > 0 {
                out.push(share);
            }
        }
        out.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(out)
    }

    /// Revokes `owner`'s share `share_id`; another user's share is `NotFound`.
    pub fn revoke_share(
        &self,
        owner: &Owner,
        share_id: &ShareId,
        actor: &Actor,
        now: i64,
    ) -> Result<ShareRecord, StoreError> {
        let (owner, share_id) = (owner.clone(), share_id.clone());
        self.write(actor, now, move |tx| {
            let (lookup, share) = match tx.share_by_id(&share_id)? {
                Some((lookup, share)) if share.owner == owner => (lookup, share),
                other => {
                    let real_owner = other.map(|(_, s)| s.owner);
                    let target = super::secrets::safe_target("share", &share_id);
                    let event = Event::ok(Action::ShareRevoke, target, real_owner.as_deref());
                    tx.audit(event.outcome(Outcome::NotFound))?;
                    return Ok(Err(StoreError::NotFound));
                }
            };
            remove_share(tx.txn, &lookup, &share, DeathReason::Revoked, tx.now())?;
            tx.audit(Event::ok(
                Action::ShareRevoke,
                share_target(&share),
                Some(&owner),
            ))?;
            Ok(Ok(share))
        })?
    }

    /// Deletes every share expired at `now` (audited as `share.expire` by the system) and
    /// tombstones older than their retention; returns the expired shares.
    pub fn purge_expired_shares(&self, now: i64) -> Result<Vec<ShareRecord>, StoreError> {
        let system = Actor::system();
        self.write(&system, now, move |tx| {
            let expired = tx.expired_shares()?;
            for (lookup, share) in &expired {
                remove_share(tx.txn, lookup, share, DeathReason::Expired, tx.now())?;
                let event = Event::ok(Action::ShareExpire, share_target(share), Some(&share.owner));
                tx.audit(event)?;
            }
            tx.txn.open_table(SHARE_TOMBSTONES)?.retain(|_, row| {
                serde_json::from_slice::<Tombstone>(row)
                    .is_ok_and(|t| t.dead_at + TOMBSTONE_TTL_SECS > now)
            })?;
            Ok(expired.into_iter().map(|(_, s)| s).collect())
        })
    }
}

/// Opens a share's snapshot with the key the redeemer's token (and passphrase) derive.
type SnapshotOpener = dyn Fn(&ShareRecord, &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError>;

/// Typed operations on share links, for closures given to `Store::write`.
impl Tx<'_> {
    fn insert_share(
        &self,
        lookup: &[u8; 32],
        share: &ShareRecord,
        payload: &[u8],
    ) -> Result<(), StoreError> {
        self.txn
            .open_table(SHARES)?
            .insert(lookup.as_slice(), Store::encode(share)?.as_slice())?;
        self.txn
            .open_table(SHARE_PAYLOADS)?
            .insert(lookup.as_slice(), payload)?;
        self.txn
            .open_table(SHARE_IDS)?
            .insert(share.id.as_str(), lookup.as_slice())?;
        self.txn
            .open_table(SECRET_SHARES)?
            .insert((share.secret_id.as_str(), share.id.as_str()), ())?;
        Ok(())
    }

    fn share(&self, lookup: &[u8; 32]) -> Result<Option<ShareRecord>, StoreError> {
        let shares = self.txn.open_table(SHARES)?;
        let row = shares.get(lookup.as_slice())?;
        match row {
            Some(row) => Ok(Some(Store::decode(row.value(), "share")?)),
            None => Ok(None),
        }
    }

    fn put_share(&self, lookup: &[u8; 32], share: &ShareRecord) -> Result<(), StoreError> {
        self.txn
            .open_table(SHARES)?
            .insert(lookup.as_slice(), Store::encode(share)?.as_slice())?;
        Ok(())
    }

    /// The share with id `share_id` and its lookup hash, if it still exists.
    fn share_by_id(&self, share_id: &str) -> Result<Option<([u8; 32], ShareRecord)>, StoreError> {
        let lookup = {
            let ids = self.txn.open_table(SHARE_IDS)?;
            let row = ids.get(share_id)?;
            match row {
                Some(l) => <[u8; 32]>::try_from(l.value())
                    .map_err(|_| StoreError::Corrupt("share id row".into()))?,
                None => return Ok(None),
            }
        };
        Ok(self.share(&lookup)?.map(|share| (lookup, share)))
    }

    fn tombstone(&self, lookup: &[u8; 32]) -> Result<Option<Tombstone>, StoreError> {
        let tombs = self.txn.open_table(SHARE_TOMBSTONES)?;
        let row = tombs.get(lookup.as_slice())?;
        Ok(row.and_then(|r| serde_json::from_slice::<Tombstone>(r.value()).ok()))
    }

    fn expired_shares(&self) -> Result<Vec<([u8; 32], ShareRecord)>, StoreError> {
        let shares = self.txn.open_table(SHARES)?;
        let mut out = Vec::new();
        for entry in shares.iter()? {
            let (k, v) = entry?;
            let share: ShareRecord = Store::decode(v.value(), "share")?;
            if share.expires_at <= self.now() {
                let lookup: [u8; 32] = k
                    .value()
                    .try_into()
                    .map_err(|_| StoreError::Corrupt("share key".into()))?;
                out.push((lookup, share));
            }
        }
        Ok(out)
    }

    /// One redemption attempt, audited; see `Store::redeem_share`.
    fn redeem(
        &mut self,
        lookup: &[u8; 32],
        expected_views: Option<u32>,
        open_snapshot: &SnapshotOpener,
    ) -> Result<Redemption, StoreError> {
        let now = self.now();
        let Some(share) = self.share(lookup)? else {
            let event = match self.tombstone(lookup)? {
                Some(t) => Event::ok(
                    Action::ShareRedeem,
                    Some(format!("share:{}", t.share_id)),
                    Some(&t.owner),
                )
                .outcome(t.reason.outcome()),
                None => Event::ok(Action::ShareRedeem, None, None).outcome(Outcome::Unknown),
            };
            self.audit(event)?;
            return Ok(Redemption::NotFound);
        };
        if share.expires_at <= now || share.views_left == 0 {
            remove_share(self.txn, lookup, &share, DeathReason::Expired, now)?;
            let event = Event::ok(
                Action::ShareRedeem,
                share_target(&share),
                Some(&share.owner),
            )
            .outcome(Outcome::Expired);
            self.audit(event)?;
            return Ok(Redemption::NotFound);
        }
        if expected_views.is_some_and(|v| v != share.views_left) {
            return Ok(Redemption::Stale);
        }
        let payload = {
            let payloads = self.txn.open_table(SHARE_PAYLOADS)?;
            let row = payloads
                .get(lookup.as_slice())?
                .ok_or_else(|| StoreError::Corrupt("share without a payload".into()))?;
            self.keyring()
                .open(row.value(), &payload_ctx(&[share.id.as_bytes()]))?
        };
        match open_snapshot(&share, &payload) {
            Ok(plaintext) => {
                let mut share = share;
                share.views_left -= 1;
                if share.views_left == 0 {
                    remove_share(self.txn, lookup, &share, DeathReason::UsedUp, now)?;
                } else {
                    self.put_share(lookup, &share)?;
                }
                let event = Event::ok(
                    Action::ShareRedeem,
                    share_target(&share),
                    Some(&share.owner),
                );
                self.audit(event)?;
                Ok(Redemption::Redeemed { share, plaintext })
            }
            Err(CryptoError::OpenFailed) if share.passphrase_salt.is_some() => {
                let mut share = share;
                share.wrong_passphrases += 1;
                let destroyed = share.wrong_passphrases >= MAX_WRONG_PASSPHRASES;
                if destroyed {
                    let why = DeathReason::TooManyWrongPassphrases;
                    remove_share(self.txn, lookup, &share, why, now)?;
                } else {
                    self.put_share(lookup, &share)?;
                }
                let outcome = if destroyed {
                    Outcome::Destroyed
                } else {
                    Outcome::Denied
                };
                let event = Event::ok(
                    Action::ShareWrongPassphrase,
                    share_target(&share),
                    Some(&share.owner),
                );
                self.audit(event.outcome(outcome))?;
                Ok(Redemption::WrongPassphrase { share, destroyed })
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// Removes every row of a share inside `txn`, leaving a tombstone.
fn remove_share(
    txn: &WriteTransaction,
    lookup: &[u8; 32],
    share: &ShareRecord,
    reason: DeathReason,
    now: i64,
) -> Result<(), StoreError> {
    txn.open_table(SHARES)?.remove(lookup.as_slice())?;
    txn.open_table(SHARE_PAYLOADS)?.remove(lookup.as_slice())?;
    txn.open_table(SHARE_IDS)?.remove(share.id.as_str())?;
    txn.open_table(SECRET_SHARES)?
        .remove((share.secret_id.as_str(), share.id.as_str()))?;
    let tomb = Tombstone {
        share_id: share.id.clone(),
        secret_id: share.secret_id.clone(),
        owner: share.owner.clone(),
        reason,
        dead_at: now,
    };
    txn.open_table(SHARE_TOMBSTONES)?
        .insert(lookup.as_slice(), Store::encode(&tomb)?.as_slice())?;
    Ok(())
}

/// Removes every share of `secret_id` inside `txn` (the secret is being deleted).
pub(super) fn remove_secret_shares(
    txn: &WriteTransaction,
    secret_id: &str,
    now: i64,
) -> Result<Vec<ShareRecord>, StoreError> {
    let share_ids: Vec<String> = {
        let index = txn.open_table(SECRET_SHARES)?;
        let mut ids = Vec::new();
        for entry in index.range((secret_id, "")..)? {
            let (key, _) = entry?;
            let (sid, share_id) = key.value();
            if sid != secret_id {
                break;
            }
            ids.push(share_id.to_string());
        }
        ids
    };
    let mut removed = Vec::new();
    for share_id in &share_ids {
        let lookup = txn
            .open_table(SHARE_IDS)?
            .get(share_id.as_str())?
            .map(|l| l.value().to_vec());
        let share = match lookup.as_deref().map(<[u8; 32]>::try_from) {
            Some(Ok(lookup)) => {
                let row = txn
                    .open_table(SHARES)?
                    .get(lookup.as_slice())?
                    .map(|r| r.value().to_vec());
                row.and_then(|r| serde_json::from_slice::<ShareRecord>(&r).ok())
                    .map(|s| (lookup, s))
            }
            _ => None,
        };
        match share {
            Some((lookup, share)) => {
                remove_share(txn, &lookup, &share, DeathReason::SecretDeleted, now)?;
                removed.push(share);
            }
            None => {
                txn.open_table(SECRET_SHARES)?
                    .remove((secret_id, share_id.as_str()))?;
            }
        }
    }
    Ok(removed)
}
