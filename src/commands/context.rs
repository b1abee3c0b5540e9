//! What every client command needs: the server URL, output mode, the CA to trust for
//! `https://` servers, and the session token (from `SECRETCTL_TOKEN`, else the cache).

use std::path::PathBuf;

use super::CliError;
use crate::client::normalize_base;
use crate::client::session_cache::SessionCache;
use crate::client::{ApiClient, ClientTls};
use crate::sensitive::SecretString;

/// Per-invocation settings shared by the client commands.
pub struct Context {
    pub server: String,
    pub json: bool,
    /// `--ca-cert`; read when a client is made, so `serve` never trips over it.
    ca_cert: Option<PathBuf>,
}

impl Context {
    /// Settings from the global flags.
    pub fn new(server: &str, json: bool, ca_cert: Option<PathBuf>) -> Self {
        Context {
            server: normalize_base(server),
            json,
            ca_cert,
        }
    }

    /// A client for `base` (not necessarily `--server`) that trusts `--ca-cert` if given.
    pub fn client(&self, base: &str, token: Option<SecretString>) -> Result<ApiClient, CliError> {
        Ok(ApiClient::new(base, token, &self.tls()?))
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
        // A bad --ca-cert is reported before "not logged in", whatever the session state.
        let tls = self.tls()?;
        if let Some(t) = std::env::var("SECRETCTL_TOKEN")
            .ok()
            .filter(|t| !t.trim().is_empty())
        {
            return Ok(ApiClient::new(
                &self.server,
                Some(SecretString::from(t.trim().to_string())),
                &tls,
            ));
        }
        let not_logged_in = |why: &str| {
            CliError::Unauthorized(format!(
                "{why} {}: run `secretctl login --username NAME` or set SECRETCTL_TOKEN",
                self.server
            ))
        };
        let cached = SessionCache::default_location()?
            .load(&self.server)?
            .ok_or_else(|| not_logged_in("not logged in to"))?;
        let expired = crate::timefmt::parse_rfc3339(&cached.expires_at)
            .is_some_and(|t| t <= crate::timefmt::now_unix());
        if expired {
            return Err(not_logged_in("session expired for"));
        }
        Ok(ApiClient::new(&self.server, Some(cached.token), &tls))
    }
}

/// The token in `SECRETCTL_TOKEN`, when set and non-empty.
pub fn env_token() -> Option<SecretString> {
    std::env::var("SECRETCTL_TOKEN")
        .ok()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .map(SecretString::from)
}
