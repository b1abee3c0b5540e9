//! `/register`, `/login`, `/logout`.

use std::time::Instant;

use rouille::{Request, Response};

use super::{ApiError, App, auth, body, respond, validate};
use crate::api::{Credentials, LoginResponse, User};
use crate::crypto::token::{self, SESSION_PREFIX};
use crate::sensitive::ExposeSecret;
use crate::store::{Action, Actor, Event, Outcome, Session, UserRecord};
use crate::timefmt::rfc3339;

/// `POST /register`.
pub fn register(req: &Request, app: &App) -> Result<Response, ApiError> {
    if !app.registration_open {
        return Err(ApiError::Forbidden(
            "registration is closed on this server; ask an administrator for an account".into(),
        ));
    }
    let creds: Credentials = body::read_json(req)?;
    validate::username(&creds.username)?;
    validate::new_password(&creds.username, &creds.password)?;
    let store = app.store()?;
    // Cheap early answer for a taken name; the insert below re-checks inside its transaction.
    if store.find_user_by_name(&creds.username)?.is_some() {
        return Err(ApiError::Conflict("username already exists".into()));
    }
    let user = UserRecord {
        id: token::new_id()?,
        username: creds.username,
        password_hash: app.hasher.hash(&creds.password)?,
        created_at: app.now(),
        email: None,
    };
    store.create_user(&user, &auth::anonymous(req, app))?;
    Ok(respond::json(
        201,
        &User {
            id: user.id,
            username: user.username,
            created_at: rfc3339(user.created_at),
        },
    ))
}

/// `POST /login`. Unknown user and wrong password are the same 401, after the same work.
pub fn login(req: &Request, app: &App) -> Result<Response, ApiError> {
    let creds: Credentials = body::read_json(req)?;
    // Over-long input is refused before any hashing work.
    if creds.password.expose_secret().len() > 4 * validate::PASSWORD_CHARS.end()
        || creds.username.len() > 64
    {
        return Err(ApiError::Unauthorized);
    }
    let store = app.store()?;
    let user = store.find_user_by_name(&creds.username)?;
    let actor = auth::anonymous(req, app);
    // Throttled names are refused before any hashing work.
    if let Some(refusal) = app.login_throttle.wait(&creds.username, Instant::now()) {
        if refusal.audit {
            let owner = user.as_ref().map(|u| u.id.as_str());
            let target = owner.map(|id| format!("user:{id}"));
            let event =
                Event::ok(Action::RateLimitHit, target, owner).outcome(Outcome::LoginThrottle);
            store.record_event(&actor, event, app.now())?;
        }
        return Err(ApiError::TooManyRequests {
            retry_after_secs: refusal.retry_after_secs,
        });
    }
    let ok = app.hasher.verify(
        &creds.password,
        user.as_ref().map(|u| u.password_hash.as_str()),
    )?;
    let user = match user {
        Some(u) if ok => u,
        other => {
            app.login_throttle.failed(&creds.username, Instant::now());
            // A failed login is visible to the account's owner; an unknown name is recorded
            // without it (people type passwords into the username field).
            let owner = other.map(|u| u.id);
            let target = owner.as_ref().map(|id| format!("user:{id}"));
            let event =
                Event::ok(Action::LoginFailed, target, owner.as_deref()).outcome(Outcome::Denied);
            store.record_event(&actor, event, app.now())?;
            return Err(ApiError::Unauthorized);
        }
    };
    app.login_throttle.succeeded(&creds.username);
    let now = app.now();
    let tok = token::new_token(SESSION_PREFIX)?;
    let session = Session {
        user_id: user.id.clone(),
        created_at: now,
        expires_at: now + app.session_ttl_secs,
    };
    let actor = Actor {
        user_id: Some(user.id.clone()),
        ..actor
    };
    store.create_session(&token::token_hash(tok.expose_secret()), &session, &actor)?;
    Ok(respond::json(
        200,
        &LoginResponse {
            token: tok,
            token_type: "Bearer".into(),
            expires_at: rfc3339(session.expires_at),
        },
    ))
}

/// `POST /logout`: revokes the presented token.
pub fn logout(req: &Request, app: &App) -> Result<Response, ApiError> {
    let caller = auth::caller(req, app)?;
    let token = auth::bearer(req).ok_or(ApiError::Unauthorized)?;
    app.store()?
        .delete_session(&token::token_hash(token), &caller.actor, app.now())?;
    Ok(respond::no_content())
}
