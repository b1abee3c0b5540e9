//! The server's clock. Production reads the system time; the test suite can shift it with a
//! hidden `--test-clock-file`, whose content is an offset in seconds, so expiry is tested
//! without sleeping and without any endpoint that moves time.

use std::path::PathBuf;

/// Wall-clock time in Unix seconds, optionally shifted for tests.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset_file: Option<PathBuf>,
}

impl Clock {
    /// A clock shifted by the offset written in `offset_file` (when given).
    pub fn new(offset_file: Option<PathBuf>) -> Self {
        Clock { offset_file }
    }

    /// Now, in Unix seconds.
    pub fn now(&self) -> i64 {
        let offset = self
            .offset_file
            .as_ref()
            .and_then(|p| std::fs::read_to_string(p).ok())
            .and_then(|s| s.trim().parse::<i64>().ok())
            .unwrap_or(0);
        crate::timefmt::now_unix() + offset
    }
}
