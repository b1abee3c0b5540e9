//! The audit trail: an append-only, hash-chained table of security events.
//!
//! Each record is appended in the same write transaction as the change it describes (for
//! reads, before the value is returned), so an event and its effect commit together or not
//! at all. Record n stores the SHA-256 of record n-1, and its own hash covers every field,
//! so editing, inserting or deleting any record breaks the chain at that point
//! (`verify_chain`). Records hold ids, addresses and outcomes: never a value, password or
//! token.
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

pub use super::audit_vocab::{Action, Outcome};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::tables::{AUDIT, AUDIT_BY_USER};
use super::{Store, StoreError};

/// `actor` of events without an authenticated user.
pub const ANONYMOUS: &str = "anonymous";
/// `actor` of events the server does on its own (expiry sweeps).
pub const SYSTEM: &str = "system";
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
/// Longest user agent kept; the rest is cut.
const MAX_USER_AGENT: usize = 256;

/// Who did something, from where.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: Option<String>,
    pub ip: String,
    pub user_agent: String,
}

impl Actor {
    /// The server itself.
    pub fn system() -> Actor {
        Actor {
            user_id: Some(SYSTEM.to_string()),
            ip: String::new(),
            user_agent: String::new(),
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
}

/// A stored audit record.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AuditRecord {
    #[serde(flatten)]
    pub body: AuditBody,
    pub hash: String,
}

impl AuditBody {
    /// SHA-256 (hex) of the canonical encoding.
    pub fn hash(&self) -> String {
        let canonical = serde_json::to_vec(self).unwrap_or_default();
        hex(&Sha256::digest(&canonical))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Cuts and cleans a client-supplied string: control characters become spaces, so a user
/// agent can never look like more than one field or line anywhere it is shown.
fn clean(s: &str, max: usize) -> String {
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
        self.append(&lines).map_err(|e| e.to_string())
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
    head: &mut ChainHead,
    actor: &Actor,
    event: Event,
    now: i64,
) -> Result<AuditRecord, StoreError> {
    let seq = head.seq + 1;
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
    };
    let record = AuditRecord {
        hash: body.hash(),
        body,
    };
    txn.open_table(AUDIT)?
        .insert(seq, Store::encode(&record)?.as_slice())?;
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
        user: &str,
        limit: usize,
        before: Option<u64>,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let txn = self.core.db.begin_read()?;
        let index = txn.open_table(AUDIT_BY_USER)?;
        let audit = txn.open_table(AUDIT)?;
        let upper = before.unwrap_or(u64::MAX);
        let mut out = Vec::new();
        for entry in index.range((user, 0)..(user, upper))?.rev() {
            if out.len() >= limit {
                break;
            }
            let (key, _) = entry?;
            let seq = key.value().1;
            let row = audit.get(seq)?.ok_or_else(|| {
                StoreError::Corrupt(format!("audit index points at missing record {seq}"))
            })?;
            out.push(Self::decode(row.value(), "audit")?);
        }
        Ok(out)
    }
}

/// Result of walking the chain.
#[derive(Debug, PartialEq, Eq)]
pub enum ChainCheck {
    Intact { records: u64, last_hash: String },
    Broken { seq: u64, reason: String },
}

/// Walks the whole trail of the database at `db_path` (offline: the server must be
/// stopped) and reports the first record that breaks the chain. The file is opened
/// read-only: checking never changes a byte of it, so a backup on read-only storage can be
/// verified too.
pub fn verify_chain(db_path: &Path) -> Result<ChainCheck, StoreError> {
    let db = redb::ReadOnlyDatabase::open(db_path).map_err(|e| match e {
        redb::DatabaseError::DatabaseAlreadyOpen => StoreError::AlreadyInUse(db_path.to_path_buf()),
        source => StoreError::DbFile {
            path: db_path.to_path_buf(),
            source,
        },
    })?;
    check_chain(&db.begin_read()?)
}

impl Store {
    /// Walks the trail of this open store (see [`verify_chain`]).
    pub fn check_chain(&self) -> Result<ChainCheck, StoreError> {
        check_chain(&self.core.db.begin_read()?)
    }
}

fn check_chain(txn: &redb::ReadTransaction) -> Result<ChainCheck, StoreError> {
    let audit = match txn.open_table(AUDIT) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => {
            return Ok(ChainCheck::Intact {
                records: 0,
                last_hash: GENESIS.to_string(),
            });
        }
        Err(e) => return Err(e.into()),
    };
    let mut expected_seq = 1u64;
    let mut prev_hash = GENESIS.to_string();
    for entry in audit.iter()? {
        let (key, value) = entry?;
        let seq = key.value();
        let broken = |reason: String| Ok(ChainCheck::Broken { seq, reason });
        if seq != expected_seq {
            return Ok(ChainCheck::Broken {
                seq: expected_seq,
                reason: format!("record {expected_seq} is missing (next is {seq})"),
            });
        }
        let Ok(record) = serde_json::from_slice::<AuditRecord>(value.value()) else {
            return broken("record is not valid JSON".into());
        };
        if record.body.seq != seq {
            return broken(format!("record claims sequence number {}", record.body.seq));
        }
        if record.body.prev_hash != prev_hash {
            return broken("prev_hash does not match the previous record's hash".into());
        }
        if record.body.hash() != record.hash {
            return broken("hash does not match the record's contents (record altered)".into());
        }
        prev_hash = record.hash;
        expected_seq += 1;
    }
    Ok(ChainCheck::Intact {
        records: expected_seq - 1,
        last_hash: prev_hash,
    })
}
