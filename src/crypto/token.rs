//! Random identifiers and bearer tokens.
//!
//! Tokens carry 256 random bits behind a recognisable prefix (`sctl_`), so secret scanners
//! can spot a leaked one. The server stores only their SHA-256: a token has full entropy, so
//! a fast hash is enough, and a stolen database yields nothing that authenticates.

use crate::ids::TokenHash;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::{CryptoError, fill_random};
use crate::sensitive::SecretString;

/// Prefix of every session token.
pub const SESSION_PREFIX: &str = "sctl_";

/// A fresh URL-safe token: `prefix` followed by 256 random bits in base64url.
pub fn new_token(prefix: &str) -> Result<SecretString, CryptoError> {
    let mut raw = Zeroizing::new([0u8; 32]);
    fill_random(raw.as_mut())?;
    let mut s = String::with_capacity(prefix.len() + 43);
    s.push_str(prefix);
    URL_SAFE_NO_PAD.encode_string(&raw[..], &mut s);
    Ok(SecretString::from(s))
}

/// The lookup key stored in place of a token.
pub fn token_hash(token: &str) -> TokenHash {
    TokenHash::from_bytes(Sha256::digest(token.as_bytes()).into())
}

/// A random opaque identifier (128 bits, lowercase hex).
pub fn new_id() -> Result<String, CryptoError> {
    let mut raw = [0u8; 16];
    fill_random(&mut raw)?;
    Ok(raw.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sensitive::ExposeSecret;

    #[test]
    fn tokens_are_long_random_and_url_safe() {
        let a = new_token(SESSION_PREFIX).unwrap();
        let b = new_token(SESSION_PREFIX).unwrap();
        let a = a.expose_secret();
        assert!(a.starts_with(SESSION_PREFIX));
        assert_eq!(a.len(), SESSION_PREFIX.len() + 43);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert_ne!(a, b.expose_secret());
        assert_ne!(token_hash(a), token_hash(b.expose_secret()));
    }

    #[test]
    fn ids_are_hex() {
        let id = new_id().unwrap();
        assert_eq!(id.len(), 32);
        assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
    }
}
