//! The master key file on disk: plain (age-keygen format) or sealed with a passphrase, and
//! crash-safe ways to write it.
//!
//! A sealed file is the plain file's exact text, age-encrypted to an scrypt passphrase
//! recipient and ASCII-armored, so `age -d master.key` opens it with standard tooling. It is
//! recognised by the armor header alone; nothing else about it is trusted before decryption.
//!
//! Invariants: the key text only ever lives in `Zeroizing` buffers; every write either
//! creates a new file (`create_new`, 0600) or replaces one atomically (temp file 0600 in the
//! same directory, fsync, rename, fsync the directory), so a crash leaves the old or the new
//! file, never a torn one.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use super::CryptoError;
use crate::sensitive::SecretString;

const ARMOR_BEGIN: &str = "-----BEGIN AGE ENCRYPTED FILE-----";
/// scrypt cost for sealing: N = 2^18 (256 MiB, about a second on a current server core), the
/// value age itself falls back to. Fixed rather than measured so a key sealed on a fast
/// machine still opens on a slower or busier one within `MAX_WORK_FACTOR`.
const DEFAULT_WORK_FACTOR: u8 = 18;
/// The highest cost accepted when opening: age warns that more lets a hostile file burn
/// hours and tens of GiB; 2^22 leaves 16x headroom over what we seal with.
const MAX_WORK_FACTOR: u8 = 22;
/// TEST ONLY: N = 2^10 (1 MiB, about a millisecond), so test suites can seal keys cheaply.
const INSECURE_TEST_WORK_FACTOR: u8 = 10;
/// Largest key file read; a real one is a few hundred bytes.
const MAX_KEY_FILE_BYTES: u64 = 64 * 1024;

/// A passphrase that seals a key file, with the scrypt cost to seal under it.
#[derive(Clone)]
pub struct KeyPassphrase {
    secret: SecretString,
    work_factor: u8,
}

impl std::fmt::Debug for KeyPassphrase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyPassphrase([REDACTED])")
    }
}

impl KeyPassphrase {
    /// A passphrase that seals at the default cost.
    pub fn new(secret: SecretString) -> Self {
        KeyPassphrase {
            secret,
            work_factor: DEFAULT_WORK_FACTOR,
        }
    }

    /// TEST ONLY: seal at a trivial scrypt cost. Opening is unaffected (the cost is read from
    /// the file), so only files sealed after this call are weak.
    pub fn insecure_fast_sealing(mut self) -> Self {
        self.work_factor = INSECURE_TEST_WORK_FACTOR;
        self
    }
}

/// What a key file holds, before any passphrase is applied.
pub enum KeyFileText {
    /// age-keygen format.
    Plain(Zeroizing<String>),
    /// Armored age ciphertext of the plain text.
    Sealed(String),
}

/// Reads a key file and tells plain from sealed (by the armor header).
pub fn read(path: &Path) -> Result<KeyFileText, CryptoError> {
    // Sized up front so reading never reallocates and leaves an unzeroized copy behind.
    let mut bytes = Zeroizing::new(Vec::with_capacity(MAX_KEY_FILE_BYTES as usize + 1));
    File::open(path)
        .and_then(|f| f.take(MAX_KEY_FILE_BYTES + 1).read_to_end(&mut bytes))
        .map_err(|e| key_file_error(path, e.to_string()))?;
    if bytes.len() as u64 > MAX_KEY_FILE_BYTES {
        return Err(key_file_error(path, "too large to be a key file".into()));
    }
    let text =
        std::str::from_utf8(&bytes).map_err(|_| key_file_error(path, "not a text file".into()))?;
    if text.trim_start().starts_with(ARMOR_BEGIN) {
        Ok(KeyFileText::Sealed(text.to_string()))
    } else {
        Ok(KeyFileText::Plain(Zeroizing::new(text.to_string())))
    }
}

/// Whether the file at `path` is sealed; `false` when it does not exist.
pub fn is_sealed(path: &Path) -> Result<bool, CryptoError> {
    if !path.exists() {
        return Ok(false);
    }
    Ok(matches!(read(path)?, KeyFileText::Sealed(_)))
}

/// Encrypts plain key text under `passphrase`, armored (`path` names the file in errors).
pub fn seal_text(
    path: &Path,
    plain: &str,
    passphrase: &KeyPassphrase,
) -> Result<String, CryptoError> {
    let mut recipient = age::scrypt::Recipient::new(passphrase.secret.clone());
    recipient.set_work_factor(passphrase.work_factor);
    age::encrypt_and_armor(&recipient, plain.as_bytes())
        .map_err(|_| key_file_error(path, "could not seal the key".into()))
}

/// Decrypts a sealed key file's text; `WrongPassphrase` when the passphrase does not open it.
pub fn unseal_text(
    path: &Path,
    sealed: &str,
    passphrase: &KeyPassphrase,
) -> Result<Zeroizing<String>, CryptoError> {
    use age::DecryptError as E;
    let malformed = || key_file_error(path, "the sealed key is damaged or not an age file".into());
    let decryptor = age::Decryptor::new_buffered(age::armor::ArmoredReader::new(sealed.as_bytes()))
        .map_err(|_| malformed())?;
    if !decryptor.is_scrypt() {
        return Err(key_file_error(
            path,
            "it is age-encrypted, but not with a passphrase; decrypt it with age first".into(),
        ));
    }
    let mut identity = age::scrypt::Identity::new(passphrase.secret.clone());
    identity.set_max_work_factor(MAX_WORK_FACTOR);
    let mut reader = match decryptor.decrypt(std::iter::once(&identity as &dyn age::Identity)) {
        Ok(r) => r,
        Err(E::DecryptionFailed | E::KeyDecryptionFailed | E::NoMatchingKeys) => {
            return Err(CryptoError::WrongPassphrase {
                path: path.display().to_string(),
            });
        }
        Err(E::ExcessiveWork { required, .. }) => {
            return Err(key_file_error(
                path,
                format!(
                    "it is sealed with scrypt work factor {required}, above the {MAX_WORK_FACTOR} secretctl accepts; unseal it with age and seal it again with `secretctl admin seal-key`"
                ),
            ));
        }
        Err(_) => return Err(malformed()),
    };
    // The plaintext is shorter than the armored ciphertext: no reallocation, no stray copy.
    let mut plain = Zeroizing::new(Vec::with_capacity(sealed.len()));
    reader.read_to_end(&mut plain).map_err(|_| malformed())?;
    let text = std::str::from_utf8(&plain).map_err(|_| malformed())?;
    Ok(Zeroizing::new(text.to_string()))
}

/// Writes `contents` to `path`, which must not exist yet (mode 0600, fsync'd, directory too).
/// The file is written under a temporary name and linked into place only once complete: a
/// full disk or a crash never leaves a partial key file that would block the next start.
pub fn write_new(path: &Path, contents: &[u8]) -> Result<(), CryptoError> {
    let err = |e: std::io::Error| key_file_error(path, e.to_string());
    let tmp = sibling(path, &format!(".new-{}", super::token::new_id()?));
    let written = write_private(&tmp, contents).and_then(|()| link_new(&tmp, path));
    let _ = fs::remove_file(&tmp);
    written.map_err(err)?;
    // Make the new directory entry itself durable before anything refers to it.
    sync_parent_dir(path)
}

/// Creates `path` (which must not exist) with mode 0600 and `contents`, fsync'd.
fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

/// Gives the complete file `from` the name `to`, never replacing a file already there (a
/// hard link fails if `to` exists); a file system without hard links gets a rename after the
/// same check.
fn link_new(from: &Path, to: &Path) -> std::io::Result<()> {
    match fs::hard_link(from, to) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(e),
        Err(_) if !to.exists() => fs::rename(from, to),
        Err(e) => Err(e),
    }
}

/// Replaces `path` with `contents` atomically: a 0600 temp file in the same directory is
/// written and fsync'd, renamed over `path`, and the directory fsync'd. A crash leaves the
/// old file or the new one (and at worst a stray temp file), never a partial key.
pub fn replace(path: &Path, contents: &[u8]) -> Result<(), CryptoError> {
    let tmp = sibling(path, &format!(".tmp-{}", super::token::new_id()?));
    let result = write_new(&tmp, contents).and_then(|()| rename(&tmp, path));
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Renames `from` over `to` and makes the rename durable.
pub fn rename(from: &Path, to: &Path) -> Result<(), CryptoError> {
    fs::rename(from, to).map_err(|e| key_file_error(to, e.to_string()))?;
    sync_parent_dir(to)
}

/// `path` with `suffix` appended to its file name (same directory, so renames are atomic).
pub fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

fn sync_parent_dir(path: &Path) -> Result<(), CryptoError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| key_file_error(path, format!("cannot sync its directory: {e}")))
}

fn key_file_error(path: &Path, reason: String) -> CryptoError {
    CryptoError::KeyFile {
        path: path.display().to_string(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn pass(p: &str) -> KeyPassphrase {
        KeyPassphrase::new(SecretString::from(p)).insecure_fast_sealing()
    }

    #[test]
    fn seal_unseal_round_trip_and_wrong_passphrase() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        let plain = "# comment\nAGE-SECRET-KEY-1XYZ\n";
        let sealed = seal_text(&path, plain, &pass("right")).unwrap();
        assert!(sealed.starts_with(ARMOR_BEGIN), "{sealed}");
        assert!(!sealed.contains("AGE-SECRET-KEY"));
        let opened = unseal_text(&path, &sealed, &pass("right")).unwrap();
        assert_eq!(opened.as_str(), plain);
        assert!(matches!(
            unseal_text(&path, &sealed, &pass("wrong")),
            Err(CryptoError::WrongPassphrase { .. })
        ));
        let mut damaged = sealed.clone();
        damaged.insert_str(ARMOR_BEGIN.len() + 1, "AAAA");
        assert!(matches!(
            unseal_text(&path, &damaged, &pass("right")),
            Err(CryptoError::KeyFile { .. })
        ));
    }

    #[test]
    fn seals_at_the_default_cost_and_opens_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        let sealed = seal_text(
            &path,
            "AGE-SECRET-KEY-1XYZ\n",
            &KeyPassphrase::new("p".into()),
        )
        .unwrap();
        assert!(unseal_text(&path, &sealed, &pass("p")).is_ok());
        // The work factor is the stanza's second argument: `-> scrypt <salt> 18`.
        let bin = age::armor::ArmoredReader::new(sealed.as_bytes());
        let mut raw = Vec::new();
        std::io::BufReader::new(bin).read_to_end(&mut raw).unwrap();
        let header = String::from_utf8_lossy(&raw);
        let stanza = header
            .lines()
            .find(|l| l.starts_with("-> scrypt "))
            .unwrap();
        assert!(stanza.ends_with(" 18"), "{stanza}");
    }

    #[test]
    fn detects_sealed_files_and_replaces_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        assert!(!is_sealed(&path).unwrap());
        write_new(&path, b"AGE-SECRET-KEY-1XYZ\n").unwrap();
        assert!(write_new(&path, b"again").is_err(), "never overwrites");
        assert!(!is_sealed(&path).unwrap());
        let sealed = seal_text(&path, "AGE-SECRET-KEY-1XYZ\n", &pass("p")).unwrap();
        replace(&path, sealed.as_bytes()).unwrap();
        assert!(is_sealed(&path).unwrap());
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["master.key"], "no temp file left behind");
        assert_eq!(sibling(&path, ".new"), dir.path().join("master.key.new"));
    }

    #[test]
    fn debug_is_redacted() {
        assert!(!format!("{:?}", pass("hunter2")).contains("hunter2"));
    }
}
