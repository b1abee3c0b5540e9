//! Owner side of share links: create, list, revoke. The link rules live in
//! `service::shares`; this file parses and renders.

use crate::ids::{Owner, SecretId, ShareId};
use rouille::{Request, Response};

use super::{ApiError, App, auth, body, respond, teams};
use crate::api::{CreateShare, ShareCreated, ShareInfo, ShareList};
use crate::sensitive::{ExposeSecret, SecretString};
use crate::service::access::{self, Denial, Permission};
use crate::service::shares::{self as service, ShareRequest};
use crate::store::Action;
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
    let who = auth::principal(req, app)?;
    let input: CreateShare = body::read_optional_json(req)?.unwrap_or_default();
    let store = app.store()?;
    let id = SecretId::new(secret_id);
    let found = teams::permitted_secret(
        &store,
        app,
        &who,
        &id,
        Permission::Share,
        Some(Action::ShareCreate),
    )?;
    let new = service::create(
        &app.ctx(&store),
        &who.actor,
        &found.owner,
        &id,
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
    let who = auth::principal(req, app)?;
    let store = app.store()?;
    let id = SecretId::new(secret_id);
    let found = teams::permitted_secret(&store, app, &who, &id, Permission::Share, None)?;
    let shares = store.list_shares(&found.owner, &id, app.now())?;
    Ok(respond::json(
        200,
        &ShareList {
            shares: shares.iter().map(info).collect(),
        },
    ))
}

/// `DELETE /shares/{share_id}`: the link stops working at once.
pub fn revoke(req: &Request, app: &App, share_id: &str) -> Result<Response, ApiError> {
    let who = auth::principal(req, app)?;
    let store = app.store()?;
    let share_id = ShareId::new(share_id);
    // The link's secret decides, as for every other share endpoint.
    let decision = match store.share_owner(&share_id)? {
        None => Err(Denial::Hidden),
        Some((owner, secret_id)) => match store.secret_any_owner(&secret_id)? {
            None => Err(Denial::Hidden),
            Some(rec) => {
                access::authorize(&store, &who.principal, &owner, &rec.name, Permission::Share)?
                    .map(|()| owner)
            }
        },
    };
    let owner = match decision {
        Ok(owner) => owner,
        Err(Denial::Forbidden(why)) => return Err(ApiError::Forbidden(why.into())),
        // The empty owner string is no one's (user ids are hex, team owners `team:...`), so
        // the store audits this exactly as the miss of a link that does not exist.
        Err(Denial::Hidden) => Owner::new(""),
    };
    store.revoke_share(&owner, &share_id, &who.actor, app.now())?;
    Ok(respond::no_content())
}
