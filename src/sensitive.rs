//! Types for secret material: values, passwords and tokens.
//!
//! They wrap `secrecy::SecretString`, so `Debug` prints `[REDACTED]`, the buffer is zeroized
//! on drop, and nothing serializes them by accident: a field that must go on the wire opts in
//! with `#[serde(serialize_with = "sensitive::expose")]`.

pub use secrecy::{ExposeSecret, SecretString};
use serde::Serializer;

/// Serializes a secret on purpose (request bodies and responses that carry the value).
pub fn expose<S: Serializer>(secret: &SecretString, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(secret.expose_secret())
}

/// Like [`expose`], for optional fields.
pub fn expose_opt<S: Serializer>(
    secret: &Option<SecretString>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match secret {
        Some(s) => serializer.serialize_str(s.expose_secret()),
        None => serializer.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_prints_the_secret() {
        let s = SecretString::from("hunter2-very-secret");
        let shown = format!("{s:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
    }
}
