//! The HTTP API, endpoint by endpoint, over a real server.

use serde_json::{Value, json};

use crate::util::{PASSWORD, Server, creds};

fn is_rfc3339(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|s| s.len() == 20 && s.ends_with('Z') && s.as_bytes()[10] == b'T')
}

#[test]
fn healthz_and_unknown_routes() {
    let s = Server::start();
    let h = s.http();
    let r = h.get("/healthz", None);
    assert_eq!((r.status, &r.json), (200, &json!({"status": "ok"})));
    h.get("/nope", None).assert_error(404, "not_found");
    h.get("/secrets/a/b", None).assert_error(404, "not_found");
    let r = h.delete("/login", None);
    r.assert_error(405, "method_not_allowed");
    assert_eq!(r.header("allow"), Some("POST"));
    let r = h.request("PATCH", "/secrets/abc", None, &[], None);
    r.assert_error(405, "method_not_allowed");
    assert_eq!(r.header("allow"), Some("GET, PUT, DELETE"));
}

#[test]
fn register_validates_and_rejects_duplicates() {
    let s = Server::start();
    let h = s.http();
    let r = h.post("/register", None, &creds("alice"));
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(r.json["username"], "alice");
    assert!(r.json["id"].as_str().is_some_and(|id| id.len() >= 16));
    assert!(is_rfc3339(&r.json["created_at"]), "{r:?}");
    assert_eq!(
        r.json.as_object().unwrap().len(),
        3,
        "exactly id, username, created_at"
    );
    h.post("/register", None, &creds("alice"))
        .assert_error(409, "conflict");

    for bad in ["ab", "Alice", "al ice", "x/y", &"a".repeat(65)] {
        let r = h.post(
            "/register",
            None,
            &json!({"username": bad, "password": PASSWORD}),
        );
        r.assert_error(400, "bad_request");
        assert!(
            r.json["message"].as_str().unwrap().contains("username"),
            "{r:?}"
        );
    }
    let r = h.post(
        "/register",
        None,
        &json!({"username": "bob", "password": "short"}),
    );
    r.assert_error(400, "bad_request");
    assert!(
        r.json["message"].as_str().unwrap().contains("password"),
        "{r:?}"
    );
    let long = "x".repeat(1025);
    h.post(
        "/register",
        None,
        &json!({"username": "bob", "password": long}),
    )
    .assert_error(400, "bad_request");
}

#[test]
fn login_answers_unknown_user_and_wrong_password_alike() {
    let s = Server::start();
    let h = s.http();
    h.post("/register", None, &creds("alice"));
    let ok = h.post("/login", None, &creds("alice"));
    assert_eq!(ok.status, 200, "{ok:?}");
    let token = ok.json["token"].as_str().unwrap();
    assert!(
        token.len() >= 43
            && token
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    );
    assert_eq!(ok.json["token_type"], "Bearer");
    assert!(is_rfc3339(&ok.json["expires_at"]));
    assert_eq!(ok.header("cache-control"), Some("no-store"));

    let wrong = h.post(
        "/login",
        None,
        &json!({"username": "alice", "password": "wrong password"}),
    );
    let unknown = h.post(
        "/login",
        None,
        &json!({"username": "nobody", "password": PASSWORD}),
    );
    wrong.assert_error(401, "unauthorized");
    unknown.assert_error(401, "unauthorized");
    assert_eq!(wrong.body, unknown.body);
    assert_eq!(wrong.header("www-authenticate"), Some("Bearer"));
}

#[test]
fn logout_revokes_the_token() {
    let s = Server::start();
    let h = s.http();
    let t = s.user("alice");
    assert_eq!(h.get("/secrets", Some(&t)).status, 200);
    let r = h.request("POST", "/logout", Some(&t), &[], None);
    assert_eq!(r.status, 204, "{r:?}");
    h.get("/secrets", Some(&t))
        .assert_error(401, "unauthorized");
    h.request("POST", "/logout", Some(&t), &[], None)
        .assert_error(401, "unauthorized");
}

#[test]
fn endpoints_require_a_valid_token() {
    let s = Server::start();
    let h = s.http();
    h.get("/secrets", None).assert_error(401, "unauthorized");
    h.get("/secrets", Some("sctl_forged"))
        .assert_error(401, "unauthorized");
    h.request(
        "GET",
        "/secrets",
        None,
        &[("Authorization", "Basic YWxpY2U6cHc=")],
        None,
    )
    .assert_error(401, "unauthorized");
    h.post("/secrets", None, &json!({"name": "x", "value": "y"}))
        .assert_error(401, "unauthorized");
    h.get("/secrets/abc", None)
        .assert_error(401, "unauthorized");
    h.delete("/secrets/abc", None)
        .assert_error(401, "unauthorized");
}

#[test]
fn secret_crud() {
    let s = Server::start();
    let h = s.http();
    let t = s.user("alice");
    let t = Some(t.as_str());

    let r = h.post(
        "/secrets",
        t,
        &json!({"name": "prod/db", "value": "pw-1", "description": "main db", "tags": ["prod", "db", "prod"]}),
    );
    assert_eq!(r.status, 201, "{r:?}");
    let id = r.json["id"].as_str().unwrap().to_string();
    assert_eq!(r.json["name"], "prod/db");
    assert_eq!(r.json["description"], "main db");
    assert_eq!(r.json["tags"], json!(["db", "prod"]));
    assert_eq!(r.json["version"], 1);
    assert!(is_rfc3339(&r.json["created_at"]) && is_rfc3339(&r.json["updated_at"]));
    assert!(r.json.get("value").is_none(), "metadata only: {r:?}");
    let keys: Vec<_> = r.json.as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys.len(), 8, "{keys:?}");
    assert_eq!(r.json["team"], serde_json::Value::Null, "a personal secret");

    h.post("/secrets", t, &json!({"name": "prod/db", "value": "other"}))
        .assert_error(409, "conflict");
    h.post(
        "/secrets",
        t,
        &json!({"name": "api-key", "value": "k-1", "tags": ["ci"]}),
    );

    let r = h.get("/secrets", t);
    assert_eq!(r.status, 200);
    let names: Vec<_> = r.json["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].clone())
        .collect();
    assert_eq!(names, [json!("api-key"), json!("prod/db")]);
    assert!(
        !r.body.contains("pw-1") && !r.body.contains("k-1"),
        "list never has values"
    );
    let r = h.get("/secrets?tag=prod", t);
    assert_eq!(r.json["secrets"].as_array().unwrap().len(), 1);
    assert_eq!(r.json["secrets"][0]["id"], id.as_str());
    let r = h.get("/secrets?name=api-key", t);
    assert_eq!(r.json["secrets"][0]["name"], "api-key");
    h.get("/secrets?tag=bad%20tag", t)
        .assert_error(400, "bad_request");

    let r = h.get(&format!("/secrets/{id}"), t);
    assert_eq!(r.status, 200);
    assert_eq!(r.json["value"], "pw-1");
    assert_eq!(r.json["version"], 1);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));

    // Metadata changes keep the version; a new value bumps it.
    let r = h.put(
        &format!("/secrets/{id}"),
        t,
        &json!({"name": "prod/main-db", "tags": [], "description": ""}),
    );
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        (r.json["name"].as_str(), r.json["version"].as_u64()),
        (Some("prod/main-db"), Some(1))
    );
    assert_eq!(r.json["tags"], json!([]));
    let r = h.put(&format!("/secrets/{id}"), t, &json!({"value": "pw-2"}));
    assert_eq!(r.json["version"], 2);
    assert!(r.json.get("value").is_none());
    assert_eq!(h.get(&format!("/secrets/{id}"), t).json["value"], "pw-2");
    h.put(&format!("/secrets/{id}"), t, &json!({"name": "api-key"}))
        .assert_error(409, "conflict");
    h.put(&format!("/secrets/{id}"), t, &json!({}))
        .assert_error(400, "bad_request");
    h.put("/secrets/does-not-exist", t, &json!({"value": "x"}))
        .assert_error(404, "not_found");
    // The old name is free after a rename.
    assert_eq!(
        h.post("/secrets", t, &json!({"name": "prod/db", "value": "new"}))
            .status,
        201
    );

    let r = h.delete(&format!("/secrets/{id}"), t);
    assert_eq!(r.status, 204, "{r:?}");
    h.get(&format!("/secrets/{id}"), t)
        .assert_error(404, "not_found");
    h.delete(&format!("/secrets/{id}"), t)
        .assert_error(404, "not_found");
}

#[test]
fn users_cannot_see_or_touch_each_others_secrets() {
    let s = Server::start();
    let h = s.http();
    let alice = s.user("alice");
    let bob = s.user("bob");
    let id = h
        .post(
            "/secrets",
            Some(&alice),
            &json!({"name": "mine", "value": "alice-only"}),
        )
        .json["id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/secrets/{id}");
    let missing = h.get("/secrets/00000000000000000000000000000000", Some(&bob));
    let theirs = h.get(&path, Some(&bob));
    theirs.assert_error(404, "not_found");
    assert_eq!(
        theirs.body, missing.body,
        "another user's secret looks exactly like a missing one"
    );
    h.put(&path, Some(&bob), &json!({"value": "hijack"}))
        .assert_error(404, "not_found");
    h.delete(&path, Some(&bob)).assert_error(404, "not_found");
    assert_eq!(h.get("/secrets", Some(&bob)).json["secrets"], json!([]));
    // Bob may use the same name for his own secret.
    assert_eq!(
        h.post(
            "/secrets",
            Some(&bob),
            &json!({"name": "mine", "value": "bob"})
        )
        .status,
        201
    );
    let r = h.get(&path, Some(&alice));
    assert_eq!(
        (r.status, r.json["value"].as_str()),
        (200, Some("alice-only"))
    );
}

#[test]
fn bad_input_is_rejected_with_the_right_status() {
    let s = Server::start();
    let h = s.http();
    let t = s.user("alice");
    let t = Some(t.as_str());
    let json_ct = [("Content-Type", "application/json")];

    let r = h.post(
        "/secrets",
        t,
        &json!({"name": "x", "value": "y", "colour": "red"}),
    );
    r.assert_error(400, "bad_request");
    assert!(
        r.json["message"].as_str().unwrap().contains("colour"),
        "{r:?}"
    );
    h.request("POST", "/secrets", t, &json_ct, Some(b"{\"name\": \"x\", "))
        .assert_error(400, "bad_request");
    h.request("POST", "/secrets", t, &json_ct, Some(b""))
        .assert_error(400, "bad_request");
    h.request("POST", "/secrets", t, &json_ct, Some(b"[1,2]"))
        .assert_error(400, "bad_request");
    // A wrongly typed field is named, but its content is never echoed back.
    let r = h.post(
        "/secrets",
        t,
        &json!({"name": "x", "value": "y", "tags": "TOPSECRETVALUE"}),
    );
    r.assert_error(400, "bad_request");
    assert!(!r.body.contains("TOPSECRETVALUE"), "{r:?}");
    h.request(
        "POST",
        "/secrets",
        t,
        &[("Content-Type", "text/plain")],
        Some(br#"{"name":"x","value":"y"}"#),
    )
    .assert_error(415, "unsupported_media_type");
    h.request(
        "POST",
        "/login",
        None,
        &[],
        Some(br#"{"username":"alice"}"#),
    )
    .assert_error(415, "unsupported_media_type");

    for name in ["", "has space", "semi;colon", &"n".repeat(129)] {
        let r = h.post("/secrets", t, &json!({"name": name, "value": "v"}));
        r.assert_error(400, "bad_request");
        assert!(
            r.json["message"].as_str().unwrap().contains("name"),
            "{r:?}"
        );
    }
    h.post("/secrets", t, &json!({"name": "ok", "value": ""}))
        .assert_error(400, "bad_request");
    h.post(
        "/secrets",
        t,
        &json!({"name": "ok", "value": "v".repeat(64 * 1024 + 1)}),
    )
    .assert_error(400, "bad_request");
    assert_eq!(
        h.post(
            "/secrets",
            t,
            &json!({"name": "max", "value": "v".repeat(64 * 1024)})
        )
        .status,
        201
    );
    h.post(
        "/secrets",
        t,
        &json!({"name": "ok", "value": "v", "description": "d".repeat(1025)}),
    )
    .assert_error(400, "bad_request");
    let tags: Vec<String> = (0..33).map(|i| format!("t{i}")).collect();
    h.post(
        "/secrets",
        t,
        &json!({"name": "ok", "value": "v", "tags": tags}),
    )
    .assert_error(400, "bad_request");
    h.post(
        "/secrets",
        t,
        &json!({"name": "ok", "value": "v", "tags": ["bad tag"]}),
    )
    .assert_error(400, "bad_request");
    assert_eq!(
        h.get("/secrets?name=ok", t).json["secrets"],
        json!([]),
        "nothing half-created"
    );
}

#[test]
fn oversize_bodies_are_413() {
    let s = Server::start();
    let h = s.http();
    let t = s.user("alice");
    // Declared too large: refused from the header alone, before the body is sent.
    let r = h.raw(
        format!(
            "POST /secrets HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer {t}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            2 * 1024 * 1024
        )
        .as_bytes(),
    );
    r.assert_error(413, "payload_too_large");
    // No Content-Length (chunked): enforced while reading.
    let mut raw = format!(
        "POST /secrets HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer {t}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    .into_bytes();
    let chunk = vec![b' '; 64 * 1024];
    for _ in 0..20 {
        raw.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        raw.extend_from_slice(&chunk);
        raw.extend_from_slice(b"\r\n");
    }
    raw.extend_from_slice(b"0\r\n\r\n");
    h.raw(&raw).assert_error(413, "payload_too_large");
    // Just under the limit is parsed normally (and fails validation, not size).
    let mut body = br#"{"name":"x","value":"v"}"#.to_vec();
    body.resize(1024 * 1024, b' ');
    let r = h.request(
        "POST",
        "/secrets",
        Some(&t),
        &[("Content-Type", "application/json")],
        Some(&body),
    );
    assert_eq!(r.status, 201, "{r:?}");
}
