//! `register`, `login`, `logout`, and `account` (show, set-email, passwd, sessions, delete).

use crate::client::ClientError;
use std::io::IsTerminal;

use super::context::Context;
use super::{CliError, input, output};
use crate::api::{ChangePassword, Credentials, DeleteAccount};
use crate::cli::{
    AccountArgs, AccountCommand, DeleteAccountArgs, PasswdArgs, RevokeSessionArgs, SessionsAction,
    SessionsArgs,
};
use crate::client::session_cache::{CachedSession, SessionCache};

/// Refuses to send a password in clear across the network unless `--insecure-http`.
fn refuse_cleartext_password(ctx: &Context, insecure_http: bool) -> Result<(), CliError> {
    if insecure_http || !crate::client::is_cleartext_to_remote(&ctx.server) {
        return Ok(());
    }
    Err(CliError::Usage(format!(
        "refusing to send a password over plain http:// to {} (not this machine; anyone on the way could read it): use an https:// URL, or pass --insecure-http if you trust the network",
        ctx.server
    )))
}

/// `secretctl register`.
pub fn register(ctx: &Context, args: &AccountArgs) -> Result<(), CliError> {
    refuse_cleartext_password(ctx, args.insecure_http)?;
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
    refuse_cleartext_password(ctx, args.insecure_http)?;
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
        _ if matches!(&e, ClientError::Api { code, .. } if code == "password_change_required") => {
            CliError::Unauthorized(format!(
                "this is a one-time password: set your own with `secretctl account passwd --username {}`, then log in",
                args.username
            ))
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

/// `secretctl account ...`.
pub fn account(ctx: &Context, cmd: &AccountCommand) -> Result<(), CliError> {
    match cmd {
        AccountCommand::Show(_) => profile(ctx, None),
        AccountCommand::SetEmail { address, .. } => profile(ctx, Some(address)),
        AccountCommand::Passwd(args) => passwd(ctx, args),
        AccountCommand::Sessions(args) => sessions(ctx, args),
        AccountCommand::Delete(args) => delete(ctx, args),
    }
}

/// `secretctl account show` (`set: None`) and `secretctl account set-email ADDRESS`
/// (`set: Some(ADDRESS)`; "" clears it).
fn profile(ctx: &Context, set: Option<&str>) -> Result<(), CliError> {
    let client = ctx.authenticated()?;
    let account = match set {
        None => client.account()?,
        Some(address) => {
            let address = address.trim();
            client.set_email((!address.is_empty()).then_some(address))?
        }
    };
    if ctx.json {
        return output::json(&account);
    }
    match (set, &account.email) {
        (None, email) => output::write_stdout(
            format!(
                "id:        {}\nusername:  {}\nemail:     {}\n",
                account.id,
                account.username,
                email.as_deref().unwrap_or("-")
            )
            .as_bytes(),
        ),
        (Some(_), Some(email)) => {
            eprintln!(
                "alerts for {} will be mailed to {email} (when the server sends mail)",
                account.username
            );
            Ok(())
        }
        (Some(_), None) => {
            eprintln!("alert email cleared for {}", account.username);
            Ok(())
        }
    }
}

/// A 403 on a re-entered password means the password, not the session, was wrong.
fn wrong_password(e: crate::client::ClientError) -> CliError {
    match e.status() {
        Some(403) => CliError::Unauthorized("wrong password; nothing was changed".into()),
        _ => e.into(),
    }
}

/// `secretctl account passwd`: current password once, the new one twice (or two lines of
/// stdin with `--password-stdin`).
fn passwd(ctx: &Context, args: &PasswdArgs) -> Result<(), CliError> {
    refuse_cleartext_password(ctx, args.insecure_http)?;
    // A one-time password has no session behind it: the username says whose it is.
    let client = match &args.username {
        Some(_) => ctx.anonymous()?,
        None => ctx.authenticated()?,
    };
    let username = args.username.clone();
    let input = if args.password_stdin {
        ChangePassword {
            username,
            current_password: input::stdin_line("current password")?,
            new_password: input::stdin_line("new password")?,
        }
    } else {
        let hint = "use --password-stdin (current and new password on two lines)";
        ChangePassword {
            username,
            current_password: input::prompt_secret("current password", false, hint)?,
            new_password: input::prompt_secret("new password", true, hint)?,
        }
    };
    match &args.username {
        // Without a session a wrong password is a 401 like a failed login.
        Some(_) => client
            .change_password(&input)
            .map_err(|e| match e.status() {
                Some(401) => {
                    CliError::Unauthorized("wrong username or password; nothing was changed".into())
                }
                _ => wrong_password(e),
            })?,
        None => client.change_password(&input).map_err(wrong_password)?,
    }
    if ctx.json {
        output::json(&serde_json::json!({ "server": ctx.server, "password_changed": true }))
    } else {
        let revoked = if args.username.is_some() {
            "every session of the account was revoked; log in with the new password"
        } else {
            "every other session of the account was revoked"
        };
        eprintln!("password changed on {}; {revoked}", ctx.server);
        Ok(())
    }
}

/// `secretctl account sessions` and `secretctl account sessions revoke ID|--all-others`.
fn sessions(ctx: &Context, args: &SessionsArgs) -> Result<(), CliError> {
    if let Some(SessionsAction::Revoke(revoke)) = &args.action {
        return revoke_sessions(ctx, revoke);
    }
    let list = ctx.authenticated()?.sessions()?;
    if ctx.json {
        return output::json(&list);
    }
    let rows: Vec<Vec<String>> = list
        .sessions
        .iter()
        .map(|s| {
            // A user agent is any text a client sent: shown short and made inert.
            let agent: String = s.user_agent.chars().take(40).collect();
            vec![
                s.id.clone(),
                if s.current { "*" } else { "" }.to_string(),
                s.created_at.clone(),
                s.last_used_at.clone().unwrap_or_else(|| "-".into()),
                output::for_terminal(&s.ip).into_owned(),
                output::for_terminal(&agent).into_owned(),
            ]
        })
        .collect();
    output::write_stdout(
        output::table(
            &[
                "ID",
                "THIS",
                "CREATED",
                "LAST USED",
                "ADDRESS",
                "USER AGENT",
            ],
            &rows,
        )
        .as_bytes(),
    )
}

fn revoke_sessions(ctx: &Context, args: &RevokeSessionArgs) -> Result<(), CliError> {
    let client = ctx.authenticated()?;
    match &args.id {
        Some(id) => {
            client.revoke_session(id).map_err(|e| match e.status() {
                Some(404) => CliError::NotFound(format!("no session {id} on {}", ctx.server)),
                _ => e.into(),
            })?;
            if ctx.json {
                output::json(&serde_json::json!({ "revoked": [id] }))
            } else {
                eprintln!("revoked session {id}");
                Ok(())
            }
        }
        None => {
            let done = client.revoke_other_sessions()?;
            if ctx.json {
                output::json(&done)
            } else {
                eprintln!("revoked {} other session(s); this one stays", done.revoked);
                Ok(())
            }
        }
    }
}

/// `secretctl account delete`: confirmation (unless `--yes`), the password, then the
/// account is gone and the cached session with it.
fn delete(ctx: &Context, args: &DeleteAccountArgs) -> Result<(), CliError> {
    refuse_cleartext_password(ctx, args.insecure_http)?;
    // Asked before anything else: without a terminal there is nobody to confirm.
    if !args.yes && (args.password_stdin || !std::io::stdin().is_terminal()) {
        return Err(CliError::Usage(
            "refusing to delete the account without confirmation: run it in a terminal, or pass --yes".into(),
        ));
    }
    let client = ctx.authenticated()?;
    let account = client.account()?;
    if !args.yes {
        eprint!(
            "This deletes account {} on {} with all its secrets, share links and sessions; it cannot be undone.\nType the username to confirm: ",
            account.username, ctx.server
        );
        let mut typed = String::new();
        std::io::stdin()
            .read_line(&mut typed)
            .map_err(|e| CliError::context(format!("cannot read the confirmation: {e}"), e))?;
        if typed.trim() != account.username {
            return Err(CliError::Usage(
                "confirmation did not match the username; nothing was deleted".into(),
            ));
        }
    }
    let password = input::password(args.password_stdin, false)?;
    client
        .delete_account(&DeleteAccount { password })
        .map_err(wrong_password)?;
    SessionCache::default_location()?.remove(&ctx.server)?;
    if ctx.json {
        output::json(&serde_json::json!({
            "server": ctx.server,
            "username": account.username,
            "deleted": true,
        }))
    } else {
        eprintln!(
            "deleted account {} on {} (its audit records stay; the name stays reserved)",
            account.username, ctx.server
        );
        Ok(())
    }
}
