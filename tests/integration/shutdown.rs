//! Graceful shutdown over raw sockets: on SIGTERM idle kept-alive connections close at once,
//! requests begun before it are served, requests begun during the drain get 503 (never
//! silence), and `--shutdown-timeout` bounds the whole drain, slow clients included.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::util::{Reply, Server, parse_reply};

fn connect(s: &Server) -> TcpStream {
    let c = TcpStream::connect(s.url.trim_start_matches("http://")).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    c
}

/// Reads one response (headers and a Content-Length body) from a kept-alive connection.
fn read_reply(c: &mut TcpStream) -> Reply {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        match c.read(&mut byte) {
            Ok(1) => buf.push(byte[0]),
            other => panic!(
                "no answer ({other:?}) after {:?}",
                String::from_utf8_lossy(&buf)
            ),
        }
    }
    let head = parse_reply(&buf);
    let len: usize = head
        .header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    c.read_exact(&mut body).unwrap();
    buf.extend_from_slice(&body);
    parse_reply(&buf)
}

/// Polls the server log (bounded) until the drain has begun.
fn wait_for_drain(s: &Server) {
    let until = Instant::now() + Duration::from_secs(10);
    while !s.log().contains("shutting down") {
        assert!(Instant::now() < until, "no drain in the log:\n{}", s.log());
        std::thread::sleep(Duration::from_millis(10));
    }
}

const HEALTH: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";

#[test]
fn after_sigterm_every_request_gets_an_answer_and_idle_connections_close() {
    let mut s = Server::start_with(&["--shutdown-timeout", "15"]);
    let t = s.user("alice");

    // Kept alive and idle when the signal comes.
    let mut idle = connect(&s);
    idle.write_all(HEALTH).unwrap();
    assert_eq!(read_reply(&mut idle).status, 200);

    // Kept alive, with the next request half sent when the signal comes.
    let mut half = connect(&s);
    half.write_all(HEALTH).unwrap();
    assert_eq!(read_reply(&mut half).status, 200);
    half.write_all(b"GET /healthz HTTP/1.1\r\n").unwrap();

    // A request already received, its body still arriving.
    let body = br#"{"name":"late","value":"still stored"}"#;
    let mut inflight = connect(&s);
    inflight
        .write_all(
            format!(
                "POST /secrets HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {t}\r\n\
                 Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                body.len()
            )
            .as_bytes(),
        )
        .unwrap();
    inflight.write_all(&body[..10]).unwrap();

    s.signal("TERM");
    wait_for_drain(&s);

    // The idle connection is closed at once, not left to the client timeout.
    let mut rest = Vec::new();
    assert_eq!(idle.read_to_end(&mut rest).map_err(|e| e.kind()), Ok(0));

    // The half-sent request, finished during the drain, is served, and its connection
    // closed after it.
    half.write_all(b"Host: x\r\n\r\n").unwrap();
    let r = read_reply(&mut half);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.header("connection"), Some("close"), "{r:?}");
    assert_eq!(half.read_to_end(&mut rest).map_err(|e| e.kind()), Ok(0));

    // So is a request on a connection made during the drain.
    let mut late = connect(&s);
    late.write_all(HEALTH).unwrap();
    let r = read_reply(&mut late);
    r.assert_error(503, "unavailable");
    assert_eq!(r.header("connection"), Some("close"), "{r:?}");

    // The request received before the signal is served, and its connection closed.
    inflight.write_all(&body[10..]).unwrap();
    let r = read_reply(&mut inflight);
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(r.header("connection"), Some("close"), "{r:?}");

    let status = s
        .wait_exit(Duration::from_secs(10))
        .expect("exits once drained");
    assert!(status.success(), "{status:?}\n{}", s.log());
    assert!(!s.log().contains("shutdown timeout"), "{}", s.log());
}

#[test]
fn a_trickling_body_does_not_hold_the_exit_past_the_shutdown_timeout() {
    // The body may take 2 x --client-timeout (30 s) in all; the drain may take 2 s.
    let mut s = Server::start_with(&["--shutdown-timeout", "2"]);
    let t = s.user("alice");
    let mut slow = connect(&s);
    slow.write_all(
        format!(
            "POST /secrets HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {t}\r\n\
             Content-Type: application/json\r\nContent-Length: 4096\r\n\r\n{{"
        )
        .as_bytes(),
    )
    .unwrap();
    let trickle = std::thread::spawn(move || {
        // One byte every 200 ms: never idle long enough for the per-read timeout.
        for _ in 0..200 {
            if slow.write_all(b" ").is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    });
    s.signal("TERM");
    let status = s
        .wait_exit(Duration::from_secs(10))
        .unwrap_or_else(|| panic!("still draining after 10 s:\n{}", s.log()));
    assert!(status.success(), "{status:?}\n{}", s.log());
    assert!(
        s.log().contains("shutdown timeout: cutting off 1 requests"),
        "{}",
        s.log()
    );
    trickle.join().unwrap();
}
