//! Disk full, on a real file system: a 4 MiB tmpfs holds the data dir and is filled while
//! the server runs. Writes are refused with 503 `unavailable` and `Retry-After`, `/healthz`
//! turns 503 with a reason, reads that need no write go on; once space is freed the server
//! writes again by itself (no restart) and every acknowledged secret is there. A first start
//! on a full disk leaves nothing that blocks the next one.
//!
//! Mounting needs root. Elsewhere these tests print `SKIPPED` and return; under CI (`CI`
//! set, and `.ci/run` runs as root) a failed mount is a failure, never a silent skip.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::util::{BIN, Server, wait_timeout};

/// A tmpfs of a fixed size, unmounted on drop (declare it before the server that uses it,
/// so the server is stopped first).
struct Tmpfs {
    mountpoint: tempfile::TempDir,
}

impl Tmpfs {
    /// Mounts a `size` tmpfs for `test`; `None` (with a visible note) where that is not
    /// permitted, outside CI.
    fn mount(test: &str, size: &str) -> Option<Tmpfs> {
        let mountpoint = tempfile::tempdir().unwrap();
        let out = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(mountpoint.path())
            .output();
        match out {
            Ok(o) if o.status.success() => Some(Tmpfs { mountpoint }),
            other => {
                let why = match other {
                    Ok(o) => String::from_utf8_lossy(&o.stderr).trim().to_string(),
                    Err(e) => e.to_string(),
                };
                assert!(
                    std::env::var_os("CI").is_none(),
                    "{test}: cannot mount a tmpfs under CI (.ci/run runs as root): {why}"
                );
                eprintln!("SKIPPED {test}: cannot mount a tmpfs (needs root): {why}");
                None
            }
        }
    }

    fn path(&self) -> &Path {
        self.mountpoint.path()
    }

    /// Writes a file of `bytes` (fails if they do not fit).
    fn reserve(&self, name: &str, bytes: usize) -> PathBuf {
        let path = self.path().join(name);
        std::fs::write(&path, vec![7u8; bytes]).unwrap();
        path
    }

    /// Fills the file system to the last page; returns the filler's path.
    fn fill(&self) -> PathBuf {
        let path = self.path().join("filler");
        let mut file = std::fs::File::create(&path).unwrap();
        let page = [0u8; 4096];
        loop {
            match file.write(&page) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
        path
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.path()).status();
    }
}

/// A server whose data dir is (a link to) `data` on the tmpfs.
fn server_on(data: &Path) -> Server {
    if !data.exists() {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new().mode(0o700).create(data).unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(data, dir.path().join("data")).unwrap();
    Server::start_in(dir, &[])
}

/// Polls `ready` until it holds, failing the test after `limit`.
fn wait_until(limit: Duration, what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !ready() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_full_disk_is_503_and_unhealthy_and_recovers_without_a_restart() {
    let Some(disk) = Tmpfs::mount("disk_full_recovery", "4m") else {
        return;
    };
    let mut server = server_on(&disk.path().join("data"));
    let h = server.http();
    let token = server.user("alice");
    let mut acked: Vec<(String, String)> = Vec::new();
    for i in 0..5 {
        let value = format!("before-{i}");
        acked.push((server.secret(&token, &format!("before-{i}"), &value), value));
    }
    assert_eq!(h.get("/healthz", None).status, 200);

    let filler = disk.fill();
    // Writers in parallel (so whole batches fail together) go on while the database's own
    // free pages last; then each is refused.
    let refusals = std::thread::scope(|scope| {
        let writers: Vec<_> = (0..4)
            .map(|w| {
                let (h, token) = (server.http(), token.clone());
                scope.spawn(move || {
                    let mut acked = Vec::new();
                    for i in 0..1000 {
                        let value = format!("{w}-{i}-{}", "x".repeat(2048));
                        let r = h.post(
                            "/secrets",
                            Some(&token),
                            &json!({"name": format!("full-{w}-{i}"), "value": value}),
                        );
                        if r.status != 201 {
                            return (acked, Some(r));
                        }
                        acked.push((r.json["id"].as_str().unwrap().to_string(), value));
                    }
                    (acked, None)
                })
            })
            .collect();
        let mut refusals = Vec::new();
        for w in writers {
            let (mut done, refused) = w.join().unwrap();
            acked.append(&mut done);
            refusals.push(refused.expect("a write on a full disk is refused"));
        }
        refusals
    });
    for refused in &refusals {
        refused.assert_error(503, "unavailable");
        assert!(refused.header("retry-after").is_some(), "{refused:?}");
    }

    let health = h.get("/healthz", None);
    assert_eq!(health.status, 503, "{health:?}");
    assert_eq!(health.json["status"], "degraded", "{health:?}");
    assert_eq!(
        health.json["reason"], "storage: cannot write (disk full)",
        "{health:?}"
    );
    // Reads that need no audit record go on.
    let list = h.get("/secrets", Some(&token));
    assert_eq!(list.status, 200, "{list:?}");
    assert_eq!(list.json["secrets"].as_array().unwrap().len(), acked.len());
    // Every other write is refused the same way (503, never 500), deletes included.
    h.delete(&format!("/secrets/{}", acked[0].0), Some(&token))
        .assert_error(503, "unavailable");
    h.get(&format!("/secrets/{}", acked[0].0), Some(&token))
        .assert_error(503, "unavailable");

    std::fs::remove_file(&filler).unwrap();
    // No restart: the server's own recovery steps find the space (within a few seconds).
    wait_until(Duration::from_secs(30), "/healthz to recover", || {
        h.get("/healthz", None).status == 200
    });
    let after = server.secret(&token, "after", "after");
    acked.push((after, "after".into()));
    for (id, value) in &acked {
        let r = h.get(&format!("/secrets/{id}"), Some(&token));
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.json["value"], value.as_str());
    }
    // And the file opens as it should after a restart: the audit trail ends at its head.
    server.restart();
    let h = server.http();
    for (id, value) in &acked {
        let r = h.get(&format!("/secrets/{id}"), Some(&token));
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.json["value"], value.as_str());
    }
    assert!(
        !server.log().contains("panicked"),
        "server log:\n{}",
        server.log()
    );
}

/// Runs `serve` on `data` expecting it to fail to start; returns its stderr.
fn failed_start(data: &Path) -> String {
    let mut child = Command::new(BIN)
        .args(["serve", "--addr", "127.0.0.1:0", "--insecure-fast-kdf"])
        .arg("--data-dir")
        .arg(data)
        .env_clear()
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = wait_timeout(&mut child, Duration::from_secs(30)).expect("serve exits");
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(1), "{stderr}");
    stderr
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_first_start_on_a_full_disk_leaves_nothing_that_blocks_the_next() {
    let Some(disk) = Tmpfs::mount("first_start_full_disk", "4m") else {
        return;
    };
    let data = disk.path().join("data");
    std::fs::create_dir(&data).unwrap();
    // Room for the key file (a page or two) but not for the database.
    let room = disk.reserve("room", 16 * 1024);
    let filler = disk.fill();

    // Not even the key file fits: nothing is left behind.
    let stderr = failed_start(&data);
    assert!(stderr.contains("No space left"), "{stderr}");
    assert_eq!(entries(&data), Vec::<String>::new(), "{stderr}");

    // The key file fits, the database does not: only the complete key file stays.
    std::fs::remove_file(&room).unwrap();
    let stderr = failed_start(&data);
    assert_eq!(entries(&data), ["master.key"], "{stderr}");

    std::fs::remove_file(&filler).unwrap();
    let server = server_on(&data);
    let token = server.user("alice");
    let id = server.secret(&token, "db", "postgres://");
    let r = server.http().get(&format!("/secrets/{id}"), Some(&token));
    assert_eq!(r.status, 200, "{r:?}");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(data.join("secretctl.redb"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    // The running server's admin channel and commit journal sit beside them; the journal is
    // as private as the database.
    assert_eq!(
        entries(&data),
        [
            "admin.sock",
            "master.key",
            "secretctl.redb",
            "secretctl.redb-journal"
        ]
    );
    let mode = std::fs::metadata(data.join("secretctl.redb-journal"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}
