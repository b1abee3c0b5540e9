//! The server's TLS identity: loads the certificate chain and private key named by
//! `--tls-cert`/`--tls-key` and checks them before anything listens.
//!
//! tiny_http's OpenSSL path reports a bad file as an opaque error string, and it parses the
//! key with OpenSSL's default passphrase callback, which would prompt on the terminal for an
//! encrypted key. So every check happens here first, each failure is a `TlsError` naming the
//! file and what to do, and tiny_http gets PEM that this module re-encoded from what it
//! parsed: the chain as plain certificates (leaf first) and the key as unencrypted PKCS#8,
//! whatever format the file used (PKCS#8, PKCS#1 RSA, SEC1 EC). What is served is exactly
//! what was checked.
//!
//! Invariant: no key bytes reach an error, a log line or `Debug` output. The key PEM lives
//! in a zeroizing buffer, and `TlsIdentity` has no `Debug`.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use openssl::asn1::Asn1Time;
use openssl::error::ErrorStack;
use openssl::pkey::PKey;
use openssl::x509::X509;
use zeroize::Zeroizing;

/// Days before expiry at which `serve` starts warning.
const EXPIRY_WARNING_DAYS: u32 = 14;

/// Why the certificate or key cannot be served. Messages are one line and never include
/// key material.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read TLS {what} {}: {source}", path.display())]
    Read {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "TLS certificate {}: no PEM certificate found (expected -----BEGIN CERTIFICATE-----)",
        path.display()
    )]
    NoCertificate { path: PathBuf },
    #[error("TLS certificate {}: not a valid PEM certificate chain ({reason})", path.display())]
    BadCertificate { path: PathBuf, reason: String },
    #[error(
        "TLS key {}: encrypted private keys are not supported; decrypt it first \
         (openssl pkey -in KEY -out PLAIN_KEY) and keep the result readable only by the server",
        path.display()
    )]
    EncryptedKey { path: PathBuf },
    #[error(
        "TLS key {}: not a PEM private key (PKCS#8, PKCS#1 RSA or SEC1 EC) ({reason})",
        path.display()
    )]
    BadKey { path: PathBuf, reason: String },
    #[error(
        "TLS key {} does not match the certificate {} (the server's own certificate must come \
         first in the file, before any intermediates)",
        key.display(),
        cert.display()
    )]
    KeyMismatch { cert: PathBuf, key: PathBuf },
    #[error("TLS certificate {} expired on {not_after}; renew it", path.display())]
    Expired { path: PathBuf, not_after: String },
    #[error("cannot set up TLS: {0}")]
    Setup(String),
}

/// A checked certificate chain and private key, ready for tiny_http.
pub struct TlsIdentity {
    chain_pem: Vec<u8>,
    key_pem: Zeroizing<Vec<u8>>,
    warnings: Vec<String>,
}

impl TlsIdentity {
    /// Reads and checks `cert` (PEM chain, server certificate first) and `key` (PEM private
    /// key matching it).
    pub fn load(cert: &Path, key: &Path) -> Result<TlsIdentity, TlsError> {
        let chain_file = std::fs::read(cert).map_err(|source| TlsError::Read {
            what: "certificate",
            path: cert.to_path_buf(),
            source,
        })?;
        let key_file = Zeroizing::new(std::fs::read(key).map_err(|source| TlsError::Read {
            what: "key",
            path: key.to_path_buf(),
            source,
        })?);

        let chain = X509::stack_from_pem(&chain_file).map_err(|e| TlsError::BadCertificate {
            path: cert.to_path_buf(),
            reason: reason(&e),
        })?;
        let leaf = chain.first().ok_or_else(|| TlsError::NoCertificate {
            path: cert.to_path_buf(),
        })?;

        if is_encrypted_pem(&key_file) {
            return Err(TlsError::EncryptedKey {
                path: key.to_path_buf(),
            });
        }
        // A callback that supplies no passphrase, so OpenSSL never prompts on the terminal.
        let private_key =
            PKey::private_key_from_pem_callback(&key_file, |_| Ok(0)).map_err(|e| {
                TlsError::BadKey {
                    path: key.to_path_buf(),
                    reason: reason(&e),
                }
            })?;
        let leaf_public = leaf.public_key().map_err(|e| TlsError::BadCertificate {
            path: cert.to_path_buf(),
            reason: reason(&e),
        })?;
        if !leaf_public.public_eq(&private_key) {
            return Err(TlsError::KeyMismatch {
                cert: cert.to_path_buf(),
                key: key.to_path_buf(),
            });
        }

        let now = Asn1Time::days_from_now(0).map_err(setup)?;
        let soon = Asn1Time::days_from_now(EXPIRY_WARNING_DAYS).map_err(setup)?;
        let not_after = leaf.not_after().to_string();
        if leaf.not_after() <= now {
            return Err(TlsError::Expired {
                path: cert.to_path_buf(),
                not_after,
            });
        }
        let mut warnings = Vec::new();
        if leaf.not_after() <= soon {
            warnings.push(format!(
                "warning: TLS certificate {} expires on {not_after}; renew it soon",
                cert.display()
            ));
        }
        // World-readable only: group-readable keys (Debian's `ssl-cert` group) are normal.
        let mode = std::fs::metadata(key).map_or(0, |m| m.permissions().mode());
        if mode & 0o007 != 0 {
            warnings.push(format!(
                "warning: TLS key {} is readable by every user on this machine (mode {:o}); \
                 run: chmod 600 {}",
                key.display(),
                mode & 0o777,
                key.display()
            ));
        }

        let mut chain_pem = Vec::new();
        for c in &chain {
            chain_pem.extend_from_slice(&c.to_pem().map_err(setup)?);
        }
        let key_pem = Zeroizing::new(private_key.private_key_to_pem_pkcs8().map_err(setup)?);
        Ok(TlsIdentity {
            chain_pem,
            key_pem,
            warnings,
        })
    }

    /// Problems that do not stop the server: a certificate expiring within
    /// `EXPIRY_WARNING_DAYS`, a key file anyone can read.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The configuration tiny_http builds its OpenSSL context from.
    pub(super) fn ssl_config(&self) -> tiny_http::SslConfig {
        // tiny_http wraps the key in its own zeroizing buffer once it has it.
        tiny_http::SslConfig {
            certificate: self.chain_pem.clone(),
            private_key: self.key_pem.to_vec(),
        }
    }
}

/// True for legacy (`Proc-Type: 4,ENCRYPTED`) and PKCS#8 encrypted PEM keys.
fn is_encrypted_pem(pem: &[u8]) -> bool {
    let has = |needle: &[u8]| pem.windows(needle.len()).any(|w| w == needle);
    has(b"-----BEGIN ENCRYPTED PRIVATE KEY-----") || has(b"Proc-Type: 4,ENCRYPTED")
}

/// OpenSSL's first reason string ("no start line", "bad base64 decode"...) without the
/// library codes and source file names of its full error stack.
fn reason(e: &ErrorStack) -> String {
    e.errors()
        .iter()
        .find_map(|e| e.reason())
        .unwrap_or("unrecognized data")
        .to_string()
}

fn setup(e: ErrorStack) -> TlsError {
    TlsError::Setup(reason(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spots_encrypted_keys() {
        assert!(is_encrypted_pem(
            b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n"
        ));
        assert!(is_encrypted_pem(
            b"-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n"
        ));
        assert!(!is_encrypted_pem(b"-----BEGIN PRIVATE KEY-----\nMIIB\n"));
    }

    #[test]
    fn missing_file_names_it() {
        let err = match TlsIdentity::load(Path::new("/nonexistent/cert.pem"), Path::new("k")) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("loaded a missing file"),
        };
        assert!(err.contains("/nonexistent/cert.pem"), "{err}");
        assert!(!err.contains('\n'), "{err}");
    }
}
