//! The audit trail: an append-only, hash-chained table of security events.
//!
//! Each record is appended in the same write transaction as the change it describes (for
//! reads, before the value is returned), so an event and its effect commit together or not
//! at all. Record n links to record n-1 (`prev_hash`: n-1's hash), and its own hash covers
//! every field, so editing, inserting or deleting any record breaks the chain at that point
//! (`verify_chain`). Records hold ids, addresses and outcomes: never a value, password or
//! token. How a record is stored (compact since schema 6, JSON before; `prev_hash` and `seq`
//! derived, not stored) is `audit_row`'s business: every row is read through
//! [`StoredRecord`].
//!
//! When an audit log file is attached, each record is also appended to it as one JSON line
//! before its transaction commits; if that write fails, the transaction is dropped and the
//! operation fails with `AuditUnavailable` (fail closed: nothing done, nothing revealed). If
//! the commit itself then fails, a `{"rolled_back": [seq, ...]}` line says which lines did
//! not happen. The file is reopened for every batch, so log rotation and a file that has
//! become unwritable are both noticed.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use redb::{ReadableDatabase, ReadableTable, WriteTransaction};

pub use super::audit_row::{Malformed, StoredRecord};
pub use super::audit_vocab::{Action, Outcome};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::audit_keys::{self, AuditKeys};
use super::tables::{AUDIT, AUDIT_BY_USER, AUDIT_KEYS, META, META_SCHEMA_VERSION};
use super::{Store, StoreError};
use crate::crypto::master::MasterKey;
use crate::crypto::token::hex;
use crate::ids::UserId;

/// `actor` of events without an authenticated user.
pub const ANONYMOUS: &str = "anonymous";
/// `actor` of events the server does on its own (expiry sweeps).
pub const SYSTEM: &str = "system";
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
/// Longest user agent kept; the rest is cut.
pub(super) const MAX_USER_AGENT: usize = 256;

/// Who did something, from where.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: Option<String>,
    pub ip: String,
    pub user_agent: String,
    /// A display name recorded next to `user_id` when the id alone does not say who it is
    /// (a service token's name: `token:<id>` is the actor, the name says which pipeline).
    pub actor_name: Option<String>,
}

impl Actor {
    /// The server itself.
    pub fn system() -> Actor {
        Actor {
            user_id: Some(SYSTEM.to_string()),
            ip: String::new(),
            user_agent: String::new(),
            actor_name: None,
        }
    }

    fn id(&self) -> &str {
        self.user_id.as_deref().unwrap_or(ANONYMOUS)
    }
}

/// What happened, to what, and whose it was.
#[derive(Debug, Clone)]
pub struct Event {
    pub action: Action,
    /// `secret:<id>`, `share:<id>` or `user:<id>`.
    pub target: Option<String>,
    /// The user the target belongs to, who may read this event in their trail.
    pub owner: Option<String>,
    pub outcome: Outcome,
}

impl Event {
    /// An event with outcome `ok`.
    pub fn ok(action: Action, target: Option<String>, owner: Option<&str>) -> Event {
        Event {
            action,
            target,
            owner: owner.map(str::to_string),
            outcome: Outcome::Ok,
        }
    }

    /// The same event with another outcome.
    pub fn outcome(mut self, outcome: Outcome) -> Event {
        self.outcome = outcome;
        self
    }
}

/// The newest record of the trail: the next one continues from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainHead {
    pub seq: u64,
    pub hash: String,
}

impl ChainHead {
    /// The head of an empty trail.
    pub fn genesis() -> ChainHead {
        ChainHead {
            seq: 0,
            hash: GENESIS.to_string(),
        }
    }
}

/// Everything a record's hash covers, in a fixed field order (serde keeps declaration
/// order, so the JSON encoding is canonical).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AuditBody {
    pub seq: u64,
    pub time: i64,
    pub actor: String,
    pub action: Action,
    pub target: Option<String>,
    pub owner: Option<String>,
    pub ip: String,
    pub user_agent: String,
    pub outcome: Outcome,
    pub prev_hash: String,
    /// The audit key whose HMAC links this record (see `audit_keys`); absent in records made
    /// before the chain was keyed, whose hash is a plain SHA-256. Last, and skipped when
    /// absent, so those records encode (and verify) exactly as they were written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<u32>,
    /// The actor's display name (a service token's name), after `key` and skipped when
    /// absent for the same reason: records without one encode exactly as before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor_name: Option<String>,
}

/// A stored audit record.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AuditRecord {
    #[serde(flatten)]
    pub body: AuditBody,
    pub hash: String,
}

impl AuditBody {
    /// The record's link: HMAC-SHA256 of the canonical encoding under its audit key, or, for
    /// a record made before the chain was keyed, plain SHA-256. `None` when the record names
    /// a key that is not in `keys`.
    pub fn hash_with(&self, keys: &AuditKeys) -> Option<String> {
        let canonical = serde_json::to_vec(self).unwrap_or_default();
        match self.key {
            Some(id) => keys.mac_hex(id, &[&canonical]),
            None => Some(hex(&Sha256::digest(&canonical))),
        }
    }
}

/// Cuts and cleans a client-supplied string: control characters become spaces, so a user
/// agent can never look like more than one field or line anywhere it is shown.
pub(super) fn clean(s: &str, max: usize) -> String {
    s.chars()
        .take(max)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// The JSON-lines mirror of the trail, for log shippers.
pub struct AuditLog {
    path: PathBuf,
    // Serializes writers; appends are already ordered by redb's single writer.
    lock: Mutex<()>,
}

impl AuditLog {
    /// Checks that `path` can be appended to now, so a bad path fails at start-up.
    pub fn open(path: &Path) -> Result<AuditLog, StoreError> {
        let log = AuditLog {
            path: path.to_path_buf(),
            lock: Mutex::new(()),
        };
        log.append(b"")?;
        Ok(log)
    }

    /// Appends one JSON line per record in one write; the error says why it failed.
    pub(super) fn append_records(&self, records: &[AuditRecord]) -> Result<(), String> {
        let mut lines = Vec::with_capacity(records.len() * 320);
        for record in records {
            serde_json::to_writer(&mut lines, record).map_err(|e| e.to_string())?;
            lines.push(b'\n');
        }
        self.append(&lines).map_err(|e| match e {
            StoreError::AuditUnavailable(why) => why,
            other => other.to_string(),
        })
    }

    /// Marks lines already written for `seqs` as never committed (the commit failed).
    pub(super) fn append_rollback(&self, seqs: &[u64], why: &str) -> Result<(), StoreError> {
        let mut line = serde_json::to_vec(&serde_json::json!({
            "rolled_back": seqs,
            "reason": why,
        }))
        .map_err(|e| StoreError::AuditUnavailable(e.to_string()))?;
        line.push(b'\n');
        self.append(&line)
    }

    fn append(&self, bytes: &[u8]) -> Result<(), StoreError> {
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let result = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(&self.path)
            .and_then(|mut f| f.write_all(bytes).and_then(|_| f.flush()));
        result.map_err(|e| StoreError::AuditUnavailable(format!("{}: {e}", self.path.display())))
    }
}

/// Callback run after a transaction with audit records commits (alerts hook in here).
pub type AuditObserver = Box<dyn Fn(&AuditRecord) + Send + Sync>;

/// Appends `event` inside `txn`, continuing the chain from `head` (which moves on).
pub(super) fn append(
    txn: &WriteTransaction,
    keys: &AuditKeys,
    head: &mut ChainHead,
    actor: &Actor,
    event: Event,
    now: i64,
) -> Result<AuditRecord, StoreError> {
    let seq = head.seq + 1;
    let key = keys.active_id();
    let body = AuditBody {
        seq,
        time: now,
        actor: actor.id().to_string(),
        action: event.action,
        target: event.target,
        owner: event.owner,
        ip: clean(&actor.ip, 64),
        user_agent: clean(&actor.user_agent, MAX_USER_AGENT),
        outcome: event.outcome,
        prev_hash: std::mem::take(&mut head.hash),
        key: Some(key),
        actor_name: actor.actor_name.as_deref().map(|n| clean(n, 64)),
    };
    let record = AuditRecord {
        hash: body
            .hash_with(keys)
            .ok_or_else(|| StoreError::Corrupt("no audit key".into()))?,
        body,
    };
    txn.open_table(AUDIT)?
        .insert(seq, StoredRecord::encode(&record)?.as_slice())?;
    let mut index = txn.open_table(AUDIT_BY_USER)?;
    let actor_id = record.body.actor.as_str();
    if actor_id != ANONYMOUS && actor_id != SYSTEM {
        index.insert((actor_id, seq), ())?;
    }
    if let Some(owner) = record.body.owner.as_deref().filter(|o| *o != actor_id) {
        index.insert((owner, seq), ())?;
    }
    *head = ChainHead {
        seq,
        hash: record.hash.clone(),
    };
    Ok(record)
}

impl Store {
    /// Mirrors every new record to `log`.
    pub fn attach_audit_log(&mut self, log: AuditLog) {
        self.core_mut().audit_log = Some(log);
    }

    /// Runs `observer` for every record after its transaction commits.
    pub fn observe_audit(&mut self, observer: AuditObserver) {
        self.core_mut().observers.push(observer);
    }

    /// Records an event that changes nothing else (a failed login, a 404, a page view).
    pub fn record_event(&self, actor: &Actor, event: Event, now: i64) -> Result<(), StoreError> {
        self.write(actor, now, move |tx| tx.audit(event.clone()))
    }

    /// `user`'s events (theirs, and others' on their things), newest first, at most
    /// `limit`, only those with `seq < before` when given.
    pub fn audit_for_user(
        &self,
        user: &UserId,
        limit: usize,
        before: Option<u64>,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let txn = self.core.db.begin_read()?;
        let index = txn.open_table(AUDIT_BY_USER)?;
        let audit = txn.open_table(AUDIT)?;
        let start = live_start(&txn.open_table(META)?)?;
        let upper = before.unwrap_or(u64::MAX);
        let mut out = Vec::new();
        for entry in index
            .range((user.as_str(), 0)..(user.as_str(), upper))?
            .rev()
        {
            if out.len() >= limit {
                break;
            }
            let (key, _) = entry?;
            let seq = key.value().1;
            let row = audit.get(seq)?.ok_or_else(|| {
                StoreError::Corrupt(format!("audit index points at missing record {seq}"))
            })?;
            let prev_hash = link_before(&audit, &start, seq)?;
            out.push(StoredRecord(row.value()).decode(seq, &prev_hash)?);
        }
        Ok(out)
    }
}

/// Where the live trail starts: after the archive anchor, or at genesis.
pub(super) fn live_start(
    meta: &impl ReadableTable<&'static str, &'static [u8]>,
) -> Result<ChainHead, StoreError> {
    Ok(match super::archive::read_anchor(meta)? {
        Some(a) => ChainHead {
            seq: a.seq,
            hash: a.hash,
        },
        None => ChainHead::genesis(),
    })
}

/// The hash record `seq` links to, for reading one record on its own: record `seq - 1`'s,
/// or `start`'s when that is where the live trail begins (see [`live_start`]).
pub(super) fn link_before(
    audit: &impl ReadableTable<u64, &'static [u8]>,
    start: &ChainHead,
    seq: u64,
) -> Result<String, StoreError> {
    let prev = seq.saturating_sub(1);
    if prev == start.seq {
        return Ok(start.hash.clone());
    }
    let row = audit
        .get(prev)?
        .ok_or_else(|| StoreError::Corrupt(format!("audit record {prev} is missing")))?;
    Ok(StoredRecord(row.value()).hash()?)
}

/// Result of walking the chain.
#[derive(Debug, PartialEq, Eq)]
pub enum ChainCheck {
    /// Every record links to the one before, and the trail ends where its authenticated
    /// head says (`head_checked` is false for a database from before heads existed).
    Intact {
        records: u64,
        last_hash: String,
        head_checked: bool,
    },
    Broken {
        seq: u64,
        reason: String,
    },
}

/// Walks the whole trail of the database at `db_path` (offline: the server must be
/// stopped) and reports the first record that breaks the chain, or a trail that ends before
/// its head. `master` unwraps the keys the links are made with. The file is opened
/// read-only: checking never changes a byte of it, so a backup on read-only storage can be
/// verified too. With `expect` (a head noted earlier), the trail must contain that record
/// with that hash, so a trail rolled back to an older copy does not verify either.
pub fn verify_chain(
    db_path: &Path,
    master: &MasterKey,
    expect: Option<&ChainHead>,
) -> Result<ChainCheck, StoreError> {
    verify_chain_after(db_path, master, expect, &[])
}

/// [`verify_chain`] with the archives of the trail's oldest records (oldest first; see
/// `archive`): they are checked first, and the live trail must continue the last of them.
pub(super) fn verify_chain_after(
    db_path: &Path,
    master: &MasterKey,
    expect: Option<&ChainHead>,
    archives: &[PathBuf],
) -> Result<ChainCheck, StoreError> {
    super::refuse_pending_journal(db_path)?;
    let db = redb::ReadOnlyDatabase::open(db_path).map_err(|e| match e {
        redb::DatabaseError::DatabaseAlreadyOpen => StoreError::AlreadyInUse(db_path.to_path_buf()),
        source => StoreError::DbFile {
            path: db_path.to_path_buf(),
            source,
        },
    })?;
    let txn = db.begin_read()?;
    let tag = match txn.open_table(META) {
        Ok(meta) => audit_keys::read_tag(&meta)?,
        Err(_) => None,
    };
    let keys = match txn.open_table(AUDIT_KEYS) {
        Ok(table) => audit_keys::unwrap_all(&table, tag.as_deref(), master)?,
        Err(redb::TableError::TableDoesNotExist(_)) => AuditKeys::none(),
        Err(e) => return Err(e.into()),
    };
    if archives.is_empty() {
        return check_chain(&txn, &keys, expect);
    }
    let walked = match super::archive::walk_archives(archives, &keys, expect)? {
        Ok(walked) => walked,
        Err(broken) => return Ok(broken),
    };
    let expect = expect.filter(|_| !walked.expect_met);
    check_chain_after(&txn, &keys, expect, Some(&walked.last))
}

impl Store {
    /// Walks the trail of this open store (see [`verify_chain`]).
    pub fn check_chain(&self) -> Result<ChainCheck, StoreError> {
        check_chain(&self.core.db.begin_read()?, &self.core.audit_keys, None)
    }
}

fn check_chain(
    txn: &redb::ReadTransaction,
    keys: &AuditKeys,
    expect: Option<&ChainHead>,
) -> Result<ChainCheck, StoreError> {
    check_chain_after(txn, keys, expect, None)
}

/// [`check_chain`], for a live trail whose oldest records were archived (see `archive`):
/// the walk starts after the authenticated anchor, and `archived`, when given (the last
/// record of the archives just checked), must be that anchor.
pub(super) fn check_chain_after(
    txn: &redb::ReadTransaction,
    keys: &AuditKeys,
    expect: Option<&ChainHead>,
    archived: Option<&ChainHead>,
) -> Result<ChainCheck, StoreError> {
    let broken = |seq: u64, reason: String| Ok(ChainCheck::Broken { seq, reason });
    let (version, head, anchor) = match txn.open_table(META) {
        Ok(meta) => {
            let version = match meta.get(META_SCHEMA_VERSION)? {
                Some(v) => super::schema::decode_u32(v.value())?,
                None => 0,
            };
            let anchor = super::archive::read_anchor(&meta)?;
            (version, audit_keys::read_head(&meta)?, anchor)
        }
        Err(redb::TableError::TableDoesNotExist(_)) => (0, None, None),
        Err(e) => return Err(e.into()),
    };
    let start = match &anchor {
        Some(a) if !a.is_authentic(keys) => {
            return broken(a.seq, "the trail's archive anchor was altered".into());
        }
        Some(a) => ChainHead {
            seq: a.seq,
            hash: a.hash.clone(),
        },
        None => ChainHead::genesis(),
    };
    if let Some(last) = archived.filter(|last| **last != start) {
        return broken(
            last.seq + 1,
            format!(
                "the live trail does not continue the archive (archive ends at record {}, the trail's anchor is record {})",
                last.seq, start.seq
            ),
        );
    }
    let head_expected = version >= super::schema::AUDIT_HEAD_SINCE;
    if head_expected {
        match &head {
            None => {
                return broken(
                    0,
                    "the trail's authenticated head is missing (deleted while the server was stopped?)"
                        .into(),
                );
            }
            Some(h) if !h.is_authentic(keys) => {
                return broken(h.seq, "the trail's authenticated head was altered".into());
            }
            Some(_) => {}
        }
    }
    let audit = match txn.open_table(AUDIT) {
        Ok(t) => Some(t),
        Err(redb::TableError::TableDoesNotExist(_)) => None,
        Err(e) => return Err(e.into()),
    };
    let mut expected_seq = start.seq + 1;
    let mut prev_hash = start.hash.clone();
    let mut expectation_met = expect.is_none_or(|e| *e == start);
    let mut keyed = false;
    for entry in audit.iter().flat_map(|t| t.iter()).flatten() {
        let (key, value) = entry?;
        let seq = key.value();
        if seq != expected_seq {
            return broken(
                expected_seq,
                format!("record {expected_seq} is missing (next is {seq})"),
            );
        }
        let record = match check_link(value.value(), seq, &prev_hash, &mut keyed, keys) {
            Ok(record) => record,
            Err(reason) => return broken(seq, reason),
        };
        if let Some(e) = expect.filter(|e| e.seq == seq) {
            if e.hash != record.hash {
                return broken(
                    seq,
                    format!(
                        "record {seq} is not the one expected (hash {})",
                        record.hash
                    ),
                );
            }
            expectation_met = true;
        }
        prev_hash = record.hash;
        expected_seq += 1;
    }
    let last = expected_seq - 1;
    if let Some(h) = head
        .as_ref()
        .filter(|h| head_expected && (h.seq != last || h.hash != prev_hash))
    {
        {
            let what = if audit.is_none() {
                "the audit table is missing".to_string()
            } else if h.seq > last {
                format!(
                    "the trail ends at record {last}: records {}..={} were deleted",
                    last + 1,
                    h.seq
                )
            } else if h.seq == last {
                return broken(
                    last,
                    "the newest record is not the trail's authenticated head (records were rewritten)".into(),
                );
            } else {
                format!(
                    "the trail ends at record {last}, not at its authenticated head {}",
                    h.seq
                )
            };
            return broken(last + 1, what);
        }
    }
    if let Some(e) = expect.filter(|_| !expectation_met) {
        return broken(
            e.seq,
            format!(
                "the expected record {} is not in the trail (it ends at {last})",
                e.seq
            ),
        );
    }
    Ok(ChainCheck::Intact {
        records: last,
        last_hash: prev_hash,
        head_checked: head_expected,
    })
}

/// Checks the record stored as `bytes` under `seq` (a row, or an archive's JSON line): that
/// it says it is `seq`, links to `prev_hash` (both implied for a compact row, whose hash
/// then covers them), stays keyed once the chain is (`keyed` carries that along), and that its
/// keyed hash is right. The one link check, for the live trail and archives alike.
pub(super) fn check_link(
    bytes: &[u8],
    seq: u64,
    prev_hash: &str,
    keyed: &mut bool,
    keys: &AuditKeys,
) -> Result<AuditRecord, String> {
    let record = match StoredRecord(bytes).decode(seq, prev_hash) {
        Ok(record) => record,
        Err(why) => return Err(format!("record is not readable ({why})")),
    };
    if record.body.seq != seq {
        return Err(format!("record claims sequence number {}", record.body.seq));
    }
    if record.body.prev_hash != prev_hash {
        return Err("prev_hash does not match the previous record's hash".into());
    }
    // Once the chain is keyed it stays keyed: an unkeyed record after a keyed one is a
    // forgery relinked with plain SHA-256 by someone without the key.
    if *keyed && record.body.key.is_none() {
        return Err("record is not keyed, though earlier ones are (record altered)".into());
    }
    *keyed |= record.body.key.is_some();
    let Some(computed) = record.body.hash_with(keys) else {
        return Err("record names an audit key this database does not have".into());
    };
    let same: bool =
        subtle::ConstantTimeEq::ct_eq(computed.as_bytes(), record.hash.as_bytes()).into();
    if !same {
        return Err("hash does not match the record's contents (record altered)".into());
    }
    Ok(record)
}

#[cfg(test)]
mod tests {
    use redb::ReadableDatabase;

    use super::*;
    use crate::store::tables::META;
    use crate::store::test_support::actor;

    /// A database as the previous release (schema 3) left it: an unkeyed SHA-256 chain, no
    /// audit keys, no head. It opens, keeps verifying, and is keyed from then on.
    #[test]
    fn a_trail_from_the_previous_release_is_adopted_and_keyed_from_then_on() {
        let dir = tempfile::tempdir().unwrap();
        let (db_path, key) = (dir.path().join("db.redb"), dir.path().join("master.key"));
        {
            let store = Store::open(&db_path, &key).unwrap();
            for i in 0..3 {
                let target = Some(format!("secret:{i}"));
                let event = Event::ok(Action::SecretRead, target, Some("u1"));
                store.record_event(&actor(), event, 10).unwrap();
            }
            // Rewrite it the way schema 3 stored it.
            let txn = store.core.db.begin_write().unwrap();
            {
                let mut audit = txn.open_table(AUDIT).unwrap();
                let mut prev = GENESIS.to_string();
                for seq in 1..=3u64 {
                    let row = audit.get(seq).unwrap().unwrap().value().to_vec();
                    let mut rec = StoredRecord(&row).decode(seq, &prev).unwrap();
                    rec.body.key = None;
                    rec.body.prev_hash = prev;
                    rec.hash = rec.body.hash_with(&AuditKeys::none()).unwrap();
                    prev = rec.hash.clone();
                    audit
                        .insert(seq, serde_json::to_vec(&rec).unwrap().as_slice())
                        .unwrap();
                }
                let mut meta = txn.open_table(META).unwrap();
                meta.remove(crate::store::tables::META_AUDIT_HEAD).unwrap();
                meta.insert(META_SCHEMA_VERSION, 3u32.to_be_bytes().as_slice())
                    .unwrap();
            }
            txn.delete_table(AUDIT_KEYS).unwrap();
            txn.commit().unwrap();
        }
        let master = MasterKey::load(&key, None).unwrap();
        // The old file verifies as it did, without a head to check.
        assert!(matches!(
            verify_chain(&db_path, &master, None).unwrap(),
            ChainCheck::Intact {
                records: 3,
                head_checked: false,
                ..
            }
        ));
        let store = Store::open(&db_path, &key).unwrap();
        let event = Event::ok(Action::SecretRead, None, Some("u1"));
        store.record_event(&actor(), event, 20).unwrap();
        let newest = store
            .audit_for_user(&crate::ids::UserId::new("u1"), 1, None)
            .unwrap();
        assert_eq!(newest[0].body.key, Some(1), "new records are keyed");
        drop(store);
        assert!(matches!(
            verify_chain(&db_path, &master, None).unwrap(),
            ChainCheck::Intact {
                records: 4,
                head_checked: true,
                ..
            }
        ));
        // Stored records still decode and encode byte for byte (no new fields on old ones).
        let db = redb::ReadOnlyDatabase::open(&db_path).unwrap();
        let txn = db.begin_read().unwrap();
        let raw = txn
            .open_table(AUDIT)
            .unwrap()
            .get(1)
            .unwrap()
            .unwrap()
            .value()
            .to_vec();
        let rec: AuditRecord = serde_json::from_slice(&raw).unwrap();
        assert_eq!(serde_json::to_vec(&rec).unwrap(), raw);
    }
}
