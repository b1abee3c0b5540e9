//! Who is calling: the bearer token's user, and the client address and user agent that go
//! into the audit trail.

use std::net::IpAddr;

use rouille::Request;

use super::{ApiError, App};
use crate::crypto::token::token_hash;
use crate::store::Actor;

/// Longest token accepted; anything longer is not one of ours and is not worth hashing.
const MAX_TOKEN_LEN: usize = 256;

/// An authenticated caller.
pub struct Caller {
    pub user_id: String,
    pub actor: Actor,
}

/// The raw bearer token of the request, if it has a well-formed one.
pub fn bearer(req: &Request) -> Option<&str> {
    let value = req.header("Authorization")?.trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && token.len() <= MAX_TOKEN_LEN)
        .then_some(token)
}

/// The authenticated user; 401 for a missing, unknown or expired token.
pub fn caller(req: &Request, app: &App) -> Result<Caller, ApiError> {
    let token = bearer(req).ok_or(ApiError::Unauthorized)?;
    let session = app
        .store()?
        .find_session(&token_hash(token), app.now())?
        .ok_or(ApiError::Unauthorized)?;
    let mut actor = anonymous(req, app);
    actor.user_id = Some(session.user_id.clone());
    Ok(Caller {
        user_id: session.user_id,
        actor,
    })
}

/// The caller as an audit actor, before (or without) authentication.
pub fn anonymous(req: &Request, app: &App) -> Actor {
    Actor {
        user_id: None,
        ip: client_ip(req, app.trust_proxy).to_string(),
        user_agent: req.header("User-Agent").unwrap_or("").to_string(),
    }
}

/// The client's address: the socket peer, or with `--trust-proxy` the address the proxy
/// appended last to `X-Forwarded-For` (earlier entries are client-supplied and forgeable).
pub fn client_ip(req: &Request, trust_proxy: bool) -> IpAddr {
    let peer = req.remote_addr().ip();
    if !trust_proxy {
        return peer;
    }
    req.header("X-Forwarded-For")
        .and_then(|h| h.rsplit(',').next())
        .and_then(|ip| ip.trim().parse().ok())
        .unwrap_or(peer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(xff: Option<&str>) -> Request {
        let headers = xff
            .map(|v| vec![("X-Forwarded-For".to_string(), v.to_string())])
            .unwrap_or_default();
        Request::fake_http_from(
            "10.0.0.1:5000".parse().unwrap(),
            "GET",
            "/",
            headers,
            vec![],
        )
    }

    #[test]
    fn forwarded_for_only_when_trusted() {
        assert_eq!(
            client_ip(&req(Some("1.2.3.4")), false).to_string(),
            "10.0.0.1"
        );
        assert_eq!(
            client_ip(&req(Some("6.6.6.6, 1.2.3.4")), true).to_string(),
            "1.2.3.4"
        );
        assert_eq!(
            client_ip(&req(Some("garbage")), true).to_string(),
            "10.0.0.1"
        );
        assert_eq!(client_ip(&req(None), true).to_string(), "10.0.0.1");
    }
}
