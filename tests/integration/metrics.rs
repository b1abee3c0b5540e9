//! `/metrics` on its own listener, request ids, and the JSON request log, over the real
//! server.

use serde_json::{Value, json};

use crate::util::{Http, Reply, Server};

/// The metrics listener's base URL, from the `metrics on` line the server logs before it
/// announces its main address.
fn metrics_http(s: &Server) -> Http {
    let log = s.log();
    let url = log
        .lines()
        .find_map(|l| l.strip_prefix("metrics on "))
        .unwrap_or_else(|| panic!("no `metrics on` line:\n{log}"));
    Http {
        base: url.trim().trim_end_matches("/metrics").to_string(),
    }
}

fn scrape(s: &Server) -> String {
    let r = metrics_http(s).get("/metrics", None);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        r.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8"),
        "{r:?}"
    );
    r.body
}

/// The value of the sample written exactly as `series` (name and labels).
fn value(page: &str, series: &str) -> Option<f64> {
    page.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.parse().unwrap_or_else(|_| panic!("{series}: {v}")))
}

fn requests(page: &str, route: &str, method: &str, status: u16) -> f64 {
    let series = format!(
        r#"secretctl_http_requests_total{{route="{route}",method="{method}",status="{status}"}}"#
    );
    value(page, &series).unwrap_or(0.0)
}

fn redeem(s: &Server, path: &str, passphrase: &str) -> Reply {
    s.http()
        .json("POST", path, None, &json!({ "passphrase": passphrase }))
}

#[test]
fn metrics_count_by_route_and_outcome_and_never_name_anyone_or_anything() {
    let s = Server::start_with(&["--metrics-addr", "127.0.0.1:0"]);
    let user = "metrics-user-zq";
    let secret_name = "metrics/secret-name-zq";
    let value_text = "metrics-secret-value-zq";
    let t = s.user(user);
    let id = s.secret(&t, secret_name, value_text);
    let h = s.http();
    for _ in 0..3 {
        assert_eq!(h.get(&format!("/secrets/{id}"), Some(&t)).status, 200);
    }
    let missing = "no-such-secret-id-zq";
    assert_eq!(h.get(&format!("/secrets/{missing}"), Some(&t)).status, 404);
    assert_eq!(h.get("/not-a-route-zq", None).status, 404);
    let share = s.share(&t, &id, &json!({"passphrase": "open sesame 42"}));
    let token = share["token"].as_str().unwrap();
    let path = format!("/share/{token}");
    redeem(&s, &path, "open sesame 41").assert_error(403, "wrong_passphrase");
    assert_eq!(redeem(&s, &path, "open sesame 42").status, 200);
    assert_eq!(
        redeem(&s, "/share/AAAAunknowntokenzqAAAA", "x").status,
        404,
        "unknown link"
    );

    let page = scrape(&s);
    assert_eq!(requests(&page, "/secrets/{id}", "GET", 200), 3.0, "{page}");
    assert_eq!(requests(&page, "/secrets/{id}", "GET", 404), 1.0, "{page}");
    assert_eq!(requests(&page, "/register", "POST", 201), 1.0, "{page}");
    assert_eq!(requests(&page, "(unknown)", "GET", 404), 1.0, "{page}");
    assert_eq!(
        requests(&page, "/share/{token}", "POST", 403),
        1.0,
        "{page}"
    );
    let count = |route: &str| {
        value(
            &page,
            &format!(r#"secretctl_http_request_duration_seconds_count{{route="{route}"}}"#),
        )
    };
    assert_eq!(count("/secrets/{id}"), Some(4.0), "{page}");
    for (outcome, n) in [
        ("redeemed", 1.0),
        ("wrong_passphrase", 1.0),
        ("not_found", 1.0),
        ("failed", 0.0),
    ] {
        let series = format!(r#"secretctl_share_redemptions_total{{outcome="{outcome}"}}"#);
        assert_eq!(value(&page, &series), Some(n), "{series}\n{page}");
    }
    for (action, outcome, n) in [
        ("user.register", "ok", 1.0),
        ("secret.create", "ok", 1.0),
        ("secret.read", "ok", 3.0),
        ("secret.read", "not_found", 1.0),
        ("share.redeem", "ok", 1.0),
        ("share.wrong_passphrase", "denied", 1.0),
    ] {
        let series =
            format!(r#"secretctl_audit_records_total{{action="{action}",outcome="{outcome}"}}"#);
        assert_eq!(value(&page, &series), Some(n), "{series}\n{page}");
    }
    let commits = value(&page, "secretctl_store_commits_total").unwrap();
    assert!(commits >= 6.0, "{page}");
    assert_eq!(
        value(&page, "secretctl_store_commit_batch_size_count"),
        Some(commits),
        "one batch observed per commit\n{page}"
    );
    assert_eq!(
        value(&page, "secretctl_store_commit_duration_seconds_count"),
        Some(commits),
        "{page}"
    );
    let db_size = std::fs::metadata(s.data_dir().join("secretctl.redb"))
        .unwrap()
        .len();
    let reported = value(&page, "secretctl_db_file_bytes").unwrap();
    // The file may grow or shrink (redb trims freed tail pages) between the scrape and the
    // look here, but by far less than half of it.
    assert!(
        reported > 0.0 && reported >= db_size as f64 / 2.0 && reported <= db_size as f64 * 2.0,
        "{reported} vs {db_size}\n{page}"
    );
    assert_eq!(
        value(&page, "secretctl_store_unavailable"),
        Some(0.0),
        "{page}"
    );
    assert_eq!(
        value(&page, "secretctl_store_failed_batches_total"),
        Some(0.0)
    );

    // Nothing identifying in the whole page: no user, secret, value, id, token or session.
    let share_id = share["id"].as_str().unwrap_or(token);
    for needle in [
        user,
        secret_name,
        value_text,
        id.as_str(),
        missing,
        "not-a-route-zq",
        "unknowntokenzq",
        token,
        share_id,
        t.as_str(),
        "open sesame",
    ] {
        assert!(!page.contains(needle), "scrape holds {needle:?}:\n{page}");
    }
}

#[test]
fn the_metrics_listener_serves_get_metrics_alone_and_the_api_does_not_serve_it() {
    let s = Server::start_with(&["--metrics-addr", "127.0.0.1:0"]);
    let m = metrics_http(&s);
    assert_ne!(m.base, s.url, "a listener of its own");
    for (method, path) in [
        ("GET", "/"),
        ("GET", "/metrics/"),
        ("GET", "/healthz"),
        ("POST", "/metrics"),
        ("DELETE", "/metrics"),
    ] {
        m.request(method, path, None, &[], None)
            .assert_error(404, "not_found");
    }
    assert_eq!(m.get("/metrics?x=1", None).status, 200);
    // The API listener knows no such route, and scrapes are not requests of the API.
    s.http()
        .get("/metrics", None)
        .assert_error(404, "not_found");
    let page = scrape(&s);
    assert_eq!(requests(&page, "(unknown)", "GET", 404), 1.0, "{page}");
    assert_eq!(requests(&page, "(unknown)", "POST", 404), 0.0, "{page}");
}

#[test]
fn without_metrics_addr_nothing_more_listens_and_the_env_var_turns_it_on() {
    let mut s = Server::start();
    assert!(!s.log().contains("metrics on"), "{}", s.log());
    assert!(s.stop().success());
    s.spawn_env(&[], &[("SECRETCTL_METRICS_ADDR", "127.0.0.1:0")]);
    assert!(scrape(&s).contains("secretctl_http_requests_total"));
}

#[test]
fn a_metrics_addr_that_cannot_be_bound_stops_serve_with_one_line() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(crate::util::BIN)
        .args(["serve", "--insecure-fast-kdf", "--addr", "127.0.0.1:0"])
        .args(["--metrics-addr", &addr, "--data-dir"])
        .arg(dir.path().join("data"))
        .env_clear()
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    let expected = format!("error: cannot listen on {addr}: ");
    assert!(err.lines().any(|l| l.starts_with(&expected)), "{err}");
    assert!(out.stdout.is_empty(), "never announced: {out:?}");
}

#[test]
fn rate_limit_refusals_are_counted_by_class() {
    let s = Server::start_with(&["--metrics-addr", "127.0.0.1:0", "--auth-rate-limit", "2"]);
    let refused = (0..6)
        .map(|_| {
            s.http()
                .post("/login", None, &crate::util::creds("nobody-zq"))
        })
        .filter(|r| r.status == 429)
        .count();
    assert!(refused > 0, "the limit refused nothing");
    let page = scrape(&s);
    assert_eq!(
        value(&page, r#"secretctl_rate_limited_total{class="auth"}"#),
        Some(refused as f64),
        "{page}"
    );
    assert_eq!(
        value(&page, r#"secretctl_rate_limited_total{class="general"}"#),
        Some(0.0)
    );
    assert_eq!(requests(&page, "/login", "POST", 429), refused as f64);
    assert!(!page.contains("nobody-zq"));
}

#[test]
fn every_response_carries_a_request_id_that_its_log_line_holds() {
    let s = Server::start();
    let mut seen = std::collections::HashSet::new();
    for path in ["/healthz", "/secrets", "/nowhere"] {
        let r = s.http().get(path, None);
        let id = r.header("x-request-id").unwrap_or_else(|| panic!("{r:?}"));
        assert!(
            id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit()),
            "{id}"
        );
        assert!(seen.insert(id.to_string()), "ids repeat");
        let log = s.log();
        let line = log
            .lines()
            .find(|l| l.split(' ').nth(1) == Some(id))
            .unwrap_or_else(|| panic!("no log line for {id}:\n{log}"));
        assert!(line.contains(" GET "), "{line}");
        assert!(line.ends_with("ms"), "{line}");
    }
}

/// Log lines that are JSON objects.
fn json_lines(s: &Server) -> Vec<Value> {
    s.log()
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn the_json_log_has_one_object_per_request_and_ties_failures_to_their_request() {
    let mut s = Server::start_with(&["--log-format", "json"]);
    let audit_log = s.dir.path().join("audit.jsonl");
    s.restart_with(&[
        "--log-format",
        "json",
        "--audit-log",
        audit_log.to_str().unwrap(),
    ]);
    let t = s.user("json-log-user-zq");
    let id = s.secret(&t, "json/name-zq", "json-value-zq");
    let ok = s.http().get(&format!("/secrets/{id}"), Some(&t));
    assert_eq!(ok.status, 200);
    let ok_id = ok.header("x-request-id").unwrap().to_string();
    // The audit mirror becomes unwritable: the next read fails inside the server.
    std::fs::remove_file(&audit_log).unwrap();
    std::fs::create_dir(&audit_log).unwrap();
    let failed = s
        .http()
        .get(&format!("/secrets/{id}?q=SECRET-QUERY"), Some(&t));
    failed.assert_error(503, "unavailable");
    let failed_id = failed.header("x-request-id").unwrap().to_string();

    let lines = json_lines(&s);
    let request = |rid: &str| {
        lines
            .iter()
            .find(|v| v["event"] == "request" && v["request_id"] == rid)
            .unwrap_or_else(|| panic!("no request line for {rid}: {lines:?}"))
            .clone()
    };
    let line = request(&ok_id);
    assert_eq!(line["method"], "GET");
    assert_eq!(line["route"], "/secrets/{id}");
    assert_eq!(line["status"], 200);
    assert_eq!(line["remote_ip"], "127.0.0.1");
    assert!(
        line["duration_ms"].as_f64().is_some_and(|d| d >= 0.0),
        "{line}"
    );
    assert!(
        secretctl::timefmt::parse_rfc3339(line["time"].as_str().unwrap()).is_some(),
        "{line}"
    );
    let mut keys: Vec<&String> = line.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "duration_ms",
            "event",
            "method",
            "remote_ip",
            "request_id",
            "route",
            "status",
            "time"
        ]
    );
    assert_eq!(request(&failed_id)["status"], 503);
    let error = lines
        .iter()
        .find(|v| v["event"] == "error" && v["request_id"] == failed_id.as_str())
        .unwrap_or_else(|| panic!("no error line for {failed_id}: {lines:?}"));
    assert_eq!(error["route"], "/secrets/{id}");
    assert!(
        error["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("audit trail unavailable: ")),
        "{error}"
    );
    // Every request of this run is logged as JSON, and nothing identifying is in the log.
    let log = s.log();
    assert!(
        !log.lines()
            .any(|l| l.ends_with("ms") && !l.starts_with('{')),
        "{log}"
    );
    for needle in [
        "json-log-user-zq",
        "json/name-zq",
        "json-value-zq",
        &id,
        &t,
        "SECRET-QUERY",
    ] {
        assert!(!log.contains(needle), "log holds {needle:?}:\n{log}");
    }
}

#[test]
fn the_log_format_comes_from_the_environment_too_and_bad_values_are_usage_errors() {
    let mut s = Server::start();
    assert!(s.stop().success());
    s.spawn_env(&[], &[("SECRETCTL_LOG_FORMAT", "json")]);
    let r = s.http().get("/healthz", None);
    let rid = r.header("x-request-id").unwrap();
    assert!(
        json_lines(&s)
            .iter()
            .any(|v| v["request_id"] == rid && v["route"] == "/healthz"),
        "{}",
        s.log()
    );
    let out = std::process::Command::new(crate::util::BIN)
        .args(["serve", "--log-format", "xml"])
        .env_clear()
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    // A metrics address without a port is refused before anything is created.
    for bad in ["", "localhost", "127.0.0.1:", ":9200", "127.0.0.1:99999"] {
        let dir = tempfile::tempdir().unwrap();
        let out = std::process::Command::new(crate::util::BIN)
            .args(["serve", "--metrics-addr", bad, "--data-dir"])
            .arg(dir.path().join("data"))
            .env_clear()
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {out:?}");
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            "error: --metrics-addr must be HOST:PORT\n"
        );
        assert!(!dir.path().join("data").exists(), "{bad:?}");
    }
}

/// A small tmpfs mounted for one test, unmounted on drop.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    /// `None` (with a note) where mounting is not permitted.
    fn mount(size: &str) -> Option<SmallDisk> {
        let dir = tempfile::tempdir().unwrap();
        let out = std::process::Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(dir.path())
            .output()
            .ok()?;
        if !out.status.success() {
            eprintln!(
                "note: skipped, cannot mount a tmpfs here: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
            return None;
        }
        Some(SmallDisk { dir })
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .args(["-l"])
            .arg(self.dir.path())
            .status();
    }
}

#[test]
fn a_full_disk_shows_as_storage_unavailable_and_failed_batches() {
    let Some(disk) = SmallDisk::mount("4m") else {
        return;
    };
    let data = disk.dir.path().join("data");
    let data = data.to_str().unwrap();
    let mut s = Server::start();
    assert!(s.stop().success());
    s.spawn(&["--metrics-addr", "127.0.0.1:0", "--data-dir", data]);
    let t = s.user("disk-user");
    let page = scrape(&s);
    assert_eq!(
        value(&page, "secretctl_store_unavailable"),
        Some(0.0),
        "{page}"
    );
    // Fill what is left of the disk, then write until a write needs space the file lacks.
    {
        use std::io::Write;
        let mut filler = std::fs::File::create(disk.dir.path().join("filler")).unwrap();
        let chunk = vec![0u8; 64 * 1024];
        while filler.write_all(&chunk).is_ok() {}
    }
    let filler_value = "v".repeat(60 * 1024);
    let mut failed = None;
    for i in 0..200 {
        let r = s.http().post(
            "/secrets",
            Some(&t),
            &json!({"name": format!("filler-{i}"), "value": filler_value}),
        );
        if r.status != 201 {
            failed = Some(r);
            break;
        }
    }
    let failed = failed.expect("a 4 MiB disk filled up");
    assert!(matches!(failed.status, 500 | 503), "{failed:?}");
    let page = scrape(&s);
    assert_eq!(
        value(&page, "secretctl_store_unavailable"),
        Some(1.0),
        "{page}\n{}",
        s.log()
    );
    assert!(value(&page, "secretctl_store_failed_batches_total").unwrap() >= 1.0);
    assert!(!page.contains("disk-user") && !page.contains("filler-"));
}

/// `--workers` requests are handled at once and 4 × `--workers` wait in line; the next one
/// is answered `503` with `Retry-After` at once, and the gauges show the queue. Slow bodies
/// (headers sent, body never) hold the one worker and the line until each times out.
#[test]
fn past_the_workers_and_their_line_a_request_gets_503_at_once() {
    use std::io::{Read, Write};
    use std::time::{Duration, Instant};
    let s = Server::start_with(&[
        "--metrics-addr",
        "127.0.0.1:0",
        "--workers",
        "1",
        "--client-timeout",
        "1",
    ]);
    let addr = s.url.trim_start_matches("http://").to_string();
    let slow: Vec<_> = (0..5)
        .map(|_| {
            let mut c = std::net::TcpStream::connect(&addr).unwrap();
            // Over 1 KiB: tiny_http reads smaller bodies itself before handing the request on.
            c.write_all(b"POST /secrets HTTP/1.1\r\nHost: x\r\nContent-Length: 10000\r\n\r\n")
                .unwrap();
            c
        })
        .collect();
    // Until one holds the worker and four wait (the metrics listener has its own workers).
    let started = Instant::now();
    loop {
        let page = scrape(&s);
        let load = (
            value(&page, "secretctl_http_requests_in_progress"),
            value(&page, "secretctl_http_requests_waiting"),
        );
        if load == (Some(1.0), Some(4.0)) {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(5), "{load:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    let refused = s.http().get("/healthz", None);
    assert_eq!(refused.status, 503, "{refused:?}");
    assert_eq!(refused.header("retry-after"), Some("1"));
    assert_eq!(refused.header("connection"), Some("close"));
    assert!(
        s.log().contains(" refused 503 all workers busy"),
        "{}",
        s.log()
    );
    // Each slow body times out in turn (408) and frees the worker for the next.
    for mut c in slow {
        c.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
        let mut buf = Vec::new();
        let _ = c.read_to_end(&mut buf);
        let text = String::from_utf8_lossy(&buf);
        assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    }
    assert_eq!(s.http().get("/healthz", None).status, 200);
    let page = scrape(&s);
    assert_eq!(value(&page, "secretctl_http_requests_waiting"), Some(0.0));
}
