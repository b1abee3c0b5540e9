//! Security alerts over the real server: a webhook receiver in the test gets the four alert
//! kinds with the right fields and no secret material; a dead or hung webhook never slows or
//! fails a request; a real SMTP server (aiosmtpd, `tests/support/smtp_sink.py`) gets the mail
//! for an account with an address; and settings that cannot work stop `serve`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::util::{BIN, Cli, PASSWORD, Server, parse_time};

const VALUE: &str = "ALERT-TEST-VALUE-8c1d";
/// How long any alert may take to arrive before a test fails.
const ARRIVAL: Duration = Duration::from_secs(10);

/// One request the webhook receiver got.
#[derive(Debug)]
struct Hook {
    request_line: String,
    content_type: String,
    raw: String,
    body: Value,
}

/// A webhook endpoint in the test: answers 200 to each request and hands it over.
struct Receiver {
    url: String,
    hooks: mpsc::Receiver<Hook>,
}

impl Receiver {
    fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!(
            "http://{}/hooks/T0/SECRET-HOOK-PATH",
            listener.local_addr().unwrap()
        );
        let (tx, hooks) = mpsc::channel();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let Some(hook) = read_request(conn) else {
                    continue;
                };
                if tx.send(hook).is_err() {
                    return;
                }
            }
        });
        Receiver { url, hooks }
    }

    /// The next alert of `kind`, skipping others; panics after `ARRIVAL`.
    fn next(&self, kind: &str) -> Hook {
        let deadline = Instant::now() + ARRIVAL;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.hooks.recv_timeout(left) {
                Ok(h) if h.body["kind"] == kind => return h,
                Ok(_) => {}
                Err(_) => panic!("no {kind} alert within {ARRIVAL:?}"),
            }
        }
    }

    /// Every alert up to and including the next one of `kind` (delivery is in order, so
    /// this is everything queued before it).
    fn until(&self, kind: &str) -> Vec<Hook> {
        let deadline = Instant::now() + ARRIVAL;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let h = self
                .hooks
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no {kind} alert within {ARRIVAL:?}: {seen:?}"));
            let done = h.body["kind"] == kind;
            seen.push(h);
            if done {
                return seen;
            }
        }
    }
}

/// Parses one HTTP/1.1 request with a Content-Length body and answers 200.
fn read_request(conn: TcpStream) -> Option<Hook> {
    conn.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut reader = BufReader::new(conn.try_clone().ok()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line).ok()?;
    let mut length = 0;
    let mut content_type = String::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':')?;
        match name.trim().to_ascii_lowercase().as_str() {
            "content-length" => length = value.trim().parse().ok()?,
            "content-type" => content_type = value.trim().to_string(),
            _ => {}
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    let mut conn = conn;
    let _ = conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
    let raw = String::from_utf8_lossy(&body).to_string();
    Some(Hook {
        request_line: request_line.trim_end().to_string(),
        content_type,
        body: serde_json::from_str(&raw).unwrap_or(Value::Null),
        raw,
    })
}

fn account_id(s: &Server, token: &str) -> String {
    let r = s.http().get("/account", Some(token));
    assert_eq!(r.status, 200, "{r:?}");
    r.json["id"].as_str().unwrap().to_string()
}

fn path_of(url: &str) -> String {
    let after_scheme = url.split_once("://").unwrap().1;
    format!("/{}", after_scheme.split_once('/').unwrap().1)
}

fn redeem(s: &Server, path: &str) -> crate::util::Reply {
    s.http()
        .request("POST", path, None, &[("Accept", "application/json")], None)
}

fn fail_login(s: &Server, user: &str) {
    let r = s.http().post(
        "/login",
        None,
        &json!({"username": user, "password": "not the password"}),
    );
    // After five failures the per-account throttle answers 429 (no hashing, no login.failed).
    assert!(matches!(r.status, 401 | 429), "{r:?}");
}

/// The audit record `seq` of `token`'s trail.
fn audit_record(s: &Server, token: &str, seq: u64) -> Value {
    let r = s.http().get("/audit?limit=500", Some(token));
    assert_eq!(r.status, 200, "{r:?}");
    r.json["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["seq"] == seq)
        .unwrap_or_else(|| panic!("no audit record {seq}: {r:?}"))
        .clone()
}

/// Polls the server log until it contains `needle`.
fn wait_for_log(s: &Server, needle: &str) -> String {
    let deadline = Instant::now() + ARRIVAL;
    loop {
        let log = s.log();
        if log.contains(needle) {
            return log;
        }
        assert!(
            Instant::now() < deadline,
            "log never said {needle:?}:\n{log}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn webhook_gets_each_kind_with_its_fields_and_no_secret_material() {
    let hooks = Receiver::start();
    let s = Server::start_with(&["--alert-webhook", &hooks.url]);
    let alice = s.user("alice");
    let alice_id = account_id(&s, &alice);
    let id = s.secret(&alice, "db", VALUE);

    let share = s.share(&alice, &id, &json!({"max_views": 1}));
    let share_id = share["id"].as_str().unwrap();
    let token = share["token"].as_str().unwrap();
    let link = path_of(share["url"].as_str().unwrap());
    let created = hooks.next("share_created");
    assert!(
        created
            .request_line
            .starts_with("POST /hooks/T0/SECRET-HOOK-PATH ")
    );
    assert!(created.content_type.starts_with("application/json"));
    let body = &created.body;
    assert_eq!(body["user"], alice_id.as_str());
    assert_eq!(body["target"], format!("share:{share_id}"));
    assert_eq!(body["ip"], "127.0.0.1");
    assert_eq!(body["outcome"], "ok");
    parse_time(body["time"].as_str().unwrap());
    let text = body["text"].as_str().unwrap();
    assert!(text.contains("alice") && text.contains(share_id), "{text}");
    // The alert points at the audit record it came from.
    let record = audit_record(&s, &alice, body["audit_seq"].as_u64().unwrap());
    assert_eq!(record["action"], "share.create");
    assert_eq!(record["target"], body["target"]);

    assert_eq!(redeem(&s, &link).status, 200);
    let redeemed = hooks.next("share_redeemed");
    assert_eq!(redeemed.body["user"], alice_id.as_str());
    assert_eq!(redeemed.body["target"], format!("share:{share_id}"));

    // The one view is gone: a second try is an attempt on a dead link.
    redeem(&s, &link).assert_error(404, "not_found");
    let dead = hooks.next("dead_link_redeem");
    assert_eq!(dead.body["outcome"], "used_up");
    assert_eq!(dead.body["user"], alice_id.as_str());
    assert!(
        dead.body["text"]
            .as_str()
            .unwrap()
            .contains("views were used")
    );

    // Five failed logins on one account within the window alert once; a sixth does not,
    // nor do failures on a name that has no account, nor a token that never existed.
    for _ in 0..5 {
        fail_login(&s, "alice");
    }
    let failed = hooks.next("failed_logins");
    assert_eq!(failed.body["user"], alice_id.as_str());
    assert_eq!(failed.body["target"], format!("user:{alice_id}"));
    assert_eq!(failed.body["outcome"], "denied");
    assert!(
        failed.body["text"]
            .as_str()
            .unwrap()
            .contains("5 failed logins")
    );
    fail_login(&s, "alice");
    for _ in 0..5 {
        fail_login(&s, "nobody-here");
    }
    redeem(&s, "/share/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").assert_error(404, "not_found");
    // A marker alert: delivery is in order, so anything queued before it has arrived.
    s.share(&alice, &id, &json!({}));
    let between = hooks.until("share_created");
    assert_eq!(between.len(), 1, "unexpected alerts: {between:?}");

    let mut all = vec![created, redeemed, dead, failed];
    all.extend(between);
    let session = alice.as_str();
    for h in &all {
        for secret in [VALUE, token, session, PASSWORD, "Bearer"] {
            assert!(!h.raw.contains(secret), "{secret} leaked into {}", h.raw);
        }
        let keys: Vec<&str> = h
            .body
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        for key in ["text", "kind", "user", "target", "ip", "time", "audit_seq"] {
            assert!(keys.contains(&key), "{key} missing from {}", h.raw);
        }
    }
}

#[test]
fn a_dead_webhook_never_slows_or_fails_requests() {
    // Connection refused: a port that was just free.
    let refused = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        format!(
            "http://{}/hook/SECRET-HOOK-PATH?token=q",
            l.local_addr().unwrap()
        )
    };
    let s = Server::start_with(&["--alert-webhook", &refused]);
    let t = s.user("erin");
    let id = s.secret(&t, "db", VALUE);
    let started = Instant::now();
    s.share(&t, &id, &json!({}));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let origin = refused.split("/hook").next().unwrap();
    let log = wait_for_log(&s, &format!("alerts: webhook {origin} failed"));
    assert!(
        !log.contains("SECRET-HOOK-PATH") && !log.contains("token=q"),
        "{log}"
    );

    // A receiver that accepts and never answers: requests still answer at once.
    let hung = TcpListener::bind("127.0.0.1:0").unwrap();
    let hung_url = format!("http://{}/hook", hung.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in hung.incoming() {
            held.push(conn);
        }
    });
    let s = Server::start_with(&["--alert-webhook", &hung_url]);
    let t = s.user("frank");
    let id = s.secret(&t, "db", VALUE);
    for _ in 0..5 {
        let started = Instant::now();
        s.share(&t, &id, &json!({}));
        fail_login(&s, "frank");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
    }
}

/// The SMTP sink process; killed on drop.
struct SmtpSink {
    child: Child,
    port: u16,
    mailbox: PathBuf,
}

impl SmtpSink {
    /// `None` (test skipped) when aiosmtpd is missing outside CI; under CI that fails.
    fn start(dir: &Path) -> Option<SmtpSink> {
        let available = Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !available {
            assert!(
                std::env::var_os("CI").is_none(),
                "python3 with aiosmtpd is required under CI (.ci/run installs it)"
            );
            eprintln!("skipped: python3 -m pip install aiosmtpd to run the SMTP alert test");
            return None;
        }
        let mailbox = dir.join("mailbox");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/smtp_sink.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg(&mailbox)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let Ok(port) = line.trim().parse() else {
            let _ = child.kill();
            panic!("smtp sink did not start: {line:?}");
        };
        Some(SmtpSink {
            child,
            port,
            mailbox,
        })
    }

    /// The messages so far, with quoted-printable soft line breaks joined back up.
    fn messages(&self) -> Vec<String> {
        std::fs::read_to_string(&self.mailbox)
            .unwrap_or_default()
            .replace("=\n", "")
            .split("\n--- end ---\n")
            .filter(|m| !m.trim().is_empty())
            .map(str::to_string)
            .collect()
    }

    /// Waits until `n` messages have arrived.
    fn wait_for(&self, n: usize) -> Vec<String> {
        let deadline = Instant::now() + ARRIVAL;
        loop {
            let messages = self.messages();
            if messages.len() >= n {
                return messages;
            }
            assert!(
                Instant::now() < deadline,
                "{n} messages expected, got {messages:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
#[ignore = "needs python3 with aiosmtpd; run with `cargo test --release --test integration -- --ignored`"]
fn alerts_are_mailed_to_the_accounts_address() {
    let dir = tempfile::tempdir().unwrap();
    let Some(sink) = SmtpSink::start(dir.path()) else {
        return;
    };
    let relay = format!("127.0.0.1:{}", sink.port);
    let s = Server::start_with(&[
        "--alert-smtp",
        &relay,
        "--alert-smtp-from",
        "secretctl@alerts.test",
        "--alert-smtp-tls",
        "none",
    ]);

    // An account without an address: its alerts are skipped without a word.
    let dave = Cli::new(&s);
    dave.login_as("dave");
    dave.run(&["put", "db", "--value", VALUE], b"").success();
    dave.run(&["share", "db"], b"").success();

    let carol = Cli::new(&s);
    carol.login_as("carol");
    carol
        .run(&["account", "set-email", "carol@example.test"], b"")
        .success();
    let shown = carol
        .run(&["--json", "account", "show"], b"")
        .success()
        .json();
    assert_eq!(shown["username"], "carol");
    assert_eq!(shown["email"], "carol@example.test");
    carol.run(&["put", "db", "--value", VALUE], b"").success();
    let url = carol.run(&["share", "db"], b"").success().stdout();
    let token = url.trim().rsplit('/').next().unwrap().to_string();

    let messages = sink.wait_for(1);
    assert_eq!(messages.len(), 1, "dave has no address: {messages:?}");
    let mail = &messages[0];
    for expected in [
        "X-Envelope-From: secretctl@alerts.test",
        "X-Envelope-To: carol@example.test",
        "To: carol@example.test",
        "Subject: [secretctl] new share link",
        "carol created share link share:",
        "kind:       share_created",
        "Message-ID: <alert-",
    ] {
        assert!(mail.contains(expected), "{expected:?} not in\n{mail}");
    }
    assert!(!mail.contains(VALUE) && !mail.contains(&token), "{mail}");
    assert!(!s.log().contains("alerts: mail"), "{}", s.log());

    // Cleared: no more mail.
    carol.run(&["account", "set-email", ""], b"").success();
    let shown = carol
        .run(&["--json", "account", "show"], b"")
        .success()
        .json();
    assert_eq!(shown["email"], Value::Null);
    carol.run(&["share", "db"], b"").success();
    carol
        .run(&["account", "set-email", "carol2@example.test"], b"")
        .success();
    carol.run(&["share", "db"], b"").success();
    let messages = sink.wait_for(2);
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert!(
        messages[1].contains("To: carol2@example.test"),
        "{}",
        messages[1]
    );
}

#[test]
#[ignore = "needs python3 with aiosmtpd; run with `cargo test --release --test integration -- --ignored`"]
fn starttls_is_required_never_silently_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let Some(sink) = SmtpSink::start(dir.path()) else {
        return;
    };
    // The sink offers no STARTTLS: the default mode must refuse to send in clear text.
    let relay = format!("127.0.0.1:{}", sink.port);
    let s = Server::start_with(&[
        "--alert-smtp",
        &relay,
        "--alert-smtp-from",
        "secretctl@alerts.test",
    ]);
    let cli = Cli::new(&s);
    cli.login_as("ivan");
    cli.run(&["account", "set-email", "ivan@example.test"], b"")
        .success();
    cli.run(&["put", "db", "--value", VALUE], b"").success();
    cli.run(&["share", "db"], b"").success();
    wait_for_log(&s, "alerts: mail for user");
    assert!(sink.messages().is_empty(), "{:?}", sink.messages());
}

#[test]
fn bad_alert_settings_stop_serve_before_it_starts() {
    let dir = tempfile::tempdir().unwrap();
    let serve = |args: &[&str], env: &[(&str, &str)]| {
        let out = Command::new(BIN)
            .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path().join("data"))
            .args(args)
            .env_clear()
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let (code, err) = serve(&["--alert-smtp", "mail.example.test:587"], &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--alert-smtp-from"), "{err}");
    let (code, err) = serve(
        &[
            "--alert-smtp",
            "mail.example.test:587",
            "--alert-smtp-from",
            "a@b.test",
            "--alert-smtp-user",
            "mailer",
        ],
        &[],
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("SECRETCTL_ALERT_SMTP_PASSWORD"), "{err}");
    let (code, err) = serve(
        &[
            "--alert-smtp",
            "mail.example.test:25",
            "--alert-smtp-from",
            "a@b.test",
            "--alert-smtp-user",
            "mailer",
            "--alert-smtp-tls",
            "none",
        ],
        &[("SECRETCTL_ALERT_SMTP_PASSWORD", "pw-never-shown-3a")],
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("clear text") && !err.contains("pw-never-shown-3a"),
        "{err}"
    );
    let (code, err) = serve(&["--alert-webhook", "ftp://example.test/hook"], &[]);
    assert_eq!(code, Some(2), "{err}");
    let (code, err) = serve(
        &[
            "--alert-smtp",
            "127.0.0.1:25",
            "--alert-smtp-from",
            "not an address",
        ],
        &[],
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--alert-smtp-from"), "{err}");
    // The flags have environment variables too.
    let (code, err) = serve(&[], &[("SECRETCTL_ALERT_WEBHOOK", "not-a-url")]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--alert-webhook"), "{err}");
}

#[test]
fn a_password_change_alerts_the_owner_without_either_password() {
    let hooks = Receiver::start();
    let s = Server::start_with(&["--alert-webhook", &hooks.url]);
    let t = s.user("judy");
    let judy = account_id(&s, &t);
    let new = "an entirely fresh passphrase";
    let h = s.http();
    // A wrong current password changes nothing and raises no alert of this kind.
    h.put(
        "/account/password",
        Some(&t),
        &json!({"current_password": "not it at all", "new_password": new}),
    )
    .assert_error(403, "forbidden");
    let r = h.put(
        "/account/password",
        Some(&t),
        &json!({"current_password": PASSWORD, "new_password": new}),
    );
    assert_eq!(r.status, 204, "{r:?}");
    let all = hooks.until("password_changed");
    assert_eq!(all.len(), 1, "unexpected alerts: {all:?}");
    let alert = &all[0];
    assert_eq!(alert.body["user"], judy.as_str());
    assert_eq!(alert.body["target"], format!("user:{judy}"));
    assert!(
        alert.body["text"]
            .as_str()
            .unwrap()
            .contains("password of account judy was changed"),
        "{}",
        alert.raw
    );
    for secret in [PASSWORD, new, t.as_str()] {
        assert!(
            !alert.raw.contains(secret),
            "{secret} leaked into {}",
            alert.raw
        );
    }
}

#[test]
fn a_new_service_token_alerts_its_creator() {
    let hooks = Receiver::start();
    let s = Server::start_with(&["--alert-webhook", &hooks.url]);
    let alice = s.user("alice");
    let alice_id = account_id(&s, &alice);
    for team in [None, Some("ops")] {
        let mut body = json!({"name": "ci"});
        if let Some(t) = team {
            assert_eq!(
                s.http()
                    .post("/teams", Some(&alice), &json!({"name": t}))
                    .status,
                201
            );
            body["team"] = json!(t);
        }
        let r = s.http().post("/tokens", Some(&alice), &body);
        assert_eq!(r.status, 201, "{r:?}");
        let hook = hooks.next("token_created");
        assert_eq!(hook.body["user"], alice_id.as_str(), "{team:?}");
        assert_eq!(
            hook.body["target"],
            format!("token:{}", r.json["id"].as_str().unwrap())
        );
        let token = r.json["token"].as_str().unwrap();
        assert!(!hook.body.to_string().contains(token), "no token in alerts");
    }
}
