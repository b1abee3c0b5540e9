//! The HTTP layer over raw sockets: strict message framing (no request smuggling building
//! blocks), `Connection: upgrade` treated as an ordinary request, the client address behind
//! a proxy, and what is logged for refused requests.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::util::{Reply, Server, parse_reply};

/// Writes `raw` on one connection and reads until the server closes it (or 10 s pass);
/// returns every response found, in order.
fn exchange(s: &Server, raw: &[u8]) -> Vec<Reply> {
    let mut c = TcpStream::connect(s.url.trim_start_matches("http://")).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let _ = c.write_all(raw);
    let mut buf = Vec::new();
    let _ = c.read_to_end(&mut buf);
    split_replies(&buf)
}

/// Splits a byte stream into responses, using each one's Content-Length.
pub fn split_replies(mut buf: &[u8]) -> Vec<Reply> {
    let mut out = Vec::new();
    while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
        let head = String::from_utf8_lossy(&buf[..end]).to_string();
        let len: usize = head
            .lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.trim().parse().ok())
            .unwrap_or(0);
        let total = (end + 4 + len).min(buf.len());
        out.push(parse_reply(&buf[..total]));
        buf = &buf[total..];
    }
    out
}

/// A request whose framing is ambiguous, followed on the same connection by a GET that a
/// smuggling attack would want served.
fn smuggle(headers: &str, body: &str) -> Vec<u8> {
    format!(
        "POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n{headers}\r\n{body}\
         GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    )
    .into_bytes()
}

#[test]
fn ambiguous_framing_is_refused_and_the_connection_closed() {
    let s = Server::start();
    let cases: &[(&str, &str, &str, u16)] = &[
        ("not digits", "Content-Length: abc\r\n", "", 400),
        ("signed", "Content-Length: +5\r\n", "hello", 400),
        ("comma list", "Content-Length: 5, 5\r\n", "hello", 400),
        (
            "two values",
            "Content-Length: 0\r\nContent-Length: 5\r\n",
            "hello",
            400,
        ),
        (
            "same value twice",
            "Content-Length: 5\r\nContent-Length: 5\r\n",
            "hello",
            400,
        ),
        (
            "length and chunked",
            "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
            "0\r\n\r\n",
            400,
        ),
        ("gzip", "Transfer-Encoding: gzip\r\n", "0\r\n\r\n", 400),
        (
            "xchunked",
            "Transfer-Encoding: xchunked\r\n",
            "0\r\n\r\n",
            400,
        ),
        (
            "chunked not last",
            "Transfer-Encoding: chunked, gzip\r\n",
            "0\r\n\r\n",
            400,
        ),
        (
            "chunked twice",
            "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
            "0\r\n\r\n",
            400,
        ),
        (
            "obs-fold",
            "X-Padding: a\r\n Transfer-Encoding: chunked\r\n",
            "0\r\n\r\n",
            400,
        ),
        (
            "obs-fold with tab",
            "X-Padding: a\r\n\tContent-Length: 5\r\n",
            "hello",
            400,
        ),
        (
            "unimplemented coding",
            "Transfer-Encoding: gzip, chunked\r\n",
            "0\r\n\r\n",
            501,
        ),
    ];
    for (what, headers, body, status) in cases {
        let replies = exchange(&s, &smuggle(headers, body));
        assert_eq!(
            replies.len(),
            1,
            "{what}: one answer, the next request must not be served: {replies:?}"
        );
        let r = &replies[0];
        let code = if *status == 400 {
            "bad_request"
        } else {
            "not_implemented"
        };
        r.assert_error(*status, code);
        assert_eq!(r.header("connection"), Some("close"), "{what}: {r:?}");
    }
    // HTTP/1.0 has no chunked coding: Transfer-Encoding there is a framing error too.
    let replies = exchange(
        &s,
        b"POST /login HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    assert_eq!(replies.len(), 1, "{replies:?}");
    replies[0].assert_error(400, "bad_request");

    // HTTP/2 and later: one 505 (not a 500 first), and the connection closed.
    let replies = exchange(
        &s,
        b"GET /healthz HTTP/2.0\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    assert_eq!(replies.len(), 1, "{replies:?}");
    replies[0].assert_error(505, "http_version_not_supported");

    // Well-framed requests on one kept-alive connection are all still served.
    let ok = exchange(
        &s,
        b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello\
          POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n\
          GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    let statuses: Vec<u16> = ok.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [405, 405, 200], "{ok:?}");
}

#[test]
fn a_refused_body_is_never_parsed_as_the_next_request() {
    // 413 from Content-Length alone, the body unread: it must not be read as a request.
    let s = Server::start();
    let raw = "POST /secrets HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
               Content-Length: 2000000\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    let replies = exchange(&s, raw.as_bytes());
    assert_eq!(replies.len(), 1, "{replies:?}");
    replies[0].assert_error(413, "payload_too_large");
    assert_eq!(replies[0].header("connection"), Some("close"));
}

#[test]
fn connection_upgrade_is_answered_like_any_request() {
    // tiny_http used to hand the raw socket over as the body of such a request: reading it
    // held a worker until the client timeout, and a dozen of them made /healthz 503.
    let s = Server::start_with(&["--workers", "2"]);
    let addr = s.url.trim_start_matches("http://").to_string();
    // Each connection stays open (as an upgraded one would) while the next is made.
    let mut open = Vec::new();
    for _ in 0..12 {
        let mut c = TcpStream::connect(&addr).unwrap();
        c.write_all(
            b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
        )
        .unwrap();
        // Bounded by the socket timeout, far below the server's 15 s client timeout.
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut buf = [0u8; 4096];
        let n = c.read(&mut buf).unwrap_or(0);
        let replies = split_replies(&buf[..n]);
        assert_eq!(
            replies.iter().map(|r| r.status).collect::<Vec<_>>(),
            [200],
            "an ordinary answer, at once: {:?}",
            String::from_utf8_lossy(&buf[..n])
        );
        assert_eq!(replies[0].header("upgrade"), None);
        open.push(c);
    }
    assert_eq!(s.http().get("/healthz", None).status, 200, "{}", s.log());
}

#[test]
fn refused_requests_are_logged_without_their_content() {
    let s = Server::start();
    let replies = exchange(
        &s,
        b"POST /login HTTP/1.1\r\nHost: x\r\nX-Marker: leak-me-not\r\nContent-Length: 1\r\n\
          Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    );
    replies[0].assert_error(400, "bad_request");
    let too_big = exchange(
        &s,
        b"POST /secrets HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n",
    );
    too_big[0].assert_error(413, "payload_too_large");
    assert_eq!(s.http().get("/healthz", None).status, 200);
    let log = s.log();
    let refused: Vec<&str> = log.lines().filter(|l| l.contains(" refused ")).collect();
    assert!(
        refused
            .iter()
            .any(|l| l.contains("127.0.0.1 refused 400 both Content-Length and Transfer-Encoding")),
        "{log}"
    );
    assert!(
        refused
            .iter()
            .any(|l| l.contains("127.0.0.1 refused 413 payload_too_large")),
        "{log}"
    );
    assert!(
        !log.contains("leak-me-not") && !log.contains("/login"),
        "{log}"
    );
}

/// A login attempt through a proxy: `xff` are the X-Forwarded-For lines, in order.
fn login_via(s: &Server, xff: &[&str]) -> Reply {
    let body = br#"{"username":"nobody","password":"correct horse battery staple"}"#;
    let mut headers = vec![("Content-Type", "application/json")];
    headers.extend(xff.iter().map(|v| ("X-Forwarded-For", *v)));
    s.http()
        .request("POST", "/login", None, &headers, Some(body))
}

#[test]
fn a_forged_forwarded_for_line_does_not_pick_the_address() {
    // HAProxy's `option forwardfor` appends a line of its own: the client's forged line
    // stays first. Rotating it used to bypass the login limit and forge audit addresses.
    let log = tempfile::NamedTempFile::new().unwrap();
    let s = Server::start_with(&[
        "--trust-proxy",
        "--auth-rate-limit",
        "2",
        "--audit-log",
        log.path().to_str().unwrap(),
    ]);
    for i in 0..2 {
        let forged = format!("198.51.100.{i}");
        assert_eq!(login_via(&s, &[&forged, "192.0.2.1"]).status, 401);
    }
    let r = login_via(&s, &["198.51.100.99", "192.0.2.1"]);
    r.assert_error(429, "too_many_requests");
    // Another real client behind the same proxy has its own budget.
    assert_eq!(login_via(&s, &["198.51.100.0", "192.0.2.2"]).status, 401);
    let audit = std::fs::read_to_string(log.path()).unwrap();
    let failures: Vec<serde_json::Value> = audit
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|v: &serde_json::Value| v["action"] == "login.failed")
        .collect();
    assert_eq!(failures.len(), 3, "{audit}");
    for f in &failures {
        let ip = f["ip"].as_str().unwrap();
        assert!(ip == "192.0.2.1" || ip == "192.0.2.2", "{audit}");
    }
}

#[test]
fn trusted_hops_pick_the_address_the_outermost_proxy_saw() {
    let s = Server::start_with(&[
        "--trust-proxy",
        "--trusted-hops",
        "2",
        "--auth-rate-limit",
        "1",
    ]);
    // client -> CDN (appends the client) -> proxy (appends the CDN) -> server.
    assert_eq!(
        login_via(&s, &["198.51.100.1, 192.0.2.1", "203.0.113.1"]).status,
        401
    );
    login_via(&s, &["198.51.100.2, 192.0.2.1", "203.0.113.2"])
        .assert_error(429, "too_many_requests");
    assert_eq!(
        login_via(&s, &["198.51.100.1, 192.0.2.3", "203.0.113.1"]).status,
        401
    );
}

#[test]
fn ipv6_clients_are_limited_per_64() {
    // One host usually holds a whole /64: rotating the low bits must not buy new budgets.
    let s = Server::start_with(&["--trust-proxy", "--auth-rate-limit", "1"]);
    assert_eq!(login_via(&s, &["2001:db8:a:b::1"]).status, 401);
    login_via(&s, &["2001:db8:a:b:dead:beef:0:2"]).assert_error(429, "too_many_requests");
    assert_eq!(login_via(&s, &["2001:db8:a:c::1"]).status, 401);
    // An IPv4-mapped address draws from the IPv4 address's budget.
    assert_eq!(login_via(&s, &["192.0.2.10"]).status, 401);
    login_via(&s, &["::ffff:192.0.2.10"]).assert_error(429, "too_many_requests");
}
