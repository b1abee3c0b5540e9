//! Service tokens: how one is made (shown once, stored as a hash) and how a presented one is
//! checked (exists, not expired, creator still there, from an allowed network).
//!
//! Who may make, list and revoke which tokens: a user their own personal tokens, a team
//! admin the team's. A token can never manage tokens (the server refuses any token on those
//! endpoints before this module is reached).

use std::net::IpAddr;

use crate::crypto::token::{self, token_hash};
use crate::ids::{Owner, TokenId, UserId};
use crate::sensitive::{ExposeSecret, SecretString};
use crate::store::{Action, Actor, Event, Outcome, TokenRecord};

use super::access::{self, Denial};
use super::{Ctx, ServiceError};

/// Prefix of every service token (after which: 256 random bits, base64url).
pub const SERVICE_PREFIX: &str = "sctl_svc_";
/// Default and longest lifetime, in seconds.
pub const EXPIRES_IN_DEFAULT: u64 = 90 * 86_400;
pub const EXPIRES_IN_MAX: u64 = 365 * 86_400;
/// At most this many networks per token.
pub const MAX_CIDRS: usize = 32;
/// `last_used_at` is written at most this often per token (unless the address changes), so
/// a busy pipeline does not double the writes of every request.
const TOUCH_EVERY_SECS: i64 = 60;

/// What a user asks for.
pub struct TokenRequest {
    pub name: String,
    pub team: Option<String>,
    pub permissions: Vec<String>,
    pub prefix: Option<String>,
    pub expires_in: Option<u64>,
    pub allowed_cidrs: Vec<String>,
}

/// A token just made: its record and the token, shown once.
pub struct NewToken {
    pub record: TokenRecord,
    pub token: SecretString,
    pub team_name: Option<String>,
}

/// Why a presented service token is not accepted (all answered 401).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Unknown, revoked, expired, or its creator is gone: nothing worth auditing.
    Invalid,
    /// A live token from outside its allowed networks: audited.
    Network,
}

/// A network in CIDR notation (`10.0.0.0/8`, `2001:db8::/32`; a bare address is one host).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    bits: u8,
}

impl Cidr {
    pub fn parse(s: &str) -> Option<Cidr> {
        let (addr, bits) = match s.split_once('/') {
            Some((a, b)) => (a.parse::<IpAddr>().ok()?, Some(b.parse::<u8>().ok()?)),
            None => (s.parse::<IpAddr>().ok()?, None),
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let bits = bits.unwrap_or(max);
        (bits <= max).then_some(Cidr { addr, bits })
    }

    /// Whether `ip` is inside; an IPv4-mapped IPv6 address counts as its IPv4 address.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.bits)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.bits))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

fn valid_name(n: &str) -> bool {
    (1..=64).contains(&n.len())
        && n.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

fn valid_prefix(p: &str) -> bool {
    (1..=128).contains(&p.len())
        && p.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'/' | b'-'))
}

/// (write, share) from the permission list, which must include `read`.
fn permissions(list: &[String]) -> Result<(bool, bool), ServiceError> {
    let (mut read, mut write, mut share) = (false, false, false);
    for p in list {
        match p.as_str() {
            "read" => read = true,
            "write" => write = true,
            "share" => share = true,
            _ => {
                return Err(ServiceError::Invalid(
                    "permissions must be a list of \"read\", \"write\", \"share\"",
                ));
            }
        }
    }
    if !read {
        return Err(ServiceError::Invalid("permissions must include \"read\""));
    }
    Ok((write, share))
}

/// Makes a token for `user` (personal) or, for a team admin, for `req.team`.
pub fn create(
    ctx: &Ctx,
    actor: &Actor,
    user: &UserId,
    req: TokenRequest,
) -> Result<NewToken, ServiceError> {
    if !valid_name(&req.name) {
        return Err(ServiceError::Invalid(
            "name must be 1-64 characters of A-Z, a-z, 0-9, '.', '_' or '-'",
        ));
    }
    let (write, share) = permissions(&req.permissions)?;
    if req.prefix.as_deref().is_some_and(|p| !valid_prefix(p)) {
        return Err(ServiceError::Invalid(
            "prefix must be 1-128 characters of A-Z, a-z, 0-9, '.', '_', '/' or '-'",
        ));
    }
    let expires_in = req.expires_in.unwrap_or(EXPIRES_IN_DEFAULT);
    if !(60..=EXPIRES_IN_MAX).contains(&expires_in) {
        return Err(ServiceError::Invalid(
            "expires_in must be between 60 seconds and 1 year (31536000 seconds)",
        ));
    }
    if req.allowed_cidrs.len() > MAX_CIDRS
        || req.allowed_cidrs.iter().any(|c| Cidr::parse(c).is_none())
    {
        return Err(ServiceError::Invalid(
            "allowed_cidrs must be at most 32 networks like 10.0.0.0/8 or 2001:db8::/32",
        ));
    }
    let team = match &req.team {
        Some(name) => Some(access::team_admin(ctx.store, user, name)?),
        None => None,
    };
    let token = token::new_token(SERVICE_PREFIX)?;
    let record = TokenRecord {
        id: TokenId::new(token::new_id()?),
        name: req.name,
        created_by: user.clone(),
        team: team.as_ref().map(|t| t.id.clone()),
        write,
        share,
        prefix: req.prefix,
        allowed_cidrs: req.allowed_cidrs,
        created_at: ctx.now,
        expires_at: ctx.now.saturating_add(expires_in as i64),
        last_used_at: None,
        last_used_ip: None,
    };
    ctx.store
        .create_token(&record, &token_hash(token.expose_secret()), actor)?;
    Ok(NewToken {
        record,
        token,
        team_name: team.map(|t| t.name),
    })
}

/// The tokens `user` may see: their personal ones, or (team admins) the team's.
pub fn list(
    ctx: &Ctx,
    user: &UserId,
    team: Option<&str>,
) -> Result<Vec<TokenRecord>, ServiceError> {
    let scope = match team {
        Some(name) => access::team_admin(ctx.store, user, name)?.owner(),
        None => Owner::user(user),
    };
    Ok(ctx.store.tokens_of(&scope)?)
}

/// Revokes token `id` if `user` may: its creator for a personal token, a team admin for a
/// team's. Anyone else gets `NotFound`, like for a token that does not exist.
pub fn revoke(ctx: &Ctx, actor: &Actor, user: &UserId, id: &TokenId) -> Result<(), ServiceError> {
    let token = ctx.store.token_by_id(id)?.ok_or(Denial::Hidden)?;
    let allowed = match &token.team {
        None => token.created_by == *user,
        Some(team) => ctx.store.member_role(team, user)? == Some(crate::store::Role::Admin),
    };
    if !allowed {
        return Err(Denial::Hidden.into());
    }
    ctx.store.revoke_token(id, actor, ctx.now)?;
    Ok(())
}

/// Whether `presented` looks like a service token (so a session lookup is not the answer).
pub fn is_service_token(presented: &str) -> bool {
    presented.starts_with(SERVICE_PREFIX)
}

/// Checks a presented service token from `ip`: the live record, or why not. A refusal for
/// the network is audited (by the token, as actor) before it is returned. A use updates
/// `last_used_*` (at most once a minute per token and address).
pub fn authenticate(
    ctx: &Ctx,
    actor: &Actor,
    presented: &str,
    ip: IpAddr,
) -> Result<Result<TokenRecord, Refusal>, ServiceError> {
    // The lookup is by SHA-256 of the token, so no comparison runs on the token itself.
    let hash = token_hash(presented);
    let Some(token) = ctx.store.find_token(&hash)? else {
        return Ok(Err(Refusal::Invalid));
    };
    if ctx.now >= token.expires_at {
        return Ok(Err(Refusal::Invalid));
    }
    // The creator of a personal token must still exist: their token acts on their secrets.
    // Any token of an account an operator has disabled stops at once, team tokens too: the
    // disabled person's pipelines are as suspect as their sessions.
    match ctx.store.find_user_by_id(&token.created_by)? {
        None if token.team.is_none() => return Ok(Err(Refusal::Invalid)),
        Some(creator) if creator.disabled => return Ok(Err(Refusal::Invalid)),
        _ => {}
    }
    let actor = token_actor(actor, &token);
    if !token.allowed_cidrs.is_empty()
        && !token
            .allowed_cidrs
            .iter()
            .filter_map(|c| Cidr::parse(c))
            .any(|c| c.contains(ip))
    {
        let event = Event::ok(
            Action::TokenRefused,
            Some(format!("token:{}", token.id)),
            Some(&token.scope()),
        )
        .outcome(Outcome::Denied);
        ctx.store.record_event(&actor, event, ctx.now)?;
        return Ok(Err(Refusal::Network));
    }
    let ip_text = ip.to_string();
    let stale = token
        .last_used_at
        .is_none_or(|t| ctx.now - t >= TOUCH_EVERY_SECS)
        || token.last_used_ip.as_deref() != Some(ip_text.as_str());
    if stale {
        ctx.store.touch_token(&hash, &ip_text, &actor, ctx.now)?;
    }
    Ok(Ok(token))
}

/// The audit actor of a request made with `token`: `token:<id>`, named by the token's name.
pub fn token_actor(base: &Actor, token: &TokenRecord) -> Actor {
    Actor {
        user_id: Some(format!("token:{}", token.id)),
        actor_name: Some(token.name.clone()),
        ..base.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn cidrs_parse_and_contain() {
        let net = Cidr::parse("10.0.0.0/8").unwrap();
        assert!(net.contains(ip("10.200.3.4")));
        assert!(!net.contains(ip("11.0.0.1")));
        assert!(net.contains(ip("::ffff:10.1.2.3")));
        assert!(!net.contains(ip("2001:db8::1")));
        let host = Cidr::parse("192.0.2.7").unwrap();
        assert!(host.contains(ip("192.0.2.7")) && !host.contains(ip("192.0.2.8")));
        let any = Cidr::parse("0.0.0.0/0").unwrap();
        assert!(any.contains(ip("203.0.113.1")));
        let v6 = Cidr::parse("2001:db8::/32").unwrap();
        assert!(v6.contains(ip("2001:db8:1::1")) && !v6.contains(ip("2001:db9::1")));
        for bad in ["10.0.0.0/33", "10.0.0/8", "x", "", "::/129", "10.0.0.0/-1"] {
            assert_eq!(Cidr::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn permission_lists() {
        let l = |v: &[&str]| permissions(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(l(&["read"]).unwrap(), (false, false));
        assert_eq!(l(&["read", "write", "share"]).unwrap(), (true, true));
        assert!(l(&["write"]).is_err());
        assert!(l(&["read", "admin"]).is_err());
    }
}
