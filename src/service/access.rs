//! The access model, in one place: who (a [`Principal`]) may do what ([`Permission`]) to
//! whose secret ([`Owner`]).
//!
//! - A user may do anything to their own secrets. On a team's secrets their role decides:
//!   `reader` reads and lists, `writer` also creates, updates, deletes and shares, `admin`
//!   also manages the team (`service::teams`).
//! - A service token acts on one owner's secrets (its creator's, or its team's), only on
//!   those whose stored name starts with its prefix, and only with the permissions it was
//!   given (read always; write and share on request).
//!
//! A secret the principal may not see is [`Denial::Hidden`]: callers answer it exactly like
//! a missing secret (same 404, same audit outcome), so neither the existence of another
//! owner's secret nor the names of teams one is not in can be probed. A secret the principal
//! can see but may not change is [`Denial::Forbidden`] (403): it reveals nothing new.
//!
//! Membership and token rows are read on every call, never cached, so removing a member or
//! revoking a token takes effect on the next request.

use crate::ids::{Owner, UserId};
use crate::store::{Role, Store, StoreError, TeamRecord, TokenRecord};

use super::ServiceError;

/// Who is calling.
#[derive(Debug, Clone)]
pub enum Principal {
    /// A person, by session.
    User(UserId),
    /// A service token (its row as read for this request).
    Token(TokenRecord),
}

/// What is being done to a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// List it, read its value.
    Read,
    /// Create, update or delete it.
    Write,
    /// Make, list or revoke share links to it.
    Share,
}

/// Why access was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denial {
    /// Not visible to the caller: answer exactly like a missing secret.
    Hidden,
    /// Visible, but this permission is missing.
    Forbidden(&'static str),
}

impl From<Denial> for ServiceError {
    fn from(d: Denial) -> Self {
        match d {
            Denial::Hidden => ServiceError::Store(StoreError::NotFound),
            Denial::Forbidden(why) => ServiceError::Forbidden(why),
        }
    }
}

/// The role a user needs on a team's secret for `perm`.
fn role_needed(perm: Permission) -> Role {
    match perm {
        Permission::Read => Role::Reader,
        Permission::Write | Permission::Share => Role::Writer,
    }
}

/// Whether a token's prefix admits the stored name `name`: an exact byte prefix of the name
/// as stored (validated names have no `..` segments, escapes or case folding to get around).
pub fn prefix_admits(prefix: Option<&str>, name: &str) -> bool {
    prefix.is_none_or(|p| name.as_bytes().starts_with(p.as_bytes()))
}

/// Decides whether `principal` may do `perm` to `owner`'s secret stored as `name`.
pub fn authorize(
    store: &Store,
    principal: &Principal,
    owner: &Owner,
    name: &str,
    perm: Permission,
) -> Result<Result<(), Denial>, StoreError> {
    match principal {
        Principal::User(user) => {
            if *owner == Owner::user(user) {
                return Ok(Ok(()));
            }
            let Some(team) = owner.team_id() else {
                return Ok(Err(Denial::Hidden));
            };
            Ok(match store.member_role(&team, user)? {
                None => Err(Denial::Hidden),
                Some(role) if role >= role_needed(perm) => Ok(()),
                Some(_) => Err(Denial::Forbidden(
                    "your role in this team does not allow this; ask a team admin",
                )),
            })
        }
        Principal::Token(token) => {
            if token.scope() != *owner || !prefix_admits(token.prefix.as_deref(), name) {
                return Ok(Err(Denial::Hidden));
            }
            Ok(match perm {
                Permission::Read => Ok(()),
                Permission::Write if token.write => Ok(()),
                Permission::Share if token.share => Ok(()),
                Permission::Write => Err(Denial::Forbidden("this token may not write secrets")),
                Permission::Share => Err(Denial::Forbidden("this token may not share secrets")),
            })
        }
    }
}

/// The owner a request names: `team` (a team name) or, without one, the principal's own
/// scope (a user's personal secrets, a token's scope). A team the principal is not in (or a
/// token is not for) is `Hidden`, exactly like a team that does not exist.
pub fn owner_for(
    store: &Store,
    principal: &Principal,
    team: Option<&str>,
) -> Result<Result<Owner, Denial>, StoreError> {
    let Some(team_name) = team else {
        return Ok(Ok(match principal {
            Principal::User(user) => Owner::user(user),
            Principal::Token(token) => token.scope(),
        }));
    };
    let Some(team) = store.team_by_name(team_name)? else {
        return Ok(Err(Denial::Hidden));
    };
    Ok(match principal {
        Principal::User(user) => match store.member_role(&team.id, user)? {
            Some(_) => Ok(team.owner()),
            None => Err(Denial::Hidden),
        },
        Principal::Token(token) if token.team.as_ref() == Some(&team.id) => Ok(team.owner()),
        Principal::Token(_) => Err(Denial::Hidden),
    })
}

/// Whether `principal` may create a secret named `name` for `owner`. Outside a token's
/// prefix is `Forbidden`, not `Hidden`: nothing exists there to hide, and a pipeline author
/// needs to hear why.
pub fn may_create(
    store: &Store,
    principal: &Principal,
    owner: &Owner,
    name: &str,
) -> Result<Result<(), Denial>, StoreError> {
    if let Principal::Token(token) = principal
        && !prefix_admits(token.prefix.as_deref(), name)
    {
        return Ok(Err(Denial::Forbidden(
            "the name is outside this token's prefix",
        )));
    }
    authorize(store, principal, owner, name, Permission::Write)
}

/// The team `name` and the user's role in it; `Hidden` when there is no such team or the
/// user is not a member (the two answers must not differ).
pub fn team_role(
    store: &Store,
    user: &UserId,
    name: &str,
) -> Result<(TeamRecord, Role), ServiceError> {
    let team = store.team_by_name(name)?.ok_or(Denial::Hidden)?;
    let role = store.member_role(&team.id, user)?.ok_or(Denial::Hidden)?;
    Ok((team, role))
}

/// `team_role`, requiring admin: a member below admin is `Forbidden`.
pub fn team_admin(store: &Store, user: &UserId, name: &str) -> Result<TeamRecord, ServiceError> {
    match team_role(store, user, name)? {
        (team, Role::Admin) => Ok(team),
        _ => Err(Denial::Forbidden("only a team admin may do this").into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{TeamId, TokenId};
    use crate::store::test_support::{actor, temp_store};

    fn token(team: Option<&TeamId>, write: bool, prefix: Option<&str>) -> Principal {
        Principal::Token(TokenRecord {
            id: TokenId::new("t"),
            name: "ci".into(),
            created_by: UserId::new("alice"),
            team: team.cloned(),
            write,
            share: false,
            prefix: prefix.map(str::to_string),
            allowed_cidrs: vec![],
            created_at: 0,
            expires_at: 10,
            last_used_at: None,
            last_used_ip: None,
        })
    }

    #[test]
    fn prefixes_are_exact_byte_prefixes_of_the_stored_name() {
        let p = Some("prod/");
        assert!(prefix_admits(p, "prod/db"));
        for name in [
            "prod",
            "prodx/db",
            "Prod/db",
            "PROD/db",
            "prod%2Fdb",
            "x/prod/db",
        ] {
            assert!(!prefix_admits(p, name), "{name}");
        }
        assert!(prefix_admits(None, "anything"));
    }

    #[test]
    fn roles_and_token_scopes_decide() {
        let t = temp_store("access");
        let s = &t.store;
        let (alice, bob, carol) = (
            UserId::new("alice"),
            UserId::new("bob"),
            UserId::new("carol"),
        );
        let ops = TeamRecord {
            id: TeamId::new("ops1"),
            name: "ops".into(),
            created_by: alice.clone(),
            created_at: 0,
        };
        s.create_team(&ops, &alice, &actor()).unwrap();
        s.set_member(&ops.id, &bob, Role::Reader, &actor(), 1)
            .unwrap()
            .unwrap();
        let team = ops.owner();
        let user = |u: &UserId| Principal::User(u.clone());
        let ok = |p: &Principal, o: &Owner, perm| authorize(s, p, o, "prod/db", perm).unwrap();
        assert_eq!(ok(&user(&alice), &team, Permission::Write), Ok(()));
        assert_eq!(ok(&user(&bob), &team, Permission::Read), Ok(()));
        assert!(matches!(
            ok(&user(&bob), &team, Permission::Write),
            Err(Denial::Forbidden(_))
        ));
        assert_eq!(
            ok(&user(&carol), &team, Permission::Read),
            Err(Denial::Hidden)
        );
        assert_eq!(
            ok(&user(&carol), &Owner::user(&alice), Permission::Read),
            Err(Denial::Hidden)
        );
        // Removal takes effect at once.
        s.remove_member(&ops.id, &bob, &actor(), 2)
            .unwrap()
            .unwrap();
        assert_eq!(
            ok(&user(&bob), &team, Permission::Read),
            Err(Denial::Hidden)
        );

        let ro = token(Some(&ops.id), false, Some("prod/"));
        assert_eq!(ok(&ro, &team, Permission::Read), Ok(()));
        assert!(matches!(
            ok(&ro, &team, Permission::Write),
            Err(Denial::Forbidden(_))
        ));
        assert_eq!(
            authorize(s, &ro, &team, "dev/db", Permission::Read).unwrap(),
            Err(Denial::Hidden)
        );
        // A personal token never reaches a team's secrets, even its creator's team.
        let personal = token(None, true, None);
        assert_eq!(ok(&personal, &team, Permission::Read), Err(Denial::Hidden));
        assert_eq!(
            ok(&personal, &Owner::user(&alice), Permission::Write),
            Ok(())
        );
        assert!(matches!(
            may_create(s, &ro, &team, "dev/x").unwrap(),
            Err(Denial::Forbidden(_))
        ));

        assert_eq!(
            owner_for(s, &user(&carol), Some("ops")).unwrap(),
            Err(Denial::Hidden)
        );
        assert_eq!(
            owner_for(s, &user(&carol), Some("nope")).unwrap(),
            Err(Denial::Hidden)
        );
        assert_eq!(
            owner_for(s, &user(&alice), Some("ops")).unwrap(),
            Ok(team.clone())
        );
        assert_eq!(owner_for(s, &ro, None).unwrap(), Ok(team));
    }
}
