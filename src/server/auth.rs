//! Bearer-token authentication: `Authorization: Bearer <token>` -> the caller's user id.

use rouille::Request;

use super::{ApiError, App};
use crate::crypto::token::token_hash;

/// Longest token accepted; anything longer is not one of ours and is not worth hashing.
const MAX_TOKEN_LEN: usize = 256;

/// The raw bearer token of the request, if it has a well-formed one.
pub fn bearer(req: &Request) -> Option<&str> {
    let value = req.header("Authorization")?.trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && token.len() <= MAX_TOKEN_LEN)
        .then_some(token)
}

/// The id of the authenticated user; 401 for a missing, unknown or expired token.
pub fn user_id(req: &Request, app: &App) -> Result<String, ApiError> {
    let token = bearer(req).ok_or(ApiError::Unauthorized)?;
    let session = app
        .store()?
        .find_session(&token_hash(token), app.now())?
        .ok_or(ApiError::Unauthorized)?;
    Ok(session.user_id)
}
