//! The stored form of an audit record: the bytes of one `AUDIT` row.
//!
//! Records made before schema 6 are the JSON of `AuditRecord` (they start with `{`) and
//! stay as they are. New records use a compact binary encoding that starts with the format
//! byte [`COMPACT`] (never the first byte of JSON), about a quarter of the size:
//!
//! ```text
//! 0x01  flags  hash  time  actor  action  [target]  [owner]  ip  user_agent  outcome  [key]  [actor_name]
//! ```
//!
//! - `flags`: which optional fields follow (`F_*`); an unknown bit is refused.
//! - `seq` and `prev_hash` are not stored: `seq` is the row's key and `prev_hash` is the hash
//!   of the record before it (or the archive anchor's, or genesis), which every reader walks
//!   or looks up and passes to [`StoredRecord::decode`]. Moving a record to another key or
//!   after another record changes the body its hash must cover, so it fails its HMAC just as
//!   an edited JSON record does.
//! - `hash`: 32 raw bytes (`F_HASH_TEXT` marks one that is not 64 lowercase hex characters,
//!   stored as text).
//! - text (`ip`, `user_agent`, `actor_name` and the rest of a name): a varint
//!   `len << 2 | kind`, then `len` bytes: UTF-8 as is; lowercase hex packed two characters
//!   a byte (ids, hashes); an IPv4 or IPv6 address whose display is exactly the text.
//!   Any other text is kept as UTF-8: nothing is ever altered, only packed when unpacking
//!   gives back the same characters.
//! - a name (`actor`, `target`, `owner`): one byte for a known prefix (`secret:`, `share:`,
//!   `user:`, `team:`, `token:`, or none), then the rest as text. An owner that is the actor
//!   is a flag, not a second copy.
//! - `time`: zigzag varint; `key`: varint; `action`, `outcome`: the one-byte codes of
//!   `audit_vocab` (an unknown code is refused).
//!
//! The hash is still computed over the canonical JSON of the full `AuditBody`
//! (`AuditBody::hash_with`), so verification, archives (JSON lines), the API and the
//! `--audit-log` mirror do not depend on how a row is stored. Decoding never trusts a
//! length: every read is bounds-checked against what is left of the row, and text is capped
//! at [`MAX_TEXT`] bytes.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::StoreError;
use super::audit::{AuditBody, AuditRecord};
use super::audit_vocab::{Action, Outcome};

/// First byte of a compact record. JSON rows start with `{`.
pub const COMPACT: u8 = 0x01;
/// Longest text field, in stored bytes, a compact record may hold (user agents are cut at
/// 256 characters; ids and targets are far shorter).
pub const MAX_TEXT: usize = 16 * 1024;

const F_TARGET: u8 = 1;
const F_OWNER: u8 = 1 << 1;
const F_OWNER_IS_ACTOR: u8 = 1 << 2;
const F_KEY: u8 = 1 << 3;
const F_ACTOR_NAME: u8 = 1 << 4;
/// The hash is text, not the usual 32 raw bytes of a 64-hex-character HMAC.
const F_HASH_TEXT: u8 = 1 << 5;
const F_ALL: u8 = F_TARGET | F_OWNER | F_OWNER_IS_ACTOR | F_KEY | F_ACTOR_NAME | F_HASH_TEXT;
/// Bytes of a raw hash.
const HASH_BYTES: usize = 32;

const KIND_UTF8: u64 = 0;
const KIND_HEX: u64 = 1;
const KIND_IPV4: u64 = 2;
const KIND_IPV6: u64 = 3;

/// Prefixes of names, by stored code (index + 1; 0 is "no prefix"). Append only.
const PREFIXES: [&str; 5] = ["secret:", "share:", "user:", "team:", "token:"];

/// Why stored bytes are not an audit record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Malformed(pub &'static str);

impl std::fmt::Display for Malformed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl From<Malformed> for StoreError {
    fn from(m: Malformed) -> StoreError {
        StoreError::Corrupt(format!("audit row ({m})"))
    }
}

/// One `AUDIT` row as stored, JSON or compact. The only way rows are read or written.
#[derive(Debug, Clone, Copy)]
pub struct StoredRecord<'a>(pub &'a [u8]);

impl<'a> StoredRecord<'a> {
    /// The compact encoding of `record` (its `seq` and `prev_hash` are left out; see the
    /// module docs). Fails only for a text field longer than [`MAX_TEXT`].
    pub fn encode(record: &AuditRecord) -> Result<Vec<u8>, StoreError> {
        let b = &record.body;
        let mut out = Vec::with_capacity(128 + b.user_agent.len());
        let owner_is_actor = b.owner.as_deref() == Some(b.actor.as_str());
        let mut flags = 0;
        for (set, flag) in [
            (b.target.is_some(), F_TARGET),
            (b.owner.is_some() && !owner_is_actor, F_OWNER),
            (owner_is_actor, F_OWNER_IS_ACTOR),
            (b.key.is_some(), F_KEY),
            (b.actor_name.is_some(), F_ACTOR_NAME),
            (raw_hash(&record.hash).is_none(), F_HASH_TEXT),
        ] {
            if set {
                flags |= flag;
            }
        }
        out.extend([COMPACT, flags]);
        match raw_hash(&record.hash) {
            Some(raw) => out.extend(raw),
            None => put_text(&mut out, &record.hash)?,
        }
        put_varint(&mut out, zigzag(b.time));
        put_name(&mut out, &b.actor)?;
        out.push(b.action.code());
        if let Some(target) = &b.target {
            put_name(&mut out, target)?;
        }
        if let Some(owner) = b.owner.as_deref().filter(|_| !owner_is_actor) {
            put_name(&mut out, owner)?;
        }
        put_text(&mut out, &b.ip)?;
        put_text(&mut out, &b.user_agent)?;
        out.push(b.outcome.code());
        if let Some(key) = b.key {
            put_varint(&mut out, key.into());
        }
        if let Some(name) = &b.actor_name {
            put_text(&mut out, name)?;
        }
        Ok(out)
    }

    /// Whether the row is in the compact encoding (else it is JSON from before schema 6).
    pub fn is_compact(&self) -> bool {
        self.0.first() == Some(&COMPACT)
    }

    /// The record stored under `seq`, whose predecessor's hash is `prev_hash`. A JSON row
    /// carries its own `seq` and `prev_hash` (the arguments are not used, and a chain check
    /// compares them); a compact row gets them from the arguments.
    pub fn decode(&self, seq: u64, prev_hash: &str) -> Result<AuditRecord, Malformed> {
        if !self.is_compact() {
            return serde_json::from_slice(self.0).map_err(|_| Malformed("not valid JSON"));
        }
        let mut r = Reader(&self.0[1..]);
        let flags = r.byte()?;
        if flags & !F_ALL != 0 || flags & F_OWNER != 0 && flags & F_OWNER_IS_ACTOR != 0 {
            return Err(Malformed("unknown flags"));
        }
        let hash = r.hash(flags)?;
        let time = unzigzag(r.varint()?);
        let actor = r.name()?;
        let action = Action::from_code(r.byte()?).ok_or(Malformed("unknown action code"))?;
        let target = (flags & F_TARGET != 0).then(|| r.name()).transpose()?;
        let owner = if flags & F_OWNER_IS_ACTOR != 0 {
            Some(actor.clone())
        } else {
            (flags & F_OWNER != 0).then(|| r.name()).transpose()?
        };
        let ip = r.text()?;
        let user_agent = r.text()?;
        let outcome = Outcome::from_code(r.byte()?).ok_or(Malformed("unknown outcome code"))?;
        let key = (flags & F_KEY != 0)
            .then(|| u32::try_from(r.varint()?).map_err(|_| Malformed("key id out of range")))
            .transpose()?;
        let actor_name = (flags & F_ACTOR_NAME != 0).then(|| r.text()).transpose()?;
        if !r.0.is_empty() {
            return Err(Malformed("trailing bytes"));
        }
        Ok(AuditRecord {
            body: AuditBody {
                seq,
                time,
                actor,
                action,
                target,
                owner,
                ip,
                user_agent,
                outcome,
                prev_hash: prev_hash.to_string(),
                key,
                actor_name,
            },
            hash,
        })
    }

    /// The record's own hash (its link), without decoding the rest of a compact row.
    pub fn hash(&self) -> Result<String, Malformed> {
        if !self.is_compact() {
            return self.decode(0, "").map(|r| r.hash);
        }
        let mut r = Reader(&self.0[1..]);
        let flags = r.byte()?;
        r.hash(flags)
    }

    /// The record as one JSON line of an archive: a JSON row verbatim (byte for byte as it
    /// was stored and hashed), a compact one as the JSON of `decoded`.
    pub fn json(&self, decoded: &AuditRecord) -> Result<Vec<u8>, StoreError> {
        match self.is_compact() {
            false => Ok(self.0.to_vec()),
            true => serde_json::to_vec(decoded).map_err(|e| StoreError::Corrupt(e.to_string())),
        }
    }
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn is_lower_hex(s: &str) -> bool {
    !s.is_empty()
        && s.len().is_multiple_of(2)
        && s.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
}

fn put_text(out: &mut Vec<u8>, s: &str) -> Result<(), StoreError> {
    let (kind, bytes): (u64, Vec<u8>) = if is_lower_hex(s) {
        (KIND_HEX, pack_hex(s))
    } else if let Some(ip) = s.parse::<Ipv4Addr>().ok().filter(|ip| ip.to_string() == s) {
        (KIND_IPV4, ip.octets().to_vec())
    } else if let Some(ip) = s.parse::<Ipv6Addr>().ok().filter(|ip| ip.to_string() == s) {
        (KIND_IPV6, ip.octets().to_vec())
    } else {
        (KIND_UTF8, s.as_bytes().to_vec())
    };
    if bytes.len() > MAX_TEXT {
        return Err(StoreError::Corrupt(format!(
            "an audit field of {} bytes is longer than a record may hold",
            s.len()
        )));
    }
    put_varint(out, (bytes.len() as u64) << 2 | kind);
    out.extend_from_slice(&bytes);
    Ok(())
}

/// The 32 bytes of a hash that is exactly 64 lowercase hex characters.
fn raw_hash(hash: &str) -> Option<Vec<u8>> {
    (hash.len() == 2 * HASH_BYTES && is_lower_hex(hash)).then(|| pack_hex(hash))
}

fn pack_hex(s: &str) -> Vec<u8> {
    let pairs = s.as_bytes().chunks(2);
    pairs.map(|p| (nibble(p[0]) << 4) | nibble(p[1])).collect()
}

fn put_name(out: &mut Vec<u8>, s: &str) -> Result<(), StoreError> {
    let prefixed = PREFIXES
        .iter()
        .enumerate()
        .find_map(|(i, p)| s.strip_prefix(p).map(|rest| (i as u8 + 1, rest)));
    let (code, rest) = prefixed.unwrap_or((0, s));
    out.push(code);
    put_text(out, rest)
}

fn nibble(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        _ => c - b'a' + 10,
    }
}

/// A bounds-checked cursor over a compact row.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Malformed> {
        if n > self.0.len() {
            return Err(Malformed("cut short"));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn byte(&mut self) -> Result<u8, Malformed> {
        Ok(self.take(1)?[0])
    }

    fn varint(&mut self) -> Result<u64, Malformed> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            let bits = u64::from(b & 0x7f);
            if shift == 63 && bits > 1 {
                return Err(Malformed("varint overflows"));
            }
            v |= bits << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(Malformed("varint overflows"))
    }

    fn text(&mut self) -> Result<String, Malformed> {
        let header = self.varint()?;
        let len = usize::try_from(header >> 2).map_err(|_| Malformed("text too long"))?;
        if len > MAX_TEXT {
            return Err(Malformed("text too long"));
        }
        let bytes = self.take(len)?;
        match header & 3 {
            KIND_UTF8 => String::from_utf8(bytes.to_vec()).map_err(|_| Malformed("not UTF-8")),
            KIND_HEX => Ok(crate::crypto::token::hex(bytes)),
            KIND_IPV4 => <[u8; 4]>::try_from(bytes)
                .map(|o| Ipv4Addr::from(o).to_string())
                .map_err(|_| Malformed("bad IPv4 length")),
            _ => <[u8; 16]>::try_from(bytes)
                .map(|o| Ipv6Addr::from(o).to_string())
                .map_err(|_| Malformed("bad IPv6 length")),
        }
    }

    fn hash(&mut self, flags: u8) -> Result<String, Malformed> {
        match flags & F_HASH_TEXT {
            0 => Ok(crate::crypto::token::hex(self.take(HASH_BYTES)?)),
            _ => self.text(),
        }
    }

    fn name(&mut self) -> Result<String, Malformed> {
        let code = self.byte()?;
        let prefix = match code {
            0 => "",
            c => PREFIXES
                .get(usize::from(c) - 1)
                .ok_or(Malformed("unknown name prefix"))?,
        };
        Ok(format!("{prefix}{}", self.text()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0123456789abcdef0123456789abcdef";
    const HASH: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

    fn read_record() -> AuditRecord {
        AuditRecord {
            body: AuditBody {
                seq: 42,
                time: 1_780_000_000,
                actor: ID.into(),
                action: Action::SecretRead,
                target: Some(format!("secret:{}", ID.replace('0', "f"))),
                owner: Some(ID.into()),
                ip: "127.0.0.1".into(),
                user_agent: "secretctl/0.9".into(),
                outcome: Outcome::Ok,
                prev_hash: HASH.replace('0', "e"),
                key: Some(1),
                actor_name: None,
            },
            hash: HASH.into(),
        }
    }

    fn round_trip(record: &AuditRecord) {
        let bytes = StoredRecord::encode(record).unwrap();
        let stored = StoredRecord(&bytes);
        assert!(stored.is_compact());
        let back = stored.decode(record.body.seq, &record.body.prev_hash);
        assert_eq!(back.as_ref(), Ok(record), "{bytes:?}");
        assert_eq!(stored.hash(), Ok(record.hash.clone()));
    }

    #[test]
    fn a_typical_read_record_is_a_quarter_of_its_json() {
        let record = read_record();
        round_trip(&record);
        let compact = StoredRecord::encode(&record).unwrap().len();
        let json = serde_json::to_vec(&record).unwrap().len();
        assert!(compact * 4 <= json, "compact {compact} B, JSON {json} B");
        assert_eq!(compact, 97, "JSON {json} B");
    }

    /// A tiny deterministic generator (no crate for it): the same cases on every run.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }

        /// Text that is often almost packable: hex (lower and upper case, odd and even
        /// lengths), addresses, prefixes, multi-byte and control characters, empty.
        fn text(&mut self) -> String {
            const PIECES: [&str; 16] = [
                "",
                "0",
                "af",
                "AF",
                "secret:",
                "token:",
                "team:",
                ":",
                "é",
                "🔑",
                "\u{0}",
                "127.0.0.1",
                "::1",
                "::ffff:10.0.0.1",
                "01.2.3.4",
                "1.2.3.4",
            ];
            match self.below(4) {
                0 => {
                    let n = self.below(40) as usize;
                    (0..n)
                        .map(|_| char::from(b"0123456789abcdef"[self.below(16) as usize]))
                        .collect()
                }
                1 => PIECES[self.below(16) as usize].to_string(),
                _ => (0..self.below(4))
                    .map(|_| PIECES[self.below(16) as usize])
                    .collect::<Vec<_>>()
                    .concat(),
            }
        }

        fn name(&mut self) -> String {
            let prefix = [
                "", "secret:", "share:", "user:", "team:", "token:", "audit:",
            ];
            format!("{}{}", prefix[self.below(7) as usize], self.text())
        }
    }

    /// Every record round-trips exactly, however odd its fields: packing never loses or
    /// alters a byte.
    #[test]
    fn any_record_round_trips_byte_for_byte() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..20_000 {
            let actor = rng.name();
            let owner = match rng.below(3) {
                0 => None,
                1 => Some(actor.clone()),
                _ => Some(rng.name()),
            };
            let record = AuditRecord {
                body: AuditBody {
                    seq: rng.next(),
                    time: rng.next() as i64,
                    actor,
                    action: Action::from_code(1 + rng.below(33) as u8).unwrap(),
                    target: (rng.below(2) == 0).then(|| rng.name()),
                    owner,
                    ip: rng.text(),
                    user_agent: rng.text(),
                    outcome: Outcome::from_code(1 + rng.below(14) as u8).unwrap(),
                    prev_hash: rng.text(),
                    key: (rng.below(2) == 0).then(|| rng.next() as u32),
                    actor_name: (rng.below(2) == 0).then(|| rng.text()),
                },
                hash: rng.text(),
            };
            round_trip(&record);
        }
    }

    /// Untrusted bytes never panic: every cut of a valid row, every single-byte change of
    /// it, and random rows are refused or decoded, nothing else.
    #[test]
    fn truncated_and_random_bytes_are_refused_without_panicking() {
        let good = StoredRecord::encode(&read_record()).unwrap();
        for cut in 0..good.len() {
            let row = StoredRecord(&good[..cut]);
            assert!(row.decode(1, HASH).is_err(), "cut at {cut}");
        }
        let mut rng = Rng(7);
        for i in 0..good.len() {
            for _ in 0..16 {
                let mut bad = good.clone();
                bad[i] = rng.next() as u8;
                let _ = StoredRecord(&bad).decode(1, HASH);
                let _ = StoredRecord(&bad).hash();
            }
        }
        for _ in 0..50_000 {
            let len = rng.below(200) as usize;
            let mut bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            if let Some(b) = bytes.first_mut().filter(|_| rng.below(2) == 0) {
                *b = COMPACT;
            }
            let _ = StoredRecord(&bytes).decode(1, HASH);
            let _ = StoredRecord(&bytes).hash();
        }
        // Lengths are capped before anything is allocated.
        let mut huge = vec![COMPACT, F_HASH_TEXT];
        put_varint(&mut huge, u64::MAX);
        assert_eq!(
            StoredRecord(&huge).decode(1, HASH),
            Err(Malformed("text too long"))
        );
        let unknown_action = {
            let mut row = good.clone();
            // format, flags, hash (32), time (5), actor (1 + 1 + 16): the action code.
            row[2 + 32 + 5 + 18] = 0xee;
            row
        };
        assert_eq!(
            StoredRecord(&unknown_action).decode(1, HASH),
            Err(Malformed("unknown action code"))
        );
    }

    #[test]
    fn json_rows_decode_as_they_always_did() {
        let record = read_record();
        let json = serde_json::to_vec(&record).unwrap();
        let stored = StoredRecord(&json);
        assert!(!stored.is_compact());
        // A JSON row carries its own seq and link: the arguments do not override them.
        assert_eq!(stored.decode(7, "other"), Ok(record.clone()));
        assert_eq!(stored.hash(), Ok(record.hash.clone()));
        assert_eq!(stored.json(&record).unwrap(), json);
        let compact = StoredRecord::encode(&record).unwrap();
        assert_eq!(StoredRecord(&compact).json(&record).unwrap(), json);
    }
}
