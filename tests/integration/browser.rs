//! Share links in a real browser: headless Debian Chromium driven by `chromedriver` over the
//! W3C WebDriver protocol (plain HTTP + JSON, spoken with ureq), so the confirmation page's
//! CSP-nonced script, its reveal nonce and the form POST are exercised the way a person's
//! browser does them. Also the raw-HTTP proof that a form POST without the page's nonce (what
//! a scanner that submits forms sends) consumes nothing.
//!
//! Browser tests need the `chromium` and `chromium-driver` packages: without them they fail
//! under CI (`CI` set; `.ci/run` installs both) and are skipped, with a note, elsewhere.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::util::{Reply, Server};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// How long a page load or a post-click navigation may take before a wait fails.
const WAIT: Duration = Duration::from_secs(10);
/// The W3C key under which an element reference is returned.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A value with markup, an ampersand, quotes and a newline: the reveal page must escape it
/// and the browser must show it back byte for byte.
const VALUE: &str = "tr0ub4dor&3 <b>not bold</b> \"quoted\"\nsecond line";
/// The distinctive part of `VALUE`, searched for in pages that must not hold it.
const VALUE_MARKER: &str = "tr0ub4dor";
const NAME: &str = "prod/browser-db";

/// A `chromedriver` process with one headless Chromium session; both end on drop.
struct Browser {
    driver: Child,
    base: String,
    session: String,
    agent: ureq::Agent,
    log: PathBuf,
    /// Holds the Chromium profile and the chromedriver log; removed on drop.
    _dir: tempfile::TempDir,
}

/// A WebDriver error answer: HTTP status plus the protocol's error code and message.
struct WebDriverError {
    status: u16,
    error: String,
    message: String,
}

impl std::fmt::Display for WebDriverError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HTTP {} {}: {}", self.status, self.error, self.message)
    }
}

impl Browser {
    /// A browser, or `None` (after saying so on stderr) when Chromium is not installed and
    /// this is not CI. Under CI a missing browser is a failure, never a silent skip.
    fn start_or_skip() -> Option<Browser> {
        let missing: Vec<&str> = [CHROMIUM, CHROMEDRIVER]
            .into_iter()
            .filter(|p| !Path::new(p).exists())
            .collect();
        if missing.is_empty() {
            return Some(Browser::start());
        }
        assert!(
            std::env::var_os("CI").is_none(),
            "{missing:?} missing under CI: .ci/run must install chromium chromium-driver"
        );
        eprintln!("skipping: install chromium chromium-driver ({missing:?} missing)");
        None
    }

    fn start() -> Browser {
        let dir = tempfile::tempdir().unwrap();
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .proxy(None)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .new_agent();
        // Free-port pick then spawn leaves a small race with other processes; a driver that
        // loses it exits at once, so try again on a fresh port.
        let mut last_failure = String::new();
        for _ in 0..3 {
            let port = free_port();
            let log = dir.path().join(format!("chromedriver-{port}.log"));
            let mut driver = Command::new(CHROMEDRIVER)
                .arg(format!("--port={port}"))
                .arg(format!("--log-path={}", log.display()))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot run {CHROMEDRIVER}: {e}"));
            let base = format!("http://127.0.0.1:{port}");
            if wait_ready(&agent, &base, &mut driver) {
                let session = match new_session(&agent, &base, &dir.path().join("profile")) {
                    Ok(session) => session,
                    Err(e) => {
                        let _ = driver.kill();
                        let _ = driver.wait();
                        panic!(
                            "cannot start a Chromium session: {e}\nchromedriver log:\n{}",
                            read_log(&log)
                        );
                    }
                };
                return Browser {
                    driver,
                    base,
                    session,
                    agent,
                    log,
                    _dir: dir,
                };
            }
            let _ = driver.kill();
            let _ = driver.wait();
            last_failure = read_log(&log);
        }
        panic!("chromedriver did not become ready; last log:\n{last_failure}");
    }

    /// One WebDriver command in this session; the `value` of a success, else the error.
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, WebDriverError> {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        command(&self.agent, method, &url, body)
    }

    /// Like `call`, but a failure panics with the command and the driver log.
    fn must(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.call(method, path, body).unwrap_or_else(|e| {
            panic!(
                "WebDriver {method} {path} failed: {e}\nchromedriver log tail:\n{}",
                self.log_tail()
            )
        })
    }

    /// Loads `url` and waits for the load to finish (the default page load strategy).
    fn navigate(&self, url: &str) {
        self.must("POST", "/url", Some(json!({ "url": url })));
    }

    fn source(&self) -> String {
        self.must("GET", "/source", None)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    fn find(&self, css: &str) -> Result<String, WebDriverError> {
        let v = self.call(
            "POST",
            "/element",
            Some(json!({ "using": "css selector", "value": css })),
        )?;
        Ok(v[ELEMENT_KEY]
            .as_str()
            .unwrap_or_else(|| panic!("find {css:?}: no element reference in {v}"))
            .to_string())
    }

    /// Polls until `css` matches an element on the current page (at most `WAIT`): covers the
    /// navigation that a click on a submit button starts but does not wait for.
    fn wait_for(&self, css: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            match self.find(css) {
                Ok(id) => return id,
                Err(e) if Instant::now() > deadline => panic!(
                    "no element {css:?} after {WAIT:?} (last error: {e})\npage source:\n{}",
                    self.source()
                ),
                Err(_) => std::thread::sleep(Duration::from_millis(25)),
            }
        }
    }

    /// The rendered text of the first element matching `css`, once there is one.
    fn text_of(&self, css: &str) -> String {
        let id = self.wait_for(css);
        self.must("GET", &format!("/element/{id}/text"), None)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    fn click(&self, css: &str) {
        let id = self.wait_for(css);
        self.must("POST", &format!("/element/{id}/click"), Some(json!({})));
    }

    fn type_into(&self, css: &str, text: &str) {
        let id = self.wait_for(css);
        self.must(
            "POST",
            &format!("/element/{id}/value"),
            Some(json!({ "text": text })),
        );
    }

    fn log_tail(&self) -> String {
        let text = read_log(&self.log);
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Ending the session quits Chromium; killing only the driver could orphan it.
        let url = format!("{}/session/{}", self.base, self.session);
        let _ = command(&self.agent, "DELETE", &url, None);
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn read_log(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// Sends one WebDriver request and unwraps the protocol's `{"value": ...}` envelope.
fn command(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    body: Option<Value>,
) -> Result<Value, WebDriverError> {
    let sent = match (method, body) {
        ("GET", _) => agent.get(url).call(),
        ("DELETE", _) => agent.delete(url).call(),
        ("POST", body) => agent.post(url).send_json(body.unwrap_or_else(|| json!({}))),
        _ => unreachable!("WebDriver uses GET, POST and DELETE"),
    };
    let mut resp = sent.map_err(|e| WebDriverError {
        status: 0,
        error: "transport".into(),
        message: e.to_string(),
    })?;
    let status = resp.status().as_u16();
    let answer: Value = resp.body_mut().read_json().map_err(|e| WebDriverError {
        status,
        error: "unreadable answer".into(),
        message: e.to_string(),
    })?;
    let value = answer["value"].clone();
    if status == 200 {
        Ok(value)
    } else {
        Err(WebDriverError {
            status,
            error: value["error"].as_str().unwrap_or("unknown").to_string(),
            message: value["message"].as_str().unwrap_or_default().to_string(),
        })
    }
}

/// Polls `GET /status` until the driver says ready (true) or exits or times out (false).
fn wait_ready(agent: &ureq::Agent, base: &str, driver: &mut Child) -> bool {
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        if driver.try_wait().unwrap().is_some() {
            return false;
        }
        let ready = command(agent, "GET", &format!("{base}/status"), None);
        if ready.is_ok_and(|v| v["ready"] == true) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    false
}

fn new_session(agent: &ureq::Agent, base: &str, profile: &Path) -> Result<String, WebDriverError> {
    let caps = json!({"capabilities": {"alwaysMatch": {
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": [
                "--headless=new",
                // Tests run as root, where Chromium refuses to start sandboxed.
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                // No outside network here: background fetches would only stall or log noise.
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-proxy-server",
                format!("--user-data-dir={}", profile.display()),
            ],
        },
    }}});
    let v = command(agent, "POST", &format!("{base}/session"), Some(caps))?;
    v["sessionId"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| WebDriverError {
            status: 200,
            error: "no sessionId".into(),
            message: v.to_string(),
        })
}

/// Creates `NAME` = `VALUE` for `token`; returns the secret's id.
fn create_secret(s: &Server, token: &str) -> String {
    let r = s.http().post(
        "/secrets",
        Some(token),
        &json!({ "name": NAME, "value": VALUE }),
    );
    assert_eq!(r.status, 201, "creating the secret: {r:?}");
    r.json["id"].as_str().unwrap().to_string()
}

/// Creates a share link of `secret` with `options`; returns the 201 answer's JSON.
fn create_share(s: &Server, token: &str, secret: &str, options: Value) -> Value {
    let r = s
        .http()
        .post(&format!("/secrets/{secret}/share"), Some(token), &options);
    assert_eq!(r.status, 201, "creating the share: {r:?}");
    r.json
}

/// The owner's view of the share `share_id`: its `views_left`, or `None` once it is gone.
fn views_left(s: &Server, token: &str, secret: &str, share_id: &str) -> Option<u64> {
    let r = s
        .http()
        .get(&format!("/secrets/{secret}/shares"), Some(token));
    assert_eq!(r.status, 200, "listing shares: {r:?}");
    r.json["shares"]
        .as_array()
        .unwrap_or_else(|| panic!("no shares array: {r:?}"))
        .iter()
        .find(|sh| sh["id"] == share_id)
        .map(|sh| sh["views_left"].as_u64().unwrap())
}

#[test]
#[ignore = "needs chromium and chromedriver; run with `cargo test --release --test integration -- --ignored`"]
fn browser_reveals_once_and_preview_does_not_burn() {
    let Some(b) = Browser::start_or_skip() else {
        return;
    };
    let s = Server::start();
    let t = s.user("alice");
    let secret = create_secret(&s, &t);
    let share = create_share(&s, &t, &secret, json!({ "max_views": 1 }));
    let url = share["url"].as_str().unwrap();
    let share_id = share["id"].as_str().unwrap();

    b.navigate(url);
    assert_eq!(
        b.text_of("#reveal-button"),
        "Reveal secret",
        "the confirmation page offers the reveal button"
    );
    assert_eq!(
        b.text_of("#views-left"),
        "1 more time",
        "the page says how many views are left"
    );
    assert!(
        b.find("#passphrase").is_err(),
        "no passphrase field on a link without one"
    );
    let page = b.source();
    assert!(
        !page.contains(VALUE_MARKER),
        "the confirmation page must not hold the value:\n{page}"
    );
    assert!(
        !page.contains(NAME),
        "the confirmation page must not hold the secret's name:\n{page}"
    );
    assert_eq!(
        views_left(&s, &t, &secret, share_id),
        Some(1),
        "loading the page (what a preview bot does) must not use up the view"
    );

    b.click("#reveal-button");
    assert_eq!(
        b.text_of("#value"),
        VALUE,
        "the reveal page shows the value exactly"
    );
    assert_eq!(b.text_of("#name"), NAME, "the reveal page names the secret");
    let gone = b.text_of("#gone");
    assert!(
        gone.contains("deleted"),
        "the reveal page says the secret is now deleted: {gone:?}"
    );
    assert_eq!(
        views_left(&s, &t, &secret, share_id),
        None,
        "a used-up one-view link is no longer listed"
    );

    b.navigate(url);
    let heading = b.text_of("#not-found");
    assert!(
        heading.contains("does not work"),
        "a used link shows the not-found page: {heading:?}"
    );
    let page = b.source();
    assert!(
        !page.contains(VALUE_MARKER),
        "the not-found page must not hold the value:\n{page}"
    );
}

#[test]
#[ignore = "needs chromium and chromedriver; run with `cargo test --release --test integration -- --ignored`"]
fn browser_reveals_passphrase_protected_link() {
    let Some(b) = Browser::start_or_skip() else {
        return;
    };
    let s = Server::start();
    let t = s.user("alice");
    let secret = create_secret(&s, &t);
    let share = create_share(&s, &t, &secret, json!({ "passphrase": "open sesame 42" }));
    assert_eq!(share["passphrase_required"], true, "{share}");
    let share_id = share["id"].as_str().unwrap();

    b.navigate(share["url"].as_str().unwrap());
    b.wait_for("#passphrase");
    assert!(
        b.find("#error").is_err(),
        "no error before anything is submitted"
    );

    b.type_into("#passphrase", "open sesame 43");
    b.click("#reveal-button");
    let error = b.text_of("#error");
    assert!(
        error.contains("Wrong passphrase"),
        "a wrong passphrase is reported: {error:?}"
    );
    assert!(
        b.find("#value").is_err(),
        "a wrong passphrase reveals nothing"
    );
    assert!(
        !b.source().contains(VALUE_MARKER),
        "the wrong-passphrase page must not hold the value"
    );
    assert_eq!(
        views_left(&s, &t, &secret, share_id),
        Some(1),
        "a wrong passphrase uses up no view"
    );

    // The answer to the wrong try is a fresh confirmation page with a fresh nonce.
    b.type_into("#passphrase", "open sesame 42");
    b.click("#reveal-button");
    assert_eq!(
        b.text_of("#value"),
        VALUE,
        "the right passphrase reveals the value exactly"
    );
    assert_eq!(
        views_left(&s, &t, &secret, share_id),
        None,
        "the one view is used up"
    );
}

/// A browser-style form POST (`Accept: text/html`) to `path` with `form` as its body.
fn post_form(s: &Server, path: &str, form: &str) -> Reply {
    s.http().request(
        "POST",
        path,
        None,
        &[
            ("Accept", "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        Some(form.as_bytes()),
    )
}

#[test]
fn bare_html_post_without_nonce_consumes_nothing() {
    let s = Server::start();
    let t = s.user("alice");
    let secret = create_secret(&s, &t);
    let share = create_share(&s, &t, &secret, json!({ "max_views": 1 }));
    let share_id = share["id"].as_str().unwrap();
    let path = format!("/share/{}", share["token"].as_str().unwrap());

    // A real nonce from the page, to forge a near miss from: right timestamp, wrong tag.
    let page = s
        .http()
        .request("GET", &path, None, &[("Accept", "text/html")], None);
    assert_eq!(page.status, 200, "the confirmation page: {page:?}");
    let real = page
        .body
        .split("data-nonce=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no data-nonce on the page: {}", page.body));
    let (issued, tag) = real.split_once('.').expect("nonce is issued.tag");
    let flipped = if tag.starts_with('A') { 'B' } else { 'A' };
    let tampered = format!("{issued}.{flipped}{}", &tag[1..]);

    for form in [
        "nonce=&passphrase=".to_string(),
        "passphrase=".to_string(),
        "nonce=1.AAAA&passphrase=".to_string(),
        format!("nonce={tampered}&passphrase="),
    ] {
        let r = post_form(&s, &path, &form);
        assert_eq!(r.status, 200, "form {form:?} gets the page again: {r:?}");
        assert!(
            r.header("content-type")
                .is_some_and(|c| c.starts_with("text/html")),
            "form {form:?} gets HTML: {r:?}"
        );
        assert!(
            r.body.contains("Reveal secret"),
            "form {form:?} gets the confirmation page: {}",
            r.body
        );
        assert!(
            !r.body.contains(VALUE_MARKER) && !r.body.contains("id=\"value\""),
            "form {form:?} must reveal nothing: {}",
            r.body
        );
        assert_eq!(
            views_left(&s, &t, &secret, share_id),
            Some(1),
            "form {form:?} must use up no view"
        );
    }

    let r = s
        .http()
        .request("POST", &path, None, &[("Accept", "application/json")], None);
    assert_eq!(
        r.status, 200,
        "the link still works after the nonce-less posts: {r:?}"
    );
    assert_eq!(r.json["value"], VALUE, "{r:?}");
    assert_eq!(r.json["name"], NAME, "{r:?}");
    let r = s
        .http()
        .request("POST", &path, None, &[("Accept", "application/json")], None);
    r.assert_error(404, "not_found");
}
