//! The account endpoints and `secretctl account`: the email address security alerts are
//! mailed to, validated, owner-only, and audited without the address itself.

use serde_json::{Value, json};

use crate::util::{Cli, Server};

#[test]
fn account_email_api_validates_and_is_audited_without_the_address() {
    let s = Server::start();
    let h = s.http();
    let t = s.user("grace");
    let tok = Some(t.as_str());
    let r = h.get("/account", tok);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json["username"], "grace");
    assert_eq!(r.json["email"], Value::Null);

    let r = h.put(
        "/account/email",
        tok,
        &json!({"email": "grace@example.test"}),
    );
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json["email"], "grace@example.test");
    assert_eq!(h.get("/account", tok).json["email"], "grace@example.test");

    for bad in [
        json!({"email": "no-at-sign"}),
        json!({"email": "two@@example.test"}),
        json!({"email": "sp ace@example.test"}),
        json!({"email": "x@example.test\r\nBcc: evil@example.test"}),
        json!({"email": format!("{}@example.test", "a".repeat(250))}),
        json!({"email": 5}),
        json!({}),
        json!({"email": "a@b.test", "extra": 1}),
    ] {
        h.put("/account/email", tok, &bad)
            .assert_error(400, "bad_request");
    }
    assert_eq!(h.get("/account", tok).json["email"], "grace@example.test");

    for clear in [json!({"email": ""}), json!({"email": null})] {
        let r = h.put("/account/email", tok, &clear);
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.json["email"], Value::Null);
    }

    h.get("/account", None).assert_error(401, "unauthorized");
    h.put("/account/email", None, &json!({"email": "a@b.test"}))
        .assert_error(401, "unauthorized");
    h.request("POST", "/account", tok, &[], None)
        .assert_error(405, "method_not_allowed");

    let r = h.get("/audit?limit=500", tok);
    let sets = r.json["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "account.set_email")
        .count();
    assert_eq!(sets, 3, "{r:?}");
    assert!(!r.body.contains("grace@example.test"), "{r:?}");
}

#[test]
fn cli_shows_sets_and_clears_the_address() {
    let s = Server::start();
    let cli = Cli::new(&s);
    cli.login_as("heidi");
    let shown = cli.run(&["account", "show"], b"").success().stdout();
    assert!(
        shown.contains("username:  heidi") && shown.contains("email:     -"),
        "{shown}"
    );
    let set = cli
        .run(&["account", "set-email", "heidi@example.test"], b"")
        .success();
    assert!(
        set.stderr().contains("heidi@example.test"),
        "{}",
        set.stderr()
    );
    let json = cli
        .run(&["--json", "account", "show"], b"")
        .success()
        .json();
    assert_eq!(json["username"], "heidi");
    assert_eq!(json["email"], "heidi@example.test");
    assert_eq!(json["id"].as_str().unwrap().len(), 32);
    // The server's rule, the server's message; exit 1 like any rejected input.
    cli.run(&["account", "set-email", "not an address"], b"")
        .fails_with(1);
    let cleared = cli
        .run(&["--json", "account", "set-email", ""], b"")
        .success()
        .json();
    assert_eq!(cleared["email"], Value::Null);
    // Without a session: exit 3.
    Cli::new(&s).run(&["account", "show"], b"").fails_with(3);
}
