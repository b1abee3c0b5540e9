//! `admin backup`, `verify-backup` and `restore` through the real binary: backups taken
//! through the admin channel of a running server under a concurrent write load each hold
//! every write acknowledged before they began; a backup of a stopped server; the channel's
//! socket life cycle; restore round trip and refusals; encrypted backups; verification of
//! a read-only copy and of a damaged one.

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::json;

use crate::util::{BIN, Run, Server, run_with};

fn secretctl(args: &[&str]) -> Run {
    let mut cmd = Command::new(BIN);
    cmd.env_clear();
    run_with(cmd, args, b"")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn key_of(server: &Server) -> PathBuf {
    server.data_dir().join("master.key")
}

fn db_of(server: &Server) -> PathBuf {
    server.data_dir().join("secretctl.redb")
}

/// `admin backup --json` of `server`'s data dir into `out`; returns its JSON.
fn backup(server: &Server, out: &Path, extra: &[&str]) -> serde_json::Value {
    let dir = server.data_dir();
    let mut args = vec![
        "--json",
        "admin",
        "backup",
        "--data-dir",
        s(&dir),
        "-o",
        s(out),
    ];
    args.extend_from_slice(extra);
    secretctl(&args).success().json()
}

/// The secret names held in a (plain) backup file, read straight from its table.
fn names_in(backup: &Path) -> BTreeSet<String> {
    use redb::{ReadableDatabase, ReadableTable};
    let db = redb::ReadOnlyDatabase::open(backup).unwrap();
    let txn = db.begin_read().unwrap();
    let table = txn
        .open_table(secretctl::store::tables::SECRET_NAMES)
        .unwrap();
    table
        .iter()
        .unwrap()
        .map(|e| e.unwrap().0.value().1.to_string())
        .collect()
}

/// The age public key in a master key file (`# public key: age1...`).
fn public_key(key_file: &Path) -> String {
    let text = std::fs::read_to_string(key_file).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .unwrap()
        .to_string()
}

#[test]
fn backups_under_a_write_load_hold_every_write_acknowledged_before_them() {
    let server = Server::start();
    let token = server.user("alice");
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (h, token, acked, stop) = (
                server.http(),
                token.clone(),
                Arc::clone(&acked),
                Arc::clone(&stop),
            );
            std::thread::spawn(move || {
                let mut i = 0;
                while !stop.load(Ordering::SeqCst) {
                    let name = format!("w{w}-{i}");
                    let r = h.post(
                        "/secrets",
                        Some(&token),
                        &json!({"name": name, "value": "v"}),
                    );
                    assert_eq!(r.status, 201, "{r:?}");
                    acked.lock().unwrap().push(name);
                    i += 1;
                }
            })
        })
        .collect();
    let out = tempfile::tempdir().unwrap();
    let mut taken = Vec::new();
    for k in 0..10 {
        let before: BTreeSet<String> = acked.lock().unwrap().iter().cloned().collect();
        let file = out.path().join(format!("b{k}.redb"));
        let r = backup(&server, &file, &[]);
        assert_eq!(r["via"], "server", "{r}");
        taken.push((file, before));
    }
    stop.store(true, Ordering::SeqCst);
    for w in writers {
        w.join().unwrap();
    }
    let all: BTreeSet<String> = acked.lock().unwrap().iter().cloned().collect();
    let last = out.path().join("last.redb");
    backup(&server, &last, &[]);
    taken.push((last.clone(), all.clone()));

    let key = key_of(&server);
    for (file, before) in &taken {
        let v = secretctl(&[
            "--json",
            "admin",
            "verify-backup",
            s(file),
            "--key-file",
            s(&key),
        ])
        .success()
        .json();
        assert_eq!(v["whole"], true, "{v}");
        assert_eq!(v["keyed_chain_checked"], true, "{v}");
        let names = names_in(file);
        let missing: Vec<_> = before.difference(&names).collect();
        assert!(missing.is_empty(), "{} lacks {missing:?}", file.display());
        assert_eq!(
            v["manifest"]["tables"]["secrets"].as_u64().unwrap(),
            names.len() as u64
        );
    }
    assert_eq!(
        names_in(&last),
        all,
        "the last backup holds exactly every write"
    );
    assert!(all.len() > 10, "the writers ran: {}", all.len());

    // Restore round trip: a fresh server on the restored file serves every write.
    let mut other = Server::start();
    other.stop();
    std::fs::copy(&key, key_of(&other)).unwrap();
    let r = secretctl(&[
        "--json",
        "admin",
        "restore",
        s(&last),
        "--data-dir",
        s(&other.data_dir()),
        "--force",
    ])
    .success()
    .json();
    assert_eq!(r["restored"], true, "{r}");
    let mode = std::fs::metadata(db_of(&other))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    other.spawn(&[]);
    let h = other.http();
    let login = h.post("/login", None, &crate::util::creds("alice"));
    assert_eq!(login.status, 200, "{login:?}");
    let t = login.json["token"].as_str().unwrap();
    // The list of hundreds is sent chunked, which the test client does not parse: look
    // up each writer's first and last acknowledged write by name instead.
    let acked = acked.lock().unwrap();
    for w in 0..4 {
        let prefix = format!("w{w}-");
        let mine: Vec<&String> = acked.iter().filter(|n| n.starts_with(&prefix)).collect();
        for name in [mine[0], mine[mine.len() - 1]] {
            let r = h.get(&format!("/secrets?name={name}"), Some(t));
            assert_eq!(r.status, 200, "{r:?}");
            assert_eq!(r.json["secrets"][0]["name"], name.as_str(), "{r:?}");
        }
    }
}

#[test]
fn the_admin_socket_is_private_replaced_when_stale_and_removed_on_shutdown() {
    let mut server = Server::start();
    let sock = server.data_dir().join("admin.sock");
    let mode = std::fs::metadata(&sock).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    // A crash leaves the socket behind: nobody answers, so the files are read instead,
    // and they need the recovery only a server start does.
    server.signal("KILL");
    server
        .wait_exit(std::time::Duration::from_secs(10))
        .unwrap();
    assert!(sock.exists());
    let out = tempfile::tempdir().unwrap();
    let dir = server.data_dir();
    let a = out.path().join("a.redb");
    let e = secretctl(&["admin", "backup", "--data-dir", s(&dir), "-o", s(&a)])
        .fails_with(1)
        .stderr();
    assert!(e.contains("not closed cleanly"), "{e}");
    assert!(!a.exists());
    // The next start replaces it, and backups go through the server again.
    server.spawn(&[]);
    let r = backup(&server, &out.path().join("b.redb"), &[]);
    assert_eq!(r["via"], "server", "{r}");
    assert!(server.stop().success());
    assert!(!sock.exists(), "removed on clean shutdown");
    let r = backup(&server, &out.path().join("c.redb"), &[]);
    assert_eq!(r["via"], "files", "{r}");
}

#[test]
fn restore_refuses_a_running_server_an_occupied_dir_and_a_key_that_does_not_open_it() {
    let mut server = Server::start();
    let token = server.user("bob");
    server.secret(&token, "kept", "v1");
    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("b.redb");
    backup(&server, &file, &[]);
    let dir = server.data_dir();
    let restore = |extra: &[&str]| {
        let mut args = vec!["admin", "restore", s(&file), "--data-dir", s(&dir)];
        args.extend_from_slice(extra);
        secretctl(&args)
    };
    let e = restore(&["--force"]).fails_with(1).stderr();
    assert!(e.contains("a server is running"), "{e}");
    server.stop();
    let db_before_stop = std::fs::read(db_of(&server)).unwrap();
    let e = restore(&[]).fails_with(5).stderr();
    assert!(e.contains("--force"), "{e}");
    // Another database's key opens nothing in this backup: refused before any change.
    let stranger = Server::start();
    let e = restore(&["--force", "--key-file", s(&key_of(&stranger))])
        .fails_with(1)
        .stderr();
    assert!(e.contains("nothing was replaced"), "{e}");
    assert_eq!(std::fs::read(db_of(&server)).unwrap(), db_before_stop);
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // Into a new, empty data dir with the right key.
    let fresh = out.path().join("fresh");
    let r = secretctl(&[
        "--json",
        "admin",
        "restore",
        s(&file),
        "--data-dir",
        s(&fresh),
        "--key-file",
        s(&key_of(&server)),
    ])
    .success()
    .json();
    assert_eq!(r["manifest"]["tables"]["secrets"], 1, "{r}");
    let mode = std::fs::metadata(&fresh).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700);
    assert_eq!(
        names_in(&fresh.join("secretctl.redb")),
        ["kept".to_string()].into()
    );
}

#[test]
fn an_encrypted_backup_round_trips_and_needs_its_identity() {
    let mut server = Server::start();
    let token = server.user("carol");
    server.secret(&token, "travels", "v");
    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("b.age");
    let key = key_of(&server);
    let recipient = public_key(&key);
    let r = backup(&server, &file, &["--recipient", &recipient]);
    assert_eq!(r["encrypted"], true, "{r}");
    let bytes = std::fs::read(&file).unwrap();
    assert!(bytes.starts_with(b"age-encryption.org/"));
    assert!(!crate::util::file_contains(&file, "travels"));
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);

    let e = secretctl(&["admin", "verify-backup", s(&file)])
        .fails_with(2)
        .stderr();
    assert!(e.contains("--identity"), "{e}");
    let stranger = Server::start();
    secretctl(&[
        "admin",
        "verify-backup",
        s(&file),
        "--identity",
        s(&key_of(&stranger)),
    ])
    .fails_with(1);
    let v = secretctl(&[
        "--json",
        "admin",
        "verify-backup",
        s(&file),
        "--identity",
        s(&key),
        "--key-file",
        s(&key),
    ])
    .success()
    .json();
    assert_eq!(v["whole"], true, "{v}");
    assert_eq!(v["encrypted"], true, "{v}");
    assert_eq!(v["manifest"]["tables"]["secrets"], 1, "{v}");

    secretctl(&[
        "admin",
        "backup",
        "--data-dir",
        s(&server.data_dir()),
        "-o",
        s(&file),
        "--recipient",
        "age1nope",
    ])
    .fails_with(2);
    assert_eq!(
        std::fs::read(&file).unwrap(),
        bytes,
        "a refused backup leaves the old file"
    );

    server.stop();
    secretctl(&[
        "admin",
        "restore",
        s(&file),
        "--data-dir",
        s(&server.data_dir()),
        "--force",
        "--identity",
        s(&key),
    ])
    .success();
    server.spawn(&[]);
    let login = server
        .http()
        .post("/login", None, &crate::util::creds("carol"));
    assert_eq!(login.status, 200, "{login:?}");
}

#[test]
fn verify_backup_reads_a_read_only_copy_and_reports_a_damaged_one() {
    let mut server = Server::start();
    let token = server.user("dave");
    for i in 0..5 {
        server.secret(&token, &format!("s{i}"), "v");
    }
    server.stop();
    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("b.redb");
    let r = backup(&server, &file, &[]);
    assert_eq!(r["via"], "files", "{r}");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o444)).unwrap();
    let bytes = std::fs::read(&file).unwrap();
    let text = secretctl(&["admin", "verify-backup", s(&file)])
        .success()
        .stdout();
    assert!(
        text.contains("is whole") && text.contains("were not checked"),
        "{text}"
    );
    secretctl(&[
        "admin",
        "verify-backup",
        s(&file),
        "--key-file",
        s(&key_of(&server)),
    ])
    .success();
    assert_eq!(std::fs::read(&file).unwrap(), bytes, "not a byte changed");

    // A copy with one audit record cut out does not verify.
    let cut = out.path().join("cut.redb");
    std::fs::copy(&file, &cut).unwrap();
    std::fs::set_permissions(&cut, std::fs::Permissions::from_mode(0o600)).unwrap();
    {
        let db = redb::Database::open(&cut).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(secretctl::store::tables::AUDIT)
            .unwrap()
            .remove(2u64)
            .unwrap();
        txn.commit().unwrap();
    }
    let e = secretctl(&["admin", "verify-backup", s(&cut)])
        .fails_with(1)
        .stderr();
    assert!(
        e.contains("damaged") && e.contains("record 2 is missing"),
        "{e}"
    );
    // A file that is no backup at all.
    let e = secretctl(&["admin", "verify-backup", s(&db_of(&server))])
        .fails_with(1)
        .stderr();
    assert!(e.contains("no backup manifest"), "{e}");
}
