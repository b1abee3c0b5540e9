//! The password policy, for account passwords and share passphrases alike: a length rule,
//! and none of the 10,000 most common passwords (ASVS 5.0 6.2.4), compared
//! case-insensitively. Messages name the field
//! and the rule, never the rejected value.

use std::collections::HashSet;
use std::ops::RangeInclusive;
use std::sync::OnceLock;

use crate::sensitive::{ExposeSecret, SecretString};

/// Password and passphrase length bounds, in characters.
pub const PASSWORD_CHARS: RangeInclusive<usize> = 8..=1024;

/// A password or passphrase the policy refuses. `field` is "password" or "passphrase".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("{field} must be 8-1024 characters long")]
    Length { field: &'static str },
    #[error("password must not be the username")]
    SameAsUsername,
    #[error("{field} is one of the 10,000 most common passwords; choose another")]
    Common { field: &'static str },
}

/// The 10,000 most common passwords (lowercase), from the file shipped in the binary.
fn common_passwords() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| {
        include_str!("common_passwords.txt")
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect()
    })
}

fn length(field: &'static str, p: &SecretString) -> Result<(), PolicyError> {
    let n = p.expose_secret().chars().count();
    if !PASSWORD_CHARS.contains(&n) {
        return Err(PolicyError::Length { field });
    }
    Ok(())
}

/// Whether `lower` (already lowercased) is on the common-password list.
fn common(field: &'static str, lower: &str) -> Result<(), PolicyError> {
    if common_passwords().contains(lower) {
        return Err(PolicyError::Common { field });
    }
    Ok(())
}

/// A password for a new account: the length rule, not the username, not a common password
/// (both compared case-insensitively).
pub fn new_password(username: &str, p: &SecretString) -> Result<(), PolicyError> {
    length("password", p)?;
    let lower = zeroize::Zeroizing::new(p.expose_secret().to_lowercase());
    if lower.as_str() == username.to_lowercase() {
        return Err(PolicyError::SameAsUsername);
    }
    common("password", &lower)
}

/// A share passphrase: the length rule and the common-password list, as for an account. The
/// passphrase is the link's second factor, guessed offline by nobody but online by whoever
/// holds the URL (five tries): a list password is among the first five anyone tries.
pub fn share_passphrase(p: &SecretString) -> Result<(), PolicyError> {
    length("passphrase", p)?;
    let lower = zeroize::Zeroizing::new(p.expose_secret().to_lowercase());
    common("passphrase", &lower)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(text: &str) -> SecretString {
        SecretString::from(text.to_string())
    }

    #[test]
    fn account_passwords() {
        let len = PolicyError::Length { field: "password" };
        assert_eq!(new_password("alice", &s("1234567")), Err(len.clone()));
        assert_eq!(new_password("alice", &s(&"x".repeat(1025))), Err(len));
        assert!(matches!(
            new_password("alice", &s("12345678")),
            Err(PolicyError::Common { .. })
        ));
        assert!(matches!(
            new_password("alice", &s("Password1")),
            Err(PolicyError::Common { .. })
        ));
        assert_eq!(
            new_password("alice.smith", &s("ALICE.SMITH")),
            Err(PolicyError::SameAsUsername)
        );
        assert!(new_password("alice", &s("correct horse battery")).is_ok());
        assert!(common_passwords().len() >= 9_900);
    }

    #[test]
    fn share_passphrases_follow_the_same_list() {
        assert_eq!(
            share_passphrase(&s("password123")),
            Err(PolicyError::Common {
                field: "passphrase"
            })
        );
        assert_eq!(
            share_passphrase(&s("PassWord123")).unwrap_err().to_string(),
            "passphrase is one of the 10,000 most common passwords; choose another"
        );
        assert_eq!(
            share_passphrase(&s("short")).unwrap_err().to_string(),
            "passphrase must be 8-1024 characters long"
        );
        assert!(share_passphrase(&s("tulip ferry orbit")).is_ok());
    }
}
