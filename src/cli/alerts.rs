//! `serve` flags for security alerts (clap types only). `config` turns them into an
//! `AlertConfig`; the SMTP password is read there from `SECRETCTL_ALERT_SMTP_PASSWORD`,
//! never from a flag.

use clap::{Args, ValueEnum};

/// Where alerts about share links and failed logins are sent.
// Each flag names its heading: `next_help_heading` on the struct would leak into the `serve`
// flags declared after the flatten.
#[derive(Debug, Args)]
pub struct AlertArgs {
    /// POST a JSON alert (Slack-compatible "text" plus structured fields) to URL when a share
    /// link is created or redeemed, a dead link is tried, or an account sees repeated failed
    /// logins. Delivery is asynchronous and best-effort; failures are logged.
    #[arg(
        long,
        help_heading = "Alerts",
        env = "SECRETCTL_ALERT_WEBHOOK",
        value_name = "URL"
    )]
    pub alert_webhook: Option<String>,

    /// Also mail each alert to the account's address (`secretctl account set-email`) through
    /// this SMTP server.
    #[arg(
        long,
        help_heading = "Alerts",
        env = "SECRETCTL_ALERT_SMTP",
        value_name = "HOST:PORT"
    )]
    pub alert_smtp: Option<String>,

    /// Sender address of alert mail (required with --alert-smtp).
    #[arg(
        long,
        help_heading = "Alerts",
        env = "SECRETCTL_ALERT_SMTP_FROM",
        value_name = "ADDRESS"
    )]
    pub alert_smtp_from: Option<String>,

    /// SMTP login; the password comes from SECRETCTL_ALERT_SMTP_PASSWORD.
    #[arg(
        long,
        help_heading = "Alerts",
        env = "SECRETCTL_ALERT_SMTP_USER",
        value_name = "USER"
    )]
    pub alert_smtp_user: Option<String>,

    /// Transport security: STARTTLS (required, not opportunistic), TLS from the first byte
    /// (usually port 465), or none (only for a relay on this host).
    #[arg(
        long,
        help_heading = "Alerts",
        env = "SECRETCTL_ALERT_SMTP_TLS",
        value_enum,
        default_value_t = SmtpTlsArg::Starttls,
        value_name = "MODE"
    )]
    pub alert_smtp_tls: SmtpTlsArg,
}

/// `--alert-smtp-tls` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SmtpTlsArg {
    None,
    Starttls,
    Tls,
}
