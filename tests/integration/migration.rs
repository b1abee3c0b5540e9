//! A data dir written by the first release (`tests/fixtures/release-0.1.0`, schema 3) opens
//! with this build: every secret keeps its id, owner and value and is a personal secret, the
//! unkeyed audit trail still verifies and is keyed (with an authenticated head) from the first
//! start on, and the account logs in with its old password. A schema-5 trail (JSON records)
//! gets compact records appended, and the mixed trail verifies, archives and backs up.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use serde_json::{Value, json};

use redb::{ReadableDatabase, ReadableTable};
use secretctl::store::audit::StoredRecord;

use crate::util::{BIN, Server, creds};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/release-0.1.0");

/// A private copy of the fixture as `dir/data` (the committed files are never touched).
fn copy_fixture(dir: &Path) {
    let data = dir.join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700)).unwrap();
    for file in ["secretctl.redb", "master.key"] {
        let to = data.join(file);
        std::fs::copy(Path::new(FIXTURE).join(file), &to).unwrap();
        std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
}

fn verify(data: &Path) -> Value {
    let out = std::process::Command::new(BIN)
        .args(["audit", "verify", "--json", "--data-dir"])
        .arg(data)
        .env_clear()
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn a_data_dir_from_the_first_release_opens_with_everything_in_it() {
    let dir = tempfile::tempdir().unwrap();
    copy_fixture(dir.path());
    let data = dir.path().join("data");
    // Read-only, before any start: the old SHA-256 chain verifies, without a head yet.
    let before = verify(&data);
    assert_eq!(
        (&before["intact"], &before["head_authenticated"]),
        (&json!(true), &json!(false)),
        "{before}"
    );
    let old_records = before["records"].as_u64().unwrap();
    assert!(old_records >= 8, "{before}");

    let mut s = Server::start_in(dir, &[]);
    let h = s.http();
    let login = h.post("/login", None, &creds("alice"));
    assert_eq!(
        login.status, 200,
        "the old password hash still verifies: {login:?}"
    );
    let t = login.json["token"].as_str().unwrap().to_string();
    let list = h.get("/secrets", Some(&t)).json["secrets"].clone();
    let secrets = list.as_array().unwrap();
    assert_eq!(secrets.len(), 2, "{list}");
    let by_name = |name: &str| -> Value {
        secrets
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("no {name} in {list}"))
            .clone()
    };
    for (name, value, version) in [
        ("prod/db-password", "old-db-password", 1),
        ("prod/api-key", "v2-value", 2),
    ] {
        let meta = by_name(name);
        assert_eq!(meta["team"], Value::Null, "a personal secret: {meta}");
        assert_eq!(meta["version"], version, "{meta}");
        let id = meta["id"].as_str().unwrap();
        let got = h.get(&format!("/secrets/{id}"), Some(&t));
        assert_eq!((got.status, got.json["value"].as_str()), (200, Some(value)));
        // The current value counts as the first kept version.
        let versions = h.get(&format!("/secrets/{id}/versions"), Some(&t)).json;
        assert_eq!(versions["versions"][0]["version"], version, "{versions}");
    }
    assert_eq!(by_name("prod/db-password")["tags"], json!(["prod"]));
    // Another user of the old release sees none of it.
    let bob = h.post("/login", None, &creds("bob")).json["token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(h.get("/secrets", Some(&bob)).json["secrets"], json!([]));
    let new_secret = h.post(
        "/secrets",
        Some(&t),
        &json!({"name": "after-upgrade", "value": "x"}),
    );
    assert_eq!(new_secret.status, 201, "{new_secret:?}");
    assert!(s.stop().success());

    // The old records still verify, the new ones are keyed, and the trail ends at its head.
    let after = verify(&s.data_dir());
    assert_eq!(
        (&after["intact"], &after["head_authenticated"]),
        (&json!(true), &json!(true)),
        "{after}"
    );
    assert!(after["records"].as_u64().unwrap() > old_records, "{after}");
}

const DAY: i64 = 86_400;
const AUDIT: redb::TableDefinition<u64, &[u8]> = redb::TableDefinition::new("audit");
const META: redb::TableDefinition<&str, &[u8]> = redb::TableDefinition::new("meta");

fn secretctl(data: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(BIN)
        .args(args)
        .env_clear()
        .arg("--data-dir")
        .arg(data)
        .output()
        .unwrap()
}

fn json_of(out: std::process::Output) -> Value {
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out:?}"))
}

/// Every audit row of the database at `db` as stored: (seq, bytes).
fn rows(db: &Path) -> Vec<(u64, Vec<u8>)> {
    let db = redb::ReadOnlyDatabase::open(db).unwrap();
    let txn = db.begin_read().unwrap();
    rows_of(&txn.open_table(AUDIT).unwrap())
}

/// Logs alice in with the clock `days_ago` and reads a new secret: audited reads.
fn reads(s: &Server, name: &str, days_ago: i64) {
    s.set_clock_offset(-days_ago * DAY);
    let login = s.http().post("/login", None, &creds("alice"));
    let token = login.json["token"].as_str().unwrap().to_string();
    let id = s.secret(&token, name, "value");
    for _ in 0..20 {
        let r = s.http().get(&format!("/secrets/{id}"), Some(&token));
        assert_eq!(r.status, 200, "{r:?}");
    }
}

/// A trail written by schema 5 (every record JSON, keyed, with its head) opens with this
/// build, which appends compact records after it without rewriting a byte of the old ones;
/// the mixed trail verifies, an archive can cut through the middle of it, and a backup of
/// the result checks whole, keyed links included.
#[test]
fn a_schema_5_trail_of_json_records_continues_in_compact_records() {
    let mut s = Server::start();
    s.set_clock_offset(-30 * DAY);
    s.user("alice");
    reads(&s, "old", 30);
    assert!(s.stop().success());
    let data = s.data_dir();
    let db = data.join("secretctl.redb");

    // Rewind the file to schema 5: each record stored as the JSON of the same record, which
    // is what schema 5 wrote (the hash covers the record, not how it is stored, so the
    // links and the authenticated head stay as they are).
    {
        let rdb = redb::Database::open(&db).unwrap();
        let txn = rdb.begin_write().unwrap();
        {
            let mut audit = txn.open_table(AUDIT).unwrap();
            let mut prev = "0".repeat(64);
            for (seq, bytes) in rows_of(&audit) {
                let record = StoredRecord(&bytes).decode(seq, &prev).unwrap();
                prev = record.hash.clone();
                let json = serde_json::to_vec(&record).unwrap();
                audit.insert(seq, json.as_slice()).unwrap();
            }
            txn.open_table(META)
                .unwrap()
                .insert("schema_version", 5u32.to_be_bytes().as_slice())
                .unwrap();
        }
        txn.commit().unwrap();
    }
    let old = rows(&db);
    assert!(
        old.iter().all(|(_, b)| b.first() == Some(&b'{')),
        "all JSON"
    );
    let v = json_of(secretctl(&data, &["audit", "verify", "--json"]));
    assert_eq!(
        (&v["intact"], &v["records"]),
        (&json!(true), &json!(old.len())),
        "{v}"
    );

    s.spawn(&[]);
    reads(&s, "middle", 20);
    reads(&s, "new", 0);
    assert!(s.stop().success());

    // The old rows are untouched, byte for byte; every new one is compact.
    let mixed = rows(&db);
    assert_eq!(mixed[..old.len()], old[..]);
    assert!(
        mixed[old.len()..]
            .iter()
            .all(|(_, b)| StoredRecord(b).is_compact())
    );
    let version = {
        let rdb = redb::ReadOnlyDatabase::open(&db).unwrap();
        let txn = rdb.begin_read().unwrap();
        let meta = txn.open_table(META).unwrap();
        let v = meta
            .get("schema_version")
            .unwrap()
            .unwrap()
            .value()
            .to_vec();
        u32::from_be_bytes(v.try_into().unwrap())
    };
    assert_eq!(version, 6);
    let v = json_of(secretctl(&data, &["audit", "verify", "--json"]));
    assert_eq!(v["intact"], true, "{v}");
    assert_eq!(v["head_authenticated"], true, "{v}");
    assert_eq!(v["records"], json!(mixed.len()), "{v}");
    // The API shows old and new records alike, each with its link.
    s.spawn(&[]);
    let login = s.http().post("/login", None, &creds("alice"));
    let alice = login.json["token"].as_str().unwrap().to_string();
    let events = s.http().get("/audit?limit=500", Some(&alice)).json["events"].clone();
    let events = events.as_array().unwrap();
    assert!(events.len() > 60, "{}", events.len());
    assert!(
        events
            .iter()
            .all(|e| e["hash"].as_str().is_some_and(|h| h.len() == 64))
    );
    assert!(s.stop().success());

    // An archive that cuts the trail inside its compact part: JSON and compact records
    // alike go out as JSON lines, and the archive and the live rest verify end to end.
    let archive = s.dir.path().join("audit-old.jsonl");
    let before = secretctl::timefmt::rfc3339(secretctl::timefmt::now_unix() - 10 * DAY);
    let a = secretctl(
        &data,
        &[
            "admin",
            "audit",
            "archive",
            "--before",
            &before,
            "-o",
            archive.to_str().unwrap(),
            "--json",
        ],
    );
    let a = json_of(a);
    assert!(a["last_seq"].as_u64().unwrap() > old.len() as u64, "{a}");
    let text = std::fs::read_to_string(&archive).unwrap();
    for line in text.lines().skip(1) {
        let record: Value = serde_json::from_str(line).unwrap();
        assert!(
            record["prev_hash"].as_str().is_some_and(|h| h.len() == 64),
            "{line}"
        );
    }
    let both = json_of(secretctl(
        &data,
        &[
            "audit",
            "verify",
            "--json",
            "--archive",
            archive.to_str().unwrap(),
        ],
    ));
    assert_eq!(both["intact"], true, "{both}");
    let live = json_of(secretctl(&data, &["audit", "verify", "--json"]));
    assert_eq!(live["intact"], true, "{live}");

    // A backup of the archived, mixed trail checks whole, with and without the key.
    let backup = s.dir.path().join("backup.redb");
    let b = secretctl(&data, &["admin", "backup", "-o", backup.to_str().unwrap()]);
    assert!(b.status.success(), "{b:?}");
    let key = data.join("master.key");
    for extra in [&[][..], &["--key-file", key.to_str().unwrap()][..]] {
        let out = std::process::Command::new(BIN)
            .args(["--json", "admin", "verify-backup", backup.to_str().unwrap()])
            .args(extra)
            .env_clear()
            .output()
            .unwrap();
        let v = json_of(out);
        assert_eq!(v["whole"], true, "{v}");
    }
}

/// Every row of an audit table as stored: (seq, bytes).
fn rows_of(table: &impl ReadableTable<u64, &'static [u8]>) -> Vec<(u64, Vec<u8>)> {
    let rows = table.iter().unwrap().map(|e| {
        let (k, v) = e.unwrap();
        (k.value(), v.value().to_vec())
    });
    rows.collect()
}
