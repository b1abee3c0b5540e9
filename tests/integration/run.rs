//! `POST /secrets/read` and the commands built on it (`run`, `export`, `inject`), through
//! the real binary and server, with `SECRETCTL_TOKEN` and no config directory.

use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::util::{Cli, Run, Server, signal, wait_timeout};

const M: &str = "<concealed by secretctl>";

/// A server with user alice, and a CLI that authenticates with her token from the
/// environment (its HOME has no config directory).
fn setup() -> (Server, String) {
    let s = Server::start();
    let token = s.user("alice");
    (s, token)
}

fn cli<'a>(s: &'a Server, token: &str) -> Cli<'a> {
    Cli::new(s).env("SECRETCTL_TOKEN", token)
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

/// Request lines in the server log (one per request).
fn requests_logged(s: &Server) -> usize {
    s.log()
        .lines()
        .filter(|l| l.ends_with("ms") && l.contains(" /"))
        .count()
}

fn batch_requests_logged(s: &Server) -> usize {
    s.log()
        .lines()
        .filter(|l| l.contains(" POST /secrets/read "))
        .count()
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

fn no_config_dir_was_created(c: &Cli) {
    assert!(
        !c.home.join(".config").exists(),
        "SECRETCTL_TOKEN needs no config directory"
    );
}

#[test]
fn run_passes_the_exit_status_through() {
    let (s, alice) = setup();
    s.secret(&alice, "k", "value-k-123");
    let c = cli(&s, &alice);
    let run = |script: &str| c.run(&["run", "--env", "K=k", "--", "sh", "-c", script], b"");
    let r = run("test \"$K\" = value-k-123").success();
    assert!(
        r.stdout().is_empty() && r.stderr().is_empty(),
        "{}",
        r.stderr()
    );
    for code in [1, 3, 42, 255] {
        let r = run(&format!("echo to-stderr >&2; exit {code}"));
        assert_eq!(r.out.status.code(), Some(code));
        // The command's own output only: secretctl adds no error line of its own.
        assert_eq!(r.stderr(), "to-stderr\n");
    }
    assert_eq!(run("kill -TERM $$").out.status.code(), Some(143));
    assert_eq!(run("kill -KILL $$").out.status.code(), Some(137));
    let r = c.run(&["run", "--env", "K=k", "--", "no-such-command-x1"], b"");
    assert_eq!(r.out.status.code(), Some(127), "{}", r.stderr());
    assert!(r.stderr().contains("no-such-command-x1"));
    no_config_dir_was_created(&c);
}

#[test]
fn run_passes_stdin_on_and_does_not_wait_forever_for_background_output() {
    let (s, alice) = setup();
    s.secret(&alice, "k", "value-k-456");
    let c = cli(&s, &alice);
    // Masked (stdout is a pipe here): stdin still reaches the command.
    let r = c
        .run(
            &["run", "--env", "K=k", "--", "cat"],
            b"from stdin value-k-456\n",
        )
        .success();
    assert_eq!(r.stdout(), format!("from stdin {M}\n"));
    // A background process keeps the masked pipes open after the command exits: secretctl
    // still exits (after a short grace), with the command's status and output.
    let mut cmd = c.cmd();
    cmd.args([
        "run",
        "--env",
        "K=k",
        "--",
        "sh",
        "-c",
        "sleep 60 & echo started; exit 6",
    ])
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let status = wait_timeout(&mut child, Duration::from_secs(30))
        .expect("secretctl exits while a background process holds the pipes");
    assert_eq!(status.code(), Some(6));
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert_eq!(out, "started\n");
}

#[test]
fn run_refuses_before_starting_the_command() {
    let (s, alice) = setup();
    s.secret(&alice, "prod/db-password", "pw-one-111");
    s.secret(&alice, "prod/db.password", "pw-two-222");
    s.secret(&alice, "prod/api-key", "key-333");
    let c = cli(&s, &alice);
    let marker = s.dir.path().join("started");
    let touch = format!("touch {}", marker.display());
    let run = |args: &[&str]| {
        let mut all = vec!["run"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--", "sh", "-c", &touch]);
        c.run(&all, b"")
    };
    // A missing reference: exit 4 naming it, and nothing started.
    let r = run(&["--env", "A=prod/api-key", "--env", "B=nope"]).fails_with(4);
    assert!(r.stderr().contains("`nope`"), "{}", r.stderr());
    // Two secrets on one variable: an error naming both.
    let r = run(&["--prefix", "prod/", "--strip-prefix"]).fails_with(2);
    assert!(
        r.stderr().contains("`prod/db-password`") && r.stderr().contains("`prod/db.password`"),
        "{}",
        r.stderr()
    );
    let r = run(&["--env", "X=prod/api-key", "--file", "X=prod/db-password"]).fails_with(2);
    assert!(r.stderr().contains("X"), "{}", r.stderr());
    run(&["--prefix", "nothing/"]).fails_with(4);
    run(&[]).fails_with(2);
    run(&["--env", "1X=prod/api-key"]).fails_with(2);
    run(&["--env", "noequals"]).fails_with(2);
    assert!(!marker.exists(), "the command must not have started");
}

#[test]
fn run_names_variables_by_the_rule_and_overrides_only_when_asked() {
    let (s, alice) = setup();
    s.secret(&alice, "prod/db-password", "pw-0ne");
    s.secret(&alice, "prod/api.key", "k3y-two");
    s.secret(&alice, "solo", "solo-value");
    let c = cli(&s, &alice).env("EXISTING", "old");
    let show = "printf '%s|%s|%s|%s' \"$DB_PASSWORD\" \"$API_KEY\" \"$MINE\" \"$EXISTING\"";
    let r = c
        .run(
            &[
                "run",
                "--no-masking",
                "--prefix",
                "prod/",
                "--strip-prefix",
                "--env",
                "MINE=solo",
                "--",
                "sh",
                "-c",
                show,
            ],
            b"",
        )
        .success();
    assert_eq!(r.stdout(), "pw-0ne|k3y-two|solo-value|old");
    let r = c
        .run(
            &[
                "run",
                "--no-masking",
                "--prefix",
                "prod/",
                "--",
                "sh",
                "-c",
                "printf '%s' \"$PROD_DB_PASSWORD $PROD_API_KEY\"",
            ],
            b"",
        )
        .success();
    assert_eq!(r.stdout(), "pw-0ne k3y-two");
    // An existing variable is replaced only with --override.
    let args = |over: bool| {
        let mut a = vec!["run", "--no-masking", "--env", "EXISTING=solo"];
        if over {
            a.push("--override");
        }
        a.extend_from_slice(&["--", "sh", "-c", "printf '%s' \"$EXISTING\""]);
        a
    };
    let r = c.run(&args(false), b"").fails_with(2);
    assert!(r.stderr().contains("EXISTING") && r.stderr().contains("--override"));
    let r = c.run(&args(true), b"").success();
    assert_eq!(r.stdout(), "solo-value");
}

#[test]
fn run_masks_values_split_across_writes() {
    let (s, alice) = setup();
    let single = "hunter2-s3cret-xyz";
    let multi = "-----BEGIN TEST KEY-----\nMIIEvQIBADANBgkqhkiG9w0B\nAQEFAASCBKcwggSjAgEAAoIB\n-----END TEST KEY-----";
    s.secret(&alice, "single", single);
    s.secret(&alice, "multi", multi);
    s.secret(&alice, "tiny", "ab1");
    let c = cli(&s, &alice);
    // Each value is written in two parts with a pause between, so it reaches secretctl in
    // separate reads; the multi-line one is split inside a line.
    let script = "printf 'a: hunter2-s3'; sleep 0.05; printf 'cret-xyz :a\\n'; \
                  printf 'key: %s' \"$(printf '%s' \"$MULTI\" | head -c 40)\"; sleep 0.05; \
                  printf '%s :key\\n' \"$(printf '%s' \"$MULTI\" | tail -c +41)\"; \
                  echo \"line: MIIEvQIBADANBgkqhkiG9w0B\" >&2; \
                  printf 'err: hunter2-s' >&2; sleep 0.05; printf '3cret-xyz\\n' >&2; \
                  printf 'tiny: %s\\n' \"$TINY\"; printf 'tail: hunter2'";
    let r = c
        .run(
            &[
                "run",
                "--env",
                "SINGLE=single",
                "--env",
                "MULTI=multi",
                "--env",
                "TINY=tiny",
                "--",
                "sh",
                "-c",
                script,
            ],
            b"",
        )
        .success();
    assert_eq!(
        r.stdout(),
        format!("a: {M} :a\nkey: {M} :key\ntiny: ab1\ntail: hunter2")
    );
    let err = r.stderr();
    assert!(err.contains(&format!("line: {M}\n")), "{err}");
    assert!(err.contains(&format!("err: {M}\n")), "{err}");
    assert!(
        err.contains("not masking TINY"),
        "short values are said to be unmasked: {err}"
    );
    for secret_part in [
        "s3cret",
        "MIIEvQIBADANBgkqhkiG9w0B",
        "AQEFAASCBKcwggSjAgEAAoIB",
    ] {
        assert!(!r.stdout().contains(secret_part) && !err.contains(secret_part));
    }
    // --no-masking passes output through untouched.
    let r = c
        .run(
            &[
                "run",
                "--no-masking",
                "--env",
                "SINGLE=single",
                "--",
                "sh",
                "-c",
                "printf '%s' \"$SINGLE\"",
            ],
            b"",
        )
        .success();
    assert_eq!(r.stdout(), single);
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn run_files_are_private_and_removed_on_success_and_failure() {
    let (s, alice) = setup();
    let pem = "-----BEGIN CERT-----\nAAAA\n-----END CERT-----\n";
    s.secret(&alice, "tls/cert.pem", pem);
    let script = "printf '%s\\n' \"$CERT\"; stat -c %a \"$CERT\" \"$(dirname \"$CERT\")\" \
                  \"$(dirname \"$(dirname \"$CERT\")\")\"; cat \"$CERT\" > \"$OUT\"; exit $CODE";
    for code in ["0", "9"] {
        let out = s.dir.path().join(format!("copy-{code}"));
        let c = Cli::new(&s)
            .env("SECRETCTL_TOKEN", &alice)
            .env("OUT", out.to_str().unwrap())
            .env("CODE", code);
        let r = c.run(
            &[
                "run",
                "--file",
                "CERT=tls/cert.pem",
                "--",
                "sh",
                "-c",
                script,
            ],
            b"",
        );
        assert_eq!(
            r.out.status.code(),
            Some(code.parse().unwrap()),
            "{}",
            r.stderr()
        );
        let stdout = r.stdout();
        let mut lines = stdout.lines();
        let path = lines.next().unwrap().to_string();
        assert!(path.ends_with("/CERT/cert.pem"), "{path}");
        assert_eq!(lines.collect::<Vec<_>>(), ["600", "700", "700"]);
        assert_eq!(std::fs::read_to_string(&out).unwrap(), pem);
        let dir = Path::new(&path).parent().unwrap().parent().unwrap();
        assert!(!dir.exists(), "{} left behind", dir.display());
    }
}

#[test]
fn run_passes_signals_on_and_still_removes_files() {
    let (s, alice) = setup();
    s.secret(&alice, "kubeconfig", "apiVersion: v1\nclusters: []\n");
    let c = cli(&s, &alice);
    for (sig, num) in [("TERM", 15), ("HUP", 1), ("INT", 2)] {
        let mut cmd = c.cmd();
        cmd.args([
            "run",
            "--no-masking",
            "--file",
            "KUBECONFIG=kubeconfig",
            "--",
            "sh",
            "-c",
            "echo \"$KUBECONFIG\"; exec sleep 30",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let path = line.trim().to_string();
        assert!(Path::new(&path).exists(), "{path}");
        assert_eq!(mode(Path::new(&path)), 0o600);
        // To secretctl alone (as `kill` or a CI runner would): it passes it on to sleep.
        signal(&child, sig);
        let status = wait_timeout(&mut child, Duration::from_secs(20)).expect("run exits");
        assert_eq!(status.code(), Some(128 + num), "SIG{sig}");
        let dir = Path::new(&path).parent().unwrap().parent().unwrap();
        assert!(!dir.exists(), "SIG{sig}: {} left behind", dir.display());
    }
}

#[test]
fn run_export_and_inject_use_one_request_for_many_secrets() {
    let (s, alice) = setup();
    for i in 0..12 {
        s.secret(
            &alice,
            &format!("svc/key-{i}"),
            &format!("value-{i}-abcdef"),
        );
    }
    let c = cli(&s, &alice);
    let check = |what: &str, f: &dyn Fn() -> Run| {
        let (total, batch) = (requests_logged(&s), batch_requests_logged(&s));
        f();
        assert_eq!(
            requests_logged(&s) - total,
            1,
            "{what}: one request\n{}",
            s.log()
        );
        assert_eq!(batch_requests_logged(&s) - batch, 1, "{what}");
    };
    check("run", &|| {
        c.run(
            &[
                "run",
                "--prefix",
                "svc/",
                "--env",
                "ONE=svc/key-1",
                "--file",
                "TWO=svc/key-2",
                "--",
                "true",
            ],
            b"",
        )
        .success()
    });
    check("export", &|| {
        c.run(
            &["export", "svc/key-3", "X=svc/key-4", "--prefix", "svc/"],
            b"",
        )
        .success()
    });
    let tpl = s.dir.path().join("many.tpl");
    let text: String = (0..12)
        .map(|i| format!("k{i}={{{{ sctl://svc/key-{i} }}}}\n"))
        .collect();
    std::fs::write(&tpl, text).unwrap();
    check("inject", &|| {
        let r = c
            .run(&["inject", "-i", tpl.to_str().unwrap()], b"")
            .success();
        assert!(
            r.stdout().contains("k11=value-11-abcdef\n"),
            "{}",
            r.stdout()
        );
        r
    });
    no_config_dir_was_created(&c);
}

/// Values that break naive quoting.
fn hostile() -> Vec<(&'static str, &'static str, &'static str)> {
    vec![
        (
            "h/quotes",
            "H_QUOTES",
            "it's \"double\" and 'single' \\' \\\" end",
        ),
        ("h/dollar", "H_DOLLAR", "$HOME $(id) $((1+1)) ;rm -rf /;"),
        ("h/backtick", "H_BACKTICK", "`id` and `echo pwned`"),
        ("h/newlines", "H_NEWLINES", "line one\nline two\n\nlast\n"),
        ("h/equals", "H_EQUALS", "a=b==c = d #not a comment"),
        (
            "h/backslash",
            "H_BACKSLASH",
            "C:\\path\\n\\t not escapes \\\\ x",
        ),
        ("h/crlf", "H_CRLF", "dos\r\nline\r\n"),
        ("h/unicode", "H_UNICODE", "päss wörd ✓ \u{7f}\t<tab"),
    ]
}

fn store_hostile(s: &Server, token: &str) {
    for (name, _, value) in hostile() {
        s.secret(token, name, value);
    }
}

#[test]
fn export_shell_round_trips_hostile_values_through_eval() {
    let (s, alice) = setup();
    store_hostile(&s, &alice);
    let c = cli(&s, &alice);
    let r = c
        .run(
            &[
                "export",
                "--prefix",
                "h/",
                "--strip-prefix",
                "--format",
                "shell",
            ],
            b"",
        )
        .success();
    let vars: Vec<&str> = hostile()
        .iter()
        .map(|(_, v, _)| *v)
        .map(|v| &v[2..])
        .collect();
    let printer: String = vars.iter().map(|v| format!(" \"${v}\"")).collect();
    let out = Command::new("sh")
        .args([
            "-c",
            &format!("eval \"$1\" && printf '%s\\0'{printer}"),
            "sh",
            &r.stdout(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .split_terminator('\0')
        .map(str::to_string)
        .collect();
    let want: Vec<String> = hostile().iter().map(|(_, _, v)| v.to_string()).collect();
    assert_eq!(got, want);
}

#[test]
fn export_dotenv_round_trips_hostile_values_through_python_dotenv() {
    let has_dotenv = Command::new("python3")
        .args(["-c", "import dotenv"])
        .status()
        .is_ok_and(|s| s.success());
    if !has_dotenv {
        eprintln!("SKIPPED: python-dotenv is not installed (pip install python-dotenv)");
        return;
    }
    let (s, alice) = setup();
    store_hostile(&s, &alice);
    s.secret(&alice, "h/interp", "${HOME} stays ${HOME}");
    let c = cli(&s, &alice);
    let r = c.run(&["export", "--prefix", "h/"], b"").success();
    assert!(
        r.stderr().contains("H_INTERP"),
        "a note on `${{`: {}",
        r.stderr()
    );
    // stdin read as bytes: a text-mode read would rewrite carriage returns itself.
    let parse = |interpolate: bool| -> Value {
        let script = format!(
            "import io, json, sys\nfrom dotenv import dotenv_values\n\
             text = sys.stdin.buffer.read().decode('utf-8')\n\
             print(json.dumps(dotenv_values(stream=io.StringIO(text, newline=''), interpolate={})))",
            if interpolate { "True" } else { "False" }
        );
        let out = crate::util::run_with(
            Command::new("python3"),
            &["-c", &script],
            r.stdout().as_bytes(),
        );
        assert!(out.out.status.success(), "{}", out.stderr());
        serde_json::from_str(&out.stdout()).unwrap()
    };
    let plain = parse(false);
    for (_, var, value) in hostile() {
        assert_eq!(plain[var], value, "{var}");
    }
    assert_eq!(plain["H_INTERP"], "${HOME} stays ${HOME}");
    // Interpolation on (python-dotenv's default) still leaves everything else intact.
    let interpolated = parse(true);
    for (_, var, value) in hostile() {
        assert_eq!(interpolated[var], value, "{var}");
    }
    // A trailing backslash: unquoted when that reads back exactly, else refused (never
    // mangled).
    s.secret(&alice, "trail", "C:\\Program Files\\App\\");
    let r = c.run(&["export", "trail"], b"").success();
    assert_eq!(r.stdout(), "TRAIL=C:\\Program Files\\App\\\n");
    let read_back = crate::util::run_with(
        Command::new("python3"),
        &[
            "-c",
            "import io, sys\nfrom dotenv import dotenv_values\n\
             print(dotenv_values(stream=io.StringIO(sys.stdin.read()))['TRAIL'], end='')",
        ],
        r.stdout().as_bytes(),
    );
    assert_eq!(
        read_back.stdout(),
        "C:\\Program Files\\App\\",
        "{}",
        read_back.stderr()
    );
    s.secret(&alice, "trail2", "two\nlines\\");
    let r = c.run(&["export", "trail2"], b"").fails_with(2);
    assert!(r.stdout().is_empty());
    c.run(&["export", "trail2", "--format", "json"], b"")
        .success();
}

#[test]
fn export_json_and_github_env() {
    let (s, alice) = setup();
    store_hostile(&s, &alice);
    let c = cli(&s, &alice);
    let r = c
        .run(&["export", "--prefix", "h/", "--format", "json"], b"")
        .success();
    let got = r.json();
    for (_, var, value) in hostile() {
        assert_eq!(got[var], value);
    }
    assert_eq!(got.as_object().unwrap().len(), hostile().len());

    let env_file = s.dir.path().join("github_env");
    std::fs::write(&env_file, "EARLIER=1\n").unwrap();
    let c = cli(&s, &alice).env("GITHUB_ENV", env_file.to_str().unwrap());
    let args = [
        "export",
        "--prefix",
        "h/",
        "--strip-prefix",
        "--format",
        "github-env",
    ];
    let r = c.run(&args, b"").success();
    let masks: Vec<String> = r.stdout().lines().map(str::to_string).collect();
    for (_, _, value) in hostile() {
        for line in value.split('\n').map(|l| l.trim_end_matches('\r')) {
            if !line.trim().is_empty() {
                let escaped = line.replace('%', "%25").replace('\r', "%0D");
                assert!(
                    masks.contains(&format!("::add-mask::{escaped}")),
                    "{line:?} not masked: {masks:?}"
                );
            }
        }
    }
    assert!(masks.iter().all(|m| m.starts_with("::add-mask::")));
    let first = std::fs::read_to_string(&env_file).unwrap();
    assert!(first.starts_with("EARLIER=1\n"), "appended, not replaced");
    let parsed = parse_github_env(&first["EARLIER=1\n".len()..]);
    assert_eq!(parsed.len(), hostile().len());
    for (_, full, want) in hostile() {
        let var = &full[2..];
        assert_eq!(parsed.get(var).map(String::as_str), Some(want), "{var}");
    }
    // A fresh random delimiter each time.
    c.run(&args, b"").success();
    let second = std::fs::read_to_string(&env_file).unwrap();
    let delimiters: std::collections::HashSet<&str> = second
        .lines()
        .filter_map(|l| l.split_once("<<").map(|(_, d)| d))
        .collect();
    assert_eq!(delimiters.len(), 2 * hostile().len(), "{delimiters:?}");
    // Outside GitHub Actions: a usage error.
    cli(&s, &alice)
        .run(&["export", "h/dollar", "--format", "github-env"], b"")
        .fails_with(2);
}

/// Reads `NAME<<DELIM` blocks the way the Actions runner does.
fn parse_github_env(text: &str) -> std::collections::HashMap<String, String> {
    let mut out = std::collections::HashMap::new();
    let mut lines = text.split('\n');
    while let Some(head) = lines.next() {
        if head.is_empty() {
            continue;
        }
        let (name, delim) = head.split_once("<<").expect("heredoc header");
        let mut value = Vec::new();
        for l in lines.by_ref() {
            if l == delim {
                break;
            }
            value.push(l);
        }
        assert!(out.insert(name.to_string(), value.join("\n")).is_none());
    }
    out
}

#[test]
fn inject_fills_placeholders_and_writes_0600_atomically() {
    let (s, alice) = setup();
    s.secret(&alice, "db/password", "pa$$ 'w0rd'");
    s.secret(&alice, "db/user", "app");
    let c = cli(&s, &alice);
    let tpl = s.dir.path().join("config.tpl");
    std::fs::write(
        &tpl,
        "user: {{ sctl://db/user }}\npass: \"{{sctl://db/password}}\"\nhelm: {{ .Values.x }}\nagain: {{ sctl://db/user }}\n",
    )
    .unwrap();
    let want = "user: app\npass: \"pa$$ 'w0rd'\"\nhelm: {{ .Values.x }}\nagain: app\n";
    let r = c
        .run(&["inject", "-i", tpl.to_str().unwrap()], b"")
        .success();
    assert_eq!(r.stdout(), want);
    let r = c
        .run(
            &["inject", "-i", "-"],
            std::fs::read(&tpl).unwrap().as_slice(),
        )
        .success();
    assert_eq!(r.stdout(), want);

    let out_dir = s.dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let out = out_dir.join("config.yml");
    std::fs::write(&out, "old").unwrap();
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o644)).unwrap();
    let r = c
        .run(
            &[
                "inject",
                "-i",
                tpl.to_str().unwrap(),
                "-o",
                out.to_str().unwrap(),
            ],
            b"",
        )
        .success();
    assert!(r.stdout().is_empty());
    assert_eq!(std::fs::read_to_string(&out).unwrap(), want);
    assert_eq!(mode(&out), 0o600);
    let left: Vec<_> = std::fs::read_dir(&out_dir).unwrap().collect();
    assert_eq!(left.len(), 1, "no temporary file left behind");
}

#[test]
fn inject_with_an_unknown_reference_writes_nothing() {
    let (s, alice) = setup();
    s.secret(&alice, "known", "KNOWN-VALUE-5");
    let c = cli(&s, &alice);
    let tpl = s.dir.path().join("t.tpl");
    std::fs::write(&tpl, "a={{ sctl://known }}\nb={{ sctl://unknown }}\n").unwrap();
    let existing = s.dir.path().join("existing.env");
    std::fs::write(&existing, "untouched").unwrap();
    let fresh = s.dir.path().join("fresh.env");
    for out in [&existing, &fresh] {
        let r = c
            .run(
                &[
                    "inject",
                    "-i",
                    tpl.to_str().unwrap(),
                    "-o",
                    out.to_str().unwrap(),
                ],
                b"",
            )
            .fails_with(4);
        assert!(r.stderr().contains("`unknown`"), "{}", r.stderr());
    }
    assert_eq!(std::fs::read_to_string(&existing).unwrap(), "untouched");
    assert!(!fresh.exists());
    let r = c
        .run(&["inject", "-i", tpl.to_str().unwrap()], b"")
        .fails_with(4);
    assert!(r.stdout().is_empty(), "nothing on stdout either");
    std::fs::write(&tpl, "x\n{{ sctl://bad ref }}\n").unwrap();
    let r = c
        .run(&["inject", "-i", tpl.to_str().unwrap()], b"")
        .fails_with(2);
    assert!(r.stderr().contains("line 2"), "{}", r.stderr());
}
