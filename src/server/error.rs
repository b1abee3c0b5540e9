//! `ApiError`: every failure a handler can return, turned into a JSON response in exactly
//! one place. The public message is separate from the logged cause, so internals (paths,
//! database errors) never reach a client; the cause keeps its type and its `source()` chain,
//! which [`ApiError::log_cause`] writes out whole.

use std::error::Error;
use std::fmt;

use rouille::Response;

use crate::api::{ErrorBody, MissingRefsBody};
use crate::crypto::CryptoError;
use crate::service::ServiceError;
use crate::store::StoreError;

/// A failed request.
#[derive(Debug)]
pub enum ApiError {
    BadRequest(String),
    Unauthorized,
    /// 403 `wrong_passphrase`: a share link's passphrase is missing or wrong.
    WrongPassphrase(String),
    NotFound,
    /// 404 naming the references of a batch read that do not resolve (names the caller
    /// sent, already validated, so echoing them reveals nothing).
    MissingRefs(Vec<String>),
    /// 405, with the `Allow` list of the route.
    MethodNotAllowed(String),
    Conflict(String),
    PayloadTooLarge,
    /// 408: the request body did not arrive in time.
    RequestTimeout,
    UnsupportedMediaType,
    TooManyRequests {
        retry_after_secs: u64,
    },
    Unavailable,
    /// The audit record could not be written, so the operation did not happen. The cause
    /// (a `StoreError::AuditUnavailable`) is logged, never sent.
    AuditUnavailable(StoreError),
    /// The database cannot take writes now (disk full, I/O error): nothing of the request
    /// was applied. 503 with `Retry-After`; the cause is logged, never sent.
    StorageUnavailable(StoreError),
    /// 403 `forbidden`: the server refuses this action (e.g. registration is closed).
    Forbidden(String),
    /// The cause is logged, never sent.
    Internal(InternalError),
    /// 403 `password_change_required`: the password is a one-time password from an
    /// operator; it only serves to set a new one (`PUT /account/password`).
    PasswordChangeRequired,
}

/// Why a request failed inside the server.
#[derive(Debug, thiserror::Error)]
pub enum InternalError {
    #[error(transparent)]
    Store(StoreError),
    #[error(transparent)]
    Crypto(CryptoError),
    #[error(transparent)]
    Service(ServiceError),
    #[error("handler panicked")]
    Panic,
}

impl fmt::Display for ApiError {
    /// The public message: what a client may see.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.public_message())
    }
}

impl Error for ApiError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            ApiError::Internal(cause) => Some(cause),
            ApiError::AuditUnavailable(cause) | ApiError::StorageUnavailable(cause) => Some(cause),
            _ => None,
        }
    }
}

impl ApiError {
    /// The HTTP status code.
    pub fn status(&self) -> u16 {
        match self {
            ApiError::BadRequest(_) => 400,
            ApiError::Unauthorized => 401,
            ApiError::Forbidden(_) => 403,
            ApiError::WrongPassphrase(_) => 403,
            ApiError::NotFound | ApiError::MissingRefs(_) => 404,
            ApiError::MethodNotAllowed(_) => 405,
            ApiError::Conflict(_) => 409,
            ApiError::PayloadTooLarge => 413,
            ApiError::RequestTimeout => 408,
            ApiError::UnsupportedMediaType => 415,
            ApiError::TooManyRequests { .. } => 429,
            ApiError::Internal(_) => 500,
            ApiError::Unavailable
            | ApiError::AuditUnavailable(_)
            | ApiError::StorageUnavailable(_) => 503,
            ApiError::PasswordChangeRequired => 403,
        }
    }

    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad_request",
            ApiError::Unauthorized => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::WrongPassphrase(_) => "wrong_passphrase",
            ApiError::NotFound | ApiError::MissingRefs(_) => "not_found",
            ApiError::MethodNotAllowed(_) => "method_not_allowed",
            ApiError::Conflict(_) => "conflict",
            ApiError::PayloadTooLarge => "payload_too_large",
            ApiError::RequestTimeout => "request_timeout",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::TooManyRequests { .. } => "too_many_requests",
            ApiError::Internal(_) => "internal",
            ApiError::Unavailable
            | ApiError::AuditUnavailable(_)
            | ApiError::StorageUnavailable(_) => "unavailable",
            ApiError::PasswordChangeRequired => "password_change_required",
        }
    }

    /// The message a client may see.
    pub fn public_message(&self) -> String {
        match self {
            ApiError::BadRequest(m)
            | ApiError::Conflict(m)
            | ApiError::WrongPassphrase(m)
            | ApiError::Forbidden(m) => m.clone(),
            ApiError::Unauthorized => "missing, invalid or expired credentials".into(),
            ApiError::NotFound => "not found".into(),
            ApiError::MissingRefs(refs) => {
                let list: Vec<String> = refs.iter().map(|r| format!("`{r}`")).collect();
                format!("no such secret: {}", list.join(", "))
            }
            ApiError::MethodNotAllowed(allow) => format!("method not allowed; use {allow}"),
            ApiError::PayloadTooLarge => "request body is larger than 1 MiB".into(),
            ApiError::RequestTimeout => "the request body arrived too slowly".into(),
            ApiError::UnsupportedMediaType => "request body must be application/json".into(),
            ApiError::TooManyRequests { retry_after_secs } => {
                format!("too many requests; retry in {retry_after_secs} s")
            }
            ApiError::Unavailable => "the server is shutting down or cannot serve this now".into(),
            ApiError::StorageUnavailable(_) => {
                "the server cannot write to its database now, so nothing was done; retry later"
                    .into()
            }
            ApiError::AuditUnavailable(_) => {
                "the audit trail cannot be written, so nothing was done; retry later".into()
            }
            ApiError::Internal(_) => "internal server error".into(),
            ApiError::PasswordChangeRequired => {
                "this password was set by an administrator and must be changed before logging in: set a new one with PUT /account/password".into()
            }
        }
    }

    /// For a failure inside the server, its cause with every `source()` below it, for the
    /// log (never for the client); `None` for errors that are the client's business.
    pub fn log_cause(&self) -> Option<String> {
        let cause = self.source()?;
        let mut line = cause.to_string();
        let mut next = cause.source();
        while let Some(e) = next {
            let text = e.to_string();
            // A message that already ends with its source's text is not repeated.
            if !line.ends_with(&text) {
                line.push_str(": ");
                line.push_str(&text);
            }
            next = e.source();
        }
        Some(line)
    }

    /// The JSON response for this error.
    pub fn into_response(self) -> Response {
        if let ApiError::MissingRefs(refs) = &self {
            let body = MissingRefsBody {
                error: self.code().to_string(),
                message: self.public_message(),
                missing: refs.clone(),
            };
            return super::respond::json(self.status(), &body);
        }
        let body = ErrorBody {
            error: self.code().to_string(),
            message: self.public_message(),
        };
        let mut resp = super::respond::json(self.status(), &body);
        match self {
            ApiError::Unauthorized => {
                resp = resp.with_additional_header("WWW-Authenticate", "Bearer");
            }
            ApiError::MethodNotAllowed(allow) => {
                resp = resp.with_additional_header("Allow", allow);
            }
            ApiError::TooManyRequests { retry_after_secs } => {
                resp = resp.with_additional_header("Retry-After", retry_after_secs.to_string());
            }
            ApiError::StorageUnavailable(_) => {
                resp = resp.with_additional_header("Retry-After", STORAGE_RETRY_AFTER_SECS);
            }
            _ => {}
        }
        resp
    }
}

/// Seconds a client is asked to wait after a commit failed.
const STORAGE_RETRY_AFTER_SECS: &str = "5";

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::NotFound,
            e @ StoreError::LastTeamAdmin => ApiError::Conflict(e.to_string()),
            StoreError::Conflict(what) => ApiError::Conflict(format!("{what} already exists")),
            StoreError::Crypto(c) => c.into(),
            e @ StoreError::AuditUnavailable(_) => ApiError::AuditUnavailable(e),
            StoreError::Batch(cause) if matches!(&*cause, StoreError::AuditUnavailable(_)) => {
                ApiError::AuditUnavailable(StoreError::Batch(cause))
            }
            e if e.is_unavailable() => ApiError::StorageUnavailable(e),
            other => ApiError::Internal(InternalError::Store(other)),
        }
    }
}

impl From<CryptoError> for ApiError {
    fn from(e: CryptoError) -> Self {
        match e {
            CryptoError::HasherBusy => ApiError::TooManyRequests {
                retry_after_secs: 1,
            },
            other => ApiError::Internal(InternalError::Crypto(other)),
        }
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Invalid(m) => ApiError::BadRequest(m.into()),
            ServiceError::Policy(p) => ApiError::BadRequest(p.to_string()),
            ServiceError::RegistrationClosed => ApiError::Forbidden(e.to_string()),
            ServiceError::UsernameTaken => ApiError::Conflict(e.to_string()),
            ServiceError::BadCredentials => ApiError::Unauthorized,
            ServiceError::WrongPassword => ApiError::Forbidden(e.to_string()),
            ServiceError::Throttled { retry_after_secs } => {
                ApiError::TooManyRequests { retry_after_secs }
            }
            e @ ServiceError::Snapshot(_) => ApiError::Internal(InternalError::Service(e)),
            ServiceError::Forbidden(m) => ApiError::Forbidden(m.into()),
            ServiceError::LastAdmin => ApiError::Conflict(e.to_string()),
            ServiceError::Store(s) => s.into(),
            ServiceError::Crypto(c) => c.into(),
            ServiceError::AccountDisabled => ApiError::Forbidden(e.to_string()),
            ServiceError::PasswordChangeRequired => ApiError::PasswordChangeRequired,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_causes_keep_their_type_and_never_reach_the_client() {
        let e = ApiError::from(StoreError::Corrupt("table `secrets` is gone".into()));
        assert!(matches!(
            e,
            ApiError::Internal(InternalError::Store(StoreError::Corrupt(_)))
        ));
        assert_eq!(e.public_message(), "internal server error");
        assert_eq!(e.to_string(), "internal server error");
        assert_eq!(
            e.log_cause().as_deref(),
            Some("database record is corrupt: table `secrets` is gone")
        );
        let e = ApiError::from(StoreError::AuditUnavailable(
            "/x/audit.jsonl: disk full".into(),
        ));
        assert_eq!((e.status(), e.code()), (503, "unavailable"));
        assert!(!e.public_message().contains("audit.jsonl"));
        assert_eq!(
            e.log_cause().as_deref(),
            Some("audit trail unavailable: /x/audit.jsonl: disk full")
        );
        assert_eq!(ApiError::NotFound.log_cause(), None);
    }

    #[test]
    fn a_write_the_host_could_not_make_is_503_with_retry_after_not_500() {
        for e in [
            StoreError::Closed,
            StoreError::Batch(std::sync::Arc::new(StoreError::Closed)),
        ] {
            let e = ApiError::from(e);
            assert_eq!((e.status(), e.code()), (503, "unavailable"));
            let resp = e.into_response();
            let retry = resp
                .headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("Retry-After"));
            assert!(retry.is_some_and(|(_, v)| v == "5"));
        }
    }

    #[test]
    fn the_logged_cause_walks_the_whole_chain() {
        let json = serde_json::from_slice::<u8>(b"{").unwrap_err();
        let json_text = json.to_string();
        let e = ApiError::from(ServiceError::Snapshot(json));
        assert_eq!(e.status(), 500);
        assert_eq!(
            e.log_cause().unwrap(),
            format!("share snapshot is not valid JSON: {json_text}")
        );
        let e = ApiError::from(CryptoError::PasswordHash("stored hash is malformed".into()));
        assert_eq!(
            e.log_cause().as_deref(),
            Some("password hashing failed: stored hash is malformed")
        );
    }
}
