//! `/tokens` and `/tokens/{id}`: service tokens, made, listed and revoked by people only
//! (`auth::caller` answers a service token with 403). The token is in the 201 answer once
//! and never again.

use rouille::{Request, Response};

use super::{ApiError, App, auth, body, respond};
use crate::api::{CreateToken, TokenCreated, TokenInfo, TokenList};
use crate::ids::TokenId;
use crate::service::tokens::{self as service, TokenRequest};
use crate::store::{Store, TokenRecord};
use crate::timefmt::rfc3339;

fn permissions(t: &TokenRecord) -> Vec<String> {
    let mut p = vec!["read".to_string()];
    if t.write {
        p.push("write".into());
    }
    if t.share {
        p.push("share".into());
    }
    p
}

fn info(store: &Store, t: TokenRecord) -> Result<TokenInfo, ApiError> {
    let team = match &t.team {
        Some(id) => store.team(id)?.map(|team| team.name),
        None => None,
    };
    let created_by = store
        .find_user_by_id(&t.created_by)?
        .map_or_else(|| t.created_by.to_string(), |u| u.username);
    Ok(TokenInfo {
        permissions: permissions(&t),
        id: t.id.into_string(),
        name: t.name,
        team,
        prefix: t.prefix,
        allowed_cidrs: t.allowed_cidrs,
        created_by,
        created_at: rfc3339(t.created_at),
        expires_at: rfc3339(t.expires_at),
        last_used_at: t.last_used_at.map(rfc3339),
        last_used_ip: t.last_used_ip,
    })
}

/// `POST /tokens`.
pub fn create(req: &Request, app: &App) -> Result<Response, ApiError> {
    let caller = auth::caller(req, app)?;
    let input: CreateToken = body::read_json(req)?;
    let store = app.store()?;
    let new = service::create(
        &app.ctx(&store),
        &caller.actor,
        &caller.user_id,
        TokenRequest {
            name: input.name,
            team: input.team,
            permissions: input.permissions.unwrap_or_else(|| vec!["read".into()]),
            prefix: input.prefix,
            expires_in: input.expires_in,
            allowed_cidrs: input.allowed_cidrs.unwrap_or_default(),
        },
    )?;
    let r = new.record;
    Ok(respond::json(
        201,
        &TokenCreated {
            permissions: permissions(&r),
            id: r.id.into_string(),
            name: r.name,
            token: new.token,
            team: new.team_name,
            prefix: r.prefix,
            expires_at: rfc3339(r.expires_at),
        },
    ))
}

/// `GET /tokens[?team=T]`: the caller's personal tokens, or a team's (team admins).
pub fn list(req: &Request, app: &App) -> Result<Response, ApiError> {
    let caller = auth::caller(req, app)?;
    let team = req.get_param("team");
    let store = app.store()?;
    let tokens = service::list(&app.ctx(&store), &caller.user_id, team.as_deref())?
        .into_iter()
        .map(|t| info(&store, t))
        .collect::<Result<_, _>>()?;
    Ok(respond::json(200, &TokenList { tokens }))
}

/// `DELETE /tokens/{id}`: revoked for the very next request.
pub fn revoke(req: &Request, app: &App, id: &str) -> Result<Response, ApiError> {
    let caller = auth::caller(req, app)?;
    let store = app.store()?;
    service::revoke(
        &app.ctx(&store),
        &caller.actor,
        &caller.user_id,
        &TokenId::new(id),
    )?;
    Ok(respond::no_content())
}
