//! Cryptography: the master identity (age X25519), data keys and AEAD sealing of values
//! (XChaCha20-Poly1305), password hashing (scrypt, PHC strings) and random tokens.
//!
//! Envelope design: the master identity lives in a key file outside the database; it only
//! wraps the 256-bit data keys (age costs ~100 µs a call), and the data keys seal every value
//! (~2 µs). Whoever holds the database file alone holds ciphertext alone.

pub mod key_file;
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
    #[error("password hashing failed: {0}")]
    PasswordHash(String),
    #[error("too many password checks in progress; retry shortly")]
    HasherBusy,
}

/// Fills `buf` from the OS CSPRNG.
pub fn fill_random(buf: &mut [u8]) -> Result<(), CryptoError> {
    getrandom::fill(buf).map_err(|_| CryptoError::Random)
}
