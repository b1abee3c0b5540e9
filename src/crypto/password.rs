//! Password hashing: scrypt in PHC string format, on a bounded pool.
//!
//! Each hash takes ~200 ms and 32 MiB at the default parameters, so at most `max_running`
//! run at once and at most `max_waiting` queue behind them; beyond that callers are told to
//! back off instead of piling up memory. A login for an unknown user verifies against a
//! dummy hash with the same parameters, so timing does not reveal which usernames exist.

use crate::gate::Gate;

use scrypt::password_hash::phc::PasswordHash;
use scrypt::password_hash::{CustomizedPasswordHasher, PasswordVerifier};
use scrypt::{Params, Scrypt};

use super::{CryptoError, fill_random};
use crate::sensitive::{ExposeSecret, SecretString};

/// scrypt cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KdfParams {
    pub log_n: u8,
    pub r: u32,
    pub p: u32,
}

impl KdfParams {
    /// OWASP's recommended scrypt setting that suits small hosts: N=2^15, r=8, p=3
    /// (~200 ms, 32 MiB). Set explicitly because `Params::RECOMMENDED` differs between
    /// crate versions.
    pub const DEFAULT: KdfParams = KdfParams {
        log_n: 15,
        r: 8,
        p: 3,
    };

    /// Deliberately weak parameters for the test suite only (`serve --insecure-fast-kdf`).
    pub const INSECURE_TEST_ONLY: KdfParams = KdfParams {
        log_n: 8,
        r: 8,
        p: 1,
    };

    /// The highest cost a stored hash may demand; a larger one is treated as corrupt rather
    /// than letting a tampered record make every login allocate gigabytes.
    const MAX_LOG_N: u8 = 20;

    fn to_params(self) -> Result<Params, CryptoError> {
        Params::new(self.log_n, self.r, self.p)
            .map_err(|_| CryptoError::PasswordHash("invalid scrypt parameters".into()))
    }
}

/// Hashes and verifies passwords, at most a few at a time.
pub struct PasswordHasher {
    params: Params,
    gate: Gate,
    dummy_hash: String,
}

impl PasswordHasher {
    /// A hasher with the given cost and concurrency limits.
    pub fn new(
        kdf: KdfParams,
        max_running: usize,
        max_waiting: usize,
    ) -> Result<Self, CryptoError> {
        let params = kdf.to_params()?;
        let mut random_password = [0u8; 32];
        fill_random(&mut random_password)?;
        let dummy_hash = hash_with(&params, &random_password)?;
        Ok(PasswordHasher {
            params,
            gate: Gate::new(max_running.max(1) as u64, max_waiting as u64),
            dummy_hash,
        })
    }

    /// A PHC string (`$scrypt$ln=15,r=8,p=3$salt$hash`) for `password`, with a fresh salt.
    pub fn hash(&self, password: &SecretString) -> Result<String, CryptoError> {
        let _permit = self.gate.enter().ok_or(CryptoError::HasherBusy)?;
        hash_with(&self.params, password.expose_secret().as_bytes())
    }

    /// Stretches a share passphrase into 32 key bytes with scrypt at this hasher's cost,
    /// on the same bounded pool. `salt` is the share's random salt.
    pub fn stretch(
        &self,
        passphrase: &SecretString,
        salt: &str,
    ) -> Result<zeroize::Zeroizing<[u8; 32]>, CryptoError> {
        let _permit = self.gate.enter().ok_or(CryptoError::HasherBusy)?;
        let mut out = zeroize::Zeroizing::new([0u8; 32]);
        scrypt::scrypt(
            passphrase.expose_secret().as_bytes(),
            salt.as_bytes(),
            &self.params,
            out.as_mut(),
        )
        .map_err(|_| CryptoError::PasswordHash("scrypt output length".into()))?;
        Ok(out)
    }

    /// Whether `password` matches `stored`; `None` (unknown user) costs the same and is false.
    pub fn verify(
        &self,
        password: &SecretString,
        stored: Option<&str>,
    ) -> Result<bool, CryptoError> {
        let _permit = self.gate.enter().ok_or(CryptoError::HasherBusy)?;
        let (phc, known) = match stored {
            Some(s) => (s, true),
            None => (self.dummy_hash.as_str(), false),
        };
        let parsed = PasswordHash::new(phc)
            .map_err(|_| CryptoError::PasswordHash("stored hash is malformed".into()))?;
        let params = Params::try_from(&parsed)
            .map_err(|_| CryptoError::PasswordHash("stored hash has bad parameters".into()))?;
        if params.log_n() > KdfParams::MAX_LOG_N {
            return Err(CryptoError::PasswordHash(
                "stored hash is too costly".into(),
            ));
        }
        // The comparison inside `verify_password` is constant time.
        let ok = Scrypt::from(params)
            .verify_password(password.expose_secret().as_bytes(), &parsed)
            .is_ok();
        Ok(ok && known)
    }
}

fn hash_with(params: &Params, password: &[u8]) -> Result<String, CryptoError> {
    let mut salt = [0u8; 16];
    fill_random(&mut salt)?;
    Scrypt::from(*params)
        .hash_password_customized(password, &salt, None, None, *params)
        .map(|h| h.to_string())
        .map_err(|e| CryptoError::PasswordHash(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hasher() -> PasswordHasher {
        PasswordHasher::new(KdfParams::INSECURE_TEST_ONLY, 2, 4).unwrap()
    }

    #[test]
    fn hash_then_verify() {
        let h = hasher();
        let pw = SecretString::from("correct horse battery");
        let stored = h.hash(&pw).unwrap();
        assert!(stored.starts_with("$scrypt$ln=8,r=8,p=1$"), "{stored}");
        assert!(!stored.contains("correct horse"));
        assert!(h.verify(&pw, Some(&stored)).unwrap());
        assert!(
            !h.verify(&SecretString::from("wrong password"), Some(&stored))
                .unwrap()
        );
        assert!(!h.verify(&pw, None).unwrap(), "unknown user never verifies");
        assert_ne!(stored, h.hash(&pw).unwrap(), "salts are random");
    }

    #[test]
    fn default_parameters_are_the_documented_ones() {
        let h = PasswordHasher::new(KdfParams::DEFAULT, 1, 1).unwrap();
        assert!(
            h.dummy_hash.starts_with("$scrypt$ln=15,r=8,p=3$"),
            "{}",
            h.dummy_hash
        );
    }

    #[test]
    fn costly_stored_hash_is_refused() {
        let h = hasher();
        let evil = "$scrypt$ln=30,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E";
        assert!(h.verify(&SecretString::from("x"), Some(evil)).is_err());
    }
}
