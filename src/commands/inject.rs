//! `secretctl inject -i TEMPLATE [-o FILE]`: fills `{{ sctl://REF }}` placeholders with
//! secret values, fetched in one request. Nothing is written unless every reference
//! resolved; an output file is created 0600 and replaces FILE atomically (rename), so a
//! reader never sees it half written.

use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use zeroize::Zeroizing;

use super::context::Context;
use super::{CliError, output, refs};
use crate::cli::InjectArgs;
use crate::sensitive::ExposeSecret;

/// Largest template read.
const MAX_TEMPLATE_BYTES: u64 = 16 * 1024 * 1024;

const SCHEME: &str = "sctl://";

/// A template cut into text and references.
#[derive(Debug, PartialEq, Eq)]
enum Piece<'a> {
    Text(&'a str),
    Ref(&'a str),
}

/// `secretctl inject`.
pub fn inject(ctx: &Context, args: &InjectArgs) -> Result<(), CliError> {
    let template = read_template(&args.input)?;
    let pieces = parse(&template).map_err(CliError::Usage)?;
    let mut wanted: Vec<String> = Vec::new();
    for p in &pieces {
        if let Piece::Ref(r) = p
            && !wanted.iter().any(|w| w == r)
        {
            refs::check_reference(r)?;
            wanted.push(r.to_string());
        }
    }
    let fetched = if wanted.is_empty() {
        Vec::new()
    } else {
        refs::fetch(
            &ctx.authenticated()?,
            &wanted,
            None,
            args.team.team.as_deref(),
        )?
    };
    let mut rendered = Zeroizing::new(String::with_capacity(template.len()));
    for p in &pieces {
        match p {
            Piece::Text(t) => rendered.push_str(t),
            Piece::Ref(r) => {
                let secret = fetched
                    .iter()
                    .find(|s| s.reference == *r)
                    .ok_or_else(|| CliError::NotFound(format!("no such secret: `{r}`")))?;
                rendered.push_str(secret.secret.value.expose_secret());
            }
        }
    }
    match &args.output {
        None => output::write_stdout(rendered.as_bytes()),
        Some(path) => write_atomically(path, rendered.as_bytes()),
    }
}

fn read_template(path: &Path) -> Result<String, CliError> {
    let mut bytes = Vec::new();
    let read = if path == Path::new("-") {
        std::io::stdin()
            .take(MAX_TEMPLATE_BYTES + 1)
            .read_to_end(&mut bytes)
    } else {
        std::fs::File::open(path)
            .and_then(|f| f.take(MAX_TEMPLATE_BYTES + 1).read_to_end(&mut bytes))
    };
    read.map_err(|e| CliError::Other(format!("cannot read {}: {e}", path.display())))?;
    if bytes.len() as u64 > MAX_TEMPLATE_BYTES {
        return Err(CliError::Usage(format!(
            "{} is larger than {MAX_TEMPLATE_BYTES} bytes",
            path.display()
        )));
    }
    String::from_utf8(bytes)
        .map_err(|_| CliError::Usage(format!("{} is not UTF-8 text", path.display())))
}

/// Cuts `template` at each `{{ sctl://REF }}` (spaces inside the braces optional). Other
/// `{{ … }}` text (Helm, Jinja) is left alone; a `{{ sctl://` that does not close as a
/// placeholder is an error with its line number, rather than text passed through.
fn parse(template: &str) -> Result<Vec<Piece<'_>>, String> {
    let mut pieces = Vec::new();
    let mut text_start = 0;
    let mut search = 0;
    while let Some(found) = template[search..].find("{{") {
        let open = search + found;
        let after = &template[open + 2..];
        let inner = after.trim_start();
        let Some(rest) = inner.strip_prefix(SCHEME) else {
            search = open + 2;
            continue;
        };
        let line = template[..open].matches('\n').count() + 1;
        let bad = || format!("line {line}: malformed placeholder; expected {{{{ sctl://REF }}}}");
        let ref_len = rest
            .find(|c: char| c.is_whitespace() || c == '}')
            .unwrap_or(rest.len());
        let reference = &rest[..ref_len];
        let close = rest[ref_len..].trim_start();
        if reference.is_empty() || !close.starts_with("}}") {
            return Err(bad());
        }
        let end = template.len() - close.len() + 2;
        if text_start < open {
            pieces.push(Piece::Text(&template[text_start..open]));
        }
        pieces.push(Piece::Ref(reference));
        text_start = end;
        search = end;
    }
    if text_start < template.len() {
        pieces.push(Piece::Text(&template[text_start..]));
    }
    Ok(pieces)
}

/// Writes `bytes` to a new 0600 file next to `path`, syncs it, and renames it over `path`.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    let fail = |e: std::io::Error| CliError::Other(format!("cannot write {}: {e}", path.display()));
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let file_name = path
        .file_name()
        .ok_or_else(|| CliError::Usage(format!("{} is not a file name", path.display())))?;
    let id = crate::crypto::token::new_id().map_err(|e| CliError::Other(e.to_string()))?;
    let tmp = dir.join(format!(
        ".{}.secretctl-{id}.tmp",
        file_name.to_string_lossy()
    ));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .and_then(|mut f| {
            f.write_all(bytes)?;
            f.sync_all()
        })
        .and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(fail(e));
    }
    // Make the rename itself durable; a failure here leaves a correct file behind.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_with_and_without_spaces() {
        assert_eq!(
            parse("a={{ sctl://db/pw }} b={{sctl://ops:k}}{{sctl://x}}").unwrap(),
            vec![
                Piece::Text("a="),
                Piece::Ref("db/pw"),
                Piece::Text(" b="),
                Piece::Ref("ops:k"),
                Piece::Ref("x"),
            ]
        );
        assert_eq!(parse("").unwrap(), vec![]);
        assert_eq!(
            parse("{{ .Values.x }} {{").unwrap(),
            vec![Piece::Text("{{ .Values.x }} {{")]
        );
        assert_eq!(
            parse("x {{\n  sctl://a\n}} y").unwrap(),
            vec![Piece::Text("x "), Piece::Ref("a"), Piece::Text(" y")]
        );
    }

    #[test]
    fn malformed_placeholders_are_errors_with_a_line() {
        for bad in [
            "{{ sctl:// }}",
            "l1\n{{ sctl://a b }}",
            "{{ sctl://a",
            "{{ sctl://a }",
        ] {
            let e = parse(bad).unwrap_err();
            assert!(e.contains("line "), "{bad}: {e}");
        }
        assert!(
            parse("l1\nl2\n{{ sctl://a b }}")
                .unwrap_err()
                .starts_with("line 3")
        );
    }
}
