//! Share-link secrets, all derived from the link's token.
//!
//! The token (256 random bits) is the only thing that can open a pending share: the server
//! keeps `lookup = H("lookup" | token)` as the row key and seals the snapshot under
//! `key = H("key" | token [| scrypt(passphrase)])`. The two derivations are domain-separated,
//! so the stored lookup reveals nothing about the key; the database plus the master key
//! cannot open a share, and with a passphrase the link alone cannot either.

use crate::ids::ShareLookup;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::CryptoError;
use super::keyring::{SealContext, open_with_key, seal_with_key};
use crate::sensitive::SecretString;

const LOOKUP_DOMAIN: &[u8] = b"secretctl/share-lookup/v1\0";
const KEY_DOMAIN: &[u8] = b"secretctl/share-key/v1\0";
const SNAPSHOT_PURPOSE: &str = "secretctl/share-snapshot/v1";
/// Key id written into snapshot headers; snapshot keys are per share, not from the keyring.
const SNAPSHOT_KEY_ID: u32 = 0;
/// A token is 32 bytes in unpadded base64url.
const TOKEN_CHARS: usize = 43;

/// A new share token (no prefix: it travels inside a URL).
pub fn new_token() -> Result<SecretString, CryptoError> {
    super::token::new_token("")
}

/// Whether `token` has the shape of one of ours; anything else is not worth a lookup.
pub fn plausible_token(token: &str) -> bool {
    token.len() == TOKEN_CHARS
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The row key stored for a token.
pub fn lookup(token: &str) -> ShareLookup {
    let mut h = Sha256::new();
    h.update(LOOKUP_DOMAIN);
    h.update(token.as_bytes());
    ShareLookup::from_bytes(h.finalize().into())
}

/// The snapshot key for a token and, when the share has one, the stretched passphrase.
pub fn snapshot_key(token: &str, stretched_passphrase: Option<&[u8; 32]>) -> Zeroizing<[u8; 32]> {
    let mut h = Sha256::new();
    h.update(KEY_DOMAIN);
    h.update(token.as_bytes());
    if let Some(p) = stretched_passphrase {
        h.update(p);
    }
    Zeroizing::new(h.finalize().into())
}

/// Seals a snapshot for share `share_id`.
pub fn seal_snapshot(
    key: &[u8; 32],
    share_id: &str,
    plaintext: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let parts = [share_id.as_bytes()];
    seal_with_key(SNAPSHOT_KEY_ID, key, plaintext, &snapshot_ctx(&parts))
}

/// Opens a snapshot; fails for a wrong key (e.g. a wrong passphrase).
pub fn open_snapshot(
    key: &[u8; 32],
    share_id: &str,
    sealed: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let parts = [share_id.as_bytes()];
    open_with_key(key, sealed, &snapshot_ctx(&parts))
}

fn snapshot_ctx<'a>(parts: &'a [&'a [u8]]) -> SealContext<'a> {
    SealContext {
        purpose: SNAPSHOT_PURPOSE,
        parts,
    }
}

/// Hex of a random 16-byte salt for passphrase stretching.
pub fn new_salt() -> Result<String, CryptoError> {
    super::token::new_id()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sensitive::ExposeSecret;

    #[test]
    fn derivations_are_separated_and_passphrase_changes_the_key() {
        let t = new_token().unwrap();
        let t = t.expose_secret();
        assert!(plausible_token(t), "{t}");
        assert!(!plausible_token("short"));
        let k = snapshot_key(t, None);
        assert_ne!(lookup(t).as_bytes(), &*k);
        let sealed = seal_snapshot(&k, "share1", b"payload").unwrap();
        assert_eq!(
            open_snapshot(&k, "share1", &sealed).unwrap().as_slice(),
            b"payload"
        );
        assert!(open_snapshot(&k, "share2", &sealed).is_err());
        let with_pass = snapshot_key(t, Some(&[7; 32]));
        assert!(open_snapshot(&with_pass, "share1", &sealed).is_err());
    }
}
