//! Human durations for flags: `90`, `90s`, `30m`, `1h`, `2d` (whole units, no mixing).

/// Parses a duration into whole seconds; a bare number is seconds.
pub fn parse_seconds(input: &str) -> Result<u64, String> {
    let s = input.trim();
    let (digits, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let factor = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => {
            return Err(format!(
                "invalid duration `{input}`: use e.g. 90, 30m, 1h or 2d"
            ));
        }
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("invalid duration `{input}`: use e.g. 90, 30m, 1h or 2d"))?;
    n.checked_mul(factor)
        .ok_or_else(|| format!("duration `{input}` is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units() {
        assert_eq!(parse_seconds("90"), Ok(90));
        assert_eq!(parse_seconds("30m"), Ok(1800));
        assert_eq!(parse_seconds("1h"), Ok(3600));
        assert_eq!(parse_seconds("2d"), Ok(172_800));
        assert!(parse_seconds("").is_err());
        assert!(parse_seconds("1h30m").is_err());
        assert!(parse_seconds("-5").is_err());
        assert!(parse_seconds("5w").is_err());
    }
}
