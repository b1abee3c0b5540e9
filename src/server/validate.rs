//! Input format rules for usernames and secrets (the password policy is in
//! `service::passwords`). Each failure is a 400 whose message names the field and the rule,
//! never the rejected value.

use super::error::ApiError;
use crate::sensitive::{ExposeSecret, SecretString};

/// Largest secret value, in bytes of UTF-8.
pub const MAX_VALUE_BYTES: usize = 64 * 1024;

fn bad(msg: impl Into<String>) -> ApiError {
    ApiError::BadRequest(msg.into())
}

/// 3–64 characters of `[a-z0-9._-]`.
pub fn username(u: &str) -> Result<(), ApiError> {
    let ok_chars = u
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
    if !(3..=64).contains(&u.len()) || !ok_chars {
        return Err(bad(
            "username must be 3-64 characters of a-z, 0-9, '.', '_' or '-'",
        ));
    }
    Ok(())
}

/// 1–128 characters of `[A-Za-z0-9._/-]`.
pub fn secret_name(n: &str) -> Result<(), ApiError> {
    let ok_chars = n
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '/' | '-'));
    if !(1..=128).contains(&n.len()) || !ok_chars {
        return Err(bad(
            "name must be 1-128 characters of A-Z, a-z, 0-9, '.', '_', '/' or '-'",
        ));
    }
    Ok(())
}

/// Non-empty, at most 64 KiB of UTF-8 (JSON strings are always UTF-8).
pub fn value(v: &SecretString) -> Result<(), ApiError> {
    let len = v.expose_secret().len();
    if len == 0 {
        return Err(bad("value must not be empty"));
    }
    if len > MAX_VALUE_BYTES {
        return Err(bad("value must be at most 65536 bytes"));
    }
    Ok(())
}

/// At most 1024 characters; no control characters except tab and newline, so a description
/// cannot smuggle terminal escape sequences into someone's `ls`.
pub fn description(d: &str) -> Result<(), ApiError> {
    if d.chars().count() > 1024 {
        return Err(bad("description must be at most 1024 characters"));
    }
    if d.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(bad("description must not contain control characters"));
    }
    Ok(())
}

/// One tag: 1–64 characters of `[A-Za-z0-9._-]`.
pub fn tag(t: &str) -> Result<(), ApiError> {
    let ok_chars = t
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if !(1..=64).contains(&t.len()) || !ok_chars {
        return Err(bad(
            "each tag must be 1-64 characters of A-Z, a-z, 0-9, '.', '_' or '-'",
        ));
    }
    Ok(())
}

/// At most 32 valid tags; returned sorted without duplicates (tags are a set).
pub fn tags(mut ts: Vec<String>) -> Result<Vec<String>, ApiError> {
    for t in &ts {
        tag(t)?;
    }
    ts.sort();
    ts.dedup();
    if ts.len() > 32 {
        return Err(bad("at most 32 tags are allowed"));
    }
    Ok(ts)
}

/// An alert address: at most 254 bytes (the SMTP path limit), exactly one `@` with something
/// on both sides, no whitespace or control characters (nothing that could end a header
/// line). Deliverability is the mail server's business.
pub fn email(e: &str) -> Result<(), ApiError> {
    let ok = e.len() <= 254
        && e.split('@').count() == 2
        && e.split('@').all(|part| !part.is_empty())
        && !e.chars().any(|c| c.is_whitespace() || c.is_control());
    if !ok {
        return Err(bad(
            "email must be an address of at most 254 characters with one '@' and no spaces",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        assert!(username("alice").is_ok());
        assert!(username("a.b_c-9").is_ok());
        assert!(username("ab").is_err());
        assert!(username("Alice").is_err());
        assert!(username(&"a".repeat(65)).is_err());
        assert!(username("al ice").is_err());
    }

    #[test]
    fn names_values_tags() {
        assert!(secret_name("prod/db-password.v2").is_ok());
        assert!(secret_name("").is_err());
        assert!(secret_name("a b").is_err());
        assert!(secret_name(&"x".repeat(129)).is_err());
        assert!(value(&SecretString::from("x".repeat(MAX_VALUE_BYTES))).is_ok());
        assert!(value(&SecretString::from("x".repeat(MAX_VALUE_BYTES + 1))).is_err());
        assert!(value(&SecretString::from("")).is_err());
        assert_eq!(
            tags(vec!["b".into(), "a".into(), "b".into()]).unwrap(),
            ["a", "b"]
        );
        assert!(tags(vec!["".into()]).is_err());
        assert!(tags((0..33).map(|i| i.to_string()).collect()).is_err());
        assert_eq!(tags(vec!["same".into(); 40]).unwrap(), ["same"]);
        assert!(description("line\nnext\tcol").is_ok());
        assert!(description("\x1b[31mred").is_err());
    }

    #[test]
    fn emails() {
        assert!(email("alice@example.com").is_ok());
        assert!(email("a+tag@sub.example").is_ok());
        assert!(email(&format!("{}@b.example", "a".repeat(244))).is_ok());
        assert!(email(&format!("{}@b.example", "a".repeat(245))).is_err());
        for bad_one in [
            "",
            "alice",
            "@example.com",
            "alice@",
            "a@b@c",
            "al ice@example.com",
            "alice@example.com\r\nBcc: x@y",
            "alice@exa\tmple.com",
            "alice\u{7f}@example.com",
        ] {
            assert!(email(bad_one).is_err(), "{bad_one:?}");
        }
    }
}
