//! Owner side of share links: create, list, revoke. The link rules live in
//! `service::shares`; this file parses and renders.

use crate::ids::{SecretId, ShareId};
use rouille::{Request, Response};

use super::{ApiError, App, auth, body, respond};
use crate::api::{CreateShare, ShareCreated, ShareInfo, ShareList};
use crate::sensitive::{ExposeSecret, SecretString};
use crate::service::shares::{self as service, ShareRequest};
use crate::store::ShareRecord;
use crate::timefmt::rfc3339;

fn info(s: &ShareRecord) -> ShareInfo {
    ShareInfo {
        id: s.id.to_string(),
        created_at: rfc3339(s.created_at),
        expires_at: rfc3339(s.expires_at),
        max_views: s.max_views,
        views_left: s.views_left,
        passphrase_required: s.passphrase_salt.is_some(),
    }
}

/// `POST /secrets/{id}/share`.
pub fn create(req: &Request, app: &App, secret_id: &str) -> Result<Response, ApiError> {
    let caller = auth::caller(req, app)?;
    let input: CreateShare = body::read_optional_json(req)?.unwrap_or_default();
    let store = app.store()?;
    let new = service::create(
        &app.ctx(&store),
        &caller.actor,
        &caller.user_id,
        &SecretId::new(secret_id),
        ShareRequest {
            expires_in: input.expires_in,
            max_views: input.max_views,
            passphrase: input.passphrase,
        },
    )?;
    let url = SecretString::from(format!(
        "{}/share/{}",
        app.share_base(req),
        new.token.expose_secret()
    ));
    let record = new.record;
    Ok(respond::json(
        201,
        &ShareCreated {
            id: record.id.into_string(),
            token: new.token,
            url,
            expires_at: rfc3339(record.expires_at),
            max_views: record.max_views,
            passphrase_required: record.passphrase_salt.is_some(),
        },
    ))
}

/// `GET /secrets/{id}/shares`: active links, never their tokens.
pub fn list(req: &Request, app: &App, secret_id: &str) -> Result<Response, ApiError> {
    let caller = auth::caller(req, app)?;
    let shares = app
        .store()?
        .list_shares(&caller.user_id, &SecretId::new(secret_id), app.now())?;
    Ok(respond::json(
        200,
        &ShareList {
            shares: shares.iter().map(info).collect(),
        },
    ))
}

/// `DELETE /shares/{share_id}`: the link stops working at once.
pub fn revoke(req: &Request, app: &App, share_id: &str) -> Result<Response, ApiError> {
    let caller = auth::caller(req, app)?;
    app.store()?.revoke_share(
        &caller.user_id,
        &ShareId::new(share_id),
        &caller.actor,
        app.now(),
    )?;
    Ok(respond::no_content())
}
