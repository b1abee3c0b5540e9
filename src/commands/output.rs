//! Printing: JSON documents, tables, and raw bytes, with a closed pipe treated as success
//! (`secretctl ls | head -1` must not fail). Untrusted text bound for a terminal goes
//! through `for_terminal` first, so it cannot drive the terminal.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::Write;

use serde::Serialize;

use super::CliError;

/// Writes bytes to stdout; a closed pipe is not an error.
pub fn write_stdout(bytes: &[u8]) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|_| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(CliError::context(format!("cannot write to stdout: {e}"), e)),
    }
}

/// `text` with every control character but newline and tab shown as a visible escape
/// (`\x1b`, `\x07`, `\u{9b}`): a value from someone else (a share link) could otherwise
/// move the cursor, rewrite the screen or the window title, or answer terminal queries.
/// Borrowed when there is nothing to change.
pub fn for_terminal(text: &str) -> Cow<'_, str> {
    let unsafe_char = |c: char| c != '\n' && c != '\t' && c.is_control();
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            c if !unsafe_char(c) => out.push(c),
            c if (c as u32) < 0x80 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            // C1 controls (U+0080..U+009F): CSI, OSC and friends in their 8-bit form.
            c => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
        }
    }
    Cow::Owned(out)
}

/// Prints `value` as one line of JSON.
pub fn json<T: Serialize>(value: &T) -> Result<(), CliError> {
    let mut s = serde_json::to_string(value).map_err(CliError::failed)?;
    s.push('\n');
    write_stdout(s.as_bytes())
}

/// Like `json`, but DEL and the C1 controls (U+0080..U+009F), which JSON may carry raw, are
/// written as `\u00XX` escapes: same JSON, nothing a terminal acts on. For values from
/// someone else shown on a terminal (serde already escapes C0 controls and ESC).
pub fn json_for_terminal<T: Serialize>(value: &T) -> Result<(), CliError> {
    let raw = zeroize::Zeroizing::new(serde_json::to_string(value).map_err(CliError::failed)?);
    let mut out = zeroize::Zeroizing::new(escape_c1(&raw));
    out.push('\n');
    write_stdout(out.as_bytes())
}

/// Serialized JSON with DEL and C1 controls turned into `\u00XX` escapes.
fn escape_c1(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if ('\u{7f}'..='\u{9f}').contains(&c) {
            let _ = write!(out, "\\u{:04x}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

/// Renders rows under headers with columns padded to their widest cell.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut l = String::new();
        for (i, cell) in cells.enumerate() {
            if i > 0 {
                l.push_str("  ");
            }
            l.push_str(cell);
            if i + 1 < widths.len() {
                l.push_str(&" ".repeat(widths[i] - cell.chars().count()));
            }
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(&mut headers.iter().copied());
    for row in rows {
        line(&mut row.iter().map(String::as_str));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_output_neutralizes_controls() {
        assert!(matches!(for_terminal("plain\tvalue\n"), Cow::Borrowed(_)));
        assert_eq!(
            for_terminal("\u{1b}[31mred\u{1b}]0;title\u{7}\r\n\u{7f}\u{9b}2J\0é"),
            "\\x1b[31mred\\x1b]0;title\\x07\\x0d\n\\x7f\\u{9b}2J\\x00é"
        );
    }

    #[test]
    fn terminal_json_stays_json_without_raw_c1_controls() {
        let value = "\u{1b}[2J\u{7f}\u{9b}6n";
        let raw = serde_json::to_string(&value).unwrap();
        assert!(raw.contains('\u{9b}'), "serde leaves C1 raw: {raw:?}");
        let out = escape_c1(&raw);
        assert_eq!(out, r#""\u001b[2J\u007f\u009b6n""#);
        assert_eq!(serde_json::from_str::<String>(&out).unwrap(), value);
    }

    #[test]
    fn pads_columns() {
        let t = table(
            &["NAME", "VERSION"],
            &[
                vec!["a-long-name".into(), "1".into()],
                vec!["b".into(), "12".into()],
            ],
        );
        assert_eq!(t, "NAME         VERSION\na-long-name  1\nb            12\n");
    }
}
