//! Key passphrases for `serve` and `admin`: from `--passphrase-file`, else
//! `SECRETCTL_PASSPHRASE`, else a no-echo prompt when stdin is a terminal. The passphrase
//! goes straight into a `SecretString` (file bytes into a zeroized buffer first); it is never
//! a flag value and never printed. Also where both show the key layer's notices.

use std::io::{IsTerminal, Read};
use std::path::Path;

use zeroize::Zeroizing;

use super::{CliError, input};
use crate::cli::ServeArgs;
use crate::crypto::KeyNotice;
use crate::crypto::key_file::{self, KeyPassphrase};
use crate::sensitive::SecretString;

/// Largest passphrase file read; a passphrase is a line of text.
const MAX_PASSPHRASE_FILE_BYTES: u64 = 4096;
const NO_TERMINAL_HINT: &str = "use --passphrase-file FILE or set SECRETCTL_PASSPHRASE";

/// When to ask on the terminal if neither a file nor the environment gave a passphrase.
#[derive(Clone, Copy, PartialEq)]
pub enum Prompt {
    Never,
    Once,
    /// Twice, to catch a typo in a passphrase about to seal something.
    Confirmed,
}

/// The passphrase for `serve`: given (file or environment), else prompted for when the key
/// file is sealed and stdin is a terminal; a sealed key with no way to ask is a usage error
/// that names the options.
pub fn serve_passphrase(
    args: &ServeArgs,
    key_file: &Path,
) -> Result<Option<KeyPassphrase>, CliError> {
    // An unreadable key file counts as not sealed here; loading it reports the real problem.
    let sealed = key_file::is_sealed(key_file).unwrap_or(false);
    let prompt = if sealed && std::io::stdin().is_terminal() {
        Prompt::Once
    } else {
        Prompt::Never
    };
    let secret = passphrase(args.passphrase_file.as_deref(), prompt, key_file)?;
    if sealed && secret.is_none() {
        // Nothing to prompt on: a usage error, like a missing password.
        let sealed = crate::crypto::CryptoError::KeySealed {
            path: key_file.display().to_string(),
        };
        return Err(CliError::Usage(sealed.to_string()));
    }
    Ok(secret.map(|s| key_passphrase(s, args.insecure_fast_kdf)))
}

/// A passphrase from `file`, else `SECRETCTL_PASSPHRASE`, else the terminal per `prompt`.
pub fn passphrase(
    file: Option<&Path>,
    prompt: Prompt,
    key_file: &Path,
) -> Result<Option<SecretString>, CliError> {
    if let Some(file) = file {
        return read_passphrase_file(file).map(Some);
    }
    if let Some(p) = std::env::var("SECRETCTL_PASSPHRASE")
        .ok()
        .filter(|p| !p.is_empty())
    {
        return Ok(Some(SecretString::from(p)));
    }
    if prompt == Prompt::Never {
        return Ok(None);
    }
    let confirm = prompt == Prompt::Confirmed;
    if std::io::stdin().is_terminal() {
        if confirm {
            eprintln!("choose a passphrase to seal {}", key_file.display());
        } else {
            eprintln!("{} is sealed with a passphrase", key_file.display());
        }
    }
    input::prompt_secret("key passphrase", confirm, NO_TERMINAL_HINT).map(Some)
}

/// The whole file, minus one trailing line ending (as `echo` and editors leave it).
fn read_passphrase_file(path: &Path) -> Result<SecretString, CliError> {
    let err = |e: String| CliError::Other(format!("passphrase file {}: {e}", path.display()));
    // Sized up front so reading never reallocates and leaves an unzeroized copy behind.
    let mut bytes = Zeroizing::new(Vec::with_capacity(MAX_PASSPHRASE_FILE_BYTES as usize + 1));
    std::fs::File::open(path)
        .and_then(|f| {
            f.take(MAX_PASSPHRASE_FILE_BYTES + 1)
                .read_to_end(&mut bytes)
        })
        .map_err(|e| CliError::context(format!("passphrase file {}: {e}", path.display()), e))?;
    if bytes.len() as u64 > MAX_PASSPHRASE_FILE_BYTES {
        return Err(err(format!(
            "longer than {MAX_PASSPHRASE_FILE_BYTES} bytes"
        )));
    }
    let text = std::str::from_utf8(&bytes).map_err(|_| err("not UTF-8 text".into()))?;
    let text = text.strip_suffix('\n').unwrap_or(text);
    let text = text.strip_suffix('\r').unwrap_or(text);
    if text.is_empty() {
        return Err(CliError::Usage(format!(
            "passphrase file {} is empty",
            path.display()
        )));
    }
    Ok(SecretString::from(text.to_string()))
}

/// A passphrase for sealing or opening a key file; `insecure_fast` is the test-only flag.
pub fn key_passphrase(secret: SecretString, insecure_fast: bool) -> KeyPassphrase {
    let p = KeyPassphrase::new(secret);
    if insecure_fast {
        p.insecure_fast_sealing()
    } else {
        p
    }
}

/// Shows one of the key layer's notices on stderr (stdout stays for results: `serve`'s
/// `listening on` line, `--json` output).
pub fn print_key_notice(notice: &KeyNotice) {
    eprintln!("{notice}");
}

/// The error for an operation that needs a passphrase and was given none.
pub fn no_passphrase() -> CliError {
    CliError::Usage(format!("no passphrase given: {NO_TERMINAL_HINT}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sensitive::ExposeSecret;

    #[test]
    fn passphrase_file_drops_one_line_ending_only() {
        let dir = tempfile::tempdir().unwrap();
        let cases: [(&[u8], &str); 4] = [
            (b"pass phrase\n", "pass phrase"),
            (b"pass phrase\r\n", "pass phrase"),
            (b" spaced \n\n", " spaced \n"),
            (b"no newline", "no newline"),
        ];
        for (i, (bytes, want)) in cases.iter().enumerate() {
            let f = dir.path().join(format!("p{i}"));
            std::fs::write(&f, bytes).unwrap();
            assert_eq!(read_passphrase_file(&f).unwrap().expose_secret(), *want);
        }
        let empty = dir.path().join("empty");
        std::fs::write(&empty, "\n").unwrap();
        assert!(matches!(
            read_passphrase_file(&empty),
            Err(CliError::Usage(_))
        ));
        let missing = read_passphrase_file(&dir.path().join("nope")).unwrap_err();
        assert!(missing.to_string().contains("passphrase file"), "{missing}");
    }
}
