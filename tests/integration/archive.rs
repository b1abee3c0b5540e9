//! Audit retention: `admin audit archive` moves old records into an archive file and
//! reclaims their space; `audit verify` still passes on the live trail, and
//! `audit verify --archive` checks archives and trail end to end. Tampering with the
//! archive, the anchor or the front of the live trail is caught.

use std::path::{Path, PathBuf};
use std::process::Output;

use redb::ReadableTable;
use serde_json::Value;

use crate::util::{BIN, Server, creds};

const DAY: i64 = 86_400;
const AUDIT_TABLE: redb::TableDefinition<u64, &[u8]> = redb::TableDefinition::new("audit");
const META: redb::TableDefinition<&str, &[u8]> = redb::TableDefinition::new("meta");

fn secretctl(args: &[&str], data_dir: &Path) -> Output {
    std::process::Command::new(BIN)
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env_clear()
        .output()
        .unwrap()
}

fn json_of(out: &Output) -> Value {
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out:?}"))
}

/// `YYYY-MM-DD`-free: an RFC 3339 time `days` before now.
fn days_ago(days: i64) -> String {
    secretctl::timefmt::rfc3339(secretctl::timefmt::now_unix() - days * DAY)
}

fn archive(data_dir: &Path, before: &str, out: &Path) -> Value {
    let o = out.to_str().unwrap();
    json_of(&secretctl(
        &[
            "admin", "audit", "archive", "--before", before, "-o", o, "--json",
        ],
        data_dir,
    ))
}

fn verify(data_dir: &Path, archives: &[&PathBuf]) -> Output {
    let mut args = vec!["audit", "verify", "--json"];
    for a in archives {
        args.extend(["--archive", a.to_str().unwrap()]);
    }
    secretctl(&args, data_dir)
}

/// A stopped server whose trail has records 30 days old, 20 days old and new ones.
/// Returns it and the last seq of each group.
fn aged_trail() -> (Server, [u64; 3]) {
    let mut s = Server::start();
    s.set_clock_offset(-30 * DAY);
    s.user("alice");
    let mut ends = [0; 3];
    for (group, age) in [30, 20, 0].into_iter().enumerate() {
        s.set_clock_offset(-age * DAY);
        // A new session each time: the clock jumps past the last one's lifetime.
        let login = s.http().post("/login", None, &creds("alice"));
        let token = login.json["token"].as_str().unwrap().to_string();
        // Audited reads, the common case the trail grows by.
        let id = s.secret(&token, &format!("s{group}"), "hunter2-value");
        for _ in 0..100 {
            let r = s.http().get(&format!("/secrets/{id}"), Some(&token));
            assert_eq!(r.status, 200, "{r:?}");
        }
        let r = s.http().get("/audit?limit=1", Some(&token));
        ends[group] = r.json["events"][0]["seq"].as_u64().unwrap();
    }
    assert!(s.stop().success());
    (s, ends)
}

#[test]
fn archiving_moves_old_records_out_and_the_trail_still_verifies_end_to_end() {
    let (mut s, [end30, end20, _]) = aged_trail();
    let data = s.data_dir();
    let total = json_of(&verify(&data, &[]))["records"].as_u64().unwrap();

    let first = s.dir.path().join("audit-1.jsonl");
    let r = archive(&data, &days_ago(25), &first);
    assert_eq!(r["archived"], end30, "{r}");
    assert_eq!(r["first_seq"], 1, "{r}");
    assert_eq!(r["last_seq"], end30, "{r}");
    let (before, after) = (r["bytes_before"].as_u64(), r["bytes_after"].as_u64());
    assert!(after < before, "no space reclaimed: {r}");
    assert_eq!(
        r["bytes_reclaimed"].as_u64(),
        Some(before.unwrap() - after.unwrap())
    );

    // The archive: 0600, a header and one line per record, each with its hash; no value.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&first).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let text = std::fs::read_to_string(&first).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len() as u64, end30 + 1);
    assert_eq!(lines[0]["first_seq"], 1);
    assert_eq!(lines[0]["last_seq"], end30);
    assert!(lines[1..].iter().all(|l| l["hash"].as_str().is_some()));
    assert!(!text.contains("hunter2"));

    // The live trail alone verifies (it starts at the anchor), and with the archive too.
    let live = json_of(&verify(&data, &[]));
    assert_eq!(live["intact"], true, "{live}");
    let both = json_of(&verify(&data, &[&first]));
    assert_eq!(both["intact"], true, "{both}");
    // The archiving itself is the newest record.
    assert_eq!(both["records"], total + 1, "{both}");

    // A second archive continues the first; both verify end to end, in order only.
    let second = s.dir.path().join("audit-2.jsonl");
    let r = archive(&data, &days_ago(10), &second);
    assert_eq!(r["first_seq"], end30 + 1, "{r}");
    assert_eq!(r["last_seq"], end20, "{r}");
    assert_eq!(json_of(&verify(&data, &[&first, &second]))["intact"], true);
    let out = verify(&data, &[&second, &first]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    // Only the first archive: the live trail does not continue it.
    let out = verify(&data, &[&first]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");

    // Nothing older left: no file, nothing changed.
    let none = s.dir.path().join("audit-3.jsonl");
    let r = archive(&data, &days_ago(10), &none);
    assert_eq!(r["archived"], 0, "{r}");
    assert!(!none.exists());
    // An existing file is never overwritten.
    let o = first.to_str().unwrap();
    let out = secretctl(
        &[
            "admin",
            "audit",
            "archive",
            "--before",
            "2099-01-01",
            "-o",
            o,
        ],
        &data,
    );
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let out = secretctl(
        &[
            "admin",
            "audit",
            "archive",
            "--before",
            "last week",
            "-o",
            "x",
        ],
        &data,
    );
    assert_eq!(out.status.code(), Some(2), "{out:?}");

    // The server opens the archived database and writes on.
    s.spawn(&[]);
    let token = s.user("bob");
    s.secret(&token, "after", "v");
    assert!(s.stop().success());
    assert_eq!(json_of(&verify(&data, &[&first, &second]))["intact"], true);
}

fn verify_fails(data: &Path, archives: &[&PathBuf], needle: &str) {
    let out = verify(data, archives);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(needle), "{needle:?} not in {stderr}");
}

#[test]
fn tampering_with_an_archive_or_the_anchor_is_caught() {
    let (s, [end30, _, _]) = aged_trail();
    let data = s.data_dir();
    let file = s.dir.path().join("audit.jsonl");
    archive(&data, &days_ago(25), &file);
    let db = data.join("secretctl.redb");

    // An archived record edited: its keyed hash no longer matches.
    let original = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, original.replacen("127.0.0.1", "10.9.9.9", 1)).unwrap();
    verify_fails(&data, &[&file], "record altered");
    // A record cut out of the archive.
    let mut lines: Vec<&str> = original.lines().collect();
    lines.remove(5);
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    verify_fails(&data, &[&file], "record claims sequence number 6");
    std::fs::write(&file, &original).unwrap();
    assert!(verify(&data, &[&file]).status.success());

    // The first live record deleted: the trail no longer continues the anchor.
    let rdb = redb::Database::open(&db).unwrap();
    let txn = rdb.begin_write().unwrap();
    let first_live = txn
        .open_table(AUDIT_TABLE)
        .unwrap()
        .remove(end30 + 1)
        .unwrap()
        .unwrap()
        .value()
        .to_vec();
    txn.commit().unwrap();
    drop(rdb);
    verify_fails(&data, &[], &format!("record {} is missing", end30 + 1));
    let rdb = redb::Database::open(&db).unwrap();
    let txn = rdb.begin_write().unwrap();
    txn.open_table(AUDIT_TABLE)
        .unwrap()
        .insert(end30 + 1, first_live.as_slice())
        .unwrap();
    txn.commit().unwrap();

    // The anchor moved on to hide the front of the live trail: a head's MAC is not an
    // anchor's (own domain label), and one can't be made without the key.
    let txn = rdb.begin_write().unwrap();
    {
        let mut meta = txn.open_table(META).unwrap();
        let head = meta.get("audit_head").unwrap().unwrap().value().to_vec();
        meta.insert("audit_anchor", head.as_slice()).unwrap();
    }
    txn.commit().unwrap();
    drop(rdb);
    verify_fails(&data, &[], "anchor was altered");
    // The anchor removed: the trail is cut at its front.
    let rdb = redb::Database::open(&db).unwrap();
    let txn = rdb.begin_write().unwrap();
    txn.open_table(META)
        .unwrap()
        .remove("audit_anchor")
        .unwrap();
    txn.commit().unwrap();
    drop(rdb);
    verify_fails(&data, &[], "record 1 is missing");
}
