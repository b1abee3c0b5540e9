//! HTTPS: `serve --tls-cert/--tls-key` with certificates generated here (a private CA and a
//! server certificate for 127.0.0.1 and localhost), the client's `--ca-cert`, HSTS, the
//! accepted key formats, clear refusals of bad files, and the plain-HTTP warning.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use openssl::pkey::PKey;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use time::OffsetDateTime;

use crate::util::{BIN, Cli, Server, run_with};

/// A private CA and the PEM files it issued, in a temp dir.
struct Pki {
    dir: tempfile::TempDir,
    ca_params: CertificateParams,
    ca_key: KeyPair,
}

impl Pki {
    fn new() -> Pki {
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "secretctl test CA");
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_key = KeyPair::generate().unwrap();
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let pki = Pki {
            dir: tempfile::tempdir().unwrap(),
            ca_params,
            ca_key,
        };
        pki.write("ca.pem", &ca_cert.pem());
        pki
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, contents: &str) -> String {
        let p = self.path(name);
        std::fs::write(&p, contents).unwrap();
        p.to_str().unwrap().to_string()
    }

    fn ca(&self) -> String {
        self.path("ca.pem").to_str().unwrap().to_string()
    }

    /// A certificate for 127.0.0.1 and localhost signed by the CA, valid until `not_after`,
    /// for `key`; returns the certificate's PEM.
    fn server_cert(&self, key: &KeyPair, not_after: Option<OffsetDateTime>) -> String {
        let mut params =
            CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "secretctl test server");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        if let Some(t) = not_after {
            params.not_before = t - time::Duration::days(30);
            params.not_after = t;
        }
        let issuer = Issuer::from_params(&self.ca_params, &self.ca_key);
        params.signed_by(key, &issuer).unwrap().pem()
    }

    /// Writes `NAME.crt` and `NAME.key` (the key PEM as given); returns their paths.
    fn issue(&self, name: &str, key: &KeyPair, key_pem: &str) -> (String, String) {
        let cert = self.write(&format!("{name}.crt"), &self.server_cert(key, None));
        let key = self.write(&format!("{name}.key"), key_pem);
        (cert, key)
    }

    /// A fresh P-256 key and its certificate, the key as rcgen writes it (PKCS#8).
    fn issue_pkcs8(&self, name: &str) -> (String, String) {
        let key = KeyPair::generate().unwrap();
        self.issue(name, &key, &key.serialize_pem())
    }
}

fn start_tls(cert: &str, key: &str) -> Server {
    let s = Server::start_with(&["--tls-cert", cert, "--tls-key", key]);
    assert!(s.url.starts_with("https://127.0.0.1:"), "{}", s.url);
    s
}

/// A ureq agent trusting only `ca_pem`, with HTTP errors as plain responses.
fn agent(ca_pem: &Path) -> ureq::Agent {
    use ureq::tls::{Certificate, RootCerts, TlsConfig};
    let pem = std::fs::read(ca_pem).unwrap();
    let ca = Certificate::from_pem(&pem).unwrap();
    ureq::Agent::config_builder()
        .tls_config(
            TlsConfig::builder()
                .root_certs(RootCerts::new_with_certs(&[ca]))
                .build(),
        )
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .new_agent()
}

/// Runs `serve` expecting it to refuse to start with exit 1 and one clear line; returns
/// that line.
fn serve_refuses(args: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["serve", "--addr", "127.0.0.1:0", "--insecure-fast-kdf"])
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .args(args)
        .env_clear()
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(1), "{args:?}: {out:?}");
    assert!(out.stdout.is_empty(), "no listening line: {out:?}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(!err.contains("PRIVATE KEY"), "no key material: {err}");
    err
}

#[test]
fn cli_round_trip_over_https_with_the_ca() {
    let pki = Pki::new();
    let (cert, key) = pki.issue_pkcs8("server");
    let s = start_tls(&cert, &key);
    let ca = pki.ca();
    let cli = Cli::new(&s).env("SECRETCTL_CA_CERT", &ca);

    cli.login_as("alice");
    cli.run(&["put", "db"], b"hunter2-over-tls").success();
    let got = cli.run(&["get", "db"], b"").success();
    assert_eq!(got.stdout(), "hunter2-over-tls");

    // The flag works as well as the variable.
    let by_flag = Cli::new(&s);
    let token = cli.cached_token();
    let mut cmd = by_flag.cmd();
    cmd.env("SECRETCTL_TOKEN", &token);
    let got = run_with(cmd, &["--ca-cert", &ca, "get", "db"], b"").success();
    assert_eq!(got.stdout(), "hunter2-over-tls");

    // Share links default to https, and `open` checks that server with the CA too.
    let url = cli.run(&["share", "db"], b"").success().stdout();
    assert!(
        url.trim().starts_with(&format!("{}/share/", s.url)),
        "{url} vs {}",
        s.url
    );
    let opened = cli.run(&["open", url.trim()], b"").success();
    assert_eq!(opened.stdout(), "hunter2-over-tls");
}

#[test]
fn untrusted_certificates_are_refused() {
    let pki = Pki::new();
    let (cert, key) = pki.issue_pkcs8("server");
    let s = start_tls(&cert, &key);

    // No CA: the public roots do not know ours.
    let pw = format!("{}\n", crate::util::PASSWORD);
    let r = Cli::new(&s)
        .run(
            &["register", "--username", "alice", "--password-stdin"],
            pw.as_bytes(),
        )
        .fails_with(1);
    let err = r.stderr();
    assert!(err.contains("certificate"), "{err}");
    assert!(err.contains("--ca-cert"), "{err}");

    // Another CA: --ca-cert replaces the roots, it does not add a way around them.
    let other = Pki::new();
    Cli::new(&s)
        .env("SECRETCTL_CA_CERT", &other.ca())
        .run(&["open", &format!("{}/share/abc", s.url)], b"")
        .fails_with(1);

    // A CA file that is not a certificate, or is missing, is a clear error naming it.
    let junk = pki.write("junk.pem", "not a certificate\n");
    let r = Cli::new(&s)
        .run(&["--ca-cert", &junk, "ls"], b"")
        .fails_with(1);
    assert!(r.stderr().contains(&junk), "{}", r.stderr());
    let missing = pki.path("missing.pem");
    let r = Cli::new(&s)
        .env("SECRETCTL_CA_CERT", missing.to_str().unwrap())
        .run(&["open", &format!("{}/share/abc", s.url)], b"")
        .fails_with(1);
    assert!(r.stderr().contains("missing.pem"), "{}", r.stderr());

    // The refused handshakes did not hurt the server.
    let r = agent(&pki.path("ca.pem"))
        .get(format!("{}/healthz", s.url))
        .call()
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[test]
fn every_tls_response_carries_hsts_and_plain_http_does_not() {
    let pki = Pki::new();
    let (cert, key) = pki.issue_pkcs8("server");
    let s = start_tls(&cert, &key);
    let agent = agent(&pki.path("ca.pem"));
    for (path, status) in [("/healthz", 200), ("/secrets", 401), ("/nope", 404)] {
        let r = agent.get(format!("{}{path}", s.url)).call().unwrap();
        assert_eq!(r.status(), status, "{path}");
        assert_eq!(
            r.headers()
                .get("strict-transport-security")
                .and_then(|v| v.to_str().ok()),
            Some("max-age=63072000"),
            "{path}: {:?}",
            r.headers()
        );
    }

    let plain = Server::start();
    let r = plain.http().get("/healthz", None);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("strict-transport-security"), None, "{r:?}");
}

#[test]
fn sec1_ec_and_pkcs1_rsa_keys_are_served() {
    let pki = Pki::new();

    // SEC1 ("EC PRIVATE KEY"), which rouille's rustls path panics on.
    let ec = KeyPair::generate().unwrap();
    let sec1 = PKey::private_key_from_pem(ec.serialize_pem().as_bytes())
        .unwrap()
        .ec_key()
        .unwrap()
        .private_key_to_pem()
        .unwrap();
    let sec1 = String::from_utf8(sec1).unwrap();
    assert!(sec1.starts_with("-----BEGIN EC PRIVATE KEY-----"), "{sec1}");

    // PKCS#1 ("RSA PRIVATE KEY").
    let rsa = openssl::rsa::Rsa::generate(2048).unwrap();
    let rsa_pkcs8 = PKey::from_rsa(rsa.clone())
        .unwrap()
        .private_key_to_pem_pkcs8()
        .unwrap();
    let rsa_key = KeyPair::from_pem(std::str::from_utf8(&rsa_pkcs8).unwrap()).unwrap();
    let pkcs1 = String::from_utf8(rsa.private_key_to_pem().unwrap()).unwrap();
    assert!(
        pkcs1.starts_with("-----BEGIN RSA PRIVATE KEY-----"),
        "{pkcs1}"
    );

    for (name, key, pem) in [("ec", &ec, sec1), ("rsa", &rsa_key, pkcs1)] {
        let (cert, key) = pki.issue(name, key, &pem);
        let s = start_tls(&cert, &key);
        let r = agent(&pki.path("ca.pem"))
            .get(format!("{}/healthz", s.url))
            .call()
            .unwrap();
        assert_eq!(r.status(), 200, "{name}");
        assert!(!s.log().contains("panicked"), "{}", s.log());
    }
}

#[test]
fn bad_tls_files_stop_serve_with_one_clear_line() {
    let pki = Pki::new();
    let (cert, key) = pki.issue_pkcs8("server");
    let (_, other_key) = pki.issue_pkcs8("other");

    let junk_key = pki.write("junk.key", "this is not a key\n");
    let err = serve_refuses(&["--tls-cert", &cert, "--tls-key", &junk_key]);
    assert!(
        err.contains(&junk_key) && err.contains("not a PEM private key"),
        "{err}"
    );

    let err = serve_refuses(&["--tls-cert", &cert, "--tls-key", &other_key]);
    assert!(err.contains("does not match"), "{err}");

    let expired_key = KeyPair::generate().unwrap();
    let yesterday = OffsetDateTime::now_utc() - time::Duration::days(1);
    let expired = pki.write(
        "expired.crt",
        &pki.server_cert(&expired_key, Some(yesterday)),
    );
    let expired_key = pki.write("expired.key", &expired_key.serialize_pem());
    let err = serve_refuses(&["--tls-cert", &expired, "--tls-key", &expired_key]);
    assert!(err.contains("expired") && err.contains(&expired), "{err}");

    // The key where the certificate belongs: no certificate, and no key echoed.
    let err = serve_refuses(&["--tls-cert", &key, "--tls-key", &key]);
    assert!(err.contains("no PEM certificate"), "{err}");
    let broken = pki.write("broken.crt", "-----BEGIN CERTIFICATE-----\nMIIB\n");
    let err = serve_refuses(&["--tls-cert", &broken, "--tls-key", &key]);
    assert!(err.contains("not a valid PEM certificate chain"), "{err}");

    let missing = pki.path("missing.crt");
    let err = serve_refuses(&["--tls-cert", missing.to_str().unwrap(), "--tls-key", &key]);
    assert!(err.contains("cannot read TLS certificate"), "{err}");

    // An encrypted key is refused up front, never prompted for.
    let encrypted = PKey::private_key_from_pem(&std::fs::read(&key).unwrap())
        .unwrap()
        .private_key_to_pem_pkcs8_passphrase(openssl::symm::Cipher::aes_256_cbc(), b"pw")
        .unwrap();
    let encrypted = pki.write("enc.key", std::str::from_utf8(&encrypted).unwrap());
    let err = serve_refuses(&["--tls-cert", &cert, "--tls-key", &encrypted]);
    assert!(err.contains("encrypted"), "{err}");

    // One without the other is a usage error.
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(BIN);
    cmd.env_clear();
    run_with(
        cmd,
        &[
            "serve",
            "--data-dir",
            dir.path().to_str().unwrap(),
            "--tls-cert",
            &cert,
        ],
        b"",
    )
    .fails_with(2);
}

#[test]
fn near_expiry_and_a_world_readable_key_are_served_with_warnings() {
    use std::os::unix::fs::PermissionsExt;
    let pki = Pki::new();
    let key = KeyPair::generate().unwrap();
    let soon = OffsetDateTime::now_utc() + time::Duration::days(5);
    let cert = pki.write("soon.crt", &pki.server_cert(&key, Some(soon)));
    let key = pki.write("soon.key", &key.serialize_pem());
    let chmod = |mode| {
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(mode)).unwrap();
    };

    chmod(0o644);
    let s = start_tls(&cert, &key);
    let log = s.log();
    assert!(
        log.contains("warning: TLS certificate") && log.contains("renew it soon"),
        "{log}"
    );
    assert!(
        log.contains("readable by every user") && log.contains("chmod 600"),
        "{log}"
    );

    chmod(0o640);
    let s = start_tls(&cert, &key);
    assert!(!s.log().contains("readable by every user"), "{}", s.log());
}

#[test]
fn a_silent_connection_does_not_stall_tls_accepts() {
    let pki = Pki::new();
    let (cert, key) = pki.issue_pkcs8("server");
    let s = start_tls(&cert, &key);
    // Connects and never starts the handshake.
    let _silent = std::net::TcpStream::connect(s.url.trim_start_matches("https://")).unwrap();
    let started = Instant::now();
    let r = agent(&pki.path("ca.pem"))
        .get(format!("{}/healthz", s.url))
        .call()
        .expect("served while the silent connection is still open");
    assert_eq!(r.status(), 200);
    // Handshakes run on each connection's thread, so nobody waits for the silent one.
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn plain_http_on_a_reachable_address_warns() {
    let loopback = Server::start();
    assert!(!loopback.log().contains("WARNING"), "{}", loopback.log());

    let exposed = Server::start_on("0.0.0.0:0", &[]);
    assert!(
        exposed.url.starts_with("http://0.0.0.0:"),
        "{}",
        exposed.url
    );
    let log = exposed.log();
    assert!(
        log.contains("WARNING: serving plain HTTP") && log.contains("--tls-cert"),
        "{log}"
    );
    assert!(log.lines().count() >= 5, "prominent: {log}");

    let pki = Pki::new();
    let (cert, key) = pki.issue_pkcs8("server");
    let tls = Server::start_on("0.0.0.0:0", &["--tls-cert", &cert, "--tls-key", &key]);
    assert!(tls.url.starts_with("https://0.0.0.0:"), "{}", tls.url);
    assert!(!tls.log().contains("WARNING"), "{}", tls.log());
}
