//! Cryptography: the master identity (age X25519), data keys and AEAD sealing of values
//! (XChaCha20-Poly1305), password hashing (scrypt, PHC strings) and random tokens.
//!
//! Envelope design: the master identity lives in a key file outside the database; it only
//! wraps the 256-bit data keys (age costs ~100 µs a call), and the data keys seal every value
//! (~2 µs). Whoever holds the database file alone holds ciphertext alone.
//!
//! This layer never prints: what an operator should hear about (a loose key file mode, a new
//! key to back up) comes back as a [`KeyNotice`] for the commands layer to show.

use std::path::PathBuf;

pub mod key_file;
pub mod key_set;
pub mod keyring;
pub mod master;
pub mod password;
pub mod share;
pub mod token;

/// Errors from the crypto layer. Messages never contain key or plaintext material.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("the operating system's random number generator failed")]
    Random,
    #[error("key file {path}: {reason}")]
    KeyFile { path: String, reason: String },
    #[error(
        "key file {path} is sealed with a passphrase: give --passphrase-file FILE or set SECRETCTL_PASSPHRASE (or run in a terminal to be prompted)"
    )]
    KeySealed { path: String },
    #[error("the passphrase does not open key file {path}; nothing was changed")]
    WrongPassphrase { path: String },
    #[error(
        "the master key in {path} does not open this database's data key; use the key file this database currently uses (the newest one after `secretctl admin rotate-master`)"
    )]
    WrongMasterKey { path: String },
    #[error(
        "a sealed value failed to open: it was altered, moved to another record, or sealed under another key"
    )]
    OpenFailed,
    #[error("a sealed value uses data key {0}, which this database does not have")]
    UnknownDataKey(u32),
    #[error(
        "the database's data keys fail their authentication check ({reason}): a data key was added, replaced or removed, or another one made active, by something that does not hold this master key; refusing to use them. Restore the database file from a backup you trust (see docs/keys.md, \"Authenticated key set\")"
    )]
    KeySetMismatch { reason: &'static str },
    #[error("password hashing failed: {0}")]
    PasswordHash(String),
    #[error("too many password checks in progress; retry shortly")]
    HasherBusy,
}

/// Something about the master key an operator should hear, returned rather than printed so
/// that only the commands layer writes to the terminal. Its `Display` is the message: paths
/// and public keys only, never key material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyNotice {
    /// The key file can be read or written by other users.
    LooseKeyFileMode { path: PathBuf, mode: u32 },
    /// A passphrase was given, but the key file is plain text.
    PassphraseForPlainKey { path: PathBuf },
    /// A new master key file was just written for a new database.
    MasterKeyCreated {
        path: PathBuf,
        sealed: bool,
        /// Whether it sits in the same directory as the database (one backup holds both).
        beside_database: bool,
    },
    /// A `K.new` from a master rotation that never committed sits next to the key file.
    LeftoverPendingKey { pending: PathBuf, key_file: PathBuf },
    /// A database from an older build got its key-set authentication code.
    KeySetAuthenticated { key_file: PathBuf },
}

impl std::fmt::Display for KeyNotice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyNotice::LooseKeyFileMode { path, mode } => write!(
                f,
                "warning: key file {} is accessible by other users (mode {:o}); run: chmod 600 {}",
                path.display(),
                mode & 0o777,
                path.display()
            ),
            KeyNotice::PassphraseForPlainKey { path } => write!(
                f,
                "warning: a passphrase was given but key file {} is not sealed; seal it with: secretctl admin seal-key --key-file {}",
                path.display(),
                path.display()
            ),
            KeyNotice::MasterKeyCreated {
                path,
                sealed,
                beside_database,
            } => {
                write!(
                    f,
                    "notice: created a new master key in {} ({}). Without it this database cannot be read, and with it any copy of the database can be: back it up now, separately from database backups",
                    path.display(),
                    if *sealed {
                        "sealed with the passphrase; keep the passphrase apart from the key's backup"
                    } else {
                        "not sealed"
                    }
                )?;
                match (beside_database, sealed) {
                    (true, false) => f.write_str(
                        ". It sits unsealed next to the database, so one copy of the data dir holds both: keep it elsewhere (--key-file on another mount) and seal it (--passphrase-file); see docs/deployment.md",
                    ),
                    (true, true) => f.write_str(
                        ". Better still, keep it out of the data dir (--key-file); see docs/deployment.md",
                    ),
                    (false, false) => f.write_str(
                        ". Consider sealing it (admin seal-key, then --passphrase-file); see docs/deployment.md",
                    ),
                    (false, true) => Ok(()),
                }
            }
            KeyNotice::LeftoverPendingKey { pending, key_file } => write!(
                f,
                "warning: {} is left over from an interrupted `secretctl admin rotate-master` that never committed; the database uses {} and the leftover opens nothing: delete it (or run rotate-master again, which does)",
                pending.display(),
                key_file.display()
            ),
            KeyNotice::KeySetAuthenticated { key_file } => write!(
                f,
                "notice: this database's data keys now carry an authentication code made with the master key in {}; from now on a data key planted in the database file is refused. Run `secretctl admin rotate-master` once to make the key file require it too (see docs/keys.md)",
                key_file.display()
            ),
        }
    }
}

/// Fills `buf` from the OS CSPRNG.
pub fn fill_random(buf: &mut [u8]) -> Result<(), CryptoError> {
    getrandom::fill(buf).map_err(|_| CryptoError::Random)
}
