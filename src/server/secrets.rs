//! `/secrets` and `/secrets/{id}`: a user's own secrets only.

use rouille::{Request, Response};

use super::{ApiError, App, auth, body, respond, validate};
use crate::api::{CreateSecret, SecretList, SecretMeta, SecretWithValue, UpdateSecret};
use crate::store::{NewSecret, SecretPatch, SecretRecord};
use crate::timefmt::rfc3339;

fn meta(rec: SecretRecord) -> SecretMeta {
    SecretMeta {
        id: rec.id,
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
    let user = caller.user_id.as_str();
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
    let user = caller.user_id.as_str();
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

/// `GET /secrets/{id}`: metadata and value.
pub fn get(req: &Request, app: &App, id: &str) -> Result<Response, ApiError> {
    let caller = auth::caller(req, app)?;
    let user = caller.user_id.as_str();
    let (rec, value) = app
        .store()?
        .get_secret(user, id, &caller.actor, app.now())?;
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
    let user = caller.user_id.as_str();
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
        id,
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

/// `DELETE /secrets/{id}`.
pub fn delete(req: &Request, app: &App, id: &str) -> Result<Response, ApiError> {
    let caller = auth::caller(req, app)?;
    let user = caller.user_id.as_str();
    app.store()?
        .delete_secret(user, id, &caller.actor, app.now())?;
    Ok(respond::no_content())
}
