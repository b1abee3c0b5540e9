//! `secretctl account` (clap types only): your account and its alert address.

use clap::Subcommand;

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
}
