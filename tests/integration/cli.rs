//! The CLI, through the real binary against a real server.

use std::os::unix::fs::PermissionsExt;

use serde_json::json;

use crate::util::{Cli, PASSWORD, Run, Server};

trait UsageError {
    /// Asserts clap's usage error (exit 2, nothing on stdout); returns stderr.
    fn fails_with_usage(self) -> String;
}

impl UsageError for Run {
    fn fails_with_usage(self) -> String {
        assert_eq!(self.out.status.code(), Some(2), "{}", self.stderr());
        assert!(self.out.stdout.is_empty(), "{}", self.stdout());
        self.stderr()
    }
}

#[test]
fn register_login_and_token_cache() {
    let s = Server::start();
    let cli = Cli::new(&s);
    let pw = format!("{PASSWORD}\n");
    let r = cli
        .run(
            &[
                "register",
                "--username",
                "alice",
                "--password-stdin",
                "--json",
            ],
            pw.as_bytes(),
        )
        .success();
    assert_eq!(r.json()["username"], "alice");
    cli.run(
        &["register", "--username", "alice", "--password-stdin"],
        pw.as_bytes(),
    )
    .fails_with(5);
    let r = cli
        .run(
            &["login", "--username", "alice", "--password-stdin"],
            b"wrong password\n",
        )
        .fails_with(3);
    assert!(
        r.stderr().contains("wrong username or password") && !r.stderr().contains("log in again"),
        "{}",
        r.stderr()
    );
    assert!(!cli.session_file().exists());
    // The trailing newline is not part of the password (like `docker login --password-stdin`).
    let r = cli
        .run(
            &["login", "--username", "alice", "--password-stdin"],
            pw.as_bytes(),
        )
        .success();
    assert!(
        r.stdout().is_empty(),
        "messages go to stderr: {}",
        r.stdout()
    );
    let mode = std::fs::metadata(cli.session_file())
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    let dir_mode = std::fs::metadata(cli.session_file().parent().unwrap())
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(dir_mode, 0o700);
    let token = cli.cached_token();
    assert_eq!(s.http().get("/secrets", Some(&token)).status, 200);
    // No terminal and no --password-stdin: a usage error, not a hang.
    cli.run(&["login", "--username", "alice"], b"")
        .fails_with(2);
}

#[test]
fn put_get_ls_update_rm_round_trip() {
    let s = Server::start();
    let cli = Cli::new(&s);
    cli.login_as("alice");

    // stdin, byte for byte (trailing newline included).
    let pem = "-----BEGIN KEY-----\nabc\n-----END KEY-----\n";
    cli.run(
        &[
            "put",
            "tls/key",
            "--tag",
            "prod",
            "--tag",
            "tls",
            "-d",
            "server key",
        ],
        pem.as_bytes(),
    )
    .success();
    let r = cli.run(&["get", "tls/key"], b"").success();
    assert_eq!(r.out.stdout, pem.as_bytes());
    // --value, and nothing added on output.
    cli.run(&["put", "api-key", "--value", "k-123"], b"")
        .success();
    assert_eq!(
        cli.run(&["get", "api-key"], b"").success().out.stdout,
        b"k-123"
    );
    // --from-file.
    let f = s.dir.path().join("value.txt");
    std::fs::write(&f, "from file\twith tab").unwrap();
    cli.run(
        &["put", "file-secret", "--from-file", f.to_str().unwrap()],
        b"",
    )
    .success();
    assert_eq!(
        cli.run(&["get", "file-secret"], b"").success().stdout(),
        "from file\twith tab"
    );
    cli.run(&["put", "api-key", "--value", "again"], b"")
        .fails_with(5);
    cli.run(&["put", "empty"], b"").fails_with(2);
    cli.run(&["put", "bad name", "--value", "x"], b"")
        .fails_with(1);

    let r = cli.run(&["get", "tls/key", "--json"], b"").success();
    let j = r.json();
    assert_eq!(
        (
            j["name"].as_str(),
            j["value"].as_str(),
            j["version"].as_u64()
        ),
        (Some("tls/key"), Some(pem), Some(1))
    );
    assert_eq!(j["tags"], json!(["prod", "tls"]));

    let table = cli.run(&["ls"], b"").success().stdout();
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[0].starts_with("NAME")
            && lines[0].contains("VERSION")
            && lines[0].contains("TAGS")
            && lines[0].contains("UPDATED"),
        "{table}"
    );
    assert_eq!(lines.len(), 4, "{table}");
    assert!(
        lines[1].starts_with("api-key ")
            && lines[3].starts_with("tls/key ")
            && lines[3].contains("prod,tls"),
        "{table}"
    );
    assert!(!table.contains("k-123"), "ls never shows values");
    let only = cli
        .run(&["ls", "--tag", "tls", "--json"], b"")
        .success()
        .json();
    assert_eq!(only["secrets"].as_array().unwrap().len(), 1);

    let r = cli
        .run(
            &[
                "update",
                "api-key",
                "--rename",
                "ci/api-key",
                "--tag",
                "ci",
                "--description",
                "for CI",
                "--json",
            ],
            b"",
        )
        .success();
    assert_eq!(
        (r.json()["name"].as_str(), r.json()["version"].as_u64()),
        (Some("ci/api-key"), Some(1))
    );
    let r = cli
        .run(&["update", "ci/api-key", "--value", "k-456", "--json"], b"")
        .success();
    assert_eq!(r.json()["version"], 2);
    assert_eq!(
        cli.run(&["get", "ci/api-key"], b"").success().stdout(),
        "k-456"
    );
    cli.run(&["update", "ci/api-key", "--from-file", "-"], b"k-789")
        .success();
    assert_eq!(
        cli.run(&["get", "ci/api-key"], b"").success().stdout(),
        "k-789"
    );
    let r = cli
        .run(&["update", "ci/api-key", "--clear-tags", "--json"], b"")
        .success();
    assert_eq!(r.json()["tags"], json!([]));
    cli.run(&["update", "ci/api-key"], b"").fails_with(2);
    cli.run(&["update", "nope", "--value", "x"], b"")
        .fails_with(4);

    cli.run(&["rm", "ci/api-key"], b"").success();
    cli.run(&["get", "ci/api-key"], b"").fails_with(4);
    cli.run(&["rm", "ci/api-key"], b"").fails_with(4);
}

#[test]
fn not_logged_in_token_override_and_logout() {
    let s = Server::start();
    let cli = Cli::new(&s);
    cli.run(&["ls"], b"").fails_with(3);
    cli.run(&["get", "x"], b"").fails_with(3);
    // Logging out when not logged in already has the outcome asked for.
    let r = cli.run(&["logout"], b"").success();
    assert!(r.stderr().contains("not logged in"), "{}", r.stderr());

    cli.login_as("alice");
    cli.run(&["put", "x", "--value", "1"], b"").success();
    let token = cli.cached_token();

    // SECRETCTL_TOKEN overrides the cache: another user's token sees another user's secrets.
    let bob = s.user("bob");
    let mut cmd = cli.cmd();
    cmd.env("SECRETCTL_TOKEN", &bob);
    crate::util::run_with(cmd, &["get", "x"], b"").fails_with(4);
    let mut cmd = cli.cmd();
    cmd.env("SECRETCTL_TOKEN", "sctl_not-a-real-token");
    crate::util::run_with(cmd, &["ls"], b"").fails_with(3);

    cli.run(&["logout"], b"").success();
    assert_eq!(
        s.http().get("/secrets", Some(&token)).status,
        401,
        "logout revoked the token on the server"
    );
    let cache = std::fs::read_to_string(cli.session_file()).unwrap();
    assert!(!cache.contains(&token), "logout forgot the token");
    cli.run(&["ls"], b"").fails_with(3);
}

#[test]
fn usage_errors_exit_2_and_unreachable_server_exits_7() {
    let s = Server::start();
    let cli = Cli::new(&s);
    let r = cli.run(&["put"], b"");
    assert_eq!(r.out.status.code(), Some(2));
    let r = cli.run(&["put", "x", "--value", "a", "--from-file", "f"], b"");
    assert_eq!(r.out.status.code(), Some(2));
    let mut cmd = cli.cmd();
    cmd.env("SECRETCTL_SERVER", "http://127.0.0.1:9");
    let r = crate::util::run_with(
        cmd,
        &["login", "-u", "alice", "--password-stdin"],
        b"password1\n",
    )
    .fails_with(7);
    assert!(r.stderr().contains("cannot reach"), "{}", r.stderr());
    let r = cli.run(&["completions", "bash"], b"").success();
    assert!(r.stdout().contains("secretctl"));
}

#[test]
fn logout_with_env_token_also_revokes_the_cached_session() {
    let s = Server::start();
    let cli = Cli::new(&s);
    cli.login_as("alice");
    let cached = cli.cached_token();
    let env_token = s.user("bob");
    let mut cmd = cli.cmd();
    cmd.env("SECRETCTL_TOKEN", &env_token);
    crate::util::run_with(cmd, &["logout"], b"").success();
    for token in [&cached, &env_token] {
        assert_eq!(
            s.http().get("/secrets", Some(token)).status,
            401,
            "a session was left alive"
        );
    }
}

/// A one-connection HTTP listener that records the request head it receives and answers
/// `status` with `body`; `recv` says what arrived, if anything.
pub struct FakeServer {
    pub url: String,
    heads: std::sync::mpsc::Receiver<String>,
}

impl FakeServer {
    pub fn start(status: &'static str, content_type: &'static str, body: &'static str) -> Self {
        use std::io::{BufRead, BufReader, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (tx, heads) = std::sync::mpsc::channel();
        // Detached: a test that expects no connection leaves it blocked in accept().
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { return };
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                let mut head = String::new();
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    head.push_str(&line);
                }
                // Recorded before answering: once the client has its answer, the head is here.
                let _ = tx.send(head);
                let _ = write!(
                    conn,
                    "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        FakeServer { url, heads }
    }

    /// Every request head received so far.
    pub fn received(&self) -> Vec<String> {
        self.heads.try_iter().collect()
    }
}

#[test]
fn env_token_is_sent_only_to_the_server_it_belongs_to() {
    let s = Server::start();
    let cli = Cli::new(&s);
    let token = s.user("alice");
    s.secret(&token, "db", "hunter2");
    let cli = cli.env("SECRETCTL_TOKEN", &token);
    // SECRETCTL_SERVER names the real server: the token is used there, with or without
    // the same URL given again as --server.
    assert_eq!(cli.run(&["get", "db"], b"").success().stdout(), "hunter2");
    let same = format!("{}/", s.url);
    assert_eq!(
        cli.run(&["get", "db", "--server", &same], b"")
            .success()
            .stdout(),
        "hunter2"
    );

    // --server elsewhere: nothing is sent there, and the command says it is not logged in.
    let fake = FakeServer::start("200 OK", "application/json", r#"{"secrets":[]}"#);
    let r = cli.run(&["ls", "--server", &fake.url], b"").fails_with(3);
    assert!(r.stderr().contains("SECRETCTL_TOKEN"), "{}", r.stderr());
    let heads = fake.received();
    assert!(
        heads
            .iter()
            .all(|h| !h.to_ascii_lowercase().contains("authorization")),
        "the token went to another server: {heads:?}"
    );
    // logout to another server does not revoke (or send) the bound token either.
    cli.run(&["logout", "--server", &fake.url], b"");
    assert!(fake.received().is_empty());
    assert_eq!(s.http().get("/secrets", Some(&token)).status, 200);
}

#[test]
fn passwords_are_not_sent_over_plain_http_to_another_host() {
    let s = Server::start();
    let cli = Cli::new(&s);
    let pw = format!("{PASSWORD}\n");
    // Unroutable and unresolvable hosts: a refusal must come before any connection attempt,
    // so it is immediate and names the flag.
    for server in ["http://10.255.255.1:9", "http://example.invalid"] {
        for cmd in ["register", "login"] {
            let r = cli
                .run(
                    &[cmd, "-u", "alice", "--password-stdin", "--server", server],
                    pw.as_bytes(),
                )
                .fails_with(2);
            assert!(r.stderr().contains("--insecure-http"), "{}", r.stderr());
            assert!(r.stderr().contains("https://"), "{}", r.stderr());
        }
    }
    // With the flag it does try (and here cannot reach the host).
    let r = cli.run(
        &[
            "login",
            "-u",
            "alice",
            "--password-stdin",
            "--insecure-http",
            "--server",
            "http://example.invalid",
        ],
        pw.as_bytes(),
    );
    assert_ne!(r.out.status.code(), Some(2), "{}", r.stderr());
    assert!(r.stderr().contains("cannot reach"), "{}", r.stderr());
    // Loopback (the test server) stays allowed without the flag.
    cli.login_as("alice");
    let localhost = s.url.replace("127.0.0.1", "localhost");
    cli.run(
        &[
            "login",
            "-u",
            "alice",
            "--password-stdin",
            "--server",
            &localhost,
        ],
        pw.as_bytes(),
    )
    .success();
}

#[test]
fn open_escapes_control_characters_on_a_terminal_only() {
    let s = Server::start();
    let t = s.user("alice");
    let hostile = "\u{1b}]0;pwned\u{7}\u{1b}[2J\u{1b}[31mred\r\n\u{9b}6n";
    let id = s.secret(&t, "hostile", hostile);
    let cli = Cli::new(&s);

    // A pipe gets the exact bytes.
    let url = s.share(&t, &id, &json!({"max_views": 3}))["url"]
        .as_str()
        .unwrap()
        .to_string();
    let r = cli.run(&["open", &url], b"").success();
    assert_eq!(r.out.stdout, hostile.as_bytes());

    // A terminal (a pty from `script`) gets visible escapes and no ESC, BEL or CSI.
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("SKIPPED: terminal case of open_escapes_control_characters (no `script`)");
        return;
    }
    let on_terminal = |extra: &str| {
        let command = format!("{} open '{url}' {extra}", crate::util::BIN);
        std::process::Command::new("script")
            .args(["-qec", &command, "/dev/null"])
            .env("SECRETCTL_SERVER", &s.url)
            .env("HOME", &cli.home)
            .env("XDG_CONFIG_HOME", cli.home.join(".config"))
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    };
    let out = on_terminal("");
    assert!(out.status.success(), "{out:?}");
    let seen = String::from_utf8_lossy(&out.stdout);
    assert!(
        seen.contains(r"\x1b]0;pwned\x07\x1b[2J\x1b[31mred\x0d"),
        "{seen:?}"
    );
    assert!(seen.contains(r"\u{9b}6n"), "{seen:?}");
    assert!(
        !out.stdout.iter().any(|b| matches!(*b, 0x1b | 0x07)) && !seen.contains('\u{9b}'),
        "raw control characters reached the terminal: {seen:?}"
    );

    // --json on a terminal: still JSON with the exact value, and nothing raw a terminal acts on.
    let out = on_terminal("--json");
    assert!(out.status.success(), "{out:?}");
    let seen = String::from_utf8_lossy(&out.stdout);
    assert!(
        !out.stdout.iter().any(|b| matches!(*b, 0x1b | 0x07)) && !seen.contains('\u{9b}'),
        "raw control characters reached the terminal: {seen:?}"
    );
    let line = seen
        .lines()
        .find(|l| l.starts_with('{'))
        .unwrap_or_default();
    let parsed: serde_json::Value = serde_json::from_str(line.trim_end()).unwrap();
    assert_eq!(parsed["value"], hostile);
}

#[test]
fn exit_codes_say_what_went_wrong() {
    let s = Server::start();
    let cli = Cli::new(&s);
    cli.login_as("alice");
    // 4 means only "no such secret or link", from a secretctl server.
    cli.run(&["get", "nope"], b"").fails_with(4);
    let dead = format!("{}/share/no-such-token", s.url);
    cli.run(&["open", &dead], b"").fails_with(4);

    // A server URL without a scheme is a usage error with the fix in it.
    let bare = s.url.trim_start_matches("http://");
    for args in [
        vec!["ls", "--server", bare],
        vec!["login", "-u", "alice", "--password-stdin", "--server", bare],
        vec!["logout", "--server", bare],
    ] {
        let r = cli
            .run(&args, format!("{PASSWORD}\n").as_bytes())
            .fails_with(2);
        assert!(
            r.stderr().contains(&format!("http://{bare}")),
            "{}",
            r.stderr()
        );
    }

    // https:// against a plain-HTTP server says so in words. (The server only drops the
    // garbled request after its client timeout, so that is short here.)
    let plain = Server::start_with(&["--client-timeout", "1"]);
    let tls = plain.url.replace("http://", "https://");
    let r = cli
        .run(&["open", "some-token", "--server", &tls], b"")
        .fails_with(1);
    assert!(
        r.stderr().contains("does not speak TLS") && r.stderr().contains(&plain.url),
        "{}",
        r.stderr()
    );

    // A 404 that is not secretctl's JSON: the URL is wrong, not the secret missing.
    let web = FakeServer::start("404 Not Found", "text/html", "<h1>Not Found</h1>");
    let link = format!("{}/share/sEcReT-ToKeN", web.url);
    let r = cli.run(&["open", &link], b"").fails_with(1);
    assert!(
        r.stderr()
            .contains(&format!("not a secretctl server at {}", web.url))
            && r.stderr().contains("HTTP 404 from POST /share/…"),
        "{}",
        r.stderr()
    );
    assert!(!r.stderr().contains("sEcReT-ToKeN"), "{}", r.stderr());

    // Nothing listening: 7, at once for a write (never retried), after the budget for a read.
    let down = "http://127.0.0.1:9";
    let r = cli
        .run(&["share", "x", "--server", down], b"")
        .fails_with(3);
    assert!(r.stderr().contains("not logged in"), "{}", r.stderr());
    let r = cli
        .run(&["open", "tok", "--server", down], b"")
        .fails_with(7);
    assert!(r.stderr().contains("cannot reach"), "{}", r.stderr());
    let r = cli.run(
        &[
            "--verbose",
            "--retry-for",
            "1",
            "open",
            "tok",
            "--server",
            down,
        ],
        b"",
    );
    assert_eq!(r.out.status.code(), Some(7), "{}", r.stderr());
    assert!(
        !r.stderr().contains("retry 1"),
        "POST is never retried: {}",
        r.stderr()
    );
}

#[test]
fn reads_are_retried_when_the_server_cannot_be_reached() {
    let s = Server::start();
    let cli = Cli::new(&s).env("SECRETCTL_TOKEN", "sctl_anything");
    let down = "http://127.0.0.1:9";
    let mut cmd = cli.cmd();
    cmd.env("SECRETCTL_SERVER", down);
    let r = crate::util::run_with(cmd, &["ls", "--verbose", "--retry-for", "2s"], b"");
    assert_eq!(r.out.status.code(), Some(7), "{}", r.stderr());
    let err = r.stderr();
    assert!(err.contains("retry 1: cannot reach"), "{err}");
    assert!(err.contains("gave up after"), "{err}");
}

#[test]
fn rate_limited_commands_retry_and_otherwise_exit_6() {
    // Burst of 10 requests, then 5 a second: 12 parallel `get`s (24 requests) overrun it.
    let s = Server::start_with(&["--rate-limit", "5"]);
    let t = s.user("alice");
    s.secret(&t, "db", "hunter2");
    let cli = Cli::new(&s).env("SECRETCTL_TOKEN", &t);
    let runs: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..12)
            .map(|_| scope.spawn(|| cli.run(&["get", "db", "--verbose"], b"")))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut retried = 0;
    for r in runs {
        let r = r.success();
        assert_eq!(r.stdout(), "hunter2");
        retried += r.stderr().matches("retry ").count();
    }
    assert!(
        retried > 0,
        "no request was ever refused: the test proves nothing"
    );

    // Without retries a refusal is exit 6, not "cannot reach" (7) or a generic 1.
    let s = Server::start_with(&["--rate-limit", "1"]);
    let t = s.user("bob");
    for _ in 0..5 {
        s.http().get("/secrets", Some(&t));
    }
    let cli = Cli::new(&s).env("SECRETCTL_TOKEN", &t);
    let r = cli.run(&["ls", "--retry-for", "0"], b"").fails_with(6);
    assert!(
        r.stderr().contains("rate-limiting") && r.stderr().contains("--retry-for"),
        "{}",
        r.stderr()
    );
}

#[test]
fn logout_with_the_server_down_forgets_the_session_anyway() {
    let s = Server::start();
    let cli = Cli::new(&s);
    cli.login_as("alice");
    let token = cli.cached_token();
    // The same session cached for a server that is down (nothing listens on port 9).
    let down = "http://127.0.0.1:9";
    let file = cli.session_file();
    let mut cache: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    let session = cache["sessions"][s.url.as_str()].clone();
    cache["sessions"][down] = session;
    std::fs::write(&file, serde_json::to_vec(&cache).unwrap()).unwrap();

    let mut cmd = cli.cmd();
    cmd.env("SECRETCTL_SERVER", down);
    let r = crate::util::run_with(cmd, &["logout"], b"").success();
    assert!(
        r.stderr().contains("could not tell") && r.stderr().contains("stays valid"),
        "{}",
        r.stderr()
    );
    let cache: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert!(
        cache["sessions"].get(down).is_none(),
        "not forgotten: {cache}"
    );
    // True to its word: the server was not told.
    assert_eq!(s.http().get("/secrets", Some(&token)).status, 200);
}

#[test]
fn only_the_top_level_command_answers_version() {
    let s = Server::start();
    let cli = Cli::new(&s);
    let r = cli.run(&["--version"], b"").success();
    assert!(r.stdout().starts_with("secretctl "), "{}", r.stdout());
    // `get --version 2 NAME` once printed `secretctl-get 0.1.0` with exit 0 into a variable
    // (now it reads version 2: tests/integration/versions.rs); other subcommands refuse it.
    for args in [
        vec!["rm", "--version", "db"],
        vec!["ls", "-V"],
        vec!["admin", "seal-key", "--version"],
    ] {
        let r = cli.run(&args, b"");
        assert_eq!(r.out.status.code(), Some(2), "{args:?}: {}", r.stderr());
        assert!(r.out.stdout.is_empty(), "{args:?}: {}", r.stdout());
    }
}

#[test]
fn rough_edges_a_newcomer_hit() {
    let s = Server::start();
    let cli = Cli::new(&s);
    cli.login_as("alice");
    cli.run(&["put", "db", "--value", "v1"], b"").success();

    // share speaks in its own flags and units, before asking the server.
    let r = cli
        .run(&["share", "db", "--expires-in", "8d"], b"")
        .fails_with_usage();
    assert!(
        r.contains("--expires-in") && r.contains("60s to 7d") && !r.contains("expires_in"),
        "{r}"
    );
    let r = cli
        .run(&["share", "db", "--max-views", "0"], b"")
        .fails_with_usage();
    assert!(r.contains("--max-views") && r.contains("1..=100"), "{r}");

    // open on a dead link says what the web page says.
    let url = cli.run(&["share", "db"], b"").success().stdout();
    cli.run(&["open", url.trim()], b"").success();
    let r = cli.run(&["open", url.trim()], b"").fails_with(4);
    assert!(
        r.stderr()
            .contains("expired, has been used up or revoked, or never existed")
            && r.stderr().contains("ask the sender"),
        "{}",
        r.stderr()
    );

    // put on a taken name points at update; update with a piped value does it.
    let r = cli.run(&["put", "db", "--value", "v2"], b"").fails_with(5);
    assert!(r.stderr().contains("secretctl update db"), "{}", r.stderr());
    cli.run(&["update", "db"], b"v2").success();
    assert_eq!(cli.run(&["get", "db"], b"").success().stdout(), "v2");
    let r = cli.run(&["update", "db"], b"").fails_with(2);
    assert!(
        r.stderr().contains("printf %s VALUE | secretctl update db"),
        "{}",
        r.stderr()
    );

    // list/delete aliases, and a suggestion for swapped letters.
    assert!(cli.run(&["list"], b"").success().stdout().contains("db"));
    cli.run(&["delete", "db"], b"").success();
    cli.run(&["get", "db"], b"").fails_with(4);
    let r = cli.run(&["gte", "db"], b"").fails_with_usage();
    assert!(r.contains("'get'"), "{r}");

    // audit verify uses the same default --data-dir as serve and admin.
    let empty = tempfile::tempdir().unwrap();
    let mut cmd = cli.cmd();
    cmd.current_dir(empty.path());
    let r = crate::util::run_with(cmd, &["audit", "verify"], b"").fails_with(1);
    assert!(r.stderr().contains("secretctl-data"), "{}", r.stderr());
}

#[test]
fn client_flags_are_listed_and_accepted_only_where_they_apply() {
    let s = Server::start();
    let cli = Cli::new(&s);
    for sub in [
        &["serve"][..],
        &["completions"],
        &["admin", "rotate-master"],
        &["admin", "seal-key"],
        &["audit", "verify"],
    ] {
        let mut args = sub.to_vec();
        args.push("--help");
        let help = cli.run(&args, b"").success().stdout();
        for flag in ["--server", "--ca-cert", "--retry-for"] {
            assert!(!help.contains(flag), "{sub:?} lists {flag}:\n{help}");
        }
        let mut args = sub.to_vec();
        args.extend(["--server", "http://127.0.0.1:1"]);
        cli.run(&args, b"").fails_with_usage();
    }
    let help = cli.run(&["completions", "--help"], b"").success().stdout();
    assert!(!help.contains("--json"), "{help}");
    let help = cli.run(&["get", "--help"], b"").success().stdout();
    assert!(
        help.contains("--server") && help.contains("--json"),
        "{help}"
    );
    // Client flags before the subcommand still work (and are refused where they do not apply).
    cli.login_as("alice");
    cli.run(&["put", "db", "--value", "v"], b"").success();
    let r = cli
        .run(&["--json", "--server", &s.url, "get", "db"], b"")
        .success();
    assert_eq!(r.json()["value"], "v");
    cli.run(&["--json", "completions", "bash"], b"")
        .fails_with_usage();
}
