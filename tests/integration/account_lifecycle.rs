//! The account life cycle over the real server and binary: password change (other sessions
//! revoked, this one kept), the session list and its revocation, and account deletion (its
//! secrets, links and sessions gone, its audit trail intact and verifiable).

use serde_json::{Value, json};

use crate::util::{BIN, Cli, PASSWORD, Reply, Server, creds};

const NEW_PASSWORD: &str = "a completely new passphrase";

fn login(s: &Server, user: &str, password: &str, agent: &str) -> String {
    let body = serde_json::to_vec(&json!({"username": user, "password": password})).unwrap();
    let r = s.http().request(
        "POST",
        "/login",
        None,
        &[("Content-Type", "application/json"), ("User-Agent", agent)],
        Some(&body),
    );
    assert_eq!(r.status, 200, "{r:?}");
    r.json["token"].as_str().unwrap().to_string()
}

fn works(s: &Server, token: &str) -> bool {
    let r = s.http().get("/account", Some(token));
    assert!(matches!(r.status, 200 | 401), "{r:?}");
    r.status == 200
}

fn events(s: &Server, token: &str) -> Vec<Value> {
    let r = s.http().get("/audit?limit=500", Some(token));
    assert_eq!(r.status, 200, "{r:?}");
    r.json["events"].as_array().unwrap().clone()
}

fn has(events: &[Value], action: &str, outcome: &str) -> bool {
    events
        .iter()
        .any(|e| e["action"] == action && e["outcome"] == outcome)
}

fn sessions(s: &Server, token: &str) -> Vec<Value> {
    let r = s.http().get("/account/sessions", Some(token));
    assert_eq!(r.status, 200, "{r:?}");
    r.json["sessions"].as_array().unwrap().clone()
}

fn change(s: &Server, token: Option<&str>, current: &str, new: &str) -> Reply {
    s.http().put(
        "/account/password",
        token,
        &json!({"current_password": current, "new_password": new}),
    )
}

#[test]
fn password_change_revokes_every_other_session_but_this_one() {
    let s = Server::start();
    let mine = s.user("alice");
    let other = login(&s, "alice", PASSWORD, "laptop");
    let bob = s.user("bob");

    // Wrong current password: 403 (the session is fine), nothing changes.
    change(&s, Some(&mine), "not my password", NEW_PASSWORD).assert_error(403, "forbidden");
    assert!(works(&s, &other));
    // The policy applies (400), and a missing field or session is the usual error.
    change(&s, Some(&mine), PASSWORD, "password123").assert_error(400, "bad_request");
    change(&s, Some(&mine), PASSWORD, PASSWORD).assert_error(400, "bad_request");
    s.http()
        .put(
            "/account/password",
            Some(&mine),
            &json!({"new_password": NEW_PASSWORD}),
        )
        .assert_error(400, "bad_request");
    change(&s, None, PASSWORD, NEW_PASSWORD).assert_error(401, "unauthorized");
    s.http().post("/login", None, &creds("alice")).json["token"]
        .as_str()
        .expect("the old password still works until the change");

    let r = change(&s, Some(&mine), PASSWORD, NEW_PASSWORD);
    assert_eq!(r.status, 204, "{r:?}");
    assert!(works(&s, &mine), "the calling session stays");
    assert!(!works(&s, &other), "every other session is revoked");
    assert!(works(&s, &bob), "other accounts are untouched");
    s.http()
        .post("/login", None, &creds("alice"))
        .assert_error(401, "unauthorized");
    login(&s, "alice", NEW_PASSWORD, "test");

    let trail = events(&s, &mine);
    assert!(has(&trail, "account.password_change", "ok"), "{trail:?}");
    assert!(
        has(&trail, "account.password_change", "denied"),
        "{trail:?}"
    );
    assert!(has(&trail, "account.session_revoke", "ok"), "{trail:?}");
    let raw = serde_json::to_string(&trail).unwrap();
    assert!(
        !raw.contains(NEW_PASSWORD) && !raw.contains(PASSWORD),
        "{raw}"
    );
}

#[test]
fn sessions_are_listed_with_the_current_one_and_revoked_one_or_all_others() {
    let s = Server::start();
    let first = s.user("carol");
    let second = login(&s, "carol", PASSWORD, "phone-app/1.0");
    let third = login(&s, "carol", PASSWORD, "laptop\u{7f}cli");
    let dave = s.user("dave");

    let listed = sessions(&s, &second);
    assert_eq!(listed.len(), 3, "{listed:?}");
    let current: Vec<&Value> = listed.iter().filter(|l| l["current"] == true).collect();
    assert_eq!(current.len(), 1, "{listed:?}");
    assert_eq!(current[0]["user_agent"], "phone-app/1.0");
    assert_eq!(current[0]["ip"], "127.0.0.1");
    // Control characters of a user agent are neutralized like in the audit trail.
    assert!(
        listed.iter().any(|l| l["user_agent"] == "laptop cli"),
        "{listed:?}"
    );
    for l in &listed {
        let id = l["id"].as_str().unwrap();
        assert_eq!(id.len(), 16);
        assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
        assert!(l["created_at"].is_string() && l["expires_at"].is_string());
    }
    // Neither a token nor anything of its hash is in the listing.
    let raw = serde_json::to_string(&listed).unwrap();
    for t in [&first, &second, &third] {
        assert!(!raw.contains(t.as_str()), "{raw}");
    }
    // Someone else's session id: the same 404 as a made-up one, and nothing is revoked.
    let dave_id = sessions(&s, &dave)[0]["id"].as_str().unwrap().to_string();
    assert!(!listed.iter().any(|l| l["id"] == dave_id.as_str()));
    s.http()
        .delete(&format!("/account/sessions/{dave_id}"), Some(&second))
        .assert_error(404, "not_found");
    s.http()
        .delete("/account/sessions/0123456789abcdef", Some(&second))
        .assert_error(404, "not_found");
    assert!(works(&s, &dave));

    // Revoke one (the "laptop" session).
    let laptop = listed
        .iter()
        .find(|l| l["user_agent"] == "laptop cli")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = s
        .http()
        .delete(&format!("/account/sessions/{laptop}"), Some(&second));
    assert_eq!(r.status, 204, "{r:?}");
    assert!(!works(&s, &third));
    s.http()
        .delete(&format!("/account/sessions/{laptop}"), Some(&second))
        .assert_error(404, "not_found");

    // "Last used" is set by the first request, then moves only once a minute has passed:
    // serving a request is not a database write.
    let last_used = |token: &str| {
        let me = sessions(&s, token)
            .into_iter()
            .find(|l| l["current"] == true)
            .unwrap();
        let created = crate::util::parse_time(me["created_at"].as_str().unwrap());
        let used = crate::util::parse_time(me["last_used_at"].as_str().unwrap());
        (created, used)
    };
    let (created, first_use) = last_used(&first);
    assert!(first_use >= created);
    s.set_clock_offset(30);
    assert_eq!(
        last_used(&first).1,
        first_use,
        "written again within the minute"
    );
    s.set_clock_offset(180);
    assert!(last_used(&first).1 >= first_use + 180);

    // All others: only the caller's session is left.
    let r = s
        .http()
        .post("/account/sessions/revoke-others", Some(&second), &json!({}));
    assert_eq!(
        (r.status, r.json["revoked"].as_u64()),
        (200, Some(1)),
        "{r:?}"
    );
    assert!(!works(&s, &first));
    let left = sessions(&s, &second);
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["current"], true);
    assert!(works(&s, &dave));

    // Every route needs a session and answers others with 405.
    s.http()
        .get("/account/sessions", None)
        .assert_error(401, "unauthorized");
    s.http()
        .post("/account/sessions/revoke-others", None, &json!({}))
        .assert_error(401, "unauthorized");
    s.http()
        .get("/account/sessions/revoke-others", Some(&second))
        .assert_error(405, "method_not_allowed");
    let trail = events(&s, &second);
    assert!(
        has(&trail, "account.session_revoke", "not_found"),
        "{trail:?}"
    );
}

#[test]
fn deleting_the_account_removes_its_secrets_links_and_sessions_and_keeps_the_trail() {
    let mut s = Server::start();
    let erin = s.user("erin");
    let other = login(&s, "erin", PASSWORD, "second");
    let frank = s.user("frank");
    let id = s.secret(&erin, "db-password", "s3cr3t-value");
    let link = s.share(&erin, &id, &json!({"max_views": 3}));
    let link_path = format!(
        "/{}",
        link["url"]
            .as_str()
            .unwrap()
            .split_once("://")
            .unwrap()
            .1
            .split_once('/')
            .unwrap()
            .1
    );
    let kept = s.secret(&frank, "db-password", "frank-value");
    let h = s.http();

    h.json(
        "DELETE",
        "/account",
        Some(&erin),
        &json!({"password": "wrong one!"}),
    )
    .assert_error(403, "forbidden");
    h.request("DELETE", "/account", Some(&erin), &[], None)
        .assert_error(400, "bad_request");
    h.json("DELETE", "/account", None, &json!({"password": PASSWORD}))
        .assert_error(401, "unauthorized");
    assert!(works(&s, &erin));

    let r = h.json(
        "DELETE",
        "/account",
        Some(&erin),
        &json!({"password": PASSWORD}),
    );
    assert_eq!(r.status, 204, "{r:?}");
    assert!(!works(&s, &erin) && !works(&s, &other));
    h.request(
        "POST",
        &link_path,
        None,
        &[("Accept", "application/json")],
        None,
    )
    .assert_error(404, "not_found");
    h.post("/login", None, &creds("erin"))
        .assert_error(401, "unauthorized");
    // The name stays reserved: nobody inherits it.
    h.post("/register", None, &creds("erin"))
        .assert_error(409, "conflict");
    // Frank's secret of the same name is untouched.
    let r = h.get(&format!("/secrets/{kept}"), Some(&frank));
    assert_eq!(
        (r.status, r.json["value"].as_str()),
        (200, Some("frank-value"))
    );

    // Every audit record stayed: the chain still verifies up to its authenticated head.
    s.stop();
    let out = std::process::Command::new(BIN)
        .args(["--json", "audit", "verify", "--data-dir"])
        .arg(s.data_dir())
        .env_clear()
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["intact"], true, "{report}");
    assert_eq!(report["head_authenticated"], true, "{report}");
}

#[test]
fn cli_passwd_sessions_and_delete() {
    let s = Server::start();
    let cli = Cli::new(&s);
    cli.login_as("grace");
    let laptop = Cli::new(&s);
    let pw = format!("{PASSWORD}\n");
    laptop
        .run(
            &["login", "--username", "grace", "--password-stdin"],
            pw.as_bytes(),
        )
        .success();

    let listed = cli
        .run(&["account", "sessions", "--json"], b"")
        .success()
        .json();
    let listed = listed["sessions"].as_array().unwrap();
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert_eq!(listed.iter().filter(|l| l["current"] == true).count(), 1);
    let table = cli.run(&["account", "sessions"], b"").success().stdout();
    assert!(table.starts_with("ID") && table.contains(" * "), "{table}");

    // passwd: wrong current password is exit 3 and changes nothing.
    let wrong = format!("not the password\n{NEW_PASSWORD}\n");
    let r = cli
        .run(&["account", "passwd", "--password-stdin"], wrong.as_bytes())
        .fails_with(3);
    assert!(r.stderr().contains("wrong password"), "{}", r.stderr());
    laptop.run(&["account", "show"], b"").success();
    // A policy refusal is the server's message, exit 1; one line only is usage, exit 2.
    let weak = format!("{PASSWORD}\npassword123\n");
    cli.run(&["account", "passwd", "--password-stdin"], weak.as_bytes())
        .fails_with(1);
    cli.run(&["account", "passwd", "--password-stdin"], pw.as_bytes())
        .fails_with(2);
    let good = format!("{PASSWORD}\n{NEW_PASSWORD}\n");
    cli.run(&["account", "passwd", "--password-stdin"], good.as_bytes())
        .success();
    cli.run(&["account", "show"], b"").success();
    laptop.run(&["account", "show"], b"").fails_with(3);

    // Revoke: an unknown id is exit 4, --all-others reports the count.
    laptop
        .run(
            &["login", "--username", "grace", "--password-stdin"],
            format!("{NEW_PASSWORD}\n").as_bytes(),
        )
        .success();
    cli.run(&["account", "sessions", "revoke", "0123456789abcdef"], b"")
        .fails_with(4);
    // Neither an ID nor --all-others: clap's usage error, exit 2.
    let r = cli.run(&["account", "sessions", "revoke"], b"");
    assert_eq!(r.out.status.code(), Some(2), "{}", r.stderr());
    let done = cli
        .run(
            &["--json", "account", "sessions", "revoke", "--all-others"],
            b"",
        )
        .success()
        .json();
    assert_eq!(done["revoked"], 1);
    laptop.run(&["account", "show"], b"").fails_with(3);
    laptop
        .run(
            &["login", "--username", "grace", "--password-stdin"],
            format!("{NEW_PASSWORD}\n").as_bytes(),
        )
        .success();
    let laptop_id = cli
        .run(&["account", "sessions", "--json"], b"")
        .success()
        .json()["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["current"] == false)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    cli.run(&["account", "sessions", "revoke", &laptop_id], b"")
        .success();
    laptop.run(&["account", "show"], b"").fails_with(3);

    // delete: no terminal and no --yes is a usage error before anything is sent.
    cli.run(
        &["account", "delete", "--password-stdin"],
        format!("{NEW_PASSWORD}\n").as_bytes(),
    )
    .fails_with(2);
    cli.run(
        &["account", "delete", "--yes", "--password-stdin"],
        pw.as_bytes(),
    )
    .fails_with(3);
    cli.run(&["put", "kept-until-delete", "--value", "v"], b"")
        .success();
    let r = cli
        .run(
            &["--json", "account", "delete", "--yes", "--password-stdin"],
            format!("{NEW_PASSWORD}\n").as_bytes(),
        )
        .success()
        .json();
    assert_eq!(
        (r["username"].as_str(), r["deleted"].as_bool()),
        (Some("grace"), Some(true))
    );
    // The cached session went with the account.
    let r = cli.run(&["account", "show"], b"").fails_with(3);
    assert!(r.stderr().contains("not logged in"), "{}", r.stderr());
}
