//! Attacks from the second security review (issue 8) on the login throttle and on share
//! links, each reproduced against the real server.

use std::sync::{Arc, Barrier};

use serde_json::json;

use crate::util::Server;

/// Failed logins a name may have before the throttle makes it wait.
const FREE_FAILURES: usize = 5;

#[test]
fn parallel_wrong_logins_cannot_outrun_the_throttle() {
    // Real hashing cost, so all guesses are in flight while the first ones are hashed; enough
    // workers and hashing queue that none is shed for load (which would also be a 429).
    let s = Server::start_with_real_kdf(&["--workers", "64"]);
    let token = s.user("alice");
    let guesses = 3 * FREE_FAILURES;
    let start = Arc::new(Barrier::new(guesses));
    let threads: Vec<_> = (0..guesses)
        .map(|i| {
            let (h, start) = (s.http(), Arc::clone(&start));
            std::thread::spawn(move || {
                let body = json!({"username": "alice", "password": format!("wrong guess {i}")});
                start.wait();
                h.post("/login", None, &body)
            })
        })
        .collect();
    let statuses: Vec<u16> = threads
        .into_iter()
        .map(|t| t.join().unwrap().status)
        .collect();
    // A 401 is a guess whose password was hashed and checked; a 429 was refused before.
    let checked = statuses.iter().filter(|&&st| st == 401).count();
    assert!(
        statuses.iter().all(|&st| st == 401 || st == 429),
        "{statuses:?}"
    );
    assert!(
        (1..=FREE_FAILURES).contains(&checked),
        "{checked} guesses were checked, at most {FREE_FAILURES} may be: {statuses:?}"
    );
    // Only checked guesses reached the point where a failure is recorded.
    let trail = s.http().get("/audit?limit=500", Some(&token));
    let failed = trail.json["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "login.failed")
        .count();
    assert_eq!(failed, checked, "{trail:?}");
}

fn views_left(s: &Server, token: &str, secret: &str) -> Vec<u64> {
    let r = s
        .http()
        .get(&format!("/secrets/{secret}/shares"), Some(token));
    r.json["shares"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["views_left"].as_u64().unwrap())
        .collect()
}

#[test]
fn a_wildcard_or_missing_accept_never_redeems_a_link_on_get() {
    let s = Server::start();
    let t = s.user("alice");
    let id = s.secret(&t, "db", "SCANNED-VALUE");
    let link = s.share(&t, &id, &json!({}));
    let path = format!("/share/{}", link["token"].as_str().unwrap());
    let h = s.http();
    // What curl sends by default, what mail and chat link scanners send, no Accept at all,
    // and a type family that only includes JSON by wildcard.
    for accept in [Some("*/*"), None, Some("application/*"), Some("*/*;q=0.8")] {
        let headers: Vec<(&str, &str)> = accept.iter().map(|a| ("Accept", *a)).collect();
        let r = h.request("GET", &path, None, &headers, None);
        assert_eq!(r.status, 200, "{accept:?}: {r:?}");
        assert!(
            r.header("content-type")
                .unwrap_or("")
                .starts_with("text/html"),
            "{accept:?}: {r:?}"
        );
        assert!(r.body.contains("A secret is waiting"), "{accept:?}");
        assert!(!r.body.contains("SCANNED-VALUE"), "{accept:?}");
        assert_eq!(views_left(&s, &t, &id), [1], "{accept:?}: nothing consumed");
    }
    // A dead link answers such a GET with the not-found page, not JSON.
    let dead = h.request(
        "GET",
        "/share/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        None,
        &[("Accept", "*/*")],
        None,
    );
    assert_eq!(dead.status, 404);
    assert!(dead.body.contains("id=\"not-found\""), "{dead:?}");
    // Asking for JSON by name redeems, as `curl -H 'Accept: application/json' URL` does.
    let r = h.request("GET", &path, None, &[("Accept", "application/json")], None);
    assert_eq!(
        (r.status, r.json["value"].as_str()),
        (200, Some("SCANNED-VALUE")),
        "{r:?}"
    );
    assert_eq!(views_left(&s, &t, &id), Vec::<u64>::new());

    // `curl -X POST URL` (Accept: */*) still redeems, and so does `secretctl open URL`.
    let link = s.share(&t, &id, &json!({}));
    let posted = h.request(
        "POST",
        &format!("/share/{}", link["token"].as_str().unwrap()),
        None,
        &[("Accept", "*/*")],
        None,
    );
    assert_eq!(posted.json["value"], "SCANNED-VALUE", "{posted:?}");
    let link = s.share(&t, &id, &json!({}));
    let opened = crate::util::Cli::new(&s)
        .run(&["open", link["url"].as_str().unwrap()], b"")
        .success();
    assert!(
        opened.stdout().contains("SCANNED-VALUE"),
        "{}",
        opened.stdout()
    );
}

#[test]
fn a_common_password_is_refused_as_a_share_passphrase() {
    let s = Server::start();
    let t = s.user("alice");
    let id = s.secret(&t, "db", "GUESSABLE-LINK-VALUE");
    let h = s.http();
    for common in ["password123", "Password123", "qwertyuiop"] {
        let r = h.post(
            &format!("/secrets/{id}/share"),
            Some(&t),
            &json!({"passphrase": common}),
        );
        r.assert_error(400, "bad_request");
        assert_eq!(
            r.json["message"],
            "passphrase is one of the 10,000 most common passwords; choose another"
        );
        assert!(!r.body.contains(common), "never echoes it: {r:?}");
    }
    assert_eq!(views_left(&s, &t, &id), Vec::<u64>::new(), "no link made");
    // The CLI says the same in one line.
    let cli = crate::util::Cli::new(&s).env("SECRETCTL_TOKEN", &t);
    let r = cli
        .run(&["share", "db", "--passphrase-stdin"], b"password123\n")
        .fails_with(1);
    assert!(
        r.stderr().contains("10,000 most common passwords"),
        "{}",
        r.stderr()
    );
    let ok = h.post(
        &format!("/secrets/{id}/share"),
        Some(&t),
        &json!({"passphrase": "tulip ferry orbit"}),
    );
    assert_eq!(ok.status, 201, "{ok:?}");
}

/// Audit records for `action` in the `--audit-log` mirror (every record, owned or not).
fn mirrored(path: &std::path::Path, action: &str) -> usize {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(&format!("\"action\":\"{action}\"")))
        .count()
}

/// A random-looking token that was never issued.
fn guess(i: usize) -> String {
    format!("/share/{:A>43}", format!("guess{i}"))
}

#[test]
fn guessing_share_tokens_cannot_grow_the_audit_trail_without_bound() {
    let mut s = Server::start();
    let audit_log = s.dir.path().join("audit.jsonl");
    s.restart_with(&["--audit-log", audit_log.to_str().unwrap(), "--trust-proxy"]);
    let h = s.http();
    let redeem_from = |ip: &str, path: &str| {
        h.request(
            "POST",
            path,
            None,
            &[("Accept", "application/json"), ("X-Forwarded-For", ip)],
            None,
        )
    };
    // Start at the beginning of a server minute, so each phase below (well under a second)
    // stays inside one minute.
    let unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let base = 60 - unix % 60;
    s.set_clock_offset(base);
    // One address, many guesses in one minute: one record, every answer the same 404.
    for i in 0..50 {
        redeem_from("203.0.113.9", &guess(i)).assert_error(404, "not_found");
    }
    assert_eq!(mirrored(&audit_log, "share.redeem"), 1);
    // Another address gets its own first record.
    redeem_from("203.0.113.10", &guess(0)).assert_error(404, "not_found");
    assert_eq!(mirrored(&audit_log, "share.redeem"), 2);

    // The next minute: recorded again, and the log accounts for what was not.
    s.set_clock_offset(base + 60);
    redeem_from("203.0.113.9", &guess(0)).assert_error(404, "not_found");
    assert_eq!(mirrored(&audit_log, "share.redeem"), 3);
    let log = s.log();
    let report = log
        .lines()
        .find(|l| l.starts_with("audit: 49 anonymous attempts in the minute from "))
        .unwrap_or_else(|| panic!("no report line:\n{log}"));
    assert!(report.ends_with("; busiest: 203.0.113.9 x50"), "{report}");

    // Many addresses (a botnet): at most the global budget of records in one minute.
    s.set_clock_offset(base + 120);
    for i in 0..320 {
        let ip = format!("198.51.{}.{}", i / 200, i % 200 + 1);
        redeem_from(&ip, &guess(i)).assert_error(404, "not_found");
    }
    assert_eq!(mirrored(&audit_log, "share.redeem"), 3 + 300);
}
