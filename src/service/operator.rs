//! What an operator does to accounts (`secretctl admin users ...`), the same whether the
//! running server does it (admin channel) or the command on the stopped server's files.
//!
//! The one-time password of a reset is made here, shown once to the operator, and stored
//! only as its hash; it lets the user do nothing but set a new password, and dies after
//! [`ONE_TIME_PASSWORD_SECS`].

use crate::crypto::password::PasswordHasher;
use crate::crypto::token;
use crate::sensitive::SecretString;
use crate::store::{Actor, Store};

use super::ServiceError;

/// How long a one-time password from a reset stays valid.
pub const ONE_TIME_PASSWORD_SECS: i64 = 24 * 60 * 60;

/// A password reset: the one-time password, to show once, and until when it is valid.
pub struct Reset {
    pub password: SecretString,
    pub expires_at: i64,
    pub sessions_revoked: usize,
}

/// Gives user `username` a fresh one-time password (256 random bits), valid for
/// [`ONE_TIME_PASSWORD_SECS`], and revokes their sessions.
pub fn reset_password(
    store: &Store,
    hasher: &PasswordHasher,
    actor: &Actor,
    username: &str,
    now: i64,
) -> Result<Reset, ServiceError> {
    let password = token::new_token("")?;
    let hash = hasher.hash(&password)?;
    let expires_at = now + ONE_TIME_PASSWORD_SECS;
    let (_, sessions_revoked) = store.reset_password(username, hash, expires_at, actor, now)?;
    Ok(Reset {
        password,
        expires_at,
        sessions_revoked,
    })
}
