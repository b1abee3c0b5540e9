//! Crash consistency through the real binary: a server killed with SIGKILL (no shutdown, no
//! drain) loses nothing it acknowledged, whether it was under a mixed load of creates,
//! updates and audited reads or idle right after a few writes. Black-box on purpose: the
//! checks are made over HTTP and `audit verify` only, so they hold for any storage layer.
//!
//! What "acknowledged" means here: a `201` to a create or a `200` to an update was read in
//! full. A request whose answer was lost to the kill may or may not have happened, so its
//! value is only a "maybe": after the restart a secret holds its last acknowledged value or
//! one sent after it without an answer.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

use crate::util::{BIN, Server};

/// How long each load round runs before the kill: fixed, so every run kills at the same
/// points of the same schedule, but spread over short and long rounds.
const KILL_AFTER_MS: [u64; 6] = [150, 900, 400, 650, 250, 800];

const WRITERS: usize = 4;
const UPDATERS: usize = 2;
const READERS: usize = 4;
/// Secrets made before the first round: the updaters change them and the readers read them.
const SEEDS: usize = 16;

/// One HTTP/1.1 connection kept alive across requests (the util client closes after each),
/// reconnecting after a failure.
struct Conn {
    addr: String,
    token: String,
    stream: Option<BufReader<TcpStream>>,
}

/// A whole answer: status and JSON body.
struct Answer {
    status: u16,
    json: Value,
}

impl Conn {
    fn new(url: &str, token: &str) -> Conn {
        Conn {
            addr: url.trim_start_matches("http://").to_string(),
            token: token.to_string(),
            stream: None,
        }
    }

    /// Sends one request. `Err` means no whole answer came back (refused, reset, cut short):
    /// the request may or may not have been carried out.
    fn send(&mut self, method: &str, path: &str, body: Option<&Value>) -> std::io::Result<Answer> {
        if self.stream.is_none() {
            let s = TcpStream::connect(&self.addr)?;
            s.set_read_timeout(Some(Duration::from_secs(10)))?;
            s.set_nodelay(true)?;
            self.stream = Some(BufReader::new(s));
        }
        let answer = self.exchange(method, path, body);
        if answer.is_err() {
            self.stream = None;
        }
        answer
    }

    fn exchange(
        &mut self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> std::io::Result<Answer> {
        let stream = self.stream.as_mut().expect("connected");
        let body = body.map(|b| serde_json::to_vec(b).unwrap());
        let mut raw = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\n",
            self.addr, self.token
        );
        if let Some(b) = &body {
            raw.push_str(&format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                b.len()
            ));
        }
        raw.push_str("\r\n");
        let mut raw = raw.into_bytes();
        raw.extend(body.unwrap_or_default());
        stream.get_mut().write_all(&raw)?;

        let cut = |what: &str| std::io::Error::new(std::io::ErrorKind::UnexpectedEof, what);
        let mut line = String::new();
        if stream.read_line(&mut line)? == 0 {
            return Err(cut("closed before the status line"));
        }
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| cut("no status line"))?;
        let mut length = None;
        loop {
            line.clear();
            if stream.read_line(&mut line)? == 0 {
                return Err(cut("closed in the headers"));
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((k, v)) = header.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                length = v.trim().parse::<usize>().ok();
            }
        }
        // Every answer this test asks for is small and sent with a length.
        let length = length.ok_or_else(|| cut("no Content-Length"))?;
        let mut body = vec![0; length];
        stream.read_exact(&mut body)?;
        Ok(Answer {
            status,
            json: serde_json::from_slice(&body).unwrap_or(Value::Null),
        })
    }
}

/// What a secret must hold after a crash.
#[derive(Clone)]
struct Expected {
    id: String,
    name: String,
    /// The last acknowledged value.
    value: String,
    /// Values sent after it whose answers were lost: any of them may have been committed.
    maybe: Vec<String>,
}

impl Expected {
    fn allows(&self, value: &str) -> bool {
        self.value == value || self.maybe.iter().any(|m| m == value)
    }
}

/// What one round's threads saw: acknowledged creates, the updaters' seeds, answers that
/// are neither success nor a `503` (each a failure), and how many reads were answered.
#[derive(Default)]
struct RoundLog {
    created: Vec<Expected>,
    seeds: Vec<Expected>,
    surprises: Vec<String>,
    reads: usize,
    updates: usize,
}

fn create_loop(conn: &mut Conn, round: usize, w: usize, stop: &AtomicBool) -> RoundLog {
    let mut log = RoundLog::default();
    let mut i = 0;
    while !stop.load(Ordering::SeqCst) {
        let name = format!("r{round}-w{w}-{i}");
        let value = format!("value-{name}-{}", "x".repeat(i % 64));
        i += 1;
        match conn.send(
            "POST",
            "/secrets",
            Some(&json!({"name": name, "value": value})),
        ) {
            Ok(a) if a.status == 201 => log.created.push(Expected {
                id: a.json["id"].as_str().unwrap().to_string(),
                name,
                value,
                maybe: Vec::new(),
            }),
            Ok(a) if a.status == 503 => {}
            Ok(a) => log
                .surprises
                .push(format!("create {name}: {} {}", a.status, a.json)),
            // The server is gone (or going): wait for the stop rather than spin.
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
    log
}

/// Updates `seeds` one at a time, so at most one update per secret is ever in flight.
fn update_loop(conn: &mut Conn, mut seeds: Vec<Expected>, u: usize, stop: &AtomicBool) -> RoundLog {
    let mut log = RoundLog::default();
    // A secret whose update lost its answer is left alone for the rest of the round: that
    // update could still be committed after a later one (if the server were not dead).
    let mut retired = vec![false; seeds.len()];
    let mut n = 0;
    while !stop.load(Ordering::SeqCst) && retired.iter().any(|r| !r) {
        let k = n % seeds.len();
        n += 1;
        if retired[k] {
            continue;
        }
        let seed = &mut seeds[k];
        let value = format!("update-u{u}-{n}-{}", seed.name);
        match conn.send(
            "PUT",
            &format!("/secrets/{}", seed.id),
            Some(&json!({"value": value})),
        ) {
            Ok(a) if a.status == 200 => {
                seed.value = value;
                seed.maybe.clear();
                log.updates += 1;
            }
            // Refused before it ran, but call it a maybe all the same: it was not acknowledged.
            Ok(a) if a.status == 503 => seed.maybe.push(value),
            Ok(a) => {
                log.surprises.push(format!(
                    "update {} ({}): {} {}",
                    seed.name, seed.id, a.status, a.json
                ));
                seed.maybe.push(value);
                retired[k] = true;
            }
            Err(_) => {
                seed.maybe.push(value);
                retired[k] = true;
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }
    log.seeds = seeds;
    log
}

fn read_loop(conn: &mut Conn, seeds: &[Expected], r: usize, stop: &AtomicBool) -> RoundLog {
    let mut log = RoundLog::default();
    let mut n = r;
    while !stop.load(Ordering::SeqCst) {
        let seed = &seeds[n % seeds.len()];
        n += 1;
        match conn.send("GET", &format!("/secrets/{}", seed.id), None) {
            Ok(a) if a.status == 200 => log.reads += 1,
            Ok(a) if a.status == 503 => {}
            Ok(a) => log.surprises.push(format!(
                "read {} ({}): {} {}",
                seed.name, seed.id, a.status, a.json
            )),
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
    log
}

/// Runs the load for `kill_after`, kills the server with SIGKILL under it, and returns what
/// the threads saw once they have all stopped.
fn load_then_kill(
    server: &mut Server,
    token: &str,
    round: usize,
    seeds: Vec<Expected>,
    kill_after: Duration,
) -> RoundLog {
    let stop = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::new();
    for w in 0..WRITERS {
        let (mut conn, stop) = (Conn::new(&server.url, token), Arc::clone(&stop));
        threads.push(std::thread::spawn(move || {
            create_loop(&mut conn, round, w, &stop)
        }));
    }
    // Updater `u` owns every seed `k` with `k % UPDATERS == u`.
    let mut owned: Vec<Vec<Expected>> = vec![Vec::new(); UPDATERS];
    for (k, seed) in seeds.iter().enumerate() {
        owned[k % UPDATERS].push(seed.clone());
    }
    for (u, mine) in owned.into_iter().enumerate() {
        let (mut conn, stop) = (Conn::new(&server.url, token), Arc::clone(&stop));
        threads.push(std::thread::spawn(move || {
            update_loop(&mut conn, mine, u, &stop)
        }));
    }
    let seeds = Arc::new(seeds);
    for r in 0..READERS {
        let (mut conn, stop, seeds) = (
            Conn::new(&server.url, token),
            Arc::clone(&stop),
            Arc::clone(&seeds),
        );
        threads.push(std::thread::spawn(move || {
            read_loop(&mut conn, &seeds, r, &stop)
        }));
    }

    std::thread::sleep(kill_after);
    kill(server);
    stop.store(true, Ordering::SeqCst);
    let mut log = RoundLog::default();
    for t in threads {
        let mut part = t.join().unwrap();
        log.created.append(&mut part.created);
        log.seeds.append(&mut part.seeds);
        log.surprises.append(&mut part.surprises);
        log.reads += part.reads;
        log.updates += part.updates;
    }
    log
}

/// SIGKILL, and wait for the process to be gone.
fn kill(server: &mut Server) {
    server.signal("KILL");
    server
        .wait_exit(Duration::from_secs(10))
        .expect("the server dies on SIGKILL");
}

/// Checks, on the restarted server, that every expected secret is there with an allowed
/// value; returns each one's value as found (which is what the next round builds on).
fn check_survivors(
    server: &Server,
    token: &str,
    expected: &[Expected],
    when: &str,
) -> Vec<Expected> {
    let h = server.http();
    let mut found = Vec::with_capacity(expected.len());
    for chunk in expected.chunks(100) {
        let refs: Vec<&str> = chunk.iter().map(|e| e.name.as_str()).collect();
        let r = h.post("/secrets/read", Some(token), &json!({ "refs": refs }));
        assert_ne!(
            r.status, 401,
            "{when}: alice's session, acknowledged at login, was lost: {r:?}"
        );
        if r.status == 404 {
            let lost: Vec<String> = chunk
                .iter()
                .filter(|e| {
                    r.json["missing"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|m| m == e.name.as_str())
                })
                .map(|e| format!("{} ({})", e.name, e.id))
                .collect();
            panic!("{when}: acknowledged secrets lost: {lost:?}");
        }
        assert_eq!(r.status, 200, "{when}: reading back {refs:?}: {r:?}");
        let got = r.json["secrets"].as_array().unwrap();
        for e in chunk {
            let s = got
                .iter()
                .find(|s| s["name"] == e.name.as_str())
                .unwrap_or_else(|| {
                    panic!("{when}: {} ({}) not in the answer: {r:?}", e.name, e.id)
                });
            assert_eq!(
                s["id"],
                e.id.as_str(),
                "{when}: {} was acknowledged as {}, now has another id",
                e.name,
                e.id
            );
            let value = s["value"].as_str().unwrap();
            assert!(
                e.allows(value),
                "{when}: {} ({}) lost its acknowledged value: holds {value:?}, acknowledged {:?}, maybe {:?}",
                e.name,
                e.id,
                e.value,
                e.maybe
            );
            found.push(Expected {
                value: value.to_string(),
                maybe: Vec::new(),
                ..e.clone()
            });
        }
    }
    let list = h.get("/secrets", Some(token));
    assert_eq!(list.status, 200, "{when}: listing");
    let count = list.json["secrets"].as_array().unwrap().len();
    assert!(
        count >= expected.len(),
        "{when}: {count} secrets listed, {} acknowledged",
        expected.len()
    );
    found
}

/// The restarted server answers as it should: healthy, takes a write (of a secret named
/// `name`), serves it back.
fn answers_normally(server: &Server, token: &str, name: &str, when: &str) {
    let h = server.http();
    let health = h.get("/healthz", None);
    assert_eq!(health.status, 200, "{when}: {health:?}");
    let id = server.secret(token, name, "fresh");
    let r = h.get(&format!("/secrets/{id}"), Some(token));
    assert_eq!(r.status, 200, "{when}: {r:?}");
    assert_eq!(r.json["value"], "fresh", "{when}: {r:?}");
    assert!(
        !server.log().contains("panicked"),
        "{when}: server log:\n{}",
        server.log()
    );
}

/// Stops the server cleanly and runs `audit verify` on its data dir: the trail is intact.
fn stop_and_verify_trail(server: &mut Server) {
    assert!(server.stop().success(), "log:\n{}", server.log());
    let out = std::process::Command::new(BIN)
        .args(["--json", "audit", "verify", "--data-dir"])
        .arg(server.data_dir())
        .env_clear()
        .output()
        .unwrap();
    assert!(out.status.success(), "audit verify: {out:?}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["intact"], true, "{v}");
    assert_eq!(v["head_authenticated"], true, "{v}");
}

/// Creates `n` secrets named `{prefix}-{k}` one after another (each acknowledged).
fn create_acknowledged(server: &Server, token: &str, prefix: &str, n: usize) -> Vec<Expected> {
    (0..n)
        .map(|k| {
            let (name, value) = (format!("{prefix}-{k}"), format!("{prefix}-value-{k}"));
            Expected {
                id: server.secret(token, &name, &value),
                name,
                value,
                maybe: Vec::new(),
            }
        })
        .collect()
}

#[test]
fn sigkill_under_load_loses_nothing_acknowledged() {
    // util starts every server with --rate-limit 0 --auth-rate-limit 0 --share-rate-limit 0,
    // so the load is never throttled.
    let mut server = Server::start();
    let token = server.user("alice");
    let mut seeds = create_acknowledged(&server, &token, "seed", SEEDS);
    let mut created: Vec<Expected> = Vec::new();
    let (mut reads, mut updates) = (0, 0);
    for (round, ms) in KILL_AFTER_MS.into_iter().enumerate() {
        let log = load_then_kill(&mut server, &token, round, seeds, Duration::from_millis(ms));
        assert!(
            log.surprises.is_empty(),
            "round {round}: {:?}",
            log.surprises
        );
        reads += log.reads;
        updates += log.updates;
        created.extend(log.created);
        server.spawn(&[]);
        let when = format!("after the kill of round {round} ({ms} ms)");
        let all: Vec<Expected> = log.seeds.iter().chain(&created).cloned().collect();
        seeds = check_survivors(&server, &token, &all, &when);
        seeds.truncate(SEEDS);
        answers_normally(&server, &token, &format!("after-round-{round}"), &when);
    }
    eprintln!(
        "{} rounds: {} creates acknowledged, {reads} reads, {updates} updates acknowledged",
        KILL_AFTER_MS.len(),
        created.len()
    );
    // The load really ran (no numbers that depend on the machine's speed beyond "some").
    assert!(
        created.len() > KILL_AFTER_MS.len(),
        "creates acknowledged: {}",
        created.len()
    );
    assert!(reads > 0 && updates > 0, "reads {reads}, updates {updates}");
    stop_and_verify_trail(&mut server);
}

#[test]
fn sigkill_while_idle_after_writes_loses_nothing() {
    let mut server = Server::start();
    let token = server.user("alice");
    let h = server.http();
    let mut expected = create_acknowledged(&server, &token, "idle", 5);
    let r = h.put(
        &format!("/secrets/{}", expected[0].id),
        Some(&token),
        &json!({"value": "idle-updated"}),
    );
    assert_eq!(r.status, 200, "{r:?}");
    expected[0].value = "idle-updated".into();
    let r = h.get(&format!("/secrets/{}", expected[1].id), Some(&token));
    assert_eq!(r.status, 200, "{r:?}");

    std::thread::sleep(Duration::from_millis(100));
    kill(&mut server);
    server.spawn(&[]);
    let when = "after a kill while idle";
    check_survivors(&server, &token, &expected, when);
    answers_normally(&server, &token, "after-idle", when);
    stop_and_verify_trail(&mut server);
}

/// Runs the binary with `args` and no inherited environment.
fn run(args: &[&str]) -> std::process::Output {
    std::process::Command::new(BIN)
        .args(args)
        .env_clear()
        .output()
        .unwrap()
}

/// After a crash the newest commits may be in the commit journal only: read-only tools say
/// so instead of reading an older state, the next writable open (here an offline admin
/// command) applies it, and a clean stop leaves no journal behind.
#[test]
fn after_sigkill_the_journal_is_applied_by_the_next_open_and_read_only_tools_wait_for_it() {
    let mut server = Server::start();
    let token = server.user("alice");
    let expected = create_acknowledged(&server, &token, "journaled", 20);
    kill(&mut server);
    let dir = server.data_dir();
    let dir_arg = dir.to_str().unwrap();
    assert!(dir.join("secretctl.redb-journal").exists());

    let out = run(&["audit", "verify", "--data-dir", dir_arg]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("was not closed cleanly"), "{stderr}");

    let out = run(&["--json", "admin", "users", "ls", "--data-dir", dir_arg]);
    assert!(out.status.success(), "{out:?}");
    assert!(
        !dir.join("secretctl.redb-journal").exists(),
        "a clean close removes the applied journal"
    );
    let out = run(&["--json", "audit", "verify", "--data-dir", dir_arg]);
    assert!(out.status.success(), "{out:?}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["intact"], true, "{v}");

    server.spawn(&[]);
    check_survivors(
        &server,
        &token,
        &expected,
        "after the journal was applied offline",
    );
    assert!(server.stop().success());
    assert!(!dir.join("secretctl.redb-journal").exists());
}

/// A restore replaces the database: the journal a crash left beside the old one is not
/// applied to the restored file (which would corrupt it) but discarded.
#[test]
fn a_restore_discards_the_journal_of_the_database_it_replaces() {
    let mut server = Server::start();
    let token = server.user("alice");
    let kept = create_acknowledged(&server, &token, "in-backup", 3);
    let dir = server.data_dir();
    let dir_arg = dir.to_str().unwrap().to_string();
    let file = server.dir.path().join("backup.redb");
    let out = run(&[
        "admin",
        "backup",
        "--data-dir",
        &dir_arg,
        "-o",
        file.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{out:?}");
    create_acknowledged(&server, &token, "after-backup", 3);
    kill(&mut server);
    assert!(dir.join("secretctl.redb-journal").exists());

    let out = run(&[
        "admin",
        "restore",
        file.to_str().unwrap(),
        "--data-dir",
        &dir_arg,
        "--force",
    ]);
    assert!(out.status.success(), "{out:?}");
    assert!(!dir.join("secretctl.redb-journal").exists());
    server.spawn(&[]);
    check_survivors(&server, &token, &kept, "after the restore");
    let r = server.http().get("/secrets", Some(&token));
    assert_eq!(r.status, 200, "{r:?}");
    let names: Vec<&str> = r.json["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert!(
        names.iter().all(|n| !n.starts_with("after-backup")),
        "{names:?}"
    );
}
