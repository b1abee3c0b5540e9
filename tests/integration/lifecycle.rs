//! Server lifecycle: files and modes, restart, locking, key handling, shutdown, and what
//! must never reach the disk or the log.

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};

use serde_json::json;

use crate::util::{BIN, PASSWORD, Server, file_contains};

fn mode(p: &std::path::Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// Runs `serve` expecting it to refuse to start; returns its stderr.
fn serve_fails(args: &[&std::ffi::OsStr]) -> String {
    let out = Command::new(BIN)
        .arg("serve")
        .args(["--addr", "127.0.0.1:0", "--insecure-fast-kdf"])
        .args(args)
        .env_clear()
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(out.stdout.is_empty(), "no listening line: {out:?}");
    String::from_utf8_lossy(&out.stderr).to_string()
}

#[test]
fn data_survives_restart_and_nothing_secret_reaches_disk_or_log() {
    let mut s = Server::start();
    let h = s.http();
    let token = s.user("alice");
    let value = "VALUE-4f1c9e-do-not-store-in-plaintext";
    let id = h
        .post(
            "/secrets",
            Some(&token),
            &json!({"name": "db", "value": value, "description": "d"}),
        )
        .json["id"]
        .as_str()
        .unwrap()
        .to_string();
    let updated = "UPDATED-7d2b0a-also-secret";
    assert_eq!(
        h.put(
            &format!("/secrets/{id}"),
            Some(&token),
            &json!({"value": updated})
        )
        .status,
        200
    );

    // Graceful stop exits 0; then everything is still there, token included.
    s.restart();
    let h = s.http();
    let r = h.get(&format!("/secrets/{id}"), Some(&token));
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        (r.json["value"].as_str(), r.json["version"].as_u64()),
        (Some(updated), Some(2))
    );
    assert_eq!(
        h.post("/login", None, &crate::util::creds("alice")).status,
        200
    );
    assert!(s.stop().success());

    let db = s.data_dir().join("secretctl.redb");
    for needle in [value, updated, PASSWORD, token.as_str()] {
        assert!(
            !file_contains(&db, needle),
            "database file contains {needle:?}"
        );
        assert!(!s.log().contains(needle), "server log contains {needle:?}");
    }
    // The token's random part, too, in case of re-encoding.
    assert!(!file_contains(&db, &token[5..]));
    assert!(
        file_contains(&db, "alice"),
        "sanity: the grep does see plaintext metadata"
    );
    assert_eq!(mode(&s.data_dir()), 0o700);
    assert_eq!(mode(&s.data_dir().join("master.key")), 0o600);
    assert_eq!(mode(&db), 0o600);
}

#[test]
fn second_server_on_same_data_dir_is_refused() {
    let s = Server::start();
    let err = serve_fails(&["--data-dir".as_ref(), s.data_dir().as_os_str()]);
    assert!(err.contains("already in use"), "{err}");
    assert_eq!(
        s.http().get("/healthz", None).status,
        200,
        "first server unaffected"
    );
}

#[test]
fn missing_or_wrong_key_file_is_refused_and_never_replaced() {
    let mut s = Server::start();
    let t = s.user("alice");
    s.http()
        .post("/secrets", Some(&t), &json!({"name": "db", "value": "v"}));
    assert!(s.stop().success());
    let key = s.data_dir().join("master.key");
    let moved = s.dir.path().join("master.key.bak");
    std::fs::rename(&key, &moved).unwrap();

    let err = serve_fails(&["--data-dir".as_ref(), s.data_dir().as_os_str()]);
    assert!(
        err.contains("missing") && err.contains("master.key"),
        "{err}"
    );
    assert!(
        !key.exists(),
        "a fresh key must never be created over an existing database"
    );

    // Another database's key does not open this one.
    let other = Server::start();
    let mut other = other;
    assert!(other.stop().success());
    let other_key = other.data_dir().join("master.key");
    let err = serve_fails(&[
        "--data-dir".as_ref(),
        s.data_dir().as_os_str(),
        "--key-file".as_ref(),
        other_key.as_os_str(),
    ]);
    assert!(err.contains("does not open"), "{err}");

    // The right key, from another location, works.
    s.spawn(&["--key-file", moved.to_str().unwrap()]);
    let r = s.http().get("/secrets?name=db", Some(&t));
    assert_eq!(r.json["secrets"][0]["name"], "db", "{r:?}");
}

#[test]
fn sigint_also_stops_cleanly_and_bad_flags_are_usage_errors() {
    let mut s = Server::start();
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--insecure-fast-kdf",
            "--data-dir",
        ])
        .arg(s.dir.path().join("other"))
        .env_clear()
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    assert!(line.starts_with("listening on http://127.0.0.1:"), "{line}");
    crate::util::signal(&child, "INT");
    let st = crate::util::wait_timeout(&mut child, std::time::Duration::from_secs(20)).unwrap();
    assert!(st.success(), "{st:?}");
    assert!(s.stop().success());

    let out = Command::new(BIN)
        .args(["serve", "--session-ttl", "soon"])
        .env_clear()
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--session-ttl"));
}
