//! `ApiError`: every failure a handler can return, turned into a JSON response in exactly
//! one place. The public message is separate from the logged cause, so internals (paths,
//! database errors) never reach a client.

use rouille::Response;

use crate::api::ErrorBody;
use crate::crypto::CryptoError;
use crate::store::StoreError;

/// A failed request.
#[derive(Debug)]
pub enum ApiError {
    BadRequest(String),
    Unauthorized,
    /// 403 `wrong_passphrase`: a share link's passphrase is missing or wrong.
    WrongPassphrase(String),
    NotFound,
    MethodNotAllowed(&'static str),
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
    /// is logged, never sent.
    AuditUnavailable(String),
    /// The database cannot take writes now (disk full, I/O error): nothing of the request
    /// was applied. The cause is logged, never sent.
    StorageUnavailable(String),
    /// 403 `forbidden`: the server refuses this action (e.g. registration is closed).
    Forbidden(String),
    /// The cause is logged, never sent.
    Internal(String),
}

impl ApiError {
    /// The HTTP status code.
    pub fn status(&self) -> u16 {
        match self {
            ApiError::BadRequest(_) => 400,
            ApiError::Unauthorized => 401,
            ApiError::Forbidden(_) => 403,
            ApiError::WrongPassphrase(_) => 403,
            ApiError::NotFound => 404,
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
        }
    }

    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad_request",
            ApiError::Unauthorized => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::WrongPassphrase(_) => "wrong_passphrase",
            ApiError::NotFound => "not_found",
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
            ApiError::MethodNotAllowed(allow) => format!("method not allowed; use {allow}"),
            ApiError::PayloadTooLarge => "request body is larger than 1 MiB".into(),
            ApiError::RequestTimeout => "the request body arrived too slowly".into(),
            ApiError::UnsupportedMediaType => "request body must be application/json".into(),
            ApiError::TooManyRequests { retry_after_secs } => {
                format!("too many requests; retry in {retry_after_secs} s")
            }
            ApiError::Unavailable => "the server is shutting down or cannot serve this now".into(),
            ApiError::AuditUnavailable(_) => {
                "the audit trail cannot be written, so nothing was done; retry later".into()
            }
            ApiError::StorageUnavailable(_) => {
                "the server cannot write to its database now, so nothing was done; retry later"
                    .into()
            }
            ApiError::Internal(_) => "internal server error".into(),
        }
    }

    /// The JSON response for this error.
    pub fn into_response(self) -> Response {
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

/// Seconds a client is asked to wait after a failed commit.
const STORAGE_RETRY_AFTER_SECS: &str = "5";

/// `e` and its causes, for the log.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cause = c.source();
    }
    out
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::NotFound,
            StoreError::Conflict(what) => ApiError::Conflict(format!("{what} already exists")),
            StoreError::Crypto(c) => c.into(),
            StoreError::AuditUnavailable(cause) => ApiError::AuditUnavailable(cause),
            StoreError::Batch(cause) if matches!(&*cause, StoreError::AuditUnavailable(_)) => {
                ApiError::AuditUnavailable(cause.to_string())
            }
            other if other.is_unavailable() => ApiError::StorageUnavailable(error_chain(&other)),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<CryptoError> for ApiError {
    fn from(e: CryptoError) -> Self {
        match e {
            CryptoError::HasherBusy => ApiError::TooManyRequests {
                retry_after_secs: 1,
            },
            other => ApiError::Internal(other.to_string()),
        }
    }
}
