//! The HTTP client: one method per API endpoint, over ureq.
//!
//! Redirects are not followed (the API never redirects, and a redirect must not carry a
//! token elsewhere). Error bodies are decoded into `ClientError::Api` with the server's code.
//! `https://` servers are always verified: against the built-in public roots, or against
//! only the CA given by `ClientTls::from_ca_file`; there is no switch to turn checks off.

pub mod session_cache;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use ureq::Agent;
use ureq::http::Response;
use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig};
use zeroize::Zeroizing;

use crate::api::{
    Account, AuditList, CreateSecret, CreateShare, Credentials, ErrorBody, LoginResponse,
    ReadSecrets, RedeemShare, Redeemed, SecretList, SecretMeta, SecretWithValue, SecretsRead,
    SetEmail, ShareCreated, ShareList, UpdateSecret, User,
};
use crate::sensitive::{ExposeSecret, SecretString};

/// Errors talking to a server.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered with an error status.
    #[error("{message}")]
    Api {
        status: u16,
        code: String,
        message: String,
    },
    /// No usable answer: connection refused, DNS, timeout.
    #[error("cannot reach {server}: {reason}")]
    Transport { server: String, reason: String },
    /// The TLS handshake failed, most often because the certificate is not trusted.
    #[error("TLS with {server} failed: {reason}")]
    Tls { server: String, reason: String },
    /// The CA certificate file to trust cannot be used.
    #[error("CA certificate {}: {reason}", path.display())]
    CaCert { path: PathBuf, reason: String },
    /// The server answered something that is not the API's JSON.
    #[error("unexpected response from {server}: {reason}")]
    Decode { server: String, reason: String },
}

impl ClientError {
    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// Which certificate authorities `https://` servers are checked against.
#[derive(Clone, Default)]
pub struct ClientTls {
    /// `None`: the built-in public (webpki) roots.
    roots: Option<Arc<Vec<Certificate<'static>>>>,
}

impl ClientTls {
    /// Trusts only the PEM certificates in `path` (a private CA, or a bundle).
    pub fn from_ca_file(path: &Path) -> Result<ClientTls, ClientError> {
        let err = |reason: String| ClientError::CaCert {
            path: path.to_path_buf(),
            reason,
        };
        let pem = std::fs::read(path).map_err(|e| err(e.to_string()))?;
        let mut certs = Vec::new();
        for item in ureq::tls::parse_pem(&pem) {
            // Anything else (a key by mistake) is skipped, never echoed.
            if let PemItem::Certificate(c) =
                item.map_err(|e| err(format!("not valid PEM ({e})")))?
            {
                certs.push(c);
            }
        }
        if certs.is_empty() {
            return Err(err(
                "no PEM certificate found (expected -----BEGIN CERTIFICATE-----)".into(),
            ));
        }
        // rustls silently skips roots it cannot parse, which would turn a corrupt file into
        // "unknown issuer" for every server; parse each one here to say so instead.
        for c in &certs {
            openssl::x509::X509::from_der(c.der())
                .map_err(|_| err("contains a certificate that does not parse".into()))?;
        }
        Ok(ClientTls {
            roots: Some(Arc::new(certs)),
        })
    }

    fn config(&self) -> TlsConfig {
        let roots = match &self.roots {
            Some(certs) => RootCerts::Specific(Arc::clone(certs)),
            None => RootCerts::WebPki,
        };
        TlsConfig::builder().root_certs(roots).build()
    }
}

/// A client for one server, optionally authenticated.
pub struct ApiClient {
    agent: Agent,
    base: String,
    token: Option<SecretString>,
}

impl ApiClient {
    /// A client for `base` (e.g. `http://127.0.0.1:8200`), sending `token` when given and
    /// checking an `https://` server's certificate against `tls`.
    pub fn new(base: &str, token: Option<SecretString>, tls: &ClientTls) -> Self {
        let agent = Agent::config_builder()
            .tls_config(tls.config())
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(Duration::from_secs(60)))
            .user_agent(concat!("secretctl/", env!("CARGO_PKG_VERSION")))
            .build()
            .new_agent();
        ApiClient {
            agent,
            base: normalize_base(base),
            token,
        }
    }

    /// The normalized server URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn auth_header(&self) -> Option<String> {
        self.token
            .as_ref()
            .map(|t| format!("Bearer {}", t.expose_secret()))
    }

    fn transport(&self, e: ureq::Error) -> ClientError {
        let (server, reason) = (self.base.clone(), e.to_string());
        let tls = match &e {
            ureq::Error::Rustls(_) | ureq::Error::Tls(_) => true,
            // The handshake runs under an io::Error that wraps rustls' own error.
            ureq::Error::Io(io) => io
                .get_ref()
                .is_some_and(|inner| inner.is::<rustls::Error>()),
            _ => false,
        };
        if tls {
            ClientError::Tls { server, reason }
        } else {
            ClientError::Transport { server, reason }
        }
    }

    fn send<B: Serialize>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<Vec<u8>, ClientError> {
        let url = self.url(path);
        let auth = Zeroizing::new(self.auth_header().unwrap_or_default());
        let authed = |rb| with_auth(rb, &auth);
        let result = match method {
            Method::Get => authed(self.agent.get(&url)).call(),
            Method::Delete => authed(self.agent.delete(&url)).call(),
            Method::Post | Method::Put => {
                let rb = match method {
                    Method::Put => self.agent.put(&url),
                    _ => self.agent.post(&url),
                };
                let rb = with_auth(rb, &auth);
                match body {
                    None => rb.send_empty(),
                    Some(b) => {
                        let payload = Zeroizing::new(serde_json::to_vec(b).map_err(|e| {
                            ClientError::Decode {
                                server: self.base.clone(),
                                reason: e.to_string(),
                            }
                        })?);
                        rb.content_type("application/json").send(payload.as_slice())
                    }
                }
            }
        };
        self.finish(result)
    }

    fn finish(
        &self,
        result: Result<Response<ureq::Body>, ureq::Error>,
    ) -> Result<Vec<u8>, ClientError> {
        let mut resp = result.map_err(|e| self.transport(e))?;
        let status = resp.status().as_u16();
        let bytes = resp
            .body_mut()
            .with_config()
            .limit(8 * 1024 * 1024)
            .read_to_vec()
            .map_err(|e| self.transport(e))?;
        if (200..300).contains(&status) {
            return Ok(bytes);
        }
        let (code, message) = match serde_json::from_slice::<ErrorBody>(&bytes) {
            Ok(b) => (b.error, b.message),
            Err(_) => (
                "http_error".to_string(),
                format!("server answered HTTP {status}"),
            ),
        };
        Err(ClientError::Api {
            status,
            code,
            message,
        })
    }

    fn decode<T: DeserializeOwned>(&self, bytes: &[u8]) -> Result<T, ClientError> {
        serde_json::from_slice(bytes).map_err(|e| ClientError::Decode {
            server: self.base.clone(),
            reason: e.to_string(),
        })
    }

    /// `GET /healthz`.
    pub fn health(&self) -> Result<(), ClientError> {
        self.send::<()>(Method::Get, "/healthz", None).map(drop)
    }

    /// `POST /register`.
    pub fn register(&self, creds: &Credentials) -> Result<User, ClientError> {
        let b = self.send(Method::Post, "/register", Some(creds))?;
        self.decode(&b)
    }

    /// `POST /login`.
    pub fn login(&self, creds: &Credentials) -> Result<LoginResponse, ClientError> {
        let b = Zeroizing::new(self.send(Method::Post, "/login", Some(creds))?);
        self.decode(&b)
    }

    /// `POST /logout`.
    pub fn logout(&self) -> Result<(), ClientError> {
        self.send::<()>(Method::Post, "/logout", None).map(drop)
    }

    /// `GET /account`.
    pub fn account(&self) -> Result<Account, ClientError> {
        let b = self.send::<()>(Method::Get, "/account", None)?;
        self.decode(&b)
    }

    /// `PUT /account/email`; `None` clears the address.
    pub fn set_email(&self, email: Option<&str>) -> Result<Account, ClientError> {
        let input = SetEmail {
            email: email.map(str::to_string),
        };
        let b = self.send(Method::Put, "/account/email", Some(&input))?;
        self.decode(&b)
    }

    /// `POST /secrets`.
    pub fn create_secret(&self, input: &CreateSecret) -> Result<SecretMeta, ClientError> {
        let b = self.send(Method::Post, "/secrets", Some(input))?;
        self.decode(&b)
    }

    /// `GET /secrets`, optionally filtered by tag and/or exact name.
    pub fn list_secrets(
        &self,
        tag: Option<&str>,
        name: Option<&str>,
    ) -> Result<SecretList, ClientError> {
        let mut query = Vec::new();
        if let Some(t) = tag {
            query.push(format!("tag={}", percent_encode(t)));
        }
        if let Some(n) = name {
            query.push(format!("name={}", percent_encode(n)));
        }
        let path = if query.is_empty() {
            "/secrets".to_string()
        } else {
            format!("/secrets?{}", query.join("&"))
        };
        let b = self.send::<()>(Method::Get, &path, None)?;
        self.decode(&b)
    }

    /// `GET /secrets/{id}`.
    pub fn get_secret(&self, id: &str) -> Result<SecretWithValue, ClientError> {
        let b = Zeroizing::new(self.send::<()>(
            Method::Get,
            &format!("/secrets/{}", percent_encode(id)),
            None,
        )?);
        self.decode(&b)
    }

    /// `POST /secrets/read`: every selected secret with its value, in one request.
    pub fn read_secrets(&self, input: &ReadSecrets) -> Result<SecretsRead, ClientError> {
        let b = Zeroizing::new(self.send(Method::Post, "/secrets/read", Some(input))?);
        self.decode(&b)
    }

    /// `PUT /secrets/{id}`.
    pub fn update_secret(&self, id: &str, input: &UpdateSecret) -> Result<SecretMeta, ClientError> {
        let b = self.send(
            Method::Put,
            &format!("/secrets/{}", percent_encode(id)),
            Some(input),
        )?;
        self.decode(&b)
    }

    /// `DELETE /secrets/{id}`.
    pub fn delete_secret(&self, id: &str) -> Result<(), ClientError> {
        self.send::<()>(
            Method::Delete,
            &format!("/secrets/{}", percent_encode(id)),
            None,
        )
        .map(drop)
    }

    /// `POST /secrets/{id}/share`.
    pub fn create_share(
        &self,
        secret_id: &str,
        input: &CreateShare,
    ) -> Result<ShareCreated, ClientError> {
        let path = format!("/secrets/{}/share", percent_encode(secret_id));
        let b = Zeroizing::new(self.send(Method::Post, &path, Some(input))?);
        self.decode(&b)
    }

    /// `GET /secrets/{id}/shares`.
    pub fn list_shares(&self, secret_id: &str) -> Result<ShareList, ClientError> {
        let path = format!("/secrets/{}/shares", percent_encode(secret_id));
        let b = self.send::<()>(Method::Get, &path, None)?;
        self.decode(&b)
    }

    /// `DELETE /shares/{share_id}`.
    pub fn revoke_share(&self, share_id: &str) -> Result<(), ClientError> {
        let path = format!("/shares/{}", percent_encode(share_id));
        self.send::<()>(Method::Delete, &path, None).map(drop)
    }

    /// `POST /share/{token}` as an API client: redeems one view.
    pub fn redeem_share(&self, token: &str, input: &RedeemShare) -> Result<Redeemed, ClientError> {
        let path = format!("/share/{}", percent_encode(token));
        let b = Zeroizing::new(self.send(Method::Post, &path, Some(input))?);
        self.decode(&b)
    }

    /// `GET /audit`.
    pub fn audit(&self, limit: u32, before: Option<u64>) -> Result<AuditList, ClientError> {
        let mut path = format!("/audit?limit={limit}");
        if let Some(b) = before {
            path.push_str(&format!("&before={b}"));
        }
        let b = self.send::<()>(Method::Get, &path, None)?;
        self.decode(&b)
    }

    /// The secret named `name`, as a 404 `ClientError::Api` when there is none.
    pub fn find_by_name(&self, name: &str) -> Result<SecretMeta, ClientError> {
        self.list_secrets(None, Some(name))?
            .secrets
            .into_iter()
            .find(|s| s.name == name)
            .ok_or_else(|| ClientError::Api {
                status: 404,
                code: "not_found".into(),
                message: format!("no secret named `{name}`"),
            })
    }
}

/// HTTP methods the API uses.
#[derive(Clone, Copy)]
enum Method {
    Get,
    Post,
    Put,
    Delete,
}

fn with_auth<T>(rb: ureq::RequestBuilder<T>, auth: &str) -> ureq::RequestBuilder<T> {
    // The API answers JSON; saying so also keeps share links on their API behaviour.
    let rb = rb.header("Accept", "application/json");
    if auth.is_empty() {
        rb
    } else {
        rb.header("Authorization", auth)
    }
}

/// Trims trailing slashes so `http://h:1/` and `http://h:1` are the same server.
pub fn normalize_base(base: &str) -> String {
    base.trim().trim_end_matches('/').to_string()
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_names() {
        assert_eq!(percent_encode("prod/db pw"), "prod%2Fdb%20pw");
        assert_eq!(normalize_base("http://h:1/ "), "http://h:1");
    }
}
