//! Security events (share created, redeemed, refused...) as `event=` lines in the server log.
//! Fields are ids, counts and times only: never a token, value, name or passphrase.

/// Logs one event with its fields.
pub fn record(event: &str, fields: &[(&str, &dyn std::fmt::Display)]) {
    let mut line = format!(
        "{} event={event}",
        crate::timefmt::rfc3339(crate::timefmt::now_unix())
    );
    for (k, v) in fields {
        line.push_str(&format!(" {k}={v}"));
    }
    eprintln!("{line}");
}
