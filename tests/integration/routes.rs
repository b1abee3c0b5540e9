//! The route table as a client and the request log see it: every path template with a
//! method it serves and one it does not, the `Allow` list of each 405, and the template the
//! log line carries (never the id or token in the path).

use crate::util::Server;

/// Method, path, expected status, expected `Allow`, expected log template.
type Case = (
    &'static str,
    &'static str,
    u16,
    Option<&'static str>,
    &'static str,
);

const TOKEN_PATH: &str = "/share/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

const CASES: &[Case] = &[
    ("GET", "/healthz", 200, None, "/healthz"),
    ("HEAD", "/healthz", 200, None, "/healthz"),
    ("POST", "/healthz", 405, Some("GET, HEAD"), "/healthz"),
    ("GET", "/register", 405, Some("POST"), "/register"),
    ("PUT", "/login", 405, Some("POST"), "/login"),
    ("POST", "/logout", 401, None, "/logout"),
    ("GET", "/logout", 405, Some("POST"), "/logout"),
    ("GET", "/account", 401, None, "/account"),
    ("DELETE", "/account", 401, None, "/account"),
    ("POST", "/account", 405, Some("GET, DELETE"), "/account"),
    ("PUT", "/account/password", 401, None, "/account/password"),
    (
        "GET",
        "/account/password",
        405,
        Some("PUT"),
        "/account/password",
    ),
    ("GET", "/account/sessions", 401, None, "/account/sessions"),
    (
        "DELETE",
        "/account/sessions",
        405,
        Some("GET"),
        "/account/sessions",
    ),
    (
        "POST",
        "/account/sessions/revoke-others",
        401,
        None,
        "/account/sessions/revoke-others",
    ),
    (
        "DELETE",
        "/account/sessions/revoke-others",
        405,
        Some("POST"),
        "/account/sessions/revoke-others",
    ),
    (
        "DELETE",
        "/account/sessions/0123456789abcdef",
        401,
        None,
        "/account/sessions/{id}",
    ),
    (
        "GET",
        "/account/sessions/0123456789abcdef",
        405,
        Some("DELETE"),
        "/account/sessions/{id}",
    ),
    ("PUT", "/account/email", 401, None, "/account/email"),
    ("GET", "/account/email", 405, Some("PUT"), "/account/email"),
    ("GET", "/audit", 401, None, "/audit"),
    ("POST", "/audit", 405, Some("GET"), "/audit"),
    ("GET", "/secrets", 401, None, "/secrets"),
    ("POST", "/secrets", 401, None, "/secrets"),
    ("DELETE", "/secrets", 405, Some("GET, POST"), "/secrets"),
    ("GET", "/secrets/abc", 401, None, "/secrets/{id}"),
    ("PUT", "/secrets/abc", 401, None, "/secrets/{id}"),
    ("DELETE", "/secrets/abc", 401, None, "/secrets/{id}"),
    (
        "PATCH",
        "/secrets/abc",
        405,
        Some("GET, PUT, DELETE"),
        "/secrets/{id}",
    ),
    // A literal segment where a parameter goes is just an id.
    ("GET", "/secrets/share", 401, None, "/secrets/{id}"),
    (
        "POST",
        "/secrets/abc/share",
        401,
        None,
        "/secrets/{id}/share",
    ),
    (
        "GET",
        "/secrets/abc/share",
        405,
        Some("POST"),
        "/secrets/{id}/share",
    ),
    (
        "GET",
        "/secrets/abc/shares",
        401,
        None,
        "/secrets/{id}/shares",
    ),
    (
        "POST",
        "/secrets/abc/shares",
        405,
        Some("GET"),
        "/secrets/{id}/shares",
    ),
    ("DELETE", "/shares/abc", 401, None, "/shares/{share_id}"),
    (
        "GET",
        "/shares/abc",
        405,
        Some("DELETE"),
        "/shares/{share_id}",
    ),
    (
        "DELETE",
        TOKEN_PATH,
        405,
        Some("GET, HEAD, POST"),
        "/share/{token}",
    ),
    ("HEAD", TOKEN_PATH, 404, None, "/share/{token}"),
    ("POST", TOKEN_PATH, 404, None, "/share/{token}"),
    ("GET", "/", 404, None, "(unknown)"),
    ("GET", "/nope", 404, None, "(unknown)"),
    ("GET", "/healthz/", 404, None, "(unknown)"),
    ("GET", "/secrets/", 404, None, "(unknown)"),
    ("GET", "/secrets//share", 404, None, "(unknown)"),
    ("GET", "/secrets/a/b", 404, None, "(unknown)"),
    ("GET", "/secrets/a/share/x", 404, None, "(unknown)"),
    ("GET", "/account/email/x", 404, None, "(unknown)"),
    ("GET", "/share/", 404, None, "(unknown)"),
];

#[test]
fn every_template_dispatches_answers_405_with_allow_and_logs_its_template() {
    let s = Server::start();
    let h = s.http();
    for &(method, path, status, allow, _) in CASES {
        let r = h.request(method, path, None, &[], None);
        assert_eq!(r.status, status, "{method} {path}: {r:?}");
        assert_eq!(r.header("allow"), allow, "{method} {path}: {r:?}");
    }
    // Each request's log line: `TIME REQUEST-ID IP METHOD TEMPLATE STATUS DURATIONms`, in
    // order.
    let log = s.log();
    let logged: Vec<(String, String, String)> = log
        .lines()
        .filter(|l| l.ends_with("ms"))
        .filter_map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            (f.len() == 7).then(|| (f[3].to_string(), f[4].to_string(), f[5].to_string()))
        })
        .collect();
    let expected: Vec<(String, String, String)> = CASES
        .iter()
        .map(|&(m, _, st, _, t)| (m.to_string(), t.to_string(), st.to_string()))
        .collect();
    assert_eq!(logged, expected, "{log}");
    assert!(!log.contains("AAAAAAAAAAAA"), "no token in the log: {log}");
}

#[test]
fn a_failure_inside_the_server_logs_its_whole_cause_and_sends_none_of_it() {
    let mut s = Server::start();
    let audit_log = s.dir.path().join("audit.jsonl");
    s.restart_with(&["--audit-log", audit_log.to_str().unwrap()]);
    let t = s.user("alice");
    let id = s.secret(&t, "db", "CAUSE-TEST-VALUE");
    let link = s.share(&t, &id, &serde_json::json!({}));
    let link_path = format!("/share/{}", link["token"].as_str().unwrap());
    // The mirror file becomes unwritable (a directory; root ignores modes).
    std::fs::remove_file(&audit_log).unwrap();
    std::fs::create_dir(&audit_log).unwrap();
    let h = s.http();

    let r = h.get(&format!("/secrets/{id}"), Some(&t));
    r.assert_error(503, "unavailable");
    assert_eq!(
        r.json["message"],
        "the audit trail cannot be written, so nothing was done; retry later"
    );
    // A browser's page for a share link fails the same way, and is logged the same way.
    let page = h.request("GET", &link_path, None, &[("Accept", "text/html")], None);
    assert_eq!(page.status, 503, "{page:?}");
    for body in [&r.body, &page.body] {
        assert!(
            !body.contains("audit.jsonl") && !body.contains("CAUSE-TEST-VALUE"),
            "{body}"
        );
    }
    let log = s.log();
    let shown = audit_log.display();
    for template in ["GET /secrets/{id}", "GET /share/{token}"] {
        let line = log
            .lines()
            .find(|l| l.starts_with(&format!("error: {template}: ")))
            .unwrap_or_else(|| panic!("no error line for {template}:\n{log}"));
        // The store's message, then the file, then the operating system's reason.
        assert!(
            line.starts_with(&format!(
                "error: {template}: audit trail unavailable: {shown}: "
            )) && line.len()
                > format!("error: {template}: audit trail unavailable: {shown}: ").len(),
            "{line}"
        );
    }
}
