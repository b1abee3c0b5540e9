//! Team management rules: naming, who may add, change and remove members, the last-admin
//! rule, and deleting a team. Only users (sessions) reach this module; the server refuses
//! service tokens on every team endpoint.
//!
//! A team the caller is not a member of answers `NotFound`, like a team that does not exist,
//! so team names cannot be probed; a member below the needed role gets `Forbidden`.

use crate::crypto::token;
use crate::ids::{TeamId, UserId};
use crate::store::{Actor, LastAdmin, Role, TeamRecord};

use super::access::{self, Denial};
use super::{Ctx, ServiceError};

/// 3–64 characters of `[a-z0-9._-]`.
pub fn valid_name(n: &str) -> bool {
    (3..=64).contains(&n.len())
        && n.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
        })
}

fn check_name(n: &str) -> Result<(), ServiceError> {
    if valid_name(n) {
        Ok(())
    } else {
        Err(ServiceError::Invalid(
            "team name must be 3-64 characters of a-z, 0-9, '.', '_' or '-'",
        ))
    }
}

impl From<LastAdmin> for ServiceError {
    fn from(_: LastAdmin) -> Self {
        ServiceError::LastAdmin
    }
}

/// Creates team `name` with `user` as its admin.
pub fn create(
    ctx: &Ctx,
    actor: &Actor,
    user: &UserId,
    name: &str,
) -> Result<TeamRecord, ServiceError> {
    check_name(name)?;
    let team = TeamRecord {
        id: TeamId::new(token::new_id()?),
        name: name.to_string(),
        created_by: user.clone(),
        created_at: ctx.now,
    };
    ctx.store.create_team(&team, user, actor)?;
    Ok(team)
}

/// The members of team `name` (any member may look), with usernames, sorted by username.
pub fn members(ctx: &Ctx, user: &UserId, name: &str) -> Result<Vec<(String, Role)>, ServiceError> {
    check_name(name)?;
    let (team, _) = access::team_role(ctx.store, user, name)?;
    let mut out = Vec::new();
    for (member, role) in ctx.store.team_members(&team.id)? {
        // A member whose account is gone is shown by id rather than hidden.
        let shown = ctx
            .store
            .find_user_by_id(&member)?
            .map_or_else(|| member.to_string(), |u| u.username);
        out.push((shown, role));
    }
    out.sort();
    Ok(out)
}

/// Adds `username` to team `name` as `role`, or changes their role (admins only). An unknown
/// user is `NotFound`.
pub fn set_member(
    ctx: &Ctx,
    actor: &Actor,
    user: &UserId,
    name: &str,
    username: &str,
    role: &str,
) -> Result<(), ServiceError> {
    check_name(name)?;
    let role = Role::parse(role).ok_or(ServiceError::Invalid(
        "role must be one of \"reader\", \"writer\", \"admin\"",
    ))?;
    let team = access::team_admin(ctx.store, user, name)?;
    let member = ctx
        .store
        .find_user_by_name(username)?
        .ok_or(Denial::Hidden)?;
    ctx.store
        .set_member(&team.id, &member.id, role, actor, ctx.now)??;
    Ok(())
}

/// Removes `username` from team `name`: an admin may remove anyone, any member themselves
/// (leaving). The last admin can do neither to themselves.
pub fn remove_member(
    ctx: &Ctx,
    actor: &Actor,
    user: &UserId,
    name: &str,
    username: &str,
) -> Result<(), ServiceError> {
    check_name(name)?;
    let (team, role) = access::team_role(ctx.store, user, name)?;
    let member = ctx
        .store
        .find_user_by_name(username)?
        .ok_or(Denial::Hidden)?;
    if member.id != *user && role != Role::Admin {
        return Err(Denial::Forbidden("only a team admin may remove other members").into());
    }
    if !ctx
        .store
        .remove_member(&team.id, &member.id, actor, ctx.now)??
    {
        return Err(Denial::Hidden.into());
    }
    Ok(())
}

/// Deletes team `name` with its secrets, links and tokens (admins only).
pub fn delete(ctx: &Ctx, actor: &Actor, user: &UserId, name: &str) -> Result<(), ServiceError> {
    check_name(name)?;
    let team = access::team_admin(ctx.store, user, name)?;
    ctx.store.delete_team(&team.id, actor, ctx.now)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn team_names() {
        for ok in ["ops", "team-1", "a.b_c", &"x".repeat(64)] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in ["ab", "Ops", "a b", "a:b", "a/b", &"x".repeat(65), ""] {
            assert!(!valid_name(bad), "{bad}");
        }
    }
}
