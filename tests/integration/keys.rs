//! Master key sealing and key rotation through the real binary: `serve` with a sealed key
//! (passphrase from a file, the environment, or wrong), `admin seal-key` / `unseal-key`,
//! `admin rotate-master` and `admin rotate-data-key` over a database with thousands of
//! secrets and pending share links, and refusals while a server holds the database; the
//! notice `serve` prints on creating a key, and its refusal of a planted data key.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::util::{BIN, Run, Server, run_with};

const PASSPHRASE: &str = "tr0ub4dor&3 key passphrase";
/// Every secret value in these tests contains it, so one grep finds any plaintext copy.
const MARKER: &str = "PLAINTEXT-7c1e55-";
const ARMOR: &str = "-----BEGIN AGE ENCRYPTED FILE-----";

/// Runs `secretctl` with a clean environment plus `env`.
fn secretctl(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(BIN);
    cmd.env_clear().envs(env.iter().copied());
    run_with(cmd, args, b"")
}

/// Runs `serve` expecting it to refuse to start with status 1; returns its one-line stderr.
fn serve_fails(args: &[&str], env: &[(&str, &str)]) -> String {
    serve_fails_with(1, args, env)
}

/// Runs `serve` expecting it to refuse to start with `code`; returns its one-line stderr.
fn serve_fails_with(code: i32, args: &[&str], env: &[(&str, &str)]) -> String {
    let out = Command::new(BIN)
        .args(["serve", "--addr", "127.0.0.1:0", "--insecure-fast-kdf"])
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(code), "{out:?}");
    assert!(out.stdout.is_empty(), "no listening line: {out:?}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(err.starts_with("error: "), "{err}");
    err
}

/// A file holding `text` plus a newline (which the reader drops).
fn passphrase_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("{text}\n")).unwrap();
    path
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

fn read_value(server: &Server, token: &str, id: &str) -> String {
    let r = server.http().get(&format!("/secrets/{id}"), Some(token));
    assert_eq!(r.status, 200, "{r:?}");
    r.json["value"].as_str().unwrap().to_string()
}

/// Asserts no file under `dir` (recursively) contains `needle`.
fn no_file_contains(dir: &Path, needle: &str) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            no_file_contains(&path, needle);
        } else {
            assert!(
                !crate::util::file_contains(&path, needle),
                "{} contains {needle:?}",
                path.display()
            );
        }
    }
}

#[test]
fn a_sealed_key_needs_its_passphrase_and_a_wrong_one_touches_nothing() {
    let secrets = tempfile::tempdir().unwrap();
    let right = passphrase_file(secrets.path(), "right", PASSPHRASE);
    let wrong = passphrase_file(secrets.path(), "wrong", "not the passphrase");

    // A new data dir started with a passphrase gets a sealed key from the start.
    let mut server = Server::start_with(&["--passphrase-file", s(&right)]);
    let key = key_of(&server);
    let text = std::fs::read_to_string(&key).unwrap();
    assert!(text.starts_with(ARMOR), "{text}");
    assert!(!text.contains("AGE-SECRET-KEY"));
    let token = server.user("alice");
    let value = format!("{MARKER}sealed-start");
    let id = server.secret(&token, "db", &value);
    assert!(server.stop().success());

    // The passphrase from the environment works as well as from the file.
    server.spawn_env(&[], &[("SECRETCTL_PASSPHRASE", PASSPHRASE)]);
    assert_eq!(read_value(&server, &token, &id), value);
    assert!(server.stop().success());

    let key_bytes = std::fs::read(&key).unwrap();
    let db_bytes = std::fs::read(db_of(&server)).unwrap();
    let dir = server.data_dir();
    let err = serve_fails(
        &["--data-dir", s(&dir), "--passphrase-file", s(&wrong)],
        &[],
    );
    assert!(err.contains("passphrase does not open key file"), "{err}");
    assert!(!err.contains("not the passphrase"), "{err}");
    let err = serve_fails(
        &["--data-dir", s(&dir)],
        &[("SECRETCTL_PASSPHRASE", "also wrong")],
    );
    assert!(err.contains("passphrase does not open"), "{err}");
    // No passphrase and no terminal to ask on: a usage error naming the options.
    let err = serve_fails_with(2, &["--data-dir", s(&dir)], &[]);
    assert!(
        err.contains("is sealed") && err.contains("--passphrase-file"),
        "{err}"
    );
    assert!(
        std::fs::read(&key).unwrap() == key_bytes,
        "key file untouched"
    );
    assert!(
        std::fs::read(db_of(&server)).unwrap() == db_bytes,
        "database untouched"
    );

    let empty = passphrase_file(secrets.path(), "empty", "");
    let out = Command::new(BIN)
        .args([
            "serve",
            "--data-dir",
            s(&dir),
            "--passphrase-file",
            s(&empty),
        ])
        .env_clear()
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");

    server.spawn(&["--passphrase-file", s(&right)]);
    assert_eq!(read_value(&server, &token, &id), value);
    assert!(!server.log().contains(PASSPHRASE));
}

#[test]
fn seal_key_and_unseal_key_round_trip() {
    let mut server = Server::start();
    let token = server.user("alice");
    let id = server.secret(&token, "db", &format!("{MARKER}round-trip"));
    let key = key_of(&server);
    let original = std::fs::read(&key).unwrap();
    let secrets = tempfile::tempdir().unwrap();
    let right = passphrase_file(secrets.path(), "right", PASSPHRASE);
    let wrong = passphrase_file(secrets.path(), "wrong", "nope");

    // Without a passphrase source or a terminal: a usage error.
    let r = secretctl(&["admin", "seal-key", "--key-file", s(&key)], &[]).fails_with(2);
    assert!(
        r.stderr().contains("SECRETCTL_PASSPHRASE"),
        "{}",
        r.stderr()
    );

    let r = secretctl(
        &[
            "--json",
            "admin",
            "seal-key",
            "--key-file",
            s(&key),
            "--passphrase-file",
            s(&right),
            "--insecure-fast-kdf",
        ],
        &[],
    )
    .success();
    assert_eq!(r.json(), json!({"key_file": s(&key), "sealed": true}));
    let sealed = std::fs::read(&key).unwrap();
    assert!(sealed.starts_with(ARMOR.as_bytes()));
    let r = secretctl(
        &[
            "admin",
            "seal-key",
            "--key-file",
            s(&key),
            "--passphrase-file",
            s(&right),
        ],
        &[],
    )
    .fails_with(1);
    assert!(r.stderr().contains("already sealed"), "{}", r.stderr());

    // The running server keeps its key in memory; a restart needs the passphrase.
    assert!(server.stop().success());
    let err = serve_fails_with(2, &["--data-dir", s(&server.data_dir())], &[]);
    assert!(err.contains("is sealed"), "{err}");
    server.spawn(&["--passphrase-file", s(&right)]);
    assert!(read_value(&server, &token, &id).starts_with(MARKER));
    assert!(server.stop().success());

    let r = secretctl(
        &[
            "admin",
            "unseal-key",
            "--key-file",
            s(&key),
            "--passphrase-file",
            s(&wrong),
        ],
        &[],
    )
    .fails_with(1);
    assert!(
        r.stderr().contains("passphrase does not open"),
        "{}",
        r.stderr()
    );
    assert!(std::fs::read(&key).unwrap() == sealed, "unchanged");
    let r = secretctl(
        &["admin", "unseal-key", "--key-file", s(&key)],
        &[("SECRETCTL_PASSPHRASE", PASSPHRASE)],
    )
    .success();
    assert!(r.stderr().contains("unsealed"), "{}", r.stderr());
    assert!(
        std::fs::read(&key).unwrap() == original,
        "the original text, byte for byte"
    );
    let r = secretctl(
        &[
            "admin",
            "unseal-key",
            "--key-file",
            s(&key),
            "--passphrase-file",
            s(&right),
        ],
        &[],
    )
    .fails_with(1);
    assert!(r.stderr().contains("not sealed"), "{}", r.stderr());
    let names: Vec<String> = std::fs::read_dir(server.data_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    assert!(
        names.iter().all(|n| !n.contains(".tmp-")),
        "no temp files left: {names:?}"
    );
    server.spawn(&[]);
    assert!(read_value(&server, &token, &id).starts_with(MARKER));
}

#[test]
fn rotate_master_replaces_the_key_and_the_old_one_opens_nothing() {
    let secrets = tempfile::tempdir().unwrap();
    let right = passphrase_file(secrets.path(), "right", PASSPHRASE);
    let mut server = Server::start_with(&["--passphrase-file", s(&right)]);
    let token = server.user("alice");
    let ids: Vec<(String, String)> = (0..20)
        .map(|i| {
            let v = format!("{MARKER}master-{i}");
            (server.secret(&token, &format!("s{i}"), &v), v)
        })
        .collect();
    let share = server.share(&token, &ids[0].0, &json!({}));
    let dir = server.data_dir();
    let key = key_of(&server);
    let before = std::fs::read(&key).unwrap();
    let rotate = [
        "--json",
        "admin",
        "rotate-master",
        "--data-dir",
        s(&dir),
        "--passphrase-file",
        s(&right),
        "--insecure-fast-kdf",
    ];

    // The server holds the database: refused, nothing written.
    let r = secretctl(&rotate, &[]).fails_with(1);
    assert!(r.stderr().contains("already in use"), "{}", r.stderr());
    assert!(std::fs::read(&key).unwrap() == before);
    assert!(!dir.join("master.key.new").exists());
    assert!(server.stop().success());

    let old_copy = secrets.path().join("old.key");
    std::fs::copy(&key, &old_copy).unwrap();
    let r = secretctl(&rotate, &[]).success();
    let out = r.json();
    assert_eq!(out["sealed"], true, "{out}");
    // A new data key too, so an old database copy's keys open nothing written from now on.
    assert_eq!(out["data_key"], 2, "{out}");
    assert_eq!(out["retired"], json!([1]), "{out}");
    assert_eq!(
        (out["secrets"].clone(), out["shares"].clone()),
        (json!(20), json!(1))
    );
    assert_eq!(out["finished_interrupted"], false, "{out}");
    assert!(out["public_key"].as_str().unwrap().starts_with("age1"));
    assert!(std::fs::read_to_string(&key).unwrap().starts_with(ARMOR));
    assert!(std::fs::read(&key).unwrap() != before);
    assert!(!dir.join("master.key.new").exists());

    // The old identity opens nothing in this database.
    let err = serve_fails(
        &[
            "--data-dir",
            s(&dir),
            "--key-file",
            s(&old_copy),
            "--passphrase-file",
            s(&right),
        ],
        &[],
    );
    assert!(err.contains("does not open"), "{err}");

    server.spawn(&["--passphrase-file", s(&right)]);
    for (id, value) in &ids {
        assert_eq!(&read_value(&server, &token, id), value);
    }
    let r = server.http().request(
        "GET",
        &format!("/share/{}", share["token"].as_str().unwrap()),
        None,
        &[("Accept", "application/json")],
        None,
    );
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json["value"], ids[0].1.as_str());
}

/// Redeems a share link as an API client, with a JSON body when given.
fn redeem(server: &Server, token: &Value, body: Option<Value>) -> crate::util::Reply {
    let path = format!("/share/{}", token.as_str().unwrap());
    match body {
        Some(b) => server.http().post(&path, None, &b),
        None => server
            .http()
            .request("POST", &path, None, &[("Accept", "application/json")], None),
    }
}

/// Secrets created over HTTP for the data key rotation test. Each create is a durable
/// commit (an fsync), so this dominates the test's runtime.
const MANY: usize = 3_000;

#[test]
fn rotate_data_key_reseals_thousands_of_secrets_and_pending_shares() {
    let mut server = Server::start();
    let token = server.user("alice");
    let bob = server.user("bob");
    let values: Vec<(String, String)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..4)
            .map(|w| {
                let (server, token) = (&server, &token);
                scope.spawn(move || {
                    (w..MANY)
                        .step_by(4)
                        .map(|i| {
                            let v = format!("{MARKER}{i:05}");
                            (server.secret(token, &format!("bulk/{i:05}"), &v), v)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    let bob_id = server.secret(&bob, "bob-secret", &format!("{MARKER}bob"));
    // Pending shares: one plain, one with a passphrase, one with views left after a redeem.
    let plain = server.share(&token, &values[0].0, &json!({}));
    let guarded = server.share(&bob, &bob_id, &json!({"passphrase": "share pass"}));
    let multi = server.share(&token, &values[1].0, &json!({"max_views": 2}));
    assert_eq!(redeem(&server, &multi["token"], None).status, 200);

    let dir = server.data_dir();
    let rotate = ["--json", "admin", "rotate-data-key", "--data-dir", s(&dir)];
    let r = secretctl(&rotate, &[]).fails_with(1);
    assert!(r.stderr().contains("already in use"), "{}", r.stderr());
    assert!(server.stop().success());

    let r = secretctl(&rotate, &[]).success();
    let out = r.json();
    assert_eq!(out["data_key"], 2, "{out}");
    assert_eq!(out["retired"], json!([1]), "{out}");
    assert_eq!(out["secrets"], MANY + 1, "{out}");
    assert_eq!(out["shares"], 3, "{out}");
    assert!(!r.stdout().contains(MARKER) && !r.stderr().contains(MARKER));
    // Nothing in the data dir (database, key, anything else) holds a plaintext value.
    no_file_contains(&dir, MARKER);

    server.spawn(&[]);
    assert!(!server.log().contains(MARKER));
    for (id, value) in &values {
        assert_eq!(&read_value(&server, &token, id), value);
    }
    assert_eq!(read_value(&server, &bob, &bob_id), format!("{MARKER}bob"));
    let r = redeem(&server, &plain["token"], None);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json["value"], values[0].1.as_str());
    let r = redeem(
        &server,
        &guarded["token"],
        Some(json!({"passphrase": "share pass"})),
    );
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json["value"], format!("{MARKER}bob"));
    let r = redeem(&server, &multi["token"], None);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json["views_left"], 0);
    // New writes go under the new key and read back after a second rotation.
    let fresh = server.secret(&token, "after", &format!("{MARKER}after"));
    assert!(server.stop().success());
    let out = secretctl(&rotate, &[]).success().json();
    assert_eq!(
        (out["data_key"].clone(), out["shares"].clone()),
        (json!(3), json!(0))
    );
    server.spawn(&[]);
    assert_eq!(
        read_value(&server, &token, &fresh),
        format!("{MARKER}after")
    );
}

#[test]
fn admin_commands_explain_missing_files() {
    let empty = tempfile::tempdir().unwrap();
    let dir = empty.path().join("nothing-here");
    for cmd in ["rotate-master", "rotate-data-key"] {
        let r = secretctl(&["admin", cmd, "--data-dir", s(&dir)], &[]).fails_with(1);
        assert!(r.stderr().contains("no database"), "{}", r.stderr());
    }
    assert!(!dir.exists(), "nothing created");
    let r = secretctl(
        &["admin", "unseal-key", "--key-file", s(&dir.join("k"))],
        &[],
    )
    .fails_with(1);
    assert!(r.stderr().contains("does not exist"), "{}", r.stderr());
}

#[test]
fn serve_says_once_where_a_new_master_key_is_and_to_keep_it_apart() {
    let mut server = Server::start();
    let key = key_of(&server);
    let log = server.log();
    let said = format!("created a new master key in {}", key.display());
    assert!(log.contains(&said), "{log}");
    assert!(
        log.contains("back it up now, separately")
            && log.contains("--key-file")
            && log.contains("--passphrase-file"),
        "{log}"
    );
    // Only on creation: a second start opens the same key and says nothing about it.
    server.restart();
    assert_eq!(server.log().matches(&said).count(), 1, "{}", server.log());

    // A sealed key kept outside the data dir: still told to back it up, not to move it.
    let elsewhere = tempfile::tempdir().unwrap();
    let right = passphrase_file(elsewhere.path(), "pass", PASSPHRASE);
    let key = elsewhere.path().join("master.key");
    let server = Server::start_with(&["--key-file", s(&key), "--passphrase-file", s(&right)]);
    let log = server.log();
    assert!(
        log.contains(&format!("created a new master key in {}", key.display())),
        "{log}"
    );
    assert!(log.contains("sealed with the passphrase"), "{log}");
    assert!(!log.contains("--key-file"), "{log}");
    assert!(!log.contains(PASSPHRASE), "{log}");
}

#[test]
fn serve_refuses_a_data_key_planted_with_the_public_key() {
    use secretctl::store::tables::{DATA_KEYS, META, META_ACTIVE_DATA_KEY};
    use std::str::FromStr;

    let mut server = Server::start();
    let token = server.user("alice");
    server.secret(&token, "db", &format!("{MARKER}planted"));
    assert!(server.stop().success());
    // What the attacker has: write access to the database and the public key, which the
    // key file's comment (and `rotate-master`) prints.
    let text = std::fs::read_to_string(key_of(&server)).unwrap();
    let public = text
        .lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .unwrap();
    let recipient = age::x25519::Recipient::from_str(public).unwrap();
    let planted = age::encrypt(&recipient, &[0x42; 32]).unwrap();
    {
        let db = redb::Database::create(db_of(&server)).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(DATA_KEYS)
            .unwrap()
            .insert(2, planted.as_slice())
            .unwrap();
        txn.open_table(META)
            .unwrap()
            .insert(META_ACTIVE_DATA_KEY, 2u32.to_be_bytes().as_slice())
            .unwrap();
        txn.commit().unwrap();
    }
    let err = serve_fails(&["--data-dir", s(&server.data_dir())], &[]);
    assert!(
        err.contains("fail their authentication check") && err.contains("refusing"),
        "{err}"
    );
    // The admin commands refuse the same set.
    let r = secretctl(
        &[
            "admin",
            "rotate-data-key",
            "--data-dir",
            s(&server.data_dir()),
        ],
        &[],
    )
    .fails_with(1);
    assert!(
        r.stderr().contains("authentication check"),
        "{}",
        r.stderr()
    );
}
