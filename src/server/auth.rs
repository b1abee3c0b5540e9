//! Who is calling: the bearer token's user, and the client address and user agent that go
//! into the audit trail.

use crate::ids::{TokenHash, UserId};
use std::net::IpAddr;

use rouille::Request;

use super::{ApiError, App};
use crate::crypto::token::token_hash;
use crate::service::access::Principal;
use crate::service::tokens;
use crate::store::Actor;

/// Longest token accepted; anything longer is not one of ours and is not worth hashing.
const MAX_TOKEN_LEN: usize = 256;

/// An authenticated caller.
pub struct Caller {
    pub user_id: UserId,
    pub actor: Actor,
    /// The hash of the presented token: which of the user's sessions this request is.
    pub token_hash: TokenHash,
}

/// The raw bearer token of the request, if it has a well-formed one.
pub fn bearer(req: &Request) -> Option<&str> {
    let value = req.header("Authorization")?.trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && token.len() <= MAX_TOKEN_LEN)
        .then_some(token)
}

/// The authenticated user; 401 for a missing, unknown or expired token, and for the token
/// of an account an operator has disabled (checked on every request, so a disable takes
/// effect at the next one even if a session row survived it). Only people reach what this
/// guards (accounts, teams, tokens, the audit trail): a valid service token is a 403
/// `forbidden` (see `principal` for the endpoints tokens may use).
pub fn caller(req: &Request, app: &App) -> Result<Caller, ApiError> {
    let token = bearer(req).ok_or(ApiError::Unauthorized)?;
    if crate::service::tokens::is_service_token(token) {
        principal(req, app)?;
        return Err(ApiError::Forbidden(
            "service tokens cannot manage accounts, teams or tokens, read the audit trail or \
             log in; use a person's session"
                .into(),
        ));
    }
    let hash = token_hash(token);
    let store = app.store()?;
    let now = app.now();
    let session = store
        .find_session(&hash, now)?
        .ok_or(ApiError::Unauthorized)?;
    let user = store
        .find_user_by_id(&session.user_id)?
        .ok_or(ApiError::Unauthorized)?;
    if user.disabled {
        return Err(ApiError::Unauthorized);
    }
    if session.needs_touch(now) {
        // At most one write a minute per session. A failed one only leaves "last used"
        // older; it must not fail a request that needs no write (e.g. on a full disk).
        let _ = store.touch_session(&hash, now);
    }
    drop(store);
    let mut actor = anonymous(req, app);
    actor.user_id = Some(session.user_id.to_string());
    Ok(Caller {
        user_id: session.user_id,
        actor,
        token_hash: hash,
    })
}

/// An authenticated caller who may be a person or a service token.
pub struct Authed {
    pub principal: Principal,
    pub actor: Actor,
}

/// The person or service token making the request; 401 for a missing, unknown, revoked or
/// expired credential, and for a token used from outside its allowed networks (audited).
pub fn principal(req: &Request, app: &App) -> Result<Authed, ApiError> {
    let token = bearer(req).ok_or(ApiError::Unauthorized)?;
    if !crate::service::tokens::is_service_token(token) {
        let c = caller(req, app)?;
        return Ok(Authed {
            principal: Principal::User(c.user_id),
            actor: c.actor,
        });
    }
    let store = app.store()?;
    let base = anonymous(req, app);
    let ip = client_ip(req, app.trust_proxy);
    match tokens::authenticate(&app.ctx(&store), &base, token, ip)? {
        Ok(record) => Ok(Authed {
            actor: tokens::token_actor(&base, &record),
            principal: Principal::Token(record),
        }),
        Err(_) => Err(ApiError::Unauthorized),
    }
}

/// The caller as an audit actor, before (or without) authentication.
pub fn anonymous(req: &Request, app: &App) -> Actor {
    Actor {
        user_id: None,
        ip: client_ip(req, app.trust_proxy).to_string(),
        user_agent: req.header("User-Agent").unwrap_or("").to_string(),
        actor_name: None,
    }
}

/// Where the client address of a request comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyTrust {
    /// The TCP peer; `X-Forwarded-For` is ignored.
    Peer,
    /// `X-Forwarded-For`, the entry this many places from the right: each of that many
    /// proxies in front of the server appended the address it saw.
    Hops(usize),
}

impl ProxyTrust {
    /// From `--trust-proxy` and `--trusted-hops`.
    pub fn new(trust_proxy: bool, hops: usize) -> Self {
        if trust_proxy {
            ProxyTrust::Hops(hops.max(1))
        } else {
            ProxyTrust::Peer
        }
    }
}

/// The client's address: the socket peer, or behind trusted proxies the entry of
/// `X-Forwarded-For` that the outermost trusted proxy appended.
///
/// Every `X-Forwarded-For` line counts, joined in order: a proxy that appends a line of its
/// own (HAProxy `option forwardfor`) leaves the client's forged line first, so reading only
/// the first line let the client pick its address. Entries left of the trusted hops are the
/// client's own claims and are never used. With fewer entries than hops, every entry was
/// written by a trusted proxy and the leftmost is the best address known. An entry that is
/// not an address (or `unknown`) falls back to the peer.
pub fn client_ip(req: &Request, trust: ProxyTrust) -> IpAddr {
    let peer = req.remote_addr().ip();
    let ProxyTrust::Hops(hops) = trust else {
        return peer;
    };
    let entries: Vec<&str> = req
        .headers()
        .filter(|(name, _)| name.eq_ignore_ascii_case("X-Forwarded-For"))
        .flat_map(|(_, value)| value.split(','))
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .collect();
    let entry = match entries.len().checked_sub(hops) {
        Some(i) => entries.get(i),
        None => entries.first(),
    };
    entry.and_then(|e| parse_forwarded(e)).unwrap_or(peer)
}

/// An address as proxies write it: bare, or with a port (`1.2.3.4:80`, `[::1]:80`).
fn parse_forwarded(entry: &str) -> Option<IpAddr> {
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<std::net::SocketAddr>().ok().map(|a| a.ip()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(xff: &[&str]) -> Request {
        let headers = xff
            .iter()
            .map(|v| ("X-Forwarded-For".to_string(), v.to_string()))
            .collect();
        Request::fake_http_from(
            "10.0.0.1:5000".parse().unwrap(),
            "GET",
            "/",
            headers,
            vec![],
        )
    }

    fn ip(xff: &[&str], trust: ProxyTrust) -> String {
        client_ip(&req(xff), trust).to_string()
    }

    #[test]
    fn forwarded_for_only_when_trusted() {
        let one = ProxyTrust::Hops(1);
        assert_eq!(ip(&["1.2.3.4"], ProxyTrust::Peer), "10.0.0.1");
        assert_eq!(ip(&["6.6.6.6, 1.2.3.4"], one), "1.2.3.4");
        assert_eq!(ip(&["garbage"], one), "10.0.0.1");
        assert_eq!(ip(&["6.6.6.6, unknown"], one), "10.0.0.1");
        assert_eq!(ip(&[], one), "10.0.0.1");
        assert_eq!(ip(&["1.2.3.4:5678"], one), "1.2.3.4");
        assert_eq!(ip(&["[2001:db8::1]:443"], one), "2001:db8::1");
        assert_eq!(ProxyTrust::new(false, 3), ProxyTrust::Peer);
        assert_eq!(ProxyTrust::new(true, 0), one);
    }

    #[test]
    fn every_forwarded_for_line_counts_and_the_last_hop_wins() {
        // The client's forged line first, the line the proxy appended last.
        let one = ProxyTrust::Hops(1);
        assert_eq!(ip(&["6.6.6.6", "1.2.3.4"], one), "1.2.3.4");
        assert_eq!(ip(&["6.6.6.6, 7.7.7.7", "1.2.3.4"], one), "1.2.3.4");
        assert_eq!(ip(&["6.6.6.6", "", "1.2.3.4"], one), "1.2.3.4");
    }

    #[test]
    fn trusted_hops_count_from_the_right() {
        let two = ProxyTrust::Hops(2);
        // client -> CDN (appends the client) -> proxy (appends the CDN) -> us.
        assert_eq!(ip(&["6.6.6.6, 1.2.3.4", "203.0.113.9"], two), "1.2.3.4");
        assert_eq!(ip(&["6.6.6.6", "1.2.3.4, 203.0.113.9"], two), "1.2.3.4");
        // Fewer entries than hops: all were written by trusted proxies.
        assert_eq!(ip(&["1.2.3.4"], two), "1.2.3.4");
    }
}
