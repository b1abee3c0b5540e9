//! Security alerts, derived from the audit trail: a new share link, a share link redeemed, an
//! attempt on a dead link (used up, expired, revoked, its secret deleted, destroyed), and
//! repeated failed logins on one account, and a password change. Each goes to the webhook and/or is mailed to the
//! owner's address.
//!
//! Invariants: the audit observer runs on a request thread right after a commit, so it only
//! classifies the record and `try_send`s onto a bounded queue read by one delivery thread.
//! It never blocks, does no I/O and never touches the store; a full queue drops the alert
//! (logged). Delivery is best-effort, after the fact, and never affects a request; the audit
//! trail stays the record of truth. An alert carries only what its audit record holds (ids,
//! an address, an outcome, never a value, password or token) plus the owner's username.

mod email;
mod webhook;

use std::collections::{HashMap, VecDeque};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::config::AlertConfig;
use crate::store::audit::AuditBody;
use crate::store::{Action, AuditRecord, Outcome};
use crate::timefmt::rfc3339;

/// Alerts waiting for delivery, at most; more are dropped.
pub const QUEUE_CAPACITY: usize = 1024;
/// Failed logins on one account within `FAILED_LOGIN_WINDOW_SECS` that raise an alert.
pub const FAILED_LOGIN_THRESHOLD: usize = 5;
/// The sliding window for failed logins, and the least time between two such alerts.
pub const FAILED_LOGIN_WINDOW_SECS: i64 = 15 * 60;

/// What an alert is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertKind {
    ShareCreated,
    ShareRedeemed,
    DeadLinkRedeem,
    FailedLogins,
    PasswordChanged,
    TokenCreated,
}

impl AlertKind {
    /// The `kind` field on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::ShareCreated => "share_created",
            AlertKind::ShareRedeemed => "share_redeemed",
            AlertKind::DeadLinkRedeem => "dead_link_redeem",
            AlertKind::FailedLogins => "failed_logins",
            AlertKind::PasswordChanged => "password_changed",
            AlertKind::TokenCreated => "token_created",
        }
    }

    fn subject(self) -> &'static str {
        match self {
            AlertKind::ShareCreated => "new share link",
            AlertKind::ShareRedeemed => "share link opened",
            AlertKind::DeadLinkRedeem => "attempt on a dead share link",
            AlertKind::FailedLogins => "repeated failed logins",
            AlertKind::PasswordChanged => "password changed",
            AlertKind::TokenCreated => "new service token",
        }
    }
}

/// One alert, as classified from an audit record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    pub kind: AlertKind,
    /// The user the alert is for: the audit record's owner.
    pub user: String,
    pub target: Option<String>,
    pub ip: String,
    pub time: i64,
    pub audit_seq: u64,
    pub outcome: String,
    /// Failed logins in the window (`FailedLogins` only; 0 otherwise).
    pub failures: usize,
}

impl Alert {
    fn from_record(kind: AlertKind, body: &AuditBody, user: &str) -> Alert {
        Alert {
            kind,
            user: user.to_string(),
            target: body.target.clone(),
            ip: body.ip.clone(),
            time: body.time,
            audit_seq: body.seq,
            outcome: body.outcome.as_str().to_string(),
            failures: 0,
        }
    }
}

/// The JSON a webhook receives; a mail lists the same fields. `text` makes it a valid Slack
/// (and Mattermost, Rocket.Chat) incoming-webhook message as it is.
#[derive(Debug, Clone, Serialize)]
pub struct Payload {
    pub text: String,
    pub kind: &'static str,
    pub user: String,
    pub target: Option<String>,
    pub ip: String,
    pub time: String,
    pub audit_seq: u64,
    pub outcome: String,
}

impl Payload {
    /// `username` names the owner in the sentence when known (else the user id does).
    pub fn new(alert: &Alert, username: Option<&str>) -> Payload {
        Payload {
            text: describe(alert, username.unwrap_or(&alert.user)),
            kind: alert.kind.as_str(),
            user: alert.user.clone(),
            target: alert.target.clone(),
            ip: alert.ip.clone(),
            time: rfc3339(alert.time),
            audit_seq: alert.audit_seq,
            outcome: alert.outcome.clone(),
        }
    }
}

/// One human sentence. Every part is server-made (ids, a parsed IP address, a username of
/// `[a-z0-9._-]`), so nothing here can smuggle markup into a chat message; the client's user
/// agent, which is free text, is deliberately left out.
fn describe(alert: &Alert, who: &str) -> String {
    let link = alert.target.as_deref().unwrap_or("(unknown link)");
    let from = if alert.ip.is_empty() {
        String::new()
    } else {
        format!(" from {}", alert.ip)
    };
    match alert.kind {
        AlertKind::ShareCreated => format!("secretctl: {who} created share link {link}{from}."),
        AlertKind::ShareRedeemed => {
            format!("secretctl: share link {link} of {who} was opened{from}.")
        }
        AlertKind::DeadLinkRedeem => {
            let why = match alert.outcome.as_str() {
                "used_up" => "all its views were used",
                "expired" => "it expired",
                "revoked" => "it was revoked",
                "secret_deleted" => "its secret was deleted",
                "destroyed" => "it was destroyed after too many wrong passphrases",
                _ => "it is no longer valid",
            };
            format!(
                "secretctl: someone{from} tried to open share link {link} of {who}, which no longer works ({why})."
            )
        }
        AlertKind::FailedLogins => format!(
            "secretctl: {} failed logins on account {who} within {} minutes, the latest{from}.",
            alert.failures,
            FAILED_LOGIN_WINDOW_SECS / 60
        ),
        AlertKind::PasswordChanged => format!(
            "secretctl: the password of account {who} was changed{from}, and every other session of the account was ended."
        ),
        AlertKind::TokenCreated => {
            let token = alert.target.as_deref().unwrap_or("(unknown token)");
            format!("secretctl: {who} created service token {token}{from}.")
        }
    }
}

/// The share-link kinds, decided by the record alone. `share.redeem` with outcome `unknown`
/// (a token that never existed) has no owner to tell and is not an alert.
fn share_kind(body: &AuditBody) -> Option<AlertKind> {
    match (body.action.as_str(), body.outcome.as_str()) {
        ("share.create", "ok") => Some(AlertKind::ShareCreated),
        ("share.redeem", "ok") => Some(AlertKind::ShareRedeemed),
        ("share.redeem", "used_up" | "expired" | "revoked" | "secret_deleted" | "destroyed") => {
            Some(AlertKind::DeadLinkRedeem)
        }
        _ => None,
    }
}

/// Failed logins per account in a sliding window. Only the last `FAILED_LOGIN_THRESHOLD`
/// times are kept (enough to know whether that many fell in the window), and only accounts
/// that exist get here (`login.failed` has an owner only then), so memory stays bounded.
#[derive(Default)]
struct FailedLogins {
    by_user: HashMap<String, Failures>,
}

#[derive(Default)]
struct Failures {
    times: VecDeque<i64>,
    last_alert: Option<i64>,
}

impl FailedLogins {
    /// Counts a failure on `user` at `now`; `Some(count)` when it should alert: the
    /// threshold is reached within the window, and no alert went out in the last window.
    fn record(&mut self, user: &str, now: i64) -> Option<usize> {
        let f = self.by_user.entry(user.to_string()).or_default();
        f.times.push_back(now);
        if f.times.len() > FAILED_LOGIN_THRESHOLD {
            f.times.pop_front();
        }
        let in_window = f
            .times
            .iter()
            .filter(|t| now - **t < FAILED_LOGIN_WINDOW_SECS)
            .count();
        let quiet = f
            .last_alert
            .is_none_or(|t| now - t >= FAILED_LOGIN_WINDOW_SECS);
        if in_window >= FAILED_LOGIN_THRESHOLD && quiet {
            f.last_alert = Some(now);
            Some(in_window)
        } else {
            None
        }
    }
}

/// Counters shared by the observer and the delivery thread.
#[derive(Default)]
struct Shared {
    /// Alerts queued or being delivered.
    pending: AtomicUsize,
    /// Alerts dropped since the delivery thread last reported it.
    dropped: AtomicU64,
}

/// The observer side: classifies audit records and queues alerts.
pub struct Alerts {
    queue: SyncSender<Alert>,
    capacity: usize,
    failed_logins: Mutex<FailedLogins>,
    shared: Arc<Shared>,
}

impl Alerts {
    fn with_capacity(capacity: usize) -> (Alerts, Receiver<Alert>) {
        let (queue, rx) = sync_channel(capacity);
        let alerts = Alerts {
            queue,
            capacity,
            failed_logins: Mutex::new(FailedLogins::default()),
            shared: Arc::new(Shared::default()),
        };
        (alerts, rx)
    }

    /// The alert `record` raises, if any.
    fn classify(&self, record: &AuditRecord) -> Option<Alert> {
        let body = &record.body;
        if body.action == Action::TokenCreate && body.outcome.as_str() == "ok" {
            // A personal token's owner is its creator; a team token's is the team, so the
            // creator (the actor) is told.
            let user = body
                .owner
                .as_deref()
                .filter(|o| !o.starts_with("team:"))
                .unwrap_or(&body.actor);
            return Some(Alert::from_record(AlertKind::TokenCreated, body, user));
        }
        let user = body.owner.as_deref()?;
        if let Some(kind) = share_kind(body) {
            return Some(Alert::from_record(kind, body, user));
        }
        // A password change the owner did not make is an account takeover in progress.
        if body.action == Action::AccountPasswordChange && body.outcome == Outcome::Ok {
            return Some(Alert::from_record(AlertKind::PasswordChanged, body, user));
        }
        if body.action != Action::LoginFailed {
            return None;
        }
        // The lock is held for a map lookup, never across I/O.
        let count = self
            .failed_logins
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .record(user, body.time)?;
        let mut alert = Alert::from_record(AlertKind::FailedLogins, body, user);
        alert.failures = count;
        Some(alert)
    }

    /// The audit observer: queues the alert `record` raises without ever waiting.
    pub fn observe(&self, record: &AuditRecord) {
        let Some(alert) = self.classify(record) else {
            return;
        };
        // Counted before sending, so the delivery thread never sees it below zero.
        self.shared.pending.fetch_add(1, Ordering::SeqCst);
        let (lost, why) = match self.queue.try_send(alert) {
            Ok(()) => return,
            Err(TrySendError::Full(a)) => (a, format!("queue full ({} waiting)", self.capacity)),
            Err(TrySendError::Disconnected(a)) => (a, "delivery thread gone".to_string()),
        };
        self.shared.pending.fetch_sub(1, Ordering::SeqCst);
        // One line per burst: the delivery thread reports the total once it catches up.
        if self.shared.dropped.fetch_add(1, Ordering::SeqCst) == 0 {
            eprintln!(
                "alerts: {why}; dropped {} alert for audit record {}, and any more until it drains",
                lost.kind.as_str(),
                lost.audit_seq
            );
        }
    }
}

/// An alert recipient, as the delivery thread looks it up.
pub struct Recipient {
    pub username: String,
    pub email: Option<String>,
}

/// Looks up a user id's recipient; runs on the delivery thread only.
pub type Recipients = Box<dyn Fn(&str) -> Option<Recipient> + Send>;

/// The delivery side, as the server holds it.
pub struct AlertWorker {
    shared: Arc<Shared>,
}

impl AlertWorker {
    /// Waits up to `grace` for queued alerts to go out (at shutdown); false if some did not.
    pub fn drain(&self, grace: Duration) -> bool {
        let deadline = Instant::now() + grace;
        loop {
            let pending = self.shared.pending.load(Ordering::SeqCst);
            if pending == 0 {
                return true;
            }
            if Instant::now() >= deadline {
                eprintln!("alerts: {pending} alerts not delivered by shutdown");
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// Where alerts go.
struct Sinks {
    webhook: Option<webhook::Webhook>,
    mail: Option<email::Mailer>,
    recipients: Recipients,
}

impl Sinks {
    /// A one-line summary for the start-up log (never the webhook's path or any password).
    fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(w) = &self.webhook {
            parts.push(format!("webhook {}", w.origin()));
        }
        if let Some(m) = &self.mail {
            parts.push(format!("mail via {}", m.relay()));
        }
        parts.join(", ")
    }

    fn deliver(&self, alert: &Alert) {
        let recipient = (self.recipients)(&alert.user);
        let payload = Payload::new(alert, recipient.as_ref().map(|r| r.username.as_str()));
        if let Some(w) = &self.webhook
            && let Err(e) = w.post(&payload)
        {
            eprintln!(
                "alerts: webhook {} failed for {} alert (audit record {}): {e}",
                w.origin(),
                payload.kind,
                payload.audit_seq
            );
        }
        // No address set: nothing to mail, and nothing worth a log line.
        if let Some(m) = &self.mail
            && let Some(to) = recipient.and_then(|r| r.email)
            && let Err(e) = m.send(&to, alert.kind.subject(), &payload)
        {
            eprintln!(
                "alerts: mail for user {} failed for {} alert (audit record {}): {e}",
                payload.user, payload.kind, payload.audit_seq
            );
        }
    }
}

/// Starts the delivery thread when `config` names a destination; the `Alerts` half goes to
/// `Store::observe_audit`. Fails on settings that can never work (a bad sender address).
pub fn start(
    config: &AlertConfig,
    recipients: Recipients,
) -> Result<Option<(Alerts, AlertWorker)>, String> {
    if !config.enabled() {
        return Ok(None);
    }
    let sinks = Sinks {
        webhook: config.webhook.as_ref().map(webhook::Webhook::new),
        mail: config.smtp.as_ref().map(email::Mailer::new).transpose()?,
        recipients,
    };
    eprintln!("alerts: to {}", sinks.describe());
    let (alerts, rx) = Alerts::with_capacity(QUEUE_CAPACITY);
    let shared = Arc::clone(&alerts.shared);
    std::thread::Builder::new()
        .name("alerts".into())
        .spawn(move || deliver_all(rx, sinks, shared))
        .map_err(|e| format!("cannot start the delivery thread: {e}"))?;
    let worker = AlertWorker {
        shared: Arc::clone(&alerts.shared),
    };
    Ok(Some((alerts, worker)))
}

/// The delivery loop; ends when the observer (and so the queue's sender) is dropped with
/// the store.
fn deliver_all(rx: Receiver<Alert>, sinks: Sinks, shared: Arc<Shared>) {
    for alert in rx {
        // A panic in a transport must not end alerting for the rest of the server's life.
        if catch_unwind(AssertUnwindSafe(|| sinks.deliver(&alert))).is_err() {
            eprintln!(
                "alerts: delivery of audit record {} panicked",
                alert.audit_seq
            );
        }
        shared.pending.fetch_sub(1, Ordering::SeqCst);
        let dropped = shared.dropped.swap(0, Ordering::SeqCst);
        if dropped > 0 {
            eprintln!("alerts: {dropped} alerts were dropped while the queue was full");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(
        seq: u64,
        action: &str,
        outcome: &str,
        owner: Option<&str>,
        time: i64,
    ) -> AuditRecord {
        let body = AuditBody {
            seq,
            time,
            actor: "anonymous".into(),
            action: serde_json::from_value(action.into()).unwrap(),
            target: owner.map(|_| "share:s1".to_string()),
            owner: owner.map(str::to_string),
            ip: "192.0.2.7".into(),
            user_agent: "agent".into(),
            outcome: serde_json::from_value(outcome.into()).unwrap(),
            prev_hash: String::new(),
            key: None,
            actor_name: None,
        };
        AuditRecord {
            hash: format!("{seq:064x}"),
            body,
        }
    }

    #[test]
    fn share_records_classify() {
        let (alerts, _rx) = Alerts::with_capacity(8);
        let kind = |action, outcome, owner| {
            alerts
                .classify(&record(1, action, outcome, owner, 0))
                .map(|a| a.kind)
        };
        assert_eq!(
            kind("share.create", "ok", Some("u1")),
            Some(AlertKind::ShareCreated)
        );
        assert_eq!(
            kind("share.redeem", "ok", Some("u1")),
            Some(AlertKind::ShareRedeemed)
        );
        for dead in [
            "used_up",
            "expired",
            "revoked",
            "secret_deleted",
            "destroyed",
        ] {
            assert_eq!(
                kind("share.redeem", dead, Some("u1")),
                Some(AlertKind::DeadLinkRedeem),
                "{dead}"
            );
        }
        assert_eq!(kind("share.redeem", "unknown", None), None);
        assert_eq!(kind("share.create", "not_found", Some("u1")), None);
        assert_eq!(kind("share.revoke", "ok", Some("u1")), None);
        assert_eq!(kind("secret.read", "ok", Some("u1")), None);
        assert_eq!(kind("account.set_email", "ok", Some("u1")), None);
        assert_eq!(kind("login.failed", "denied", None), None);
        assert_eq!(
            kind("account.password_change", "ok", Some("u1")),
            Some(AlertKind::PasswordChanged)
        );
        assert_eq!(kind("account.password_change", "denied", Some("u1")), None);
        assert_eq!(
            kind("token.create", "ok", Some("u1")),
            Some(AlertKind::TokenCreated)
        );
        // A team token tells its creator (the actor), not the team.
        let team_token = alerts
            .classify(&record(2, "token.create", "ok", Some("team:t1"), 0))
            .unwrap();
        assert_eq!(team_token.user, "anonymous");
        assert_eq!(kind("token.revoke", "ok", Some("u1")), None);
    }

    #[test]
    fn failed_logins_alert_at_the_threshold_then_once_per_window() {
        let mut f = FailedLogins::default();
        for t in 0..4 {
            assert_eq!(f.record("u1", t * 60), None);
        }
        assert_eq!(f.record("u1", 240), Some(5));
        // More failures in the same window stay quiet.
        for t in 0..20 {
            assert_eq!(f.record("u1", 300 + t), None);
        }
        // Another account counts on its own.
        for t in 0..4 {
            assert_eq!(f.record("u2", 300 + t), None);
        }
        // A guessing run that keeps going alerts again once a window has passed.
        let next = 240 + FAILED_LOGIN_WINDOW_SECS;
        assert_eq!(f.record("u1", next), Some(5));
        // After a quiet spell, it takes five fresh failures.
        let later = next + 2 * FAILED_LOGIN_WINDOW_SECS;
        for t in 0..4 {
            assert_eq!(f.record("u1", later + t), None, "{t}");
        }
        assert_eq!(f.record("u1", later + 4), Some(5));
    }

    #[test]
    fn failures_spread_wider_than_the_window_never_alert() {
        let mut f = FailedLogins::default();
        let step = FAILED_LOGIN_WINDOW_SECS / 4;
        for i in 0..20 {
            assert_eq!(f.record("u1", i * step), None, "{i}");
        }
    }

    #[test]
    fn a_full_queue_drops_without_blocking() {
        let (alerts, rx) = Alerts::with_capacity(2);
        let started = Instant::now();
        for seq in 0..10 {
            alerts.observe(&record(seq, "share.create", "ok", Some("u1"), 0));
        }
        assert!(started.elapsed() < Duration::from_secs(1));
        assert_eq!(rx.try_iter().count(), 2);
        assert_eq!(alerts.shared.dropped.load(Ordering::SeqCst), 8);
        assert_eq!(alerts.shared.pending.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn payload_has_the_fields_and_a_sentence() {
        let (alerts, _rx) = Alerts::with_capacity(8);
        let a = alerts
            .classify(&record(
                42,
                "share.redeem",
                "expired",
                Some("u1"),
                1_795_860_000,
            ))
            .unwrap();
        let json = serde_json::to_value(Payload::new(&a, Some("alice"))).unwrap();
        assert_eq!(json["kind"], "dead_link_redeem");
        assert_eq!(json["user"], "u1");
        assert_eq!(json["target"], "share:s1");
        assert_eq!(json["ip"], "192.0.2.7");
        assert_eq!(json["time"], "2026-11-28T10:00:00Z");
        assert_eq!(json["audit_seq"], 42);
        assert_eq!(json["outcome"], "expired");
        let text = json["text"].as_str().unwrap();
        assert!(
            text.contains("alice") && text.contains("it expired"),
            "{text}"
        );
        assert!(!text.contains("agent"), "{text}");
    }
}
