//! `/register`, `/login`, `/logout`: parse, call `service::accounts`, render.

use rouille::{Request, Response};

use super::{ApiError, App, auth, body, respond, validate};
use crate::api::{Credentials, LoginResponse, User};
use crate::timefmt::rfc3339;

/// `POST /register`.
pub fn register(req: &Request, app: &App) -> Result<Response, ApiError> {
    // A closed server says so before reading anything.
    app.accounts.check_registration_open()?;
    let creds: Credentials = body::read_json(req)?;
    validate::username(&creds.username)?;
    let store = app.store()?;
    let user = app.accounts.register(
        &app.ctx(&store),
        &auth::anonymous(req, app),
        creds.username,
        &creds.password,
    )?;
    Ok(respond::json(
        201,
        &User {
            id: user.id.into_string(),
            username: user.username,
            created_at: rfc3339(user.created_at),
        },
    ))
}

/// `POST /login`. Unknown user and wrong password are the same 401, after the same work.
pub fn login(req: &Request, app: &App) -> Result<Response, ApiError> {
    let creds: Credentials = body::read_json(req)?;
    let store = app.store()?;
    let session = app.accounts.login(
        &app.ctx(&store),
        &auth::anonymous(req, app),
        &creds.username,
        &creds.password,
    )?;
    Ok(respond::json(
        200,
        &LoginResponse {
            token: session.token,
            token_type: "Bearer".into(),
            expires_at: rfc3339(session.session.expires_at),
        },
    ))
}

/// `POST /logout`: revokes the presented token.
pub fn logout(req: &Request, app: &App) -> Result<Response, ApiError> {
    let caller = auth::caller(req, app)?;
    let token = auth::bearer(req).ok_or(ApiError::Unauthorized)?;
    let store = app.store()?;
    app.accounts
        .logout(&app.ctx(&store), &caller.actor, token)?;
    Ok(respond::no_content())
}
