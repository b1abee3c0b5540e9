//! `POST /secrets/read`: many secrets in one request, all or nothing.

use serde_json::{Value, json};

use crate::util::Server;

/// A server with user alice and her token.
fn setup() -> (Server, String) {
    let s = Server::start();
    let token = s.user("alice");
    (s, token)
}

fn audit_reads(s: &Server, token: &str) -> Vec<Value> {
    let r = s.http().get("/audit?limit=500", Some(token));
    assert_eq!(r.status, 200, "{r:?}");
    r.json["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "secret.read")
        .cloned()
        .collect()
}

#[test]
fn batch_read_returns_every_secret_in_one_request_and_audits_each() {
    let (s, alice) = setup();
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(s.secret(&alice, &format!("app/k{i}"), &format!("value-{i}")));
    }
    s.secret(&alice, "other", "value-other");
    let before = audit_reads(&s, &alice).len();
    let r = s.http().post(
        "/secrets/read",
        Some(&alice),
        &json!({"refs": ["app/k3", "app/k1", "app/k3"], "prefix": "app/"}),
    );
    assert_eq!(r.status, 200, "{r:?}");
    let got: Vec<(String, String, String)> = r.json["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["ref"].as_str().unwrap().to_string(),
                e["name"].as_str().unwrap().to_string(),
                e["value"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    // Requested refs first in their order (each once), then the prefix's other matches.
    let want: Vec<(String, String, String)> = [3, 1, 0, 2, 4]
        .iter()
        .map(|i| {
            (
                format!("app/k{i}"),
                format!("app/k{i}"),
                format!("value-{i}"),
            )
        })
        .collect();
    assert_eq!(got, want);
    assert_eq!(r.json["secrets"][0]["id"], ids[3].as_str());
    assert_eq!(r.json["secrets"][0]["version"], 1);
    let reads = audit_reads(&s, &alice);
    assert_eq!(reads.len() - before, 5, "one secret.read per secret");
    assert!(reads.iter().all(|e| e["outcome"] == "ok"));
    assert_eq!(
        s.log().matches(" POST /secrets/read ").count(),
        1,
        "one request"
    );
}

#[test]
fn batch_read_is_all_or_nothing() {
    let (s, alice) = setup();
    s.secret(&alice, "a", "VALUE-A-1f3e");
    s.secret(&alice, "b", "VALUE-B-77c0");
    let bob = s.user("bob");
    s.secret(&bob, "bobs", "VALUE-BOB-9a");
    let before = audit_reads(&s, &alice).len();
    let r = s.http().post(
        "/secrets/read",
        Some(&alice),
        &json!({"refs": ["a", "missing", "b", "bobs", "ops:a", "missing"]}),
    );
    r.assert_error(404, "not_found");
    // Bob's secret is as missing to Alice as one that does not exist; a team ref too.
    assert_eq!(r.json["missing"], json!(["missing", "bobs", "ops:a"]));
    assert!(r.json["message"].as_str().unwrap().contains("`missing`"));
    assert!(!r.body.contains("VALUE-"), "{}", r.body);
    assert_eq!(
        audit_reads(&s, &alice).len(),
        before,
        "no value was read, so no secret.read was recorded"
    );
    assert!(!r.body.contains("VALUE-BOB"));
}

#[test]
fn batch_read_rejects_bad_requests() {
    let (s, alice) = setup();
    let h = s.http();
    let refs: Vec<String> = (0..101).map(|i| format!("n{i}")).collect();
    h.post("/secrets/read", Some(&alice), &json!({ "refs": refs }))
        .assert_error(400, "bad_request");
    h.post("/secrets/read", Some(&alice), &json!({}))
        .assert_error(400, "bad_request");
    let r = h.post(
        "/secrets/read",
        Some(&alice),
        &json!({"refs": ["bad name \u{1b}[31m"]}),
    );
    r.assert_error(400, "bad_request");
    assert!(!r.body.contains("bad name"), "{}", r.body);
    h.post("/secrets/read", Some(&alice), &json!({"prefix": ""}))
        .assert_error(400, "bad_request");
    h.post("/secrets/read", Some(&alice), &json!({"refs": [], "x": 1}))
        .assert_error(400, "bad_request");
    h.post("/secrets/read", None, &json!({"refs": ["a"]}))
        .assert_error(401, "unauthorized");
    h.get("/secrets/read", Some(&alice))
        .assert_error(405, "method_not_allowed");
    // A prefix may not select more than 100 secrets either.
    for i in 0..101 {
        s.secret(&alice, &format!("many/{i}"), "v");
    }
    h.post("/secrets/read", Some(&alice), &json!({"prefix": "many/"}))
        .assert_error(400, "bad_request");
    let r = h.post("/secrets/read", Some(&alice), &json!({"prefix": "many/10"}));
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        r.json["secrets"].as_array().unwrap().len(),
        2,
        "many/10, many/100"
    );
}
