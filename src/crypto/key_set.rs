//! Authentication of a database's key set: which data keys exist (exactly as wrapped), and
//! which one new values are sealed under.
//!
//! age does not authenticate the sender, so anyone with the master *public* key and write
//! access to the database file could wrap a key of their own choosing to it, mark it active,
//! and read every value sealed afterwards. The key set therefore carries an HMAC-SHA256 tag
//! under a key derived from the master identity's *secret* ([`MasterKey::derive_key`]); the
//! store checks it at every open and re-makes it whenever it changes the set itself.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::CryptoError;
use super::master::MasterKey;

/// The derivation label of the key-set MAC key.
const LABEL: &str = "secretctl/key-set-mac/v1";
/// Length of a tag.
pub const TAG_LEN: usize = 32;

/// The derivation label of the audit keys' MAC key: the same construction over another set.
const AUDIT_LABEL: &str = "secretctl/audit-key-set-mac/v1";

/// The tag over `active` and every `(id, wrapped key)` in `keys` (in any order: they are
/// encoded sorted by id, each length-prefixed, so no two sets encode alike).
pub fn tag(master: &MasterKey, active: u32, keys: &[(u32, &[u8])]) -> [u8; TAG_LEN] {
    mac(master, LABEL, active, keys)
        .finalize()
        .into_bytes()
        .into()
}

/// The tag over the audit chain's keys (`audit_keys`): without it, a key wrapped to the
/// public key alone and given the highest id would become the key new records are made
/// under, one the planter knows.
pub fn audit_tag(master: &MasterKey, keys: &[(u32, &[u8])]) -> [u8; TAG_LEN] {
    mac(master, AUDIT_LABEL, 0, keys)
        .finalize()
        .into_bytes()
        .into()
}

/// Checks an [`audit_tag`] in constant time.
pub fn verify_audit(
    master: &MasterKey,
    keys: &[(u32, &[u8])],
    tag: &[u8],
) -> Result<(), CryptoError> {
    mac(master, AUDIT_LABEL, 0, keys)
        .verify_slice(tag)
        .map_err(|_| CryptoError::KeySetMismatch {
            reason: "the audit keys' authentication code does not match",
        })
}

/// Checks `tag` (in constant time) against the key set; `KeySetMismatch` when it differs.
pub fn verify(
    master: &MasterKey,
    active: u32,
    keys: &[(u32, &[u8])],
    tag: &[u8],
) -> Result<(), CryptoError> {
    mac(master, LABEL, active, keys)
        .verify_slice(tag)
        .map_err(|_| CryptoError::KeySetMismatch {
            reason: "the authentication code does not match",
        })
}

fn mac(master: &MasterKey, label: &str, active: u32, keys: &[(u32, &[u8])]) -> Hmac<Sha256> {
    let key = master.derive_key(label);
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key.as_ref())
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    let mut sorted: Vec<&(u32, &[u8])> = keys.iter().collect();
    sorted.sort_by_key(|(id, _)| *id);
    mac.update(&active.to_be_bytes());
    mac.update(&(sorted.len() as u64).to_be_bytes());
    for (id, wrapped) in sorted {
        mac.update(&id.to_be_bytes());
        mac.update(&(wrapped.len() as u64).to_be_bytes());
        mac.update(wrapped);
    }
    mac
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::keyring::DataKey;

    #[test]
    fn any_change_to_the_set_fails_and_only_the_secret_makes_a_tag() {
        let dir = tempfile::tempdir().unwrap();
        let master = MasterKey::create(&dir.path().join("k"), None).unwrap();
        let one = master.wrap(&DataKey::generate().unwrap()).unwrap();
        let two = master.wrap(&DataKey::generate().unwrap()).unwrap();
        let set = [(1, one.as_slice())];
        let t = tag(&master, 1, &set);
        verify(&master, 1, &set, &t).unwrap();

        // A key planted with the public key alone, made active or not.
        let planted = [(1, one.as_slice()), (2, two.as_slice())];
        assert!(verify(&master, 2, &planted, &t).is_err());
        assert!(verify(&master, 1, &planted, &t).is_err());
        // Replaced bytes, another id, another active id, a truncated tag.
        assert!(verify(&master, 1, &[(1, two.as_slice())], &t).is_err());
        assert!(verify(&master, 1, &[(3, one.as_slice())], &t).is_err());
        assert!(verify(&master, 3, &set, &t).is_err());
        assert!(verify(&master, 1, &set, &t[..16]).is_err());
        assert!(verify(&master, 1, &[], &t).is_err());

        // Order does not matter; the identity does.
        let swapped = [(2, two.as_slice()), (1, one.as_slice())];
        assert_eq!(tag(&master, 2, &planted), tag(&master, 2, &swapped));
        let other = MasterKey::create(&dir.path().join("k2"), None).unwrap();
        assert!(verify(&other, 1, &set, &t).is_err());
        let err = verify(&other, 1, &set, &t).unwrap_err().to_string();
        assert!(err.contains("authentication"), "{err}");
    }
}
