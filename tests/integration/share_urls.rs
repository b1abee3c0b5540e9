//! Share link URLs from a server listening on every interface: built from the request's
//! `Host` header when no `--public-url` is set, the placeholder (and a warning) otherwise.

use crate::util::Server;

/// Creates a share of `id` with `host` as the request's `Host` header; returns its URL.
fn share_url_via(s: &Server, token: &str, id: &str, host: &str) -> String {
    let body = b"{}";
    let raw = format!(
        "POST /secrets/{id}/share HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{}",
        body.len(),
        std::str::from_utf8(body).unwrap()
    );
    let r = s.http().raw(raw.as_bytes());
    assert_eq!(r.status, 201, "{r:?}");
    r.json["url"].as_str().unwrap().to_string()
}

fn port_of(s: &Server) -> String {
    s.url.rsplit(':').next().unwrap().to_string()
}

#[test]
fn an_unspecified_address_builds_links_from_the_host_header_and_warns() {
    let s = Server::start_on("0.0.0.0:0", &[]);
    let port = port_of(&s);
    let log = s.log();
    assert!(
        log.contains("warning: no --public-url while listening on every interface")
            && log.contains(&format!("placeholder http://0.0.0.0:{port}")),
        "{log}"
    );
    let token = s.user("alice");
    let id = s.secret(&token, "db", "v");

    let url = share_url_via(&s, &token, &id, &format!("Box.Example:{port}"));
    assert!(
        url.starts_with(&format!("http://box.example:{port}/share/")),
        "{url}"
    );
    let local = share_url_via(&s, &token, &id, &format!("127.0.0.1:{port}"));
    assert!(
        local.starts_with(&format!("http://127.0.0.1:{port}/share/")),
        "{local}"
    );
    // The link works where it says (the test host reaches this server at 127.0.0.1).
    let path = &local[format!("http://127.0.0.1:{port}").len()..];
    let r = s.http().post(path, None, &serde_json::json!({}));
    assert_eq!(
        (r.status, r.json["value"].as_str()),
        (200, Some("v")),
        "{r:?}"
    );

    assert!(!s.log().contains("placeholder base"));
    for bad in [
        "evil.example/path",
        "user@evil.example",
        "0.0.0.0:1",
        "x:99999",
    ] {
        let url = share_url_via(&s, &token, &id, bad);
        assert!(
            url.starts_with(&format!("http://0.0.0.0:{port}/share/")),
            "{bad}: {url}"
        );
    }
    let log = s.log();
    assert!(
        log.contains("a share link was made with the placeholder base"),
        "{log}"
    );
    assert!(
        !log.contains("evil.example"),
        "the header is never echoed: {log}"
    );
}

#[test]
fn a_public_url_or_a_specific_address_ignores_the_host_header() {
    let s = Server::start_on(
        "0.0.0.0:0",
        &["--public-url", "https://secrets.example.com/"],
    );
    assert!(!s.log().contains("no --public-url"), "{}", s.log());
    let token = s.user("alice");
    let id = s.secret(&token, "db", "v");
    let url = share_url_via(&s, &token, &id, "other.example");
    assert!(
        url.starts_with("https://secrets.example.com/share/"),
        "{url}"
    );

    let s = Server::start();
    assert!(!s.log().contains("no --public-url"), "{}", s.log());
    let token = s.user("alice");
    let id = s.secret(&token, "db", "v");
    let url = share_url_via(&s, &token, &id, "other.example");
    assert!(url.starts_with(&format!("{}/share/", s.url)), "{url}");
}
