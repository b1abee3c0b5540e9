//! The caller's own account: `GET /account`, `PUT /account/email` (the address security
//! alerts are mailed to), `PUT /account/password`, `DELETE /account`, and the caller's
//! sessions under `/account/sessions`. Only the account's owner sees or changes any of it;
//! another user's session id is the same 404 as a made-up one.

use rouille::{Request, Response};

use super::{ApiError, App, auth, body, respond, validate};
use crate::api::{
    Account, ChangePassword, DeleteAccount, SessionInfo, SessionList, SessionsRevoked, SetEmail,
};
use crate::store::UserRecord;
use crate::timefmt::rfc3339;

fn account(user: UserRecord) -> Account {
    Account {
        id: user.id.into_string(),
        username: user.username,
        email: user.email,
    }
}

/// `GET /account`.
pub fn show(req: &Request, app: &App) -> Result<Response, ApiError> {
    let caller = auth::caller(req, app)?;
    let user = app
        .store()?
        .find_user_by_id(&caller.user_id)?
        .ok_or(ApiError::Unauthorized)?;
    Ok(respond::json(200, &account(user)))
}

/// `PUT /account/email` with `{"email": "..."}`; `null` or `""` clears it.
pub fn set_email(req: &Request, app: &App) -> Result<Response, ApiError> {
    let caller = auth::caller(req, app)?;
    let input: SetEmail = body::read_json(req)?;
    let email = input.email.filter(|e| !e.is_empty());
    if let Some(e) = &email {
        validate::email(e)?;
    }
    let user =
        app.store()?
            .set_email(&caller.user_id, email.as_deref(), &caller.actor, app.now())?;
    Ok(respond::json(200, &account(user)))
}

/// `PUT /account/password` with `{"current_password", "new_password"}`: 204, and every other
/// session of the account is revoked (this one stays). Without a session, `{"username",
/// "current_password", "new_password"}` replaces a one-time password an operator set (login
/// refuses those until they are replaced); every session is revoked then.
pub fn change_password(req: &Request, app: &App) -> Result<Response, ApiError> {
    if auth::bearer(req).is_none() {
        // A password guess like a login's, so it draws on the same per-address budget as
        // `/login` (the per-username throttle applies too, in the service).
        super::router::limit_class(req, app, super::ratelimit::Class::Auth)?;
        // Without a session and without a username this is an unauthenticated call like
        // any other: 401, whatever the body holds.
        let input: Option<ChangePassword> = body::read_optional_json(req).ok().flatten();
        let Some((input, username)) = input.and_then(|i| {
            let name = i.username.clone()?;
            Some((i, name))
        }) else {
            return Err(ApiError::Unauthorized);
        };
        let username = username.as_str();
        let store = app.store()?;
        app.accounts.change_forced_password(
            &app.ctx(&store),
            &auth::anonymous(req, app),
            username,
            &input.current_password,
            &input.new_password,
        )?;
        return Ok(respond::no_content());
    }
    let caller = auth::caller(req, app)?;
    let input: ChangePassword = body::read_json(req)?;
    let store = app.store()?;
    app.accounts.change_password(
        &app.ctx(&store),
        &caller.actor,
        &caller.user_id,
        &caller.token_hash,
        &input.current_password,
        &input.new_password,
    )?;
    Ok(respond::no_content())
}

/// `DELETE /account` with `{"password"}`: 204 once the account and all it owns are gone.
pub fn delete(req: &Request, app: &App) -> Result<Response, ApiError> {
    let caller = auth::caller(req, app)?;
    let input: DeleteAccount = body::read_json(req)?;
    let store = app.store()?;
    app.accounts.delete_account(
        &app.ctx(&store),
        &caller.actor,
        &caller.user_id,
        &input.password,
    )?;
    Ok(respond::no_content())
}

/// `GET /account/sessions`: the caller's live sessions, oldest first.
pub fn sessions(req: &Request, app: &App) -> Result<Response, ApiError> {
    let caller = auth::caller(req, app)?;
    let store = app.store()?;
    let listed = app.accounts.sessions(&app.ctx(&store), &caller.user_id)?;
    let sessions = listed
        .into_iter()
        .map(|l| SessionInfo {
            current: l.token_hash == caller.token_hash,
            id: l.id,
            created_at: rfc3339(l.session.created_at),
            last_used_at: l.session.last_used_at.map(rfc3339),
            expires_at: rfc3339(l.session.expires_at),
            ip: l.session.ip,
            user_agent: l.session.user_agent,
        })
        .collect();
    Ok(respond::json(200, &SessionList { sessions }))
}

/// `DELETE /account/sessions/{id}`: revokes one of the caller's sessions (this one too).
pub fn revoke_session(req: &Request, app: &App, id: &str) -> Result<Response, ApiError> {
    let caller = auth::caller(req, app)?;
    let store = app.store()?;
    app.accounts
        .revoke_session(&app.ctx(&store), &caller.actor, &caller.user_id, id)?;
    Ok(respond::no_content())
}

/// `POST /account/sessions/revoke-others`: revokes every session but this one.
pub fn revoke_other_sessions(req: &Request, app: &App) -> Result<Response, ApiError> {
    let caller = auth::caller(req, app)?;
    let store = app.store()?;
    let revoked = app.accounts.revoke_other_sessions(
        &app.ctx(&store),
        &caller.actor,
        &caller.user_id,
        &caller.token_hash,
    )?;
    Ok(respond::json(200, &SessionsRevoked { revoked }))
}
