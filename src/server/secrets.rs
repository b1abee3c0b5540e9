//! `/secrets`, `/secrets/{id}` and `/secrets/read`: a user's own secrets only.

use crate::ids::{SecretId, UserId};
use rouille::{Request, Response};

use super::{ApiError, App, auth, body, respond, validate};
use crate::api::{
    CreateSecret, MAX_READ_REFS, ReadSecret, ReadSecrets, Rollback, SecretList, SecretMeta,
    SecretVersionInfo, SecretVersionList, SecretWithValue, SecretsRead, UpdateSecret,
};
use crate::store::{NewSecret, SecretPatch, SecretRecord, Store};
use crate::timefmt::rfc3339;

fn meta(rec: SecretRecord) -> SecretMeta {
    SecretMeta {
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
    let caller = auth::caller(req, app)?;
    let user = &caller.user_id;
    let input: CreateSecret = body::read_json(req)?;
    validate::secret_name(&input.name)?;
    validate::value(&input.value)?;
    let description = input.description.unwrap_or_default();
    validate::description(&description)?;
    let tags = validate::tags(input.tags.unwrap_or_default())?;
    let rec = app.store()?.create_secret(
        user,
        NewSecret {
            name: input.name,
            description,
            tags,
            value: input.value,
        },
        &caller.actor,
        app.now(),
    )?;
    Ok(respond::json(201, &meta(rec)))
}

/// `GET /secrets[?tag=T][&name=N]`: metadata only, sorted by name.
pub fn list(req: &Request, app: &App) -> Result<Response, ApiError> {
    let caller = auth::caller(req, app)?;
    let user = &caller.user_id;
    let tag = req.get_param("tag");
    if let Some(t) = &tag {
        validate::tag(t)?;
    }
    let name = req.get_param("name");
    if let Some(n) = &name {
        validate::secret_name(n)?;
    }
    let secrets = app
        .store()?
        .list_secrets(user, tag.as_deref(), name.as_deref())?
        .into_iter()
        .map(meta)
        .collect();
    Ok(respond::json(200, &SecretList { secrets }))
}

/// `GET /secrets/{id}[?version=N]`: metadata and value (of version N: its `version` says
/// which). A version that never existed or is no longer kept is a 404 like a missing secret.
pub fn get(req: &Request, app: &App, id: &str) -> Result<Response, ApiError> {
    let caller = auth::caller(req, app)?;
    let user = &caller.user_id;
    let version = req
        .get_param("version")
        .map(|v| version_param(&v))
        .transpose()?;
    let store = app.store()?;
    let (rec, value) = match version {
        None => store.get_secret(user, &SecretId::new(id), &caller.actor, app.now())?,
        Some(n) => {
            store.get_secret_version(user, &SecretId::new(id), n, &caller.actor, app.now())?
        }
    };
    Ok(respond::json(
        200,
        &SecretWithValue {
            meta: meta(rec),
            value,
        },
    ))
}

/// `PUT /secrets/{id}`: any of name, description, tags, value.
pub fn update(req: &Request, app: &App, id: &str) -> Result<Response, ApiError> {
    let caller = auth::caller(req, app)?;
    let user = &caller.user_id;
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
    let rec = app.store()?.update_secret(
        user,
        &SecretId::new(id),
        SecretPatch {
            name: input.name,
            description: input.description,
            tags,
            value: input.value,
        },
        &caller.actor,
        app.now(),
    )?;
    Ok(respond::json(200, &meta(rec)))
}

/// `GET /secrets/{id}/versions`: the kept versions (never values), newest first.
pub fn versions(req: &Request, app: &App, id: &str) -> Result<Response, ApiError> {
    let caller = auth::caller(req, app)?;
    let user = &caller.user_id;
    let store = app.store()?;
    let mut names = std::collections::HashMap::new();
    let mut versions = Vec::new();
    for v in store.secret_versions(user, &SecretId::new(id))? {
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
    let caller = auth::caller(req, app)?;
    let user = &caller.user_id;
    let input: Rollback = body::read_json(req)?;
    if input.to == 0 {
        return Err(ApiError::BadRequest(
            "`to` must be a version number (1 or more)".into(),
        ));
    }
    let rec = app.store()?.rollback_secret(
        user,
        &SecretId::new(id),
        input.to,
        &caller.actor,
        app.now(),
    )?;
    Ok(respond::json(200, &meta(rec)))
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
    let caller = auth::caller(req, app)?;
    let user = &caller.user_id;
    app.store()?
        .delete_secret(user, &SecretId::new(id), &caller.actor, app.now())?;
    Ok(respond::no_content())
}

/// `POST /secrets/read`: many values in one request, all or nothing. Every reference is
/// resolved before any value is opened, so a missing one reveals (and audits) nothing;
/// each value read is then audited like `GET /secrets/{id}`.
pub fn read_many(req: &Request, app: &App) -> Result<Response, ApiError> {
    let caller = auth::caller(req, app)?;
    let user = &caller.user_id;
    let input: ReadSecrets = body::read_json(req)?;
    let store = app.store()?;
    let selected = resolve_refs(&store, user, &input)?;
    let ids: Vec<SecretId> = selected.iter().map(|(_, rec)| rec.id.clone()).collect();
    let read = store.read_secrets(user, &ids, &caller.actor, app.now())?;
    let values = match read {
        Ok(values) => values,
        // Deleted between resolution and read: still all or nothing.
        Err(gone) => {
            let missing = gone.into_iter().map(|i| selected[i].0.clone()).collect();
            return Err(ApiError::MissingRefs(missing));
        }
    };
    let secrets = selected
        .into_iter()
        .zip(values)
        .map(|((reference, _), (rec, value))| ReadSecret {
            reference,
            secret: SecretWithValue {
                meta: meta(rec),
                value,
            },
        })
        .collect();
    Ok(respond::json(200, &SecretsRead { secrets }))
}

/// Resolves a batch read to (canonical reference, record) pairs without opening a value:
/// the requested refs first, in order and each once, then the prefix's other matches by
/// name. Any ref that does not resolve makes the whole read a 404 naming every such ref.
/// A `TEAM:NAME` ref or prefix resolves to nothing yet (no teams exist), exactly like a
/// missing name, so team names cannot be probed.
fn resolve_refs(
    store: &Store,
    owner: &UserId,
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
    let all = store.list_secrets(owner, None, None)?;
    let by_name: std::collections::HashMap<&str, &SecretRecord> =
        all.iter().map(|r| (r.name.as_str(), r)).collect();
    let mut selected: Vec<(String, SecretRecord)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut missing = Vec::new();
    for (raw, (team, name)) in input.refs.iter().zip(&refs) {
        match (team, by_name.get(name)) {
            (None, Some(rec)) => {
                if seen.insert(rec.id.as_str()) {
                    selected.push((rec.name.clone(), (*rec).clone()));
                }
            }
            _ => {
                if !missing.contains(raw) {
                    missing.push(raw.clone());
                }
            }
        }
    }
    if !missing.is_empty() {
        return Err(ApiError::MissingRefs(missing));
    }
    if let Some((None, p)) = prefix {
        for rec in all.iter().filter(|r| r.name.starts_with(p)) {
            if seen.insert(rec.id.as_str()) {
                selected.push((rec.name.clone(), rec.clone()));
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

/// Splits `NAME` or `TEAM:NAME` (for `field`), checking both parts; a prefix's name part
/// follows the name rule too, since it is the start of one.
fn parse_ref<'a>(raw: &'a str, field: &str) -> Result<(Option<&'a str>, &'a str), ApiError> {
    let (team, name) = match raw.split_once(':') {
        Some((team, name)) => (Some(team), name),
        None => (None, raw),
    };
    let team_ok = team.is_none_or(|t| {
        (1..=64).contains(&t.len())
            && t.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
            })
    });
    if !team_ok || validate::secret_name(name).is_err() {
        return Err(ApiError::BadRequest(format!(
            "each of `{field}` must be NAME or TEAM:NAME: NAME 1-128 characters of A-Z, a-z, \
             0-9, '.', '_', '/' or '-'; TEAM 1-64 characters of a-z, 0-9, '.', '_' or '-'"
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
