//! `secretctl export`: secrets as dotenv, JSON or shell text on stdout, or appended to
//! GitHub Actions' `$GITHUB_ENV` file. Quoting is the point of each format: every value,
//! quotes, `$`, backticks, newlines and `=` included, reads back byte for byte.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;

use zeroize::Zeroizing;

use super::context::Context;
use super::refs::{self, Assignment, Wanted};
use super::{CliError, output};
use crate::cli::{ExportArgs, ExportFormat};
use crate::sensitive::ExposeSecret;

/// `secretctl export`.
pub fn export(ctx: &Context, args: &ExportArgs) -> Result<(), CliError> {
    if args.refs.is_empty() && args.prefix.is_none() {
        return Err(CliError::Usage(
            "no secrets selected: give REFS (NAME, TEAM:NAME or VAR=REF) or --prefix P".into(),
        ));
    }
    let mut bindings: Vec<(String, String)> = Vec::new();
    for spec in &args.refs {
        if spec.contains('=') {
            bindings.push(refs::parse_binding(spec, "REFS")?);
        } else {
            refs::check_reference(spec)?;
            let var = refs::var_name(refs::name_part(spec));
            if !refs::valid_var(&var) {
                return Err(CliError::Usage(format!(
                    "`{spec}` maps to `{var}`, which is not a variable name; give VAR={spec}"
                )));
            }
            bindings.push((var, spec.clone()));
        }
    }
    let mut wanted: Vec<Wanted> = bindings
        .iter()
        .map(|(var, reference)| Wanted::Explicit { var, reference })
        .collect();
    if let Some(prefix) = args.prefix.as_deref() {
        wanted.push(Wanted::Prefix {
            prefix,
            strip: args.strip_prefix,
        });
    }
    let all_refs: Vec<String> = bindings.iter().map(|(_, r)| r.clone()).collect();
    let client = ctx.authenticated()?;
    let fetched = refs::fetch(
        &client,
        &all_refs,
        args.prefix.as_deref(),
        args.team.team.as_deref(),
    )?;
    let assigned = refs::assign(&fetched, &wanted)?;
    match args.format {
        ExportFormat::Json => {
            let map: serde_json::Map<String, serde_json::Value> = assigned
                .iter()
                .map(|a| (a.var.clone(), value_of(a).into()))
                .collect();
            let mut text = Zeroizing::new(
                serde_json::to_string(&map).map_err(|e| CliError::Other(e.to_string()))?,
            );
            text.push('\n');
            output::write_stdout(text.as_bytes())
        }
        ExportFormat::Dotenv => {
            let mut text = Zeroizing::new(String::new());
            for a in &assigned {
                refs::refuse_nul(a)?;
                let line = dotenv_line(&a.var, value_of(a)).map_err(|why| {
                    CliError::Usage(format!(
                        "secret `{}` {why}; use --format json or shell",
                        a.secret.reference
                    ))
                })?;
                if value_of(a).contains("${") {
                    eprintln!(
                        "secretctl: note: {} contains `${{`, which python-dotenv expands unless loaded with interpolate=False",
                        a.var
                    );
                }
                text.push_str(&line);
            }
            output::write_stdout(text.as_bytes())
        }
        ExportFormat::Shell => {
            let mut text = Zeroizing::new(String::new());
            for a in &assigned {
                refs::refuse_nul(a)?;
                text.push_str(&shell_line(&a.var, value_of(a)));
            }
            output::write_stdout(text.as_bytes())
        }
        ExportFormat::GithubEnv => github_env(&assigned),
    }
}

fn value_of<'a>(a: &'a Assignment<'_>) -> &'a str {
    a.secret.secret.value.expose_secret()
}

/// `VAR='value'\n`, in python-dotenv's quoting: single quotes with `\\` and `\'` escapes
/// (nothing else is special inside them, newlines included). A carriage return would be
/// turned into a newline by a parser reading in text mode, so such values are
/// double-quoted with `\r` and `\n` escapes instead. Neither form can end a value with a
/// backslash (the parser takes `\'` or `\"` there for an escaped quote), so such a value
/// is written unquoted when that reads back exactly, and refused otherwise.
fn dotenv_line(var: &str, value: &str) -> Result<Zeroizing<String>, &'static str> {
    if value.ends_with('\\') {
        if !reads_back_unquoted(value) {
            return Err(
                "ends with a backslash and cannot be written unquoted, so no dotenv file can hold it",
            );
        }
        return Ok(Zeroizing::new(format!("{var}={value}\n")));
    }
    let mut line = Zeroizing::new(String::with_capacity(var.len() + value.len() + 4));
    line.push_str(var);
    line.push('=');
    if value.contains('\r') {
        line.push('"');
        for c in value.chars() {
            match c {
                '\\' => line.push_str("\\\\"),
                '"' => line.push_str("\\\""),
                '\n' => line.push_str("\\n"),
                '\r' => line.push_str("\\r"),
                c => line.push(c),
            }
        }
        line.push('"');
    } else {
        line.push('\'');
        for c in value.chars() {
            match c {
                '\\' => line.push_str("\\\\"),
                '\'' => line.push_str("\\'"),
                c => line.push(c),
            }
        }
        line.push('\'');
    }
    line.push('\n');
    Ok(line)
}

/// Whether python-dotenv reads `VAR=value` back as exactly `value`: one line, not starting
/// with a space or a quote, not ending with a space, and no ` #` (a comment) inside. Its
/// "space" is Python's, which also counts U+001C..U+001F.
fn reads_back_unquoted(value: &str) -> bool {
    let space = |c: char| c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c);
    let mut prev_space = false;
    for c in value.chars() {
        if c == '\n' || c == '\r' || (c == '#' && prev_space) {
            return false;
        }
        prev_space = space(c);
    }
    value
        .chars()
        .next()
        .is_some_and(|c| !space(c) && c != '\'' && c != '"')
        && !value.chars().next_back().is_some_and(space)
}

/// `export VAR='value'\n`: inside single quotes a POSIX shell treats nothing as special,
/// so each `'` is closed, escaped and reopened (`'\''`).
fn shell_line(var: &str, value: &str) -> Zeroizing<String> {
    let mut line = Zeroizing::new(format!("export {var}='"));
    line.push_str(&value.replace('\'', "'\\''"));
    line.push_str("'\n");
    line
}

/// Appends `VAR<<DELIMITER` blocks to `$GITHUB_ENV` after printing an `::add-mask::`
/// command for every line of every value, so the runner hides them in later log output.
fn github_env(assigned: &[Assignment<'_>]) -> Result<(), CliError> {
    let path = std::env::var_os("GITHUB_ENV")
        .filter(|p| !p.is_empty())
        .ok_or_else(|| {
            CliError::Usage(
                "--format github-env appends to the file named by $GITHUB_ENV, which is not set (GitHub Actions sets it)".into(),
            )
        })?;
    let mut masks = Zeroizing::new(String::new());
    let mut block = Zeroizing::new(String::new());
    for a in assigned {
        refs::refuse_nul(a)?;
        let value = value_of(a);
        for line in value.split('\n') {
            let line = line.strip_suffix('\r').unwrap_or(line);
            if !line.trim().is_empty() {
                masks.push_str("::add-mask::");
                masks.push_str(&workflow_escape(line));
                masks.push('\n');
            }
        }
        let delimiter = delimiter_for(value)?;
        block.push_str(&format!("{}<<{delimiter}\n", a.var));
        block.push_str(value);
        block.push_str(&format!("\n{delimiter}\n"));
    }
    output::write_stdout(masks.as_bytes())?;
    let shown = std::path::Path::new(&path).display().to_string();
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(&path)
        .and_then(|mut f| f.write_all(block.as_bytes()))
        .map_err(|e| CliError::Other(format!("cannot append to $GITHUB_ENV ({shown}): {e}")))
}

/// A random heredoc delimiter that is not a line of `value` (so a value cannot end the
/// block early and smuggle in variables of its own).
fn delimiter_for(value: &str) -> Result<String, CliError> {
    let id = crate::crypto::token::new_id().map_err(|e| CliError::Other(e.to_string()))?;
    let delimiter = format!("SECRETCTL_EOF_{id}");
    if value.contains(&delimiter) {
        // 128 random bits: only a value built to contain this very string gets here.
        return Err(CliError::Other(
            "a secret value contains the random delimiter; run again".into(),
        ));
    }
    Ok(delimiter)
}

/// Escapes a workflow command's data the way GitHub's toolkit does.
fn workflow_escape(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotenv_quotes_single_unless_a_carriage_return() {
        assert_eq!(dotenv_line("A", "plain").unwrap().as_str(), "A='plain'\n");
        assert_eq!(
            dotenv_line("A", r#"it's "q" \n $X `id` a=b"#)
                .unwrap()
                .as_str(),
            "A='it\\'s \"q\" \\\\n $X `id` a=b'\n"
        );
        assert_eq!(dotenv_line("A", "l1\nl2").unwrap().as_str(), "A='l1\nl2'\n");
        assert_eq!(
            dotenv_line("A", "l1\r\nl\"2\\x").unwrap().as_str(),
            "A=\"l1\\r\\nl\\\"2\\\\x\"\n"
        );
        // A trailing backslash: unquoted when that reads back, else refused.
        assert_eq!(
            dotenv_line("A", "C:\\Program Files\\").unwrap().as_str(),
            "A=C:\\Program Files\\\n"
        );
        for bad in ["two\nlines\\", " lead\\", "'q\\", "a #b\\", "a\u{1f}#b\\"] {
            assert!(dotenv_line("A", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn shell_closes_and_reopens_quotes() {
        assert_eq!(
            shell_line("A", "it's $HOME").as_str(),
            "export A='it'\\''s $HOME'\n"
        );
    }

    #[test]
    fn workflow_data_is_escaped() {
        assert_eq!(workflow_escape("100%\rx"), "100%25%0Dx");
    }
}
