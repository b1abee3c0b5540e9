//! The HTTP server: `secretctl serve`.
//!
//! `http` runs the accept loop and a fixed worker pool; `tls` checks the certificate and
//! key before anything listens, so a bad file stops `serve` with one clear line. Shutdown
//! on SIGINT/SIGTERM drains the HTTP server (`http::HttpServer::shutdown`: idle kept-alive
//! connections closed at once, requests already received served, later ones 503), then
//! takes the store's write lock, which waits for every request still holding it, then
//! closes the database. `--shutdown-timeout` bounds all of it: past it, whatever is still
//! in progress is cut off and the process exits. A second Ctrl-C exits at once.

mod accounts;
pub mod admin_channel;
mod alerting;
mod audit;
mod auth;
pub mod body;
mod clock;
mod error;
mod http;
mod metrics;
mod profile;
mod public_url;
mod ratelimit;
mod respond;
mod router;
mod secrets;
mod share_link;
mod share_page;
mod shares;
mod teams;
mod tls;
mod tokens;
pub mod validate;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, RwLock, RwLockReadGuard};
use std::thread;
use std::time::{Duration, Instant};

use crate::config::{DB_FILE, ServeConfig};
use crate::crypto::CryptoError;
use crate::crypto::password::PasswordHasher;
use crate::store::{Store, StoreError};

pub use error::ApiError;
pub use router::{UNKNOWN_TEMPLATE, templates};
pub use tls::TlsError;

/// Errors that stop the server from starting or shutting down cleanly.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("data dir {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error("cannot listen on {addr}: {reason}")]
    Bind { addr: String, reason: String },
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error("cannot install signal handlers: {0}")]
    Signals(std::io::Error),
    #[error("alerts: {0}")]
    Alerts(String),
}

/// Shared state of a running server.
pub struct App {
    store: RwLock<Option<Store>>,
    hasher: PasswordHasher,
    /// Where the client address comes from: the peer, or `X-Forwarded-For` behind proxies.
    trust_proxy: auth::ProxyTrust,
    rate_limiter: ratelimit::RateLimiter,
    /// Registration, the login policy and sessions.
    accounts: crate::service::accounts::Accounts,
    /// What anonymous requests may still cost the audit trail.
    anonymous_audit: crate::service::anonymous_audit::AnonymousAudit,
    clock: clock::Clock,
    reveal_nonces: share_page::RevealNonces,
    /// How share URLs get their base; set once the listening address is known.
    public_url: OnceLock<public_url::PublicUrl>,
    /// What `/metrics` reports; counted whether or not it is served.
    metrics: Arc<metrics::Metrics>,
    /// How the request log is written.
    log_format: crate::config::LogFormat,
}

impl App {
    /// The store, unless the server is shutting down.
    fn store(&self) -> Result<StoreRef<'_>, ApiError> {
        let guard = self.store.read().unwrap_or_else(|p| p.into_inner());
        if guard.is_none() {
            return Err(ApiError::Unavailable);
        }
        Ok(StoreRef(guard))
    }

    fn now(&self) -> i64 {
        self.clock.now()
    }

    /// What a service call needs, for this request.
    fn ctx<'a>(&'a self, store: &'a Store) -> crate::service::Ctx<'a> {
        crate::service::Ctx {
            store,
            hasher: &self.hasher,
            anonymous: &self.anonymous_audit,
            now: self.now(),
            tick: Instant::now(),
        }
    }

    /// The base of a share URL created by `req`: see `public_url`. A request whose `Host`
    /// could not be used gets the placeholder, and the log says so (without the header).
    fn share_base(&self, req: &rouille::Request) -> String {
        let Some(rule) = self.public_url.get() else {
            return String::new();
        };
        let (base, placeholder) = rule.base_for(req.header("Host"));
        if placeholder {
            eprintln!(
                "warning: a share link was made with the placeholder base {base}: the request had no usable Host header; set --public-url"
            );
        }
        base
    }

    /// Waits for requests using the store, then closes it; false if some still held it at
    /// `deadline`. The store is then left to the process exit, which redb recovers from like
    /// a crash: every committed transaction is kept.
    fn close_by(&self, deadline: Instant) -> bool {
        use std::sync::TryLockError;
        loop {
            let mut guard = match self.store.try_write() {
                Ok(guard) => guard,
                Err(TryLockError::Poisoned(p)) => p.into_inner(),
                Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                    thread::sleep(Duration::from_millis(10));
                    continue;
                }
                Err(TryLockError::WouldBlock) => return false,
            };
            drop(guard.take());
            return true;
        }
    }
}

/// A read lock on an open store; holding it keeps shutdown waiting.
struct StoreRef<'a>(RwLockReadGuard<'a, Option<Store>>);

impl std::ops::Deref for StoreRef<'_> {
    type Target = Store;
    fn deref(&self) -> &Store {
        // `App::store` only hands out guards over `Some`, and nothing takes the store while a
        // read guard lives.
        self.0
            .as_ref()
            .unwrap_or_else(|| unreachable!("store checked open"))
    }
}

/// Runs the server until SIGINT or SIGTERM. What the key layer reports on opening (a new
/// master key to back up, a loose key file mode...) goes to `on_key_notice`.
pub fn run(
    config: ServeConfig,
    on_key_notice: &dyn Fn(&crate::crypto::KeyNotice),
) -> Result<(), ServeError> {
    // Certificate problems first: they are the likeliest mistake and need no data dir.
    let tls = match &config.tls {
        Some(files) => Some(tls::TlsIdentity::load(&files.cert, &files.key)?),
        None => None,
    };
    for warning in tls.iter().flat_map(tls::TlsIdentity::warnings) {
        eprintln!("{warning}");
    }
    create_private_dir(&config.data_dir)?;
    let (mut store, key_notices) = Store::open_with_key(
        &config.data_dir.join(DB_FILE),
        &config.key_file,
        config.key_passphrase.as_ref(),
    )?;
    key_notices.iter().for_each(on_key_notice);
    store.set_keep_versions(config.keep_versions);
    if let Some(path) = &config.audit_log {
        store.attach_audit_log(crate::store::AuditLog::open(path)?);
    }
    let metrics = Arc::new(metrics::Metrics::new(
        store.commit_stats(),
        config.data_dir.join(DB_FILE),
    ));
    {
        let metrics = Arc::clone(&metrics);
        store.observe_audit(Box::new(move |record| metrics.audit_record(record)));
    }
    let app_slot = alerting::AppSlot::default();
    let alert_worker = alerting::attach(&config.alerts, &mut store, Arc::clone(&app_slot))?;
    if config.test_clock_file.is_some() {
        eprintln!("warning: test-only clock offset file in use; expiry times are shifted");
    }
    if config.kdf != crate::crypto::password::KdfParams::DEFAULT {
        eprintln!(
            "warning: insecure test-only password hashing parameters in use; never use them for real accounts"
        );
    }
    let app = Arc::new(App {
        store: RwLock::new(Some(store)),
        hasher: PasswordHasher::new(config.kdf, config.hash_concurrency, config.hash_queue)?,
        trust_proxy: auth::ProxyTrust::new(config.trust_proxy, config.trusted_hops),
        rate_limiter: ratelimit::RateLimiter::new(ratelimit::Limits {
            general: ratelimit::Rate::per_second(config.rate_limit_per_sec),
            auth: ratelimit::Rate::per_minute(config.auth_rate_limit_per_min),
            share: ratelimit::Rate::per_minute(config.share_rate_limit_per_min),
        }),
        accounts: crate::service::accounts::Accounts::new(
            config.registration_open,
            config.session_ttl_secs,
        ),
        anonymous_audit: Default::default(),
        clock: clock::Clock::new(config.test_clock_file.clone()),
        reveal_nonces: share_page::RevealNonces::new()?,
        public_url: OnceLock::new(),
        metrics: Arc::clone(&metrics),
        log_format: config.log_format,
    });
    let _ = app_slot.set(Arc::downgrade(&app));

    let handler_app = Arc::clone(&app);
    let server = http::HttpServer::bind(
        &config.addr,
        config.workers,
        tls.as_ref(),
        Duration::from_secs(config.client_timeout_secs),
        move |req| router::handle(req, &handler_app),
    )
    .map_err(|reason| ServeError::Bind {
        addr: config.addr.clone(),
        reason,
    })?;
    metrics.watch_http(server.gate());
    // The OpenSSL context holds the key now; this drop zeroizes our PEM copy of it.
    drop(tls);
    let addr = server.addr();
    let scheme = if config.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let share_base = public_url::PublicUrl::new(config.public_url.as_deref(), scheme, addr);
    if let Some(warning) = share_base.startup_warning() {
        eprintln!("{warning}");
    }
    let _ = app.public_url.set(share_base);
    if config.tls.is_none() && !addr.ip().is_loopback() {
        eprintln!("{}", plain_http_warning(addr));
    }
    // Bound before the main address is announced, so a bad --metrics-addr stops `serve`.
    let metrics_server = match &config.metrics_addr {
        Some(metrics_addr) => {
            let metrics = Arc::clone(&metrics);
            let server = http::HttpServer::bind(
                metrics_addr,
                METRICS_WORKERS,
                None,
                Duration::from_secs(config.client_timeout_secs),
                move |req| metrics.serve(req),
            )
            .map_err(|reason| ServeError::Bind {
                addr: metrics_addr.clone(),
                reason,
            })?;
            eprintln!("metrics on http://{}{}", server.addr(), metrics::PATH);
            Some(server)
        }
        None => None,
    };

    // Handlers go in before the address is announced: whoever reads that line may signal
    // us at once.
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        // The second signal while stopping exits immediately.
        signal_hook::flag::register_conditional_shutdown(sig, 1, Arc::clone(&stop))
            .map_err(ServeError::Signals)?;
        signal_hook::flag::register(sig, Arc::clone(&stop)).map_err(ServeError::Signals)?;
    }
    let metrics_thread = metrics_server.map(|server| {
        let stop = Arc::clone(&stop);
        thread::spawn(move || {
            server.run_until(&stop);
            // A scrape in progress is finished or cut off quickly; nothing depends on it.
            server.shutdown(Instant::now() + Duration::from_secs(1));
        })
    });
    // Before the address is announced, so whoever reads that line finds the channel too.
    let admin = match admin_channel::AdminChannel::start(
        &config.data_dir,
        Arc::clone(&app),
        Arc::clone(&stop),
    ) {
        Ok(channel) => Some(channel),
        Err(e) => {
            eprintln!(
                "warning: admin channel unavailable ({e}): `secretctl admin backup` and the operator user commands need the server stopped"
            );
            None
        }
    };
    println!("listening on {scheme}://{addr}");
    use std::io::Write;
    let _ = std::io::stdout().flush();

    let sweeper = {
        let (app, stop) = (Arc::clone(&app), Arc::clone(&stop));
        let every = Duration::from_secs(config.sweep_interval_secs);
        thread::spawn(move || {
            let mut last = Instant::now();
            while !stop.load(Ordering::SeqCst) {
                thread::sleep(Duration::from_millis(100));
                if last.elapsed() >= every {
                    last = Instant::now();
                    sweep(&app);
                }
            }
        })
    };

    server.run_until(&stop);
    let timeout = Duration::from_secs(config.shutdown_timeout_secs);
    let deadline = Instant::now() + timeout;
    eprintln!(
        "shutting down: finishing requests in progress (at most {} s)",
        timeout.as_secs()
    );
    if let http::Drained::TimedOut(left) = server.shutdown(deadline) {
        eprintln!("shutdown timeout: cutting off {left} requests still in progress");
    }
    let _ = sweeper.join();
    if let Some(t) = metrics_thread {
        let _ = t.join();
    }
    if let Some(channel) = admin {
        channel.finish();
    }
    if let Some(worker) = &alert_worker {
        let left = deadline.saturating_duration_since(Instant::now());
        worker.drain(left.min(Duration::from_secs(5)));
    }
    if !app.close_by(deadline) {
        eprintln!("shutdown timeout: database left to crash recovery");
    }
    eprintln!("stopped");
    Ok(())
}

/// Threads answering scrapes: one scraper at a time is the norm; two let a slow one not
/// hold up the next.
const METRICS_WORKERS: usize = 2;

/// The banner for plain HTTP on an address other machines can reach.
fn plain_http_warning(addr: std::net::SocketAddr) -> String {
    let rule = "*".repeat(78);
    format!(
        "{rule}\n\
         WARNING: serving plain HTTP on {addr}, which other machines can reach.\n\
         Passwords, session tokens, secret values and share links cross the network\n\
         unencrypted: anyone on the path can read them or take over a session.\n\
         Serve HTTPS with --tls-cert FILE --tls-key FILE, or listen on 127.0.0.1 behind\n\
         a TLS-terminating reverse proxy (see docs/deployment.md).\n\
         {rule}"
    )
}

/// Periodic cleanup: deletes expired sessions and expired share links (with their sealed
/// snapshots), whether or not anyone asks for them again.
fn sweep(app: &App) {
    let Ok(store) = app.store() else { return };
    let now = app.now();
    if let Err(e) = store.purge_expired_sessions(now) {
        eprintln!("session sweep failed: {e}");
    }
    // Each expired link is audited as `share.expire` in the same transaction.
    if let Err(e) = store.purge_expired_shares(now) {
        eprintln!("share sweep failed: {e}");
    }
}

fn create_private_dir(dir: &std::path::Path) -> Result<(), ServeError> {
    use std::os::unix::fs::DirBuilderExt;
    let err = |source| ServeError::DataDir {
        path: dir.to_path_buf(),
        source,
    };
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(err)?;
    } else if !dir.is_dir() {
        return Err(err(std::io::Error::other("not a directory")));
    } else {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir).map_err(err)?.permissions().mode();
        if mode & 0o077 != 0 {
            eprintln!(
                "warning: data dir {} is accessible by other users (mode {:o}); run: chmod 700 {}",
                dir.display(),
                mode & 0o777,
                dir.display()
            );
        }
    }
    Ok(())
}
