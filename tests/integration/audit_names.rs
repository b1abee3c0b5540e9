//! `GET /audit` and `secretctl audit` name what they show: the viewer's own secrets (by
//! their current name, while they exist) and every actor's username, resolved when the
//! trail is read and never written into the records.

use serde_json::{Value, json};

use crate::util::{Cli, Server};

fn events(s: &Server, token: &str) -> Vec<Value> {
    let r = s.http().get("/audit?limit=500", Some(token));
    assert_eq!(r.status, 200, "{r:?}");
    r.json["events"].as_array().unwrap().clone()
}

fn find<'a>(events: &'a [Value], action: &str, target: &str) -> &'a Value {
    events
        .iter()
        .find(|e| e["action"] == action && e["target"] == target)
        .unwrap_or_else(|| panic!("no {action} on {target} in {events:#?}"))
}

#[test]
fn the_trail_shows_names_to_those_who_may_know_them() {
    let dir = tempfile::tempdir().unwrap();
    let mirror = dir.path().join("audit.jsonl");
    let s = Server::start_with(&["--audit-log", mirror.to_str().unwrap()]);
    let cli = Cli::new(&s);
    cli.login_as("alice");
    cli.run(&["put", "db-password", "--value", "v"], b"")
        .success();
    let alice = cli.cached_token();
    let h = s.http();
    let id = h.get("/secrets?name=db-password", Some(&alice)).json["secrets"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let bob = s.user("mallory");
    h.get(&format!("/secrets/{id}"), Some(&bob))
        .assert_error(404, "not_found");
    // Names are looked up when the trail is read: the current one shows.
    let r = h.put(
        &format!("/secrets/{id}"),
        Some(&alice),
        &json!({"name": "prod/db-password"}),
    );
    assert_eq!(r.status, 200, "{r:?}");

    let target = format!("secret:{id}");
    let mine = events(&s, &alice);
    let created = find(&mine, "secret.create", &target);
    assert_eq!(created["target_name"], "prod/db-password", "{created}");
    assert_eq!(created["actor_name"], "alice", "{created}");
    let probe = find(&mine, "secret.read", &target);
    assert_eq!(
        (probe["outcome"].as_str(), probe["actor_name"].as_str()),
        (Some("not_found"), Some("mallory")),
        "{probe}"
    );
    assert_eq!(probe["target_name"], "prod/db-password", "{probe}");
    let register = mine
        .iter()
        .find(|e| e["action"] == "user.register")
        .unwrap();
    assert_eq!(register["target_name"], "alice", "{register}");

    // The prober learns nothing about the secret they tried, not even its name.
    let theirs = events(&s, &bob);
    let probe = find(&theirs, "secret.read", &target);
    assert!(probe.get("target_name").is_none(), "{probe}");
    assert!(probe["owner"].is_null(), "{probe}");
    assert_eq!(probe["actor_name"], "mallory", "{probe}");

    // The CLI table has the names next to the ids.
    let table = cli.run(&["audit"], b"").success().stdout();
    let header = table.lines().next().unwrap();
    for col in ["TARGET", "NAME", "ACTOR"] {
        assert!(header.contains(col), "{table}");
    }
    let row = table.lines().find(|l| l.contains("secret.create")).unwrap();
    assert!(
        row.contains(&target) && row.contains("prod/db-password") && row.contains("alice ("),
        "{table}"
    );

    // A deleted secret is no longer named.
    assert_eq!(
        h.delete(&format!("/secrets/{id}"), Some(&alice)).status,
        204
    );
    let mine = events(&s, &alice);
    let created = find(&mine, "secret.create", &target);
    assert!(created.get("target_name").is_none(), "{created}");
    assert_eq!(created["actor_name"], "alice", "{created}");

    // Names are never stored: the record mirror holds ids only.
    let stored = std::fs::read_to_string(&mirror).unwrap();
    assert!(stored.contains(&target), "{stored}");
    for name in [
        "target_name",
        "actor_name",
        "\"alice\"",
        "mallory",
        "db-password",
    ] {
        assert!(
            !stored.contains(name),
            "{name} in stored records:\n{stored}"
        );
    }
}
