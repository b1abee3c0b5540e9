//! Wires alerts into the server: the audit observer, and the lookup the delivery thread uses
//! to find an owner's username and email address. The lookup reaches the store through a weak
//! reference to the `App`, set once the app exists; it runs on the delivery thread only, never
//! inside the observer (which runs right after a commit, on a request thread).

use crate::ids::UserId;
use std::sync::{Arc, OnceLock, Weak};

use super::{App, ServeError};
use crate::alerts::{AlertWorker, Recipient, Recipients};
use crate::config::AlertConfig;
use crate::store::{AuditRecord, Store};

/// Where the server puts itself once built, for the recipient lookup.
pub type AppSlot = Arc<OnceLock<Weak<App>>>;

/// Registers the alert observer on `store` when alerts are configured; the worker is kept
/// to drain the queue at shutdown.
pub fn attach(
    config: &AlertConfig,
    store: &mut Store,
    app: AppSlot,
) -> Result<Option<AlertWorker>, ServeError> {
    let recipients: Recipients = Box::new(move |user_id: &str| recipient(&app, user_id));
    let Some((alerts, worker)) =
        crate::alerts::start(config, recipients).map_err(ServeError::Alerts)?
    else {
        return Ok(None);
    };
    store.observe_audit(Box::new(move |record: &AuditRecord| alerts.observe(record)));
    Ok(Some(worker))
}

fn recipient(app: &AppSlot, user_id: &str) -> Option<Recipient> {
    let app = app.get()?.upgrade()?;
    // `Err` here means shutting down: the alert still goes to the webhook, unnamed.
    let store = app.store().ok()?;
    let user = match store.find_user_by_id(&UserId::new(user_id)) {
        Ok(user) => user?,
        Err(e) => {
            eprintln!("alerts: cannot look up user {user_id}: {e}");
            return None;
        }
    };
    Some(Recipient {
        username: user.username,
        email: user.email,
    })
}
