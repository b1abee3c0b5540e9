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
    Ok(hex(&raw))
}

/// An identifier that sorts by creation time, in the same form as [`new_id`] (32 lowercase
/// hex digits): 48 bits of milliseconds since the Unix epoch, then 80 random bits (the
/// layout of UUIDv7, RFC 9562, without its version bits). For rows created often: each new
/// key lands after the others, so a batch of creates dirties one leaf page of each table
/// keyed by it instead of one per create, and one commit writes (and fsyncs) that much
/// less. The id tells when its row was created, which whoever may see the row also sees
/// in its `created_at`; 80 random bits keep it unguessable.
pub fn new_time_ordered_id(unix_millis: u64) -> Result<String, CryptoError> {
    let mut raw = [0u8; 16];
    raw[..6].copy_from_slice(&unix_millis.to_be_bytes()[2..]);
    fill_random(&mut raw[6..])?;
    Ok(hex(&raw))
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    s
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
    fn hex_is_lowercase_and_two_digits_a_byte() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
        assert_eq!(hex(&[]), "");
    }

    #[test]
    fn time_ordered_ids_sort_by_time_and_differ_within_a_millisecond() {
        let a = new_time_ordered_id(1_700_000_000_000).unwrap();
        let b = new_time_ordered_id(1_700_000_000_000).unwrap();
        let later = new_time_ordered_id(1_700_000_000_001).unwrap();
        assert_eq!(
            &a[..12],
            "018bcfe56800",
            "48-bit big-endian milliseconds first"
        );
        assert_ne!(a, b);
        assert!(a < later && b < later);
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')));
    }

    #[test]
    fn ids_are_hex() {
        let id = new_id().unwrap();
        assert_eq!(id.len(), 32);
        assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
    }
}
