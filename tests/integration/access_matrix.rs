//! The role matrix: every endpoint that touches secrets, links, teams or tokens, against
//! every kind of caller, with the exact status each must get. One table (`ROWS`) generates
//! all the cases; each mutating case acts on a target made fresh for it, so no case depends
//! on another's effect.

use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};

use crate::util::{Reply, Server};

/// The callers, in column order.
const CALLERS: [&str; 11] = [
    "owner",          // alice: owns her personal secrets, created (admin of) team ops
    "admin",          // erin: another admin of ops
    "writer",         // bob
    "reader",         // carol
    "non-member",     // dave
    "personal token", // alice's, read+write+share, no prefix
    "team token ro",  // ops, read, prefix prod/
    "team token rw",  // ops, read+write, prefix prod/
    "expired token",  // ops, read+write, expired
    "revoked token",  // ops, read+write, revoked
    "disallowed ip",  // ops, read+write, allowed 10.0.0.0/8, used from 203.0.113.5
];

struct Fx {
    s: Server,
    creds: [String; 11],
    n: AtomicUsize,
}

impl Fx {
    fn fresh(&self, what: &str) -> String {
        format!("{what}-{}", self.n.fetch_add(1, Ordering::Relaxed))
    }

    fn alice(&self) -> &str {
        &self.creds[0]
    }

    fn call(&self, who: usize, method: &str, path: &str, body: &Value) -> Reply {
        let h = self.s.http();
        let token = Some(self.creds[who].as_str());
        let bytes = serde_json::to_vec(body).unwrap();
        let mut headers = vec![("Content-Type", "application/json")];
        if who == 10 {
            headers.push(("X-Forwarded-For", "203.0.113.5"));
        }
        let body = (method != "GET" && method != "DELETE").then_some(bytes.as_slice());
        h.request(method, path, token, &headers, body)
    }

    /// A fresh team secret `prod/...` (inside the team tokens' prefix); its id.
    fn team_secret(&self) -> String {
        let r = self.s.http().post(
            "/secrets",
            Some(self.alice()),
            &json!({"name": self.fresh("prod/s"), "value": "v", "team": "ops"}),
        );
        assert_eq!(r.status, 201, "{r:?}");
        r.json["id"].as_str().unwrap().to_string()
    }

    /// A fresh personal secret of alice's; its id.
    fn personal_secret(&self) -> String {
        self.s.secret(self.alice(), &self.fresh("mine"), "v")
    }

    fn share_of(&self, id: &str) -> String {
        self.s.share(self.alice(), id, &json!({}))["id"]
            .as_str()
            .unwrap()
            .to_string()
    }
}

type Setup = fn(&Fx) -> (String, Value);

struct Row {
    method: &'static str,
    what: &'static str,
    setup: Setup,
    expect: [u16; 11],
}

const U401: [u16; 3] = [401, 401, 401];

const fn row(method: &'static str, what: &'static str, setup: Setup, e: [u16; 8]) -> Row {
    Row {
        method,
        what,
        setup,
        expect: [
            e[0], e[1], e[2], e[3], e[4], e[5], e[6], e[7], U401[0], U401[1], U401[2],
        ],
    }
}

/// People only: every person as given, every usable token 403.
const fn people(method: &'static str, what: &'static str, setup: Setup, e: [u16; 5]) -> Row {
    row(
        method,
        what,
        setup,
        [e[0], e[1], e[2], e[3], e[4], 403, 403, 403],
    )
}

const ROWS: &[Row] = &[
    // Team secrets.
    row(
        "GET",
        "list team secrets",
        |_| ("/secrets?team=ops".into(), json!(null)),
        [200, 200, 200, 200, 404, 404, 200, 200],
    ),
    row(
        "POST",
        "create team secret",
        |f| {
            (
                "/secrets".into(),
                json!({"name": f.fresh("prod/new"), "value": "v", "team": "ops"}),
            )
        },
        [201, 201, 201, 403, 404, 404, 403, 201],
    ),
    row(
        "GET",
        "read team secret",
        |f| (format!("/secrets/{}", f.team_secret()), json!(null)),
        [200, 200, 200, 200, 404, 404, 200, 200],
    ),
    row(
        "PUT",
        "update team secret",
        |f| {
            (
                format!("/secrets/{}", f.team_secret()),
                json!({"value": "v2"}),
            )
        },
        [200, 200, 200, 403, 404, 404, 403, 200],
    ),
    row(
        "DELETE",
        "delete team secret",
        |f| (format!("/secrets/{}", f.team_secret()), json!(null)),
        [204, 204, 204, 403, 404, 404, 403, 204],
    ),
    row(
        "POST",
        "share team secret",
        |f| (format!("/secrets/{}/share", f.team_secret()), json!({})),
        [201, 201, 201, 403, 404, 404, 403, 403],
    ),
    row(
        "GET",
        "list team secret links",
        |f| (format!("/secrets/{}/shares", f.team_secret()), json!(null)),
        [200, 200, 200, 403, 404, 404, 403, 403],
    ),
    row(
        "DELETE",
        "revoke team link",
        |f| {
            (
                format!("/shares/{}", f.share_of(&f.team_secret())),
                json!(null),
            )
        },
        [204, 204, 204, 403, 404, 404, 403, 403],
    ),
    row(
        "POST",
        "batch read TEAM:NAME",
        |_| ("/secrets/read".into(), json!({"refs": ["ops:prod/db"]})),
        [200, 200, 200, 200, 404, 404, 200, 200],
    ),
    // Personal secrets (alice's).
    row(
        "GET",
        "read personal secret",
        |f| (format!("/secrets/{}", f.personal_secret()), json!(null)),
        [200, 404, 404, 404, 404, 200, 404, 404],
    ),
    row(
        "PUT",
        "update personal secret",
        |f| {
            (
                format!("/secrets/{}", f.personal_secret()),
                json!({"value": "v2"}),
            )
        },
        [200, 404, 404, 404, 404, 200, 404, 404],
    ),
    row(
        "DELETE",
        "delete personal secret",
        |f| (format!("/secrets/{}", f.personal_secret()), json!(null)),
        [204, 404, 404, 404, 404, 204, 404, 404],
    ),
    row(
        "POST",
        "share personal secret",
        |f| (format!("/secrets/{}/share", f.personal_secret()), json!({})),
        [201, 404, 404, 404, 404, 201, 404, 404],
    ),
    row(
        "DELETE",
        "revoke personal link",
        |f| {
            (
                format!("/shares/{}", f.share_of(&f.personal_secret())),
                json!(null),
            )
        },
        [204, 404, 404, 404, 404, 204, 404, 404],
    ),
    row(
        "POST",
        "batch read NAME",
        |_| ("/secrets/read".into(), json!({"refs": ["mine-db"]})),
        [200, 404, 404, 404, 404, 200, 404, 404],
    ),
    // Teams and tokens: people only.
    people(
        "POST",
        "create team",
        |f| ("/teams".into(), json!({"name": f.fresh("team")})),
        [201, 201, 201, 201, 201],
    ),
    people(
        "GET",
        "list my teams",
        |_| ("/teams".into(), json!(null)),
        [200, 200, 200, 200, 200],
    ),
    people(
        "GET",
        "list members",
        |_| ("/teams/ops/members".into(), json!(null)),
        [200, 200, 200, 200, 404],
    ),
    people(
        "PUT",
        "add member",
        |_| ("/teams/ops/members/frank".into(), json!({"role": "reader"})),
        [204, 204, 403, 403, 404],
    ),
    people(
        "DELETE",
        "remove member",
        |f| {
            let r = f.s.http().put(
                "/teams/ops/members/frank",
                Some(f.alice()),
                &json!({"role": "reader"}),
            );
            assert_eq!(r.status, 204, "{r:?}");
            ("/teams/ops/members/frank".into(), json!(null))
        },
        [204, 204, 403, 403, 404],
    ),
    people(
        "DELETE",
        "delete team",
        |f| {
            let name = f.fresh("gone");
            let h = f.s.http();
            assert_eq!(
                h.post("/teams", Some(f.alice()), &json!({"name": name}))
                    .status,
                201
            );
            for (user, role) in [("erin", "admin"), ("bob", "writer"), ("carol", "reader")] {
                let r = h.put(
                    &format!("/teams/{name}/members/{user}"),
                    Some(f.alice()),
                    &json!({"role": role}),
                );
                assert_eq!(r.status, 204, "{r:?}");
            }
            (format!("/teams/{name}"), json!(null))
        },
        [204, 204, 403, 403, 404],
    ),
    people(
        "GET",
        "team audit",
        |_| ("/audit?team=ops".into(), json!(null)),
        [200, 200, 403, 403, 404],
    ),
    people(
        "POST",
        "create team token",
        |f| {
            (
                "/tokens".into(),
                json!({"name": f.fresh("tok"), "team": "ops"}),
            )
        },
        [201, 201, 403, 403, 404],
    ),
    people(
        "GET",
        "list team tokens",
        |_| ("/tokens?team=ops".into(), json!(null)),
        [200, 200, 403, 403, 404],
    ),
    people(
        "DELETE",
        "revoke team token",
        |f| {
            let r = f.s.http().post(
                "/tokens",
                Some(f.alice()),
                &json!({"name": f.fresh("tok"), "team": "ops"}),
            );
            assert_eq!(r.status, 201, "{r:?}");
            (
                format!("/tokens/{}", r.json["id"].as_str().unwrap()),
                json!(null),
            )
        },
        [204, 204, 404, 404, 404],
    ),
    people(
        "POST",
        "create personal token",
        |f| ("/tokens".into(), json!({"name": f.fresh("tok")})),
        [201, 201, 201, 201, 201],
    ),
    people(
        "GET",
        "account",
        |_| ("/account".into(), json!(null)),
        [200, 200, 200, 200, 200],
    ),
    people(
        "GET",
        "own audit",
        |_| ("/audit".into(), json!(null)),
        [200, 200, 200, 200, 200],
    ),
];

fn token(s: &Server, by: &str, body: Value) -> (String, String) {
    let r = s.http().post("/tokens", Some(by), &body);
    assert_eq!(r.status, 201, "{r:?}");
    (
        r.json["token"].as_str().unwrap().to_string(),
        r.json["id"].as_str().unwrap().to_string(),
    )
}

/// The server, users, team and tokens every case starts from.
fn fixture() -> Fx {
    let s = Server::start_with(&["--trust-proxy"]);
    let h = s.http();
    let [alice, erin, bob, carol, dave] =
        ["alice", "erin", "bob", "carol", "dave"].map(|u| s.user(u));
    s.user("frank");
    assert_eq!(
        h.post("/teams", Some(&alice), &json!({"name": "ops"}))
            .status,
        201
    );
    for (user, role) in [("erin", "admin"), ("bob", "writer"), ("carol", "reader")] {
        let r = h.put(
            &format!("/teams/ops/members/{user}"),
            Some(&alice),
            &json!({"role": role}),
        );
        assert_eq!(r.status, 204, "{r:?}");
    }
    let r = h.post(
        "/secrets",
        Some(&alice),
        &json!({"name": "prod/db", "value": "team-pw", "team": "ops"}),
    );
    assert_eq!(r.status, 201, "{r:?}");
    s.secret(&alice, "mine-db", "own-pw");
    let rw = json!(["read", "write"]);
    let personal = token(
        &s,
        &alice,
        json!({"name": "mine", "permissions": ["read", "write", "share"]}),
    );
    let ro = token(
        &s,
        &alice,
        json!({"name": "ro", "team": "ops", "prefix": "prod/"}),
    );
    let team_rw = token(
        &s,
        &alice,
        json!({"name": "rw", "team": "ops", "prefix": "prod/", "permissions": rw}),
    );
    let expired = token(
        &s,
        &alice,
        json!({"name": "exp", "team": "ops", "permissions": rw, "expires_in": 60}),
    );
    let revoked = token(
        &s,
        &alice,
        json!({"name": "rev", "team": "ops", "permissions": rw}),
    );
    let cidr = token(
        &s,
        &alice,
        json!({"name": "net", "team": "ops", "permissions": rw,
        "allowed_cidrs": ["10.0.0.0/8"]}),
    );
    assert_eq!(
        h.delete(&format!("/tokens/{}", revoked.1), Some(&alice))
            .status,
        204
    );
    // Every other credential lives for days; this one is now past its 60 s.
    s.set_clock_offset(120);
    Fx {
        s,
        creds: [
            alice, erin, bob, carol, dave, personal.0, ro.0, team_rw.0, expired.0, revoked.0,
            cidr.0,
        ],
        n: AtomicUsize::new(0),
    }
}

#[test]
fn every_endpoint_against_every_caller() {
    let fx = fixture();
    let mut failures = Vec::new();
    for row in ROWS {
        for (who, caller) in CALLERS.iter().enumerate() {
            let (path, body) = (row.setup)(&fx);
            let r = fx.call(who, row.method, &path, &body);
            if r.status != row.expect[who] {
                failures.push(format!(
                    "{} ({} {path}) as {caller}: expected {}, got {} {}",
                    row.what, row.method, row.expect[who], r.status, r.body
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases:\n{}",
        failures.len(),
        ROWS.len() * CALLERS.len(),
        failures.join("\n")
    );

    // A team token creates in its team without naming it.
    let r = fx.call(
        7,
        "POST",
        "/secrets",
        &json!({"name": "prod/implicit", "value": "v"}),
    );
    assert_eq!(
        (r.status, r.json["team"].as_str()),
        (201, Some("ops")),
        "{r:?}"
    );

    // The disallowed token works from inside its network, so the 401 above was the address.
    let h = fx.s.http();
    let r = h.request(
        "GET",
        "/secrets?team=ops",
        Some(&fx.creds[10]),
        &[("X-Forwarded-For", "10.1.2.3")],
        None,
    );
    assert_eq!(r.status, 200, "{r:?}");
    // The refusal was audited against the team, with the token as actor.
    let audit = h.get("/audit?team=ops&limit=3", Some(fx.alice()));
    assert_eq!(audit.status, 200, "{audit:?}");
    assert!(
        audit.json["events"].is_array(),
        "{}",
        &audit.body[..300.min(audit.body.len())]
    );
    let refused = audit.json["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "token.refused")
        .cloned()
        .expect("token.refused audited");
    assert_eq!(refused["ip"], "203.0.113.5");
    assert_eq!(refused["actor_name"], "net");
    assert!(
        refused["actor"].as_str().unwrap().starts_with("token:"),
        "{refused}"
    );
}
