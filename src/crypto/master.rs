//! The master identity: an age X25519 key in a file outside the database (mode 0600).
//!
//! It only wraps and unwraps data keys. The file uses age-keygen's format, so operators can
//! inspect or back it up with standard age tooling; optionally it is sealed with a
//! passphrase (see `key_file`), and then `age -d` opens it.
//!
//! Besides wrapping, the identity's secret is the root of further purpose-bound keys
//! ([`MasterKey::derive_key`]): whoever holds only the public key (it is printed in the key
//! file's comment and by `rotate-master`) can wrap a key *to* us, but cannot make anything
//! that verifies under a derived key.
//!
//! Nothing here prints: conditions worth a warning come back from [`MasterKey::notices`].

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use age::x25519::{Identity, Recipient};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use zeroize::{Zeroize, Zeroizing};

use super::key_file::{self, KeyFileText, KeyPassphrase};
use super::keyring::DataKey;
use super::{CryptoError, KeyNotice};
use crate::sensitive::ExposeSecret;

/// A comment line that key files written by this build carry. The file's text is the
/// identity's own envelope (and, sealed, it is authenticated by the passphrase), so a line in
/// it can only be removed by someone who could read the key anyway; it tells `serve` that the
/// database must already carry a key-set authentication code, so deleting that code from the
/// database file is not mistaken for a database from an older build.
const KEY_SET_PIN: &str = "# key set: authenticated";

/// HKDF-SHA256 salt for keys derived from the identity's secret.
const DERIVE_SALT: &[u8] = b"secretctl/master-key/derive/v1";

/// The server's master identity, loaded from its key file.
pub struct MasterKey {
    identity: Identity,
    recipient: Recipient,
    path: PathBuf,
    sealed: bool,
    /// HKDF-Extract of the identity's secret; every derived key is one HMAC away.
    derive_root: Zeroizing<[u8; 32]>,
    pins_key_set: bool,
    /// Permission bits of a key file that others can access, seen at load.
    loose_mode: Option<u32>,
    /// A passphrase was given for a plain key file.
    passphrase_unused: bool,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MasterKey")
            .field("path", &self.path)
            .field("public", &self.recipient.to_string())
            .field("sealed", &self.sealed)
            .finish_non_exhaustive()
    }
}

impl MasterKey {
    /// Reads the identity from `path`. A sealed file needs `passphrase`: without one the
    /// answer is `KeySealed` (the caller may prompt and retry), with a wrong one
    /// `WrongPassphrase`; either way nothing is written.
    pub fn load(path: &Path, passphrase: Option<&KeyPassphrase>) -> Result<Self, CryptoError> {
        let meta = fs::metadata(path).map_err(|e| key_error(path, e.to_string()))?;
        let mode = meta.permissions().mode();
        let (plain, sealed) = match key_file::read(path)? {
            KeyFileText::Plain(text) => (text, false),
            KeyFileText::Sealed(text) => {
                let passphrase = passphrase.ok_or_else(|| CryptoError::KeySealed {
                    path: path.display().to_string(),
                })?;
                (key_file::unseal_text(path, &text, passphrase)?, true)
            }
        };
        let identity = parse_identity(path, &plain)?;
        let mut key = Self::from_identity(identity, path, sealed);
        key.pins_key_set = plain.lines().any(|l| l.trim() == KEY_SET_PIN);
        key.loose_mode = (mode & 0o077 != 0).then_some(mode & 0o777);
        key.passphrase_unused = passphrase.is_some() && !sealed;
        Ok(key)
    }

    /// What an operator should hear about the file this key was loaded from.
    pub fn notices(&self) -> Vec<KeyNotice> {
        let mut out = Vec::new();
        if let Some(mode) = self.loose_mode {
            out.push(KeyNotice::LooseKeyFileMode {
                path: self.path.clone(),
                mode,
            });
        }
        if self.passphrase_unused {
            out.push(KeyNotice::PassphraseForPlainKey {
                path: self.path.clone(),
            });
        }
        out
    }

    /// Generates a new identity and writes it to `path`, which must not exist yet; sealed
    /// under `passphrase` when there is one.
    pub fn create(path: &Path, passphrase: Option<&KeyPassphrase>) -> Result<Self, CryptoError> {
        let identity = Identity::generate();
        let plain = Zeroizing::new(format!(
            "# secretctl master key: keep it secret and back it up; without it the database cannot be read\n# created: {}\n# public key: {}\n{KEY_SET_PIN}\n{}\n",
            crate::timefmt::rfc3339(crate::timefmt::now_unix()),
            identity.to_public(),
            identity.to_string().expose_secret()
        ));
        match passphrase {
            None => key_file::write_new(path, plain.as_bytes())?,
            Some(p) => key_file::write_new(path, key_file::seal_text(path, &plain, p)?.as_bytes())?,
        }
        let mut key = Self::from_identity(identity, path, passphrase.is_some());
        key.pins_key_set = true;
        Ok(key)
    }

    fn from_identity(identity: Identity, path: &Path, sealed: bool) -> Self {
        let recipient = identity.to_public();
        // HKDF-Extract (RFC 5869) over the identity's canonical encoding (bech32 of the
        // 32-byte secret scalar): the same identity always yields the same root.
        let mut extract = <Hmac<Sha256> as KeyInit>::new_from_slice(DERIVE_SALT)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        extract.update(identity.to_string().expose_secret().as_bytes());
        let derive_root = take_tag(extract);
        MasterKey {
            identity,
            recipient,
            path: path.to_path_buf(),
            sealed,
            derive_root,
            pins_key_set: false,
            loose_mode: None,
            passphrase_unused: false,
        }
    }

    /// A 256-bit key for one purpose, derived from this identity's secret (HKDF-SHA256
    /// expand, one block, `label` as the info). Different labels give independent keys; the
    /// public key alone gives none of them. A new identity (`rotate-master`) means new
    /// derived keys, so whatever they authenticate must be re-made under it.
    pub fn derive_key(&self, label: &str) -> Zeroizing<[u8; 32]> {
        let mut expand = <Hmac<Sha256> as KeyInit>::new_from_slice(self.derive_root.as_ref())
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        expand.update(label.as_bytes());
        expand.update(&[1]);
        take_tag(expand)
    }

    /// Whether the key file says the database it opens must carry a key-set authentication
    /// code (every key file this build writes does; older ones do not).
    pub fn pins_key_set(&self) -> bool {
        self.pins_key_set
    }

    /// Encrypts a data key to this identity.
    pub fn wrap(&self, key: &DataKey) -> Result<Vec<u8>, CryptoError> {
        age::encrypt(&self.recipient, key.as_bytes()).map_err(|_| CryptoError::KeyFile {
            path: self.path.display().to_string(),
            reason: "could not wrap a data key".into(),
        })
    }

    /// Decrypts a wrapped data key; fails when this is not the identity it was wrapped to.
    pub fn unwrap_key(&self, wrapped: &[u8]) -> Result<DataKey, CryptoError> {
        let wrong = || CryptoError::WrongMasterKey {
            path: self.path.display().to_string(),
        };
        let plain = Zeroizing::new(age::decrypt(&self.identity, wrapped).map_err(|_| wrong())?);
        DataKey::from_bytes(&plain).ok_or_else(wrong)
    }

    /// The public half, safe to print.
    pub fn public_key(&self) -> String {
        self.recipient.to_string()
    }

    /// Whether the file it was loaded from (or written to) is sealed with a passphrase.
    pub fn is_sealed(&self) -> bool {
        self.sealed
    }

    /// The file it was loaded from (or written to).
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Seals the plain key file at `path` under `passphrase`, replacing it atomically. Refuses a
/// file that is already sealed or holds no identity; the sealed text is opened again before
/// it replaces anything, so a key is never swapped for one that does not open.
pub fn seal_file(path: &Path, passphrase: &KeyPassphrase) -> Result<(), CryptoError> {
    let plain = match key_file::read(path)? {
        KeyFileText::Sealed(_) => {
            return Err(key_error(path, "it is already sealed".into()));
        }
        KeyFileText::Plain(text) => text,
    };
    parse_identity(path, &plain)?;
    let sealed = key_file::seal_text(path, &plain, passphrase)?;
    if key_file::unseal_text(path, &sealed, passphrase)?.as_str() != plain.as_str() {
        return Err(key_error(
            path,
            "sealing did not round-trip; the file is unchanged".into(),
        ));
    }
    key_file::replace(path, sealed.as_bytes())
}

/// Unseals the sealed key file at `path` with `passphrase`, replacing it atomically with the
/// plain text it holds. Refuses a plain file; a wrong passphrase changes nothing.
pub fn unseal_file(path: &Path, passphrase: &KeyPassphrase) -> Result<(), CryptoError> {
    let sealed = match key_file::read(path)? {
        KeyFileText::Plain(_) => {
            return Err(key_error(path, "it is not sealed".into()));
        }
        KeyFileText::Sealed(text) => text,
    };
    let plain = key_file::unseal_text(path, &sealed, passphrase)?;
    parse_identity(path, &plain)?;
    key_file::replace(path, plain.as_bytes())
}

/// An HMAC's tag in a zeroizing array, with the library's copy wiped.
fn take_tag(mac: Hmac<Sha256>) -> Zeroizing<[u8; 32]> {
    let mut tag = mac.finalize().into_bytes();
    let mut out = Zeroizing::new([0u8; 32]);
    out.copy_from_slice(&tag);
    tag.as_mut_slice().zeroize();
    out
}

/// The identity on the file's `AGE-SECRET-KEY-` line.
fn parse_identity(path: &Path, text: &str) -> Result<Identity, CryptoError> {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("AGE-SECRET-KEY-"))
        .ok_or_else(|| key_error(path, "no AGE-SECRET-KEY line found".into()))?;
    Identity::from_str(line)
        .map_err(|_| key_error(path, "the AGE-SECRET-KEY line is malformed".into()))
}

fn key_error(path: &Path, reason: String) -> CryptoError {
    CryptoError::KeyFile {
        path: path.display().to_string(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_load_wrap_unwrap() {
        let dir = std::env::temp_dir().join(format!("sctl-mk-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("master.key");
        let mk = MasterKey::create(&path, None).unwrap();
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert!(
            MasterKey::create(&path, None).is_err(),
            "never overwrites a key"
        );
        let dk = DataKey::generate().unwrap();
        let wrapped = mk.wrap(&dk).unwrap();
        let loaded = MasterKey::load(&path, None).unwrap();
        assert_eq!(loaded.public_key(), mk.public_key());
        assert_eq!(
            loaded.unwrap_key(&wrapped).unwrap().as_bytes(),
            dk.as_bytes()
        );
        let other = MasterKey::create(&dir.join("other.key"), None).unwrap();
        assert!(matches!(
            other.unwrap_key(&wrapped),
            Err(CryptoError::WrongMasterKey { .. })
        ));
        assert!(!format!("{mk:?}").contains("AGE-SECRET-KEY"));
        fs::remove_dir_all(&dir).unwrap();
    }

    fn pass(p: &str) -> KeyPassphrase {
        KeyPassphrase::new(p.into()).insecure_fast_sealing()
    }

    #[test]
    fn derived_keys_are_stable_per_identity_and_label() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        let mk = MasterKey::create(&path, None).unwrap();
        let a = mk.derive_key("a");
        assert_ne!(*a, *mk.derive_key("b"), "labels give independent keys");
        // The same identity, plain or sealed, derives the same key after a reload.
        assert_eq!(*MasterKey::load(&path, None).unwrap().derive_key("a"), *a);
        seal_file(&path, &pass("p")).unwrap();
        let sealed = MasterKey::load(&path, Some(&pass("p"))).unwrap();
        assert_eq!(*sealed.derive_key("a"), *a);
        let other = MasterKey::create(&dir.path().join("other.key"), None).unwrap();
        assert_ne!(*other.derive_key("a"), *a);
        // Neither a derived key nor the root shows in Debug.
        let hex = crate::crypto::token::hex(&a[..]);
        let shown = format!("{mk:?}");
        assert!(
            !shown.contains(&hex) && !shown.contains("derive_root"),
            "{shown}"
        );
    }

    #[test]
    fn files_this_build_writes_pin_the_key_set_and_others_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        assert!(MasterKey::create(&path, None).unwrap().pins_key_set());
        assert!(MasterKey::load(&path, None).unwrap().pins_key_set());
        // What age-keygen (or an older secretctl) writes: no pin.
        let bare = dir.path().join("bare.key");
        let identity = Identity::generate();
        key_file::write_new(
            &bare,
            format!("# created: now\n{}\n", identity.to_string().expose_secret()).as_bytes(),
        )
        .unwrap();
        assert!(!MasterKey::load(&bare, None).unwrap().pins_key_set());
        // Sealing keeps the pin: it is part of the sealed text.
        seal_file(&path, &pass("p")).unwrap();
        assert!(
            MasterKey::load(&path, Some(&pass("p")))
                .unwrap()
                .pins_key_set()
        );
    }

    #[test]
    fn load_reports_a_loose_mode_and_an_unused_passphrase_instead_of_printing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        MasterKey::create(&path, None).unwrap();
        assert!(MasterKey::load(&path, None).unwrap().notices().is_empty());
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let notices = MasterKey::load(&path, Some(&pass("p"))).unwrap().notices();
        assert_eq!(
            notices,
            [
                KeyNotice::LooseKeyFileMode {
                    path: path.clone(),
                    mode: 0o644
                },
                KeyNotice::PassphraseForPlainKey { path: path.clone() },
            ]
        );
        assert!(
            notices[0].to_string().contains("chmod 600"),
            "{}",
            notices[0]
        );
        assert!(
            notices[1].to_string().contains("seal-key"),
            "{}",
            notices[1]
        );
    }

    #[test]
    fn sealed_key_needs_its_passphrase_and_wrong_ones_change_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        let mk = MasterKey::create(&path, Some(&pass("right"))).unwrap();
        assert!(mk.is_sealed());
        let bytes = fs::read(&path).unwrap();
        assert!(!String::from_utf8_lossy(&bytes).contains("AGE-SECRET-KEY"));
        assert!(matches!(
            MasterKey::load(&path, None),
            Err(CryptoError::KeySealed { .. })
        ));
        let err = MasterKey::load(&path, Some(&pass("wrong"))).unwrap_err();
        assert!(matches!(err, CryptoError::WrongPassphrase { .. }));
        assert!(
            !err.to_string().contains("wrong"),
            "no passphrase in errors"
        );
        assert_eq!(fs::read(&path).unwrap(), bytes, "untouched");
        let loaded = MasterKey::load(&path, Some(&pass("right"))).unwrap();
        assert_eq!(loaded.public_key(), mk.public_key());
        assert!(loaded.is_sealed());
    }

    #[test]
    fn seal_and_unseal_files_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        let mk = MasterKey::create(&path, None).unwrap();
        let plain = fs::read(&path).unwrap();
        assert!(unseal_file(&path, &pass("p")).is_err(), "a plain file");
        seal_file(&path, &pass("p")).unwrap();
        assert!(key_file::is_sealed(&path).unwrap());
        let again = seal_file(&path, &pass("p")).unwrap_err();
        assert!(again.to_string().contains("already sealed"), "{again}");
        assert!(matches!(
            unseal_file(&path, &pass("q")),
            Err(CryptoError::WrongPassphrase { .. })
        ));
        assert_eq!(
            MasterKey::load(&path, Some(&pass("p")))
                .unwrap()
                .public_key(),
            mk.public_key()
        );
        unseal_file(&path, &pass("p")).unwrap();
        assert_eq!(
            fs::read(&path).unwrap(),
            plain,
            "the original text, byte for byte"
        );
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );

        let not_a_key = dir.path().join("notes.txt");
        fs::write(&not_a_key, "hello").unwrap();
        assert!(seal_file(&not_a_key, &pass("p")).is_err());
        assert_eq!(fs::read(&not_a_key).unwrap(), b"hello");
    }
}
