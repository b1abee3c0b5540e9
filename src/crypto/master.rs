//! The master identity: an age X25519 key in a file outside the database (mode 0600).
//!
//! It only wraps and unwraps data keys. The file uses age-keygen's format, so operators can
//! inspect or back it up with standard age tooling.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use age::x25519::{Identity, Recipient};
use zeroize::Zeroizing;

use super::CryptoError;
use super::keyring::DataKey;
use crate::sensitive::ExposeSecret;

/// The server's master identity, loaded from its key file.
pub struct MasterKey {
    identity: Identity,
    recipient: Recipient,
    path: PathBuf,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MasterKey")
            .field("path", &self.path)
            .field("public", &self.recipient.to_string())
            .finish_non_exhaustive()
    }
}

impl MasterKey {
    /// Reads the identity from `path`.
    pub fn load(path: &Path) -> Result<Self, CryptoError> {
        let err = |reason: String| CryptoError::KeyFile {
            path: path.display().to_string(),
            reason,
        };
        let meta = fs::metadata(path).map_err(|e| err(e.to_string()))?;
        if meta.permissions().mode() & 0o077 != 0 {
            eprintln!(
                "warning: key file {} is accessible by other users (mode {:o}); run: chmod 600 {}",
                path.display(),
                meta.permissions().mode() & 0o777,
                path.display()
            );
        }
        let text = Zeroizing::new(fs::read_to_string(path).map_err(|e| err(e.to_string()))?);
        let line = text
            .lines()
            .map(str::trim)
            .find(|l| l.starts_with("AGE-SECRET-KEY-"))
            .ok_or_else(|| err("no AGE-SECRET-KEY line found".into()))?;
        let identity = Identity::from_str(line)
            .map_err(|_| err("the AGE-SECRET-KEY line is malformed".into()))?;
        Ok(Self::from_identity(identity, path))
    }

    /// Generates a new identity and writes it to `path`, which must not exist yet.
    pub fn create(path: &Path) -> Result<Self, CryptoError> {
        let err = |reason: String| CryptoError::KeyFile {
            path: path.display().to_string(),
            reason,
        };
        let identity = Identity::generate();
        let contents = Zeroizing::new(format!(
            "# secretctl master key: keep it secret and back it up; without it the database cannot be read\n# created: {}\n# public key: {}\n{}\n",
            crate::timefmt::rfc3339(crate::timefmt::now_unix()),
            identity.to_public(),
            identity.to_string().expose_secret()
        ));
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| err(e.to_string()))?;
        file.write_all(contents.as_bytes())
            .and_then(|_| file.sync_all())
            .map_err(|e| err(e.to_string()))?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            // Make the new directory entry itself durable before the database refers to it.
            fs::File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| err(e.to_string()))?;
        }
        Ok(Self::from_identity(identity, path))
    }

    fn from_identity(identity: Identity, path: &Path) -> Self {
        let recipient = identity.to_public();
        MasterKey {
            identity,
            recipient,
            path: path.to_path_buf(),
        }
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
        let mk = MasterKey::create(&path).unwrap();
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert!(MasterKey::create(&path).is_err(), "never overwrites a key");
        let dk = DataKey::generate().unwrap();
        let wrapped = mk.wrap(&dk).unwrap();
        let loaded = MasterKey::load(&path).unwrap();
        assert_eq!(loaded.public_key(), mk.public_key());
        assert_eq!(
            loaded.unwrap_key(&wrapped).unwrap().as_bytes(),
            dk.as_bytes()
        );
        let other = MasterKey::create(&dir.join("other.key")).unwrap();
        assert!(matches!(
            other.unwrap_key(&wrapped),
            Err(CryptoError::WrongMasterKey { .. })
        ));
        assert!(!format!("{mk:?}").contains("AGE-SECRET-KEY"));
        fs::remove_dir_all(&dir).unwrap();
    }
}
