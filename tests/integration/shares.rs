//! One-time share links over the real server: views, expiry, revocation, passphrases,
//! browser-vs-API negotiation, races, and what reaches disk and the log.

use std::sync::{Arc, Barrier};

use serde_json::{Value, json};

use crate::util::{Cli, Server, file_contains};

const BROWSER_ACCEPT: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

fn path_of(url: &str) -> String {
    let after_scheme = url.split_once("://").unwrap().1;
    format!("/{}", after_scheme.split_once('/').unwrap().1)
}

/// JSON redemption by POST, as an API client.
fn redeem(s: &Server, path: &str, body: Option<&Value>) -> crate::util::Reply {
    match body {
        Some(b) => s.http().json("POST", path, None, b),
        None => s
            .http()
            .request("POST", path, None, &[("Accept", "application/json")], None),
    }
}

fn views_left(s: &Server, token: &str, secret: &str) -> Vec<u64> {
    let r = s
        .http()
        .get(&format!("/secrets/{secret}/shares"), Some(token));
    assert_eq!(r.status, 200, "{r:?}");
    assert!(
        !r.body.contains("token") && !r.body.contains("/share/"),
        "never tokens: {r:?}"
    );
    r.json["shares"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["views_left"].as_u64().unwrap())
        .collect()
}

#[test]
fn default_link_works_once_and_answers_json() {
    let s = Server::start_with(&["--public-url", "https://secrets.example.com/"]);
    let t = s.user("alice");
    let id = s.secret(&t, "db/password", "s3cr3t-value");
    let created = s.share(&t, &id, &json!({}));
    let token = created["token"].as_str().unwrap();
    assert!(token.len() >= 43, "256-bit token: {created}");
    assert_eq!(
        created["url"],
        format!("https://secrets.example.com/share/{token}")
    );
    assert_eq!(created["max_views"], 1);
    assert_eq!(created["passphrase_required"], false);
    let created_at = s
        .http()
        .get(&format!("/secrets/{id}/shares"), Some(&t))
        .json["shares"][0]["created_at"]
        .clone();
    let exp = crate::util::parse_time(created["expires_at"].as_str().unwrap());
    assert_eq!(
        exp - crate::util::parse_time(created_at.as_str().unwrap()),
        3600,
        "default expiry is an hour"
    );

    // A GET that asks for JSON by name redeems.
    let path = format!("/share/{token}");
    let r = s
        .http()
        .request("GET", &path, None, &[("Accept", "application/json")], None);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json["name"], "db/password");
    assert_eq!(r.json["value"], "s3cr3t-value");
    assert_eq!(r.json["views_left"], 0);
    assert_eq!(r.json["expires_at"], created["expires_at"]);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let again = s
        .http()
        .request("GET", &path, None, &[("Accept", "application/json")], None);
    again.assert_error(404, "not_found");
    assert_eq!(views_left(&s, &t, &id), Vec::<u64>::new());
}

#[test]
fn max_views_three_gives_exactly_three() {
    let s = Server::start();
    let t = s.user("alice");
    let id = s.secret(&t, "k", "value-3");
    let created = s.share(&t, &id, &json!({"max_views": 3, "expires_in": 600}));
    let path = path_of(created["url"].as_str().unwrap());
    for left in [2, 1, 0] {
        let r = redeem(&s, &path, None);
        assert_eq!(
            (r.status, r.json["views_left"].as_u64()),
            (200, Some(left)),
            "{r:?}"
        );
        assert_eq!(r.json["value"], "value-3");
    }
    redeem(&s, &path, None).assert_error(404, "not_found");
}

#[test]
fn create_validates_and_only_shares_own_secrets() {
    let s = Server::start();
    let alice = s.user("alice");
    let bob = s.user("bob");
    let id = s.secret(&alice, "k", "v");
    let h = s.http();
    let share = |body: Value, tok: &str| h.post(&format!("/secrets/{id}/share"), Some(tok), &body);
    for bad in [
        json!({"expires_in": 59}),
        json!({"expires_in": 604801}),
        json!({"expires_in": -5}),
        json!({"max_views": 0}),
        json!({"max_views": 101}),
        json!({"passphrase": "short"}),
        json!({"views": 2}),
    ] {
        share(bad.clone(), &alice).assert_error(400, "bad_request");
    }
    assert_eq!(
        share(json!({"expires_in": 60, "max_views": 100}), &alice).status,
        201
    );
    assert_eq!(share(json!({"expires_in": 604800}), &alice).status, 201);
    // Bob can neither share, list nor revoke Alice's links: 404, as if they did not exist.
    share(json!({}), &bob).assert_error(404, "not_found");
    h.get(&format!("/secrets/{id}/shares"), Some(&bob))
        .assert_error(404, "not_found");
    let share_id = share(json!({}), &alice).json["id"]
        .as_str()
        .unwrap()
        .to_string();
    h.delete(&format!("/shares/{share_id}"), Some(&bob))
        .assert_error(404, "not_found");
    h.post(&format!("/secrets/{id}/share"), None, &json!({}))
        .assert_error(401, "unauthorized");
    assert_eq!(views_left(&s, &alice, &id).len(), 3);
}

#[test]
fn dead_links_are_indistinguishable() {
    let s = Server::start();
    let t = s.user("alice");
    let id = s.secret(&t, "k", "v");
    let used = path_of(s.share(&t, &id, &json!({}))["url"].as_str().unwrap());
    assert_eq!(redeem(&s, &used, None).status, 200);
    let revoked = s.share(&t, &id, &json!({}));
    let r = s.http().delete(
        &format!("/shares/{}", revoked["id"].as_str().unwrap()),
        Some(&t),
    );
    assert_eq!(r.status, 204, "{r:?}");
    let expired = path_of(
        s.share(&t, &id, &json!({"expires_in": 60}))["url"]
            .as_str()
            .unwrap(),
    );
    s.set_clock_offset(61);
    let unknown = "/share/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".to_string();
    let answers: Vec<_> = [
        used,
        path_of(revoked["url"].as_str().unwrap()),
        expired,
        unknown,
    ]
    .iter()
    .map(|p| {
        let r = redeem(&s, p, None);
        r.assert_error(404, "not_found");
        r.body
    })
    .collect();
    assert!(answers.windows(2).all(|w| w[0] == w[1]), "{answers:?}");
    let r = redeem(
        &s,
        "/share/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        None,
    );
    assert!(
        r.header("x-robots-tag").unwrap_or("").contains("noindex"),
        "{r:?}"
    );
    // The HTML answer is the same for all of them too.
    let r = s.http().request(
        "GET",
        "/share/short",
        None,
        &[("Accept", BROWSER_ACCEPT)],
        None,
    );
    assert_eq!(r.status, 404);
    assert!(r.body.contains("id=\"not-found\""));
}

#[test]
fn expired_links_stop_working_and_are_swept() {
    let s = Server::start_with(&["--sweep-interval", "1"]);
    let t = s.user("alice");
    let id = s.secret(&t, "k", "expiring-value");
    let created = s.share(&t, &id, &json!({"expires_in": 120, "max_views": 5}));
    let path = path_of(created["url"].as_str().unwrap());
    s.set_clock_offset(119);
    assert_eq!(
        redeem(&s, &path, None).status,
        200,
        "still valid just before expiry"
    );
    s.set_clock_offset(121);
    redeem(&s, &path, None).assert_error(404, "not_found");
    assert_eq!(views_left(&s, &t, &id), Vec::<u64>::new());
    // The sweep deletes it without anyone asking: wait (bounded) for its audit record.
    let second = s.share(&t, &id, &json!({"expires_in": 60}));
    s.set_clock_offset(121 + 61);
    let wanted = format!("share:{}", second["id"].as_str().unwrap());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let events = s.http().get("/audit?limit=500", Some(&t)).json["events"].clone();
        let swept = events.as_array().unwrap().iter().any(|e| {
            e["action"] == "share.expire"
                && e["target"] == wanted.as_str()
                && e["actor"] == "system"
        });
        if swept {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no sweep of {wanted}: {events}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn revocation_by_delete_and_by_deleting_the_secret() {
    let s = Server::start();
    let t = s.user("alice");
    let id = s.secret(&t, "k", "v");
    let a = s.share(&t, &id, &json!({"max_views": 2}));
    let b = s.share(&t, &id, &json!({}));
    let mut left = views_left(&s, &t, &id);
    left.sort();
    assert_eq!(left, [1, 2]);
    assert_eq!(
        s.http()
            .delete(&format!("/shares/{}", a["id"].as_str().unwrap()), Some(&t))
            .status,
        204
    );
    redeem(&s, &path_of(a["url"].as_str().unwrap()), None).assert_error(404, "not_found");
    s.http()
        .delete(&format!("/shares/{}", a["id"].as_str().unwrap()), Some(&t))
        .assert_error(404, "not_found");
    assert_eq!(
        s.http().delete(&format!("/secrets/{id}"), Some(&t)).status,
        204
    );
    redeem(&s, &path_of(b["url"].as_str().unwrap()), None).assert_error(404, "not_found");
}

#[test]
fn snapshot_is_taken_at_share_time() {
    let s = Server::start();
    let t = s.user("alice");
    let id = s.secret(&t, "k", "original");
    let link = path_of(s.share(&t, &id, &json!({}))["url"].as_str().unwrap());
    let r = s.http().put(
        &format!("/secrets/{id}"),
        Some(&t),
        &json!({"value": "changed", "name": "renamed"}),
    );
    assert_eq!(r.status, 200);
    let r = redeem(&s, &link, None);
    assert_eq!(
        (r.json["value"].as_str(), r.json["name"].as_str()),
        (Some("original"), Some("k"))
    );
}

#[test]
fn browsers_bots_and_head_never_redeem_on_get() {
    let s = Server::start();
    let t = s.user("alice");
    let id = s.secret(&t, "very-secret-name", "very-secret-value");
    let path = path_of(
        s.share(&t, &id, &json!({"max_views": 2}))["url"]
            .as_str()
            .unwrap(),
    );
    let h = s.http();
    let page = h.request("GET", &path, None, &[("Accept", BROWSER_ACCEPT)], None);
    assert_eq!(page.status, 200);
    assert!(
        page.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    assert!(
        page.body.contains("Reveal secret") && page.body.contains("2 more times"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("very-secret-value") && !page.body.contains("very-secret-name"));
    let csp = page.header("content-security-policy").unwrap();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert!(!page.body.contains("src=\"http"), "no external assets");
    assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
    assert_eq!(page.header("cache-control"), Some("no-store"));
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
    assert!(page.header("x-robots-tag").unwrap().contains("noindex"));
    // Preview bots with curl-like Accept headers, and HEAD from anyone.
    for ua in [
        "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
        "Mozilla/5.0 (compatible; Discordbot/2.0)",
        "facebookexternalhit/1.1",
        "Microsoft Office/16.0 (SkypeUriPreview Preview/0.5)",
    ] {
        let r = h.request(
            "GET",
            &path,
            None,
            &[("Accept", "*/*"), ("User-Agent", ua)],
            None,
        );
        assert_eq!(r.status, 200, "{ua}: {r:?}");
        assert!(!r.body.contains("very-secret-value"), "{ua}");
    }
    assert_eq!(
        h.request("HEAD", &path, None, &[("Accept", "*/*")], None)
            .status,
        200
    );
    assert_eq!(views_left(&s, &t, &id), [2], "nothing consumed");
}

#[test]
fn passphrase_protects_the_link() {
    let s = Server::start();
    let t = s.user("alice");
    let id = s.secret(&t, "k", "guarded-value");
    let created = s.share(&t, &id, &json!({"passphrase": "open sesame 42"}));
    assert_eq!(created["passphrase_required"], true);
    let path = path_of(created["url"].as_str().unwrap());
    let r = redeem(&s, &path, None);
    r.assert_error(403, "wrong_passphrase");
    assert!(!r.body.contains("guarded-value"));
    redeem(&s, &path, Some(&json!({"passphrase": "open sesame 41"})))
        .assert_error(403, "wrong_passphrase");
    assert_eq!(
        views_left(&s, &t, &id),
        [1],
        "wrong or missing passphrase consumes no view"
    );
    let r = redeem(&s, &path, Some(&json!({"passphrase": "open sesame 42"})));
    assert_eq!(
        (r.status, r.json["value"].as_str()),
        (200, Some("guarded-value")),
        "{r:?}"
    );

    // Five wrong tries destroy the link, even for the right passphrase afterwards.
    let path = path_of(
        s.share(
            &t,
            &id,
            &json!({"passphrase": "open sesame 42", "max_views": 3}),
        )["url"]
            .as_str()
            .unwrap(),
    );
    for _ in 0..5 {
        redeem(&s, &path, Some(&json!({"passphrase": "guess guess"})))
            .assert_error(403, "wrong_passphrase");
    }
    redeem(&s, &path, Some(&json!({"passphrase": "open sesame 42"})))
        .assert_error(404, "not_found");
}

#[test]
fn fifty_concurrent_redemptions_of_a_one_view_link_yield_one_success() {
    let s = Server::start();
    let t = s.user("alice");
    let id = s.secret(&t, "k", "only-once");
    let path = path_of(s.share(&t, &id, &json!({}))["url"].as_str().unwrap());
    let barrier = Arc::new(Barrier::new(50));
    let base = s.url.clone();
    let handles: Vec<_> = (0..50)
        .map(|i| {
            let (barrier, base, path) = (Arc::clone(&barrier), base.clone(), path.clone());
            std::thread::spawn(move || {
                let h = crate::util::Http { base };
                barrier.wait();
                // Both API styles race: POST and a GET asking for JSON.
                let method = if i % 2 == 0 { "POST" } else { "GET" };
                let r = h.request(method, &path, None, &[("Accept", "application/json")], None);
                (r.status, r.json["value"].as_str().map(str::to_string))
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let ok: Vec<_> = results.iter().filter(|(st, _)| *st == 200).collect();
    assert_eq!(ok.len(), 1, "{results:?}");
    assert_eq!(ok[0].1.as_deref(), Some("only-once"));
    assert_eq!(
        results.iter().filter(|(st, _)| *st == 404).count(),
        49,
        "{results:?}"
    );
}

#[test]
fn the_database_and_log_never_hold_a_pending_token_or_value() {
    let mut s = Server::start();
    let audit_log = s.dir.path().join("audit.jsonl");
    s.restart_with(&["--audit-log", audit_log.to_str().unwrap()]);
    let t = s.user("alice");
    let value = "PENDING-SHARE-VALUE-9c1e";
    let id = s.secret(&t, "k", value);
    let plain = s.share(&t, &id, &json!({"max_views": 2}));
    let guarded = s.share(&t, &id, &json!({"passphrase": "open sesame 42"}));
    let used = s.share(&t, &id, &json!({}));
    assert_eq!(
        redeem(&s, &path_of(used["url"].as_str().unwrap()), None).status,
        200
    );
    assert!(s.stop().success());
    let db = s.data_dir().join("secretctl.redb");
    for created in [&plain, &guarded, &used] {
        let token = created["token"].as_str().unwrap();
        assert!(!file_contains(&db, token), "token in the database file");
        assert!(!s.log().contains(token), "token in the server log");
        assert!(!file_contains(&audit_log, token), "token in the audit log");
    }
    for needle in [value, "open sesame 42"] {
        assert!(!file_contains(&db, needle));
        assert!(!s.log().contains(needle));
        assert!(!file_contains(&audit_log, needle));
    }
    assert!(file_contains(&audit_log, "share.create") && file_contains(&audit_log, "share.redeem"));
}

#[test]
fn cli_share_open_shares_unshare() {
    let s = Server::start();
    let cli = Cli::new(&s);
    cli.login_as("alice");
    let pem = "line one\nline two\n";
    cli.run(&["put", "tls/key"], pem.as_bytes()).success();

    let r = cli
        .run(
            &[
                "share",
                "tls/key",
                "--expires-in",
                "30m",
                "--max-views",
                "2",
            ],
            b"",
        )
        .success();
    let url = r.stdout();
    assert_eq!(url.lines().count(), 1, "the URL alone: {url:?}");
    let url = url.trim_end();
    assert!(url.starts_with(&format!("{}/share/", s.url)), "{url}");

    // `open` needs no login and uses the server in the URL, not --server.
    let stranger = Cli::new(&s);
    let mut cmd = stranger.cmd();
    cmd.env("SECRETCTL_SERVER", "http://127.0.0.1:9");
    let r = crate::util::run_with(cmd, &["open", url], b"").success();
    assert_eq!(r.out.stdout, pem.as_bytes(), "exact bytes");
    let token = url.rsplit('/').next().unwrap();
    let r = stranger.run(&["open", token, "--json"], b"").success();
    assert_eq!(
        (r.json()["value"].as_str(), r.json()["views_left"].as_u64()),
        (Some(pem), Some(0))
    );
    stranger.run(&["open", url], b"").fails_with(4);

    let r = cli
        .run(
            &["share", "tls/key", "--passphrase-stdin", "--json"],
            b"open sesame 42\n",
        )
        .success();
    let j = r.json();
    assert_eq!(j["passphrase_required"], true);
    let url = j["url"].as_str().unwrap();
    stranger.run(&["open", url], b"").fails_with(3);
    stranger
        .run(&["open", url, "--passphrase-stdin"], b"wrong one!\n")
        .fails_with(3);
    let r = stranger
        .run(&["open", url, "--passphrase-stdin"], b"open sesame 42\n")
        .success();
    assert_eq!(r.out.stdout, pem.as_bytes());

    let id = cli
        .run(&["share", "tls/key", "--json"], b"")
        .success()
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let table = cli.run(&["shares", "tls/key"], b"").success().stdout();
    assert!(
        table.starts_with("ID") && table.contains(&id) && table.contains("1/1"),
        "{table}"
    );
    let listed = cli
        .run(&["shares", "tls/key", "--json"], b"")
        .success()
        .json();
    assert_eq!(listed["shares"].as_array().unwrap().len(), 1);
    cli.run(&["unshare", &id], b"").success();
    cli.run(&["unshare", &id], b"").fails_with(4);
    assert!(
        cli.run(&["shares", "tls/key", "--json"], b"")
            .success()
            .json()["shares"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    // Checked by the CLI itself: a usage error (clap's, so more than one line).
    for bad in ["8d", "soon"] {
        let r = cli.run(&["share", "tls/key", "--expires-in", bad], b"");
        assert_eq!(r.out.status.code(), Some(2), "{}", r.stderr());
    }
    cli.run(&["share", "nope"], b"").fails_with(4);
}
