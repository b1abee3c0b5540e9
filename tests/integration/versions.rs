//! Version history through the real binary: `--keep-versions`, `GET /secrets/{id}?version=N`,
//! `/versions`, `/rollback`, the `get --version`, `history` and `rollback` commands, and
//! older values through a data key rotation.

use std::process::Command;

use serde_json::{Value, json};

use crate::util::{BIN, Cli, Server, file_contains, run_with};

/// Alice's audit events with `action` on `secret:<id>`, oldest first, as (outcome) strings.
fn outcomes(s: &Server, token: &str, action: &str, id: &str) -> Vec<String> {
    let r = s.http().get("/audit?limit=500", Some(token));
    assert_eq!(r.status, 200, "{r:?}");
    let target = format!("secret:{id}");
    let mut out: Vec<String> = r.json["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == action && e["target"] == target.as_str())
        .map(|e| e["outcome"].as_str().unwrap().to_string())
        .collect();
    out.reverse();
    out
}

fn listed(v: &Value) -> Vec<u64> {
    v["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_u64().unwrap())
        .collect()
}

#[test]
fn older_values_are_kept_read_listed_and_rolled_back() {
    let s = Server::start_with(&["--keep-versions", "3"]);
    let cli = Cli::new(&s);
    cli.login_as("alice");
    cli.run(&["put", "db", "--value", "v1"], b"").success();
    for i in 2..=5 {
        cli.run(&["update", "db"], format!("v{i}").as_bytes())
            .success();
    }
    let token = cli.cached_token();
    let h = s.http();
    let id = h.get("/secrets?name=db", Some(&token)).json["secrets"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();

    // The CLI: an older value byte for byte, and a pruned one is exit 4 saying so.
    let r = cli.run(&["get", "db", "--version", "3"], b"").success();
    assert_eq!(r.stdout(), "v3");
    let r = cli.run(&["get", "db", "--version", "2"], b"").fails_with(4);
    assert!(r.stderr().contains("db has no version 2"), "{}", r.stderr());
    let r = cli.run(&["get", "db", "--version", "0"], b"");
    assert_eq!(r.out.status.code(), Some(2), "{}", r.stderr());
    assert!(
        r.stderr()
            .contains("'--version <N>': a version is a whole number from 1"),
        "{}",
        r.stderr()
    );
    let r = cli
        .run(&["get", "db", "--json", "--version", "4"], b"")
        .success();
    assert_eq!(
        (r.json()["value"].as_str(), r.json()["version"].as_u64()),
        (Some("v4"), Some(4))
    );

    let r = cli.run(&["history", "db", "--json"], b"").success();
    let history = r.json();
    assert_eq!(listed(&history), [5, 4, 3]);
    assert_eq!(history["versions"][0]["created_by_name"], "alice");
    let table = cli.run(&["history", "db"], b"").success().stdout();
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 4, "{table}");
    assert!(
        lines[0].starts_with("VERSION") && lines[0].contains("TIME") && lines[0].contains("WHO")
    );
    assert!(
        lines[1].starts_with('5') && lines[1].ends_with("alice"),
        "{table}"
    );

    // Rollback makes a new version with the old value; history is never rewritten.
    let r = cli
        .run(&["rollback", "db", "--to", "3", "--json"], b"")
        .success();
    assert_eq!(r.json()["version"], 6);
    assert_eq!(cli.run(&["get", "db"], b"").success().stdout(), "v3");
    let ls = cli.run(&["ls"], b"").success().stdout();
    assert!(
        ls.contains("VERSION") && ls.lines().nth(1).unwrap().contains(" 6 "),
        "{ls}"
    );
    // Version 3 itself fell out of the last three with the rollback.
    cli.run(&["rollback", "db", "--to", "3"], b"").fails_with(4);
    assert_eq!(
        listed(&cli.run(&["history", "db", "--json"], b"").success().json()),
        [6, 5, 4]
    );

    // The API.
    let r = h.get(&format!("/secrets/{id}?version=4"), Some(&token));
    assert_eq!(
        (r.status, r.json["value"].as_str()),
        (200, Some("v4")),
        "{r:?}"
    );
    for bad in ["0", "x", "-1", "1.5", ""] {
        h.get(&format!("/secrets/{id}?version={bad}"), Some(&token))
            .assert_error(400, "bad_request");
    }
    h.get(&format!("/secrets/{id}?version=99"), Some(&token))
        .assert_error(404, "not_found");
    h.post(
        &format!("/secrets/{id}/rollback"),
        Some(&token),
        &json!({"to": 0}),
    )
    .assert_error(400, "bad_request");
    h.post(
        &format!("/secrets/{id}/rollback"),
        Some(&token),
        &json!({"to": 1, "x": 1}),
    )
    .assert_error(400, "bad_request");

    // Another user sees none of it: the same 404 as a secret that does not exist.
    let bob = s.user("bob");
    h.get(&format!("/secrets/{id}?version=4"), Some(&bob))
        .assert_error(404, "not_found");
    h.get(&format!("/secrets/{id}/versions"), Some(&bob))
        .assert_error(404, "not_found");
    h.post(
        &format!("/secrets/{id}/rollback"),
        Some(&bob),
        &json!({"to": 4}),
    )
    .assert_error(404, "not_found");
    assert_eq!(
        h.get(&format!("/secrets/{id}"), Some(&token)).json["value"],
        "v3"
    );

    // Every read of a version, and every miss (bob's included: alice owns the secret), is a
    // secret.read in alice's trail; rollbacks, and their misses, are secret.updates.
    let reads = outcomes(&s, &token, "secret.read", &id);
    let expected = [
        "ok",
        "not_found",
        "ok",
        "ok",
        "ok",
        "not_found",
        "not_found",
        "ok",
    ];
    assert_eq!(reads, expected);
    let updates = outcomes(&s, &token, "secret.update", &id);
    let expected = ["ok", "ok", "ok", "ok", "ok", "not_found", "not_found"];
    assert_eq!(updates, expected);

    // Deleting the secret deletes its history.
    assert_eq!(
        h.delete(&format!("/secrets/{id}"), Some(&token)).status,
        204
    );
    h.get(&format!("/secrets/{id}/versions"), Some(&token))
        .assert_error(404, "not_found");
    h.get(&format!("/secrets/{id}?version=5"), Some(&token))
        .assert_error(404, "not_found");
}

#[test]
fn keep_versions_is_checked_and_read_from_the_environment() {
    for bad in ["0", "101", "x"] {
        let r = run_with(
            {
                let mut c = Command::new(BIN);
                c.env_clear();
                c
            },
            &[
                "serve",
                "--keep-versions",
                bad,
                "--data-dir",
                "/nonexistent",
            ],
            b"",
        );
        assert_eq!(r.out.status.code(), Some(2), "{}", r.stderr());
        assert!(
            r.stderr()
                .contains("'--keep-versions <N>': keep from 1 to 100"),
            "{}",
            r.stderr()
        );
    }
    // SECRETCTL_KEEP_VERSIONS=1 keeps only the current value.
    let mut s = Server::start();
    s.stop();
    s.spawn_env(&[], &[("SECRETCTL_KEEP_VERSIONS", "1")]);
    let token = s.user("alice");
    let id = s.secret(&token, "k", "one");
    let h = s.http();
    assert_eq!(
        h.put(
            &format!("/secrets/{id}"),
            Some(&token),
            &json!({"value": "two"})
        )
        .status,
        200
    );
    assert_eq!(
        listed(&h.get(&format!("/secrets/{id}/versions"), Some(&token)).json),
        [2]
    );
    h.get(&format!("/secrets/{id}?version=1"), Some(&token))
        .assert_error(404, "not_found");
}

#[test]
fn an_older_version_still_opens_after_rotate_data_key() {
    let mut s = Server::start();
    let token = s.user("alice");
    let old = "OLD-VALUE-8c1e-never-in-plaintext";
    let id = s.secret(&token, "db", old);
    let h = s.http();
    assert_eq!(
        h.put(
            &format!("/secrets/{id}"),
            Some(&token),
            &json!({"value": "new"})
        )
        .status,
        200
    );
    assert!(s.stop().success());
    let dir = s.data_dir();
    let r = run_with(
        {
            let mut c = Command::new(BIN);
            c.env_clear();
            c
        },
        &[
            "--json",
            "admin",
            "rotate-data-key",
            "--data-dir",
            dir.to_str().unwrap(),
        ],
        b"",
    )
    .success();
    // Both values of the secret were re-sealed: the current one and version 1.
    assert_eq!(r.json()["secrets"], 2, "{}", r.stdout());
    assert!(!file_contains(&dir.join("secretctl.redb"), old));

    s.spawn(&[]);
    let r = s
        .http()
        .get(&format!("/secrets/{id}?version=1"), Some(&token));
    assert_eq!(
        (r.status, r.json["value"].as_str()),
        (200, Some(old)),
        "{r:?}"
    );
}
