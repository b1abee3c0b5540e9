//! Turns parsed flags into validated configuration. The server receives a `ServeConfig`,
//! never clap's types.

use std::path::PathBuf;

use crate::cli::ServeArgs;
use crate::crypto::key_file::KeyPassphrase;
use crate::crypto::password::KdfParams;

mod alerts;

pub use alerts::{AlertConfig, SMTP_PASSWORD_ENV, SmtpConfig, SmtpSecurity};

/// Name of the database file inside the data dir.
pub const DB_FILE: &str = "secretctl.redb";
/// Default name of the master key file inside the data dir.
pub const KEY_FILE: &str = "master.key";

/// The PEM files `serve` reads its TLS certificate chain and key from.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Everything `server::run` needs, validated.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub addr: String,
    pub data_dir: PathBuf,
    pub key_file: PathBuf,
    /// Passphrase of a sealed key file (or for sealing a new one); set by the command
    /// layer, which may have to prompt for it.
    pub key_passphrase: Option<KeyPassphrase>,
    pub session_ttl_secs: i64,
    pub workers: usize,
    pub kdf: KdfParams,
    /// Password hashes running at once.
    pub hash_concurrency: usize,
    /// Password hashes allowed to wait; more get 429.
    pub hash_queue: usize,
    /// Base of share URLs; `None` means the listening address.
    pub public_url: Option<String>,
    /// Serve HTTPS with these files; `None` serves plain HTTP.
    pub tls: Option<TlsFiles>,
    pub sweep_interval_secs: u64,
    pub test_clock_file: Option<PathBuf>,
    pub trust_proxy: bool,
    /// With `trust_proxy`: how many proxies append to `X-Forwarded-For` in front of us.
    pub trusted_hops: usize,
    /// Also append every audit record to this file as a JSON line.
    pub audit_log: Option<PathBuf>,
    /// Requests per second per client address (0: unlimited).
    pub rate_limit_per_sec: u32,
    /// Logins and registrations per minute per client address (0: unlimited).
    pub auth_rate_limit_per_min: u32,
    /// Share-link requests per minute per client address (0: unlimited).
    pub share_rate_limit_per_min: u32,
    pub registration_open: bool,
    /// Longest one read from a client may block (handshake, headers, body, idle keep-alive).
    pub client_timeout_secs: u64,
    /// Longest a graceful shutdown may take, slow clients included.
    pub shutdown_timeout_secs: u64,
    /// Where security alerts go (webhook, mail); off by default.
    pub alerts: AlertConfig,
    /// Values of each secret kept, the current one included (1..=100).
    pub keep_versions: u32,
    /// Serve `/metrics` on this address; `None` serves no metrics.
    pub metrics_addr: Option<String>,
    /// How request log lines are written.
    pub log_format: LogFormat,
}

/// How `serve` writes its request log on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// `TIME REQUEST-ID IP METHOD TEMPLATE STATUS DURATIONms`.
    Text,
    /// One JSON object a line.
    Json,
}

impl ServeConfig {
    /// Validates `serve` flags.
    pub fn from_args(args: &ServeArgs) -> Result<Self, String> {
        let ttl = crate::duration::parse_seconds(&args.session_ttl)
            .map_err(|e| format!("--session-ttl: {e}"))?;
        if !(60..=90 * 86_400).contains(&ttl) {
            return Err("--session-ttl must be between 60 seconds and 90 days".into());
        }
        if !(1..=1024).contains(&args.workers) {
            return Err("--workers must be between 1 and 1024".into());
        }
        let public_url = match &args.public_url {
            None => None,
            Some(u) => {
                let u = u.trim().trim_end_matches('/');
                let valid = (u.starts_with("https://") || u.starts_with("http://"))
                    && !u.contains(['?', '#', ' '])
                    && u.split("://").nth(1).is_some_and(|h| !h.is_empty());
                if !valid {
                    return Err(
                        "--public-url must be an http:// or https:// URL without query or fragment"
                            .into(),
                    );
                }
                Some(u.to_string())
            }
        };
        let tls = match (&args.tls_cert, &args.tls_key) {
            (Some(cert), Some(key)) => Some(TlsFiles {
                cert: cert.clone(),
                key: key.clone(),
            }),
            (None, None) => None,
            _ => return Err("--tls-cert and --tls-key go together: give both or neither".into()),
        };
        if !(1..=3600).contains(&args.client_timeout) {
            return Err("--client-timeout must be between 1 and 3600 seconds".into());
        }
        if !(1..=3600).contains(&args.shutdown_timeout) {
            return Err("--shutdown-timeout must be between 1 and 3600 seconds".into());
        }
        if !(1..=86_400).contains(&args.sweep_interval) {
            return Err("--sweep-interval must be between 1 and 86400 seconds".into());
        }
        if !(1..=16).contains(&args.trusted_hops) {
            return Err("--trusted-hops must be between 1 and 16".into());
        }
        let metrics_addr = match args.metrics_addr.as_deref().map(str::trim) {
            None => None,
            // Checked before anything is created on disk; binding checks the rest.
            Some(a)
                if a.rsplit_once(':')
                    .is_none_or(|(host, port)| host.is_empty() || port.parse::<u16>().is_err()) =>
            {
                return Err("--metrics-addr must be HOST:PORT".into());
            }
            Some(a) => Some(a.to_string()),
        };
        let alerts = AlertConfig::from_args(&args.alerts, std::env::var(SMTP_PASSWORD_ENV).ok())?;
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let hash_concurrency = cores.clamp(1, 4);
        Ok(ServeConfig {
            addr: args.addr.clone(),
            data_dir: args.data_dir.clone(),
            key_file: args
                .key_file
                .clone()
                .unwrap_or_else(|| args.data_dir.join(KEY_FILE)),
            key_passphrase: None,
            session_ttl_secs: ttl as i64,
            workers: args.workers,
            kdf: if args.insecure_fast_kdf {
                KdfParams::INSECURE_TEST_ONLY
            } else {
                KdfParams::DEFAULT
            },
            hash_concurrency,
            // Leave most workers free for other requests during a login flood.
            hash_queue: (args.workers / 4).max(1),
            public_url,
            tls,
            sweep_interval_secs: args.sweep_interval,
            test_clock_file: args.test_clock_file.clone(),
            trust_proxy: args.trust_proxy,
            trusted_hops: args.trusted_hops,
            audit_log: args.audit_log.clone(),
            rate_limit_per_sec: args.rate_limit,
            auth_rate_limit_per_min: args.auth_rate_limit,
            share_rate_limit_per_min: args.share_rate_limit,
            registration_open: args.registration == crate::cli::Registration::Open,
            client_timeout_secs: args.client_timeout,
            shutdown_timeout_secs: args.shutdown_timeout,
            alerts,
            metrics_addr,
            log_format: match args.log_format {
                crate::cli::LogFormat::Text => LogFormat::Text,
                crate::cli::LogFormat::Json => LogFormat::Json,
            },
            keep_versions: args.keep_versions,
        })
    }
}
