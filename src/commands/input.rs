//! Reading passwords and secret values: never echoed, never required on the command line.

use std::io::{IsTerminal, Read};
use std::path::Path;

use zeroize::Zeroizing;

use super::CliError;
use crate::cli::ValueSource;
use crate::sensitive::{ExposeSecret, SecretString};

/// Largest value accepted by the server; checked here too so a huge file fails fast.
const MAX_VALUE_BYTES: usize = 64 * 1024;

/// The password: first line of stdin with `--password-stdin`, else `SECRETCTL_PASSWORD`,
/// else a no-echo prompt (twice when `confirm`).
pub fn password(password_stdin: bool, confirm: bool) -> Result<SecretString, CliError> {
    if password_stdin {
        return stdin_line("password");
    }
    if let Some(p) = std::env::var("SECRETCTL_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty())
    {
        return Ok(SecretString::from(p));
    }
    if !std::io::stdin().is_terminal() {
        return Err(CliError::Usage(
            "no terminal to prompt for the password: use --password-stdin or SECRETCTL_PASSWORD"
                .into(),
        ));
    }
    let first = prompt("Password: ")?;
    if confirm {
        let again = prompt("Repeat password: ")?;
        if first.expose_secret() != again.expose_secret() {
            return Err(CliError::Usage("passwords do not match".into()));
        }
    }
    Ok(first)
}

/// The first line of stdin without its line ending (`what` names it in errors).
pub fn stdin_line(what: &str) -> Result<SecretString, CliError> {
    let mut line = Zeroizing::new(String::new());
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| CliError::context(format!("cannot read the {what} from stdin: {e}"), e))?;
    let trimmed = line.strip_suffix('\n').unwrap_or(&line);
    let trimmed = trimmed.strip_suffix('\r').unwrap_or(trimmed);
    if trimmed.is_empty() {
        return Err(CliError::Usage(format!("no {what} on stdin")));
    }
    Ok(SecretString::from(trimmed.to_string()))
}

/// A no-echo prompt on the terminal, twice when `confirm`; a usage error without a terminal.
pub fn prompt_secret(label: &str, confirm: bool, hint: &str) -> Result<SecretString, CliError> {
    if !std::io::stdin().is_terminal() {
        return Err(CliError::Usage(format!(
            "no terminal to prompt for the {label}: {hint}"
        )));
    }
    let first = prompt(&format!("{}: ", capitalize(label)))?;
    if confirm {
        let again = prompt(&format!("Repeat {label}: "))?;
        if first.expose_secret() != again.expose_secret() {
            return Err(CliError::Usage(format!("{label}s do not match")));
        }
    }
    Ok(first)
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

fn prompt(label: &str) -> Result<SecretString, CliError> {
    rpassword::prompt_password(label)
        .map(SecretString::from)
        .map_err(|e| CliError::context(format!("cannot read from the terminal: {e}"), e))
}

/// The value for `put`: `--value`, `--from-file` (`-` is stdin), or stdin; a no-echo prompt
/// when stdin is a terminal. File and stdin input is taken byte for byte.
pub fn value(source: &ValueSource) -> Result<SecretString, CliError> {
    match explicit_value(source)? {
        Some(v) => Ok(v),
        None if std::io::stdin().is_terminal() => checked(prompt("Value: ")?),
        None => stdin_value(),
    }
}

/// The value for `update`: only when `--value` or `--from-file` was given.
pub fn explicit_value(source: &ValueSource) -> Result<Option<SecretString>, CliError> {
    if let Some(v) = &source.value {
        return checked(SecretString::from(v.clone())).map(Some);
    }
    match source.from_file.as_deref() {
        Some(p) if p == Path::new("-") => stdin_value().map(Some),
        Some(p) => {
            // Bounded: a huge file fails the size check without being read whole.
            let mut bytes = Zeroizing::new(Vec::new());
            std::fs::File::open(p)
                .and_then(|f| f.take(MAX_VALUE_BYTES as u64 + 1).read_to_end(&mut bytes))
                .map_err(|e| CliError::context(format!("cannot read {}: {e}", p.display()), e))?;
            utf8_value(&bytes).map(Some)
        }
        None => Ok(None),
    }
}

/// The value piped on stdin for `update NAME` with no other flag: `None` when stdin is a
/// terminal or empty (nothing was piped), so the caller can say what to type instead.
pub fn piped_value() -> Result<Option<SecretString>, CliError> {
    if std::io::stdin().is_terminal() {
        return Ok(None);
    }
    let mut bytes = Zeroizing::new(Vec::new());
    std::io::stdin()
        .take(MAX_VALUE_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| CliError::context(format!("cannot read the value from stdin: {e}"), e))?;
    if bytes.is_empty() {
        return Ok(None);
    }
    utf8_value(&bytes).map(Some)
}

fn stdin_value() -> Result<SecretString, CliError> {
    let mut bytes = Zeroizing::new(Vec::new());
    std::io::stdin()
        .take(MAX_VALUE_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| CliError::context(format!("cannot read the value from stdin: {e}"), e))?;
    utf8_value(&bytes)
}

fn utf8_value(bytes: &[u8]) -> Result<SecretString, CliError> {
    let text = std::str::from_utf8(bytes).map_err(|_| {
        CliError::Usage("the value is not UTF-8 text; base64-encode binary data first".into())
    })?;
    checked(SecretString::from(text.to_string()))
}

fn checked(v: SecretString) -> Result<SecretString, CliError> {
    let len = v.expose_secret().len();
    if len == 0 {
        return Err(CliError::Usage("the value is empty".into()));
    }
    if len > MAX_VALUE_BYTES {
        return Err(CliError::Usage(format!(
            "the value is larger than {MAX_VALUE_BYTES} bytes"
        )));
    }
    Ok(v)
}
