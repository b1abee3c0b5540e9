//! Routing, the request log, and the one place errors and panics become responses.
//!
//! The log line holds time, client address, method, route template, status and duration:
//! never the query string, headers or body, which may carry tokens or values.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Instant;

use rouille::{Request, Response};

use super::ratelimit::Class;
use super::{
    ApiError, App, accounts, audit, auth, profile, respond, secrets, share_link, share_page, shares,
};
use crate::api::Health;
use crate::store::Event;

/// The routes of the API; path parameters are carried in the variant.
enum Route<'a> {
    Health,
    Register,
    Login,
    Logout,
    Account,
    AccountEmail,
    Audit,
    Secrets,
    SecretsRead,
    Secret(&'a str),
    SecretShare(&'a str),
    SecretShares(&'a str),
    Share(&'a str),
    ShareLink(&'a str),
}

impl<'a> Route<'a> {
    fn parse(path: &'a str) -> Option<Self> {
        let rest = path.strip_prefix('/')?;
        let mut segs = rest.split('/');
        let route = match (segs.next()?, segs.next(), segs.next()) {
            ("healthz", None, _) => Route::Health,
            ("register", None, _) => Route::Register,
            ("login", None, _) => Route::Login,
            ("logout", None, _) => Route::Logout,
            ("account", None, _) => Route::Account,
            ("account", Some("email"), None) => Route::AccountEmail,
            ("secrets", None, _) => Route::Secrets,
            ("audit", None, _) => Route::Audit,
            // Before `Secret(id)`: ids are random and never `read`.
            ("secrets", Some("read"), None) => Route::SecretsRead,
            ("secrets", Some(id), None) if !id.is_empty() => Route::Secret(id),
            ("secrets", Some(id), Some("share")) if !id.is_empty() => Route::SecretShare(id),
            ("secrets", Some(id), Some("shares")) if !id.is_empty() => Route::SecretShares(id),
            ("shares", Some(id), None) if !id.is_empty() => Route::Share(id),
            ("share", Some(token), None) if !token.is_empty() => Route::ShareLink(token),
            _ => return None,
        };
        segs.next().is_none().then_some(route)
    }

    fn template(&self) -> &'static str {
        match self {
            Route::Health => "/healthz",
            Route::Register => "/register",
            Route::Login => "/login",
            Route::Logout => "/logout",
            Route::Account => "/account",
            Route::AccountEmail => "/account/email",
            Route::Secrets => "/secrets",
            Route::SecretsRead => "/secrets/read",
            Route::Audit => "/audit",
            Route::Secret(_) => "/secrets/{id}",
            Route::SecretShare(_) => "/secrets/{id}/share",
            Route::SecretShares(_) => "/secrets/{id}/shares",
            Route::Share(_) => "/shares/{share_id}",
            // Never the token itself: the log must not hold a working link.
            Route::ShareLink(_) => "/share/{token}",
        }
    }
}

/// Entry point for every request.
pub fn handle(req: &Request, app: &App) -> Response {
    let started = Instant::now();
    let path = req.url();
    let route = Route::parse(&path);
    let template = route.as_ref().map_or("(unknown)", Route::template);
    let outcome = catch_unwind(AssertUnwindSafe(|| match &route {
        Some(r) => {
            limit(req, app, r)?;
            dispatch(req, app, r)
        }
        None => Err(ApiError::NotFound),
    }));
    let response = match outcome {
        Ok(Ok(resp)) => resp,
        // A browser on a share link gets its error as a page.
        Ok(Err(e)) if matches!(route, Some(Route::ShareLink(_))) && share_link::wants_html(req) => {
            share_page::error(&e)
        }
        Ok(Err(e)) => {
            if let ApiError::Internal(cause) | ApiError::AuditUnavailable(cause) = &e {
                eprintln!("error: {} {template}: {cause}", log_method(req));
            }
            e.into_response()
        }
        Err(_) => {
            eprintln!("error: {} {template}: handler panicked", log_method(req));
            ApiError::Internal("panic".into()).into_response()
        }
    };
    // Everything under /share/ is for one recipient: never indexed, whatever the status.
    let response = if matches!(route, Some(Route::ShareLink(_))) {
        response.with_unique_header("X-Robots-Tag", "noindex, nofollow")
    } else {
        response
    };
    eprintln!(
        "{} {} {} {} {} {}ms",
        crate::timefmt::rfc3339(crate::timefmt::now_unix()),
        req.remote_addr().ip(),
        log_method(req),
        template,
        response.status_code,
        started.elapsed().as_millis()
    );
    response
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
fn limit(req: &Request, app: &App, route: &Route) -> Result<(), ApiError> {
    let class = match route {
        // Load balancers poll this; it does no work worth protecting.
        Route::Health => return Ok(()),
        Route::Login | Route::Register => Class::Auth,
        Route::ShareLink(_) => Class::Share,
        _ => Class::General,
    };
    let ip = auth::client_ip(req, app.trust_proxy);
    let Err(refusal) = app.rate_limiter.check(class, ip, Instant::now()) else {
        return Ok(());
    };
    if refusal.audit {
        let event = Event::ok("rate_limit.hit", None, None).outcome(class.as_str());
        app.store()?
            .record_event(&auth::anonymous(req, app), event, app.now())?;
    }
    Err(ApiError::TooManyRequests {
        retry_after_secs: refusal.retry_after_secs,
    })
}

fn dispatch(req: &Request, app: &App, route: &Route) -> Result<Response, ApiError> {
    let method = req.method();
    match (route, method) {
        (Route::Health, "GET" | "HEAD") => Ok(respond::json(
            200,
            &Health {
                status: "ok".into(),
            },
        )),
        (Route::Register, "POST") => accounts::register(req, app),
        (Route::Login, "POST") => accounts::login(req, app),
        (Route::Logout, "POST") => accounts::logout(req, app),
        (Route::Account, "GET") => profile::show(req, app),
        (Route::AccountEmail, "PUT") => profile::set_email(req, app),
        (Route::Audit, "GET") => audit::list(req, app),
        (Route::Secrets, "POST") => secrets::create(req, app),
        (Route::Secrets, "GET") => secrets::list(req, app),
        (Route::SecretsRead, "POST") => secrets::read_many(req, app),
        (Route::Secret(id), "GET") => secrets::get(req, app, id),
        (Route::Secret(id), "PUT") => secrets::update(req, app, id),
        (Route::Secret(id), "DELETE") => secrets::delete(req, app, id),
        (Route::SecretShare(id), "POST") => shares::create(req, app, id),
        (Route::SecretShares(id), "GET") => shares::list(req, app, id),
        (Route::Share(id), "DELETE") => shares::revoke(req, app, id),
        (Route::ShareLink(token), _) => share_link::handle(req, app, token),
        (Route::Health, _) => Err(ApiError::MethodNotAllowed("GET, HEAD")),
        (Route::Register | Route::Login | Route::Logout, _) => {
            Err(ApiError::MethodNotAllowed("POST"))
        }
        (Route::Account, _) => Err(ApiError::MethodNotAllowed("GET")),
        (Route::AccountEmail, _) => Err(ApiError::MethodNotAllowed("PUT")),
        (Route::Secrets, _) => Err(ApiError::MethodNotAllowed("GET, POST")),
        (Route::SecretsRead, _) => Err(ApiError::MethodNotAllowed("POST")),
        (Route::Audit, _) => Err(ApiError::MethodNotAllowed("GET")),
        (Route::Secret(_), _) => Err(ApiError::MethodNotAllowed("GET, PUT, DELETE")),
        (Route::SecretShare(_), _) => Err(ApiError::MethodNotAllowed("POST")),
        (Route::SecretShares(_), _) => Err(ApiError::MethodNotAllowed("GET")),
        (Route::Share(_), _) => Err(ApiError::MethodNotAllowed("DELETE")),
    }
}
