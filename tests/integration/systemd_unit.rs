//! `contrib/secretctl.service`: the hardening it promises is there, its stop timeout leaves
//! the drain room, its `ExecStart` is a command line `serve` accepts and starts with, and
//! `systemd-analyze verify` (where installed) finds nothing to say about it.

use std::path::Path;
use std::process::Command;

use clap::CommandFactory;

use crate::util::{BIN, Server};

const UNIT: &str = include_str!("../../contrib/secretctl.service");
const UNIT_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/contrib/secretctl.service");

/// `(section, key, value)` for every assignment, continuation lines joined.
fn parse(unit: &str) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let mut section = String::new();
    let mut pending = String::new();
    for raw in unit.lines() {
        let line = raw.trim();
        if pending.is_empty() && (line.is_empty() || line.starts_with(['#', ';'])) {
            continue;
        }
        if let Some(rest) = line.strip_suffix('\\') {
            pending.push_str(rest);
            pending.push(' ');
            continue;
        }
        pending.push_str(line);
        let full = std::mem::take(&mut pending);
        if let Some(name) = full.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            section = name.to_string();
            continue;
        }
        let (k, v) = full
            .split_once('=')
            .unwrap_or_else(|| panic!("not an assignment: {full}"));
        out.push((section.clone(), k.trim().to_string(), v.trim().to_string()));
    }
    out
}

struct Unit(Vec<(String, String, String)>);

impl Unit {
    /// Every value of `[Service] key`.
    fn all(&self, key: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(s, k, _)| s == "Service" && k == key)
            .map(|(_, _, v)| v.as_str())
            .collect()
    }

    /// The one value of `[Service] key`.
    fn one(&self, key: &str) -> &str {
        match self.all(key)[..] {
            [v] => v,
            ref other => panic!("{key}: expected one value, found {other:?}"),
        }
    }
}

/// The value following `flag` in `args`.
fn flag<'a>(args: &[&'a str], flag: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| *a == flag)
        .and_then(|i| args.get(i + 1).copied())
}

/// `serve --shutdown-timeout`'s default, from the CLI definition itself.
fn default_shutdown_timeout() -> u64 {
    let cli = secretctl::cli::Cli::command();
    let serve = cli.find_subcommand("serve").unwrap();
    let arg = serve
        .get_arguments()
        .find(|a| a.get_id() == "shutdown_timeout")
        .unwrap();
    arg.get_default_values()[0]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

fn seconds(value: &str) -> u64 {
    let digits = value.strip_suffix('s').unwrap_or(value);
    digits
        .parse()
        .unwrap_or_else(|_| panic!("TimeoutStopSec in plain seconds, got {value}"))
}

#[test]
fn the_unit_is_hardened_and_its_stop_timeout_outlasts_the_drain() {
    let unit = Unit(parse(UNIT));
    for (key, value) in [
        ("NoNewPrivileges", "yes"),
        ("PrivateTmp", "yes"),
        ("ProtectHome", "yes"),
        ("ProtectSystem", "strict"),
        ("CapabilityBoundingSet", ""),
        ("RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"),
        ("User", "secretctl"),
        ("StateDirectory", "secretctl"),
        ("StateDirectoryMode", "0700"),
        ("UMask", "0077"),
    ] {
        assert_eq!(unit.one(key), value, "{key}");
    }
    assert!(unit.all("SystemCallFilter").contains(&"@system-service"));

    let exec = unit.one("ExecStart");
    let args: Vec<&str> = exec.split_whitespace().collect();
    assert_eq!(args[1], "serve", "{exec}");
    let data_dir = flag(&args, "--data-dir").expect("--data-dir in ExecStart");
    assert_eq!(
        data_dir,
        format!("/var/lib/{}", unit.one("StateDirectory")),
        "the data dir is the state directory"
    );
    assert!(
        unit.one("ReadWritePaths").split(' ').any(|p| p == data_dir),
        "the data dir is writable under ProtectSystem=strict"
    );

    // The passphrase comes through LoadCredential, read from the credentials directory.
    let (name, source) = unit.one("LoadCredential").split_once(':').unwrap();
    assert!(source.starts_with('/'), "{source}");
    assert_eq!(
        flag(&args, "--passphrase-file"),
        Some(format!("${{CREDENTIALS_DIRECTORY}}/{name}").as_str())
    );

    let default = default_shutdown_timeout();
    assert_eq!(default, 20, "docs and unit assume the default of 20 s");
    let drain: u64 = flag(&args, "--shutdown-timeout").map_or(default, |v| v.parse().unwrap());
    let stop = seconds(unit.one("TimeoutStopSec"));
    assert!(
        stop > drain && stop > default,
        "TimeoutStopSec={stop} must exceed the drain ({drain} s)"
    );
}

#[test]
fn the_units_command_line_starts_the_real_server() {
    let unit = Unit(parse(UNIT));
    let exec = unit.one("ExecStart");
    let credentials = tempfile::tempdir().unwrap();
    let (name, _) = unit.one("LoadCredential").split_once(':').unwrap();
    std::fs::write(credentials.path().join(name), "a long test passphrase\n").unwrap();
    let mut s = Server::start();
    let data = s.dir.path().join("state");
    let data_str = data.to_str().unwrap().to_string();
    let creds = credentials.path().to_str().unwrap().to_string();
    // The unit's own flags, with the machine's paths and ports swapped for the test's.
    let args: Vec<String> = exec
        .split_whitespace()
        .skip(2)
        .map(|a| {
            a.replace("${CREDENTIALS_DIRECTORY}", &creds)
                .replace("/var/lib/secretctl", &data_str)
                .replace("127.0.0.1:8200", "127.0.0.1:0")
                .replace("127.0.0.1:9200", "127.0.0.1:0")
        })
        .collect();
    assert!(s.stop().success());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    s.spawn(&args);
    assert_eq!(s.http().get("/healthz", None).status, 200);
    assert!(
        s.log().contains("metrics on http://127.0.0.1:"),
        "{}",
        s.log()
    );
    assert!(data.join("master.key").exists());
    assert!(s.stop().success(), "{}", s.log());
    // The new key file was sealed with the credential's passphrase: without it, no start.
    let out = Command::new(BIN)
        .args(["serve", "--addr", "127.0.0.1:0", "--data-dir", &data_str])
        .env_clear()
        .output()
        .unwrap();
    assert!(!out.status.success(), "{out:?}");
    assert!(out.stdout.is_empty(), "never listened: {out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("sealed with a passphrase"), "{err}");
}

#[test]
fn systemd_analyze_verify_finds_nothing_to_report() {
    let Ok(probe) = Command::new("systemd-analyze").arg("--version").output() else {
        eprintln!("note: systemd-analyze is not installed; unit verified by parsing only");
        return;
    };
    assert!(probe.status.success());
    // verify insists that ExecStart's binary exists: point it at the one under test.
    let dir = tempfile::tempdir().unwrap();
    let unit = std::fs::read_to_string(UNIT_PATH)
        .unwrap()
        .replace("/usr/local/bin/secretctl", BIN);
    let path = dir.path().join("secretctl.service");
    std::fs::write(&path, unit).unwrap();
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Unknown keys and bad values are only warnings (exit 0): any output is a failure.
    assert!(
        out.status.success() && stderr.trim().is_empty(),
        "systemd-analyze verify {}:\n{stderr}",
        Path::new(&path).display()
    );
}
