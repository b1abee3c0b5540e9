//! Data keys and AEAD sealing of values.
//!
//! A sealed value is `0x01 | key id (u32 BE) | nonce (24) | ciphertext+tag`. The associated
//! data binds it to its place (owner, record id, version), so a ciphertext copied into another
//! row, or replayed from an older version, fails to open instead of decrypting as the wrong
//! secret. Random 192-bit nonces make reuse negligible without any counter state.

use std::collections::BTreeMap;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use zeroize::{Zeroize, Zeroizing};

use super::{CryptoError, fill_random};

const FORMAT_V1: u8 = 1;
const NONCE_LEN: usize = 24;
const HEADER_LEN: usize = 1 + 4 + NONCE_LEN;

/// A 256-bit data key; zeroized on drop and never printed.
pub struct DataKey(Box<[u8; 32]>);

impl DataKey {
    /// A fresh random key.
    pub fn generate() -> Result<Self, CryptoError> {
        let mut k = Box::new([0u8; 32]);
        fill_random(k.as_mut())?;
        Ok(DataKey(k))
    }

    /// Rebuilds a key from its 32 bytes (after unwrapping); other lengths are rejected.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let arr: [u8; 32] = bytes.try_into().ok()?;
        Some(DataKey(Box::new(arr)))
    }

    /// The raw key, for wrapping under the master identity only.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl Drop for DataKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey([REDACTED])")
    }
}

/// What a sealed value is bound to. Every part is length-prefixed, so no two different
/// contexts encode to the same associated data.
pub struct SealContext<'a> {
    pub purpose: &'a str,
    pub parts: &'a [&'a [u8]],
}

impl SealContext<'_> {
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for part in std::iter::once(&self.purpose.as_bytes()).chain(self.parts.iter()) {
            out.extend_from_slice(&(part.len() as u64).to_be_bytes());
            out.extend_from_slice(part);
        }
        out
    }
}

/// Seals `plaintext` under `key` (recorded as `key_id` in the header), bound to `ctx`.
pub fn seal_with_key(
    key_id: u32,
    key: &[u8; 32],
    plaintext: &[u8],
    ctx: &SealContext,
) -> Result<Vec<u8>, CryptoError> {
    let mut nonce = [0u8; NONCE_LEN];
    fill_random(&mut nonce)?;
    let cipher = XChaCha20Poly1305::new(&Key::from(*key));
    let aad = ctx.encode();
    let ct = cipher
        .encrypt(
            &XNonce::from(nonce),
            Payload {
                msg: plaintext,
                aad: &aad,
            },
        )
        .map_err(|_| CryptoError::OpenFailed)?;
    let mut out = Vec::with_capacity(HEADER_LEN + ct.len());
    out.push(FORMAT_V1);
    out.extend_from_slice(&key_id.to_be_bytes());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ct);
    Ok(out)
}

/// The key id recorded in a sealed value's header.
pub fn sealed_key_id(sealed: &[u8]) -> Result<u32, CryptoError> {
    if sealed.len() < HEADER_LEN || sealed[0] != FORMAT_V1 {
        return Err(CryptoError::OpenFailed);
    }
    Ok(u32::from_be_bytes([
        sealed[1], sealed[2], sealed[3], sealed[4],
    ]))
}

/// Opens a value sealed by [`seal_with_key`] under `key` with the same context.
pub fn open_with_key(
    key: &[u8; 32],
    sealed: &[u8],
    ctx: &SealContext,
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    sealed_key_id(sealed)?;
    let nonce: [u8; NONCE_LEN] = sealed[5..HEADER_LEN]
        .try_into()
        .map_err(|_| CryptoError::OpenFailed)?;
    let cipher = XChaCha20Poly1305::new(&Key::from(*key));
    let aad = ctx.encode();
    cipher
        .decrypt(
            &XNonce::from(nonce),
            Payload {
                msg: &sealed[HEADER_LEN..],
                aad: &aad,
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| CryptoError::OpenFailed)
}

/// The data keys this server holds in memory, by id, with the one new values are sealed under.
#[derive(Debug)]
pub struct Keyring {
    active: u32,
    keys: BTreeMap<u32, DataKey>,
}

impl Keyring {
    /// A keyring whose active key is `active`; `keys` must contain it.
    pub fn new(active: u32, keys: BTreeMap<u32, DataKey>) -> Option<Self> {
        keys.contains_key(&active)
            .then_some(Keyring { active, keys })
    }

    /// Seals `plaintext` under the active key, bound to `ctx`.
    pub fn seal(&self, plaintext: &[u8], ctx: &SealContext) -> Result<Vec<u8>, CryptoError> {
        seal_with_key(
            self.active,
            self.keys[&self.active].as_bytes(),
            plaintext,
            ctx,
        )
    }

    /// Opens a value sealed by [`Keyring::seal`] with the same context.
    pub fn open(
        &self,
        sealed: &[u8],
        ctx: &SealContext,
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let key_id = sealed_key_id(sealed)?;
        let key = self
            .keys
            .get(&key_id)
            .ok_or(CryptoError::UnknownDataKey(key_id))?;
        open_with_key(key.as_bytes(), sealed, ctx)
    }

    /// The id of the key new values are sealed under.
    pub fn active_id(&self) -> u32 {
        self.active
    }

    /// The ids of every key held, ascending.
    pub fn key_ids(&self) -> Vec<u32> {
        self.keys.keys().copied().collect()
    }

    /// Opens `sealed` (under whichever of these keys its header names) and seals the
    /// plaintext again under `to_key`, recorded as `to_id`, bound to the same `ctx`. The
    /// plaintext exists only in a buffer that is zeroized before this returns.
    pub fn reseal(
        &self,
        sealed: &[u8],
        ctx: &SealContext,
        to_id: u32,
        to_key: &DataKey,
    ) -> Result<Vec<u8>, CryptoError> {
        let plaintext = self.open(sealed, ctx)?;
        seal_with_key(to_id, to_key.as_bytes(), &plaintext, ctx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring() -> Keyring {
        let mut keys = BTreeMap::new();
        keys.insert(1, DataKey::generate().unwrap());
        Keyring::new(1, keys).unwrap()
    }

    #[test]
    fn seal_open_round_trip() {
        let r = ring();
        let ctx = SealContext {
            purpose: "secret",
            parts: &[b"owner", b"id", &1u64.to_be_bytes()],
        };
        let sealed = r.seal(b"s3cr3t value", &ctx).unwrap();
        assert!(!sealed.windows(6).any(|w| w == b"s3cr3t"));
        assert_eq!(r.open(&sealed, &ctx).unwrap().as_slice(), b"s3cr3t value");
    }

    #[test]
    fn moved_or_tampered_ciphertext_fails() {
        let r = ring();
        let ctx = SealContext {
            purpose: "secret",
            parts: &[b"alice", b"id1"],
        };
        let sealed = r.seal(b"value", &ctx).unwrap();
        let other = SealContext {
            purpose: "secret",
            parts: &[b"bob", b"id1"],
        };
        assert!(matches!(
            r.open(&sealed, &other),
            Err(CryptoError::OpenFailed)
        ));
        // Length prefixes keep ("ab","c") and ("a","bc") apart.
        let split = SealContext {
            purpose: "secret",
            parts: &[b"alic", b"eid1"],
        };
        assert!(r.open(&sealed, &split).is_err());
        let mut flipped = sealed.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert!(r.open(&flipped, &ctx).is_err());
        assert!(r.open(&sealed[..10], &ctx).is_err());
    }

    #[test]
    fn another_key_cannot_open() {
        let a = ring();
        let b = ring();
        let ctx = SealContext {
            purpose: "secret",
            parts: &[],
        };
        let sealed = a.seal(b"value", &ctx).unwrap();
        assert!(b.open(&sealed, &ctx).is_err());
    }

    #[test]
    fn reseal_moves_a_value_to_another_key_and_keeps_its_context() {
        let r = ring();
        let ctx = SealContext {
            purpose: "secret",
            parts: &[b"alice", b"id1"],
        };
        let sealed = r.seal(b"value", &ctx).unwrap();
        let next = DataKey::generate().unwrap();
        let moved = r.reseal(&sealed, &ctx, 2, &next).unwrap();
        assert_eq!(sealed_key_id(&moved).unwrap(), 2);
        assert_eq!(
            open_with_key(next.as_bytes(), &moved, &ctx)
                .unwrap()
                .as_slice(),
            b"value"
        );
        assert!(r.open(&moved, &ctx).is_err(), "the old ring has no key 2");
        let other = SealContext {
            purpose: "secret",
            parts: &[b"bob", b"id1"],
        };
        assert!(open_with_key(next.as_bytes(), &moved, &other).is_err());
        assert!(r.reseal(&sealed, &other, 2, &next).is_err());
        assert_eq!(r.key_ids(), [1]);
    }

    #[test]
    fn debug_is_redacted() {
        let shown = format!("{:?}", ring());
        assert!(shown.contains("REDACTED"));
    }
}
