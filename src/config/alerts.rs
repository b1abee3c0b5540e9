//! `serve` alert flags -> a validated `AlertConfig`. The webhook URL and the SMTP password are
//! credentials (a Slack-style webhook URL *is* the secret), so both are `SecretString`s:
//! `ServeConfig`'s `Debug` never prints them.

use crate::cli::{AlertArgs, SmtpTlsArg};
use crate::sensitive::SecretString;

/// Environment variable holding the SMTP password (never a flag: flags show up in `ps`).
pub const SMTP_PASSWORD_ENV: &str = "SECRETCTL_ALERT_SMTP_PASSWORD";

/// Where alerts go; both `None` means alerts are off.
#[derive(Debug, Clone, Default)]
pub struct AlertConfig {
    pub webhook: Option<SecretString>,
    pub smtp: Option<SmtpConfig>,
}

impl AlertConfig {
    /// True when at least one destination is configured.
    pub fn enabled(&self) -> bool {
        self.webhook.is_some() || self.smtp.is_some()
    }
}

/// An SMTP relay to send alert mail through.
#[derive(Debug, Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub from: String,
    /// Login and password, when the relay wants authentication.
    pub credentials: Option<(String, SecretString)>,
    pub security: SmtpSecurity,
}

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Plain text: only for a relay on this host.
    None,
    /// Plain connection upgraded with STARTTLS, which must succeed.
    StartTls,
    /// TLS from the first byte (SMTPS).
    Tls,
}

impl AlertConfig {
    /// Validates the alert flags; `password` is the value of `SECRETCTL_ALERT_SMTP_PASSWORD`.
    pub fn from_args(args: &AlertArgs, password: Option<String>) -> Result<Self, String> {
        let webhook = args
            .alert_webhook
            .as_deref()
            .map(|u| webhook_url(u).map(|u| SecretString::from(u.to_string())))
            .transpose()?;
        let smtp = match &args.alert_smtp {
            None => {
                if args.alert_smtp_from.is_some() || args.alert_smtp_user.is_some() {
                    return Err(
                        "--alert-smtp-from and --alert-smtp-user need --alert-smtp HOST:PORT"
                            .into(),
                    );
                }
                None
            }
            Some(relay) => Some(smtp(args, relay, password)?),
        };
        Ok(AlertConfig { webhook, smtp })
    }
}

/// An http(s) URL with a host and no whitespace; anything else is refused at start-up
/// rather than failing on every alert.
fn webhook_url(url: &str) -> Result<&str, String> {
    let url = url.trim();
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    let host = rest.map(|r| r.split(['/', '?', '#']).next().unwrap_or(""));
    let host_ok = host.is_some_and(|h| !h.is_empty() && !h.starts_with(':'));
    if !host_ok || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("--alert-webhook must be an http:// or https:// URL".into());
    }
    Ok(url)
}

fn smtp(args: &AlertArgs, relay: &str, password: Option<String>) -> Result<SmtpConfig, String> {
    let (host, port) = host_port(relay)
        .ok_or("--alert-smtp must be HOST:PORT, e.g. smtp.example.com:587 or [::1]:25")?;
    let from = args
        .alert_smtp_from
        .clone()
        .filter(|f| !f.trim().is_empty())
        .ok_or("--alert-smtp needs --alert-smtp-from ADDRESS (the sender of alert mail)")?;
    // Checked with the mail library's own parser, so a sender it would refuse fails here,
    // at start-up, rather than on every alert.
    from.parse::<lettre::message::Mailbox>()
        .map_err(|e| format!("--alert-smtp-from is not a valid address: {e}"))?;
    let password = password.filter(|p| !p.is_empty());
    let credentials = match (&args.alert_smtp_user, password) {
        (Some(user), Some(pw)) => Some((user.clone(), SecretString::from(pw))),
        (Some(_), None) => {
            return Err(format!(
                "--alert-smtp-user needs the password in the environment variable {SMTP_PASSWORD_ENV}"
            ));
        }
        (None, Some(_)) => {
            return Err(format!(
                "{SMTP_PASSWORD_ENV} is set but --alert-smtp-user is not"
            ));
        }
        (None, None) => None,
    };
    let security = match args.alert_smtp_tls {
        SmtpTlsArg::None => SmtpSecurity::None,
        SmtpTlsArg::Starttls => SmtpSecurity::StartTls,
        SmtpTlsArg::Tls => SmtpSecurity::Tls,
    };
    // A password sent in clear text to another machine is a password given away.
    if security == SmtpSecurity::None && credentials.is_some() && !is_loopback(&host) {
        return Err(
            "--alert-smtp-tls none would send the SMTP password in clear text; use starttls or tls (none is only for a relay on this host)"
                .into(),
        );
    }
    Ok(SmtpConfig {
        host,
        port,
        from,
        credentials,
        security,
    })
}

/// `host:port` or `[v6]:port`.
fn host_port(s: &str) -> Option<(String, u16)> {
    let (host, port) = s.trim().rsplit_once(':')?;
    let host = match host.strip_prefix('[') {
        Some(h) => h.strip_suffix(']')?,
        None if host.contains(':') => return None,
        None => host,
    };
    let port: u16 = port.parse().ok().filter(|p| *p != 0)?;
    let valid = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '_'));
    valid.then(|| (host.to_string(), port))
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sensitive::ExposeSecret;

    fn args(smtp: Option<&str>) -> AlertArgs {
        AlertArgs {
            alert_webhook: None,
            alert_smtp: smtp.map(str::to_string),
            alert_smtp_from: Some("secretctl@example.com".into()),
            alert_smtp_user: None,
            alert_smtp_tls: SmtpTlsArg::Starttls,
        }
    }

    #[test]
    fn webhook_urls() {
        assert!(webhook_url("https://hooks.example.com/services/T/B/X").is_ok());
        assert!(webhook_url("http://127.0.0.1:9000").is_ok());
        for bad in [
            "",
            "ftp://x",
            "https://",
            "https:///path",
            "http://a b",
            "hooks.example",
        ] {
            assert!(webhook_url(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn smtp_relays() {
        let c = AlertConfig::from_args(&args(Some("smtp.example.com:587")), None).unwrap();
        let smtp = c.smtp.unwrap();
        assert_eq!((smtp.host.as_str(), smtp.port), ("smtp.example.com", 587));
        assert_eq!(smtp.security, SmtpSecurity::StartTls);
        assert_eq!(host_port("[::1]:25"), Some(("::1".into(), 25)));
        for bad in [
            "smtp.example.com",
            "h:0",
            "h:99999",
            "::1:25",
            ":25",
            "a b:25",
        ] {
            assert!(host_port(bad).is_none(), "{bad:?}");
        }
        let mut bad_from = args(Some("h:25"));
        bad_from.alert_smtp_from = Some("not an address".into());
        assert!(AlertConfig::from_args(&bad_from, None).is_err());
        bad_from.alert_smtp_from = Some("Secretctl <alerts@example.com>".into());
        assert!(AlertConfig::from_args(&bad_from, None).is_ok());
        let mut no_from = args(Some("h:25"));
        no_from.alert_smtp_from = None;
        assert!(AlertConfig::from_args(&no_from, None).is_err());
        let mut orphan = args(None);
        orphan.alert_smtp_user = Some("u".into());
        assert!(AlertConfig::from_args(&orphan, None).is_err());
    }

    #[test]
    fn credentials_need_both_halves_and_no_clear_text_to_another_host() {
        let mut a = args(Some("smtp.example.com:587"));
        a.alert_smtp_user = Some("mailer".into());
        assert!(AlertConfig::from_args(&a, None).is_err());
        let c = AlertConfig::from_args(&a, Some("pw-5f1e".into())).unwrap();
        let (user, pw) = c.smtp.as_ref().unwrap().credentials.as_ref().unwrap();
        assert_eq!((user.as_str(), pw.expose_secret()), ("mailer", "pw-5f1e"));
        assert!(!format!("{c:?}").contains("pw-5f1e"));
        a.alert_smtp_tls = SmtpTlsArg::None;
        assert!(AlertConfig::from_args(&a, Some("pw".into())).is_err());
        a.alert_smtp = Some("127.0.0.1:2525".into());
        assert!(AlertConfig::from_args(&a, Some("pw".into())).is_ok());
        let no_user = args(Some("h:25"));
        assert!(AlertConfig::from_args(&no_user, Some("pw".into())).is_err());
    }

    #[test]
    fn webhook_url_is_not_debug_printed() {
        let mut a = args(None);
        a.alert_smtp_from = None;
        a.alert_webhook = Some("https://hooks.example.com/services/SECRET-PATH".into());
        let c = AlertConfig::from_args(&a, None).unwrap();
        assert!(c.enabled());
        assert!(!format!("{c:?}").contains("SECRET-PATH"));
    }
}
