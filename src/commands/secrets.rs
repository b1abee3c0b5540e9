//! `put`, `get`, `ls`, `rm`, `update`, `history`, `rollback`: secrets addressed by name (ids
//! are an API detail).

use std::io::IsTerminal;

use super::context::Context;
use super::{CliError, input, output};
use crate::api::{CreateSecret, SecretWithValue, UpdateSecret};
use crate::cli::{PutArgs, UpdateArgs};
use crate::client::ClientError;
use crate::sensitive::ExposeSecret;

/// `secretctl put NAME`.
pub fn put(ctx: &Context, args: &PutArgs) -> Result<(), CliError> {
    let client = ctx.authenticated()?;
    let value = input::value(&args.source)?;
    let (team, name) = super::refs::split(args.team.team.as_deref(), &args.name);
    let meta = client
        .create_secret(&CreateSecret {
            name,
            value,
            description: args.description.clone(),
            tags: (!args.tags.is_empty()).then(|| args.tags.clone()),
            team,
        })
        .map_err(|e| match e.status() {
            Some(409) => CliError::Conflict(format!(
                "you already have a secret named {0}; to change its value, run `secretctl update {0}` with --value, --from-file or the value on stdin",
                args.name
            )),
            _ => e.into(),
        })?;
    if ctx.json {
        output::json(&meta)
    } else {
        eprintln!("stored {} (version {})", meta.name, meta.version);
        Ok(())
    }
}

/// `secretctl get NAME [--version N]`: the value exactly; a newline is added only for a
/// terminal.
pub fn get(ctx: &Context, name: &str, version: Option<u64>) -> Result<(), CliError> {
    let client = ctx.authenticated()?;
    let id = client.find_by_name(name)?.id;
    let secret: SecretWithValue = match version {
        None => client.get_secret(&id)?,
        Some(n) => client
            .get_secret_version(&id, n)
            .map_err(|e| no_such_version(e, name, n))?,
    };
    if ctx.json {
        return output::json(&secret);
    }
    let value = secret.value.expose_secret();
    output::write_stdout(value.as_bytes())?;
    if std::io::stdout().is_terminal() && !value.ends_with('\n') {
        output::write_stdout(b"\n")?;
    }
    Ok(())
}

/// `secretctl ls`.
pub fn ls(ctx: &Context, tag: Option<&str>, team: Option<&str>) -> Result<(), CliError> {
    let list = ctx.authenticated()?.list_secrets_in(team, tag, None)?;
    if ctx.json {
        return output::json(&list);
    }
    if list.secrets.is_empty() {
        eprintln!(
            "no secrets{}",
            tag.map(|t| format!(" tagged {t}")).unwrap_or_default()
        );
        return Ok(());
    }
    let rows: Vec<Vec<String>> = list
        .secrets
        .iter()
        .map(|s| {
            vec![
                s.name.clone(),
                s.version.to_string(),
                s.tags.join(","),
                s.updated_at.clone(),
            ]
        })
        .collect();
    output::write_stdout(output::table(&["NAME", "VERSION", "TAGS", "UPDATED"], &rows).as_bytes())
}

/// `secretctl rm NAME`.
pub fn rm(ctx: &Context, name: &str) -> Result<(), CliError> {
    let client = ctx.authenticated()?;
    let meta = client.find_by_name(name)?;
    client.delete_secret(&meta.id)?;
    if ctx.json {
        output::json(&serde_json::json!({ "deleted": meta.name, "id": meta.id }))
    } else {
        eprintln!("deleted {}", meta.name);
        Ok(())
    }
}

/// `secretctl update NAME`.
pub fn update(ctx: &Context, args: &UpdateArgs) -> Result<(), CliError> {
    let mut patch = UpdateSecret {
        name: args.rename.clone(),
        description: args.description.clone(),
        tags: if args.clear_tags {
            Some(Vec::new())
        } else {
            (!args.tags.is_empty()).then(|| args.tags.clone())
        },
        value: input::explicit_value(&args.source)?,
    };
    let is_empty = |p: &UpdateSecret| {
        p.name.is_none() && p.description.is_none() && p.tags.is_none() && p.value.is_none()
    };
    if is_empty(&patch) {
        // `printf %s NEW | secretctl update NAME` means "this is the new value", as with put.
        patch.value = input::piped_value()?;
    }
    if is_empty(&patch) {
        return Err(CliError::Usage(format!(
            "nothing to update: pipe the new value in (`printf %s VALUE | secretctl update {0}`), or give --value, --from-file, --rename, --description, --tag or --clear-tags",
            args.name
        )));
    }
    let client = ctx.authenticated()?;
    let reference = super::refs::qualify(args.team.team.as_deref(), &args.name);
    let id = client.find_by_name(&reference)?.id;
    let meta = client.update_secret(&id, &patch)?;
    if ctx.json {
        output::json(&meta)
    } else {
        eprintln!("updated {} (version {})", meta.name, meta.version);
        Ok(())
    }
}

/// `secretctl history NAME`: the kept versions, newest first.
pub fn history(ctx: &Context, name: &str) -> Result<(), CliError> {
    let client = ctx.authenticated()?;
    let id = client.find_by_name(name)?.id;
    let list = client.secret_versions(&id)?;
    if ctx.json {
        return output::json(&list);
    }
    let rows: Vec<Vec<String>> = list
        .versions
        .iter()
        .map(|v| {
            vec![
                v.version.to_string(),
                v.created_at.clone(),
                v.created_by_name
                    .clone()
                    .unwrap_or_else(|| v.created_by.clone()),
            ]
        })
        .collect();
    output::write_stdout(output::table(&["VERSION", "TIME", "WHO"], &rows).as_bytes())
}

/// `secretctl rollback NAME --to N`.
pub fn rollback(ctx: &Context, name: &str, to: u64) -> Result<(), CliError> {
    let client = ctx.authenticated()?;
    let id = client.find_by_name(name)?.id;
    let meta = client
        .rollback_secret(&id, to)
        .map_err(|e| no_such_version(e, name, to))?;
    if ctx.json {
        output::json(&meta)
    } else {
        eprintln!(
            "rolled {} back to the value of version {to} (now version {})",
            meta.name, meta.version
        );
        Ok(())
    }
}

/// A 404 for a secret just found by name means its version `n` is not kept (never existed,
/// or pruned); say so rather than "not found".
fn no_such_version(e: ClientError, name: &str, n: u64) -> CliError {
    match e.status() {
        Some(404) => CliError::NotFound(format!(
            "{name} has no version {n} (it never existed or is no longer kept); see `secretctl history {name}`"
        )),
        _ => e.into(),
    }
}
