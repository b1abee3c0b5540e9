//! `GET /audit`: the caller's trail — what they did, and what anyone did to their account,
//! secrets and links — newest first, paginated by sequence number.

use rouille::{Request, Response};

use super::{ApiError, App, auth, respond};
use crate::api::{AuditEvent, AuditList};
use crate::store::AuditRecord;
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
        actor_name: b.actor_name,
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
    let events: Vec<AuditEvent> = records
        .into_iter()
        .take(limit)
        .map(|r| wire(r, &viewer))
        .collect();
    let next_before = more.then(|| events.last().map(|e| e.seq)).flatten();
    Ok(respond::json(
        200,
        &AuditList {
            events,
            next_before,
        },
    ))
}
