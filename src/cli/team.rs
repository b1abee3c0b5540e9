//! `secretctl team` and `secretctl token` (clap types only), and `--team`, which every
//! secret command takes.

use clap::{Args, Subcommand};

use super::ClientOpts;

/// The team a secret command works in (`TEAM:NAME` in a name overrides it).
#[derive(Debug, Clone, Default, Args)]
pub struct TeamOpt {
    /// Work on this team's secrets instead of your own (a NAME given as TEAM:NAME wins).
    #[arg(long, env = "SECRETCTL_TEAM", value_name = "TEAM")]
    pub team: Option<String>,
}

/// `secretctl team` subcommands. The team is `--team T` (or SECRETCTL_TEAM), except for
/// `create`.
#[derive(Debug, Subcommand)]
pub enum TeamCommand {
    /// Create a team (3-64 characters of a-z, 0-9, '.', '_', '-'); you become its admin.
    Create {
        #[arg(value_name = "NAME")]
        name: String,
        #[command(flatten)]
        client: ClientOpts,
    },
    /// List your teams and your role in each.
    Ls(ClientOpts),
    /// List the members of --team and their roles.
    Members {
        #[command(flatten)]
        team: TeamOpt,
        #[command(flatten)]
        client: ClientOpts,
    },
    /// Add USER to --team, or change their role (team admins).
    Add {
        #[arg(value_name = "USER")]
        user: String,
        /// reader (list and read), writer (+ create, update, delete, share), admin (+ members,
        /// team tokens, delete the team).
        #[arg(long, value_name = "ROLE", value_parser = ["reader", "writer", "admin"])]
        role: String,
        #[command(flatten)]
        team: TeamOpt,
        #[command(flatten)]
        client: ClientOpts,
    },
    /// Remove USER from --team (team admins; anyone may remove themselves).
    Remove {
        #[arg(value_name = "USER")]
        user: String,
        #[command(flatten)]
        team: TeamOpt,
        #[command(flatten)]
        client: ClientOpts,
    },
    /// Delete --team with all its secrets, share links and tokens (team admins). Asks for
    /// the team's name to confirm unless --yes.
    Delete {
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
        #[command(flatten)]
        team: TeamOpt,
        #[command(flatten)]
        client: ClientOpts,
    },
}

/// `secretctl token` subcommands.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a service token and print only the token on stdout (shown once).
    Create(TokenCreateArgs),
    /// List your service tokens (with --team, the team's; team admins).
    Ls {
        #[command(flatten)]
        team: TeamOpt,
        #[command(flatten)]
        client: ClientOpts,
    },
    /// Revoke a service token, by id or name, at once.
    Rm {
        #[arg(value_name = "ID|NAME")]
        token: String,
        #[command(flatten)]
        team: TeamOpt,
        #[command(flatten)]
        client: ClientOpts,
    },
}

/// `secretctl token create`.
#[derive(Debug, Args)]
pub struct TokenCreateArgs {
    /// A name for the token (1-64 characters of A-Z, a-z, 0-9, '.', '_', '-').
    #[arg(value_name = "NAME")]
    pub name: String,
    /// A team token (team admins): acts on the team's secrets.
    #[command(flatten)]
    pub team: TeamOpt,
    /// Also create, update and delete secrets (read is always granted).
    #[arg(long)]
    pub write: bool,
    /// Also make share links.
    #[arg(long)]
    pub share: bool,
    /// Only secrets whose names start with P (e.g. prod/).
    #[arg(long, value_name = "P")]
    pub prefix: Option<String>,
    /// Lifetime: 1m to 365d (e.g. 30d, 12h).
    #[arg(long, default_value = "90d", value_name = "DURATION", value_parser = token_lifetime)]
    pub expires_in: u64,
    /// Only usable from this network (e.g. 10.0.0.0/8); repeatable.
    #[arg(long = "allow-cidr", value_name = "CIDR")]
    pub allow_cidrs: Vec<String>,
    #[command(flatten)]
    pub client: ClientOpts,
}

fn token_lifetime(value: &str) -> Result<u64, String> {
    let secs = crate::duration::parse_seconds(value)?;
    if (60..=365 * 86_400).contains(&secs) {
        Ok(secs)
    } else {
        Err("a token lasts from 1m to 365d (e.g. 30d, 12h)".into())
    }
}

impl TeamCommand {
    /// The client flags of this subcommand.
    pub fn client(&self) -> &ClientOpts {
        match self {
            TeamCommand::Ls(client) => client,
            TeamCommand::Create { client, .. }
            | TeamCommand::Members { client, .. }
            | TeamCommand::Add { client, .. }
            | TeamCommand::Remove { client, .. }
            | TeamCommand::Delete { client, .. } => client,
        }
    }

    pub fn client_mut(&mut self) -> &mut ClientOpts {
        match self {
            TeamCommand::Ls(client) => client,
            TeamCommand::Create { client, .. }
            | TeamCommand::Members { client, .. }
            | TeamCommand::Add { client, .. }
            | TeamCommand::Remove { client, .. }
            | TeamCommand::Delete { client, .. } => client,
        }
    }
}

impl TokenCommand {
    /// The client flags of this subcommand.
    pub fn client(&self) -> &ClientOpts {
        match self {
            TokenCommand::Create(a) => &a.client,
            TokenCommand::Ls { client, .. } | TokenCommand::Rm { client, .. } => client,
        }
    }

    pub fn client_mut(&mut self) -> &mut ClientOpts {
        match self {
            TokenCommand::Create(a) => &mut a.client,
            TokenCommand::Ls { client, .. } | TokenCommand::Rm { client, .. } => client,
        }
    }
}
