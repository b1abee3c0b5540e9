//! Teams: a globally unique name, members with a role, and the secrets the team owns.
//!
//! A team's secrets are ordinary secret rows whose owner is `Owner::team` (`team:<id>`), so
//! the name index, the sealing context and the audit index work for teams exactly as for
//! users. Membership is read on every request (no cache), so removing a member takes effect
//! on their next request. Invariants kept in every write: `TEAM_MEMBERS` and `USER_TEAMS`
//! hold the same pairs, and a team always has at least one admin.

use redb::ReadableTable;
use serde::{Deserialize, Serialize};

use super::audit::{Action, Actor, AuditRecord, Event};
use super::secrets::owned_record;
use super::tables::{
    SECRET_NAMES, SECRETS, SERVICE_TOKEN_IDS, SERVICE_TOKENS, SHARE_IDS, SHARES, TEAM_MEMBERS,
    TEAM_NAMES, TEAMS, USER_TEAMS,
};
use super::tokens::TokenRecord;
use super::{SecretRecord, ShareRecord, Store, StoreError, Tx};
use crate::ids::{Owner, SecretId, ShareId, TeamId, UserId};

/// A team as stored.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TeamRecord {
    pub id: TeamId,
    pub name: String,
    pub created_by: UserId,
    pub created_at: i64,
}

impl TeamRecord {
    /// The owner string of the team's secrets.
    pub fn owner(&self) -> Owner {
        Owner::team(&self.id)
    }
}

/// A member's role; each includes the rights of the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// List secrets and read values.
    Reader,
    /// And create, update, delete secrets and make share links.
    Writer,
    /// And manage members and team tokens, and delete the team.
    Admin,
}

impl Role {
    /// The stored (and wire) name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Reader => "reader",
            Role::Writer => "writer",
            Role::Admin => "admin",
        }
    }

    /// The role named `s`, if any.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "reader" => Some(Role::Reader),
            "writer" => Some(Role::Writer),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// A membership change refused because the team would be left without an admin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LastAdmin;

fn member_target(user: &UserId) -> Option<String> {
    Some(format!("user:{user}"))
}

fn team_target(team: &TeamId) -> Option<String> {
    Some(format!("team:{team}"))
}

impl Store {
    /// Creates `team` with `creator` as its admin; `Conflict` when the name is taken.
    pub fn create_team(
        &self,
        team: &TeamRecord,
        creator: &UserId,
        actor: &Actor,
    ) -> Result<(), StoreError> {
        let (team, creator) = (team.clone(), creator.clone());
        self.write(actor, team.created_at, move |tx| {
            {
                let mut names = tx.txn.open_table(TEAM_NAMES)?;
                if names.get(team.name.as_str())?.is_some() {
                    return Err(StoreError::Conflict("a team with this name"));
                }
                names.insert(team.name.as_str(), team.id.as_str())?;
            }
            tx.txn
                .open_table(TEAMS)?
                .insert(team.id.as_str(), Store::encode(&team)?.as_slice())?;
            tx.put_member(&team.id, &creator, Role::Admin)?;
            let owner = team.owner();
            tx.audit(Event::ok(
                Action::TeamCreate,
                team_target(&team.id),
                Some(&owner),
            ))
        })
    }

    /// The team named `name`, if any.
    pub fn team_by_name(&self, name: &str) -> Result<Option<TeamRecord>, StoreError> {
        let txn = self.core.db.begin_read()?;
        let Some(id) = txn
            .open_table(TEAM_NAMES)?
            .get(name)?
            .map(|v| v.value().to_string())
        else {
            return Ok(None);
        };
        read_team(&txn.open_table(TEAMS)?, &id)
    }

    /// The team with id `id`, if any.
    pub fn team(&self, id: &TeamId) -> Result<Option<TeamRecord>, StoreError> {
        let txn = self.core.db.begin_read()?;
        read_team(&txn.open_table(TEAMS)?, id)
    }

    /// `user`'s role in `team`, or `None` when they are not a member.
    pub fn member_role(&self, team: &TeamId, user: &UserId) -> Result<Option<Role>, StoreError> {
        let txn = self.core.db.begin_read()?;
        let members = txn.open_table(TEAM_MEMBERS)?;
        let role = members.get((team.as_str(), user.as_str()))?;
        role.map(|r| decode_role(r.value())).transpose()
    }

    /// The teams `user` is a member of, with their role, sorted by name.
    pub fn teams_of(&self, user: &UserId) -> Result<Vec<(TeamRecord, Role)>, StoreError> {
        let txn = self.core.db.begin_read()?;
        let index = txn.open_table(USER_TEAMS)?;
        let members = txn.open_table(TEAM_MEMBERS)?;
        let teams = txn.open_table(TEAMS)?;
        let mut out = Vec::new();
        for entry in index.range((user.as_str(), "")..)? {
            let (key, _) = entry?;
            let (entry_user, team_id) = key.value();
            if entry_user != user.as_str() {
                break;
            }
            let team = read_team(&teams, team_id)?
                .ok_or_else(|| StoreError::Corrupt("membership of a missing team".into()))?;
            let role = members
                .get((team_id, user.as_str()))?
                .ok_or_else(|| StoreError::Corrupt("membership index out of step".into()))?;
            out.push((team, decode_role(role.value())?));
        }
        out.sort_by(|a, b| a.0.name.cmp(&b.0.name));
        Ok(out)
    }

    /// The members of `team` with their roles, in id order.
    pub fn team_members(&self, team: &TeamId) -> Result<Vec<(UserId, Role)>, StoreError> {
        let txn = self.core.db.begin_read()?;
        let members = txn.open_table(TEAM_MEMBERS)?;
        let mut out = Vec::new();
        for entry in members.range((team.as_str(), "")..)? {
            let (key, role) = entry?;
            let (entry_team, user) = key.value();
            if entry_team != team.as_str() {
                break;
            }
            out.push((UserId::new(user), decode_role(role.value())?));
        }
        Ok(out)
    }

    /// Adds `user` to `team` as `role`, or changes their role. Refused (and nothing
    /// changed) when that would demote the team's last admin.
    pub fn set_member(
        &self,
        team: &TeamId,
        user: &UserId,
        role: Role,
        actor: &Actor,
        now: i64,
    ) -> Result<Result<(), LastAdmin>, StoreError> {
        let (team, user) = (team.clone(), user.clone());
        self.write(actor, now, move |tx| {
            if role != Role::Admin && tx.is_last_admin(&team, &user)? {
                return Ok(Err(LastAdmin));
            }
            tx.put_member(&team, &user, role)?;
            let owner = Owner::team(&team);
            tx.audit(Event::ok(
                Action::TeamMemberSet,
                member_target(&user),
                Some(&owner),
            ))?;
            Ok(Ok(()))
        })
    }

    /// Removes `user` from `team`: `Ok(Ok(false))` when they were not a member, refused when
    /// they are its last admin.
    pub fn remove_member(
        &self,
        team: &TeamId,
        user: &UserId,
        actor: &Actor,
        now: i64,
    ) -> Result<Result<bool, LastAdmin>, StoreError> {
        let (team, user) = (team.clone(), user.clone());
        self.write(actor, now, move |tx| {
            if tx.is_last_admin(&team, &user)? {
                return Ok(Err(LastAdmin));
            }
            let removed = tx
                .txn
                .open_table(TEAM_MEMBERS)?
                .remove((team.as_str(), user.as_str()))?
                .is_some();
            tx.txn
                .open_table(USER_TEAMS)?
                .remove((user.as_str(), team.as_str()))?;
            if removed {
                let owner = Owner::team(&team);
                tx.audit(Event::ok(
                    Action::TeamMemberRemove,
                    member_target(&user),
                    Some(&owner),
                ))?;
            }
            Ok(Ok(removed))
        })
    }

    /// Deletes `team` with its secrets, their links, its members and its tokens, in one
    /// transaction.
    pub fn delete_team(&self, team: &TeamId, actor: &Actor, now: i64) -> Result<(), StoreError> {
        let team = team.clone();
        self.write(actor, now, move |tx| {
            let Some(rec) = read_team(&tx.txn.open_table(TEAMS)?, &team)? else {
                return Ok(Err(StoreError::NotFound));
            };
            let owner = rec.owner();
            for secret in tx.owned_secrets(&owner)? {
                tx.remove_secret(&secret)?;
                let shares = super::shares::remove_secret_shares(tx.txn, &secret.id, tx.now())?;
                for share in shares {
                    let target = Some(format!("share:{}", share.id));
                    tx.audit(Event::ok(Action::ShareRevoke, target, Some(&owner)))?;
                }
                let target = Some(format!("secret:{}", secret.id));
                tx.audit(Event::ok(Action::SecretDelete, target, Some(&owner)))?;
            }
            let members: Vec<String> = {
                let table = tx.txn.open_table(TEAM_MEMBERS)?;
                let mut out = Vec::new();
                for entry in table.range((team.as_str(), "")..)? {
                    let (key, _) = entry?;
                    let (entry_team, user) = key.value();
                    if entry_team != team.as_str() {
                        break;
                    }
                    out.push(user.to_string());
                }
                out
            };
            for user in &members {
                tx.txn
                    .open_table(TEAM_MEMBERS)?
                    .remove((team.as_str(), user.as_str()))?;
                tx.txn
                    .open_table(USER_TEAMS)?
                    .remove((user.as_str(), team.as_str()))?;
            }
            for token in tx.tokens_where(|t| t.team.as_ref() == Some(&team))? {
                tx.remove_token(&token)?;
                let target = Some(format!("token:{}", token.id));
                tx.audit(Event::ok(Action::TokenRevoke, target, Some(&owner)))?;
            }
            tx.txn.open_table(TEAM_NAMES)?.remove(rec.name.as_str())?;
            tx.txn.open_table(TEAMS)?.remove(team.as_str())?;
            tx.audit(Event::ok(
                Action::TeamDelete,
                team_target(&team),
                Some(&owner),
            ))?;
            Ok(Ok(()))
        })?
    }

    /// A secret by id whoever owns it, for the access check that decides whether the caller
    /// may see it (`service::access`). Never returned to a caller before that check.
    pub fn secret_any_owner(&self, id: &SecretId) -> Result<Option<SecretRecord>, StoreError> {
        let txn = self.core.db.begin_read()?;
        let secrets = txn.open_table(SECRETS)?;
        let Some(row) = secrets.get(id.as_str())? else {
            return Ok(None);
        };
        let rec: SecretRecord = Self::decode(row.value(), "secret")?;
        // Same decoding path as every owner-checked read.
        owned_record(&secrets, &rec.owner, id).map(Some)
    }

    /// The owner of share link `id`'s secret, for the access check before a revocation.
    pub fn share_owner(&self, id: &ShareId) -> Result<Option<(Owner, SecretId)>, StoreError> {
        let txn = self.core.db.begin_read()?;
        let Some(lookup) = txn
            .open_table(SHARE_IDS)?
            .get(id.as_str())?
            .map(|l| l.value().to_vec())
        else {
            return Ok(None);
        };
        let shares = txn.open_table(SHARES)?;
        let Some(row) = shares.get(lookup.as_slice())? else {
            return Ok(None);
        };
        let share: ShareRecord = Self::decode(row.value(), "share")?;
        Ok(Some((share.owner, share.secret_id)))
    }

    /// The events on `owner`'s things (a team's secrets, links and members), newest first.
    pub fn audit_for_owner(
        &self,
        owner: &Owner,
        limit: usize,
        before: Option<u64>,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        // The per-user index is keyed by owner string, which is what a team owner is too.
        self.audit_for_user(&UserId::new(owner.as_str()), limit, before)
    }
}

/// Typed team operations for write closures.
impl Tx<'_> {
    fn put_member(&self, team: &TeamId, user: &UserId, role: Role) -> Result<(), StoreError> {
        self.txn
            .open_table(TEAM_MEMBERS)?
            .insert((team.as_str(), user.as_str()), role.as_str())?;
        self.txn
            .open_table(USER_TEAMS)?
            .insert((user.as_str(), team.as_str()), ())?;
        Ok(())
    }

    /// Whether `user` is an admin of `team` and no other member is.
    pub(super) fn is_last_admin(&self, team: &TeamId, user: &UserId) -> Result<bool, StoreError> {
        let table = self.txn.open_table(TEAM_MEMBERS)?;
        let mut admins = Vec::new();
        for entry in table.range((team.as_str(), "")..)? {
            let (key, role) = entry?;
            let (entry_team, member) = key.value();
            if entry_team != team.as_str() {
                break;
            }
            if decode_role(role.value())? == Role::Admin {
                admins.push(member.to_string());
            }
        }
        Ok(admins.len() == 1 && admins[0] == user.as_str())
    }

    /// Every secret `owner` has.
    fn owned_secrets(&self, owner: &Owner) -> Result<Vec<SecretRecord>, StoreError> {
        let names = self.txn.open_table(SECRET_NAMES)?;
        let secrets = self.txn.open_table(SECRETS)?;
        let mut out = Vec::new();
        for entry in names.range((owner.as_str(), "")..)? {
            let (key, id) = entry?;
            if key.value().0 != owner.as_str() {
                break;
            }
            out.push(owned_record(&secrets, owner, id.value())?);
        }
        Ok(out)
    }

    /// Every service token matching `keep`.
    pub(super) fn tokens_where(
        &self,
        keep: impl Fn(&TokenRecord) -> bool,
    ) -> Result<Vec<TokenRecord>, StoreError> {
        let table = self.txn.open_table(SERVICE_TOKENS)?;
        let mut out = Vec::new();
        for entry in table.iter()? {
            let (_, row) = entry?;
            let token: TokenRecord = Store::decode(row.value(), "service token")?;
            if keep(&token) {
                out.push(token);
            }
        }
        Ok(out)
    }

    /// Deletes a token's rows.
    pub(super) fn remove_token(&self, token: &TokenRecord) -> Result<(), StoreError> {
        let hash = self
            .txn
            .open_table(SERVICE_TOKEN_IDS)?
            .remove(token.id.as_str())?
            .map(|h| h.value().to_vec());
        if let Some(hash) = hash {
            self.txn
                .open_table(SERVICE_TOKENS)?
                .remove(hash.as_slice())?;
        }
        Ok(())
    }
}

fn read_team(
    teams: &impl ReadableTable<&'static str, &'static [u8]>,
    id: &str,
) -> Result<Option<TeamRecord>, StoreError> {
    match teams.get(id)? {
        None => Ok(None),
        Some(row) => Store::decode(row.value(), "team").map(Some),
    }
}

fn decode_role(s: &str) -> Result<Role, StoreError> {
    Role::parse(s).ok_or_else(|| StoreError::Corrupt(format!("unknown team role {s:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::{actor, temp_store};

    fn team(name: &str) -> TeamRecord {
        TeamRecord {
            id: TeamId::new(format!("t-{name}")),
            name: name.into(),
            created_by: UserId::new("alice"),
            created_at: 1,
        }
    }

    #[test]
    fn membership_and_the_last_admin_rule() {
        let t = temp_store("teams");
        let s = &t.store;
        let (alice, bob) = (UserId::new("alice"), UserId::new("bob"));
        let ops = team("ops");
        s.create_team(&ops, &alice, &actor()).unwrap();
        assert!(matches!(
            s.create_team(&team("ops"), &bob, &actor()),
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(s.member_role(&ops.id, &alice).unwrap(), Some(Role::Admin));
        // The only admin can neither be demoted nor leave.
        assert_eq!(
            s.set_member(&ops.id, &alice, Role::Writer, &actor(), 2)
                .unwrap(),
            Err(LastAdmin)
        );
        assert_eq!(
            s.remove_member(&ops.id, &alice, &actor(), 2).unwrap(),
            Err(LastAdmin)
        );
        s.set_member(&ops.id, &bob, Role::Admin, &actor(), 2)
            .unwrap()
            .unwrap();
        assert_eq!(s.teams_of(&bob).unwrap()[0].1, Role::Admin);
        assert_eq!(
            s.remove_member(&ops.id, &alice, &actor(), 3).unwrap(),
            Ok(true)
        );
        assert_eq!(s.member_role(&ops.id, &alice).unwrap(), None);
        assert!(s.teams_of(&alice).unwrap().is_empty());
        assert_eq!(
            s.team_members(&ops.id).unwrap(),
            [(bob.clone(), Role::Admin)]
        );
        s.delete_team(&ops.id, &actor(), 4).unwrap();
        assert!(s.team_by_name("ops").unwrap().is_none());
        assert!(s.teams_of(&bob).unwrap().is_empty());
        assert!(matches!(
            s.delete_team(&ops.id, &actor(), 5),
            Err(StoreError::NotFound)
        ));
    }

    #[test]
    fn a_team_ciphertext_moved_to_a_user_does_not_open() {
        let t = temp_store("teams-aad");
        let s = &t.store;
        let team = Owner::team(&TeamId::new("t1"));
        let new = crate::store::NewSecret {
            name: "db".into(),
            description: String::new(),
            tags: vec![],
            value: crate::sensitive::SecretString::from("pw"),
        };
        let rec = s.create_secret(&team, new, &actor(), 1).unwrap();
        assert!(s.get_secret(&team, &rec.id, &actor(), 2).is_ok());
        // Rewrite the row so a user (whose id is the team's id) owns it.
        let user = Owner::new("t1");
        let mut moved = rec.clone();
        moved.owner = user.clone();
        s.write(&actor(), 3, move |tx| {
            tx.txn
                .open_table(SECRETS)?
                .insert(moved.id.as_str(), Store::encode(&moved)?.as_slice())?;
            Ok(())
        })
        .unwrap();
        assert!(matches!(
            s.get_secret(&user, &rec.id, &actor(), 4),
            Err(StoreError::Crypto(_))
        ));
    }

    #[test]
    fn roles_are_ordered() {
        assert!(Role::Reader < Role::Writer && Role::Writer < Role::Admin);
        for r in [Role::Reader, Role::Writer, Role::Admin] {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("owner"), None);
    }
}
