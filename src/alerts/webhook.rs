//! Webhook delivery: one JSON POST per alert over ureq, 10 s overall, no redirects.
//!
//! The URL is a credential (a Slack incoming-webhook URL carries its secret in the path), so
//! logs name only its origin (scheme, host, port), never its path, query or user info.

use std::time::Duration;

use ureq::Agent;

use super::Payload;
use crate::sensitive::{ExposeSecret, SecretString};

/// Longest a delivery may take, connect to last byte.
const TIMEOUT: Duration = Duration::from_secs(10);

/// A webhook endpoint.
pub struct Webhook {
    agent: Agent,
    url: SecretString,
    origin: String,
}

impl Webhook {
    /// A client for `url` (validated by `config`).
    pub fn new(url: &SecretString) -> Webhook {
        let agent = Agent::config_builder()
            .http_status_as_error(false)
            // A redirect could carry the alert somewhere the operator never configured.
            .max_redirects(0)
            .timeout_global(Some(TIMEOUT))
            .user_agent(concat!("secretctl/", env!("CARGO_PKG_VERSION")))
            .build()
            .new_agent();
        Webhook {
            agent,
            origin: origin(url.expose_secret()),
            url: url.clone(),
        }
    }

    /// Scheme, host and port: what logs may show of the URL.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// POSTs `payload`; any answer but 2xx is a failure.
    pub fn post(&self, payload: &Payload) -> Result<(), String> {
        // Compact JSON (ureq's `send_json` pretty-prints).
        let body = serde_json::to_vec(payload).map_err(|e| e.to_string())?;
        let mut resp = self
            .agent
            .post(self.url.expose_secret())
            .content_type("application/json")
            .send(body.as_slice())
            .map_err(describe)?;
        let status = resp.status().as_u16();
        // Read (a bounded amount of) the answer so the connection ends cleanly; its content
        // does not matter.
        let _ = resp.body_mut().with_config().limit(64 * 1024).read_to_vec();
        if (200..300).contains(&status) {
            Ok(())
        } else {
            Err(format!("answered HTTP {status}"))
        }
    }
}

/// `scheme://host[:port]` of `url`, without user info, path, query or fragment.
fn origin(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit('@').next().unwrap_or("");
    format!("{scheme}://{host}")
}

/// A ureq error as a log line; the variants that can echo the URL are named, not shown.
fn describe(e: ureq::Error) -> String {
    match e {
        ureq::Error::BadUri(_) | ureq::Error::RequireHttpsOnly(_) => "invalid URL".into(),
        ureq::Error::Timeout(_) => format!("no answer within {}s", TIMEOUT.as_secs()),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_hides_path_query_and_credentials() {
        assert_eq!(
            origin("https://hooks.example.com/services/T0/B0/SECRET"),
            "https://hooks.example.com"
        );
        assert_eq!(
            origin("http://user:pw@127.0.0.1:9000/hook?token=x#f"),
            "http://127.0.0.1:9000"
        );
        assert_eq!(origin("http://h:1?token=x"), "http://h:1");
    }
}
