//! Share links: one-time (or few-time), expiring access to a snapshot of one secret.
//!
//! Exactly-once: a redemption reads, checks and decrements `views_left` inside one redb
//! write transaction, and write transactions are serialized, so N concurrent redemptions of
//! a one-view link commit exactly one success. When the last view is used, the link is
//! revoked, or it expires, every row of the share is deleted in that same transaction.

use redb::{ReadableDatabase, ReadableTable, WriteTransaction};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::tables::{SECRET_SHARES, SECRETS, SHARE_IDS, SHARE_PAYLOADS, SHARES};
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
    /// Unknown, expired, used up or revoked: deliberately one answer.
    NotFound,
}

pub(super) fn payload_ctx<'a>(parts: &'a [&'a [u8]]) -> SealContext<'a> {
    SealContext {
        purpose: PAYLOAD_PURPOSE,
        parts,
    }
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
    ) -> Result<(), StoreError> {
        let payload = self
            .keyring
            .seal(snapshot, &payload_ctx(&[share.id.as_bytes()]))?;
        let txn = self.db.begin_write()?;
        {
            // The secret must still exist and be the caller's at commit time.
            let secrets = txn.open_table(SECRETS)?;
            super::secrets::owned_record(&secrets, owner, &share.secret_id)?;
            txn.open_table(SHARES)?
                .insert(lookup.as_slice(), Self::encode(share)?.as_slice())?;
            txn.open_table(SHARE_PAYLOADS)?
                .insert(lookup.as_slice(), payload.as_slice())?;
            txn.open_table(SHARE_IDS)?
                .insert(share.id.as_str(), lookup.as_slice())?;
            txn.open_table(SECRET_SHARES)?
                .insert((share.secret_id.as_str(), share.id.as_str()), ())?;
        }
        txn.commit()?;
        Ok(())
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
    /// and must fail with `OpenFailed` when the passphrase is wrong.
    pub fn redeem_share(
        &self,
        lookup: &[u8; 32],
        now: i64,
        open_snapshot: impl FnOnce(&ShareRecord, &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError>,
    ) -> Result<Redemption, StoreError> {
        let txn = self.db.begin_write()?;
        let share = {
            let shares = txn.open_table(SHARES)?;
            let row = shares.get(lookup.as_slice())?;
            match row {
                Some(row) => Self::decode::<ShareRecord>(row.value(), "share")?,
                None => return Ok(Redemption::NotFound),
            }
        };
        if share.expires_at <= now || share.views_left == 0 {
            remove_share(&txn, lookup, &share)?;
            txn.commit()?;
            return Ok(Redemption::NotFound);
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
                    remove_share(&txn, lookup, &share)?;
                } else {
                    txn.open_table(SHARES)?
                        .insert(lookup.as_slice(), Self::encode(&share)?.as_slice())?;
                }
                Redemption::Redeemed { share, plaintext }
            }
            Err(CryptoError::OpenFailed) if share.passphrase_salt.is_some() => {
                let mut share = share;
                share.wrong_passphrases += 1;
                let destroyed = share.wrong_passphrases >= MAX_WRONG_PASSPHRASES;
                if destroyed {
                    remove_share(&txn, lookup, &share)?;
                } else {
                    txn.open_table(SHARES)?
                        .insert(lookup.as_slice(), Self::encode(&share)?.as_slice())?;
                }
                Redemption::WrongPassphrase { share, destroyed }
            }
            Err(e) => return Err(e.into()),
        };
        txn.commit()?;
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
    pub fn revoke_share(&self, owner: &str, share_id: &str) -> Result<ShareRecord, StoreError> {
        let txn = self.db.begin_write()?;
        let share = {
            let ids = txn.open_table(SHARE_IDS)?;
            let lookup: [u8; 32] = match ids.get(share_id)? {
                Some(l) => l
                    .value()
                    .try_into()
                    .map_err(|_| StoreError::Corrupt("share id row".into()))?,
                None => return Err(StoreError::NotFound),
            };
            drop(ids);
            let share: ShareRecord = {
                let shares = txn.open_table(SHARES)?;
                let row = shares.get(lookup.as_slice())?.ok_or(StoreError::NotFound)?;
                Self::decode(row.value(), "share")?
            };
            if share.owner != owner {
                return Err(StoreError::NotFound);
            }
            remove_share(&txn, &lookup, &share)?;
            share
        };
        txn.commit()?;
        Ok(share)
    }

    /// Deletes every share expired at `now`; returns them (for the log).
    pub fn purge_expired_shares(&self, now: i64) -> Result<Vec<ShareRecord>, StoreError> {
        let txn = self.db.begin_write()?;
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
        for (lookup, share) in &expired {
            remove_share(&txn, lookup, share)?;
        }
        txn.commit()?;
        Ok(expired.into_iter().map(|(_, s)| s).collect())
    }
}

/// Removes every row of a share inside `txn`.
fn remove_share(
    txn: &WriteTransaction,
    lookup: &[u8; 32],
    share: &ShareRecord,
) -> Result<(), StoreError> {
    txn.open_table(SHARES)?.remove(lookup.as_slice())?;
    txn.open_table(SHARE_PAYLOADS)?.remove(lookup.as_slice())?;
    txn.open_table(SHARE_IDS)?.remove(share.id.as_str())?;
    txn.open_table(SECRET_SHARES)?
        .remove((share.secret_id.as_str(), share.id.as_str()))?;
    Ok(())
}

/// Removes every share of `secret_id` inside `txn` (the secret is being deleted).
pub(super) fn remove_secret_shares(
    txn: &WriteTransaction,
    secret_id: &str,
) -> Result<usize, StoreError> {
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
    for share_id in &share_ids {
        let lookup = txn
            .open_table(SHARE_IDS)?
            .remove(share_id.as_str())?
            .map(|l| l.value().to_vec());
        if let Some(lookup) = lookup {
            txn.open_table(SHARES)?.remove(lookup.as_slice())?;
            txn.open_table(SHARE_PAYLOADS)?.remove(lookup.as_slice())?;
        }
        txn.open_table(SECRET_SHARES)?
            .remove((secret_id, share_id.as_str()))?;
    }
    Ok(share_ids.len())
}
