//! The domain rules of accounts and share links, between HTTP and storage.
//!
//! `server` parses a request, calls one function here and renders its result; this layer
//! decides: the password policy, the login throttle and the dummy hash for unknown names,
//! session creation, how a share link's token, salt and key are made and its snapshot sealed,
//! and what a redemption attempt comes to. It never sees an HTTP type (no rouille, no status
//! codes), so unit tests drive these rules against a temp store without a socket.
//!
//! Arrows: `server -> service -> {store, crypto}`; nothing here imports `server`. Failures
//! are one [`ServiceError`], turned into an API error in one place (`server/error.rs`).

pub mod access;
pub mod accounts;
pub mod anonymous_audit;
pub mod login_throttle;
pub mod operator;
pub mod passwords;
pub mod shares;
pub mod teams;
pub mod tokens;

use std::time::Instant;

use crate::crypto::CryptoError;
use crate::crypto::password::PasswordHasher;
use crate::store::{Store, StoreError};

pub use passwords::PolicyError;

/// What every service call works with: the open store, the bounded password hasher, what
/// anonymous requests may still cost the audit trail, and the time of the request.
pub struct Ctx<'a> {
    pub store: &'a Store,
    pub hasher: &'a PasswordHasher,
    pub anonymous: &'a anonymous_audit::AnonymousAudit,
    /// Wall-clock time in Unix seconds, for records and expiry.
    pub now: i64,
    /// Monotonic time, for throttles (immune to clock changes).
    pub tick: Instant,
}

/// A domain rule refused the call, or a layer below failed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The input breaks a rule; the message names the field and the rule, never the value.
    #[error("{0}")]
    Invalid(&'static str),
    #[error(transparent)]
    Policy(#[from] PolicyError),
    #[error("registration is closed on this server; ask an administrator for an account")]
    RegistrationClosed,
    #[error("username already exists")]
    UsernameTaken,
    /// Unknown name and wrong password alike.
    #[error("wrong username or password")]
    BadCredentials,
    /// A re-entered password (password change, account deletion) is wrong. The session is
    /// fine, so this is not `BadCredentials` (a 401 would tell clients to log in again).
    #[error("the password is wrong")]
    WrongPassword,
    #[error("too many failed logins for this name; retry in {retry_after_secs} s")]
    Throttled { retry_after_secs: u64 },
    /// A stored share snapshot (or a new one) does not (de)serialize.
    #[error("share snapshot is not valid JSON")]
    Snapshot(#[source] serde_json::Error),
    /// The caller may see the thing but not do this to it (a role or token permission is
    /// missing, or the caller is a service token on a people-only endpoint).
    #[error("{0}")]
    Forbidden(&'static str),
    /// A team must keep an admin.
    #[error("a team needs at least one admin: make another member admin first")]
    LastAdmin,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// An operator disabled the account (`admin users disable`).
    #[error("this account is disabled; ask an administrator")]
    AccountDisabled,
    /// The right password, but a one-time one from `admin users reset-password`: it only
    /// serves to set a new password.
    #[error("this password must be changed before logging in")]
    PasswordChangeRequired,
}
