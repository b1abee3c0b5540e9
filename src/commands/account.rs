//! `register`, `login`, `logout`, and `account` (show, set-email).

use super::context::Context;
use super::{CliError, input, output};
use crate::api::Credentials;
use crate::cli::{AccountArgs, AccountCommand};
use crate::client::session_cache::{CachedSession, SessionCache};

/// Refuses to send a password in clear across the network unless `--insecure-http`.
fn refuse_cleartext_password(ctx: &Context, args: &AccountArgs) -> Result<(), CliError> {
    if args.insecure_http || !crate::client::is_cleartext_to_remote(&ctx.server) {
        return Ok(());
    }
    Err(CliError::Usage(format!(
        "refusing to send a password over plain http:// to {} (not this machine; anyone on the way could read it): use an https:// URL, or pass --insecure-http if you trust the network",
        ctx.server
    )))
}

/// `secretctl register`.
pub fn register(ctx: &Context, args: &AccountArgs) -> Result<(), CliError> {
    refuse_cleartext_password(ctx, args)?;
    let client = ctx.anonymous()?;
    let creds = Credentials {
        username: args.username.clone(),
        password: input::password(args.password_stdin, true)?,
    };
    let user = client.register(&creds)?;
    if ctx.json {
        output::json(&user)
    } else {
        eprintln!(
            "registered {} on {}; now run: secretctl login --username {}",
            user.username, ctx.server, user.username
        );
        Ok(())
    }
}

/// `secretctl login`: caches the token for this server.
pub fn login(ctx: &Context, args: &AccountArgs) -> Result<(), CliError> {
    refuse_cleartext_password(ctx, args)?;
    let client = ctx.anonymous()?;
    let creds = Credentials {
        username: args.username.clone(),
        password: input::password(args.password_stdin, false)?,
    };
    let resp = client.login(&creds).map_err(|e| match e.status() {
        // The generic 401 advice ("log in again") makes no sense for a login.
        Some(401) => {
            CliError::Unauthorized(format!("wrong username or password for {}", ctx.server))
        }
        _ => e.into(),
    })?;
    let cache = SessionCache::default_location()?;
    let expires_at = resp.expires_at.clone();
    cache.save(
        &ctx.server,
        CachedSession {
            token: resp.token,
            username: creds.username.clone(),
            expires_at: expires_at.clone(),
        },
    )?;
    if ctx.json {
        output::json(&serde_json::json!({
            "server": ctx.server,
            "username": creds.username,
            "expires_at": expires_at,
        }))
    } else {
        eprintln!(
            "logged in to {} as {} (session expires {expires_at})",
            ctx.server, creds.username
        );
        Ok(())
    }
}

/// `secretctl logout`: revokes the session on the server, then forgets it locally. Both the
/// `SECRETCTL_TOKEN` token (when it belongs to this server) and the cached one are revoked,
/// so no live session is left behind; a token the server no longer knows is forgotten all
/// the same. When the server cannot be told, the cached session is still forgotten and the
/// command says the session stays valid on the server until it expires.
pub fn logout(ctx: &Context) -> Result<(), CliError> {
    let server = ctx.checked_server()?;
    let cache = SessionCache::default_location()?;
    let cached = cache.load(server)?;
    let tokens: Vec<_> = super::context::env_token_for(server)
        .into_iter()
        .chain(cached.as_ref().map(|c| c.token.clone()))
        .collect();
    if tokens.is_empty() {
        eprintln!("not logged in to {server}; nothing to do");
        return if ctx.json {
            output::json(&serde_json::json!({ "server": server, "logged_out": false }))
        } else {
            Ok(())
        };
    }
    let mut not_told = None;
    for token in tokens {
        match ctx.client(server, Some(token))?.logout() {
            Ok(()) => {}
            Err(e) if e.status() == Some(401) => {}
            // Down, unreachable, refusing: forget locally all the same, and say so below.
            Err(e) => not_told = Some(e),
        }
    }
    if cached.is_some() {
        cache.remove(server)?;
    }
    if let Some(e) = &not_told {
        let until = cached
            .as_ref()
            .map(|c| format!(" until {}", c.expires_at))
            .unwrap_or_default();
        eprintln!(
            "warning: could not tell {server} to revoke the session ({e}); it stays valid there{until}"
        );
    }
    if ctx.json {
        output::json(&serde_json::json!({
            "server": server,
            "logged_out": true,
            "server_told": not_told.is_none(),
        }))
    } else {
        eprintln!(
            "logged out of {server}{}",
            if not_told.is_some() { " (locally)" } else { "" }
        );
        Ok(())
    }
}

/// `secretctl account show` and `secretctl account set-email ADDRESS` ("" clears it).
pub fn account(ctx: &Context, cmd: &AccountCommand) -> Result<(), CliError> {
    let client = ctx.authenticated()?;
    let account = match cmd {
        AccountCommand::Show(_) => client.account()?,
        AccountCommand::SetEmail { address, .. } => {
            let address = address.trim();
            client.set_email((!address.is_empty()).then_some(address))?
        }
    };
    if ctx.json {
        return output::json(&account);
    }
    match (cmd, &account.email) {
        (AccountCommand::Show(_), email) => output::write_stdout(
            format!(
                "id:        {}\nusername:  {}\nemail:     {}\n",
                account.id,
                account.username,
                email.as_deref().unwrap_or("-")
            )
            .as_bytes(),
        ),
        (AccountCommand::SetEmail { .. }, Some(email)) => {
            eprintln!(
                "alerts for {} will be mailed to {email} (when the server sends mail)",
                account.username
            );
            Ok(())
        }
        (AccountCommand::SetEmail { .. }, None) => {
            eprintln!("alert email cleared for {}", account.username);
            Ok(())
        }
    }
}
