//! Attacks from the second security review (issue 8) on the login throttle and on share
//! links, each reproduced against the real server.

use std::sync::{Arc, Barrier};

use serde_json::json;

use crate::util::Server;

/// Failed logins a name may have before the throttle makes it wait.
const FREE_FAILURES: usize = 5;

#[test]
fn parallel_wrong_logins_cannot_outrun_the_throttle() {
    // Real hashing cost, so all guesses are in flight while the first ones are hashed; enough
    // workers and hashing queue that none is shed for load (which would also be a 429).
    let s = Server::start_with_real_kdf(&["--workers", "64"]);
    let token = s.user("alice");
    let guesses = 3 * FREE_FAILURES;
    let start = Arc::new(Barrier::new(guesses));
    let threads: Vec<_> = (0..guesses)
        .map(|i| {
            let (h, start) = (s.http(), Arc::clone(&start));
            std::thread::spawn(move || {
                let body = json!({"username": "alice", "password": format!("wrong guess {i}")});
                start.wait();
                h.post("/login", None, &body)
            })
        })
        .collect();
    let statuses: Vec<u16> = threads
        .into_iter()
        .map(|t| t.join().unwrap().status)
        .collect();
    // A 401 is a guess whose password was hashed and checked; a 429 was refused before.
    let checked = statuses.iter().filter(|&&st| st == 401).count();
    assert!(
        statuses.iter().all(|&st| st == 401 || st == 429),
        "{statuses:?}"
    );
    assert!(
        (1..=FREE_FAILURES).contains(&checked),
        "{checked} guesses were checked, at most {FREE_FAILURES} may be: {statuses:?}"
    );
    // Only checked guesses reached the point where a failure is recorded.
    let trail = s.http().get("/audit?limit=500", Some(&token));
    let failed = trail.json["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "login.failed")
        .count();
    assert_eq!(failed, checked, "{trail:?}");
}
