//! Service tokens over the real server: shown once and stored hashed, listed without the
//! token, audited by name, independent of the creator's sessions, revoked for the very next
//! request (also under load), and prefix scoping that cannot be escaped.

use serde_json::json;

use crate::util::{Server, file_contains};

fn make(s: &Server, by: &str, body: serde_json::Value) -> serde_json::Value {
    let r = s.http().post("/tokens", Some(by), &body);
    assert_eq!(r.status, 201, "{r:?}");
    r.json
}

#[test]
fn created_once_listed_without_the_token_and_audited_by_name() {
    let mut s = Server::start();
    let h = s.http();
    let alice = s.user("alice");
    let t = make(
        &s,
        &alice,
        json!({"name": "ci", "permissions": ["read", "write"], "prefix": "prod/"}),
    );
    let token = t["token"].as_str().unwrap().to_string();
    assert!(
        token.starts_with("sctl_svc_") && token.len() >= 9 + 43,
        "{t}"
    );
    assert_eq!(t["permissions"], json!(["read", "write"]));
    assert_eq!(
        (t["prefix"].as_str(), &t["team"]),
        (Some("prod/"), &json!(null))
    );
    // Default lifetime: 90 days.
    let created = crate::util::parse_time(t["expires_at"].as_str().unwrap());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!((created - now - 90 * 86_400).abs() < 600, "{t}");
    for bad in [
        json!({"name": "x", "expires_in": 366 * 86_400}),
        json!({"name": "x", "expires_in": 10}),
        json!({"name": "x", "permissions": ["write"]}),
        json!({"name": "x", "allowed_cidrs": ["10.0.0.0/40"]}),
        json!({"name": "x", "prefix": "prod/*"}),
        json!({"name": "bad name"}),
    ] {
        h.post("/tokens", Some(&alice), &bad)
            .assert_error(400, "bad_request");
    }
    h.post("/tokens", Some(&alice), &json!({"name": "ci"}))
        .assert_error(409, "conflict");

    // Use it; the trail names the token.
    let r = h.post(
        "/secrets",
        Some(&token),
        &json!({"name": "prod/db", "value": "pw"}),
    );
    assert_eq!(r.status, 201, "{r:?}");
    let audit = h.get("/audit?limit=1", Some(&alice));
    let e = &audit.json["events"][0];
    assert_eq!(e["action"], "secret.create");
    assert_eq!(e["actor"], format!("token:{}", t["id"].as_str().unwrap()));
    assert_eq!(e["actor_name"], "ci");

    let list = h.get("/tokens", Some(&alice));
    let row = &list.json["tokens"][0];
    assert_eq!(row["name"], "ci");
    assert_eq!(row["created_by"], "alice");
    assert_eq!(row["last_used_ip"], "127.0.0.1");
    assert!(
        row.get("token").is_none() && !list.body.contains(&token),
        "{list:?}"
    );

    // A logout ends sessions, not service tokens.
    assert_eq!(h.post("/logout", Some(&alice), &json!({})).status, 204);
    assert_eq!(h.get("/secrets", Some(&token)).status, 200);
    // A token cannot log out, make tokens, or act on the account.
    h.post("/logout", Some(&token), &json!({}))
        .assert_error(403, "forbidden");

    // Neither the database nor the log holds the token.
    s.stop();
    let db = s.data_dir().join("secretctl.redb");
    assert!(!file_contains(&db, &token), "token in the database");
    assert!(!file_contains(&s.log_path(), &token), "token in the log");
}

#[test]
fn a_revoked_token_fails_on_the_next_request_under_load() {
    let s = Server::start();
    let h = s.http();
    let alice = s.user("alice");
    let id = s.secret(&alice, "db", "v");
    let t = make(&s, &alice, json!({"name": "ci"}));
    let token = t["token"].as_str().unwrap().to_string();
    let path = format!("/secrets/{id}");
    assert_eq!(h.get(&path, Some(&token)).status, 200);
    let revoke = format!("/tokens/{}", t["id"].as_str().unwrap());
    let (leaks, total) = crate::teams::hammer(
        &s,
        &token,
        &path,
        || assert_eq!(h.delete(&revoke, Some(&alice)).status, 204),
        200,
    );
    assert_eq!(
        leaks, 0,
        "{leaks} of {total} requests after revocation still read"
    );
    h.get(&path, Some(&token)).assert_error(401, "unauthorized");
    h.delete(&revoke, Some(&alice))
        .assert_error(404, "not_found");
}

#[test]
fn prefix_scoping_cannot_be_escaped() {
    let s = Server::start();
    let h = s.http();
    let alice = s.user("alice");
    let mut ids = std::collections::HashMap::new();
    for name in [
        "prod/db", "prod", "prodx/db", "Prod/db", "PROD/db", "x", "dev/db",
    ] {
        ids.insert(name, s.secret(&alice, name, &format!("value of {name}")));
    }
    let t = make(
        &s,
        &alice,
        json!({"name": "ci", "prefix": "prod/", "permissions": ["read", "write", "share"]}),
    );
    let token = t["token"].as_str().unwrap();
    let names: Vec<String> = h.get("/secrets", Some(token)).json["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["prod/db"]);
    for (name, id) in &ids {
        let r = h.get(&format!("/secrets/{id}"), Some(token));
        let expect = if *name == "prod/db" { 200 } else { 404 };
        assert_eq!(r.status, expect, "{name}: {r:?}");
        if expect == 404 {
            r.assert_error(404, "not_found");
            // Not updatable, deletable or shareable either, and the same 404.
            h.put(
                &format!("/secrets/{id}"),
                Some(token),
                &json!({"value": "x"}),
            )
            .assert_error(404, "not_found");
            h.delete(&format!("/secrets/{id}"), Some(token))
                .assert_error(404, "not_found");
            h.post(&format!("/secrets/{id}/share"), Some(token), &json!({}))
                .assert_error(404, "not_found");
        }
    }
    // Names are keys, not paths: `prod/../x` is a name under prod/, never `x`.
    let r = h.post(
        "/secrets/read",
        Some(token),
        &json!({"refs": ["prod/../x"]}),
    );
    r.assert_error(404, "not_found");
    let r = h.post(
        "/secrets/read",
        Some(token),
        &json!({"refs": ["prod/db", "prod", "prodx/db", "Prod/db"]}),
    );
    assert_eq!(
        r.json["missing"],
        json!(["prod", "prodx/db", "Prod/db"]),
        "{r:?}"
    );
    let r = h.post("/secrets/read", Some(token), &json!({"prefix": "pro"}));
    assert_eq!(r.json["secrets"].as_array().unwrap().len(), 1, "{r:?}");
    // Percent-encoded: decoded before matching, so no second spelling gets through.
    let listed = h.get("/secrets?name=prodx%2Fdb", Some(token));
    assert_eq!(listed.json["secrets"], json!([]), "{listed:?}");
    let listed = h.get("/secrets?name=prod%2Fdb", Some(token));
    assert_eq!(listed.json["secrets"][0]["name"], "prod/db");
    h.get("/secrets/prod%2F..%2Fx", Some(token))
        .assert_error(404, "not_found");
    // Creating and renaming stay inside the prefix.
    for name in ["prod", "prodx/new", "Prod/new", "x"] {
        h.post(
            "/secrets",
            Some(token),
            &json!({"name": name, "value": "v"}),
        )
        .assert_error(403, "forbidden");
    }
    h.post(
        "/secrets",
        Some(token),
        &json!({"name": "prod%2Fx", "value": "v"}),
    )
    .assert_error(400, "bad_request");
    let id = ids["prod/db"].clone();
    h.put(
        &format!("/secrets/{id}"),
        Some(token),
        &json!({"name": "dev/db2"}),
    )
    .assert_error(403, "forbidden");
    let r = h.post(
        "/secrets",
        Some(token),
        &json!({"name": "prod/../x", "value": "v"}),
    );
    assert_eq!(r.status, 201, "a literal name under the prefix: {r:?}");
    // `x` itself was never touched.
    let r = h.get(&format!("/secrets/{}", ids["x"]), Some(&alice));
    assert_eq!(r.json["value"], "value of x");
}

#[test]
fn token_commands_and_a_client_with_only_a_service_token() {
    let s = Server::start();
    let alice = crate::util::Cli::new(&s);
    alice.login_as("alice");
    alice
        .run(&["put", "prod/db", "--value", "pw"], b"")
        .success();
    alice
        .run(&["put", "dev/db", "--value", "dev"], b"")
        .success();
    let made = alice
        .run(
            &[
                "token",
                "create",
                "ci",
                "--prefix",
                "prod/",
                "--expires-in",
                "30d",
            ],
            b"",
        )
        .success();
    // Only the token on stdout, so it can be piped into a CI secret store.
    let token = made.stdout();
    assert!(
        token.starts_with("sctl_svc_") && token.ends_with('\n'),
        "{token:?}"
    );
    assert_eq!(token.trim_end().lines().count(), 1);
    assert!(
        made.stderr().contains("shown only now"),
        "{}",
        made.stderr()
    );
    let token = token.trim_end().to_string();
    let r = alice.run(&["token", "create", "x", "--expires-in", "400d"], b"");
    assert_eq!(r.out.status.code(), Some(2), "{}", r.stderr());

    // No login, no config directory: just the token.
    let ci = crate::util::Cli::new(&s).env("SECRETCTL_TOKEN", &token);
    assert_eq!(ci.run(&["get", "prod/db"], b"").success().stdout(), "pw");
    ci.run(&["get", "dev/db"], b"").fails_with(4);
    let out = ci
        .run(
            &[
                "export",
                "--prefix",
                "prod/",
                "--strip-prefix",
                "--format",
                "json",
            ],
            b"",
        )
        .success()
        .json();
    assert_eq!(out, json!({"DB": "pw"}));
    // Refusals of a token's rights (403) are exit 3.
    ci.run(&["put", "prod/new", "--value", "x"], b"")
        .fails_with(3);
    ci.run(&["token", "ls"], b"").fails_with(3);
    assert!(!ci.home.join(".config").exists(), "no config dir needed");

    let list = alice.run(&["token", "ls", "--json"], b"").success().json();
    assert_eq!(list["tokens"][0]["name"], "ci");
    assert_eq!(list["tokens"][0]["last_used_ip"], "127.0.0.1");
    assert!(!list.to_string().contains(&token));
    // The trail names the token.
    let trail = alice.run(&["audit", "-n", "3"], b"").success().stdout();
    assert!(
        trail.contains("ci (token:") && trail.contains("secret.read"),
        "{trail}"
    );
    alice.run(&["token", "rm", "nope"], b"").fails_with(4);
    alice.run(&["token", "rm", "ci"], b"").success();
    ci.run(&["get", "prod/db"], b"").fails_with(3);
}
