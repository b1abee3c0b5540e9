//! `/secrets`, `/secrets/{id}` and `/secrets/read`: a person's own secrets, their teams'
//! (by role), or a service token's scope; who may do what is `service::access`, applied
//! through the helpers in `teams`.

use crate::ids::{Owner, SecretId, UserId};
use rouille::{Request, Response};

use super::auth::Authed;
use super::{ApiError, App, auth, body, respond, teams, validate};
use crate::api::{
    CreateSecret, MAX_READ_REFS, ReadSecret, ReadSecrets, Rollback, SecretList, SecretMeta,
    SecretVersionInfo, SecretVersionList, SecretWithValue, SecretsRead, UpdateSecret,
};
use crate::service::access::Permission;
use crate::store::Action;
use crate::store::{NewSecret, SecretPatch, SecretRecord, Store};
use crate::timefmt::rfc3339;

fn meta(rec: SecretRecord, team: Option<String>) -> SecretMeta {
    SecretMeta {
        team,
        id: rec.id.into_string(),
        name: rec.name,
        description: rec.description,
        tags: rec.tags,
        version: rec.version,
        created_at: rfc3339(rec.created_at),
        updated_at: rfc3339(rec.updated_at),
    }
}

/// `POST /secrets`.
pub fn create(req: &Request, app: &App) -> Result<Response, ApiError> {
    let who = auth::principal(req, app)?;
    let input: CreateSecret = body::read_json(req)?;
    validate::secret_name(&input.name)?;
    validate::value(&input.value)?;
    let description = input.description.unwrap_or_default();
    validate::description(&description)?;
    let tags = validate::tags(input.tags.unwrap_or_default())?;
    let store = app.store()?;
    let owner = teams::requested_owner(&store, &who, input.team.as_deref())?;
    teams::may_create(&store, &who, &owner, &input.name)?;
    let rec = store.create_secret(
        &owner,
        NewSecret {
            name: input.name,
            description,
            tags,
            value: input.value,
        },
        &who.actor,
        app.now(),
    )?;
    let team = teams::team_label(&store, &rec.owner)?;
    Ok(respond::json(201, &meta(rec, team)))
}

/// `GET /secrets[?team=T][&tag=T][&name=N]`: metadata only, sorted by name.
pub fn list(req: &Request, app: &App) -> Result<Response, ApiError> {
    let who = auth::principal(req, app)?;
    let tag = req.get_param("tag");
    if let Some(t) = &tag {
        validate::tag(t)?;
    }
    let name = req.get_param("name");
    if let Some(n) = &name {
        validate::secret_name(n)?;
    }
    let store = app.store()?;
    let owner = teams::requested_owner(&store, &who, req.get_param("team").as_deref())?;
    teams::may_list(&store, &who, &owner)?;
    let team = teams::team_label(&store, &owner)?;
    let secrets = store
        .list_secrets(&owner, tag.as_deref(), name.as_deref())?
        .into_iter()
        .filter(|r| teams::in_scope(&who, &r.name))
        .map(|r| meta(r, team.clone()))
        .collect();
    Ok(respond::json(200, &SecretList { secrets }))
}

/// `GET /secrets/{id}[?version=N]`: metadata and value (of version N: its `version` says
/// which). A version that never existed or is no longer kept is a 404 like a missing secret.
pub fn get(req: &Request, app: &App, id: &str) -> Result<Response, ApiError> {
    let who = auth::principal(req, app)?;
    let version = req
        .get_param("version")
        .map(|v| version_param(&v))
        .transpose()?;
    let store = app.store()?;
    let id = SecretId::new(id);
    let found = teams::permitted_secret(
        &store,
        app,
        &who,
        &id,
        Permission::Read,
        Some(Action::SecretRead),
    )?;
    let (rec, value) = match version {
        None => store.get_secret(&found.owner, &id, &who.actor, app.now())?,
        Some(n) => store.get_secret_version(&found.owner, &id, n, &who.actor, app.now())?,
    };
    let team = teams::team_label(&store, &rec.owner)?;
    Ok(respond::json(
        200,
        &SecretWithValue {
            meta: meta(rec, team),
            value,
        },
    ))
}

/// `PUT /secrets/{id}`: any of name, description, tags, value.
pub fn update(req: &Request, app: &App, id: &str) -> Result<Response, ApiError> {
    let who = auth::principal(req, app)?;
    let input: UpdateSecret = body::read_json(req)?;
    if input.name.is_none()
        && input.description.is_none()
        && input.tags.is_none()
        && input.value.is_none()
    {
        return Err(ApiError::BadRequest(
            "nothing to update: give at least one of name, description, tags, value".into(),
        ));
    }
    if let Some(n) = &input.name {
        validate::secret_name(n)?;
    }
    if let Some(d) = &input.description {
        validate::description(d)?;
    }
    if let Some(v) = &input.value {
        validate::value(v)?;
    }
    let tags = input.tags.map(validate::tags).transpose()?;
    let store = app.store()?;
    let id = SecretId::new(id);
    let found = teams::permitted_secret(
        &store,
        app,
        &who,
        &id,
        Permission::Write,
        Some(Action::SecretUpdate),
    )?;
    if let Some(n) = &input.name {
        teams::may_rename(&who, n)?;
    }
    let rec = store.update_secret(
        &found.owner,
        &id,
        SecretPatch {
            name: input.name,
            description: input.description,
            tags,
            value: input.value,
        },
        &who.actor,
        app.now(),
    )?;
    let team = teams::team_label(&store, &rec.owner)?;
    Ok(respond::json(200, &meta(rec, team)))
}

/// `GET /secrets/{id}/versions`: the kept versions (never values), newest first.
pub fn versions(req: &Request, app: &App, id: &str) -> Result<Response, ApiError> {
    let who = auth::principal(req, app)?;
    let store = app.store()?;
    let id = SecretId::new(id);
    let found = teams::permitted_secret(&store, app, &who, &id, Permission::Read, None)?;
    let mut names = std::collections::HashMap::new();
    let mut versions = Vec::new();
    for v in store.secret_versions(&found.owner, &id)? {
        if !names.contains_key(&v.created_by) {
            let name = store
                .find_user_by_id(&UserId::new(v.created_by.as_str()))?
                .map(|u| u.username);
            names.insert(v.created_by.clone(), name);
        }
        versions.push(SecretVersionInfo {
            version: v.version,
            created_at: rfc3339(v.created_at),
            created_by_name: names.get(&v.created_by).cloned().flatten(),
            created_by: v.created_by,
        });
    }
    Ok(respond::json(200, &SecretVersionList { versions }))
}

/// `POST /secrets/{id}/rollback {"to": N}`: version N's value becomes current again, as a
/// new version; the answer is the secret's new metadata.
pub fn rollback(req: &Request, app: &App, id: &str) -> Result<Response, ApiError> {
    let who = auth::principal(req, app)?;
    let input: Rollback = body::read_json(req)?;
    if input.to == 0 {
        return Err(ApiError::BadRequest(
            "`to` must be a version number (1 or more)".into(),
        ));
    }
    let store = app.store()?;
    let id = SecretId::new(id);
    let found = teams::permitted_secret(
        &store,
        app,
        &who,
        &id,
        Permission::Write,
        Some(Action::SecretUpdate),
    )?;
    let rec = store.rollback_secret(&found.owner, &id, input.to, &who.actor, app.now())?;
    let team = teams::team_label(&store, &rec.owner)?;
    Ok(respond::json(200, &meta(rec, team)))
}

/// Parses `?version=N`: a whole number from 1.
fn version_param(raw: &str) -> Result<u64, ApiError> {
    match raw.parse::<u64>() {
        Ok(n) if n >= 1 && raw.bytes().all(|b| b.is_ascii_digit()) => Ok(n),
        _ => Err(ApiError::BadRequest(
            "`version` must be a version number (1 or more)".into(),
        )),
    }
}

/// `DELETE /secrets/{id}`.
pub fn delete(req: &Request, app: &App, id: &str) -> Result<Response, ApiError> {
    let who = auth::principal(req, app)?;
    let store = app.store()?;
    let id = SecretId::new(id);
    let found = teams::permitted_secret(
        &store,
        app,
        &who,
        &id,
        Permission::Write,
        Some(Action::SecretDelete),
    )?;
    store.delete_secret(&found.owner, &id, &who.actor, app.now())?;
    Ok(respond::no_content())
}

/// `POST /secrets/read`: many values in one request, all or nothing. Every reference is
/// resolved before any value is opened, so a missing one reveals (and audits) nothing;
/// each value read is then audited like `GET /secrets/{id}`.
pub fn read_many(req: &Request, app: &App) -> Result<Response, ApiError> {
    let who = auth::principal(req, app)?;
    let input: ReadSecrets = body::read_json(req)?;
    let store = app.store()?;
    let selected = resolve_refs(&store, &who, &input)?;
    let items: Vec<(Owner, SecretId)> = selected
        .iter()
        .map(|(_, rec)| (rec.owner.clone(), rec.id.clone()))
        .collect();
    let read = store.read_secrets(&items, &who.actor, app.now())?;
    let values = match read {
        Ok(values) => values,
        // Deleted between resolution and read: still all or nothing.
        Err(gone) => {
            let missing = gone.into_iter().map(|i| selected[i].0.clone()).collect();
            return Err(ApiError::MissingRefs(missing));
        }
    };
    let mut secrets = Vec::with_capacity(values.len());
    for ((reference, _), (rec, value)) in selected.into_iter().zip(values) {
        let team = teams::team_label(&store, &rec.owner)?;
        secrets.push(ReadSecret {
            reference,
            secret: SecretWithValue {
                meta: meta(rec, team),
                value,
            },
        });
    }
    Ok(respond::json(200, &SecretsRead { secrets }))
}

/// Resolves a batch read to (canonical reference, record) pairs without opening a value:
/// the requested refs first, in order and each once, then the prefix's other matches by
/// name. Any ref that does not resolve makes the whole read a 404 naming every such ref. A
/// `TEAM:NAME` in a team the caller is not in (or a token is not for), or outside a token's
/// prefix, resolves to nothing, exactly like a missing name, so nothing can be probed.
fn resolve_refs(
    store: &Store,
    who: &Authed,
    input: &ReadSecrets,
) -> Result<Vec<(String, SecretRecord)>, ApiError> {
    if input.refs.is_empty() && input.prefix.is_none() {
        return Err(ApiError::BadRequest(
            "give `refs` (a list of secret references) and/or `prefix`".into(),
        ));
    }
    if input.refs.len() > MAX_READ_REFS {
        return Err(ApiError::BadRequest(format!(
            "at most {MAX_READ_REFS} refs per request"
        )));
    }
    let refs = input
        .refs
        .iter()
        .map(|r| parse_ref(r, "refs"))
        .collect::<Result<Vec<_>, _>>()?;
    let prefix = input
        .prefix
        .as_deref()
        .map(|p| parse_ref(p, "prefix"))
        .transpose()?;
    // The secrets visible in each scope named, loaded once per scope.
    let mut scopes: std::collections::HashMap<Option<&str>, Vec<SecretRecord>> =
        std::collections::HashMap::new();
    for team in refs.iter().map(|r| r.0).chain(prefix.map(|p| p.0)) {
        if let std::collections::hash_map::Entry::Vacant(slot) = scopes.entry(team) {
            slot.insert(visible_secrets(store, who, team)?);
        }
    }
    let canonical = |team: Option<&str>, name: &str| match team {
        Some(t) => format!("{t}:{name}"),
        None => name.to_string(),
    };
    let mut selected: Vec<(String, SecretRecord)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut missing = Vec::new();
    for (raw, (team, name)) in input.refs.iter().zip(&refs) {
        match scopes[team].iter().find(|r| r.name == *name) {
            Some(rec) => {
                if seen.insert(rec.id.clone()) {
                    selected.push((canonical(*team, &rec.name), rec.clone()));
                }
            }
            None => {
                if !missing.contains(raw) {
                    missing.push(raw.clone());
                }
            }
        }
    }
    if !missing.is_empty() {
        return Err(ApiError::MissingRefs(missing));
    }
    if let Some((team, p)) = prefix {
        for rec in scopes[&team].iter().filter(|r| r.name.starts_with(p)) {
            if seen.insert(rec.id.clone()) {
                selected.push((canonical(team, &rec.name), rec.clone()));
            }
        }
    }
    if selected.len() > MAX_READ_REFS {
        return Err(ApiError::BadRequest(format!(
            "this selects more than {MAX_READ_REFS} secrets; narrow the prefix"
        )));
    }
    Ok(selected)
}

/// The secrets of scope `team` (or the caller's own) the caller may read; none for a scope
/// the caller cannot see.
fn visible_secrets(
    store: &Store,
    who: &Authed,
    team: Option<&str>,
) -> Result<Vec<SecretRecord>, ApiError> {
    let owner = match teams::requested_owner(store, who, team) {
        Ok(owner) => owner,
        Err(ApiError::NotFound) => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    match teams::may_list(store, who, &owner) {
        Ok(()) => {}
        Err(ApiError::NotFound) => return Ok(Vec::new()),
        Err(e) => return Err(e),
    }
    Ok(store
        .list_secrets(&owner, None, None)?
        .into_iter()
        .filter(|r| teams::in_scope(who, &r.name))
        .collect())
}

/// Splits `NAME` or `TEAM:NAME` (for `field`), checking both parts; a prefix's name part
/// follows the name rule too, since it is the start of one.
fn parse_ref<'a>(raw: &'a str, field: &str) -> Result<(Option<&'a str>, &'a str), ApiError> {
    let (team, name) = match raw.split_once(':') {
        Some((team, name)) => (Some(team), name),
        None => (None, raw),
    };
    let team_ok = team.is_none_or(crate::service::teams::valid_name);
    if !team_ok || validate::secret_name(name).is_err() {
        return Err(ApiError::BadRequest(format!(
            "each of `{field}` must be NAME or TEAM:NAME: NAME 1-128 characters of A-Z, a-z, \
             0-9, '.', '_', '/' or '-'; TEAM 3-64 characters of a-z, 0-9, '.', '_' or '-'"
        )));
    }
    Ok((team, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_parameters_are_whole_numbers_from_one() {
        assert_eq!(version_param("1").unwrap(), 1);
        assert_eq!(version_param("42").unwrap(), 42);
        for bad in [
            "",
            "0",
            "-1",
            "+1",
            "1.0",
            "x",
            " 1",
            "99999999999999999999999",
        ] {
            assert!(version_param(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn references_are_name_or_team_and_name() {
        assert_eq!(parse_ref("prod/db", "refs").unwrap(), (None, "prod/db"));
        assert_eq!(
            parse_ref("ops:prod/db", "refs").unwrap(),
            (Some("ops"), "prod/db")
        );
        for bad in ["", ":x", "ops:", "a b", "Ops:x", "a:b:c", "x\n"] {
            assert!(parse_ref(bad, "refs").is_err(), "{bad:?}");
        }
    }
}
