//! Share links: one-time (or few-time), expiring access to a snapshot of one secret.
//!
//! Exactly-once: a redemption reads, checks and decrements `views_left` inside one redb
//! write transaction, and write transactions are serialized, so N concurrent redemptions of
//! a one-view link commit exactly one success. When the last view is used, the link is
//! revoked, or it expires, every row of the share is deleted in that same transaction.

use redb::{ReadableDatabase, ReadableTable, WriteTransaction};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::audit::{Actor, Event, Pending};
use super::tables::{SECRET_SHARES, SECRETS, SHARE_IDS, SHARE_PAYLOADS, SHARE_TOMBSTONES, SHARES};
use super::{Store, StoreError};
use crate::crypto::CryptoError;
use crate::crypto::keyring::SealContext;

const PAYLOAD_PURPOSE: &str = "secretctl/share-payload/v1";
/// Wrong passphrases tolerated before the link is destroyed.
pub const MAX_WRONG_PASSPHRASES: u32 = 5;

/// A share link as stored (never its token or its plaintext).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ShareRecord {
    pub id: String,
    pub secret_id: String,
    pub owner: String,
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
    fn as_str(self) -> &'static str {
        match self {
            DeathReason::UsedUp => "used_up",
            DeathReason::Expired => "expired",
            DeathReason::Revoked => "revoked",
            DeathReason::SecretDeleted => "secret_deleted",
            DeathReason::TooManyWrongPassphrases => "destroyed",
        }
    }
}

/// What remains of a dead share: enough to audit (and alert on) a late redemption attempt
/// against its owner, nothing that opens anything.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Tombstone {
    share_id: String,
    secret_id: String,
    owner: String,
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
        owner: &str,
        lookup: &[u8; 32],
        share: &ShareRecord,
        snapshot: &[u8],
        actor: &Actor,
    ) -> Result<(), StoreError> {
        let payload = self
            .keyring
            .seal(snapshot, &payload_ctx(&[share.id.as_bytes()]))?;
        let txn = self.db.begin_write()?;
        let mut pending = Pending::default();
        // The secret must still exist and be the caller's at commit time.
        if super::secrets::owned_in(&txn, owner, &share.secret_id)?.is_none() {
            let (id, now) = (&share.secret_id, share.created_at);
            return self.deny(txn, pending, actor, "share.create", id, now);
        }
        txn.open_table(SHARES)?
            .insert(lookup.as_slice(), Self::encode(share)?.as_slice())?;
        txn.open_table(SHARE_PAYLOADS)?
            .insert(lookup.as_slice(), payload.as_slice())?;
        txn.open_table(SHARE_IDS)?
            .insert(share.id.as_str(), lookup.as_slice())?;
        txn.open_table(SECRET_SHARES)?
            .insert((share.secret_id.as_str(), share.id.as_str()), ())?;
        let event = Event::ok("share.create", share_target(share), Some(owner));
        self.append_audit(&txn, &mut pending, actor, event, share.created_at)?;
        self.commit_audited(txn, pending)
    }

    /// The live share behind `lookup`, if any (expired counts as none).
    pub fn find_share(
        &self,
        lookup: &[u8; 32],
        now: i64,
    ) -> Result<Option<ShareRecord>, StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(SHARES)?;
        let Some(row) = table.get(lookup.as_slice())? else {
            return Ok(None);
        };
        let share: ShareRecord = Self::decode(row.value(), "share")?;
        Ok((share.expires_at > now && share.views_left > 0).then_some(share))
    }

    /// Redeems one view. `open_snapshot` gets the snapshot (data-key layer already removed)
    /// and must fail with `OpenFailed` when the passphrase is wrong. With `expected_views`,
    /// the redemption only happens if the share still has exactly that many views left.
    /// Every outcome is audited in the same transaction.
    pub fn redeem_share(
        &self,
        lookup: &[u8; 32],
        expected_views: Option<u32>,
        actor: &Actor,
        now: i64,
        open_snapshot: impl FnOnce(&ShareRecord, &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError>,
    ) -> Result<Redemption, StoreError> {
        let txn = self.db.begin_write()?;
        let mut pending = Pending::default();
        let found = {
            let shares = txn.open_table(SHARES)?;
            let row = shares.get(lookup.as_slice())?;
            match row {
                Some(row) => Some(Self::decode::<ShareRecord>(row.value(), "share")?),
                None => None,
            }
        };
        let Some(share) = found else {
            let tomb = {
                let tombs = txn.open_table(SHARE_TOMBSTONES)?;
                let row = tombs.get(lookup.as_slice())?;
                row.and_then(|r| serde_json::from_slice::<Tombstone>(r.value()).ok())
            };
            let event = match tomb {
                Some(t) => Event::ok(
                    "share.redeem",
                    Some(format!("share:{}", t.share_id)),
                    Some(&t.owner),
                )
                .outcome(t.reason.as_str()),
                None => Event::ok("share.redeem", None, None).outcome("unknown"),
            };
            self.append_audit(&txn, &mut pending, actor, event, now)?;
            self.commit_audited(txn, pending)?;
            return Ok(Redemption::NotFound);
        };
        if share.expires_at <= now || share.views_left == 0 {
            remove_share(&txn, lookup, &share, DeathReason::Expired, now)?;
            let event = Event::ok("share.redeem", share_target(&share), Some(&share.owner))
                .outcome("expired");
            self.append_audit(&txn, &mut pending, actor, event, now)?;
            self.commit_audited(txn, pending)?;
            return Ok(Redemption::NotFound);
        }
        if expected_views.is_some_and(|v| v != share.views_left) {
            return Ok(Redemption::Stale);
        }
        let payload = {
            let payloads = txn.open_table(SHARE_PAYLOADS)?;
            let row = payloads
                .get(lookup.as_slice())?
                .ok_or_else(|| StoreError::Corrupt("share without a payload".into()))?;
            self.keyring
                .open(row.value(), &payload_ctx(&[share.id.as_bytes()]))?
        };
        let outcome = match open_snapshot(&share, &payload) {
            Ok(plaintext) => {
                let mut share = share;
                share.views_left -= 1;
                if share.views_left == 0 {
                    remove_share(&txn, lookup, &share, DeathReason::UsedUp, now)?;
                } else {
                    txn.open_table(SHARES)?
                        .insert(lookup.as_slice(), Self::encode(&share)?.as_slice())?;
                }
                let event = Event::ok("share.redeem", share_target(&share), Some(&share.owner));
                self.append_audit(&txn, &mut pending, actor, event, now)?;
                Redemption::Redeemed { share, plaintext }
            }
            Err(CryptoError::OpenFailed) if share.passphrase_salt.is_some() => {
                let mut share = share;
                share.wrong_passphrases += 1;
                let destroyed = share.wrong_passphrases >= MAX_WRONG_PASSPHRASES;
                if destroyed {
                    remove_share(
                        &txn,
                        lookup,
                        &share,
                        DeathReason::TooManyWrongPassphrases,
                        now,
                    )?;
                } else {
                    txn.open_table(SHARES)?
                        .insert(lookup.as_slice(), Self::encode(&share)?.as_slice())?;
                }
                let outcome = if destroyed { "destroyed" } else { "denied" };
                let event = Event::ok(
                    "share.wrong_passphrase",
                    share_target(&share),
                    Some(&share.owner),
                )
                .outcome(outcome);
                self.append_audit(&txn, &mut pending, actor, event, now)?;
                Redemption::WrongPassphrase { share, destroyed }
            }
            Err(e) => return Err(e.into()),
        };
        self.commit_audited(txn, pending)?;
        Ok(outcome)
    }

    /// The live shares of `owner`'s secret `secret_id`, oldest first.
    pub fn list_shares(
        &self,
        owner: &str,
        secret_id: &str,
        now: i64,
    ) -> Result<Vec<ShareRecord>, StoreError> {
        let txn = self.db.begin_read()?;
        super::secrets::owned_record(&txn.open_table(SECRETS)?, owner, secret_id)?;
        let index = txn.open_table(SECRET_SHARES)?;
        let ids = txn.open_table(SHARE_IDS)?;
        let shares = txn.open_table(SHARES)?;
        let mut out = Vec::new();
        for entry in index.range((secret_id, "")..)? {
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
        owner: &str,
        share_id: &str,
        actor: &Actor,
        now: i64,
    ) -> Result<ShareRecord, StoreError> {
        let txn = self.db.begin_write()?;
        let mut pending = Pending::default();
        let found = {
            let ids = txn.open_table(SHARE_IDS)?;
            let lookup = ids.get(share_id)?.map(|l| l.value().to_vec());
            match lookup {
                Some(l) => {
                    let lookup: [u8; 32] = l
                        .as_slice()
                        .try_into()
                        .map_err(|_| StoreError::Corrupt("share id row".into()))?;
                    let shares = txn.open_table(SHARES)?;
                    let row = shares.get(lookup.as_slice())?;
                    match row {
                        Some(r) => Some((lookup, Self::decode::<ShareRecord>(r.value(), "share")?)),
                        None => None,
                    }
                }
                None => None,
            }
        };
        let (lookup, share) = match found {
            Some((lookup, share)) if share.owner == owner => (lookup, share),
            other => {
                let real_owner = other.map(|(_, s)| s.owner);
                let event = Event::ok(
                    "share.revoke",
                    super::secrets::safe_target("share", share_id),
                    real_owner.as_deref(),
                )
                .outcome("not_found");
                self.append_audit(&txn, &mut pending, actor, event, now)?;
                self.commit_audited(txn, pending)?;
                return Err(StoreError::NotFound);
            }
        };
        remove_share(&txn, &lookup, &share, DeathReason::Revoked, now)?;
        let event = Event::ok("share.revoke", share_target(&share), Some(owner));
        self.append_audit(&txn, &mut pending, actor, event, now)?;
        self.commit_audited(txn, pending)?;
        Ok(share)
    }

    /// Deletes every share expired at `now` (audited as `share.expire` by the system) and
    /// tombstones older than their retention; returns the expired shares.
    pub fn purge_expired_shares(&self, now: i64) -> Result<Vec<ShareRecord>, StoreError> {
        let txn = self.db.begin_write()?;
        let mut pending = Pending::default();
        let expired: Vec<([u8; 32], ShareRecord)> = {
            let shares = txn.open_table(SHARES)?;
            let mut out = Vec::new();
            for entry in shares.iter()? {
                let (k, v) = entry?;
                let share: ShareRecord = Self::decode(v.value(), "share")?;
                if share.expires_at <= now {
                    let lookup: [u8; 32] = k
                        .value()
                        .try_into()
                        .map_err(|_| StoreError::Corrupt("share key".into()))?;
                    out.push((lookup, share));
                }
            }
            out
        };
        let system = Actor::system();
        for (lookup, share) in &expired {
            remove_share(&txn, lookup, share, DeathReason::Expired, now)?;
            let event = Event::ok("share.expire", share_target(share), Some(&share.owner));
            self.append_audit(&txn, &mut pending, &system, event, now)?;
        }
        txn.open_table(SHARE_TOMBSTONES)?.retain(|_, row| {
            serde_json::from_slice::<Tombstone>(row)
                .is_ok_and(|t| t.dead_at + TOMBSTONE_TTL_SECS > now)
        })?;
        self.commit_audited(txn, pending)?;
        Ok(expired.into_iter().map(|(_, s)| s).collect())
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
