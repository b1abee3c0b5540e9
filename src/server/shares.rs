//! Owner side of share links: create, list, revoke.

use rouille::{Request, Response};
use zeroize::Zeroizing;

use super::{ApiError, App, auth, body, respond, validate};
use crate::api::{CreateShare, ShareCreated, ShareInfo, ShareList};
use crate::crypto::share;
use crate::crypto::token;
use crate::sensitive::{ExposeSecret, SecretString};
use crate::store::{Action, ShareRecord};
use crate::timefmt::rfc3339;

/// Link lifetime bounds and default, in seconds.
pub const EXPIRES_IN_DEFAULT: u64 = 3600;
pub const EXPIRES_IN_RANGE: std::ops::RangeInclusive<u64> = 60..=604_800;
/// View-count bounds and default.
pub const MAX_VIEWS_DEFAULT: u32 = 1;
pub const MAX_VIEWS_RANGE: std::ops::RangeInclusive<u32> = 1..=100;

/// What the snapshot holds: the secret's name and value at share time.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Snapshot {
    pub name: String,
    pub value: String,
}

fn info(s: &ShareRecord) -> ShareInfo {
    ShareInfo {
        id: s.id.clone(),
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
    let user = caller.user_id.clone();
    let input: CreateShare = body::read_optional_json(req)?.unwrap_or_default();
    let expires_in = input.expires_in.unwrap_or(EXPIRES_IN_DEFAULT);
    if !EXPIRES_IN_RANGE.contains(&expires_in) {
        return Err(ApiError::BadRequest(
            "expires_in must be between 60 and 604800 seconds".into(),
        ));
    }
    let max_views = input.max_views.unwrap_or(MAX_VIEWS_DEFAULT);
    if !MAX_VIEWS_RANGE.contains(&max_views) {
        return Err(ApiError::BadRequest(
            "max_views must be between 1 and 100".into(),
        ));
    }
    if let Some(p) = &input.passphrase {
        validate::share_passphrase(p)?;
    }
    let store = app.store()?;
    // The snapshot is taken without a `secret.read` event: `share.create` records it.
    let (secret, value) = match store.peek_secret(&user, secret_id) {
        Err(crate::store::StoreError::NotFound) => {
            return Err(store
                .record_miss(&caller.actor, Action::ShareCreate, secret_id, app.now())
                .into());
        }
        other => other?,
    };

    let tok = share::new_token()?;
    let tok_text = tok.expose_secret();
    let salt = input
        .passphrase
        .as_ref()
        .map(|_| share::new_salt())
        .transpose()?;
    let stretched = match (&input.passphrase, &salt) {
        (Some(p), Some(s)) => Some(app.hasher.stretch(p, s)?),
        _ => None,
    };
    let key = share::snapshot_key(tok_text, stretched.as_deref());
    let now = app.now();
    let record = ShareRecord {
        id: token::new_id()?,
        secret_id: secret.id.clone(),
        owner: user.clone(),
        created_at: now,
        expires_at: now + expires_in as i64,
        max_views,
        views_left: max_views,
        passphrase_salt: salt,
        wrong_passphrases: 0,
    };
    let plaintext = Zeroizing::new(
        serde_json::to_vec(&Snapshot {
            name: secret.name,
            value: value.expose_secret().to_string(),
        })
        .map_err(|e| ApiError::Internal(e.to_string()))?,
    );
    let sealed = share::seal_snapshot(&key, &record.id, &plaintext)?;
    store.create_share(
        &user,
        &share::lookup(tok_text),
        &record,
        &sealed,
        &caller.actor,
    )?;
    let url = SecretString::from(format!("{}/share/{tok_text}", app.public_url()));
    Ok(respond::json(
        201,
        &ShareCreated {
            id: record.id.clone(),
            token: tok,
            url,
            expires_at: rfc3339(record.expires_at),
            max_views,
            passphrase_required: record.passphrase_salt.is_some(),
        },
    ))
}

/// `GET /secrets/{id}/shares`: active links, never their tokens.
pub fn list(req: &Request, app: &App, secret_id: &str) -> Result<Response, ApiError> {
    let caller = auth::caller(req, app)?;
    let user = caller.user_id.clone();
    let shares = app.store()?.list_shares(&user, secret_id, app.now())?;
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
    let user = caller.user_id.clone();
    app.store()?
        .revoke_share(&user, share_id, &caller.actor, app.now())?;
    Ok(respond::no_content())
}
