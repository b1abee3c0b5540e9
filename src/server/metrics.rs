//! Prometheus metrics: what the server counts, and the `/metrics` page in the text
//! exposition format (version 0.0.4), served on its own listener (`--metrics-addr`).
//!
//! Invariant: every label value comes from a fixed set the server defines (route templates
//! from `ROUTES`, a method allowlist, the status the server chose, audit actions, rate-limit
//! classes, redemption outcomes). Nothing a client sends (a path, an id, a token, a
//! username, a secret name) ever becomes a label, so the page can be scraped by anyone
//! allowed to see traffic volumes without learning who or what, and a client cannot grow it
//! without bound.
//!
//! The format is simple enough to write by hand (no client library): `# HELP` and `# TYPE`
//! once per family, then its samples; histograms as cumulative `_bucket{le=...}`, `_sum`
//! and `_count`.

use std::collections::BTreeMap;
use std::fmt::{Display, Write as _};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use rouille::{Request, Response};

use super::ApiError;
use super::ratelimit::Class;
use super::router::{UNKNOWN_TEMPLATE, templates};
use crate::gate::Gate;
use crate::histogram::{Histogram, HistogramSnapshot};
use crate::service::shares::Attempt;
use crate::store::{Action, AuditRecord, CommitStats, Outcome};

/// The only path the metrics listener serves.
pub const PATH: &str = "/metrics";

/// The content type of the text exposition format.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Methods that get their own label value; any other is `other`, so a client inventing
/// methods cannot add series.
const METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"];

/// Upper bounds of the request-latency buckets, in microseconds (1 ms to 10 s).
const LATENCY_MICROS_BOUNDS: &[u64] = &[
    1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000,
    5_000_000, 10_000_000,
];

/// Rate-limit classes, in the order of the counters.
const CLASSES: [Class; 3] = [Class::General, Class::Auth, Class::Share];

/// How a share-link redemption attempt ended: the `outcome` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redemption {
    /// A view was consumed and the value sent.
    Redeemed,
    /// The link needs a passphrase and none came.
    PassphraseMissing,
    /// A wrong passphrase; the link lives on.
    WrongPassphrase,
    /// A wrong passphrase that used up the last try: the link is gone.
    Destroyed,
    /// The page the browser showed was out of date.
    Stale,
    /// Unknown, expired, used up or revoked (one answer for all, as on the wire).
    NotFound,
    /// The server could not complete the attempt (storage, audit trail).
    Failed,
}

impl Redemption {
    const ALL: [Redemption; 7] = [
        Redemption::Redeemed,
        Redemption::PassphraseMissing,
        Redemption::WrongPassphrase,
        Redemption::Destroyed,
        Redemption::Stale,
        Redemption::NotFound,
        Redemption::Failed,
    ];

    fn as_str(self) -> &'static str {
        match self {
            Redemption::Redeemed => "redeemed",
            Redemption::PassphraseMissing => "passphrase_missing",
            Redemption::WrongPassphrase => "wrong_passphrase",
            Redemption::Destroyed => "destroyed",
            Redemption::Stale => "stale",
            Redemption::NotFound => "not_found",
            Redemption::Failed => "failed",
        }
    }

    /// The outcome of a service attempt.
    pub fn of(attempt: &Result<Attempt, ApiError>) -> Redemption {
        match attempt {
            Ok(Attempt::Redeemed { .. }) => Redemption::Redeemed,
            Ok(Attempt::PassphraseMissing) => Redemption::PassphraseMissing,
            Ok(Attempt::WrongPassphrase {
                destroyed: true, ..
            }) => Redemption::Destroyed,
            Ok(Attempt::WrongPassphrase { .. }) => Redemption::WrongPassphrase,
            Ok(Attempt::Stale) => Redemption::Stale,
            Ok(Attempt::NotFound) => Redemption::NotFound,
            Err(_) => Redemption::Failed,
        }
    }
}

/// Key of the request counter: (template index, method label, status).
type RequestKey = (usize, &'static str, u16);

/// Everything the server counts. Cheap to record into from every worker.
pub struct Metrics {
    /// Route templates, then [`UNKNOWN_TEMPLATE`]: indexes `latency`.
    templates: Vec<&'static str>,
    /// Answers by template, method and status. A mutex, not atomics: the status set is not
    /// known in advance, and the lock is held for one map update.
    requests: Mutex<BTreeMap<RequestKey, u64>>,
    latency: Vec<Histogram>,
    rate_limited: [AtomicU64; CLASSES.len()],
    redemptions: [AtomicU64; Redemption::ALL.len()],
    /// Audit records committed, by action and outcome.
    audit_records: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
    commits: Arc<CommitStats>,
    db_file: PathBuf,
    /// The API listener's admission gate, once it is bound.
    http: OnceLock<Arc<Gate>>,
}

impl Metrics {
    /// Counters for a server whose store reports `commits` and whose database is `db_file`.
    pub fn new(commits: Arc<CommitStats>, db_file: PathBuf) -> Metrics {
        let templates: Vec<&'static str> = templates()
            .chain(std::iter::once(UNKNOWN_TEMPLATE))
            .collect();
        Metrics {
            latency: templates
                .iter()
                .map(|_| Histogram::new(LATENCY_MICROS_BOUNDS))
                .collect(),
            templates,
            requests: Mutex::new(BTreeMap::new()),
            rate_limited: Default::default(),
            redemptions: Default::default(),
            audit_records: Mutex::new(BTreeMap::new()),
            commits,
            db_file,
            http: OnceLock::new(),
        }
    }

    /// Reports the load of the API listener's `gate` from now on.
    pub fn watch_http(&self, gate: Arc<Gate>) {
        let _ = self.http.set(gate);
    }

    /// Counts one answered request. `template` is the route's (anything else counts as
    /// unknown), `method` is reduced to the allowlist.
    pub fn request(&self, template: &str, method: &str, status: u16, took: Duration) {
        let index = self
            .templates
            .iter()
            .position(|t| *t == template)
            .unwrap_or(self.templates.len() - 1);
        let method = METHODS
            .iter()
            .copied()
            .find(|m| *m == method)
            .unwrap_or("other");
        *self
            .requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry((index, method, status))
            .or_insert(0) += 1;
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.latency[index].observe(micros);
    }

    /// Counts a request refused by a rate limit.
    pub fn rate_limited(&self, class: Class) {
        if let Some(i) = CLASSES.iter().position(|c| *c == class) {
            self.rate_limited[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts a share-link redemption attempt.
    pub fn redemption(&self, outcome: Redemption) {
        if let Some(i) = Redemption::ALL.iter().position(|o| *o == outcome) {
            self.redemptions[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts a committed audit record (an audit observer: runs after each commit).
    pub fn audit_record(&self, record: &AuditRecord) {
        let (action, outcome): (Action, Outcome) = (record.body.action, record.body.outcome);
        *self
            .audit_records
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry((action.as_str(), outcome.as_str()))
            .or_insert(0) += 1;
    }

    /// The `/metrics` page.
    pub fn render(&self) -> String {
        let mut page = Page::default();

        let requests = self
            .requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        page.family(
            "secretctl_http_requests_total",
            "counter",
            "HTTP requests answered, by route template, method and status.",
        );
        for ((index, method, status), n) in &requests {
            let status = status.to_string();
            page.sample(
                "secretctl_http_requests_total",
                &[
                    ("route", self.templates[*index]),
                    ("method", method),
                    ("status", &status),
                ],
                n,
            );
        }

        page.family(
            "secretctl_http_request_duration_seconds",
            "histogram",
            "Time from routing a request to its response, by route template.",
        );
        for (template, histogram) in self.templates.iter().zip(&self.latency) {
            page.histogram(
                "secretctl_http_request_duration_seconds",
                &[("route", template)],
                &histogram.snapshot(),
                1e6,
            );
        }

        page.family(
            "secretctl_rate_limited_total",
            "counter",
            "Requests refused with 429 by a per-address rate limit, by limit class.",
        );
        for (class, n) in CLASSES.iter().zip(&self.rate_limited) {
            page.sample(
                "secretctl_rate_limited_total",
                &[("class", class.outcome().as_str())],
                n.load(Ordering::Relaxed),
            );
        }

        page.family(
            "secretctl_share_redemptions_total",
            "counter",
            "Share-link redemption attempts, by outcome.",
        );
        for (outcome, n) in Redemption::ALL.iter().zip(&self.redemptions) {
            page.sample(
                "secretctl_share_redemptions_total",
                &[("outcome", outcome.as_str())],
                n.load(Ordering::Relaxed),
            );
        }

        let audit = self
            .audit_records
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        page.family(
            "secretctl_audit_records_total",
            "counter",
            "Audit records committed since start, by action and outcome.",
        );
        for ((action, outcome), n) in &audit {
            page.sample(
                "secretctl_audit_records_total",
                &[("action", action), ("outcome", outcome)],
                n,
            );
        }

        let stats = &self.commits;
        if let Some(gate) = self.http.get() {
            let (in_progress, waiting) = gate.load();
            page.gauge(
                "secretctl_http_requests_in_progress",
                "Requests being handled now (at most --workers).",
                in_progress,
            );
            page.gauge(
                "secretctl_http_requests_waiting",
                "Requests waiting for a worker now (at most 4 x --workers; past that, 503).",
                waiting,
            );
        }
        page.counter(
            "secretctl_store_commits_total",
            "Write transactions committed (one fsync each).",
            stats.commits(),
        );
        page.counter(
            "secretctl_store_writes_total",
            "Writes committed; several share a commit when they queue up together.",
            stats.writes(),
        );
        page.gauge(
            "secretctl_store_writes_queued",
            "Writes waiting for the committer now.",
            stats.queued(),
        );
        page.family(
            "secretctl_store_commit_batch_size",
            "histogram",
            "Writes per committed transaction.",
        );
        page.histogram(
            "secretctl_store_commit_batch_size",
            &[],
            &stats.batch_sizes(),
            1.0,
        );
        page.family(
            "secretctl_store_commit_duration_seconds",
            "histogram",
            "Time of each commit, fsync included.",
        );
        page.histogram(
            "secretctl_store_commit_duration_seconds",
            &[],
            &stats.commit_micros(),
            1e6,
        );
        page.counter(
            "secretctl_store_failed_batches_total",
            "Write batches that failed for a reason of the host (disk full, I/O error); nothing of them was applied.",
            stats.failed_batches(),
        );
        page.gauge(
            "secretctl_store_unavailable",
            "1 while writes fail for a reason of the host (disk full, I/O error): the last batch failed so and none has committed since.",
            u8::from(stats.unavailable()),
        );
        match std::fs::metadata(&self.db_file) {
            Ok(meta) => page.gauge(
                "secretctl_db_file_bytes",
                "Size of the database file.",
                meta.len(),
            ),
            // Left out rather than reported as 0, which would look like a real size.
            Err(e) => eprintln!("metrics: cannot read the database file size: {e}"),
        }
        page.0
    }

    /// Answers a request on the metrics listener: `GET /metrics`, 404 for anything else.
    pub fn serve(&self, req: &Request) -> Response {
        if req.method() != "GET" || req.url() != PATH {
            return ApiError::NotFound.into_response();
        }
        super::respond::with_standard_headers(Response::from_data(
            CONTENT_TYPE,
            self.render().into_bytes(),
        ))
    }
}

/// A page being written in the exposition format.
#[derive(Default)]
struct Page(String);

impl Page {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {}", escape_help(help));
        let _ = writeln!(self.0, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl Display) {
        self.0.push_str(name);
        if !labels.is_empty() {
            self.0.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.0.push(',');
                }
                let _ = write!(self.0, "{k}=\"{}\"", escape_label(v));
            }
            self.0.push('}');
        }
        let _ = writeln!(self.0, " {value}");
    }

    fn counter(&mut self, name: &str, help: &str, value: u64) {
        self.family(name, "counter", help);
        self.sample(name, &[], value);
    }

    fn gauge(&mut self, name: &str, help: &str, value: impl Display) {
        self.family(name, "gauge", help);
        self.sample(name, &[], value);
    }

    /// A histogram's samples; values (bounds and sum) are divided by `scale` to get the
    /// family's unit (e.g. microseconds to seconds).
    fn histogram(
        &mut self,
        name: &str,
        labels: &[(&str, &str)],
        snap: &HistogramSnapshot,
        scale: f64,
    ) {
        let bucket = format!("{name}_bucket");
        for (bound, n) in snap.bounds.iter().zip(&snap.cumulative) {
            let le = (*bound as f64 / scale).to_string();
            let mut with_le = labels.to_vec();
            with_le.push(("le", &le));
            self.sample(&bucket, &with_le, n);
        }
        let mut with_le = labels.to_vec();
        with_le.push(("le", "+Inf"));
        self.sample(&bucket, &with_le, snap.count);
        self.sample(&format!("{name}_sum"), labels, snap.sum as f64 / scale);
        self.sample(&format!("{name}_count"), labels, snap.count);
    }
}

/// A label value as the format quotes it: backslash, double quote and newline escaped.
fn escape_label(value: &str) -> String {
    value
        .replace('\\', r"\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Help text as the format wants it: backslash and newline escaped.
fn escape_help(text: &str) -> String {
    text.replace('\\', r"\\").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics() -> Metrics {
        Metrics::new(
            Arc::new(CommitStats::default()),
            PathBuf::from("/nonexistent/secretctl.redb"),
        )
    }

    /// The samples of `family` (lines starting with its name), comments excluded.
    fn samples<'a>(page: &'a str, family: &str) -> Vec<&'a str> {
        page.lines()
            .filter(|l| !l.starts_with('#'))
            .filter(|l| {
                l.strip_prefix(family)
                    .is_some_and(|rest| rest.starts_with(['{', ' ', '_']))
            })
            .collect()
    }

    #[test]
    fn requests_are_counted_by_template_method_and_status() {
        let m = metrics();
        m.request("/secrets/{id}", "GET", 200, Duration::from_millis(3));
        m.request("/secrets/{id}", "GET", 200, Duration::from_millis(3));
        m.request("/secrets/{id}", "DELETE", 404, Duration::from_millis(3));
        // A path no route matched, and a method a client made up: both fold into fixed values.
        m.request("/etc/passwd", "BREW", 404, Duration::from_millis(3));
        let page = m.render();
        assert_eq!(
            samples(&page, "secretctl_http_requests_total"),
            [
                r#"secretctl_http_requests_total{route="/secrets/{id}",method="DELETE",status="404"} 1"#,
                r#"secretctl_http_requests_total{route="/secrets/{id}",method="GET",status="200"} 2"#,
                r#"secretctl_http_requests_total{route="(unknown)",method="other",status="404"} 1"#,
            ]
        );
        assert!(!page.contains("passwd") && !page.contains("BREW"), "{page}");
    }

    #[test]
    fn a_histogram_renders_cumulative_buckets_sum_and_count() {
        let m = metrics();
        for ms in [0, 2, 2, 700, 20_000] {
            m.request("/healthz", "GET", 200, Duration::from_millis(ms));
        }
        let page = m.render();
        let lines = samples(&page, "secretctl_http_request_duration_seconds");
        let healthz: Vec<&str> = lines
            .iter()
            .copied()
            .filter(|l| l.contains(r#"route="/healthz""#))
            .collect();
        let name = "secretctl_http_request_duration_seconds";
        let expected: Vec<String> = [
            ("0.001", 1),
            ("0.0025", 3),
            ("0.005", 3),
            ("0.01", 3),
            ("0.025", 3),
            ("0.05", 3),
            ("0.1", 3),
            ("0.25", 3),
            ("0.5", 3),
            ("1", 4),
            ("2.5", 4),
            ("5", 4),
            ("10", 4),
            ("+Inf", 5),
        ]
        .iter()
        .map(|(le, n)| format!(r#"{name}_bucket{{route="/healthz",le="{le}"}} {n}"#))
        .chain([
            format!(r#"{name}_sum{{route="/healthz"}} 20.704"#),
            format!(r#"{name}_count{{route="/healthz"}} 5"#),
        ])
        .collect();
        assert_eq!(healthz, expected);
        // Every template has its series, with zeros before any request.
        for t in templates().chain([UNKNOWN_TEMPLATE]) {
            let count = format!(r#"{name}_count{{route="{t}"}} "#);
            assert!(page.contains(&count), "{t}: {page}");
        }
    }

    #[test]
    fn every_family_has_help_and_type_before_its_samples_and_lines_parse() {
        let m = metrics();
        m.request("/login", "POST", 429, Duration::from_millis(1));
        m.rate_limited(Class::Auth);
        m.redemption(Redemption::WrongPassphrase);
        m.redemption(Redemption::Redeemed);
        m.redemption(Redemption::Redeemed);
        let page = m.render();
        let mut typed: Vec<(String, String)> = Vec::new();
        let mut helped = std::collections::HashSet::new();
        for line in page.lines() {
            if let Some(rest) = line.strip_prefix("# HELP ") {
                let name = rest.split(' ').next().unwrap();
                assert!(helped.insert(name.to_string()), "HELP twice: {name}");
                continue;
            }
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').unwrap();
                assert!(helped.contains(name), "TYPE before HELP: {name}");
                assert!(["counter", "gauge", "histogram"].contains(&kind), "{line}");
                typed.push((name.to_string(), kind.to_string()));
                continue;
            }
            // `name{labels} value` or `name value`; the value is a number.
            let (series, value) = line.rsplit_once(' ').unwrap();
            assert!(value.parse::<f64>().is_ok(), "{line}");
            let name = series.split('{').next().unwrap();
            let (family, kind) = typed.last().expect("sample before any TYPE");
            let belongs = if kind == "histogram" {
                ["_bucket", "_sum", "_count"]
                    .iter()
                    .any(|s| name == format!("{family}{s}"))
            } else {
                name == family
            };
            assert!(belongs, "{line} outside its family {family}");
            assert!(
                name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                "{name}"
            );
        }
        assert_eq!(
            samples(&page, "secretctl_rate_limited_total"),
            [
                r#"secretctl_rate_limited_total{class="general"} 0"#,
                r#"secretctl_rate_limited_total{class="auth"} 1"#,
                r#"secretctl_rate_limited_total{class="share"} 0"#,
            ]
        );
        let redeemed = samples(&page, "secretctl_share_redemptions_total");
        assert!(redeemed.contains(&r#"secretctl_share_redemptions_total{outcome="redeemed"} 2"#));
        assert!(
            redeemed
                .contains(&r#"secretctl_share_redemptions_total{outcome="wrong_passphrase"} 1"#)
        );
        assert_eq!(redeemed.len(), Redemption::ALL.len());
        assert_eq!(
            samples(&page, "secretctl_store_unavailable"),
            ["secretctl_store_unavailable 0"]
        );
        // No database file: its size is left out, not reported as 0.
        assert!(!page.contains("secretctl_db_file_bytes"), "{page}");
    }

    #[test]
    fn label_values_and_help_are_escaped() {
        assert_eq!(escape_label(r#"a\b"c"#), r#"a\\b\"c"#);
        assert_eq!(escape_label("x\ny"), r"x\ny");
        assert_eq!(escape_help("a\\b\nc \"q\""), "a\\\\b\\nc \"q\"");
        let mut page = Page::default();
        page.sample("m", &[("l", "\"\n")], 1);
        assert_eq!(page.0, "m{l=\"\\\"\\n\"} 1\n");
    }
}
