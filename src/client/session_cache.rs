//! The local session cache: `$XDG_CONFIG_HOME/secretctl/sessions.json` (default
//! `~/.config/secretctl/`), one token per server URL.
//!
//! The directory is 0700 and the file 0600 from the moment it exists: it is written to a
//! fresh temp file created with that mode, synced, then renamed over the old one, so no
//! reader ever sees a half-written or world-readable token.

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::sensitive::{self, SecretString};

/// Errors reading or writing the cache.
#[derive(Debug, thiserror::Error)]
#[error("session cache {path}: {reason}")]
pub struct CacheError {
    path: String,
    reason: String,
}

/// A cached login.
#[derive(Serialize, Deserialize)]
pub struct CachedSession {
    #[serde(serialize_with = "sensitive::expose")]
    pub token: SecretString,
    pub username: String,
    pub expires_at: String,
}

#[derive(Serialize, Deserialize, Default)]
struct CacheFile {
    sessions: BTreeMap<String, CachedSession>,
}

/// The cache file and its operations.
pub struct SessionCache {
    path: PathBuf,
}

impl SessionCache {
    /// The cache under `$XDG_CONFIG_HOME`, else `$HOME/.config`.
    pub fn default_location() -> Result<Self, CacheError> {
        let base = std::env::var_os("XDG_CONFIG_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
            .ok_or_else(|| CacheError {
                path: "~/.config/secretctl".into(),
                reason: "neither XDG_CONFIG_HOME nor HOME is set".into(),
            })?;
        Ok(Self::at(base.join("secretctl").join("sessions.json")))
    }

    /// A cache at an explicit path.
    pub fn at(path: PathBuf) -> Self {
        SessionCache { path }
    }

    /// Where the cache lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self, reason: impl ToString) -> CacheError {
        CacheError {
            path: self.path.display().to_string(),
            reason: reason.to_string(),
        }
    }

    fn read(&self) -> Result<CacheFile, CacheError> {
        match fs::read(&self.path) {
            Ok(bytes) => {
                let bytes = Zeroizing::new(bytes);
                serde_json::from_slice(&bytes)
                    .map_err(|_| self.err("not valid JSON; delete it and log in again"))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(CacheFile::default()),
            Err(e) => Err(self.err(e)),
        }
    }

    fn write(&self, file: &CacheFile) -> Result<(), CacheError> {
        let dir = self
            .path
            .parent()
            .ok_or_else(|| self.err("no parent directory"))?;
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| self.err(e))?;
        let bytes = Zeroizing::new(serde_json::to_vec_pretty(file).map_err(|e| self.err(e))?);
        let tmp = dir.join(format!(".sessions.json.{}.tmp", std::process::id()));
        let _ = fs::remove_file(&tmp);
        let result = (|| {
            let mut f = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&tmp)?;
            f.write_all(&bytes)?;
            f.sync_all()?;
            fs::rename(&tmp, &self.path)
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result.map_err(|e| self.err(e))
    }

    /// The cached session for `server`, if any.
    pub fn load(&self, server: &str) -> Result<Option<CachedSession>, CacheError> {
        Ok(self.read()?.sessions.remove(server))
    }

    /// Saves (or replaces) the session for `server`.
    pub fn save(&self, server: &str, session: CachedSession) -> Result<(), CacheError> {
        let mut file = self.read()?;
        file.sessions.insert(server.to_string(), session);
        self.write(&file)
    }

    /// Forgets the session for `server`; true when there was one.
    pub fn remove(&self, server: &str) -> Result<bool, CacheError> {
        let mut file = self.read()?;
        let existed = file.sessions.remove(server).is_some();
        if existed {
            self.write(&file)?;
        }
        Ok(existed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sensitive::ExposeSecret;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn save_load_remove_with_private_modes() {
        let dir = std::env::temp_dir().join(format!("sctl-cache-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let cache = SessionCache::at(dir.join("secretctl").join("sessions.json"));
        assert!(cache.load("http://a").unwrap().is_none());
        let s = |t: &str| CachedSession {
            token: SecretString::from(t),
            username: "alice".into(),
            expires_at: "2030-01-01T00:00:00Z".into(),
        };
        cache.save("http://a", s("tok-a")).unwrap();
        cache.save("http://b", s("tok-b")).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(cache.path()), 0o600);
        assert_eq!(mode(&dir.join("secretctl")), 0o700);
        assert_eq!(
            cache
                .load("http://a")
                .unwrap()
                .unwrap()
                .token
                .expose_secret(),
            "tok-a"
        );
        assert!(cache.remove("http://a").unwrap());
        assert!(!cache.remove("http://a").unwrap());
        assert_eq!(
            cache
                .load("http://b")
                .unwrap()
                .unwrap()
                .token
                .expose_secret(),
            "tok-b"
        );
        fs::remove_dir_all(&dir).unwrap();
    }
}
