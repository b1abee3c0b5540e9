//! `register`, `login`, `logout`.

use super::context::Context;
use super::{CliError, input, output};
use crate::api::Credentials;
use crate::cli::AccountArgs;
use crate::client::session_cache::{CachedSession, SessionCache};

/// `secretctl register`.
pub fn register(ctx: &Context, args: &AccountArgs) -> Result<(), CliError> {
    let creds = Credentials {
        username: args.username.clone(),
        password: input::password(args.password_stdin, true)?,
    };
    let user = ctx.anonymous().register(&creds)?;
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
    let creds = Credentials {
        username: args.username.clone(),
        password: input::password(args.password_stdin, false)?,
    };
    let resp = ctx.anonymous().login(&creds)?;
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

/// `secretctl logout`: revokes the token on the server, then forgets it locally. A token the
/// server no longer knows is forgotten all the same.
pub fn logout(ctx: &Context) -> Result<(), CliError> {
    let cache = SessionCache::default_location()?;
    let had_cached = cache.load(&ctx.server)?.is_some();
    let using_env = std::env::var("SECRETCTL_TOKEN").is_ok_and(|t| !t.trim().is_empty());
    if !had_cached && !using_env {
        return Err(CliError::Unauthorized(format!(
            "not logged in to {}",
            ctx.server
        )));
    }
    match ctx.authenticated() {
        Ok(client) => match client.logout() {
            Ok(()) => {}
            Err(e) if e.status() == Some(401) => {}
            Err(e) => return Err(e.into()),
        },
        // Expired locally: nothing left to revoke on the server.
        Err(CliError::Unauthorized(_)) if had_cached => {}
        Err(e) => return Err(e),
    }
    if had_cached {
        cache.remove(&ctx.server)?;
    }
    if ctx.json {
        output::json(&serde_json::json!({ "server": ctx.server, "logged_out": true }))
    } else {
        eprintln!("logged out of {}", ctx.server);
        Ok(())
    }
}
