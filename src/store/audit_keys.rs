//! The keys of the audit chain: records are linked by an HMAC under a key only the master
//! identity can unwrap, so rewriting a record and recomputing the later links needs the key,
//! and the trail's newest (seq, hash) is kept as a MAC'd head in `META`, so deleting the
//! newest records, or the whole table, no longer verifies.
//!
//! Keys are random, wrapped to the master identity in `AUDIT_KEYS` and never deleted: a
//! record names the key it was made under, and old records must stay verifiable after a
//! master rotation adds a new key (the old one may have leaked with the old key file).

use std::collections::BTreeMap;

use hmac::{Hmac, KeyInit, Mac};
use redb::{ReadableTable, WriteTransaction};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::StoreError;
use super::tables::{AUDIT_KEYS, META, META_AUDIT_HEAD, META_AUDIT_KEYS_MAC};
use crate::crypto::key_set;
use crate::crypto::keyring::DataKey;
use crate::crypto::master::MasterKey;

/// Domain separation for a head's MAC; records use their canonical JSON alone.
const HEAD_LABEL: &[u8] = b"secretctl/audit-head/v1\0";

/// The unwrapped audit keys; new records use the newest.
pub struct AuditKeys {
    keys: BTreeMap<u32, DataKey>,
}

impl AuditKeys {
    /// No keys: a database from before the chain was keyed.
    pub fn none() -> AuditKeys {
        AuditKeys {
            keys: BTreeMap::new(),
        }
    }

    /// The key new records are made under.
    pub fn active_id(&self) -> u32 {
        self.keys.keys().next_back().copied().unwrap_or(0)
    }

    /// HMAC-SHA256 of `parts` under key `id`, hex; `None` for an unknown key.
    pub fn mac_hex(&self, id: u32, parts: &[&[u8]]) -> Option<String> {
        let key = self.keys.get(&id)?;
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key.as_bytes())
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        for part in parts {
            mac.update(part);
        }
        Some(crate::crypto::token::hex(&mac.finalize().into_bytes()))
    }
}

/// The trail's newest record as of a commit, MAC'd under an audit key.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SignedHead {
    pub seq: u64,
    pub hash: String,
    pub key: u32,
    pub mac: String,
}

impl SignedHead {
    fn message(seq: u64, hash: &str) -> [Vec<u8>; 3] {
        [
            HEAD_LABEL.to_vec(),
            seq.to_be_bytes().to_vec(),
            hash.as_bytes().to_vec(),
        ]
    }

    /// A head for (`seq`, `hash`) under the active key.
    pub fn sign(keys: &AuditKeys, seq: u64, hash: &str) -> Result<SignedHead, StoreError> {
        let key = keys.active_id();
        let [a, b, c] = Self::message(seq, hash);
        let mac = keys
            .mac_hex(key, &[&a, &b, &c])
            .ok_or_else(|| StoreError::Corrupt("no audit key".into()))?;
        Ok(SignedHead {
            seq,
            hash: hash.to_string(),
            key,
            mac,
        })
    }

    /// Whether this is an authentic head and `last` (a trail's newest record) is where it
    /// says the trail ends.
    pub fn vouches_for(&self, keys: &AuditKeys, last: &super::audit::ChainHead) -> bool {
        self.is_authentic(keys) && self.seq == last.seq && self.hash == last.hash
    }

    /// Whether the MAC is right (compared in constant time).
    pub fn is_authentic(&self, keys: &AuditKeys) -> bool {
        let [a, b, c] = Self::message(self.seq, &self.hash);
        keys.mac_hex(self.key, &[&a, &b, &c]).is_some_and(|m| {
            subtle::ConstantTimeEq::ct_eq(m.as_bytes(), self.mac.as_bytes()).into()
        })
    }
}

/// Every wrapped audit key in `table`, by id.
fn wrapped(
    table: &impl ReadableTable<u32, &'static [u8]>,
) -> Result<Vec<(u32, Vec<u8>)>, StoreError> {
    let mut out = Vec::new();
    for entry in table.iter()? {
        let (id, wrapped) = entry?;
        out.push((id.value(), wrapped.value().to_vec()));
    }
    Ok(out)
}

fn refs(rows: &[(u32, Vec<u8>)]) -> Vec<(u32, &[u8])> {
    rows.iter().map(|(id, w)| (*id, w.as_slice())).collect()
}

/// Unwraps every audit key in `table` after checking their authentication tag (`tag`, from
/// `META`): a set with keys must carry a valid one.
pub fn unwrap_all(
    table: &impl ReadableTable<u32, &'static [u8]>,
    tag: Option<&[u8]>,
    master: &MasterKey,
) -> Result<AuditKeys, StoreError> {
    let rows = wrapped(table)?;
    if !rows.is_empty() {
        let tag = tag.ok_or(crate::crypto::CryptoError::KeySetMismatch {
            reason: "the audit keys' authentication code is missing",
        })?;
        key_set::verify_audit(master, &refs(&rows), tag)?;
    }
    let mut keys = BTreeMap::new();
    for (id, wrapped) in rows {
        keys.insert(id, master.unwrap_key(&wrapped)?);
    }
    Ok(AuditKeys { keys })
}

/// The stored tag over the audit keys, if any.
pub fn read_tag(
    meta: &impl ReadableTable<&'static str, &'static [u8]>,
) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(meta.get(META_AUDIT_KEYS_MAC)?.map(|v| v.value().to_vec()))
}

/// Unwraps the audit keys of a write transaction (see [`unwrap_all`]).
fn unwrap_in(txn: &WriteTransaction, master: &MasterKey) -> Result<AuditKeys, StoreError> {
    let tag = read_tag(&txn.open_table(META)?)?;
    unwrap_all(&txn.open_table(AUDIT_KEYS)?, tag.as_deref(), master)
}

/// Re-makes the tag over the audit keys under `master`.
fn authenticate(txn: &WriteTransaction, master: &MasterKey) -> Result<(), StoreError> {
    let rows = wrapped(&txn.open_table(AUDIT_KEYS)?)?;
    let tag = key_set::audit_tag(master, &refs(&rows));
    txn.open_table(META)?
        .insert(META_AUDIT_KEYS_MAC, tag.as_slice())?;
    Ok(())
}

/// The database's audit keys; the first one is made for a database that has none.
pub fn load_or_init(txn: &WriteTransaction, master: &MasterKey) -> Result<AuditKeys, StoreError> {
    let keys = unwrap_in(txn, master)?;
    if !keys.keys.is_empty() {
        return Ok(keys);
    }
    add_key(txn, master)?;
    unwrap_in(txn, master)
}

/// Adds a new audit key (the next id) that records from now on are made under.
pub fn add_key(txn: &WriteTransaction, master: &MasterKey) -> Result<u32, StoreError> {
    let mut table = txn.open_table(AUDIT_KEYS)?;
    let next = match table.last()? {
        Some((id, _)) => id.value().checked_add(1),
        None => Some(1),
    }
    .ok_or_else(|| StoreError::Corrupt("no room for another audit key id".into()))?;
    let key = DataKey::generate()?;
    table.insert(next, master.wrap(&key)?.as_slice())?;
    drop(table);
    authenticate(txn, master)?;
    Ok(next)
}

/// Re-wraps every audit key from `old` to `new` (a master rotation).
pub fn rewrap(
    txn: &WriteTransaction,
    old: &MasterKey,
    new: &MasterKey,
) -> Result<usize, StoreError> {
    let mut table = txn.open_table(AUDIT_KEYS)?;
    let mut rewrapped = Vec::new();
    for entry in table.iter()? {
        let (id, wrapped) = entry?;
        let key = old.unwrap_key(wrapped.value())?;
        rewrapped.push((id.value(), new.wrap(&key)?));
    }
    for (id, wrapped) in &rewrapped {
        table.insert(id, wrapped.as_slice())?;
    }
    drop(table);
    authenticate(txn, new)?;
    Ok(rewrapped.len())
}

/// Stores the head after a commit's last record.
pub fn write_head(txn: &WriteTransaction, head: &SignedHead) -> Result<(), StoreError> {
    let bytes = serde_json::to_vec(head).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    txn.open_table(META)?
        .insert(META_AUDIT_HEAD, bytes.as_slice())?;
    Ok(())
}

/// The stored head, if any (`Corrupt` when it does not parse).
pub fn read_head(
    meta: &impl ReadableTable<&'static str, &'static [u8]>,
) -> Result<Option<SignedHead>, StoreError> {
    let Some(row) = meta.get(META_AUDIT_HEAD)? else {
        return Ok(None);
    };
    serde_json::from_slice(row.value())
        .map(Some)
        .map_err(|_| StoreError::Corrupt("audit head".into()))
}
