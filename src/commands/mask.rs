//! Concealing secret values in a command's output as it streams by (`secretctl run`).
//!
//! Every occurrence of a value, and of each line of a multi-line value, becomes
//! [`MARKER`]. Occurrences that overlap are concealed together (one marker), so a value that
//! overlaps another never shows a piece of itself. Values shorter than [`MIN_MASK_LEN`]
//! bytes are not masked: they would blank out ordinary words and digits everywhere.
//!
//! Streaming: a byte goes out as soon as no value can still cover it. Only a possible
//! start of a value is held back, at most the longest value minus one byte, until more
//! input decides it, the stream ends, or the caller gives up waiting
//! ([`Masker::flush_idle`]) so a prompt without a newline is not held forever. Bytes given
//! up on stay visible to the matcher: when the rest of the value arrives later, that rest
//! is concealed, so the whole value still never appears in one piece.

use zeroize::Zeroizing;

/// What a concealed value is replaced with.
pub const MARKER: &[u8] = b"<concealed by secretctl>";

/// Shortest value (or line of a multi-line value) that is masked, in bytes.
pub const MIN_MASK_LEN: usize = 4;

/// Whether `value` is long enough to be masked (at all, or in one of its lines).
pub fn maskable(value: &str) -> bool {
    !patterns_of(value).is_empty()
}

/// What to look for for one value: the value itself and each of its lines, trimmed, that
/// are long enough.
fn patterns_of(value: &str) -> Vec<&[u8]> {
    let mut out = Vec::new();
    if value.len() >= MIN_MASK_LEN {
        out.push(value.as_bytes());
    }
    if value.contains('\n') {
        for line in value.split('\n').map(str::trim) {
            if line.len() >= MIN_MASK_LEN {
                out.push(line.as_bytes());
            }
        }
    }
    out
}

/// A streaming masker for one output stream.
pub struct Masker {
    /// Longest first, so the first full match found at a position is the longest there.
    patterns: Vec<Zeroizing<Vec<u8>>>,
    /// Indexes into `patterns` by first byte, longest first.
    by_first_byte: Vec<Vec<usize>>,
    /// Input from the first position not yet scanned on.
    buf: Zeroizing<Vec<u8>>,
    /// Stream offset of `buf[0]`.
    base: u64,
    /// Everything before this stream offset has been written out (as itself or concealed).
    decided: u64,
    /// End (stream offset) of the region covered by the last marker written.
    mask_end: u64,
}

impl Masker {
    /// A masker for these values.
    pub fn new<'a>(values: impl IntoIterator<Item = &'a str>) -> Masker {
        let mut patterns: Vec<Zeroizing<Vec<u8>>> = Vec::new();
        for value in values {
            for p in patterns_of(value) {
                if !patterns.iter().any(|q| q.as_slice() == p) {
                    patterns.push(Zeroizing::new(p.to_vec()));
                }
            }
        }
        patterns.sort_by_key(|p| std::cmp::Reverse(p.len()));
        let mut by_first_byte = vec![Vec::new(); 256];
        for (i, p) in patterns.iter().enumerate() {
            by_first_byte[usize::from(p[0])].push(i);
        }
        Masker {
            patterns,
            by_first_byte,
            buf: Zeroizing::new(Vec::new()),
            base: 0,
            decided: 0,
            mask_end: 0,
        }
    }

    /// Whether bytes are held back waiting for more input.
    pub fn holding(&self) -> bool {
        self.base + self.buf.len() as u64 > self.decided
    }

    /// Takes `data`; returns what can be written now.
    pub fn push(&mut self, data: &[u8]) -> Zeroizing<Vec<u8>> {
        self.buf.extend_from_slice(data);
        let mut out = Zeroizing::new(Vec::new());
        self.scan(false, &mut out);
        out
    }

    /// Gives up waiting: writes out the held bytes as they are. They stay visible to the
    /// matcher, so if they turn out to start a value, the rest of it is concealed.
    pub fn flush_idle(&mut self) -> Zeroizing<Vec<u8>> {
        let end = self.base + self.buf.len() as u64;
        let from = (self.decided - self.base) as usize;
        let out = Zeroizing::new(self.buf[from..].to_vec());
        self.decided = end;
        out
    }

    /// End of the stream: everything left, masked where it matches.
    pub fn finish(&mut self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::new());
        self.scan(true, &mut out);
        out
    }

    /// Scans positions in order, writing each byte no value can cover and one marker per
    /// run of overlapping occurrences. Stops at the first position where a value may
    /// still begin (unless `at_end`), keeping the input from there on.
    fn scan(&mut self, at_end: bool, out: &mut Vec<u8>) {
        let mut i = 0;
        while i < self.buf.len() {
            let pos = self.base + i as u64;
            let rest = &self.buf[i..];
            let mut full = 0;
            let mut undecided = false;
            for &p in &self.by_first_byte[usize::from(rest[0])] {
                let pattern = self.patterns[p].as_slice();
                if rest.len() >= pattern.len() {
                    if rest.starts_with(pattern) {
                        full = pattern.len();
                        break;
                    }
                } else if !at_end && pattern.starts_with(rest) {
                    // A longer value may still match here: wait for it.
                    undecided = true;
                    break;
                }
            }
            if undecided {
                break;
            }
            if full > 0 {
                let end = pos + full as u64;
                if end > self.decided {
                    // Continuing the marker just written: one marker for the whole run.
                    let continues = self.decided == self.mask_end && pos < self.mask_end;
                    if !continues {
                        out.extend_from_slice(MARKER);
                    }
                    self.decided = end;
                    self.mask_end = end;
                }
            } else if pos >= self.decided {
                out.push(rest[0]);
                self.decided = pos + 1;
            }
            i += 1;
        }
        // At the end nothing is undecided, so this drains everything.
        self.buf.drain(..i);
        self.base += i as u64;
    }

    /// Bytes currently held (for tests of the bound).
    #[cfg(test)]
    fn held(&self) -> usize {
        self.buf.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: &str = "<concealed by secretctl>";

    fn all_at_once(values: &[&str], input: &str) -> String {
        let mut m = Masker::new(values.iter().copied());
        let mut out = m.push(input.as_bytes()).to_vec();
        out.extend_from_slice(&m.finish());
        String::from_utf8(out).unwrap()
    }

    fn in_chunks(values: &[&str], chunks: &[&[u8]]) -> String {
        let mut m = Masker::new(values.iter().copied());
        let mut out = Vec::new();
        for c in chunks {
            out.extend_from_slice(&m.push(c));
        }
        out.extend_from_slice(&m.finish());
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn replaces_each_occurrence() {
        assert_eq!(
            all_at_once(&["hunter22"], "pw=hunter22; again hunter22\n"),
            format!("pw={M}; again {M}\n")
        );
        assert_eq!(
            all_at_once(&["hunter22"], "no secret here"),
            "no secret here"
        );
    }

    #[test]
    fn a_value_split_at_every_point_is_still_concealed() {
        let input = "before s3cr3t-value after";
        let want = format!("before {M} after");
        for cut in 0..=input.len() {
            let (a, b) = input.as_bytes().split_at(cut);
            assert_eq!(in_chunks(&["s3cr3t-value"], &[a, b]), want, "cut at {cut}");
        }
        let bytes: Vec<&[u8]> = input.as_bytes().chunks(1).collect();
        assert_eq!(in_chunks(&["s3cr3t-value"], &bytes), want);
    }

    #[test]
    fn ordinary_bytes_are_not_held() {
        let mut m = Masker::new(["secret-value"]);
        assert_eq!(m.push(b"hello ").as_slice(), b"hello ");
        assert!(!m.holding());
        // "se" may start the value: held back, the rest goes out.
        assert_eq!(m.push(b"xx se").as_slice(), b"xx ");
        assert!(m.holding());
        assert_eq!(m.push(b"ssion").as_slice(), b"session");
        assert!(!m.holding());
    }

    #[test]
    fn overlapping_values_are_concealed_together() {
        // "password123" and "word123456" overlap in "password123456": no piece of either
        // may show, so the whole run is one marker.
        let values = ["password123", "word123456"];
        assert_eq!(
            all_at_once(&values, "x password123456 y"),
            format!("x {M} y")
        );
        assert_eq!(all_at_once(&values, "x password123 y"), format!("x {M} y"));
        assert_eq!(all_at_once(&values, "x word123456 y"), format!("x {M} y"));
        // One value inside another, either way round.
        assert_eq!(
            all_at_once(&["abcdefgh", "cdef"], "1abcdefgh2cdef3"),
            format!("1{M}2{M}3")
        );
        // Adjacent, not overlapping: two markers.
        assert_eq!(
            all_at_once(&["aaaa1", "bbbb2"], "aaaa1bbbb2"),
            format!("{M}{M}")
        );
        for cut in 0..=16 {
            let input = b"x password123456 y";
            let (a, b) = input.split_at(cut);
            assert_eq!(in_chunks(&values, &[a, b]), format!("x {M} y"), "cut {cut}");
        }
    }

    #[test]
    fn multi_line_values_are_masked_whole_and_line_by_line() {
        let pem = "-----BEGIN KEY-----\nMIIEvQIBADANBg\nkqhkiG9w0BAQEF\n-----END KEY-----\n";
        assert_eq!(
            all_at_once(&[pem], &format!("key: {pem}done")),
            format!("key: {M}done")
        );
        // A program printing one line of it, or the lines re-indented.
        assert_eq!(
            all_at_once(&[pem], "line 2 is MIIEvQIBADANBg!"),
            format!("line 2 is {M}!")
        );
        assert_eq!(
            all_at_once(&[pem], "  MIIEvQIBADANBg\r\n  kqhkiG9w0BAQEF\r\n"),
            format!("  {M}\r\n  {M}\r\n")
        );
        // Split across writes in the middle of a line and between lines.
        let input = format!("<{pem}>");
        let want = format!("<{M}>");
        for cut in 0..=input.len() {
            let (a, b) = input.as_bytes().split_at(cut);
            assert_eq!(in_chunks(&[pem], &[a, b]), want, "cut at {cut}");
        }
    }

    #[test]
    fn short_values_and_lines_are_not_masked() {
        assert!(!maskable("abc"));
        assert!(maskable("abcd"));
        assert!(!maskable("a\nb"));
        assert!(maskable("ab\ncdef\n"));
        assert_eq!(all_at_once(&["abc"], "abc abc"), "abc abc");
        // The short line "}" is not masked on its own; the long ones are.
        assert_eq!(
            all_at_once(&["{\n  \"k\": \"v-long\"\n}"], "} \"k\": \"v-long\""),
            format!("}} {M}")
        );
    }

    #[test]
    fn an_idle_flush_releases_held_bytes_and_still_conceals_the_rest() {
        let mut m = Masker::new(["secret-value"]);
        assert_eq!(m.push(b"ok: secr").as_slice(), b"ok: ");
        assert!(m.holding());
        assert_eq!(m.flush_idle().as_slice(), b"secr");
        assert!(!m.holding());
        // The rest of the value arrives after the flush: it is concealed.
        assert_eq!(
            m.push(b"et-value done").to_vec(),
            format!("{M} done").into_bytes()
        );
        assert!(m.finish().is_empty());
        // A flushed prefix that turns out to be something else is just text.
        let mut m = Masker::new(["secret-value"]);
        assert_eq!(m.push(b"secr").as_slice(), b"");
        assert_eq!(m.flush_idle().as_slice(), b"secr");
        assert_eq!(m.push(b"etary").as_slice(), b"etary");
    }

    #[test]
    fn the_end_of_the_stream_releases_a_partial_match() {
        let mut m = Masker::new(["secret-value"]);
        assert_eq!(m.push(b"abc secret-va").as_slice(), b"abc ");
        assert_eq!(m.finish().as_slice(), b"secret-va");
    }

    #[test]
    fn held_bytes_stay_bounded_by_the_longest_value() {
        let mut m = Masker::new(["aaaa"]);
        let mut out = Vec::new();
        for _ in 0..10_000 {
            out.extend_from_slice(&m.push(b"aaaaaaa"));
            assert!(m.held() < 4, "held {}", m.held());
        }
        out.extend_from_slice(&m.finish());
        // One long overlapping run: one marker, nothing of it shown.
        assert_eq!(out, MARKER);
    }

    #[test]
    fn random_chunking_gives_the_same_output_as_one_write() {
        let values = [
            "tok-12345",
            "12345-xyz",
            "line-one-secret\nline-two-secret",
            "zzzz",
        ];
        let text = "a tok-12345-xyz b line-two-secret c zzzzz d tok-1234 e \
                    line-one-secret\nline-two-secret f 12345-xy g tok-12345";
        let want = all_at_once(&values, text);
        assert!(
            !want.contains("tok-12345") && !want.contains("line-two-secret"),
            "{want}"
        );
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..500 {
            let mut chunks = Vec::new();
            let mut rest = text.as_bytes();
            while !rest.is_empty() {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let n = 1 + (seed % 7) as usize;
                let (a, b) = rest.split_at(n.min(rest.len()));
                chunks.push(a);
                rest = b;
            }
            assert_eq!(in_chunks(&values, &chunks), want);
        }
    }
}
