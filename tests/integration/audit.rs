//! The audit trail over the real server: every event recorded with no secret material,
//! visibility, paging, the hash chain (`audit verify`), the JSON-lines mirror, and failing
//! closed when the mirror cannot be written.

use std::path::Path;

use redb::{ReadableDatabase, ReadableTable};

use secretctl::store::audit::{AuditRecord, StoredRecord};
use serde_json::{Value, json};

use crate::util::{BIN, Cli, PASSWORD, Server, file_contains};

const UA: &str = "evil\"}{\"action\":\"forged\"\\n\t{} agent";

fn events(s: &Server, token: &str) -> Vec<Value> {
    let r = s.http().get("/audit?limit=500", Some(token));
    assert_eq!(r.status, 200, "{r:?}");
    r.json["events"].as_array().unwrap().clone()
}

fn has(events: &[Value], action: &str, outcome: &str) -> bool {
    events
        .iter()
        .any(|e| e["action"] == action && e["outcome"] == outcome)
}

fn path_of(url: &str) -> String {
    format!(
        "/{}",
        url.split_once("://").unwrap().1.split_once('/').unwrap().1
    )
}

fn verify(data_dir: &Path) -> std::process::Output {
    std::process::Command::new(BIN)
        .args(["audit", "verify", "--data-dir"])
        .arg(data_dir)
        .env_clear()
        .output()
        .unwrap()
}

#[test]
fn every_event_is_recorded_without_secret_material() {
    let mut s = Server::start();
    let log = s.dir.path().join("audit.jsonl");
    s.restart_with(&["--audit-log", log.to_str().unwrap()]);
    let h = s.http();
    let ua = [("User-Agent", UA), ("Content-Type", "application/json")];
    let body = serde_json::to_vec(&crate::util::creds("alice")).unwrap();
    assert_eq!(
        h.request("POST", "/register", None, &ua, Some(&body))
            .status,
        201
    );
    let bad =
        serde_json::to_vec(&json!({"username": "alice", "password": "wrong password"})).unwrap();
    assert_eq!(
        h.request("POST", "/login", None, &ua, Some(&bad)).status,
        401
    );
    let login = h.request("POST", "/login", None, &ua, Some(&body));
    let alice = login.json["token"].as_str().unwrap().to_string();
    let t = Some(alice.as_str());
    let value = "AUDITED-VALUE-31f4";
    let id = s.secret(&alice, "db", value);
    assert_eq!(h.get(&format!("/secrets/{id}"), t).status, 200);
    assert_eq!(
        h.put(
            &format!("/secrets/{id}"),
            t,
            &json!({"value": "AUDITED-VALUE-2"})
        )
        .status,
        200
    );

    // Bob probes Alice's secret: a 404 for him, an event for her.
    let bob = s.user("bob");
    h.get(&format!("/secrets/{id}"), Some(&bob))
        .assert_error(404, "not_found");

    let link = s.share(&alice, &id, &json!({"max_views": 2}));
    let link_path = path_of(link["url"].as_str().unwrap());
    let page = h.request("GET", &link_path, None, &[("Accept", "text/html")], None);
    assert_eq!(page.status, 200);
    let r = h.request(
        "POST",
        &link_path,
        None,
        &[("Accept", "application/json")],
        None,
    );
    assert_eq!(r.status, 200);
    let guarded = s.share(&alice, &id, &json!({"passphrase": "open sesame 42"}));
    let r = h.json(
        "POST",
        &path_of(guarded["url"].as_str().unwrap()),
        None,
        &json!({"passphrase": "nope nope"}),
    );
    assert_eq!(r.status, 403);
    assert_eq!(
        h.delete(&format!("/shares/{}", link["id"].as_str().unwrap()), t)
            .status,
        204
    );
    // A late try on the revoked link is a failed redemption of a known share.
    assert_eq!(
        h.request(
            "POST",
            &link_path,
            None,
            &[("Accept", "application/json")],
            None
        )
        .status,
        404
    );
    let expiring = s.share(&alice, &id, &json!({"expires_in": 60}));
    s.set_clock_offset(61);
    assert_eq!(
        h.request(
            "POST",
            &path_of(expiring["url"].as_str().unwrap()),
            None,
            &[],
            None
        )
        .status,
        404
    );
    assert_eq!(h.delete(&format!("/secrets/{id}"), t).status, 204);
    assert_eq!(h.request("POST", "/logout", t, &[], None).status, 204);

    // Read the trail with a fresh session.
    let alice = s
        .http()
        .post("/login", None, &crate::util::creds("alice"))
        .json["token"]
        .as_str()
        .unwrap()
        .to_string();
    let ev = events(&s, &alice);
    for (action, outcome) in [
        ("user.register", "ok"),
        ("login.failed", "denied"),
        ("login", "ok"),
        ("secret.create", "ok"),
        ("secret.read", "ok"),
        ("secret.read", "not_found"),
        ("secret.update", "ok"),
        ("share.create", "ok"),
        ("share.page_view", "ok"),
        ("share.redeem", "ok"),
        ("share.wrong_passphrase", "denied"),
        ("share.revoke", "ok"),
        ("share.redeem", "revoked"),
        ("share.redeem", "expired"),
        ("secret.delete", "ok"),
        ("logout", "ok"),
    ] {
        assert!(
            has(&ev, action, outcome),
            "no {action}/{outcome} in {ev:#?}"
        );
    }
    let probe = ev
        .iter()
        .find(|e| e["action"] == "secret.read" && e["outcome"] == "not_found")
        .unwrap();
    assert_ne!(
        probe["actor"], probe["owner"],
        "the prober, not the owner: {probe}"
    );
    let redeem = ev
        .iter()
        .find(|e| e["action"] == "share.redeem" && e["outcome"] == "ok")
        .unwrap();
    assert_eq!(redeem["actor"], "anonymous");
    assert_eq!(redeem["ip"], "127.0.0.1");
    let newest_first: Vec<u64> = ev.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert!(
        newest_first.windows(2).all(|w| w[0] > w[1]),
        "{newest_first:?}"
    );
    // Bob sees his own probe, and nothing of Alice's.
    let bob_ev = events(&s, &bob);
    assert!(
        bob_ev.iter().all(|e| e["action"] != "secret.create"),
        "{bob_ev:#?}"
    );
    assert!(has(&bob_ev, "secret.read", "not_found"));

    assert!(s.stop().success());
    let db = s.data_dir().join("secretctl.redb");
    for needle in [
        value,
        "AUDITED-VALUE-2",
        PASSWORD,
        "open sesame 42",
        "wrong password",
        alice.as_str(),
        &bob,
    ] {
        assert!(!file_contains(&log, needle), "audit log holds {needle:?}");
        assert!(!file_contains(&db, needle), "database holds {needle:?}");
        assert!(!s.log().contains(needle), "server log holds {needle:?}");
    }
    for created in [&link, &guarded, &expiring] {
        assert!(!file_contains(&log, created["token"].as_str().unwrap()));
    }
    // One record per line, however hostile the user agent.
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert!(lines.iter().all(|l| l["action"] != "forged"));
    assert!(lines.iter().any(|l| {
        l["user_agent"]
            .as_str()
            .is_some_and(|u| u.starts_with("evil\""))
    }));
    let seqs: Vec<u64> = lines.iter().map(|l| l["seq"].as_u64().unwrap()).collect();
    assert_eq!(
        seqs,
        (1..=seqs.len() as u64).collect::<Vec<_>>(),
        "every record, in order"
    );

    let out = verify(&s.data_dir());
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("{} records", seqs.len())));
}

/// The link an attacker without the audit key can compute: SHA-256 of the record's canonical
/// JSON (every field but `hash`, in stored order), as unkeyed records are linked.
fn sha256_link(record: &Value) -> String {
    use sha2::Digest;
    let body: secretctl::store::audit::AuditBody = serde_json::from_value(record.clone()).unwrap();
    let digest = sha2::Sha256::digest(serde_json::to_vec(&body).unwrap());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

const AUDIT_TABLE: redb::TableDefinition<u64, &[u8]> = redb::TableDefinition::new("audit");

/// Every row of the stored trail (not archived), decoded, each with whether it was stored
/// compact. A compact row leaves out its `seq` and `prev_hash` (they are implied by where it
/// sits), so the walk supplies them, as every reader of the table does.
fn read_trail(table: &impl ReadableTable<u64, &'static [u8]>) -> Vec<(u64, Value, bool)> {
    let mut prev = "0".repeat(64);
    let mut rows = Vec::new();
    for entry in table.iter().unwrap() {
        let (k, v) = entry.unwrap();
        let stored = StoredRecord(v.value());
        let record = stored.decode(k.value(), &prev).unwrap();
        prev = record.hash.clone();
        rows.push((
            k.value(),
            serde_json::to_value(&record).unwrap(),
            stored.is_compact(),
        ));
    }
    rows
}

/// `record` stored the way the row it replaces was: compact (as this build writes, `seq`
/// and `prev_hash` implied) or JSON (as older releases did).
fn stored(record: &Value, compact: bool) -> Vec<u8> {
    let record: AuditRecord = serde_json::from_value(record.clone()).unwrap();
    match compact {
        true => StoredRecord::encode(&record).unwrap(),
        false => serde_json::to_vec(&record).unwrap(),
    }
}

/// Rewrites the whole stored trail with `edit`, then relinks every record after the first
/// changed one with unkeyed SHA-256 links (and no `key`), as an attacker with the file but
/// not the key would: the best forgery there is without the master key.
fn rewrite_trail(db: &Path, edit: impl Fn(u64, &mut Value) -> bool) {
    let db = redb::Database::open(db).unwrap();
    let txn = db.begin_write().unwrap();
    {
        let mut table = txn.open_table(AUDIT_TABLE).unwrap();
        let rows = read_trail(&table);
        assert!(
            rows.iter().all(|(_, _, compact)| *compact),
            "a new trail is compact"
        );
        let mut relink = false;
        let mut prev: Option<String> = None;
        for (seq, mut r, compact) in rows {
            relink |= edit(seq, &mut r);
            if relink {
                if let Some(p) = &prev {
                    r["prev_hash"] = json!(p);
                }
                r.as_object_mut().unwrap().remove("key");
                r["hash"] = json!(sha256_link(&r));
                table.insert(seq, stored(&r, compact).as_slice()).unwrap();
            }
            prev = Some(r["hash"].as_str().unwrap().to_string());
        }
    }
    txn.commit().unwrap();
}

/// A stopped server's data dir with `n` secrets created (so `2 + n` audit records: register,
/// login, the creates).
fn stopped_with_records(n: usize) -> Server {
    let mut s = Server::start();
    let t = s.user("alice");
    for i in 0..n {
        s.secret(&t, &format!("s{i}"), "v");
    }
    assert!(s.stop().success());
    s
}

fn verify_err(data_dir: &Path, extra: &[&str]) -> String {
    let out = std::process::Command::new(BIN)
        .args(["audit", "verify", "--data-dir"])
        .arg(data_dir)
        .args(extra)
        .env_clear()
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    String::from_utf8_lossy(&out.stderr).to_string()
}

#[test]
fn deleting_the_newest_records_is_reported_as_truncation() {
    let s = stopped_with_records(60);
    let db = s.data_dir().join("secretctl.redb");
    let rdb = redb::Database::open(&db).unwrap();
    let txn = rdb.begin_write().unwrap();
    {
        let mut table = txn.open_table(AUDIT_TABLE).unwrap();
        for seq in 13..=62 {
            table.remove(seq).unwrap();
        }
    }
    txn.commit().unwrap();
    drop(rdb);
    let err = verify_err(&s.data_dir(), &[]);
    assert!(err.contains("13..=62 were deleted"), "{err}");
    // And the server refuses to carry on from the cut trail, which would hide the cut.
    let out = std::process::Command::new(BIN)
        .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
        .arg(s.data_dir())
        .env_clear()
        .output()
        .unwrap();
    assert!(!out.status.success(), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("authenticated head"), "{err}");
}

#[test]
fn relinking_the_trail_after_an_edit_is_detected() {
    let s = stopped_with_records(10);
    let db = s.data_dir().join("secretctl.redb");
    rewrite_trail(&db, |seq, r| {
        if seq == 7 {
            r["ip"] = json!("203.0.113.66");
        }
        seq == 7
    });
    let err = verify_err(&s.data_dir(), &[]);
    assert!(err.contains("record 7") && err.contains("altered"), "{err}");

    // Even stripping every key and relinking the whole trail from the start, so that each
    // link checks out as an unkeyed SHA-256 chain, leaves it short of its keyed head.
    rewrite_trail(&db, |_, _| true);
    let err = verify_err(&s.data_dir(), &[]);
    assert!(err.contains("authenticated head"), "{err}");
}

#[test]
fn deleting_the_whole_trail_or_its_head_is_detected() {
    let s = stopped_with_records(3);
    let db = s.data_dir().join("secretctl.redb");
    let rdb = redb::Database::open(&db).unwrap();
    let txn = rdb.begin_write().unwrap();
    txn.delete_table(AUDIT_TABLE).unwrap();
    txn.commit().unwrap();
    drop(rdb);
    let err = verify_err(&s.data_dir(), &[]);
    assert!(err.contains("audit table is missing"), "{err}");

    const META: redb::TableDefinition<&str, &[u8]> = redb::TableDefinition::new("meta");
    let rdb = redb::Database::open(&db).unwrap();
    let txn = rdb.begin_write().unwrap();
    txn.open_table(META).unwrap().remove("audit_head").unwrap();
    txn.commit().unwrap();
    drop(rdb);
    let err = verify_err(&s.data_dir(), &[]);
    assert!(err.contains("head is missing"), "{err}");
}

#[test]
fn expect_catches_a_database_rolled_back_to_an_older_copy() {
    let mut s = stopped_with_records(2);
    let db = s.data_dir().join("secretctl.redb");
    let old_copy = std::fs::read(&db).unwrap();
    s.spawn(&[]);
    let t = s
        .http()
        .post("/login", None, &crate::util::creds("alice"))
        .json["token"]
        .as_str()
        .unwrap()
        .to_string();
    s.secret(&t, "later", "v");
    assert!(s.stop().success());
    let out = verify(&s.data_dir());
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let head = stdout
        .lines()
        .find_map(|l| l.strip_prefix("head: "))
        .unwrap_or_else(|| panic!("no head line in {stdout}"))
        .to_string();
    let ok = std::process::Command::new(BIN)
        .args(["audit", "verify", "--expect", &head, "--data-dir"])
        .arg(s.data_dir())
        .env_clear()
        .output()
        .unwrap();
    assert!(ok.status.success(), "{ok:?}");

    std::fs::write(&db, old_copy).unwrap();
    // The old copy is a perfectly intact trail of its own ...
    assert!(verify(&s.data_dir()).status.success());
    // ... but not the one the operator noted.
    let err = verify_err(&s.data_dir(), &["--expect", &head]);
    assert!(err.contains("expected record"), "{err}");
}

#[test]
fn verify_never_writes_the_file_it_checks() {
    let s = stopped_with_records(3);
    let db = s.data_dir().join("secretctl.redb");
    let before = std::fs::read(&db).unwrap();
    for _ in 0..3 {
        assert!(verify(&s.data_dir()).status.success());
    }
    assert!(
        before == std::fs::read(&db).unwrap(),
        "verify changed the file"
    );
    // A broken trail is reported without "repairing" anything either.
    let rdb = redb::Database::open(&db).unwrap();
    let txn = rdb.begin_write().unwrap();
    txn.open_table(AUDIT_TABLE).unwrap().remove(2).unwrap();
    txn.commit().unwrap();
    drop(rdb);
    let broken = std::fs::read(&db).unwrap();
    verify_err(&s.data_dir(), &[]);
    assert!(
        broken == std::fs::read(&db).unwrap(),
        "verify changed the file"
    );
}

/// Edits the stored audit record `seq` in place with redb, the way an attacker with the
/// file would, keeping its stored hash and its format.
fn tamper(db: &Path, seq: u64, edit: impl FnOnce(&mut Value)) {
    let db = redb::Database::open(db).unwrap();
    let txn = db.begin_write().unwrap();
    {
        let mut table = txn.open_table(AUDIT_TABLE).unwrap();
        let rows = read_trail(&table);
        let (_, mut record, compact) = rows.into_iter().find(|(k, _, _)| *k == seq).unwrap();
        edit(&mut record);
        table
            .insert(seq, stored(&record, compact).as_slice())
            .unwrap();
    }
    txn.commit().unwrap();
}

#[test]
fn verify_names_the_first_altered_or_missing_record() {
    let mut s = Server::start();
    let t = s.user("alice");
    for i in 0..4 {
        s.secret(&t, &format!("s{i}"), "v");
    }
    assert!(s.stop().success());
    let db = s.data_dir().join("secretctl.redb");
    assert!(verify(&s.data_dir()).status.success());

    tamper(&db, 3, |r| r["ip"] = json!("203.0.113.9"));
    let out = verify(&s.data_dir());
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("record 3") && err.contains("altered"), "{err}");

    // Re-hashing the altered record does not help: the links are keyed, and recomputing
    // one takes the audit key, which only the master key unwraps.
    tamper(&db, 3, |r| r["hash"] = json!(sha256_link(r)));
    let err = String::from_utf8_lossy(&verify(&s.data_dir()).stderr).to_string();
    assert!(err.contains("record 3") && err.contains("altered"), "{err}");

    // Deleting a record is a gap.
    const AUDIT: redb::TableDefinition<u64, &[u8]> = redb::TableDefinition::new("audit");
    let rdb = redb::Database::open(&db).unwrap();
    let txn = rdb.begin_write().unwrap();
    txn.open_table(AUDIT).unwrap().remove(2).unwrap();
    txn.commit().unwrap();
    drop(rdb);
    let err = String::from_utf8_lossy(&verify(&s.data_dir()).stderr).to_string();
    assert!(err.contains("record 2") && err.contains("missing"), "{err}");
}

/// A compact record does not store its `seq` or `prev_hash`: they are where it sits. Its
/// keyed hash still covers them, so a record moved to another place, byte for byte, fails
/// there, and so does one whose stored hash is swapped for another record's.
#[test]
fn a_compact_record_moved_or_given_another_hash_fails_its_link() {
    let s = stopped_with_records(4);
    let db = s.data_dir().join("secretctl.redb");
    let raw = |seq: u64| -> Vec<u8> {
        let rdb = redb::Database::open(&db).unwrap();
        let txn = rdb.begin_read().unwrap();
        let row = txn
            .open_table(AUDIT_TABLE)
            .unwrap()
            .get(seq)
            .unwrap()
            .unwrap();
        row.value().to_vec()
    };
    let put = |seq: u64, bytes: &[u8]| {
        let rdb = redb::Database::open(&db).unwrap();
        let txn = rdb.begin_write().unwrap();
        txn.open_table(AUDIT_TABLE)
            .unwrap()
            .insert(seq, bytes)
            .unwrap();
        txn.commit().unwrap();
    };
    let (four, five) = (raw(4), raw(5));
    assert!(StoredRecord(&four).is_compact(), "{four:?}");
    put(4, &five);
    put(5, &four);
    let err = verify_err(&s.data_dir(), &[]);
    assert!(err.contains("record 4") && err.contains("altered"), "{err}");
    put(4, &four);
    put(5, &five);
    assert!(verify(&s.data_dir()).status.success());

    tamper(&db, 4, |r| r["hash"] = r["prev_hash"].clone());
    let err = verify_err(&s.data_dir(), &[]);
    assert!(err.contains("record 4") && err.contains("altered"), "{err}");
}

#[test]
fn audit_is_paginated_and_shown_by_the_cli() {
    let s = Server::start();
    let cli = Cli::new(&s);
    cli.login_as("alice");
    for i in 0..5 {
        cli.run(&["put", &format!("k{i}"), "--value", "v"], b"")
            .success();
    }
    let t = cli.cached_token();
    let page = s.http().get("/audit?limit=3", Some(&t)).json;
    assert_eq!(page["events"].as_array().unwrap().len(), 3);
    let before = page["next_before"].as_u64().unwrap();
    let next = s
        .http()
        .get(&format!("/audit?limit=3&before={before}"), Some(&t))
        .json;
    assert!(
        next["events"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["seq"].as_u64().unwrap() < before)
    );
    s.http()
        .get("/audit?limit=0", Some(&t))
        .assert_error(400, "bad_request");
    s.http()
        .get("/audit", None)
        .assert_error(401, "unauthorized");

    let table = cli.run(&["audit", "--limit", "4"], b"").success().stdout();
    assert!(
        table.starts_with("SEQ") && table.contains("secret.create"),
        "{table}"
    );
    assert_eq!(table.lines().count(), 5, "{table}");
    let lines = cli.run(&["audit", "--json"], b"").success().stdout();
    let parsed: Vec<Value> = lines
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(parsed.len() >= 7 && parsed[0]["seq"].as_u64() > parsed[1]["seq"].as_u64());
    // `verify` needs the server stopped (it holds the database lock).
    let r = cli
        .run(
            &[
                "audit",
                "verify",
                "--data-dir",
                s.data_dir().to_str().unwrap(),
            ],
            b"",
        )
        .fails_with(1);
    assert!(r.stderr().contains("in use"), "{}", r.stderr());
}

#[test]
fn operations_fail_closed_when_the_audit_log_cannot_be_written() {
    let mut s = Server::start();
    let log = s.dir.path().join("audit.jsonl");
    s.restart_with(&["--audit-log", log.to_str().unwrap()]);
    let t = s.user("alice");
    let id = s.secret(&t, "db", "FAIL-CLOSED-VALUE");
    let link = s.share(&t, &id, &json!({}));
    let h = s.http();

    // The log file becomes unwritable (replaced by a directory; root ignores modes).
    std::fs::remove_file(&log).unwrap();
    std::fs::create_dir(&log).unwrap();
    let r = h.get(&format!("/secrets/{id}"), Some(&t));
    r.assert_error(503, "unavailable");
    assert!(
        !r.body.contains("FAIL-CLOSED-VALUE") && !r.body.contains("audit.jsonl"),
        "{r:?}"
    );
    h.post("/secrets", Some(&t), &json!({"name": "new", "value": "x"}))
        .assert_error(503, "unavailable");
    let redeem = h.request(
        "POST",
        &path_of(link["url"].as_str().unwrap()),
        None,
        &[("Accept", "application/json")],
        None,
    );
    redeem.assert_error(503, "unavailable");
    h.post("/login", None, &crate::util::creds("alice"))
        .assert_error(503, "unavailable");

    // Writable again: nothing happened while it was not.
    std::fs::remove_dir(&log).unwrap();
    assert_eq!(
        h.get("/secrets?name=new", Some(&t)).json["secrets"],
        json!([])
    );
    let r = h.request(
        "POST",
        &path_of(link["url"].as_str().unwrap()),
        None,
        &[("Accept", "application/json")],
        None,
    );
    assert_eq!(
        (r.status, r.json["value"].as_str()),
        (200, Some("FAIL-CLOSED-VALUE")),
        "the view was not consumed"
    );
}

#[test]
fn a_full_disk_fails_closed_too() {
    let s = Server::start_with(&["--audit-log", "/dev/full"]);
    let h = s.http();
    h.post("/register", None, &crate::util::creds("alice"))
        .assert_error(503, "unavailable");
    assert_eq!(h.get("/healthz", None).status, 200);
}

/// Bob's own trail must not tell him whether an id he probed is somebody's: the owner of a
/// record is shown to the owner only (it used to be Alice's user id for her real ids and
/// absent for made-up ones).
#[test]
fn a_probe_in_your_own_trail_does_not_reveal_whose_id_it_was() {
    let s = Server::start();
    let alice = s.user("alice");
    let bob = s.user("bob");
    let id = s.secret(&alice, "db", "v");
    let link = s.share(&alice, &id, &json!({}));
    let h = s.http();
    let made_up = "0123456789abcdef0123456789abcdef";
    for target in [id.as_str(), made_up] {
        h.get(&format!("/secrets/{target}"), Some(&bob))
            .assert_error(404, "not_found");
    }
    let share_id = link["id"].as_str().unwrap();
    for target in [share_id, made_up] {
        h.delete(&format!("/shares/{target}"), Some(&bob))
            .assert_error(404, "not_found");
    }
    let events = h.get("/audit?limit=500", Some(&bob)).json["events"].clone();
    let probes: Vec<&Value> = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["outcome"] == "not_found")
        .collect();
    assert_eq!(probes.len(), 4, "{events:#}");
    for p in &probes {
        assert_eq!(p["owner"], Value::Null, "owner leaked: {p}");
    }
    // Alice still sees both attempts on her things, with herself as owner.
    let theirs = h.get("/audit?limit=500", Some(&alice)).json["events"].clone();
    let seen: Vec<&Value> = theirs
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["outcome"] == "not_found")
        .collect();
    assert_eq!(seen.len(), 2, "{theirs:#}");
    assert!(seen.iter().all(|e| e["owner"].is_string()));
}

/// Refusing to open a database must not change it either: a refused newer-schema open used
/// to rewrite part of the file.
#[test]
fn a_refused_open_leaves_the_file_as_it_was() {
    let s = stopped_with_records(2);
    let db = s.data_dir().join("secretctl.redb");
    let serve = || {
        std::process::Command::new(BIN)
            .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
            .arg(s.data_dir())
            .env_clear()
            .output()
            .unwrap()
    };
    // A trail cut while the server was stopped.
    let rdb = redb::Database::open(&db).unwrap();
    let txn = rdb.begin_write().unwrap();
    txn.open_table(AUDIT_TABLE).unwrap().remove(4).unwrap();
    txn.commit().unwrap();
    drop(rdb);
    let before = std::fs::read(&db).unwrap();
    let out = serve();
    assert!(!out.status.success(), "{out:?}");
    assert!(
        before == std::fs::read(&db).unwrap(),
        "a refused open changed the file"
    );

    // A file from a newer release.
    const META: redb::TableDefinition<&str, &[u8]> = redb::TableDefinition::new("meta");
    let rdb = redb::Database::open(&db).unwrap();
    let txn = rdb.begin_write().unwrap();
    txn.open_table(META)
        .unwrap()
        .insert("schema_version", 99u32.to_be_bytes().as_slice())
        .unwrap();
    txn.commit().unwrap();
    drop(rdb);
    let before = std::fs::read(&db).unwrap();
    let out = serve();
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("newer"),
        "{out:?}"
    );
    assert!(
        before == std::fs::read(&db).unwrap(),
        "a refused open changed the file"
    );
}
