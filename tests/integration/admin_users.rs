//! Operator commands on accounts through the real binary, against a running server (admin
//! channel) and a stopped one (the files): `admin users ls`, `disable` (with and without
//! `--keep-links`), `enable`, `reset-password` and `admin sessions revoke`.

use std::process::Command;

use serde_json::{Value, json};

use crate::util::{BIN, Run, Server, creds, run_with};

fn secretctl(args: &[&str]) -> Run {
    let mut cmd = Command::new(BIN);
    cmd.env_clear();
    run_with(cmd, args, b"")
}

/// `secretctl [--json] admin ARGS --data-dir DIR`.
fn admin(server: &Server, json: bool, args: &[&str]) -> Run {
    let dir = server.data_dir();
    let mut all: Vec<&str> = Vec::new();
    if json {
        all.push("--json");
    }
    all.push("admin");
    all.extend_from_slice(args);
    all.extend_from_slice(&["--data-dir", dir.to_str().unwrap()]);
    secretctl(&all)
}

fn login(server: &Server, user: &str, password: &str) -> crate::util::Reply {
    server.http().post(
        "/login",
        None,
        &json!({"username": user, "password": password}),
    )
}

fn redeem(server: &Server, token: &str) -> u16 {
    server
        .http()
        .request(
            "POST",
            &format!("/share/{token}"),
            None,
            &[("Accept", "application/json")],
            None,
        )
        .status
}

fn user<'a>(list: &'a Value, name: &str) -> &'a Value {
    list["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == name)
        .unwrap_or_else(|| panic!("{name} not listed: {list}"))
}

#[test]
fn disable_enable_and_sessions_revoke_through_the_running_server() {
    let server = Server::start();
    let alice = server.user("alice");
    let id = server.secret(&alice, "one", "v1");
    server.secret(&alice, "two", "v2");
    let link = server.share(&alice, &id, &json!({"max_views": 10}));
    let link = link["token"].as_str().unwrap().to_string();
    let bob = server.user("bob");

    let list = admin(&server, true, &["users", "ls"]).success().json();
    assert_eq!(list["via"], "server", "{list}");
    let a = user(&list, "alice");
    assert_eq!(a["secrets"], 2, "{list}");
    assert_eq!(a["disabled"], false, "{list}");
    assert!(a["last_login"].is_i64(), "{list}");
    assert_eq!(user(&list, "bob")["secrets"], 0, "{list}");
    let text = admin(&server, false, &["users", "ls"]).success().stdout();
    assert!(
        text.starts_with("USERNAME") && text.contains("alice"),
        "{text}"
    );

    // Disabled: the token is refused at once, logins too, and the link is gone.
    let r = admin(&server, true, &["users", "disable", "alice"])
        .success()
        .json();
    assert_eq!(r["disabled"], true, "{r}");
    assert_eq!(r["sessions_revoked"], 1, "{r}");
    server
        .http()
        .get("/secrets", Some(&alice))
        .assert_error(401, "unauthorized");
    login(&server, "alice", crate::util::PASSWORD).assert_error(403, "forbidden");
    assert_eq!(redeem(&server, &link), 404);
    let list = admin(&server, true, &["users", "ls"]).success().json();
    assert_eq!(user(&list, "alice")["disabled"], true, "{list}");

    // Enabled again: logins and the link work.
    admin(&server, false, &["users", "enable", "alice"]).success();
    let r = login(&server, "alice", crate::util::PASSWORD);
    assert_eq!(r.status, 200, "{r:?}");
    let alice = r.json["token"].as_str().unwrap().to_string();
    assert_eq!(redeem(&server, &link), 200);

    // --keep-links: the account is locked out, its links go on working.
    let r = admin(
        &server,
        true,
        &["users", "disable", "alice", "--keep-links"],
    )
    .success()
    .json();
    assert_eq!(r["links_kept"], true, "{r}");
    assert_eq!(redeem(&server, &link), 200);
    login(&server, "alice", crate::util::PASSWORD).assert_error(403, "forbidden");
    admin(&server, false, &["users", "enable", "alice"]).success();

    // The account sees what the operator did, in its own trail.
    let t = login(&server, "alice", crate::util::PASSWORD).json["token"]
        .as_str()
        .unwrap()
        .to_string();
    let trail = server.http().get("/audit?limit=500", Some(&t));
    let actions: Vec<&str> = trail.json["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"admin.user_disable"), "{actions:?}");
    assert!(actions.contains(&"admin.user_enable"), "{actions:?}");
    let _ = alice;

    // sessions revoke: bob's token stops working, his login still does.
    let r = admin(&server, true, &["sessions", "revoke", "--user", "bob"])
        .success()
        .json();
    assert_eq!(r["sessions_revoked"], 1, "{r}");
    server
        .http()
        .get("/secrets", Some(&bob))
        .assert_error(401, "unauthorized");
    assert_eq!(login(&server, "bob", crate::util::PASSWORD).status, 200);

    // Unknown names: exit 4.
    admin(&server, false, &["users", "disable", "nobody"]).fails_with(4);
    admin(&server, false, &["sessions", "revoke", "--user", "nobody"]).fails_with(4);
}

#[test]
fn reset_password_prints_a_one_time_password_that_must_be_changed_and_expires() {
    let server = Server::start();
    let carol = server.user("carol");
    let out = admin(&server, false, &["users", "reset-password", "carol"]).success();
    let otp = out.stdout();
    assert_eq!(otp.lines().count(), 1, "only the password on stdout: {otp}");
    let otp = otp.trim();
    assert!(otp.len() >= 40, "{otp}");
    assert!(
        out.stderr().contains("one-time password"),
        "{}",
        out.stderr()
    );
    // Sessions revoked; the old password is dead; the new one only says "change me".
    server
        .http()
        .get("/secrets", Some(&carol))
        .assert_error(401, "unauthorized");
    login(&server, "carol", crate::util::PASSWORD).assert_error(401, "unauthorized");
    let r = login(&server, "carol", otp);
    r.assert_error(403, "password_change_required");
    assert!(!r.body.contains(otp));
    let list = admin(&server, true, &["users", "ls"]).success().json();
    assert!(
        user(&list, "carol")["must_change_password_until"].is_i64(),
        "{list}"
    );
    // Past 24 h it opens nothing.
    server.set_clock_offset(24 * 3600 + 1);
    login(&server, "carol", otp).assert_error(401, "unauthorized");

    let r = admin(&server, true, &["users", "reset-password", "carol"])
        .success()
        .json();
    assert!(r["one_time_password"].as_str().unwrap().len() >= 40, "{r}");
    admin(&server, false, &["users", "reset-password", "nobody"]).fails_with(4);
}

#[test]
fn with_the_server_stopped_the_commands_work_on_the_files() {
    let mut server = Server::start();
    let token = server.user("dave");
    server.secret(&token, "x", "v");
    server.stop();
    let list = admin(&server, true, &["users", "ls"]).success().json();
    assert_eq!(list["via"], "files", "{list}");
    assert_eq!(user(&list, "dave")["secrets"], 1, "{list}");
    let r = admin(&server, true, &["users", "disable", "dave"])
        .success()
        .json();
    assert_eq!(r["via"], "files", "{r}");
    assert_eq!(r["sessions_revoked"], 1, "{r}");
    server.spawn(&[]);
    login(&server, "dave", crate::util::PASSWORD).assert_error(403, "forbidden");
    server
        .http()
        .get("/secrets", Some(&token))
        .assert_error(401, "unauthorized");
    assert!(server.stop().success());
    admin(&server, false, &["users", "enable", "dave"]).success();
    server.spawn(&[]);
    let r = server.http().post("/login", None, &creds("dave"));
    assert_eq!(r.status, 200, "{r:?}");
}

/// The whole reset flow an operator starts: the one-time password cannot log in, but it can
/// be replaced without a session (there is none), through the API and the CLI alike; then
/// the new password logs in and the one-time password opens nothing.
#[test]
fn a_one_time_password_is_replaced_without_a_session_and_then_login_works() {
    let server = Server::start();
    server.user("erin");
    let otp = admin(&server, false, &["users", "reset-password", "erin"])
        .success()
        .stdout()
        .trim()
        .to_string();
    let h = server.http();
    let change = |username: &str, current: &str, new: &str| {
        h.put(
            "/account/password",
            None,
            &serde_json::json!({"username": username, "current_password": current, "new_password": new}),
        )
    };
    // Wrong password, unknown name: one answer, nothing changed.
    change("erin", "not the otp at all", "a brand new passphrase 77")
        .assert_error(401, "unauthorized");
    change("nobody", &otp, "a brand new passphrase 77").assert_error(401, "unauthorized");
    // The policy applies, before anything is checked.
    change("erin", &otp, "password").assert_error(400, "bad_request");
    assert_eq!(
        change("erin", &otp, "a brand new passphrase 77").status,
        204
    );
    assert_eq!(
        login(&server, "erin", "a brand new passphrase 77").status,
        200
    );
    login(&server, "erin", &otp).assert_error(401, "unauthorized");
    // The flag is gone.
    let list = admin(&server, true, &["users", "ls"]).success().json();
    assert!(
        user(&list, "erin")["must_change_password_until"].is_null(),
        "{list}"
    );

    // The CLI: login explains what to do, and `account passwd --username` does it.
    let otp = admin(&server, false, &["users", "reset-password", "erin"])
        .success()
        .stdout()
        .trim()
        .to_string();
    let cli = crate::util::Cli::new(&server);
    let r = cli
        .run(
            &["login", "-u", "erin", "--password-stdin"],
            format!("{otp}\n").as_bytes(),
        )
        .fails_with(3);
    assert!(
        r.stderr().contains("account passwd --username erin"),
        "{}",
        r.stderr()
    );
    cli.run(
        &[
            "account",
            "passwd",
            "--username",
            "erin",
            "--password-stdin",
        ],
        format!("{otp}\nyet another passphrase 88\n").as_bytes(),
    )
    .success();
    cli.run(
        &["login", "-u", "erin", "--password-stdin"],
        b"yet another passphrase 88\n",
    )
    .success();
}

/// An operator's disable stops the account's service tokens at the next request, team
/// tokens included; enabling it again brings them back (nothing was deleted).
#[test]
fn disabling_an_account_stops_its_service_tokens_at_once() {
    let server = Server::start();
    let frank = server.user("frank");
    let h = server.http();
    assert_eq!(
        h.post("/teams", Some(&frank), &json!({"name": "ops"}))
            .status,
        201
    );
    server.secret(&frank, "db", "v");
    let personal = h.post("/tokens", Some(&frank), &json!({"name": "ci"}));
    let team = h.post(
        "/tokens",
        Some(&frank),
        &json!({"name": "ci", "team": "ops"}),
    );
    let (personal, team) = (
        personal.json["token"].as_str().unwrap().to_string(),
        team.json["token"].as_str().unwrap().to_string(),
    );
    for t in [&personal, &team] {
        assert_eq!(h.get("/secrets", Some(t)).status, 200);
    }
    admin(&server, false, &["users", "disable", "frank"]).success();
    for t in [&personal, &team] {
        h.get("/secrets", Some(t)).assert_error(401, "unauthorized");
    }
    admin(&server, false, &["users", "enable", "frank"]).success();
    for t in [&personal, &team] {
        assert_eq!(h.get("/secrets", Some(t)).status, 200);
    }
}

/// Deleting an account ends its team memberships and its personal tokens; a team must keep
/// an admin, so the last admin is refused until the role is handed on.
#[test]
fn deleting_an_account_leaves_no_orphaned_team_or_token() {
    let server = Server::start();
    let gina = server.user("gina");
    let hal = server.user("hal");
    let h = server.http();
    assert_eq!(
        h.post("/teams", Some(&gina), &json!({"name": "web"}))
            .status,
        201
    );
    let add = h.put(
        "/teams/web/members/hal",
        Some(&gina),
        &json!({"role": "reader"}),
    );
    assert!(add.status < 300, "{add:?}");
    let token = h.post("/tokens", Some(&gina), &json!({"name": "ci"})).json["token"]
        .as_str()
        .unwrap()
        .to_string();
    let team_token = h
        .post(
            "/tokens",
            Some(&gina),
            &json!({"name": "ci", "team": "web"}),
        )
        .json["token"]
        .as_str()
        .unwrap()
        .to_string();
    let password = json!({"password": crate::util::PASSWORD});
    let refused = h.request(
        "DELETE",
        "/account",
        Some(&gina),
        &[("Content-Type", "application/json")],
        Some(password.to_string().as_bytes()),
    );
    refused.assert_error(409, "conflict");
    assert!(refused.body.contains("last admin"), "{refused:?}");
    let promote = h.put(
        "/teams/web/members/hal",
        Some(&gina),
        &json!({"role": "admin"}),
    );
    assert!(promote.status < 300, "{promote:?}");
    let deleted = h.request(
        "DELETE",
        "/account",
        Some(&gina),
        &[("Content-Type", "application/json")],
        Some(password.to_string().as_bytes()),
    );
    assert_eq!(deleted.status, 204, "{deleted:?}");
    // Her personal token died with her; the team's token lives on with the team.
    h.get("/secrets", Some(&token))
        .assert_error(401, "unauthorized");
    assert_eq!(h.get("/secrets", Some(&team_token)).status, 200);
    let members = h.get("/teams/web/members", Some(&hal)).json;
    assert!(!members.to_string().contains("gina"), "{members}");
}

/// Replacing a one-time password without a session is a password guess like a login, so it
/// spends the same per-address budget as `/login` (not the looser general one).
#[test]
fn the_sessionless_password_change_is_limited_like_login() {
    let server = Server::start_with(&["--auth-rate-limit", "3"]);
    let h = server.http();
    let guess = json!({"username": "nobody", "current_password": "x", "new_password": "a brand new passphrase 77"});
    let statuses: Vec<u16> = (0..5)
        .map(|_| h.put("/account/password", None, &guess).status)
        .collect();
    assert_eq!(statuses[..3], [401, 401, 401], "{statuses:?}");
    assert!(statuses[3..].iter().all(|s| *s == 429), "{statuses:?}");
    // Logins from the same address now wait too: one budget.
    h.post("/login", None, &creds("nobody"))
        .assert_error(429, "too_many_requests");
}
