//! The admin channel: a Unix socket in the data dir through which `secretctl admin` asks a
//! running server for what needs the database the server holds locked (a backup, operator
//! user commands).
//!
//! Who may use it: the socket is 0600 in the 0700 data dir, so only the server's own user,
//! who can already read the key file and the database, can connect; it grants nothing new.
//! Nothing on it is reachable from the network.
//!
//! Protocol: one request per connection. The client writes one JSON line ([`AdminRequest`]);
//! the server answers with one JSON line ([`AdminResponse`]); a `backup` answer is followed
//! by exactly `bytes` raw bytes: the snapshot file. The user operations are carried out by
//! [`operate`], which `secretctl admin` also calls on the files when no server runs. The socket is created at start (a stale
//! one left by a crash is replaced) and removed on clean shutdown.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::App;
use crate::crypto::password::PasswordHasher;
use crate::sensitive::ExposeSecret;
use crate::store::backup::Manifest;
use crate::store::{Actor, Store, StoreError, UserSummary};

/// Name of the socket in the data dir.
pub const SOCKET_FILE: &str = "admin.sock";
/// Prefix of the server's temporary snapshot files in the data dir (removed after sending;
/// leftovers from a crash are removed at the next start).
const SNAPSHOT_PREFIX: &str = ".admin-backup-";
/// Longest request line accepted.
const MAX_REQUEST: u64 = 64 * 1024;
/// A client that stops reading or writing for this long is dropped.
const IO_TIMEOUT: Duration = Duration::from_secs(30);

/// What `secretctl admin` asks of a running server.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum AdminRequest {
    /// A consistent snapshot of the database, streamed after the answer line.
    Backup,
    /// Every user, with secret count, last login and holds.
    UsersList,
    /// Refuse the user's logins and sessions; their links stop unless `keep_links`.
    UserDisable {
        username: String,
        keep_links: bool,
    },
    UserEnable {
        username: String,
    },
    /// A one-time password that must be changed at the next login.
    UserResetPassword {
        username: String,
    },
    /// Delete every session of the user.
    SessionsRevoke {
        username: String,
    },
}

/// The server's answer line. Not `Debug`: `User` may carry a one-time password.
#[derive(Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum AdminResponse {
    /// `bytes` bytes of snapshot follow this line.
    Backup {
        manifest: Manifest,
        bytes: u64,
    },
    Users {
        users: Vec<UserSummary>,
    },
    /// A user after an operator change.
    User {
        username: String,
        disabled: bool,
        links_kept: bool,
        sessions_revoked: usize,
        /// Only after a reset: shown to the operator once, stored only as a hash.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        one_time_password: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        one_time_password_expires_at: Option<i64>,
    },
    /// The request failed; `message` says why (never a secret). `not_found`: no such user.
    Error {
        message: String,
        #[serde(default)]
        not_found: bool,
    },
}

/// Carries out a user operation (anything but `Backup`) on `store`, as the operator
/// reaching it through `via`.
pub fn operate(
    store: &Store,
    hasher: &PasswordHasher,
    request: &AdminRequest,
    now: i64,
    via: &str,
) -> AdminResponse {
    let actor = Actor::operator(via);
    let changed =
        |username: &str, result: Result<(crate::store::UserRecord, usize), StoreError>| match result
        {
            Ok((user, sessions_revoked)) => AdminResponse::User {
                username: user.username,
                disabled: user.disabled,
                links_kept: user.links_kept,
                sessions_revoked,
                one_time_password: None,
                one_time_password_expires_at: None,
            },
            Err(e) => failure(username, e),
        };
    match request {
        AdminRequest::Backup => error("a backup is not a user operation".into()),
        AdminRequest::UsersList => match store.list_users() {
            Ok(users) => AdminResponse::Users { users },
            Err(e) => error(format!("cannot list users: {e}")),
        },
        AdminRequest::UserDisable {
            username,
            keep_links,
        } => changed(
            username,
            store.set_user_disabled(username, true, *keep_links, &actor, now),
        ),
        AdminRequest::UserEnable { username } => changed(
            username,
            store.set_user_disabled(username, false, false, &actor, now),
        ),
        AdminRequest::SessionsRevoke { username } => {
            changed(username, store.revoke_user_sessions(username, &actor, now))
        }
        AdminRequest::UserResetPassword { username } => {
            match crate::service::operator::reset_password(store, hasher, &actor, username, now) {
                Ok(reset) => AdminResponse::User {
                    username: username.clone(),
                    disabled: false,
                    links_kept: false,
                    sessions_revoked: reset.sessions_revoked,
                    one_time_password: Some(reset.password.expose_secret().to_string()),
                    one_time_password_expires_at: Some(reset.expires_at),
                },
                Err(crate::service::ServiceError::Store(e)) => failure(username, e),
                Err(e) => error(format!("cannot reset the password: {e}")),
            }
        }
    }
}

fn failure(username: &str, e: StoreError) -> AdminResponse {
    match e {
        StoreError::NotFound => AdminResponse::Error {
            message: format!("no user named {username:?}"),
            not_found: true,
        },
        e => error(e.to_string()),
    }
}

/// The socket path of a data dir.
pub fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join(SOCKET_FILE)
}

/// The running channel: its thread and socket file.
pub struct AdminChannel {
    path: PathBuf,
    thread: thread::JoinHandle<()>,
}

impl AdminChannel {
    /// Binds the socket in `data_dir` (replacing a stale one: the caller holds the database
    /// lock, so no other server uses this data dir) and serves it until `stop` is set.
    pub fn start(
        data_dir: &Path,
        app: Arc<App>,
        stop: Arc<AtomicBool>,
    ) -> std::io::Result<AdminChannel> {
        use std::os::unix::fs::PermissionsExt;
        remove_leftover_snapshots(data_dir);
        let path = socket_path(data_dir);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        let listener = UnixListener::bind(&path)?;
        // The 0700 data dir already keeps others out; 0600 says the same on the file.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
        listener.set_nonblocking(true)?;
        let data_dir = data_dir.to_path_buf();
        let thread = thread::Builder::new()
            .name("admin-channel".into())
            .spawn(move || accept_until(listener, &data_dir, &app, &stop))?;
        Ok(AdminChannel { path, thread })
    }

    /// Waits for the accept loop (the caller has set `stop`) and removes the socket.
    pub fn finish(self) {
        let _ = self.thread.join();
        let _ = std::fs::remove_file(&self.path);
    }
}

fn accept_until(listener: UnixListener, data_dir: &Path, app: &Arc<App>, stop: &AtomicBool) {
    while !stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((stream, _)) => {
                let (app, data_dir) = (Arc::clone(app), data_dir.to_path_buf());
                // One thread per connection: a backup streaming to a slow reader must not
                // hold up a `users ls`.
                let spawned = thread::Builder::new()
                    .name("admin-request".into())
                    .spawn(move || serve_one(stream, &data_dir, &app));
                if let Err(e) = spawned {
                    eprintln!("admin channel: cannot start a thread: {e}");
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                thread::sleep(Duration::from_millis(50));
            }
            Err(e) => {
                eprintln!("admin channel: accept failed: {e}");
                thread::sleep(Duration::from_millis(200));
            }
        }
    }
}

fn serve_one(stream: UnixStream, data_dir: &Path, app: &App) {
    if let Err(e) = answer(stream, data_dir, app) {
        eprintln!("admin channel: {e}");
    }
}

fn answer(stream: UnixStream, data_dir: &Path, app: &App) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    let mut line = String::new();
    BufReader::new((&stream).take(MAX_REQUEST)).read_line(&mut line)?;
    let mut out = std::io::BufWriter::new(&stream);
    let request = match serde_json::from_str::<AdminRequest>(&line) {
        Ok(r) => r,
        Err(e) => {
            return send(&mut out, &error(format!("bad request: {e}")));
        }
    };
    match request {
        AdminRequest::Backup => backup(&mut out, data_dir, app),
        other => {
            let response = match app.store() {
                Ok(store) => operate(&store, &app.hasher, &other, app.now(), "admin channel"),
                Err(_) => error("the server is shutting down".into()),
            };
            send(&mut out, &response)
        }
    }
}

fn error(message: String) -> AdminResponse {
    AdminResponse::Error {
        message,
        not_found: false,
    }
}

fn send(out: &mut impl Write, response: &AdminResponse) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, response)?;
    out.write_all(b"\n")?;
    out.flush()
}

/// Makes the snapshot in the data dir (the server may write nowhere else, e.g. under
/// systemd's `ProtectSystem=strict`), streams it, removes it.
fn backup(out: &mut impl Write, data_dir: &Path, app: &App) -> std::io::Result<()> {
    let Ok(store) = app.store() else {
        return send(out, &error("the server is shutting down".into()));
    };
    let id = match crate::crypto::token::new_id() {
        Ok(id) => id,
        Err(e) => return send(out, &error(e.to_string())),
    };
    let tmp = data_dir.join(format!("{SNAPSHOT_PREFIX}{id}"));
    let made = store.backup_to(&tmp, app.now());
    // The snapshot has its own read transaction, done now: the store is not needed for the
    // (possibly slow) streaming, and shutdown need not wait for it.
    drop(store);
    let result = match made {
        Ok(manifest) => stream_file(out, &tmp, manifest),
        Err(e) => send(out, &error(format!("backup failed: {e}"))),
    };
    let _ = std::fs::remove_file(&tmp);
    result
}

fn stream_file(out: &mut impl Write, path: &Path, manifest: Manifest) -> std::io::Result<()> {
    let mut file = std::fs::File::open(path)?;
    let bytes = file.metadata()?.len();
    send(out, &AdminResponse::Backup { manifest, bytes })?;
    let copied = std::io::copy(&mut file, out)?;
    out.flush()?;
    if copied != bytes {
        return Err(std::io::Error::other("snapshot changed size while sent"));
    }
    Ok(())
}

/// Snapshot files a crash left in the data dir.
fn remove_leftover_snapshots(data_dir: &Path) {
    let Ok(entries) = std::fs::read_dir(data_dir) else {
        return;
    };
    for entry in entries.flatten() {
        if entry
            .file_name()
            .to_string_lossy()
            .starts_with(SNAPSHOT_PREFIX)
        {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}
