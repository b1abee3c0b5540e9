//! `put`, `get`, `ls`, `rm`, `update`: secrets addressed by name (ids are an API detail).

use std::io::IsTerminal;

use super::context::Context;
use super::{CliError, input, output};
use crate::api::{CreateSecret, SecretWithValue, UpdateSecret};
use crate::cli::{PutArgs, UpdateArgs};
use crate::sensitive::ExposeSecret;

/// `secretctl put NAME`.
pub fn put(ctx: &Context, args: &PutArgs) -> Result<(), CliError> {
    let client = ctx.authenticated()?;
    let value = input::value(&args.source)?;
    let meta = client.create_secret(&CreateSecret {
        name: args.name.clone(),
        value,
        description: args.description.clone(),
        tags: (!args.tags.is_empty()).then(|| args.tags.clone()),
    })?;
    if ctx.json {
        output::json(&meta)
    } else {
        eprintln!("stored {} (version {})", meta.name, meta.version);
        Ok(())
    }
}

/// `secretctl get NAME`: the value exactly; a newline is added only for a terminal.
pub fn get(ctx: &Context, name: &str) -> Result<(), CliError> {
    let client = ctx.authenticated()?;
    let id = client.find_by_name(name)?.id;
    let secret: SecretWithValue = client.get_secret(&id)?;
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
pub fn ls(ctx: &Context, tag: Option<&str>) -> Result<(), CliError> {
    let list = ctx.authenticated()?.list_secrets(tag, None)?;
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
    let patch = UpdateSecret {
        name: args.rename.clone(),
        description: args.description.clone(),
        tags: if args.clear_tags {
            Some(Vec::new())
        } else {
            (!args.tags.is_empty()).then(|| args.tags.clone())
        },
        value: input::explicit_value(&args.source)?,
    };
    if patch.name.is_none()
        && patch.description.is_none()
        && patch.tags.is_none()
        && patch.value.is_none()
    {
        return Err(CliError::Usage(
            "nothing to update: give --rename, --description, --tag, --clear-tags, --value or --from-file".into(),
        ));
    }
    let client = ctx.authenticated()?;
    let id = client.find_by_name(&args.name)?.id;
    let meta = client.update_secret(&id, &patch)?;
    if ctx.json {
        output::json(&meta)
    } else {
        eprintln!("updated {} (version {})", meta.name, meta.version);
        Ok(())
    }
}
