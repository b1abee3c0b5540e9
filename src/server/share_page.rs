//! HTML pages for share links, for people in browsers (and for the preview bots that fetch
//! links pasted into chat and mail, which must never burn a view).
//!
//! Pages are self-contained: inline CSS and JS allowed only by a per-response CSP nonce, no
//! external assets, no referrer, no caching, no indexing, no framing. The reveal form carries
//! a server-issued nonce that only the page's script copies into the form on a real submit,
//! so a scanner that auto-submits the form (or `form.submit()`s it) posts without it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use rouille::Response;
use sha2::Sha256;

use crate::crypto::{CryptoError, fill_random};
use crate::timefmt::rfc3339;

/// How long a rendered page's reveal nonce stays valid.
const NONCE_TTL_SECS: i64 = 3600;

/// Issues and checks reveal nonces: `issued.HMAC(key, lookup | issued | views_left)`.
/// Binding the view count makes a nonce useless after the view it was issued for, so a
/// browser re-POST (reload) cannot silently spend another view of a multi-view link.
pub struct RevealNonces {
    key: zeroize::Zeroizing<[u8; 32]>,
}

impl RevealNonces {
    /// A fresh per-process key: restarting the server invalidates open pages (reload fixes).
    pub fn new() -> Result<Self, CryptoError> {
        let mut key = zeroize::Zeroizing::new([0u8; 32]);
        fill_random(key.as_mut())?;
        Ok(RevealNonces { key })
    }

    fn mac(&self, lookup: &[u8; 32], issued: i64, views_left: u32) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(self.key.as_ref())
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(b"secretctl/reveal-nonce/v1\0");
        mac.update(lookup);
        mac.update(&issued.to_be_bytes());
        mac.update(&views_left.to_be_bytes());
        mac
    }

    /// A nonce for a page rendered at `now`.
    pub fn issue(&self, lookup: &[u8; 32], now: i64, views_left: u32) -> String {
        let tag = self.mac(lookup, now, views_left).finalize().into_bytes();
        format!("{now}.{}", URL_SAFE_NO_PAD.encode(tag))
    }

    /// Whether `nonce` was issued by us, recently, for this share in its current state.
    pub fn check(&self, nonce: &str, lookup: &[u8; 32], now: i64, views_left: u32) -> bool {
        let Some((issued, tag)) = nonce.split_once('.') else {
            return false;
        };
        let Ok(issued) = issued.parse::<i64>() else {
            return false;
        };
        if issued > now + 60 || now - issued > NONCE_TTL_SECS {
            return false;
        }
        let Ok(tag) = URL_SAFE_NO_PAD.decode(tag) else {
            return false;
        };
        // Constant-time comparison.
        self.mac(lookup, issued, views_left)
            .verify_slice(&tag)
            .is_ok()
    }
}

/// Escapes text for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;background:#f4f5f7;color:#1d2330;margin:0}\
main{max-width:40rem;margin:3rem auto;padding:2rem;background:#fff;border-radius:10px;box-shadow:0 1px 4px rgba(0,0,0,.12)}\
h1{font-size:1.4rem;margin-top:0}pre{background:#f0f2f5;padding:1rem;border-radius:6px;white-space:pre-wrap;word-break:break-all;font-size:1rem}\
button{font-size:1rem;padding:.6rem 1.2rem;border:0;border-radius:6px;background:#2457d6;color:#fff;cursor:pointer}\
input[type=password]{font-size:1rem;padding:.5rem;width:100%;box-sizing:border-box;margin:.3rem 0 1rem}\
.error{color:#b00020;font-weight:600}.muted{color:#5b6475;font-size:.9rem}";

fn csp_nonce() -> String {
    let mut raw = [0u8; 16];
    // Falling back to a fixed value would defeat the CSP; an all-zero nonce is only used if
    // the OS RNG fails, in which case token generation has failed long before.
    let _ = fill_random(&mut raw);
    URL_SAFE_NO_PAD.encode(raw)
}

fn page(status: u16, title: &str, body: &str, script: Option<&str>) -> Response {
    let nonce = csp_nonce();
    let script = script
        .map(|s| format!("<script nonce=\"{nonce}\">{s}</script>"))
        .unwrap_or_default();
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<meta name=\"robots\" content=\"noindex,nofollow\"><title>{title} · secretctl</title>\
<style nonce=\"{nonce}\">{STYLE}</style></head><body><main>{body}</main>{script}</body></html>"
    );
    let csp = format!(
        "default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; \
form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    );
    super::respond::with_standard_headers(
        Response::from_data("text/html; charset=utf-8", html).with_status_code(status),
    )
    .with_unique_header("Content-Security-Policy", csp)
    .with_unique_header("X-Frame-Options", "DENY")
    .with_unique_header("X-Robots-Tag", "noindex, nofollow")
}

fn views_phrase(n: u32) -> String {
    if n == 1 {
        "1 more time".into()
    } else {
        format!("{n} more times")
    }
}

const REVEAL_SCRIPT: &str = "document.getElementById('reveal').addEventListener('submit',function(){\
var b=document.getElementById('reveal-button');document.getElementById('nonce').value=b.dataset.nonce;});";

/// "A secret is waiting": no name, no value, nothing consumed.
pub fn confirm(
    views_left: u32,
    expires_at: i64,
    needs_passphrase: bool,
    reveal_nonce: &str,
    error: Option<&str>,
) -> Response {
    let status = if error.is_some() { 403 } else { 200 };
    let error = error
        .map(|e| format!("<p class=\"error\" id=\"error\">{}</p>", escape(e)))
        .unwrap_or_default();
    let passphrase = if needs_passphrase {
        "<label for=\"passphrase\">This secret is protected by a passphrase; the sender should have sent it to you separately.</label>\
<input type=\"password\" name=\"passphrase\" id=\"passphrase\" autocomplete=\"off\" required autofocus>"
    } else {
        ""
    };
    let last = if views_left == 1 {
        " After that it is deleted from the server."
    } else {
        ""
    };
    let body = format!(
        "<h1>Someone shared a secret with you</h1>\
<p>It can be viewed <strong id=\"views-left\">{views}</strong> and expires at <time id=\"expires-at\">{expires}</time>.</p>\
<p>Revealing it uses up one view.{last}</p>{error}\
<form id=\"reveal\" method=\"post\" autocomplete=\"off\"><input type=\"hidden\" name=\"nonce\" id=\"nonce\" value=\"\">{passphrase}\
<button type=\"submit\" id=\"reveal-button\" data-nonce=\"{nonce}\">Reveal secret</button></form>\
<noscript><p class=\"error\">JavaScript is needed to reveal the secret: it keeps link scanners from using it up.</p></noscript>",
        views = views_phrase(views_left),
        expires = rfc3339(expires_at),
        nonce = escape(reveal_nonce),
    );
    page(status, "A secret is waiting", &body, Some(REVEAL_SCRIPT))
}

const COPY_SCRIPT: &str = "document.getElementById('copy').addEventListener('click',function(){\
var b=this;navigator.clipboard.writeText(document.getElementById('value').textContent).then(\
function(){b.textContent='Copied';},function(){b.textContent='Copy failed: select the text instead';});});";

/// The revealed value, with a copy button.
pub fn reveal(name: &str, value: &str, views_left: u32, expires_at: i64) -> Response {
    let after = if views_left == 0 {
        "It has now been deleted from the server: this link will not work again.".to_string()
    } else {
        format!(
            "This link can be used {} until {}.",
            views_phrase(views_left),
            rfc3339(expires_at)
        )
    };
    let body = format!(
        "<h1>Here is your secret</h1><p class=\"muted\">Name: <span id=\"name\">{name}</span></p>\
<pre id=\"value\">{value}</pre><button type=\"button\" id=\"copy\">Copy to clipboard</button>\
<p id=\"gone\">{after}</p><p class=\"muted\">Store it somewhere safe now; reloading this page will not show it again.</p>",
        name = escape(name),
        value = escape(value),
    );
    page(200, "Your secret", &body, Some(COPY_SCRIPT))
}

/// An error page for a browser (rate limited, shutting down, internal): same status and
/// message as the JSON error, never internals.
pub fn error(e: &super::ApiError) -> Response {
    let body = format!(
        "<h1 id=\"error-page\">Something went wrong</h1><p class=\"error\">{}</p><p>Try again in a moment.</p>",
        escape(&e.public_message())
    );
    let mut resp = page(e.status(), "Error", &body, None);
    if let super::ApiError::TooManyRequests { retry_after_secs } = e {
        resp = resp.with_additional_header("Retry-After", retry_after_secs.to_string());
    }
    resp
}

/// The one page for unknown, expired, used-up and revoked links alike.
pub fn not_found(extra: Option<&str>) -> Response {
    let extra = extra
        .map(|e| format!("<p class=\"error\">{}</p>", escape(e)))
        .unwrap_or_default();
    let body = format!(
        "<h1 id=\"not-found\">This link does not work</h1>{extra}\
<p>It has expired, has been used up or revoked, or never existed. Ask the sender for a new one.</p>"
    );
    page(404, "Link not available", &body, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_bind_share_state_and_time() {
        let n = RevealNonces::new().unwrap();
        let lookup = [3; 32];
        let nonce = n.issue(&lookup, 1000, 2);
        assert!(n.check(&nonce, &lookup, 1000, 2));
        assert!(n.check(&nonce, &lookup, 1000 + NONCE_TTL_SECS, 2));
        assert!(
            !n.check(&nonce, &lookup, 1001 + NONCE_TTL_SECS, 2),
            "too old"
        );
        assert!(!n.check(&nonce, &lookup, 1000, 1), "a view was used since");
        assert!(!n.check(&nonce, &[4; 32], 1000, 2), "another share");
        assert!(!n.check("", &lookup, 1000, 2));
        assert!(!n.check("1000.AAAA", &lookup, 1000, 2));
        let other = RevealNonces::new().unwrap();
        assert!(!other.check(&nonce, &lookup, 1000, 2), "another server key");
    }

    #[test]
    fn escapes_markup() {
        assert_eq!(escape("<script>\"&'"), "&lt;script&gt;&quot;&amp;&#39;");
    }
}
