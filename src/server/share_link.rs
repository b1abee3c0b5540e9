//! Public side of share links: `GET`, `HEAD` and `POST /share/{token}`, no account needed.
//!
//! Who gets what:
//! - a GET redeems only when it asks for JSON by name (`Accept: application/json`, preferred
//!   over HTML) and is not a known preview bot; every other GET (browsers, curl's `*/*`, no
//!   `Accept`, mail and chat link scanners) gets the confirmation page, which consumes
//!   nothing, so a scanner cannot burn a one-view link before its recipient sees it;
//! - a POST that does not prefer HTML (curl -X POST, `secretctl open`) redeems and gets JSON;
//!   a browser redeems only by POSTing the page's form with its reveal nonce;
//! - HEAD never redeems.
//!
//! Unknown, expired, used-up and revoked tokens all get the same 404.

use rouille::{Request, Response};

use super::{ApiError, App, auth, body, respond, share_page};
use crate::api::{RedeemShare, Redeemed};
use crate::sensitive::{ExposeSecret, SecretString};
use crate::service::shares::{self as service, Attempt, LiveShare};
use crate::timefmt::rfc3339;

/// This route's log template.
const TEMPLATE: &str = "/share/{token}";

/// Largest reveal-form body; the form has two short fields.
const MAX_FORM_BYTES: usize = 8 * 1024;

/// `GET /share/{token}`.
pub fn get(req: &Request, app: &App, token: &str) -> Result<Response, ApiError> {
    if get_redeems(req) {
        redeem_json(req, app, token, None)
    } else {
        Ok(confirmation(req, app, token, None))
    }
}

/// `HEAD /share/{token}`: never redeems.
pub fn head(req: &Request, app: &App, token: &str) -> Result<Response, ApiError> {
    Ok(confirmation(req, app, token, None))
}

/// `POST /share/{token}`: a browser's form, or an API client's redemption.
pub fn post(req: &Request, app: &App, token: &str) -> Result<Response, ApiError> {
    if wants_html(req) {
        return Ok(reveal_from_form(req, app, token));
    }
    let input: RedeemShare = body::read_optional_json(req)?.unwrap_or_default();
    redeem_json(req, app, token, input.passphrase.as_ref())
}

/// One redemption attempt through the service, as this client.
fn attempt(
    req: &Request,
    app: &App,
    token: &str,
    passphrase: Option<&SecretString>,
    expected_views: Option<u32>,
) -> Result<Attempt, ApiError> {
    let attempted = (|| {
        let store = app.store()?;
        let actor = auth::anonymous(req, app);
        Ok(service::redeem(
            &app.ctx(&store),
            &actor,
            token,
            passphrase,
            expected_views,
        )?)
    })();
    app.metrics
        .redemption(super::metrics::Redemption::of(&attempted));
    attempted
}

fn live_share(app: &App, token: &str) -> Result<Option<LiveShare>, ApiError> {
    let store = app.store()?;
    Ok(service::find_live(&app.ctx(&store), token)?)
}

fn redeem_json(
    req: &Request,
    app: &App,
    token: &str,
    passphrase: Option<&SecretString>,
) -> Result<Response, ApiError> {
    match attempt(req, app, token, passphrase, None)? {
        Attempt::Redeemed { snapshot, share } => Ok(share_headers(respond::json(
            200,
            &Redeemed {
                name: snapshot.name,
                value: snapshot.value,
                expires_at: rfc3339(share.expires_at),
                views_left: share.views_left,
            },
        ))),
        Attempt::PassphraseMissing => Err(ApiError::WrongPassphrase(
            "this link needs a passphrase".into(),
        )),
        Attempt::WrongPassphrase {
            destroyed: true, ..
        } => Err(ApiError::WrongPassphrase(
            "wrong passphrase; too many wrong tries, so the link has been destroyed".into(),
        )),
        Attempt::WrongPassphrase { tries_left, .. } => Err(ApiError::WrongPassphrase(format!(
            "wrong passphrase; {} before the link is destroyed",
            tries_phrase(tries_left)
        ))),
        Attempt::NotFound | Attempt::Stale => Err(ApiError::NotFound),
    }
}

/// The confirmation page (or the not-found page); consumes nothing.
fn confirmation(req: &Request, app: &App, token: &str, error: Option<&str>) -> Response {
    match live_share(app, token) {
        Ok(Some(LiveShare {
            lookup,
            record: share,
        })) => {
            let recorded = app.store().and_then(|store| {
                let actor = auth::anonymous(req, app);
                Ok(service::record_page_view(&app.ctx(&store), &actor, &share)?)
            });
            if let Err(e) = recorded {
                return error_page(req, &e);
            }
            let nonce = app
                .reveal_nonces
                .issue(lookup.as_bytes(), app.now(), share.views_left);
            share_page::confirm(
                share.views_left,
                share.expires_at,
                share.passphrase_salt.is_some(),
                &nonce,
                error,
            )
        }
        Ok(None) => share_page::not_found(None),
        Err(e) => error_page(req, &e),
    }
}

/// A browser's POST: redeems only with a valid reveal nonce, else shows the page again.
fn reveal_from_form(req: &Request, app: &App, token: &str) -> Response {
    let form = read_form(req);
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    // The nonce is bound to the view count the page was rendered with; that count is then
    // required again inside the redeeming transaction.
    let views_seen = match live_share(app, token) {
        Ok(Some(LiveShare {
            lookup,
            record: share,
        })) => field("nonce")
            .is_some_and(|n| {
                app.reveal_nonces
                    .check(n, lookup.as_bytes(), app.now(), share.views_left)
            })
            .then_some(share.views_left),
        Ok(None) => return share_page::not_found(None),
        Err(e) => return error_page(req, &e),
    };
    let Some(views_seen) = views_seen else {
        // A form auto-submit or a scanner: show the page again, consume nothing.
        return confirmation(req, app, token, None);
    };
    let passphrase = field("passphrase")
        .filter(|p| !p.is_empty())
        .map(|p| SecretString::from(p.to_string()));
    match attempt(req, app, token, passphrase.as_ref(), Some(views_seen)) {
        Ok(Attempt::Redeemed { snapshot, share }) => share_page::reveal(
            &snapshot.name,
            snapshot.value.expose_secret(),
            share.views_left,
            share.expires_at,
        ),
        Ok(Attempt::PassphraseMissing) => {
            confirmation(req, app, token, Some("Enter the passphrase."))
        }
        Ok(Attempt::WrongPassphrase {
            destroyed: true, ..
        }) => share_page::not_found(Some(
            "Too many wrong passphrases: the link has been destroyed.",
        )),
        Ok(Attempt::WrongPassphrase { tries_left, .. }) => confirmation(
            req,
            app,
            token,
            Some(&format!(
                "Wrong passphrase. {} before the link is destroyed.",
                tries_phrase(tries_left)
            )),
        ),
        Ok(Attempt::Stale) => confirmation(req, app, token, None),
        Ok(Attempt::NotFound) => share_page::not_found(None),
        Err(e) => error_page(req, &e),
    }
}

/// A failure rendered as a page; a failure inside the server is logged first, as the
/// router does for the errors it renders.
fn error_page(req: &Request, e: &ApiError) -> Response {
    super::router::log_failure(req, TEMPLATE, e);
    share_page::error(e)
}

fn tries_phrase(n: u32) -> String {
    if n == 1 {
        "1 try left".into()
    } else {
        format!("{n} tries left")
    }
}

/// Share responses are for one person only: never indexed, cached or leaked via referrer.
fn share_headers(resp: Response) -> Response {
    resp.with_unique_header("X-Robots-Tag", "noindex, nofollow")
}

/// The highest quality `Accept` gives to HTML and to JSON (`text/html` or
/// `application/xhtml+xml`; `application/json` by name, never through `*/*` or
/// `application/*`); 0 for a type it does not list.
fn accept_quality(req: &Request) -> (f32, f32) {
    let Some(accept) = req.header("Accept") else {
        return (0.0, 0.0);
    };
    let (mut html, mut json) = (0.0f32, 0.0f32);
    for item in accept.split(',') {
        let mut parts = item.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        match media.as_str() {
            "text/html" | "application/xhtml+xml" => html = html.max(q),
            "application/json" => json = json.max(q),
            _ => {}
        }
    }
    (html, json)
}

/// Whether the client prefers HTML over JSON (browsers do; curl's `*/*` does not).
pub fn wants_html(req: &Request) -> bool {
    let (html, json) = accept_quality(req);
    html > 0.0 && html >= json
}

/// Whether a GET redeems: it names `application/json` and prefers it to HTML, and does not
/// come from a known preview bot. A wildcard is what scanners send, so it never redeems.
pub fn get_redeems(req: &Request) -> bool {
    let (html, json) = accept_quality(req);
    json > 0.0 && json > html && !is_preview_bot(req)
}

/// Whether this request's answer (and so its error) is a page rather than JSON.
pub fn renders_page(req: &Request) -> bool {
    match req.method() {
        "GET" => !get_redeems(req),
        "HEAD" => true,
        _ => wants_html(req),
    }
}

/// Link unfurlers and scanners that fetch a pasted URL; a GET from them must not redeem,
/// whatever `Accept` they send.
pub fn is_preview_bot(req: &Request) -> bool {
    let Some(ua) = req.header("User-Agent") else {
        return false;
    };
    let ua = ua.to_ascii_lowercase();
    [
        "bot",
        "crawler",
        "spider",
        "preview",
        "facebookexternalhit",
        "whatsapp",
        "skypeuripreview",
        "microsoft office",
        "embedly",
        "slack",
        "iframely",
        "scanner",
    ]
    .iter()
    .any(|marker| ua.contains(marker))
}

/// Parses an `application/x-www-form-urlencoded` body (bounded); anything else is empty.
fn read_form(req: &Request) -> Vec<(String, String)> {
    let Ok(bytes) = body::read_raw(req, "application/x-www-form-urlencoded") else {
        return Vec::new();
    };
    if bytes.len() > MAX_FORM_BYTES {
        return Vec::new();
    }
    let text = String::from_utf8_lossy(&bytes);
    text.split('&')
        .filter_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            Some((form_decode(k)?, form_decode(v)?))
        })
        .collect()
}

fn form_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(headers: &[(&str, &str)]) -> Request {
        Request::fake_http(
            "GET",
            "/share/x",
            headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            vec![],
        )
    }

    #[test]
    fn negotiation() {
        let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
        assert!(wants_html(&req(&[("Accept", browser)])));
        assert!(!wants_html(&req(&[("Accept", "*/*")])));
        assert!(!wants_html(&req(&[("Accept", "application/json")])));
        assert!(!wants_html(&req(&[(
            "Accept",
            "application/json, text/html;q=0.5"
        )])));
        assert!(!wants_html(&req(&[])));
        // A GET redeems only when JSON is asked for by name.
        assert!(get_redeems(&req(&[("Accept", "application/json")])));
        assert!(get_redeems(&req(&[(
            "Accept",
            "application/json, text/html;q=0.5"
        )])));
        for accept in [
            "*/*",
            "application/*",
            "text/html, application/json",
            "application/json;q=0",
            browser,
        ] {
            assert!(!get_redeems(&req(&[("Accept", accept)])), "{accept}");
        }
        assert!(!get_redeems(&req(&[])));
        assert!(!get_redeems(&req(&[
            ("Accept", "application/json"),
            ("User-Agent", "Slackbot-LinkExpanding 1.0")
        ])));
        assert!(is_preview_bot(&req(&[(
            "User-Agent",
            "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"
        )])));
        assert!(!is_preview_bot(&req(&[("User-Agent", "curl/8.5.0")])));
        assert!(!is_preview_bot(&req(&[("User-Agent", "secretctl/0.1.0")])));
    }

    #[test]
    fn form_decoding() {
        assert_eq!(form_decode("a+b%21%C3%A9").as_deref(), Some("a b!é"));
        assert_eq!(form_decode("%zz"), None);
        assert_eq!(form_decode("%4"), None);
    }
}
