//! The caller's own account: `GET /account`, and `PUT /account/email`, the address security
//! alerts are mailed to. Only the account's owner sees or changes it.

use rouille::{Request, Response};

use super::{ApiError, App, auth, body, respond, validate};
use crate::api::{Account, SetEmail};
use crate::store::UserRecord;

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
