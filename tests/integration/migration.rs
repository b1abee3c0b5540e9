//! A data dir written by the first release (`tests/fixtures/release-0.1.0`, schema 3) opens
//! with this build: every secret keeps its id, owner and value and is a personal secret, the
//! unkeyed audit trail still verifies and is keyed (with an authenticated head) from the first
//! start on, and the account logs in with its old password.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use serde_json::{Value, json};

use crate::util::{BIN, Server, creds};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/release-0.1.0");

/// A private copy of the fixture as `dir/data` (the committed files are never touched).
fn copy_fixture(dir: &Path) {
    let data = dir.join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700)).unwrap();
    for file in ["secretctl.redb", "master.key"] {
        let to = data.join(file);
        std::fs::copy(Path::new(FIXTURE).join(file), &to).unwrap();
        std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
}

fn verify(data: &Path) -> Value {
    let out = std::process::Command::new(BIN)
        .args(["audit", "verify", "--json", "--data-dir"])
        .arg(data)
        .env_clear()
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn a_data_dir_from_the_first_release_opens_with_everything_in_it() {
    let dir = tempfile::tempdir().unwrap();
    copy_fixture(dir.path());
    let data = dir.path().join("data");
    // Read-only, before any start: the old SHA-256 chain verifies, without a head yet.
    let before = verify(&data);
    assert_eq!(
        (&before["intact"], &before["head_authenticated"]),
        (&json!(true), &json!(false)),
        "{before}"
    );
    let old_records = before["records"].as_u64().unwrap();
    assert!(old_records >= 8, "{before}");

    let mut s = Server::start_in(dir, &[]);
    let h = s.http();
    let login = h.post("/login", None, &creds("alice"));
    assert_eq!(
        login.status, 200,
        "the old password hash still verifies: {login:?}"
    );
    let t = login.json["token"].as_str().unwrap().to_string();
    let list = h.get("/secrets", Some(&t)).json["secrets"].clone();
    let secrets = list.as_array().unwrap();
    assert_eq!(secrets.len(), 2, "{list}");
    let by_name = |name: &str| -> Value {
        secrets
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("no {name} in {list}"))
            .clone()
    };
    for (name, value, version) in [
        ("prod/db-password", "old-db-password", 1),
        ("prod/api-key", "v2-value", 2),
    ] {
        let meta = by_name(name);
        assert_eq!(meta["team"], Value::Null, "a personal secret: {meta}");
        assert_eq!(meta["version"], version, "{meta}");
        let id = meta["id"].as_str().unwrap();
        let got = h.get(&format!("/secrets/{id}"), Some(&t));
        assert_eq!((got.status, got.json["value"].as_str()), (200, Some(value)));
        // The current value counts as the first kept version.
        let versions = h.get(&format!("/secrets/{id}/versions"), Some(&t)).json;
        assert_eq!(versions["versions"][0]["version"], version, "{versions}");
    }
    assert_eq!(by_name("prod/db-password")["tags"], json!(["prod"]));
    // Another user of the old release sees none of it.
    let bob = h.post("/login", None, &creds("bob")).json["token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(h.get("/secrets", Some(&bob)).json["secrets"], json!([]));
    let new_secret = h.post(
        "/secrets",
        Some(&t),
        &json!({"name": "after-upgrade", "value": "x"}),
    );
    assert_eq!(new_secret.status, 201, "{new_secret:?}");
    assert!(s.stop().success());

    // The old records still verify, the new ones are keyed, and the trail ends at its head.
    let after = verify(&s.data_dir());
    assert_eq!(
        (&after["intact"], &after["head_authenticated"]),
        (&json!(true), &json!(true)),
        "{after}"
    );
    assert!(after["records"].as_u64().unwrap() > old_records, "{after}");
}
