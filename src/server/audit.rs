//! `GET /audit`: the caller's trail — what they did, and what anyone did to their account,
//! secrets and links — newest first, paginated by sequence number.

use crate::ids::UserId;
use std::collections::HashMap;

use rouille::{Request, Response};

use super::{ApiError, App, auth, respond};
use crate::api::{AuditEvent, AuditList};
use crate::store::{AuditRecord, Store, StoreError};
use crate::timefmt::rfc3339;

/// Default and largest page size.
const DEFAULT_LIMIT: usize = 50;
const MAX_LIMIT: usize = 500;

/// A record as `viewer` may see it. The owner is shown to the owner only: anyone else's
/// view of their own probe must not say whether the id they tried belongs to somebody.
fn wire(r: AuditRecord, viewer: &str) -> AuditEvent {
    let b = r.body;
    let owner = b.owner.filter(|o| o == viewer);
    AuditEvent {
        seq: b.seq,
        time: rfc3339(b.time),
        actor: b.actor,
        action: b.action.as_str().to_string(),
        target: b.target,
        owner,
        ip: b.ip,
        user_agent: b.user_agent,
        outcome: b.outcome.as_str().to_string(),
        hash: r.hash,
        target_name: None,
        // A service token's name, as recorded; a user's name is looked up (`Names`).
        actor_name: b.actor_name,
    }
}

/// Names for the ids in a page of the trail, looked up once each when the page is read:
/// records hold ids only, so a rename shows at once and nothing names a deleted secret.
struct Names<'a> {
    store: &'a Store,
    viewer: &'a str,
    users: HashMap<String, Option<String>>,
    secrets: HashMap<String, Option<String>>,
}

impl<'a> Names<'a> {
    fn new(store: &'a Store, viewer: &'a str) -> Self {
        Names {
            store,
            viewer,
            users: HashMap::new(),
            secrets: HashMap::new(),
        }
    }

    /// The username of user `id` (`anonymous` and `system` are no users).
    fn user(&mut self, id: &str) -> Result<Option<String>, StoreError> {
        if let Some(name) = self.users.get(id) {
            return Ok(name.clone());
        }
        let name = self
            .store
            .find_user_by_id(&UserId::new(id))?
            .map(|u| u.username);
        self.users.insert(id.to_string(), name.clone());
        Ok(name)
    }

    /// A target's name, only when the viewer may know it: their own secret while it exists
    /// (never another owner's, nor whether such an id exists), their own account.
    fn target(&mut self, target: &str) -> Result<Option<String>, StoreError> {
        if let Some(id) = target.strip_prefix("secret:") {
            if let Some(name) = self.secrets.get(id) {
                return Ok(name.clone());
            }
            let name = self
                .store
                .owned_secret(self.viewer, id)?
                .map(|rec| rec.name);
            self.secrets.insert(id.to_string(), name.clone());
            return Ok(name);
        }
        match target.strip_prefix("user:") {
            Some(id) if id == self.viewer => self.user(id),
            _ => Ok(None),
        }
    }

    /// Fills in `event`'s names.
    fn resolve(&mut self, mut event: AuditEvent) -> Result<AuditEvent, StoreError> {
        if event.actor_name.is_none() {
            event.actor_name = self.user(&event.actor)?;
        }
        event.target_name = match &event.target {
            Some(t) => self.target(t)?,
            None => None,
        };
        Ok(event)
    }
}

/// `GET /audit[?team=T][&limit=N][&before=SEQ]`; with `team`, the events on a team's
/// secrets, links, members and tokens (team admins only).
pub fn list(req: &Request, app: &App) -> Result<Response, ApiError> {
    let caller = auth::caller(req, app)?;
    let limit = match req.get_param("limit") {
        None => DEFAULT_LIMIT,
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| ApiError::BadRequest("limit must be between 1 and 500".into()))?,
    };
    let before = match req.get_param("before") {
        None => None,
        Some(b) => Some(
            b.parse::<u64>()
                .map_err(|_| ApiError::BadRequest("before must be a sequence number".into()))?,
        ),
    };
    let store = app.store()?;
    let (records, viewer) = match req.get_param("team") {
        None => (
            store.audit_for_user(&caller.user_id, limit + 1, before)?,
            caller.user_id.to_string(),
        ),
        Some(team) => {
            let owner = crate::service::access::team_admin(&store, &caller.user_id, &team)?.owner();
            (
                store.audit_for_owner(&owner, limit + 1, before)?,
                owner.into_string(),
            )
        }
    };
    let more = records.len() > limit;
    let mut names = Names::new(&store, &viewer);
    let events = records
        .into_iter()
        .take(limit)
        .map(|r| names.resolve(wire(r, &viewer)))
        .collect::<Result<Vec<AuditEvent>, StoreError>>()?;
    let next_before = more.then(|| events.last().map(|e| e.seq)).flatten();
    Ok(respond::json(
        200,
        &AuditList {
            events,
            next_before,
        },
    ))
}
