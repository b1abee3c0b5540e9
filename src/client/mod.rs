//! The HTTP client: one method per API endpoint, over ureq.
//!
//! Redirects are not followed (the API never redirects, and a redirect must not carry a
//! token elsewhere). Error bodies are decoded into `ClientError::Api` with the server's code;
//! a 404 without secretctl's JSON error body is `NotSecretctl`, never "no such secret".
//!
//! Retries (`Retry`): 429 and 503 are retried for every method, honouring `Retry-After` with
//! jitter, because the server answers them before doing anything. A failed connection is
//! retried only for GET: a write whose answer was lost may already have happened.
//! `https://` servers are always verified: against the built-in public roots, or against
//! only the CA given by `ClientTls::from_ca_file`; there is no switch to turn checks off.

pub mod session_cache;
mod teams;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde::de::DeserializeOwned;
use ureq::Agent;
use ureq::http::Response;
use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig};
use zeroize::Zeroizing;

use crate::api::{
    Account, AuditList, ChangePassword, CreateSecret, CreateShare, Credentials, DeleteAccount,
    ErrorBody, LoginResponse, ReadSecrets, RedeemShare, Redeemed, Rollback, SecretList, SecretMeta,
    SecretVersionList, SecretWithValue, SecretsRead, SessionList, SessionsRevoked, SetEmail,
    ShareCreated, ShareList, UpdateSecret, User,
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
    /// An `https://` server that did not answer TLS at all (most likely plain HTTP).
    #[error("{server} does not speak TLS (https://): if it is a plain-HTTP server, use {plain}")]
    NotTls { server: String, plain: String },
    /// The CA certificate file to trust cannot be used.
    #[error("CA certificate {}: {reason}", path.display())]
    CaCert { path: PathBuf, reason: String },
    /// The server answered something that is not the API's JSON.
    #[error("unexpected response from {server}: {reason}")]
    Decode { server: String, reason: String },
    /// A 404 without secretctl's JSON error body: the URL is not (the root of) a secretctl
    /// server, so "this secret does not exist" would be a lie.
    #[error("not a secretctl server at {server} (HTTP {status} from {request})")]
    NotSecretctl {
        server: String,
        status: u16,
        /// Method and the first path segment only: the rest may be a share token.
        request: String,
    },
    /// Still 429 or 503 when the retry budget ran out.
    #[error("{server} {what} ({message}); {after}")]
    Busy {
        server: String,
        status: u16,
        what: &'static str,
        message: String,
        after: String,
    },
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

/// How long to keep retrying refused (429/503) requests and failed reads.
#[derive(Clone)]
pub struct Retry {
    /// Total time budget from the first attempt; zero turns retries off.
    pub retry_for: Duration,
    /// Called before each wait, so the caller can count retries on the terminal.
    pub notify: Option<RetryObserver>,
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            retry_for: Duration::from_secs(30),
            notify: None,
        }
    }
}

/// What `Retry::notify` calls before each wait.
pub type RetryObserver = Arc<dyn Fn(&RetryNotice) + Send + Sync>;

/// One retry about to happen.
pub struct RetryNotice {
    /// 1 for the first retry.
    pub attempt: u32,
    pub wait: Duration,
    /// Why the previous attempt failed (an HTTP status or a connection error).
    pub reason: String,
}

/// A client for one server, optionally authenticated.
pub struct ApiClient {
    agent: Agent,
    base: String,
    token: Option<SecretString>,
    retry: Retry,
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
            retry: Retry::default(),
        }
    }

    /// The same client with another retry policy.
    pub fn with_retry(mut self, retry: Retry) -> Self {
        self.retry = retry;
        self
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
        let eof =
            matches!(&e, ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof);
        let garbled = matches!(&e, ureq::Error::Io(io) if io
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
            .is_some_and(|r| matches!(r, rustls::Error::InvalidMessage(_))));
        if self
            .base
            .get(..8)
            .is_some_and(|p| p.eq_ignore_ascii_case("https://"))
            && (eof || garbled)
        {
            // A plain-HTTP server answers a ClientHello with a 400 or closes the connection,
            // which rustls reports as "unexpected end of file" or a corrupt message.
            let plain = format!("http://{}", &self.base[8..]);
            ClientError::NotTls { server, plain }
        } else if tls {
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
        let payload = match body {
            None => None,
            Some(b) => Some(Zeroizing::new(serde_json::to_vec(b).map_err(|e| {
                ClientError::Decode {
                    server: self.base.clone(),
                    reason: e.to_string(),
                }
            })?)),
        };
        let started = Instant::now();
        let mut retries = 0u32;
        loop {
            let (error, wait) =
                match self.call(method, &url, &auth, payload.as_deref().map(Vec::as_slice)) {
                    Ok(resp) => {
                        let status = resp.status().as_u16();
                        let retry_after = retry_after(&resp);
                        match self.finish(method, path, resp) {
                            Err(e) if matches!(status, 429 | 503) => {
                                (e, retry_after.unwrap_or_else(|| backoff(retries)))
                            }
                            done => return done,
                        }
                    }
                    Err(e) => match self.transport(e) {
                        e @ ClientError::Transport { .. } if matches!(method, Method::Get) => {
                            (e, backoff(retries))
                        }
                        e => return Err(e),
                    },
                };
            let wait = jittered(wait);
            let elapsed = started.elapsed();
            if elapsed + wait > self.retry.retry_for {
                return Err(self.give_up(error, retries, elapsed));
            }
            retries += 1;
            if let Some(notify) = &self.retry.notify {
                notify(&RetryNotice {
                    attempt: retries,
                    wait,
                    reason: error.to_string(),
                });
            }
            std::thread::sleep(wait);
        }
    }

    /// One attempt.
    fn call(
        &self,
        method: Method,
        url: &str,
        auth: &str,
        payload: Option<&[u8]>,
    ) -> Result<Response<ureq::Body>, ureq::Error> {
        match method {
            Method::Get => with_auth(self.agent.get(url), auth).call(),
            Method::Delete => {
                let rb = with_auth(self.agent.delete(url), auth);
                match payload {
                    None => rb.call(),
                    // `DELETE /account` carries the re-entered password.
                    Some(p) => rb
                        .force_send_body()
                        .content_type("application/json")
                        .send(p),
                }
            }
            Method::Post | Method::Put => {
                let rb = match method {
                    Method::Put => self.agent.put(url),
                    _ => self.agent.post(url),
                };
                let rb = with_auth(rb, auth);
                match payload {
                    None => rb.send_empty(),
                    Some(p) => rb.content_type("application/json").send(p),
                }
            }
        }
    }

    /// The final error once retrying is over: the last one, saying how long was tried.
    fn give_up(&self, error: ClientError, retries: u32, elapsed: Duration) -> ClientError {
        let after = if self.retry.retry_for.is_zero() {
            "retries are off (--retry-for 0)".to_string()
        } else if retries == 0 {
            format!(
                "the server's wait exceeds --retry-for {}s",
                self.retry.retry_for.as_secs()
            )
        } else {
            format!(
                "gave up after {retries} retr{} over {}s (--retry-for {}s)",
                if retries == 1 { "y" } else { "ies" },
                elapsed.as_secs(),
                self.retry.retry_for.as_secs()
            )
        };
        match error {
            ClientError::Api {
                status, message, ..
            } if matches!(status, 429 | 503) => ClientError::Busy {
                server: self.base.clone(),
                status,
                what: if status == 429 {
                    "is rate-limiting this client"
                } else {
                    "is unavailable"
                },
                message,
                after,
            },
            ClientError::Transport { server, reason } if retries > 0 => ClientError::Transport {
                server,
                reason: format!("{reason}; {after}"),
            },
            other => other,
        }
    }

    fn finish(
        &self,
        method: Method,
        path: &str,
        mut resp: Response<ureq::Body>,
    ) -> Result<Vec<u8>, ClientError> {
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
            Err(_) if status == 404 => {
                return Err(ClientError::NotSecretctl {
                    server: self.base.clone(),
                    status,
                    request: format!("{} {}", method.name(), first_segment(path)),
                });
            }
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

    /// `PUT /account/password`.
    pub fn change_password(&self, input: &ChangePassword) -> Result<(), ClientError> {
        self.send(Method::Put, "/account/password", Some(input))
            .map(drop)
    }

    /// `DELETE /account` with the re-entered password.
    pub fn delete_account(&self, input: &DeleteAccount) -> Result<(), ClientError> {
        self.send(Method::Delete, "/account", Some(input)).map(drop)
    }

    /// `GET /account/sessions`.
    pub fn sessions(&self) -> Result<SessionList, ClientError> {
        let b = self.send::<()>(Method::Get, "/account/sessions", None)?;
        self.decode(&b)
    }

    /// `DELETE /account/sessions/{id}`.
    pub fn revoke_session(&self, id: &str) -> Result<(), ClientError> {
        let path = format!("/account/sessions/{}", percent_encode(id));
        self.send::<()>(Method::Delete, &path, None).map(drop)
    }

    /// `POST /account/sessions/revoke-others`.
    pub fn revoke_other_sessions(&self) -> Result<SessionsRevoked, ClientError> {
        let b = self.send::<()>(Method::Post, "/account/sessions/revoke-others", None)?;
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
        self.list_secrets_in(None, tag, name)
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

    /// `GET /secrets/{id}?version=N`: the value the secret had at version N.
    pub fn get_secret_version(
        &self,
        id: &str,
        version: u64,
    ) -> Result<SecretWithValue, ClientError> {
        let b = Zeroizing::new(self.send::<()>(
            Method::Get,
            &format!("/secrets/{}?version={version}", percent_encode(id)),
            None,
        )?);
        self.decode(&b)
    }

    /// `GET /secrets/{id}/versions`.
    pub fn secret_versions(&self, id: &str) -> Result<SecretVersionList, ClientError> {
        let b = self.send::<()>(
            Method::Get,
            &format!("/secrets/{}/versions", percent_encode(id)),
            None,
        )?;
        self.decode(&b)
    }

    /// `POST /secrets/{id}/rollback`.
    pub fn rollback_secret(&self, id: &str, to: u64) -> Result<SecretMeta, ClientError> {
        let b = self.send(
            Method::Post,
            &format!("/secrets/{}/rollback", percent_encode(id)),
            Some(&Rollback { to }),
        )?;
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

    /// The secret named `name` (or `TEAM:NAME`), as a 404 `ClientError::Api` when there is
    /// none.
    pub fn find_by_name(&self, reference: &str) -> Result<SecretMeta, ClientError> {
        let (team, name) = match reference.split_once(':') {
            Some((team, name)) => (Some(team), name),
            None => (None, reference),
        };
        self.list_secrets_in(team, None, Some(name))?
            .secrets
            .into_iter()
            .find(|s| s.name == name)
            .ok_or_else(|| ClientError::Api {
                status: 404,
                code: "not_found".into(),
                message: format!("no secret named `{reference}`"),
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

impl Method {
    fn name(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
        }
    }
}

/// `/share/TOKEN?x` -> `/share/…`: enough to say which request it was, never a token or id.
fn first_segment(path: &str) -> String {
    let path = path.split(['?', '#']).next().unwrap_or("");
    let mut parts = path.trim_start_matches('/').splitn(2, '/');
    let first = parts.next().unwrap_or("");
    match parts.next() {
        Some(_) => format!("/{first}/…"),
        None => format!("/{first}"),
    }
}

/// `Retry-After` in whole seconds (the only form secretctl sends); at least one second.
fn retry_after(resp: &Response<ureq::Body>) -> Option<Duration> {
    let secs: u64 = resp
        .headers()
        .get("retry-after")?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(secs.clamp(1, 3600)))
}

/// Exponential backoff for answers without `Retry-After`: 0.5 s, 1 s, 2 s, then 5 s.
fn backoff(retries: u32) -> Duration {
    Duration::from_millis(500u64.saturating_mul(1 << retries.min(4)).min(5_000))
}

/// `wait` plus up to a quarter more, so parallel clients refused together do not all come
/// back in the same instant; never less than the server asked for.
fn jittered(wait: Duration) -> Duration {
    let mut r = [0u8; 2];
    let fraction = match getrandom::fill(&mut r) {
        Ok(()) => f64::from(u16::from_le_bytes(r)) / f64::from(u16::MAX),
        Err(_) => 0.5,
    };
    wait + wait.mul_f64(fraction / 4.0)
}

/// Why `base` cannot be a server URL, if it cannot: it needs `http://` or `https://` and a
/// host (`127.0.0.1:8200` alone is taken by URL parsers as a scheme named `127.0.0.1`).
pub fn check_base(base: &str) -> Result<(), String> {
    let lower = base.trim().to_ascii_lowercase();
    let rest = lower
        .strip_prefix("http://")
        .or_else(|| lower.strip_prefix("https://"));
    match rest {
        Some(r) if !r.is_empty() && !r.starts_with('/') => Ok(()),
        Some(_) => Err(format!("server URL `{base}` has no host")),
        None => Err(format!(
            "server URL `{base}` needs a scheme: e.g. --server http://{0} (or https://{0})",
            base.trim()
                .split_once("://")
                .map_or(base.trim(), |(_, rest)| rest)
        )),
    }
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

/// True when `base` is `http://` to a host other than this machine (127.0.0.0/8, ::1,
/// `localhost`): anything sent there, a password included, crosses the network in clear.
/// Pure string logic, so the decision is made before any connection is attempted.
pub fn is_cleartext_to_remote(base: &str) -> bool {
    let base = base.trim();
    let Some(rest) = base
        .get(..7)
        .filter(|scheme| scheme.eq_ignore_ascii_case("http://"))
        .map(|_| &base[7..])
    else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    // Userinfo (`user@host`) is not the host; the last '@' is the one a URL parser honours.
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        host_port.split(':').next().unwrap_or("")
    };
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let loopback = host == "localhost"
        || match host.parse::<std::net::IpAddr>() {
            Ok(std::net::IpAddr::V6(v6)) => {
                v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
            }
            Ok(ip) => ip.is_loopback(),
            Err(_) => false,
        };
    !loopback
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
    fn cleartext_only_matters_off_this_machine() {
        for local in [
            "http://127.0.0.1:8200",
            "http://127.8.9.10",
            "HTTP://LOCALHOST:1/",
            "http://localhost.",
            "http://[::1]:8200/x",
            "http://[::ffff:127.0.0.1]:1",
            "https://10.0.0.1",
            "https://secrets.example.com",
        ] {
            assert!(!is_cleartext_to_remote(local), "{local}");
        }
        for remote in [
            "http://10.255.255.1:9",
            "http://example.invalid",
            "http://secrets.example.com/",
            "http://[2001:db8::1]:8200",
            "http://127.0.0.1@evil.example",
            "http://localhost.evil.example",
            "http://127.0.0.1.nip.io",
        ] {
            assert!(is_cleartext_to_remote(remote), "{remote}");
        }
    }

    #[test]
    fn server_urls_need_a_scheme_and_host() {
        assert!(check_base("http://127.0.0.1:8200").is_ok());
        assert!(check_base("HTTPS://secrets.example.com/").is_ok());
        let e = check_base("127.0.0.1:8200").unwrap_err();
        assert!(e.contains("http://127.0.0.1:8200"), "{e}");
        assert!(check_base("ftp://h").unwrap_err().contains("http://h"));
        assert!(check_base("http://").is_err());
    }

    #[test]
    fn errors_never_show_a_path_past_its_first_segment() {
        assert_eq!(first_segment("/share/TOKEN?x=1"), "/share/…");
        assert_eq!(first_segment("/secrets"), "/secrets");
        assert_eq!(first_segment("/secrets?name=db"), "/secrets");
    }

    #[test]
    fn waits_honour_the_server_and_grow_without_it() {
        for _ in 0..100 {
            let w = jittered(Duration::from_secs(2));
            assert!(w >= Duration::from_secs(2) && w <= Duration::from_millis(2500));
        }
        assert_eq!(backoff(0), Duration::from_millis(500));
        assert_eq!(backoff(2), Duration::from_secs(2));
        assert_eq!(backoff(30), Duration::from_secs(5));
    }

    #[test]
    fn encodes_names() {
        assert_eq!(percent_encode("prod/db pw"), "prod%2Fdb%20pw");
        assert_eq!(normalize_base("http://h:1/ "), "http://h:1");
    }
}
