//! `/teams`, `/teams/{team}`, `/teams/{team}/members[/{username}]`, and the access helpers
//! the secret and share handlers use to apply `service::access` to a request.
//!
//! Team endpoints are for people only (`auth::caller` answers a service token with 403).

use rouille::{Request, Response};

use super::auth::Authed;
use super::{ApiError, App, auth, body, respond};
use crate::api::{CreateTeam, MemberInfo, MemberList, SetMember, TeamInfo, TeamList};
use crate::ids::{Owner, SecretId};
use crate::service::access::{self, Denial, Permission};
use crate::service::teams as service;
use crate::store::{Action, Event, Outcome, SecretRecord, Store};
use crate::timefmt::rfc3339;

/// `POST /teams`.
pub fn create(req: &Request, app: &App) -> Result<Response, ApiError> {
    let caller = auth::caller(req, app)?;
    let input: CreateTeam = body::read_json(req)?;
    let store = app.store()?;
    let team = service::create(
        &app.ctx(&store),
        &caller.actor,
        &caller.user_id,
        &input.name,
    )?;
    Ok(respond::json(
        201,
        &TeamInfo {
            name: team.name,
            role: "admin".into(),
            created_at: rfc3339(team.created_at),
        },
    ))
}

/// `GET /teams`: the caller's teams with their role.
pub fn list(req: &Request, app: &App) -> Result<Response, ApiError> {
    let caller = auth::caller(req, app)?;
    let teams = app
        .store()?
        .teams_of(&caller.user_id)?
        .into_iter()
        .map(|(team, role)| TeamInfo {
            name: team.name,
            role: role.as_str().into(),
            created_at: rfc3339(team.created_at),
        })
        .collect();
    Ok(respond::json(200, &TeamList { teams }))
}

/// `DELETE /teams/{team}`: the team, its secrets, links and tokens (admins only).
pub fn delete(req: &Request, app: &App, team: &str) -> Result<Response, ApiError> {
    let caller = auth::caller(req, app)?;
    let store = app.store()?;
    service::delete(&app.ctx(&store), &caller.actor, &caller.user_id, team)?;
    Ok(respond::no_content())
}

/// `GET /teams/{team}/members` (any member).
pub fn members(req: &Request, app: &App, team: &str) -> Result<Response, ApiError> {
    let caller = auth::caller(req, app)?;
    let store = app.store()?;
    let members = service::members(&app.ctx(&store), &caller.user_id, team)?
        .into_iter()
        .map(|(username, role)| MemberInfo {
            username,
            role: role.as_str().into(),
        })
        .collect();
    Ok(respond::json(200, &MemberList { members }))
}

/// The two parameters of `/teams/{team}/members/{username}`. The router hands over one
/// parameter (the last); the team is the segment the template fixes before `members`.
fn team_and_member(req: &Request) -> Result<(String, String), ApiError> {
    let url = req.url();
    let parts: Vec<&str> = url.trim_start_matches('/').split('/').collect();
    match parts.as_slice() {
        ["teams", team, "members", user] => Ok((team.to_string(), user.to_string())),
        _ => Err(ApiError::NotFound),
    }
}

/// `PUT /teams/{team}/members/{username} {"role"}`: add or change a member (admins only).
pub fn set_member(req: &Request, app: &App, _: &str) -> Result<Response, ApiError> {
    let caller = auth::caller(req, app)?;
    let (team, username) = team_and_member(req)?;
    let input: SetMember = body::read_json(req)?;
    let store = app.store()?;
    service::set_member(
        &app.ctx(&store),
        &caller.actor,
        &caller.user_id,
        &team,
        &username,
        &input.role,
    )?;
    Ok(respond::no_content())
}

/// `DELETE /teams/{team}/members/{username}`: an admin removes anyone; a member leaves.
pub fn remove_member(req: &Request, app: &App, _: &str) -> Result<Response, ApiError> {
    let caller = auth::caller(req, app)?;
    let (team, username) = team_and_member(req)?;
    let store = app.store()?;
    service::remove_member(
        &app.ctx(&store),
        &caller.actor,
        &caller.user_id,
        &team,
        &username,
    )?;
    Ok(respond::no_content())
}

/// The owner a request's `team` names (or the caller's own scope); 404 when the caller is
/// not in that team, exactly as for a team that does not exist.
pub(super) fn requested_owner(
    store: &Store,
    who: &Authed,
    team: Option<&str>,
) -> Result<Owner, ApiError> {
    if team.is_some_and(|t| !service::valid_name(t)) {
        return Err(ApiError::BadRequest(
            "team must be 3-64 characters of a-z, 0-9, '.', '_' or '-'".into(),
        ));
    }
    match access::owner_for(store, &who.principal, team)? {
        Ok(owner) => Ok(owner),
        Err(d) => Err(denial(d)),
    }
}

fn denial(d: Denial) -> ApiError {
    match d {
        Denial::Hidden => ApiError::NotFound,
        Denial::Forbidden(why) => ApiError::Forbidden(why.into()),
    }
}

/// Secret `id` if the caller may do `perm` to it. Hidden is audited as a miss (`action`,
/// outcome `not_found`; nothing when `action` is `None`) and is the 404 of a missing secret; a refused permission is audited
/// with outcome `denied` and is a 403.
pub(super) fn permitted_secret(
    store: &Store,
    app: &App,
    who: &Authed,
    id: &SecretId,
    perm: Permission,
    action: Option<Action>,
) -> Result<SecretRecord, ApiError> {
    let rec = store.secret_any_owner(id)?;
    let decision = match &rec {
        None => Err(Denial::Hidden),
        Some(rec) => access::authorize(store, &who.principal, &rec.owner, &rec.name, perm)?,
    };
    let Some(action) = action else {
        // A read of metadata that was never audited (listing a secret's links).
        return match (rec, decision) {
            (Some(rec), Ok(())) => Ok(rec),
            (_, Err(Denial::Forbidden(why))) => Err(ApiError::Forbidden(why.into())),
            _ => Err(ApiError::NotFound),
        };
    };
    match (rec, decision) {
        (Some(rec), Ok(())) => Ok(rec),
        (Some(rec), Err(Denial::Forbidden(why))) => {
            let target = Some(format!("secret:{}", rec.id));
            let event = Event::ok(action, target, Some(&rec.owner)).outcome(Outcome::Denied);
            store.record_event(&who.actor, event, app.now())?;
            Err(ApiError::Forbidden(why.into()))
        }
        _ => Err(store.record_miss(&who.actor, action, id, app.now()).into()),
    }
}

/// Whether the caller may create `name` for `owner`; 403 with the reason if not.
pub(super) fn may_create(
    store: &Store,
    who: &Authed,
    owner: &Owner,
    name: &str,
) -> Result<(), ApiError> {
    access::may_create(store, &who.principal, owner, name)?.map_err(denial)
}

/// A new name for a secret must stay inside a token's prefix too.
pub(super) fn may_rename(who: &Authed, name: &str) -> Result<(), ApiError> {
    match &who.principal {
        access::Principal::Token(t) if !access::prefix_admits(t.prefix.as_deref(), name) => Err(
            ApiError::Forbidden("the new name is outside this token's prefix".into()),
        ),
        _ => Ok(()),
    }
}

/// Whether a token's prefix admits `name` (people have no prefix).
pub(super) fn in_scope(who: &Authed, name: &str) -> bool {
    match &who.principal {
        access::Principal::Token(t) => access::prefix_admits(t.prefix.as_deref(), name),
        access::Principal::User(_) => true,
    }
}

/// The name of the team that is `owner`, or `None` for a personal owner.
pub(super) fn team_label(store: &Store, owner: &Owner) -> Result<Option<String>, ApiError> {
    match owner.team_id() {
        None => Ok(None),
        Some(id) => Ok(store.team(&id)?.map(|t| t.name)),
    }
}

/// Permission `perm` on `owner`'s secrets as a whole (listing): the role a team member needs
/// for it, and nothing for the caller's own scope.
pub(super) fn may_list(store: &Store, who: &Authed, owner: &Owner) -> Result<(), ApiError> {
    // Listing is reading; the name check is per secret (`in_scope`).
    access::authorize(store, &who.principal, owner, "", Permission::Read)?.or_else(|d| {
        match (d, &who.principal) {
            // A token's prefix hides secrets one by one, not the whole scope.
            (Denial::Hidden, access::Principal::Token(t)) if t.scope() == *owner => Ok(()),
            (d, _) => Err(denial(d)),
        }
    })
}
