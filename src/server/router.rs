//! Routing, the request log, and the one place errors and panics become responses.
//!
//! The log line holds time, request id, client address, method, route template, status and
//! duration: never the query string, headers or body, which may carry tokens or values.
//! `--log-format json` writes the same fields as one JSON object a line. The request id is
//! random per request and also sent as `X-Request-Id`, so a user can quote it and an
//! operator find the request (and any error logged for it).

use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use rouille::{Request, Response};

use super::error::InternalError;
use super::ratelimit::Class;
use super::{
    ApiError, App, accounts, audit, auth, profile, respond, secrets, share_link, share_page,
    shares, teams, tokens,
};
use crate::api::Health;
use crate::config::LogFormat;
use crate::service::anonymous_audit::{MinuteReport, RECORDS_PER_MINUTE};
use crate::store::{Action, Event};

/// A handler: the request, the app, and the path's one parameter (empty when the template
/// has none).
type Handler = fn(&Request, &App, &str) -> Result<Response, ApiError>;

/// One route. Dispatch, the 405 `Allow` answer, the rate-limit budget and the log template
/// all come from this one row.
pub struct RouteDef {
    /// The path with `{name}` for its variable segment: the label of the log line (never the
    /// id or token itself, so the log cannot hold a working link) and of any metric.
    pub template: &'static str,
    /// The methods served, in the order `Allow` lists them.
    methods: &'static [(&'static str, Handler)],
    /// The rate-limit budget; `None` is never limited.
    limit: Option<Class>,
    /// A share link: for one recipient, so never indexed, and its errors are pages for a
    /// browser.
    share_link: bool,
}

const fn route(
    template: &'static str,
    methods: &'static [(&'static str, Handler)],
    limit: Option<Class>,
) -> RouteDef {
    RouteDef {
        template,
        methods,
        limit,
        share_link: false,
    }
}

const GENERAL: Option<Class> = Some(Class::General);

/// Every route of the API.
pub static ROUTES: &[RouteDef] = &[
    // Load balancers poll this; it does no work worth limiting.
    route("/healthz", &[("GET", health), ("HEAD", health)], None),
    route(
        "/register",
        &[("POST", |r, a, _| accounts::register(r, a))],
        Some(Class::Auth),
    ),
    route(
        "/login",
        &[("POST", |r, a, _| accounts::login(r, a))],
        Some(Class::Auth),
    ),
    route(
        "/logout",
        &[("POST", |r, a, _| accounts::logout(r, a))],
        GENERAL,
    ),
    route(
        "/account",
        &[
            ("GET", |r, a, _| profile::show(r, a)),
            ("DELETE", |r, a, _| profile::delete(r, a)),
        ],
        GENERAL,
    ),
    route(
        "/account/email",
        &[("PUT", |r, a, _| profile::set_email(r, a))],
        GENERAL,
    ),
    route(
        "/account/password",
        &[("PUT", |r, a, _| profile::change_password(r, a))],
        GENERAL,
    ),
    route(
        "/account/sessions",
        &[("GET", |r, a, _| profile::sessions(r, a))],
        GENERAL,
    ),
    route(
        "/account/sessions/revoke-others",
        &[("POST", |r, a, _| profile::revoke_other_sessions(r, a))],
        GENERAL,
    ),
    route(
        "/account/sessions/{id}",
        &[("DELETE", profile::revoke_session)],
        GENERAL,
    ),
    route("/audit", &[("GET", |r, a, _| audit::list(r, a))], GENERAL),
    route(
        "/secrets",
        &[
            ("GET", |r, a, _| secrets::list(r, a)),
            ("POST", |r, a, _| secrets::create(r, a)),
        ],
        GENERAL,
    ),
    route(
        "/secrets/read",
        &[("POST", |r, a, _| secrets::read_many(r, a))],
        GENERAL,
    ),
    route(
        "/secrets/{id}",
        &[
            ("GET", secrets::get),
            ("PUT", secrets::update),
            ("DELETE", secrets::delete),
        ],
        GENERAL,
    ),
    route("/secrets/{id}/share", &[("POST", shares::create)], GENERAL),
    route(
        "/secrets/{id}/versions",
        &[("GET", secrets::versions)],
        GENERAL,
    ),
    route(
        "/secrets/{id}/rollback",
        &[("POST", secrets::rollback)],
        GENERAL,
    ),
    route("/secrets/{id}/shares", &[("GET", shares::list)], GENERAL),
    route("/shares/{share_id}", &[("DELETE", shares::revoke)], GENERAL),
    route(
        "/teams",
        &[
            ("GET", |r, a, _| teams::list(r, a)),
            ("POST", |r, a, _| teams::create(r, a)),
        ],
        GENERAL,
    ),
    route("/teams/{team}", &[("DELETE", teams::delete)], GENERAL),
    route("/teams/{team}/members", &[("GET", teams::members)], GENERAL),
    route(
        "/teams/{team}/members/{username}",
        &[("PUT", teams::set_member), ("DELETE", teams::remove_member)],
        GENERAL,
    ),
    route(
        "/tokens",
        &[
            ("GET", |r, a, _| tokens::list(r, a)),
            ("POST", |r, a, _| tokens::create(r, a)),
        ],
        GENERAL,
    ),
    route("/tokens/{id}", &[("DELETE", tokens::revoke)], GENERAL),
    RouteDef {
        template: "/share/{token}",
        methods: &[
            ("GET", share_link::get),
            ("HEAD", share_link::head),
            ("POST", share_link::post),
        ],
        limit: Some(Class::Share),
        share_link: true,
    },
];

/// The log template of a path no route matches.
pub const UNKNOWN_TEMPLATE: &str = "(unknown)";

/// Every route template, for labelling (plus [`UNKNOWN_TEMPLATE`] for everything else).
pub fn templates() -> impl Iterator<Item = &'static str> {
    ROUTES.iter().map(|r| r.template)
}

impl RouteDef {
    /// The path parameter if `path` matches this template segment by segment (a parameter
    /// segment must not be empty); `""` for a template without one.
    fn matches<'p>(&self, path: &'p str) -> Option<&'p str> {
        let mut template = self.template.strip_prefix('/')?.split('/');
        let mut segments = path.strip_prefix('/')?.split('/');
        let mut param = "";
        loop {
            match (template.next(), segments.next()) {
                (None, None) => return Some(param),
                (Some(t), Some(s)) if t.starts_with('{') && !s.is_empty() => param = s,
                (Some(t), Some(s)) if t == s => {}
                _ => return None,
            }
        }
    }

    /// The methods as the `Allow` header lists them.
    fn allow(&self) -> String {
        let names: Vec<&str> = self.methods.iter().map(|(m, _)| *m).collect();
        names.join(", ")
    }

    fn dispatch(&self, req: &Request, app: &App, param: &str) -> Result<Response, ApiError> {
        match self.methods.iter().find(|(m, _)| *m == req.method()) {
            Some((_, handler)) => handler(req, app, param),
            None => Err(ApiError::MethodNotAllowed(self.allow())),
        }
    }
}

/// The route for `path` and its parameter. A literal segment wins over a parameter, so a
/// route like `/secrets/read` may sit next to `/secrets/{id}` in any order.
fn find(path: &str) -> Option<(&'static RouteDef, &str)> {
    ROUTES
        .iter()
        .filter_map(|r| r.matches(path).map(|p| (r, p)))
        .min_by_key(|(r, _)| r.template.matches('{').count())
}

/// 200 while the server can serve; 503 with a reason while the store cannot write (disk
/// full), so a load balancer takes the server out, and puts it back once the store has
/// recovered by itself.
fn health(_: &Request, app: &App, _: &str) -> Result<Response, ApiError> {
    let (code, health) = match app.store()?.degraded() {
        None => (200, Health::ok()),
        Some(why) => (503, Health::degraded(why.reason())),
    };
    Ok(respond::json(code, &health))
}

/// Entry point for every request.
pub fn handle(req: &Request, app: &App) -> Response {
    let started = Instant::now();
    let request_id = RequestId::new();
    CURRENT.set(Some((request_id, app.log_format)));
    let path = req.url();
    let found = find(&path);
    let route = found.map(|(r, _)| r);
    let template = route.map_or(UNKNOWN_TEMPLATE, |r| r.template);
    let share_link = route.is_some_and(|r| r.share_link);
    let outcome = catch_unwind(AssertUnwindSafe(|| match found {
        Some((route, param)) => {
            limit(req, app, route)?;
            route.dispatch(req, app, param)
        }
        None => Err(ApiError::NotFound),
    }));
    let response = match outcome {
        Ok(Ok(resp)) => resp,
        Ok(Err(e)) => {
            log_failure(req, template, &e);
            // A share link answers errors in the form its success would have taken.
            if share_link && share_link::renders_page(req) {
                share_page::error(&e)
            } else {
                e.into_response()
            }
        }
        Err(_) => {
            let e = ApiError::Internal(InternalError::Panic);
            log_failure(req, template, &e);
            e.into_response()
        }
    };
    // Everything under /share/ is for one recipient: never indexed, whatever the status.
    let response = if share_link {
        response.with_unique_header("X-Robots-Tag", "noindex, nofollow")
    } else {
        response
    };
    let response = response.with_unique_header("X-Request-Id", request_id.to_string());
    for report in app.anonymous_audit.take_reports() {
        let line = unrecorded_line(&report);
        match app.log_format {
            LogFormat::Text => log_line(line),
            LogFormat::Json => log_line(
                serde_json::json!({
                    "time": crate::timefmt::rfc3339(crate::timefmt::now_unix()),
                    "event": "audit_unrecorded",
                    "message": line,
                })
                .to_string(),
            ),
        }
    }
    let took = started.elapsed();
    app.metrics
        .request(template, req.method(), response.status_code, took);
    log_line(request_line(
        app.log_format,
        &RequestLine {
            time: crate::timefmt::now_unix(),
            request_id,
            remote_ip: req.remote_addr().ip(),
            method: log_method(req),
            template,
            status: response.status_code,
            took,
        },
    ));
    CURRENT.set(None);
    response
}

/// A random id for one request: 64 bits, so ids do not repeat in any log a person reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestId(u64);

impl RequestId {
    /// Distinct within a run (a counter through a bijection), and unrelated across runs
    /// (the counter starts at a random point): no system call per request.
    fn new() -> RequestId {
        use std::sync::OnceLock;
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: OnceLock<AtomicU64> = OnceLock::new();
        // If the system's generator fails, ids are still distinct within this run.
        let next = NEXT.get_or_init(|| AtomicU64::new(getrandom::u64().unwrap_or(1)));
        RequestId(splitmix64(next.fetch_add(1, Ordering::Relaxed)))
    }
}

/// SplitMix64's finalizer: a bijection on `u64` that scatters consecutive inputs.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Writes one log line to stderr in a single `write` (`eprintln!` makes two: the text, then
/// the newline), so concurrent lines never interleave and each costs one system call.
pub(super) fn log_line(mut line: String) {
    use std::io::Write;
    line.push('\n');
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

thread_local! {
    /// The request this worker thread is handling, and the log format, for failure lines
    /// logged from inside handlers (which do not carry them).
    static CURRENT: Cell<Option<(RequestId, LogFormat)>> = const { Cell::new(None) };
}

/// The fields of one request log line; all of them are the server's own or filtered.
struct RequestLine<'a> {
    time: i64,
    request_id: RequestId,
    /// The TCP peer (a proxy's address behind one, as before).
    remote_ip: std::net::IpAddr,
    /// Already filtered by [`log_method`].
    method: &'a str,
    template: &'a str,
    status: u16,
    took: Duration,
}

/// The request log line in `format`: `TIME REQUEST-ID IP METHOD TEMPLATE STATUS
/// DURATIONms`, or one JSON object.
fn request_line(format: LogFormat, l: &RequestLine<'_>) -> String {
    let time = crate::timefmt::rfc3339(l.time);
    match format {
        LogFormat::Text => format!(
            "{time} {} {} {} {} {} {}ms",
            l.request_id,
            l.remote_ip,
            l.method,
            l.template,
            l.status,
            l.took.as_millis()
        ),
        LogFormat::Json => serde_json::json!({
            "time": time,
            "event": "request",
            "request_id": l.request_id.to_string(),
            "remote_ip": l.remote_ip.to_string(),
            "method": l.method,
            "route": l.template,
            "status": l.status,
            // Microsecond resolution: most requests take well under a millisecond.
            "duration_ms": l.took.as_micros() as f64 / 1000.0,
        })
        .to_string(),
    }
}

/// The log's account of anonymous attempts a closed minute left without their own audit
/// record (the evidence the per-address aggregation and the global budget keep).
fn unrecorded_line(report: &MinuteReport) -> String {
    let busiest: Vec<String> = report
        .busiest
        .iter()
        .map(|(ip, n)| format!("{ip} x{n}"))
        .collect();
    format!(
        "audit: {} anonymous attempts in the minute from {} were answered without a record of their own (one dead-link record per address and minute, at most {} anonymous records a minute){}{}",
        report.unrecorded,
        crate::timefmt::rfc3339(report.start),
        RECORDS_PER_MINUTE,
        if busiest.is_empty() {
            ""
        } else {
            "; busiest: "
        },
        busiest.join(", ")
    )
}

/// Logs a failure inside the server (never a client's mistake) with its whole cause chain,
/// and the id of the request it failed.
pub fn log_failure(req: &Request, template: &str, e: &ApiError) {
    if let Some(cause) = e.log_cause() {
        log_line(failure_line(
            CURRENT.get(),
            log_method(req),
            template,
            &cause,
        ));
    }
}

fn failure_line(
    current: Option<(RequestId, LogFormat)>,
    method: &str,
    template: &str,
    cause: &str,
) -> String {
    match current {
        Some((id, LogFormat::Json)) => serde_json::json!({
            "time": crate::timefmt::rfc3339(crate::timefmt::now_unix()),
            "event": "error",
            "request_id": id.to_string(),
            "method": method,
            "route": template,
            "error": cause,
        })
        .to_string(),
        Some((id, LogFormat::Text)) => {
            format!("error: {method} {template}: {cause} (request {id})")
        }
        None => format!("error: {method} {template}: {cause}"),
    }
}

/// The method as it may appear in the log: a client chooses it, so anything but a plain
/// token (which could forge a line or carry terminal escapes) is shown as `?`.
fn log_method(req: &Request) -> &str {
    let m = req.method();
    if !m.is_empty() && m.len() <= 16 && m.bytes().all(|b| b.is_ascii_uppercase()) {
        m
    } else {
        "?"
    }
}

/// Draws from the caller's rate-limit budget for this route; a refusal is a 429 with
/// `Retry-After`, audited at most once a minute per client and class.
fn limit(req: &Request, app: &App, route: &RouteDef) -> Result<(), ApiError> {
    match route.limit {
        Some(class) => limit_class(req, app, class),
        None => Ok(()),
    }
}

/// Takes a token from `class`'s bucket for the request's address, or refuses with 429. For
/// a handler whose request needs a stricter budget than its route's (an unauthenticated
/// password check on a route that otherwise needs a session).
pub(super) fn limit_class(req: &Request, app: &App, class: Class) -> Result<(), ApiError> {
    let ip = auth::client_ip(req, app.trust_proxy);
    let Err(refusal) = app.rate_limiter.check(class, ip, Instant::now()) else {
        return Ok(());
    };
    app.metrics.rate_limited(class);
    // Ownerless and anonymous: recorded within the global budget for such records.
    if refusal.audit && app.anonymous_audit.ownerless(app.now()) {
        let event = Event::ok(Action::RateLimitHit, None, None).outcome(class.outcome());
        app.store()?
            .record_event(&auth::anonymous(req, app), event, app.now())?;
    }
    Err(ApiError::TooManyRequests {
        retry_after_secs: refusal.retry_after_secs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route_of(path: &str) -> Option<(&'static str, &str)> {
        find(path).map(|(r, p)| (r.template, p))
    }

    #[test]
    fn paths_match_templates_segment_by_segment() {
        assert_eq!(route_of("/healthz"), Some(("/healthz", "")));
        assert_eq!(route_of("/secrets/x1"), Some(("/secrets/{id}", "x1")));
        assert_eq!(
            route_of("/secrets/x1/shares"),
            Some(("/secrets/{id}/shares", "x1"))
        );
        assert_eq!(route_of("/account/email"), Some(("/account/email", "")));
        assert_eq!(route_of("/share/tok"), Some(("/share/{token}", "tok")));
        for miss in [
            "",
            "/",
            "healthz",
            "/healthz/",
            "/secrets/",
            "/secrets//share",
            "/a/b/c/d",
        ] {
            assert_eq!(route_of(miss), None, "{miss:?}");
        }
    }

    #[test]
    fn a_request_line_is_text_or_one_json_object_with_the_same_fields() {
        let line = RequestLine {
            time: 1_700_000_000,
            request_id: RequestId(0x00ab_cdef_0123_4567),
            remote_ip: "192.0.2.7".parse().unwrap(),
            method: "GET",
            template: "/secrets/{id}",
            status: 404,
            took: Duration::from_micros(2_345),
        };
        assert_eq!(
            request_line(LogFormat::Text, &line),
            "2023-11-14T22:13:20Z 00abcdef01234567 192.0.2.7 GET /secrets/{id} 404 2ms"
        );
        let json = request_line(LogFormat::Json, &line);
        assert!(!json.contains('\n'));
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "time": "2023-11-14T22:13:20Z",
                "event": "request",
                "request_id": "00abcdef01234567",
                "remote_ip": "192.0.2.7",
                "method": "GET",
                "route": "/secrets/{id}",
                "status": 404,
                "duration_ms": 2.345,
            })
        );
    }

    #[test]
    fn a_failure_line_carries_the_request_id() {
        let id = RequestId(1);
        assert_eq!(
            failure_line(Some((id, LogFormat::Text)), "GET", "/audit", "disk on fire"),
            "error: GET /audit: disk on fire (request 0000000000000001)"
        );
        assert_eq!(
            failure_line(None, "GET", "/audit", "disk on fire"),
            "error: GET /audit: disk on fire"
        );
        let v: serde_json::Value = serde_json::from_str(&failure_line(
            Some((id, LogFormat::Json)),
            "GET",
            "/audit",
            "a \"quoted\"\ncause",
        ))
        .unwrap();
        assert_eq!(v["event"], "error");
        assert_eq!(v["request_id"], "0000000000000001");
        assert_eq!(v["route"], "/audit");
        assert_eq!(v["error"], "a \"quoted\"\ncause");
    }

    #[test]
    fn request_ids_are_sixteen_hex_digits_and_differ() {
        let ids: std::collections::HashSet<String> =
            (0..1000).map(|_| RequestId::new().to_string()).collect();
        assert_eq!(ids.len(), 1000);
        assert!(
            ids.iter()
                .all(|id| id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit()))
        );
    }

    #[test]
    fn the_table_is_well_formed() {
        let mut seen = std::collections::HashSet::new();
        for r in ROUTES {
            assert!(seen.insert(r.template), "duplicate {}", r.template);
            // A handler gets the last parameter; a template with two (team members) has its
            // handler read the first from the path itself.
            assert!(
                r.template.matches('{').count() <= 2,
                "{}: at most two parameters",
                r.template
            );
            assert!(!r.methods.is_empty(), "{}", r.template);
            let mut methods: Vec<&str> = r.methods.iter().map(|(m, _)| *m).collect();
            methods.dedup();
            assert_eq!(methods.len(), r.methods.len(), "{}", r.template);
        }
        assert_eq!(templates().count(), ROUTES.len());
        let allow = |t: &str| ROUTES.iter().find(|r| r.template == t).unwrap().allow();
        assert_eq!(allow("/secrets/{id}"), "GET, PUT, DELETE");
        assert_eq!(allow("/share/{token}"), "GET, HEAD, POST");
    }
}
