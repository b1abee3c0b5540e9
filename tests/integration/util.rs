//! Test harness: spawns `secretctl serve` on port 0, reads its `listening on` line, and
//! stops it on drop. Also a small HTTP client and a CLI runner that print everything when an
//! assertion fails.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_secretctl");
pub const PASSWORD: &str = "correct horse battery staple";

/// A running server over its own data dir.
pub struct Server {
    child: Option<Child>,
    pub url: String,
    pub dir: tempfile::TempDir,
    /// Cheap password hashing (the default for tests); off to measure the real cost.
    fast_kdf: bool,
    addr: String,
}

impl Server {
    /// A fresh server in a new temp dir.
    pub fn start() -> Server {
        Self::start_with(&[])
    }

    /// A fresh server with extra `serve` flags.
    pub fn start_with(extra: &[&str]) -> Server {
        Self::start_inner("127.0.0.1:0", extra, true)
    }

    /// A fresh server hashing passwords at the real (default) cost.
    pub fn start_with_real_kdf(extra: &[&str]) -> Server {
        Self::start_inner("127.0.0.1:0", extra, false)
    }

    /// A fresh server listening on `addr`, with extra `serve` flags.
    pub fn start_on(addr: &str, extra: &[&str]) -> Server {
        Self::start_inner(addr, extra, true)
    }

    /// A fresh server over `dir`, which the caller has prepared (its `data` may be a link
    /// to a small file system, say).
    pub fn start_in(dir: tempfile::TempDir, extra: &[&str]) -> Server {
        let mut s = Server {
            child: None,
            url: String::new(),
            dir,
            fast_kdf: true,
            addr: "127.0.0.1:0".to_string(),
        };
        s.spawn(extra);
        s
    }

    fn start_inner(addr: &str, extra: &[&str], fast_kdf: bool) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Server {
            child: None,
            url: String::new(),
            dir,
            fast_kdf,
            addr: addr.to_string(),
        };
        s.spawn(extra);
        s
    }

    /// Moves the server's clock `secs` ahead of real time (through `--test-clock-file`).
    pub fn set_clock_offset(&self, secs: i64) {
        std::fs::write(self.dir.path().join("clock"), secs.to_string()).unwrap();
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }

    /// Starts `serve` with extra flags; panics with the log if it does not come up.
    pub fn spawn(&mut self, extra: &[&str]) {
        self.spawn_env(extra, &[]);
    }

    /// Like [`Server::spawn`], with environment variables for the server process.
    pub fn spawn_env(&mut self, extra: &[&str], env: &[(&str, &str)]) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .unwrap();
        let mut child = Command::new(BIN)
            .args(["serve", "--addr", &self.addr])
            .args(self.fast_kdf.then_some("--insecure-fast-kdf"))
            .arg("--data-dir")
            .arg(self.data_dir())
            .arg("--test-clock-file")
            .arg(self.dir.path().join("clock"))
            // Tests share one address; rate-limit tests turn limits back on explicitly.
            .args([
                "--rate-limit",
                "0",
                "--auth-rate-limit",
                "0",
                "--share-rate-limit",
                "0",
            ])
            .args(extra)
            .env_clear()
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let Some(url) = line.trim().strip_prefix("listening on ") else {
            let _ = child.kill();
            panic!(
                "server did not start: stdout {line:?}\nlog:\n{}",
                std::fs::read_to_string(self.log_path()).unwrap_or_default()
            );
        };
        self.url = url.to_string();
        self.child = Some(child);
    }

    /// SIGTERM, then wait; returns the exit status.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("server running");
        signal(&child, "TERM");
        wait_timeout(&mut child, Duration::from_secs(20)).expect("server stops on SIGTERM")
    }

    /// Sends `sig` (e.g. `TERM`) to the server without waiting for it.
    pub fn signal(&self, sig: &str) {
        signal(self.child.as_ref().expect("server running"), sig);
    }

    /// Waits up to `limit` for the server to exit; past that, kills it and returns `None`.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let mut child = self.child.take().expect("server running");
        wait_timeout(&mut child, limit)
    }

    pub fn restart(&mut self) {
        self.restart_with(&[]);
    }

    /// Stops gracefully and starts again on the same data dir with `extra` flags.
    pub fn restart_with(&mut self, extra: &[&str]) {
        assert!(self.stop().success());
        self.spawn(extra);
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    pub fn http(&self) -> Http {
        Http {
            base: self.url.clone(),
        }
    }

    /// Creates a secret for `token`; returns its id.
    pub fn secret(&self, token: &str, name: &str, value: &str) -> String {
        let r = self.http().post(
            "/secrets",
            Some(token),
            &serde_json::json!({"name": name, "value": value}),
        );
        assert_eq!(r.status, 201, "{r:?}");
        r.json["id"].as_str().unwrap().to_string()
    }

    /// Shares secret `id` with `body`; returns the 201 JSON.
    pub fn share(&self, token: &str, id: &str, body: &Value) -> Value {
        let r = self
            .http()
            .post(&format!("/secrets/{id}/share"), Some(token), body);
        assert_eq!(r.status, 201, "{r:?}");
        r.json
    }

    /// Registers and logs in `user`; returns the token.
    pub fn user(&self, user: &str) -> String {
        let h = self.http();
        let r = h.post("/register", None, &creds(user));
        assert_eq!(r.status, 201, "{r:?}");
        let r = h.post("/login", None, &creds(user));
        assert_eq!(r.status, 200, "{r:?}");
        r.json["token"].as_str().unwrap().to_string()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

pub fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([format!("-{sig}"), child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -{sig} failed");
}

pub fn wait_timeout(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let deadline = std::time::Instant::now() + limit;
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return Some(st);
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub fn creds(user: &str) -> Value {
    serde_json::json!({ "username": user, "password": PASSWORD })
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub json: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Asserts the status and the JSON error code.
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "{self:?}");
        assert_eq!(self.json["error"], code, "{self:?}");
        assert!(
            self.json["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{self:?}"
        );
        assert!(
            self.header("content-type")
                .unwrap_or("")
                .starts_with("application/json"),
            "{self:?}"
        );
    }
}

/// A raw HTTP/1.1 client: every request on a fresh connection, nothing hidden.
pub struct Http {
    pub base: String,
}

impl Http {
    fn addr(&self) -> String {
        self.base.trim_start_matches("http://").to_string()
    }

    pub fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.request("GET", path, token, &[], None)
    }

    pub fn delete(&self, path: &str, token: Option<&str>) -> Reply {
        self.request("DELETE", path, token, &[], None)
    }

    pub fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Reply {
        self.json("POST", path, token, body)
    }

    pub fn put(&self, path: &str, token: Option<&str>, body: &Value) -> Reply {
        self.json("PUT", path, token, body)
    }

    pub fn json(&self, method: &str, path: &str, token: Option<&str>, body: &Value) -> Reply {
        let bytes = serde_json::to_vec(body).unwrap();
        self.request(
            method,
            path,
            token,
            &[("Content-Type", "application/json")],
            Some(&bytes),
        )
    }

    /// Sends a request with explicit headers; `body` adds a matching Content-Length.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Reply {
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
            self.addr()
        );
        if let Some(t) = token {
            head.push_str(&format!("Authorization: Bearer {t}\r\n"));
        }
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        if let Some(b) = body {
            head.push_str(&format!("Content-Length: {}\r\n", b.len()));
        }
        head.push_str("\r\n");
        let mut raw = head.into_bytes();
        if let Some(b) = body {
            raw.extend_from_slice(b);
        }
        self.raw(&raw)
    }

    /// Writes `raw` bytes and parses the answer.
    pub fn raw(&self, raw: &[u8]) -> Reply {
        let mut s = TcpStream::connect(self.addr()).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        // The server may answer (413) and close before reading everything we send.
        let _ = s.write_all(raw);
        let mut buf = Vec::new();
        let _ = s.read_to_end(&mut buf);
        parse_reply(&buf)
    }
}

pub fn parse_reply(buf: &[u8]) -> Reply {
    let text = String::from_utf8_lossy(buf).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let chunked = headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_string()
    };
    let json = serde_json::from_str(&body).unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        body,
        json,
    }
}

/// The payload of a chunked body (RFC 9112 §7.1): size lines in hex, each chunk, a zero
/// chunk at the end. A malformed one panics: the server must not send it.
fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    loop {
        let (size_line, after) = rest
            .split_once("\r\n")
            .unwrap_or_else(|| panic!("chunk size line missing in {rest:?}"));
        let size = usize::from_str_radix(size_line.split(';').next().unwrap().trim(), 16)
            .unwrap_or_else(|_| panic!("bad chunk size {size_line:?}"));
        if size == 0 {
            return out;
        }
        out.push_str(&after[..size]);
        rest = after[size..]
            .strip_prefix("\r\n")
            .unwrap_or_else(|| panic!("chunk not followed by CRLF"));
    }
}

/// Runs the CLI against `server` with `home` as its config home.
pub struct Cli<'a> {
    pub server: &'a str,
    pub home: PathBuf,
    env: Vec<(String, String)>,
}

impl<'a> Cli<'a> {
    pub fn new(server: &'a Server) -> Cli<'a> {
        let home = server.dir.path().join(format!("home-{}", rand_suffix()));
        std::fs::create_dir_all(&home).unwrap();
        Cli {
            server: &server.url,
            home,
            env: Vec::new(),
        }
    }

    /// Sets an extra environment variable for every command.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::new(BIN);
        c.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &self.home)
            .env("XDG_CONFIG_HOME", self.home.join(".config"))
            .env("SECRETCTL_SERVER", self.server)
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        c
    }

    /// Runs with `args`, feeding `stdin`.
    pub fn run(&self, args: &[&str], stdin: &[u8]) -> Run {
        run_with(self.cmd(), args, stdin)
    }

    /// Registers and logs in `user` through the CLI.
    pub fn login_as(&self, user: &str) {
        let pw = format!("{PASSWORD}\n");
        self.run(
            &["register", "--username", user, "--password-stdin"],
            pw.as_bytes(),
        )
        .success();
        self.run(
            &["login", "--username", user, "--password-stdin"],
            pw.as_bytes(),
        )
        .success();
    }

    pub fn session_file(&self) -> PathBuf {
        self.home.join(".config/secretctl/sessions.json")
    }

    pub fn cached_token(&self) -> String {
        let v: Value =
            serde_json::from_slice(&std::fs::read(self.session_file()).unwrap()).unwrap();
        v["sessions"][self.server]["token"]
            .as_str()
            .unwrap()
            .to_string()
    }
}

pub fn run_with(mut cmd: Command, args: &[&str], stdin: &[u8]) -> Run {
    cmd.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let shown = format!("secretctl {}", args.join(" "));
    let mut child = cmd.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    Run { cmd: shown, out }
}

/// A finished CLI run.
pub struct Run {
    pub cmd: String,
    pub out: Output,
}

impl Run {
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.stdout).to_string()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.out.stderr).to_string()
    }

    fn describe(&self) -> String {
        format!(
            "command: {}\nstatus: {:?}\nstdout:\n{}\nstderr:\n{}",
            self.cmd,
            self.out.status.code(),
            self.stdout(),
            self.stderr()
        )
    }

    pub fn success(self) -> Self {
        assert!(
            self.out.status.success(),
            "expected success\n{}",
            self.describe()
        );
        self
    }

    /// Asserts a failure with `code` and a one-line message on stderr.
    pub fn fails_with(self, code: i32) -> Self {
        assert_eq!(
            self.out.status.code(),
            Some(code),
            "wrong exit code\n{}",
            self.describe()
        );
        let err = self.stderr();
        assert_eq!(
            err.trim_end().lines().count(),
            1,
            "one-line error expected\n{}",
            self.describe()
        );
        assert!(err.starts_with("error: "), "{}", self.describe());
        self
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.out.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e})\n{}", self.describe()))
    }
}

pub fn rand_suffix() -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

/// True when `needle` occurs anywhere in the file's bytes.
pub fn file_contains(path: &Path, needle: &str) -> bool {
    let bytes = std::fs::read(path).unwrap();
    bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Unix seconds of an RFC 3339 UTC timestamp as the server writes them.
pub fn parse_time(s: &str) -> i64 {
    secretctl::timefmt::parse_rfc3339(s).unwrap_or_else(|| panic!("not RFC 3339: {s}"))
}
