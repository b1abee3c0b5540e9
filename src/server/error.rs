//! `ApiError`: every failure a handler can return, turned into a JSON response in exactly
//! one place. The public message is separate from the logged cause, so internals (paths,
//! database errors) never reach a client.

use rouille::Response;

use crate::api::{ErrorBody, MissingRefsBody};
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
    /// 404 naming the references of a batch read that do not resolve (names the caller
    /// sent, already validated, so echoing them reveals nothing).
    MissingRefs(Vec<String>),
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
            ApiError::NotFound | ApiError::MissingRefs(_) => 404,
            ApiError::MethodNotAllowed(_) => 405,
            ApiError::Conflict(_) => 409,
            ApiError::PayloadTooLarge => 413,
            ApiError::RequestTimeout => 408,
            ApiError::UnsupportedMediaType => 415,
            ApiError::TooManyRequests { .. } => 429,
            ApiError::Internal(_) => 500,
            ApiError::Unavailable | ApiError::AuditUnavailable(_) => 503,
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
            ApiError::Unavailable | ApiError::AuditUnavailable(_) => "unavailable",
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
            ApiError::AuditUnavailable(_) => {
                "the audit trail cannot be written, so nothing was done; retry later".into()
            }
            ApiError::Internal(_) => "internal server error".into(),
        }
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
            _ => {}
        }
        resp
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::NotFound,
            StoreError::Conflict(what) => ApiError::Conflict(format!("{what} already exists")),
            StoreError::Crypto(c) => c.into(),
            StoreError::AuditUnavailable(cause) => ApiError::AuditUnavailable(cause),
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
