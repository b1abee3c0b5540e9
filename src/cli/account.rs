//! `secretctl account` (clap types only): your account, its alert address, its password,
//! its sessions, and its deletion.

use clap::{Args, Subcommand};

use super::ClientOpts;

/// `secretctl account` subcommands.
#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Show your account: id, username and alert email address.
    Show(ClientOpts),
    /// Set the address the server mails security alerts to ("" clears it); mail is only
    /// sent when the server runs with --alert-smtp.
    SetEmail {
        /// Email address, e.g. alice@example.com.
        #[arg(value_name = "ADDRESS")]
        address: String,

        #[command(flatten)]
        client: ClientOpts,
    },
    /// Change your password (current once, new twice, without echo); every other session
    /// of the account is revoked, this one stays.
    Passwd(PasswdArgs),
    /// List your sessions (this one marked), or revoke them.
    Sessions(SessionsArgs),
    /// Delete your account with its secrets, share links and sessions (the password is
    /// asked again). Audit records stay; the username stays reserved.
    Delete(DeleteAccountArgs),
}

/// `secretctl account passwd`.
#[derive(Debug, Args)]
pub struct PasswdArgs {
    /// Replace the one-time password an operator set for USER (`admin users
    /// reset-password`): needs no session, since login refuses a one-time password until it
    /// is replaced. Every session of the account is revoked; log in afterwards.
    #[arg(long, short = 'u', value_name = "USER")]
    pub username: Option<String>,

    /// Read the current password from the first line of stdin and the new one from the
    /// second (for scripts).
    #[arg(long)]
    pub password_stdin: bool,

    /// Send the passwords over plain http:// to a server that is not this machine.
    #[arg(long)]
    pub insecure_http: bool,

    #[command(flatten)]
    pub client: ClientOpts,
}

/// `secretctl account sessions`.
#[derive(Debug, Args)]
pub struct SessionsArgs {
    #[command(subcommand)]
    pub action: Option<SessionsAction>,

    #[command(flatten)]
    pub client: ClientOpts,
}

/// `secretctl account sessions` subcommands.
#[derive(Debug, Subcommand)]
pub enum SessionsAction {
    /// Revoke one session by the ID `account sessions` lists, or all but this one.
    Revoke(RevokeSessionArgs),
}

/// `secretctl account sessions revoke`.
#[derive(Debug, Args)]
pub struct RevokeSessionArgs {
    /// The session's ID, as `secretctl account sessions` lists it.
    #[arg(
        value_name = "ID",
        required_unless_present = "all_others",
        conflicts_with = "all_others"
    )]
    pub id: Option<String>,

    /// Revoke every session of the account except the one this command uses.
    #[arg(long)]
    pub all_others: bool,

    #[command(flatten)]
    pub client: ClientOpts,
}

/// `secretctl account delete`.
#[derive(Debug, Args)]
pub struct DeleteAccountArgs {
    /// Do not ask for confirmation (needed when stdin is not a terminal).
    #[arg(long)]
    pub yes: bool,

    /// Read the password from the first line of stdin (for scripts).
    #[arg(long)]
    pub password_stdin: bool,

    /// Send the password over plain http:// to a server that is not this machine.
    #[arg(long)]
    pub insecure_http: bool,

    #[command(flatten)]
    pub client: ClientOpts,
}
