//! Teams over the real server: naming, the last-admin rule, deleting a team with its secrets
//! and links, removal taking effect on the next request (also under concurrent load), team
//! audit, and a database from before teams opening with every secret personal.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use serde_json::json;

use crate::util::Server;

fn team_with(s: &Server, admin: &str, name: &str, members: &[(&str, &str)]) {
    let h = s.http();
    let r = h.post("/teams", Some(admin), &json!({"name": name}));
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(r.json["role"], "admin");
    for (user, role) in members {
        let r = h.put(
            &format!("/teams/{name}/members/{user}"),
            Some(admin),
            &json!({"role": role}),
        );
        assert_eq!(r.status, 204, "{r:?}");
    }
}

#[test]
fn names_roles_and_the_last_admin() {
    let s = Server::start();
    let h = s.http();
    let alice = s.user("alice");
    let bob = s.user("bob");
    for bad in ["ab", "Ops", "a b", "a:b", "a/b"] {
        h.post("/teams", Some(&alice), &json!({"name": bad}))
            .assert_error(400, "bad_request");
    }
    team_with(&s, &alice, "ops", &[("bob", "writer")]);
    h.post("/teams", Some(&bob), &json!({"name": "ops"}))
        .assert_error(409, "conflict");
    h.put(
        "/teams/ops/members/nobody",
        Some(&alice),
        &json!({"role": "reader"}),
    )
    .assert_error(404, "not_found");
    h.put(
        "/teams/ops/members/bob",
        Some(&alice),
        &json!({"role": "owner"}),
    )
    .assert_error(400, "bad_request");
    // The only admin can neither step down nor leave.
    h.put(
        "/teams/ops/members/alice",
        Some(&alice),
        &json!({"role": "writer"}),
    )
    .assert_error(409, "conflict");
    h.delete("/teams/ops/members/alice", Some(&alice))
        .assert_error(409, "conflict");
    let r = h.get("/teams", Some(&bob));
    assert_eq!(
        r.json["teams"],
        json!([{"name": "ops", "role": "writer",
        "created_at": r.json["teams"][0]["created_at"]}])
    );
    let r = h.get("/teams/ops/members", Some(&bob));
    assert_eq!(
        r.json["members"],
        json!([{"username": "alice", "role": "admin"}, {"username": "bob", "role": "writer"}])
    );
    // A member may leave; then the team is as invisible as one that does not exist.
    assert_eq!(h.delete("/teams/ops/members/bob", Some(&bob)).status, 204);
    h.get("/teams/ops/members", Some(&bob))
        .assert_error(404, "not_found");
    h.get("/teams/nope/members", Some(&bob))
        .assert_error(404, "not_found");
    assert_eq!(h.get("/teams", Some(&bob)).json["teams"], json!([]));
    // With a second admin the first may leave.
    h.put(
        "/teams/ops/members/bob",
        Some(&alice),
        &json!({"role": "admin"}),
    );
    assert_eq!(
        h.delete("/teams/ops/members/alice", Some(&alice)).status,
        204
    );
}

#[test]
fn team_secrets_are_shared_named_and_deleted_with_the_team() {
    let s = Server::start();
    let h = s.http();
    let alice = s.user("alice");
    let bob = s.user("bob");
    team_with(&s, &alice, "ops", &[("bob", "reader")]);
    let r = h.post(
        "/secrets",
        Some(&alice),
        &json!({"name": "db", "value": "team-pw", "team": "ops"}),
    );
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(r.json["team"], "ops");
    let id = r.json["id"].as_str().unwrap().to_string();
    // The same name may exist personally: the name index is per owner.
    s.secret(&alice, "db", "own-pw");
    let r = h.get(&format!("/secrets/{id}"), Some(&bob));
    assert_eq!((r.status, r.json["value"].as_str()), (200, Some("team-pw")));
    let listed = h.get("/secrets?team=ops", Some(&bob));
    assert_eq!(listed.json["secrets"][0]["name"], "db");
    assert_eq!(listed.json["secrets"][0]["team"], "ops");
    // Personal lists do not include team secrets.
    assert_eq!(h.get("/secrets", Some(&bob)).json["secrets"], json!([]));
    let r = h.post("/secrets/read", Some(&bob), &json!({"refs": ["ops:db"]}));
    assert_eq!(r.json["secrets"][0]["ref"], "ops:db", "{r:?}");
    assert_eq!(r.json["secrets"][0]["value"], "team-pw");

    let link = s.share(&alice, &id, &json!({}));
    let token = link["token"].as_str().unwrap();
    // Team audit: admins see what members did to team secrets.
    let audit = h.get("/audit?team=ops&limit=5", Some(&alice));
    let reads = audit.json["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "secret.read")
        .count();
    assert_eq!(reads, 2, "{audit:?}");

    h.delete("/teams/ops", Some(&bob))
        .assert_error(403, "forbidden");
    assert_eq!(h.delete("/teams/ops", Some(&alice)).status, 204);
    h.get(&format!("/secrets/{id}"), Some(&alice))
        .assert_error(404, "not_found");
    assert_eq!(h.get(&format!("/share/{token}"), None).status, 404);
    // The name is free again, and alice's personal secret is untouched.
    team_with(&s, &bob, "ops", &[]);
    let r = h.post("/secrets/read", Some(&alice), &json!({"refs": ["db"]}));
    assert_eq!(r.json["secrets"][0]["value"], "own-pw");
}

/// Requests from `workers` threads, each recording whether it started after `cut` was set;
/// returns how many requests that started after the cut still got `allowed`.
pub fn hammer(
    s: &Server,
    token: &str,
    path: &str,
    cut: impl FnOnce(),
    allowed: u16,
) -> (usize, usize) {
    let stop = Arc::new(AtomicBool::new(false));
    let after = Arc::new(AtomicBool::new(false));
    let (leaks, total) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let mut threads = Vec::new();
    for _ in 0..4 {
        let (h, token, path) = (s.http(), token.to_string(), path.to_string());
        let (stop, after, leaks, total) =
            (stop.clone(), after.clone(), leaks.clone(), total.clone());
        threads.push(std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                let started_after = after.load(Ordering::SeqCst);
                let r = h.get(&path, Some(&token));
                total.fetch_add(1, Ordering::Relaxed);
                if started_after && r.status == allowed {
                    leaks.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    // Let the load run before the cut: wait for some requests.
    while total.load(Ordering::Relaxed) < 20 {
        std::thread::yield_now();
    }
    cut();
    after.store(true, Ordering::SeqCst);
    let seen = total.load(Ordering::Relaxed);
    while total.load(Ordering::Relaxed) < seen + 40 {
        std::thread::yield_now();
    }
    stop.store(true, Ordering::SeqCst);
    for t in threads {
        t.join().unwrap();
    }
    (leaks.load(Ordering::Relaxed), total.load(Ordering::Relaxed))
}

#[test]
fn a_removed_member_loses_access_on_the_next_request_under_load() {
    let s = Server::start();
    let h = s.http();
    let alice = s.user("alice");
    let bob = s.user("bob");
    team_with(&s, &alice, "ops", &[("bob", "reader")]);
    let r = h.post(
        "/secrets",
        Some(&alice),
        &json!({"name": "db", "value": "v", "team": "ops"}),
    );
    let path = format!("/secrets/{}", r.json["id"].as_str().unwrap());
    assert_eq!(h.get(&path, Some(&bob)).status, 200);
    let (leaks, total) = hammer(
        &s,
        &bob,
        &path,
        || assert_eq!(h.delete("/teams/ops/members/bob", Some(&alice)).status, 204),
        200,
    );
    assert_eq!(
        leaks, 0,
        "{leaks} of {total} requests after the removal still read"
    );
    h.get(&path, Some(&bob)).assert_error(404, "not_found");
}

#[test]
fn a_database_from_before_teams_opens_with_every_secret_personal() {
    let mut s = Server::start();
    let h = s.http();
    let alice = s.user("alice");
    let ids: Vec<String> = (0..3)
        .map(|i| s.secret(&alice, &format!("s{i}"), &format!("v{i}")))
        .collect();
    s.stop();
    // Make the file what schema 4 left: no team or token tables, version 4.
    let db = s.data_dir().join("secretctl.redb");
    let rdb = redb::Database::open(&db).unwrap();
    let txn = rdb.begin_write().unwrap();
    let gone = [
        txn.delete_table(redb::TableDefinition::<&str, &[u8]>::new("teams")),
        txn.delete_table(redb::TableDefinition::<&str, &str>::new("team_names")),
        txn.delete_table(redb::TableDefinition::<(&str, &str), &str>::new(
            "team_members",
        )),
        txn.delete_table(redb::TableDefinition::<(&str, &str), ()>::new("user_teams")),
        txn.delete_table(redb::TableDefinition::<&[u8], &[u8]>::new("service_tokens")),
        txn.delete_table(redb::TableDefinition::<&str, &[u8]>::new(
            "service_token_ids",
        )),
    ];
    for (i, g) in gone.into_iter().enumerate() {
        assert!(g.unwrap(), "table {i} existed and is gone");
    }
    const META: redb::TableDefinition<&str, &[u8]> = redb::TableDefinition::new("meta");
    txn.open_table(META)
        .unwrap()
        .insert("schema_version", 4u32.to_be_bytes().as_slice())
        .unwrap();
    txn.commit().unwrap();
    drop(rdb);
    s.spawn(&[]);
    let h2 = s.http();
    let alice = {
        let r = h2.post("/login", None, &crate::util::creds("alice"));
        r.json["token"].as_str().unwrap().to_string()
    };
    let listed = h2.get("/secrets", Some(&alice));
    let got: Vec<(&str, &serde_json::Value)> = listed.json["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["id"].as_str().unwrap(), &m["team"]))
        .collect();
    assert_eq!(got.len(), 3, "{listed:?}");
    for (i, id) in ids.iter().enumerate() {
        assert!(
            got.contains(&(id.as_str(), &serde_json::Value::Null)),
            "{got:?}"
        );
        let r = h2.get(&format!("/secrets/{id}"), Some(&alice));
        assert_eq!(r.json["value"], format!("v{i}"), "{r:?}");
    }
    // And the new tables exist: teams work.
    assert_eq!(
        h2.post("/teams", Some(&alice), &json!({"name": "ops"}))
            .status,
        201
    );
    drop(h);
}

#[test]
fn team_commands_and_team_names_in_every_secret_command() {
    let s = Server::start();
    s.user("bob");
    let alice = crate::util::Cli::new(&s);
    alice.login_as("alice");
    alice.run(&["team", "create", "ops"], b"").success();
    alice.run(&["team", "create", "ops"], b"").fails_with(5);
    alice
        .run(
            &["team", "add", "bob", "--role", "writer", "--team", "ops"],
            b"",
        )
        .success();
    alice
        .run(
            &["team", "add", "nobody", "--role", "reader", "--team", "ops"],
            b"",
        )
        .fails_with(4);
    alice.run(&["team", "members"], b"").fails_with(2);
    let members = alice
        .run(&["team", "members", "--team", "ops", "--json"], b"")
        .success()
        .json();
    assert_eq!(
        members["members"][1],
        json!({"username": "bob", "role": "writer"})
    );
    let ls = alice.run(&["team", "ls"], b"").success().stdout();
    assert!(ls.contains("ops") && ls.contains("admin"), "{ls}");

    // --team, SECRETCTL_TEAM and TEAM:NAME all name the team's secret.
    alice
        .run(&["put", "db", "--team", "ops", "--value", "team-pw"], b"")
        .success();
    alice
        .run(&["put", "db", "--value", "own-pw"], b"")
        .success();
    assert_eq!(
        alice.run(&["get", "ops:db"], b"").success().stdout(),
        "team-pw"
    );
    assert_eq!(alice.run(&["get", "db"], b"").success().stdout(), "own-pw");
    let bob = crate::util::Cli::new(&s).env("SECRETCTL_TEAM", "ops");
    let pw = format!("{}\n", crate::util::PASSWORD);
    bob.run(
        &["login", "--username", "bob", "--password-stdin"],
        pw.as_bytes(),
    )
    .success();
    assert_eq!(bob.run(&["get", "db"], b"").success().stdout(), "team-pw");
    bob.run(&["update", "db", "--value", "v2"], b"").success();
    let listed = bob.run(&["ls", "--json"], b"").success().json();
    assert_eq!(listed["secrets"][0]["team"], "ops");
    assert_eq!(listed["secrets"][0]["version"], 2);
    bob.run(&["share", "db"], b"").success();
    let shares = bob.run(&["shares", "db", "--json"], b"").success().json();
    assert_eq!(shares["shares"].as_array().unwrap().len(), 1);
    let out = bob
        .run(
            &[
                "run",
                "--env",
                "PW=db",
                "--",
                "sh",
                "-c",
                "printf %s \"$PW\"",
            ],
            b"",
        )
        .success()
        .stdout();
    assert_eq!(out, "v2");
    let out = alice
        .run(&["export", "ops:db", "--format", "json"], b"")
        .success()
        .json();
    assert_eq!(out, json!({"DB": "v2"}));
    let out = alice
        .run(
            &[
                "export", "--team", "ops", "--prefix", "d", "--format", "json",
            ],
            b"",
        )
        .success()
        .json();
    assert_eq!(out, json!({"DB": "v2"}));
    let tpl = s.dir.path().join("t.tpl");
    std::fs::write(&tpl, "a={{ sctl://db }} b={{ sctl://ops:db }}\n").unwrap();
    let out = alice
        .run(&["inject", "-i", tpl.to_str().unwrap()], b"")
        .success()
        .stdout();
    assert_eq!(out, "a=own-pw b=v2\n");
    bob.run(&["get", "ops:missing"], b"").fails_with(4);
    // One JSON record per line.
    let trail = alice
        .run(&["audit", "--team", "ops", "--json"], b"")
        .success()
        .stdout();
    let actions: Vec<String> = trail
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["action"].to_string())
        .collect();
    assert!(
        actions.iter().any(|a| a == "\"team.member_set\""),
        "{trail}"
    );
    bob.run(&["audit", "--team", "ops"], b"").fails_with(3);
    bob.run(&["rm", "db"], b"").success();
    alice.run(&["get", "ops:db"], b"").fails_with(4);

    // A writer may not delete the team; deleting asks for confirmation.
    // 403 (a role too low) is exit 3, like every refusal of the caller's rights.
    bob.run(&["team", "delete", "--yes"], b"").fails_with(3);
    alice
        .run(&["team", "delete", "--team", "ops"], b"")
        .fails_with(2);
    assert!(
        alice
            .run(&["team", "ls"], b"")
            .success()
            .stdout()
            .contains("ops")
    );
    alice
        .run(&["team", "delete", "--team", "ops", "--yes"], b"")
        .success();
    bob.run(&["get", "db"], b"").fails_with(4);
    bob.run(&["team", "remove", "bob"], b"").fails_with(4);
}
