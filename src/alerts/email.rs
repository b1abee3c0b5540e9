//! Mail delivery over SMTP with lettre: one plain-text message per alert to the owner's
//! address. STARTTLS, when chosen, is required (never opportunistic), so neither the
//! password nor the mail goes out in clear text because of a stripped capability.

use std::time::Duration;

use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{Message, SmtpTransport, Transport};

use super::Payload;
use crate::config::{SmtpConfig, SmtpSecurity};
use crate::sensitive::ExposeSecret;

/// Longest one SMTP command may take.
const TIMEOUT: Duration = Duration::from_secs(10);

/// A configured SMTP relay.
pub struct Mailer {
    transport: SmtpTransport,
    from: Mailbox,
    relay: String,
}

impl Mailer {
    /// A mailer for `config`; fails on a sender address that no relay would take.
    pub fn new(config: &SmtpConfig) -> Result<Mailer, String> {
        let from: Mailbox = config
            .from
            .parse()
            .map_err(|e| format!("--alert-smtp-from is not a valid address: {e}"))?;
        let tls = || {
            TlsParameters::new(config.host.clone())
                .map_err(|e| format!("TLS setup for {}: {e}", config.host))
        };
        let security = match config.security {
            SmtpSecurity::None => Tls::None,
            SmtpSecurity::StartTls => Tls::Required(tls()?),
            SmtpSecurity::Tls => Tls::Wrapper(tls()?),
        };
        let mut builder = SmtpTransport::builder_dangerous(config.host.as_str())
            .port(config.port)
            .tls(security)
            .timeout(Some(TIMEOUT));
        if let Some((user, password)) = &config.credentials {
            let password = password.expose_secret().to_string();
            builder = builder.credentials(Credentials::new(user.clone(), password));
        }
        let mode = match config.security {
            SmtpSecurity::None => "plain",
            SmtpSecurity::StartTls => "starttls",
            SmtpSecurity::Tls => "tls",
        };
        Ok(Mailer {
            transport: builder.build(),
            from,
            relay: format!("{}:{} ({mode})", config.host, config.port),
        })
    }

    /// `host:port (mode)`, for the log.
    pub fn relay(&self) -> &str {
        &self.relay
    }

    /// Mails `payload` to `to`.
    pub fn send(&self, to: &str, subject: &str, payload: &Payload) -> Result<(), String> {
        let to: Mailbox = to
            .parse()
            .map_err(|_| "the account's email address is not deliverable".to_string())?;
        // lettre leaves the Message-ID out, and without one some relays and filters take a
        // mail for spam; one in the sender's domain is what a mail client would write.
        let message_id = crate::crypto::token::new_id()
            .ok()
            .map(|id| format!("<alert-{id}@{}>", self.from.email.domain()));
        let message = Message::builder()
            .message_id(message_id)
            .from(self.from.clone())
            .to(to)
            .subject(format!("[secretctl] {subject}"))
            .header(ContentType::TEXT_PLAIN)
            .body(body(payload))
            .map_err(|e| e.to_string())?;
        self.transport
            .send(&message)
            .map(drop)
            .map_err(|e| e.to_string())
    }
}

fn body(p: &Payload) -> String {
    format!(
        "{}\n\n\
         kind:       {}\n\
         user id:    {}\n\
         target:     {}\n\
         address:    {}\n\
         time:       {}\n\
         audit seq:  {}\n\
         outcome:    {}\n\n\
         This address gets security alerts for a secretctl account \
         (`secretctl account set-email`); `secretctl audit` shows the full trail.\n",
        p.text,
        p.kind,
        p.user,
        p.target.as_deref().unwrap_or("-"),
        if p.ip.is_empty() { "-" } else { &p.ip },
        p.time,
        p.audit_seq,
        p.outcome,
    )
}
