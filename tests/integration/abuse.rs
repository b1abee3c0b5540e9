//! Abuse resistance over the real server: rate limits with Retry-After, per-username login
//! throttling across addresses, X-Forwarded-For only when trusted, reads served during a
//! login flood at the real hashing cost, password policy, closed registration, headers.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::json;

use crate::util::{Cli, PASSWORD, Reply, Server, creds};

fn login_from(s: &Server, ip: &str, user: &str, password: &str) -> Reply {
    let body = serde_json::to_vec(&json!({"username": user, "password": password})).unwrap();
    s.http().request(
        "POST",
        "/login",
        None,
        &[
            ("Content-Type", "application/json"),
            ("X-Forwarded-For", ip),
        ],
        Some(&body),
    )
}

fn assert_429(r: &Reply) {
    r.assert_error(429, "too_many_requests");
    let wait: u64 = r
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .unwrap();
    assert!((1..=3600).contains(&wait), "{r:?}");
}

#[test]
fn auth_endpoints_are_limited_per_address_and_audited() {
    let log = tempfile::NamedTempFile::new().unwrap();
    let s = Server::start_with(&[
        "--auth-rate-limit",
        "3",
        "--audit-log",
        log.path().to_str().unwrap(),
    ]);
    for _ in 0..3 {
        assert_eq!(s.http().post("/login", None, &creds("nobody")).status, 401);
    }
    assert_429(&s.http().post("/login", None, &creds("nobody")));
    assert_429(&s.http().post("/register", None, &creds("alice")));
    // Other endpoints have their own budget.
    assert_eq!(s.http().get("/secrets", None).status, 401);
    // Without --trust-proxy a forged X-Forwarded-For changes nothing.
    assert_429(&login_from(&s, "198.51.100.7", "nobody", PASSWORD));
    let audit = std::fs::read_to_string(log.path()).unwrap();
    let hits = audit
        .lines()
        .filter(|l| l.contains("\"rate_limit.hit\""))
        .count();
    assert_eq!(
        hits, 1,
        "audited once a minute per client, not per refusal:\n{audit}"
    );
}

#[test]
fn general_limit_applies_to_every_endpoint_but_health() {
    let s = Server::start_with(&["--rate-limit", "2"]);
    let t = s.user("alice");
    let statuses: Vec<u16> = (0..12)
        .map(|_| s.http().get("/secrets", Some(&t)).status)
        .collect();
    assert!(statuses.contains(&429), "{statuses:?}");
    assert!(
        statuses[..4].iter().all(|st| *st == 200),
        "burst of 4 first: {statuses:?}"
    );
    let r = s.http().get("/secrets", Some(&t));
    assert_429(&r);
    assert_eq!(s.http().get("/healthz", None).status, 200);
}

#[test]
fn failed_logins_throttle_the_account_from_any_address() {
    let s = Server::start_with(&["--trust-proxy"]);
    s.user("alice");
    for i in 0..5 {
        let r = login_from(&s, &format!("203.0.113.{i}"), "alice", "not the password");
        r.assert_error(401, "unauthorized");
    }
    // The sixth try, from yet another address and even with the right password, waits.
    let r = login_from(&s, "203.0.113.99", "alice", PASSWORD);
    assert_429(&r);
    assert_eq!(r.header("retry-after"), Some("1"));
    // Other accounts are unaffected.
    s.user("bob");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert_eq!(
        login_from(&s, "203.0.113.100", "alice", PASSWORD).status,
        200
    );
}

#[test]
fn forwarded_for_is_used_only_behind_a_trusted_proxy() {
    let s = Server::start_with(&["--trust-proxy", "--auth-rate-limit", "1"]);
    assert_eq!(login_from(&s, "192.0.2.1", "nobody", PASSWORD).status, 401);
    assert_429(&login_from(&s, "192.0.2.1", "nobody", PASSWORD));
    assert_eq!(login_from(&s, "192.0.2.2", "nobody", PASSWORD).status, 401);
    // The proxy appends the real client last; earlier entries are the client's own claims.
    assert_429(&login_from(&s, "192.0.2.77, 192.0.2.1", "nobody", PASSWORD));
}

#[test]
fn reads_are_served_during_a_login_flood() {
    // Real scrypt cost, many addresses, no per-address limit: only the bounded hashing
    // pool stands between the flood and the workers.
    let s = Server::start_with_real_kdf(&["--trust-proxy"]);
    let t = s.user("alice");
    let id = s.secret(&t, "db", "still-served");
    let flood_done = Arc::new(AtomicUsize::new(0));
    let refused = Arc::new(AtomicUsize::new(0));
    let base = s.url.clone();
    let flooders: Vec<_> = (0..24)
        .map(|i| {
            let (base, done, refused) =
                (base.clone(), Arc::clone(&flood_done), Arc::clone(&refused));
            std::thread::spawn(move || {
                let h = crate::util::Http { base };
                for j in 0..3 {
                    let body = serde_json::to_vec(
                        &json!({"username": format!("u{i}x{j}"), "password": "guess guess"}),
                    )
                    .unwrap();
                    let ip = format!("10.{i}.{j}.1");
                    let r = h.request(
                        "POST",
                        "/login",
                        None,
                        &[
                            ("Content-Type", "application/json"),
                            ("X-Forwarded-For", &ip),
                        ],
                        Some(&body),
                    );
                    assert!(matches!(r.status, 401 | 429), "{r:?}");
                    if r.status == 429 {
                        refused.fetch_add(1, Ordering::SeqCst);
                    }
                }
                done.fetch_add(1, Ordering::SeqCst);
            })
        })
        .collect();
    let mut reads = 0;
    while flood_done.load(Ordering::SeqCst) < 24 || reads < 20 {
        let r = s.http().get(&format!("/secrets/{id}"), Some(&t));
        assert_eq!(
            (r.status, r.json["value"].as_str()),
            (200, Some("still-served")),
            "{r:?}"
        );
        reads += 1;
    }
    for f in flooders {
        f.join().unwrap();
    }
    assert!(
        refused.load(Ordering::SeqCst) > 0,
        "the hashing queue should have shed some logins"
    );
}

#[test]
fn common_passwords_and_the_username_are_refused() {
    let s = Server::start();
    for (user, pw) in [
        ("alice", "password1"),
        ("alice", "Qwertyuiop"),
        ("alice", "12345678"),
        ("alice.smith", "Alice.Smith"),
    ] {
        let r = s.http().post(
            "/register",
            None,
            &json!({"username": user, "password": pw}),
        );
        r.assert_error(400, "bad_request");
        let msg = r.json["message"].as_str().unwrap();
        assert!(msg.contains("common") || msg.contains("username"), "{msg}");
        assert!(
            !msg.to_lowercase().contains(&pw.to_lowercase()),
            "never echo the password: {msg}"
        );
    }
    assert_eq!(
        s.http().post("/register", None, &creds("alice")).status,
        201
    );
}

#[test]
fn registration_can_be_closed() {
    let s = Server::start_with(&["--registration", "closed"]);
    s.http()
        .post("/register", None, &creds("alice"))
        .assert_error(403, "forbidden");
    let cli = Cli::new(&s);
    let r = cli
        .run(
            &["register", "-u", "alice", "--password-stdin"],
            format!("{PASSWORD}\n").as_bytes(),
        )
        .fails_with(3);
    assert!(r.stderr().contains("closed"), "{}", r.stderr());
}

#[test]
fn every_response_carries_the_safety_headers_and_no_cors() {
    let s = Server::start();
    let t = s.user("alice");
    let h = s.http();
    for r in [
        h.get("/healthz", None),
        h.get("/secrets", Some(&t)),
        h.get("/nope", None),
        h.request(
            "GET",
            "/secrets",
            Some(&t),
            &[("Origin", "https://evil.example")],
            None,
        ),
        h.request(
            "OPTIONS",
            "/secrets",
            None,
            &[("Origin", "https://evil.example")],
            None,
        ),
    ] {
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"), "{r:?}");
        assert_eq!(r.header("referrer-policy"), Some("no-referrer"), "{r:?}");
        assert_eq!(r.header("cache-control"), Some("no-store"), "{r:?}");
        assert_eq!(
            r.header("server"),
            Some("secretctl"),
            "no product version: {r:?}"
        );
        assert!(
            r.headers
                .iter()
                .all(|(k, _)| !k.to_ascii_lowercase().starts_with("access-control-")),
            "{r:?}"
        );
    }
}

#[test]
fn stalled_clients_are_cut_off_and_accept_survives_idle_periods() {
    use std::io::{Read, Write};
    let s = Server::start_with(&["--client-timeout", "1", "--workers", "2"]);
    let addr = s.url.trim_start_matches("http://").to_string();
    // As many stalled bodies as there are workers: headers sent, body never finished.
    let stalled: Vec<_> = (0..2)
        .map(|_| {
            let mut c = std::net::TcpStream::connect(&addr).unwrap();
            c.write_all(b"POST /secrets HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"name\"").unwrap();
            c
        })
        .collect();
    // A silent connection, and an idle stretch longer than the timeout (accept() times out
    // in it: the server must keep accepting).
    let _silent = std::net::TcpStream::connect(&addr).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(2500));
    let started = std::time::Instant::now();
    assert_eq!(s.http().get("/healthz", None).status, 200);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    // The stalled ones were answered (or closed), not left holding the workers.
    for mut c in stalled {
        c.set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        let mut buf = Vec::new();
        let _ = c.read_to_end(&mut buf);
        let text = String::from_utf8_lossy(&buf);
        assert!(
            buf.is_empty() || text.starts_with("HTTP/1.1 400") || text.starts_with("HTTP/1.1 408"),
            "{text}"
        );
    }
}

#[test]
fn oversized_headers_are_refused_without_buffering_them() {
    let s = Server::start();
    let long = format!(
        "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(64 * 1024)
    );
    let r = s.http().raw(long.as_bytes());
    assert_eq!(r.status, 400, "{r:?}");
    let mut many = String::from("GET /healthz HTTP/1.1\r\nHost: x\r\n");
    for i in 0..200 {
        many.push_str(&format!("X-H{i}: v\r\n"));
    }
    many.push_str("\r\n");
    assert_eq!(s.http().raw(many.as_bytes()).status, 400);
    assert_eq!(s.http().get("/healthz", None).status, 200);
}

#[test]
fn a_trickled_body_times_out_and_pipelining_readers_cannot_stall_others() {
    use std::io::Write;
    let s = Server::start_with(&["--client-timeout", "1", "--workers", "2"]);
    let addr = s.url.trim_start_matches("http://").to_string();
    let t = s.user("alice");
    let id = s.secret(&t, "big", &"v".repeat(60 * 1024));

    // One byte every 300 ms never trips the per-read timeout, but the whole body must
    // arrive within twice --client-timeout.
    let mut slow = std::net::TcpStream::connect(&addr).unwrap();
    slow.write_all(format!("POST /secrets HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {t}\r\nContent-Type: application/json\r\nContent-Length: 4096\r\n\r\n").as_bytes()).unwrap();
    let started = std::time::Instant::now();
    let mut answer = Vec::new();
    slow.set_read_timeout(Some(std::time::Duration::from_millis(300)))
        .unwrap();
    while started.elapsed() < std::time::Duration::from_secs(8) {
        if slow.write_all(b" ").is_err() {
            break;
        }
        let mut buf = [0u8; 512];
        if let Ok(n) = std::io::Read::read(&mut slow, &mut buf) {
            answer.extend_from_slice(&buf[..n]);
            if n == 0 || answer.windows(4).any(|w| w == b"\r\n\r\n") {
                break;
            }
        }
    }
    let text = String::from_utf8_lossy(&answer);
    assert!(
        text.starts_with("HTTP/1.1 408"),
        "{text:?} after {:?}",
        started.elapsed()
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );

    // A client pipelines large GETs and never reads: only one is in flight at a time, so
    // the other worker keeps serving everyone else.
    let mut greedy = std::net::TcpStream::connect(&addr).unwrap();
    let one = format!("GET /secrets/{id} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {t}\r\n\r\n");
    greedy.write_all(one.repeat(50).as_bytes()).unwrap();
    for _ in 0..10 {
        let started = std::time::Instant::now();
        assert_eq!(s.http().get("/healthz", None).status, 200);
        assert!(
            started.elapsed() < std::time::Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
    }
    drop(greedy);
}

#[test]
fn a_forged_method_cannot_inject_into_the_request_log() {
    let s = Server::start();
    let r = s
        .http()
        .raw(b"GE\x1b[2JT\rFORGED /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert!(matches!(r.status, 400 | 405), "{r:?}");
    assert_eq!(s.http().get("/healthz", None).status, 200);
    let log = s.log();
    assert!(!log.contains('\x1b') && !log.contains("FORGED"), "{log}");
}

#[test]
fn a_huge_declared_body_is_refused_without_harm() {
    // Answered 413 from the header alone; the unread body must not be buffered afterwards
    // (upstream tiny_http allocated its whole declared length and aborted the process).
    let s = Server::start();
    for len in ["100000000000", "4294967296", "2000000"] {
        let raw = format!(
            "POST /secrets HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {len}\r\n\r\n"
        );
        s.http()
            .raw(raw.as_bytes())
            .assert_error(413, "payload_too_large");
    }
    assert_eq!(s.http().get("/healthz", None).status, 200, "{}", s.log());
}
