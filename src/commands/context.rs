//! What every client command needs: the server URL, output mode, the CA to trust for
//! `https://` servers, and the session token (from `SECRETCTL_TOKEN`, else the cache).
//!
//! `SECRETCTL_TOKEN` is bound to one server: the one `SECRETCTL_SERVER` names, or the default
//! server when that is unset. A `--server` pointing anywhere else never receives it, so a
//! typo'd or hostile URL on the command line cannot collect a CI job's token.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::CliError;
use crate::cli::DEFAULT_SERVER;
use crate::client::normalize_base;
use crate::client::session_cache::SessionCache;
use crate::client::{ApiClient, ClientTls, Retry, RetryNotice, RetryObserver, check_base};
use crate::sensitive::SecretString;

/// Per-invocation settings shared by the client commands.
pub struct Context {
    pub server: String,
    pub json: bool,
    /// `--ca-cert`; read when a client is made, so `serve` never trips over it.
    ca_cert: Option<PathBuf>,
    retry: Retry,
}

/// The client-side settings besides the server URL.
pub struct ClientSettings {
    pub json: bool,
    pub ca_cert: Option<PathBuf>,
    /// `--retry-for`.
    pub retry_for: Duration,
    /// `--verbose`: count retries on stderr.
    pub verbose: bool,
}

impl Context {
    /// Settings from the flags.
    pub fn new(server: &str, settings: ClientSettings) -> Self {
        let notify = settings.verbose.then(|| {
            Arc::new(|n: &RetryNotice| {
                eprintln!(
                    "retry {}: {}; waiting {:.1}s",
                    n.attempt,
                    n.reason,
                    n.wait.as_secs_f64()
                );
            }) as RetryObserver
        });
        Context {
            server: normalize_base(server),
            json: settings.json,
            ca_cert: settings.ca_cert,
            retry: Retry {
                retry_for: settings.retry_for,
                notify,
            },
        }
    }

    /// For commands that talk to no server (`admin`, `audit verify`): only `--json` matters.
    pub fn offline(json: bool) -> Self {
        Context::new(
            DEFAULT_SERVER,
            ClientSettings {
                json,
                ca_cert: None,
                retry_for: Duration::ZERO,
                verbose: false,
            },
        )
    }

    /// `--server`, or a usage error when it cannot be a server URL.
    pub fn checked_server(&self) -> Result<&str, CliError> {
        check_base(&self.server).map_err(CliError::Usage)?;
        Ok(&self.server)
    }

    /// A client for `base` (not necessarily `--server`) that trusts `--ca-cert` if given.
    pub fn client(&self, base: &str, token: Option<SecretString>) -> Result<ApiClient, CliError> {
        check_base(base).map_err(CliError::Usage)?;
        Ok(ApiClient::new(base, token, &self.tls()?).with_retry(self.retry.clone()))
    }

    fn tls(&self) -> Result<ClientTls, CliError> {
        Ok(match &self.ca_cert {
            Some(path) => ClientTls::from_ca_file(path)?,
            None => ClientTls::default(),
        })
    }

    /// A client without credentials.
    pub fn anonymous(&self) -> Result<ApiClient, CliError> {
        self.client(&self.server, None)
    }

    /// A client with this server's token; exit 3 when there is none.
    pub fn authenticated(&self) -> Result<ApiClient, CliError> {
        self.checked_server()?;
        // A bad --ca-cert is reported before "not logged in", whatever the session state.
        self.tls()?;
        if let Some(t) = env_token_for(&self.server) {
            return self.client(&self.server, Some(t));
        }
        let not_logged_in = |why: &str| {
            let hint = match (env_token(), token_server()) {
                (Some(_), bound) => format!(
                    "run `secretctl login --username NAME` (SECRETCTL_TOKEN is only sent to {bound}: SECRETCTL_SERVER, or the default server when that is unset)"
                ),
                (None, _) => {
                    "run `secretctl login --username NAME` or set SECRETCTL_TOKEN".to_string()
                }
            };
            CliError::Unauthorized(format!("{why} {}: {hint}", self.server))
        };
        let cached = SessionCache::default_location()?
            .load(&self.server)?
            .ok_or_else(|| not_logged_in("not logged in to"))?;
        let expired = crate::timefmt::parse_rfc3339(&cached.expires_at)
            .is_some_and(|t| t <= crate::timefmt::now_unix());
        if expired {
            return Err(not_logged_in("session expired for"));
        }
        self.client(&self.server, Some(cached.token))
    }
}

/// The server `SECRETCTL_TOKEN` belongs to: `SECRETCTL_SERVER`, else the default server.
fn token_server() -> String {
    let server = std::env::var("SECRETCTL_SERVER")
        .ok()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_SERVER.to_string());
    normalize_base(&server)
}

/// `SECRETCTL_TOKEN`, but only when `server` is the server it belongs to (see the module doc).
pub fn env_token_for(server: &str) -> Option<SecretString> {
    token_applies(server, &token_server())
        .then(env_token)
        .flatten()
}

/// Whether a token bound to `bound` may be sent to `server` (both already normalized).
fn token_applies(server: &str, bound: &str) -> bool {
    // Scheme and host are case-insensitive in URLs; the rest must match exactly, so
    // `https://h` and `http://h` (or another port) are different servers.
    server.eq_ignore_ascii_case(bound)
}

/// The token in `SECRETCTL_TOKEN`, when set and non-empty, whichever server it belongs to.
fn env_token() -> Option<SecretString> {
    std::env::var("SECRETCTL_TOKEN")
        .ok()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .map(SecretString::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_token_goes_only_to_its_own_server() {
        let bound = normalize_base("http://127.0.0.1:8200/");
        assert!(token_applies("http://127.0.0.1:8200", &bound));
        assert!(token_applies("HTTP://127.0.0.1:8200", &bound));
        for other in [
            "http://127.0.0.1:8201",
            "https://127.0.0.1:8200",
            "http://127.0.0.1:8200.evil.example",
            "http://evil.example",
        ] {
            assert!(!token_applies(other, &bound), "{other}");
        }
    }
}
