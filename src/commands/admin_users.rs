//! `secretctl admin users ...` and `admin sessions revoke`: operator commands on accounts.
//!
//! Through the running server's admin channel when one answers on the data dir; else on
//! the files, with the master key, doing exactly what the server would
//! (`server::admin_channel::operate`). The one-time password of a reset is the only thing
//! printed on stdout (so `$(...)` captures it); everything else goes to stderr, or with
//! `--json` all of it to stdout.

use serde_json::json;

use super::admin::load_master;
use super::context::Context;
use super::{CliError, admin_client, output};
use crate::cli::{DataDirArgs, SessionsCommand, UsersCommand};
use crate::crypto::password::{KdfParams, PasswordHasher};
use crate::server::admin_channel::{AdminRequest, AdminResponse, operate};
use crate::store::{Store, UserSummary};
use crate::timefmt::rfc3339;

/// `secretctl admin users ...`.
pub fn users(ctx: &Context, cmd: &UsersCommand) -> Result<(), CliError> {
    let (dir, request) = match cmd {
        UsersCommand::Ls(dir) => (dir, AdminRequest::UsersList),
        UsersCommand::Disable(a) => (
            &a.user.dir,
            AdminRequest::UserDisable {
                username: a.user.username.clone(),
                keep_links: a.keep_links,
            },
        ),
        UsersCommand::Enable(a) => (
            &a.dir,
            AdminRequest::UserEnable {
                username: a.username.clone(),
            },
        ),
        UsersCommand::ResetPassword(a) => (
            &a.dir,
            AdminRequest::UserResetPassword {
                username: a.username.clone(),
            },
        ),
    };
    run(ctx, dir, &request)
}

/// `secretctl admin sessions ...`.
pub fn sessions(ctx: &Context, cmd: &SessionsCommand) -> Result<(), CliError> {
    let SessionsCommand::Revoke(a) = cmd;
    let request = AdminRequest::SessionsRevoke {
        username: a.username.clone(),
    };
    run(ctx, &a.dir, &request)
}

fn run(ctx: &Context, dir: &DataDirArgs, request: &AdminRequest) -> Result<(), CliError> {
    let (response, via) = send(dir, request)?;
    show(ctx, request, response, via)
}

/// The answer, from the server or from the files; and which.
fn send(
    dir: &DataDirArgs,
    request: &AdminRequest,
) -> Result<(AdminResponse, &'static str), CliError> {
    if let Some(mut channel) = admin_client::connect(&dir.data_dir)? {
        return Ok((channel.request(request)?, "server"));
    }
    let (db, master) = load_master(dir)?;
    let (store, notices) = Store::open_existing(&db, &master, None).map_err(CliError::failed)?;
    notices
        .iter()
        .for_each(super::key_passphrase::print_key_notice);
    // The server's default cost: a hash made here must be as strong as one made there.
    let hasher = PasswordHasher::new(KdfParams::DEFAULT, 1, 1).map_err(CliError::failed)?;
    let now = crate::timefmt::now_unix();
    let response = operate(&store, &hasher, request, now, "admin files");
    drop(store);
    match response {
        AdminResponse::Error { message, not_found } => Err(match not_found {
            true => CliError::NotFound(message),
            false => CliError::Other(message),
        }),
        r => Ok((r, "files")),
    }
}

fn show(
    ctx: &Context,
    request: &AdminRequest,
    response: AdminResponse,
    via: &str,
) -> Result<(), CliError> {
    match response {
        AdminResponse::Users { users } => {
            if ctx.json {
                return output::json(&json!({"users": users, "via": via}));
            }
            output::write_stdout(users_table(&users).as_bytes())
        }
        AdminResponse::User {
            username,
            disabled,
            links_kept,
            sessions_revoked,
            one_time_password,
            one_time_password_expires_at,
        } => {
            if ctx.json {
                return output::json(&json!({
                    "username": username,
                    "disabled": disabled,
                    "links_kept": links_kept,
                    "sessions_revoked": sessions_revoked,
                    "one_time_password": one_time_password,
                    "one_time_password_expires_at": one_time_password_expires_at.map(rfc3339),
                    "via": via,
                }));
            }
            let what = match request {
                AdminRequest::UserDisable { .. } if links_kept => {
                    "disabled (share links keep working)"
                }
                AdminRequest::UserDisable { .. } => "disabled (share links stopped)",
                AdminRequest::UserEnable { .. } => "enabled",
                AdminRequest::UserResetPassword { .. } => "given a one-time password",
                _ => "signed out everywhere",
            };
            eprintln!("{username}: {what}; {sessions_revoked} session(s) revoked");
            if let (Some(password), Some(until)) = (one_time_password, one_time_password_expires_at)
            {
                eprintln!(
                    "one-time password below, valid until {}: the account must set a new password (PUT /account/password) before it can log in",
                    rfc3339(until)
                );
                output::write_stdout(format!("{password}\n").as_bytes())?;
            }
            Ok(())
        }
        AdminResponse::Backup { .. } | AdminResponse::Error { .. } => Err(CliError::Other(
            "the server answered with something unexpected".into(),
        )),
    }
}

fn users_table(users: &[UserSummary]) -> String {
    let rows: Vec<Vec<String>> = users
        .iter()
        .map(|u| {
            vec![
                u.username.clone(),
                rfc3339(u.created_at),
                u.last_login.map(rfc3339).unwrap_or_else(|| "-".into()),
                u.secrets.to_string(),
                match (u.disabled, u.links_kept) {
                    (true, true) => "yes (links kept)".into(),
                    (true, false) => "yes".into(),
                    (false, _) => "no".into(),
                },
                match u.must_change_password_until {
                    Some(t) => format!("until {}", rfc3339(t)),
                    None => "-".into(),
                },
            ]
        })
        .collect();
    output::table(
        &[
            "USERNAME",
            "CREATED",
            "LAST LOGIN",
            "SECRETS",
            "DISABLED",
            "PASSWORD RESET",
        ],
        &rows,
    )
}
