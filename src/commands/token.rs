//! `secretctl token create|ls|rm`: service tokens. `create` prints only the token on stdout
//! (so it can be piped into a CI secret store) and everything else on stderr.

use super::context::Context;
use super::{CliError, output};
use crate::api::CreateToken;
use crate::cli::{TokenCommand, TokenCreateArgs};
use crate::sensitive::ExposeSecret;

/// Runs one `token` subcommand.
pub fn run(ctx: &Context, cmd: &TokenCommand) -> Result<(), CliError> {
    match cmd {
        TokenCommand::Create(args) => create(ctx, args),
        TokenCommand::Ls { team, .. } => {
            let list = ctx.authenticated()?.tokens(team.team.as_deref())?;
            if ctx.json {
                return output::json(&list);
            }
            if list.tokens.is_empty() {
                eprintln!("no service tokens");
                return Ok(());
            }
            let rows: Vec<Vec<String>> = list
                .tokens
                .iter()
                .map(|t| {
                    vec![
                        t.id.clone(),
                        t.name.clone(),
                        t.team.clone().unwrap_or_else(|| "-".into()),
                        t.permissions.join(","),
                        t.prefix.clone().unwrap_or_else(|| "-".into()),
                        t.expires_at.clone(),
                        t.last_used_at.clone().unwrap_or_else(|| "never".into()),
                    ]
                })
                .collect();
            let headers = [
                "ID",
                "NAME",
                "TEAM",
                "PERMISSIONS",
                "PREFIX",
                "EXPIRES",
                "LAST USED",
            ];
            output::write_stdout(output::table(&headers, &rows).as_bytes())
        }
        TokenCommand::Rm { token, team, .. } => {
            let client = ctx.authenticated()?;
            let list = client.tokens(team.team.as_deref())?;
            let found = list
                .tokens
                .iter()
                .find(|t| t.id == *token)
                .or_else(|| list.tokens.iter().find(|t| t.name == *token))
                .ok_or_else(|| CliError::NotFound(format!("no service token `{token}`")))?;
            client.revoke_token(&found.id)?;
            if ctx.json {
                output::json(&serde_json::json!({ "revoked": found.name, "id": found.id }))
            } else {
                eprintln!("revoked token {} ({})", found.name, found.id);
                Ok(())
            }
        }
    }
}

fn create(ctx: &Context, args: &TokenCreateArgs) -> Result<(), CliError> {
    let mut permissions = vec!["read".to_string()];
    if args.write {
        permissions.push("write".into());
    }
    if args.share {
        permissions.push("share".into());
    }
    let created = ctx.authenticated()?.create_token(&CreateToken {
        name: args.name.clone(),
        team: args.team.team.clone(),
        permissions: Some(permissions),
        prefix: args.prefix.clone(),
        expires_in: Some(args.expires_in),
        allowed_cidrs: (!args.allow_cidrs.is_empty()).then(|| args.allow_cidrs.clone()),
    })?;
    if ctx.json {
        return output::json(&created);
    }
    eprintln!(
        "created service token {} ({}): {}{}, {}, expires {}; it is shown only now",
        created.name,
        created.id,
        created
            .team
            .as_deref()
            .map_or("your secrets".to_string(), |t| format!("team {t}")),
        created
            .prefix
            .as_deref()
            .map_or(String::new(), |p| format!(" under {p}")),
        created.permissions.join("+"),
        created.expires_at,
    );
    let line = zeroize::Zeroizing::new(format!("{}\n", created.token.expose_secret()));
    output::write_stdout(line.as_bytes())
}
