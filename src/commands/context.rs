//! What every client command needs: the server URL, output mode, and the session token
//! (from `SECRETCTL_TOKEN`, else the cache).

use super::CliError;
use crate::client::ApiClient;
use crate::client::normalize_base;
use crate::client::session_cache::SessionCache;
use crate::sensitive::SecretString;

/// Per-invocation settings shared by the client commands.
pub struct Context {
    pub server: String,
    pub json: bool,
}

impl Context {
    /// Settings from the global flags.
    pub fn new(server: &str, json: bool) -> Self {
        Context {
            server: normalize_base(server),
            json,
        }
    }

    /// A client without credentials.
    pub fn anonymous(&self) -> ApiClient {
        ApiClient::new(&self.server, None)
    }

    /// A client with this server's token; exit 3 when there is none.
    pub fn authenticated(&self) -> Result<ApiClient, CliError> {
        if let Some(t) = std::env::var("SECRETCTL_TOKEN")
            .ok()
            .filter(|t| !t.trim().is_empty())
        {
            return Ok(ApiClient::new(
                &self.server,
                Some(SecretString::from(t.trim().to_string())),
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
        Ok(ApiClient::new(&self.server, Some(cached.token)))
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
