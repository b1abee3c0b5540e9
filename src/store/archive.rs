//! Audit retention: `admin audit archive` moves the oldest records of the trail out of the
//! database into a self-contained archive file, and `audit verify --archive` checks the
//! archives and the live trail end to end.
//!
//! An archive is JSON lines: a header (format, range, the hash the first record links to,
//! the audit key ids), then every record, hash included: a JSON row exactly as it was
//! stored, a compact one (schema 6 on) as the JSON of the same record, which its hash
//! covers just the same. It is
//! useless for forgery: the links are HMACs under audit keys that stay wrapped in the
//! database, so checking it needs the database and the master key, and so would making a
//! record that checks.
//!
//! The records are deleted in the same transaction that writes an ANCHOR to `META`: the
//! (seq, hash) of the last archived record, MAC'd under an audit key with its own domain
//! label (a head cannot be replayed as an anchor). The live trail's first record links to
//! it, so `check_chain` starts from the anchor; deleting records at the front of the live
//! trail, or replacing the anchor, breaks the check just as before. The newest record is
//! never archived, so new records always continue from a record in the table. The archive
//! file is durable before anything is deleted: nothing is lost if the transaction fails.

use std::collections::BTreeSet;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use redb::ReadableTable;
use serde::{Deserialize, Serialize};

use super::audit::{self, Action, Actor, AuditRecord, ChainHead, Event, StoredRecord};
use super::audit_keys::AuditKeys;
use super::tables::{AUDIT, AUDIT_BY_USER, META, META_AUDIT_ANCHOR};
use super::{Store, StoreError};

/// Domain separation for an anchor's MAC (a head uses another label).
const ANCHOR_LABEL: &[u8] = b"secretctl/audit-anchor/v1\0";
/// The header's `format`.
const FORMAT: &str = "secretctl-audit-archive/1";

/// The last archived record, MAC'd under an audit key.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SignedAnchor {
    pub seq: u64,
    pub hash: String,
    pub key: u32,
    pub mac: String,
}

impl SignedAnchor {
    fn message(seq: u64, hash: &str) -> [Vec<u8>; 3] {
        [
            ANCHOR_LABEL.to_vec(),
            seq.to_be_bytes().to_vec(),
            hash.as_bytes().to_vec(),
        ]
    }

    fn sign(keys: &AuditKeys, seq: u64, hash: &str) -> Result<SignedAnchor, StoreError> {
        let key = keys.active_id();
        let [a, b, c] = Self::message(seq, hash);
        let mac = keys
            .mac_hex(key, &[&a, &b, &c])
            .ok_or_else(|| StoreError::Corrupt("no audit key".into()))?;
        Ok(SignedAnchor {
            seq,
            hash: hash.to_string(),
            key,
            mac,
        })
    }

    /// Whether the MAC is right (compared in constant time).
    pub fn is_authentic(&self, keys: &AuditKeys) -> bool {
        let [a, b, c] = Self::message(self.seq, &self.hash);
        keys.mac_hex(self.key, &[&a, &b, &c]).is_some_and(|m| {
            subtle::ConstantTimeEq::ct_eq(m.as_bytes(), self.mac.as_bytes()).into()
        })
    }
}

/// The anchor in `meta`, if records were ever archived.
pub fn read_anchor(
    meta: &impl ReadableTable<&'static str, &'static [u8]>,
) -> Result<Option<SignedAnchor>, StoreError> {
    match meta.get(META_AUDIT_ANCHOR)? {
        Some(row) => Ok(Some(Store::decode(row.value(), "audit anchor")?)),
        None => Ok(None),
    }
}

/// A record decoded, and its archive line (see `StoredRecord::json`).
type Archived = (AuditRecord, Vec<u8>);

/// The first line of an archive file.
#[derive(Debug, Serialize, Deserialize)]
struct Header {
    format: String,
    first_seq: u64,
    last_seq: u64,
    /// The hash the first record links to (the previous archive's last record, or genesis).
    prev_hash: String,
    /// The audit keys the records are linked under (ids only: the keys stay wrapped in the
    /// database).
    keys: Vec<u32>,
    /// Records older than this (unix seconds) were archived.
    before: i64,
}

/// What `archive_audit` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveReport {
    /// Records moved to the archive (0: nothing was older, no file written).
    pub records: u64,
    pub first_seq: u64,
    pub last_seq: u64,
    /// The database file's size before and after (compacted).
    pub bytes_before: u64,
    pub bytes_after: u64,
    /// Set when the records moved but compacting the file afterwards failed.
    pub compaction_warning: Option<String>,
}

impl Store {
    /// Moves every record older than `before` (unix seconds), from the oldest up to the first
    /// that is not, into a new archive file `out` (0600; an existing file is refused), then
    /// deletes them, anchors the live trail to the last of them and records the archiving
    /// itself, in one transaction; then compacts the file. Needs the store to itself (an
    /// offline command). The newest record always stays.
    pub fn archive_audit(
        &mut self,
        before: i64,
        out: &Path,
        now: i64,
    ) -> Result<ArchiveReport, StoreError> {
        let bytes_before = self.file_size()?;
        let (start, records) = self.archivable(before)?;
        let (Some(first), Some(last)) = (records.first(), records.last()) else {
            return Ok(ArchiveReport {
                records: 0,
                first_seq: 0,
                last_seq: 0,
                bytes_before,
                bytes_after: bytes_before,
                compaction_warning: None,
            });
        };
        let (first_seq, last_seq) = (first.0.body.seq, last.0.body.seq);
        let last_hash = last.0.hash.clone();
        let keys: BTreeSet<u32> = records.iter().filter_map(|(r, _)| r.body.key).collect();
        let header = Header {
            format: FORMAT.into(),
            first_seq,
            last_seq,
            prev_hash: start.hash,
            keys: keys.into_iter().collect(),
            before,
        };
        write_archive(out, &header, &records)?;
        let target = Some(format!("audit:{first_seq}-{last_seq}"));
        let moved = self.write_exclusive(&Actor::system(), now, |_, tx| {
            let mut audit = tx.txn.open_table(AUDIT)?;
            for seq in first_seq..=last_seq {
                audit.remove(seq)?;
            }
            drop(audit);
            tx.txn
                .open_table(AUDIT_BY_USER)?
                .retain(|(_, seq), ()| seq > last_seq)?;
            let anchor = SignedAnchor::sign(&tx.core.audit_keys, last_seq, &last_hash)?;
            tx.txn
                .open_table(META)?
                .insert(META_AUDIT_ANCHOR, Store::encode(&anchor)?.as_slice())?;
            tx.audit(Event::ok(Action::AdminAuditArchive, target, None))
        });
        if let Err(e) = moved {
            // Nothing was deleted: the file would only duplicate records still live.
            let _ = std::fs::remove_file(out);
            return Err(e);
        }
        // redb is copy-on-write: the deleted records' pages are free but the file keeps its
        // size until compacted.
        let compaction_warning = match self.core_mut().db.compact() {
            Ok(_) => None,
            Err(e) => Some(format!(
                "the records were archived, but compacting the database failed ({e}); the space is reused by later writes"
            )),
        };
        Ok(ArchiveReport {
            records: last_seq - first_seq + 1,
            first_seq,
            last_seq,
            bytes_before,
            bytes_after: self.file_size()?,
            compaction_warning,
        })
    }

    /// The chain head the live trail starts after, and the records (decoded, and as archive
    /// lines) that `archive_audit(before)` would move.
    fn archivable(&self, before: i64) -> Result<(ChainHead, Vec<Archived>), StoreError> {
        let txn = self.core.db.begin_read()?;
        let start = audit::live_start(&txn.open_table(META)?)?;
        let audit = txn.open_table(AUDIT)?;
        let newest = audit.last()?.map(|(k, _)| k.value());
        let mut records = Vec::new();
        let mut prev_hash = start.hash.clone();
        for entry in audit.iter()? {
            let (seq, row) = entry?;
            if Some(seq.value()) == newest {
                break;
            }
            let stored = StoredRecord(row.value());
            let record = stored.decode(seq.value(), &prev_hash)?;
            if record.body.time >= before {
                break;
            }
            prev_hash = record.hash.clone();
            let line = stored.json(&record)?;
            records.push((record, line));
        }
        Ok((start, records))
    }

    fn file_size(&self) -> Result<u64, StoreError> {
        let path = self.core.db.path();
        std::fs::metadata(path)
            .map(|m| m.len())
            .map_err(|source| StoreError::FileMode {
                path: path.to_path_buf(),
                source,
            })
    }
}

/// Writes the archive: a new 0600 file, fsync'd with its directory before anything is
/// deleted from the database. A partial file is removed.
fn write_archive(out: &Path, header: &Header, records: &[Archived]) -> Result<(), StoreError> {
    use std::os::unix::fs::OpenOptionsExt;
    let err = |source| StoreError::Archive {
        path: out.to_path_buf(),
        source,
    };
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(out)
        .map_err(err)?;
    let written = (|| {
        let mut w = std::io::BufWriter::new(&file);
        serde_json::to_writer(&mut w, header)?;
        w.write_all(b"\n")?;
        for (_, line) in records {
            w.write_all(line)?;
            w.write_all(b"\n")?;
        }
        w.flush()?;
        drop(w);
        file.sync_all()?;
        let dir = out.parent().filter(|p| !p.as_os_str().is_empty());
        std::fs::File::open(dir.unwrap_or(Path::new(".")))?.sync_all()
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(out);
        return Err(err(e));
    }
    Ok(())
}

/// The result of walking archives: the last record they hold, and whether `expect` was
/// met among them.
pub(super) struct Walked {
    pub last: ChainHead,
    pub expect_met: bool,
}

/// Checks `archives` (oldest first) as one chain from the first record of the trail: every
/// link under `keys`, no gap between files. `Err` is the first break, as a `ChainCheck`.
pub(super) fn walk_archives(
    archives: &[PathBuf],
    keys: &AuditKeys,
    expect: Option<&ChainHead>,
) -> Result<Result<Walked, audit::ChainCheck>, StoreError> {
    let broken = |seq: u64, reason: String| Ok(Err(audit::ChainCheck::Broken { seq, reason }));
    let mut at = ChainHead::genesis();
    let mut keyed = false;
    let mut expect_met = false;
    for path in archives {
        let name = path.display();
        let file = std::fs::File::open(path).map_err(|source| StoreError::Archive {
            path: path.clone(),
            source,
        })?;
        let mut lines = std::io::BufReader::new(file).lines();
        let header: Header = match lines.next() {
            Some(Ok(line)) => match serde_json::from_str(&line) {
                Ok(h) => h,
                Err(_) => return broken(at.seq + 1, format!("{name} is not an audit archive")),
            },
            _ => return broken(at.seq + 1, format!("{name} is empty")),
        };
        if header.format != FORMAT {
            return broken(
                at.seq + 1,
                format!("{name}: unknown archive format {:?}", header.format),
            );
        }
        if header.first_seq != at.seq + 1 || header.prev_hash != at.hash {
            return broken(
                at.seq + 1,
                format!(
                    "{name} starts at record {}, not at {} (archives missing or out of order?)",
                    header.first_seq,
                    at.seq + 1
                ),
            );
        }
        for line in lines {
            let seq = at.seq + 1;
            let line = line.map_err(|source| StoreError::Archive {
                path: path.clone(),
                source,
            })?;
            let record = match audit::check_link(line.as_bytes(), seq, &at.hash, &mut keyed, keys) {
                Ok(r) => r,
                Err(reason) => return broken(seq, format!("{name}: {reason}")),
            };
            if let Some(e) = expect.filter(|e| e.seq == seq) {
                if e.hash != record.hash {
                    return broken(seq, format!("record {seq} is not the one expected"));
                }
                expect_met = true;
            }
            at = ChainHead {
                seq,
                hash: record.hash,
            };
        }
        if at.seq != header.last_seq {
            return broken(
                at.seq + 1,
                format!(
                    "{name} ends at record {}, its header says {} (file cut?)",
                    at.seq, header.last_seq
                ),
            );
        }
    }
    Ok(Ok(Walked {
        last: at,
        expect_met,
    }))
}

/// Opens `db_path` read-only and checks `archives` then the live trail (see
/// [`audit::verify_chain`]).
pub fn verify_with_archives(
    db_path: &Path,
    master: &crate::crypto::master::MasterKey,
    expect: Option<&ChainHead>,
    archives: &[PathBuf],
) -> Result<audit::ChainCheck, StoreError> {
    audit::verify_chain_after(db_path, master, expect, archives)
}
