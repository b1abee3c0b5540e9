//! Printing: JSON documents, tables, and raw bytes, with a closed pipe treated as success
//! (`secretctl ls | head -1` must not fail).

use std::io::Write;

use serde::Serialize;

use super::CliError;

/// Writes bytes to stdout; a closed pipe is not an error.
pub fn write_stdout(bytes: &[u8]) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|_| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(CliError::Other(format!("cannot write to stdout: {e}"))),
    }
}

/// Prints `value` as one line of JSON.
pub fn json<T: Serialize>(value: &T) -> Result<(), CliError> {
    let mut s = serde_json::to_string(value).map_err(|e| CliError::Other(e.to_string()))?;
    s.push('\n');
    write_stdout(s.as_bytes())
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
