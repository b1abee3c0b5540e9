//! Flags of the client commands (`--server`, `--ca-cert`, `--json`, `--retry-for`,
//! `--verbose`) and of the offline ones (`--json`), each declared only on the subcommands
//! it applies to, so `serve`, `admin` and `completions` do not list client flags.
//!
//! For compatibility, the same flags are still accepted before the subcommand
//! (`secretctl --json get x`, hidden from help): `Cli::parse_args` moves them onto the
//! subcommand, where a flag given after the subcommand wins, and refuses them for a
//! subcommand they do not apply to.

use std::path::PathBuf;

use clap::parser::ValueSource;
use clap::{Args, FromArgMatches};

use super::account::SessionsAction;
use super::{
    AccountCommand, AdminAuditCommand, AdminCommand, AuditAction, Cli, Command, DEFAULT_SERVER,
};

/// How a client command reaches its server and prints its answer.
#[derive(Debug, Clone, Args)]
pub struct ClientOpts {
    /// Server to talk to.
    #[arg(
        long,
        env = "SECRETCTL_SERVER",
        default_value = DEFAULT_SERVER,
        value_name = "URL"
    )]
    pub server: String,

    /// Trust only this PEM CA certificate (or bundle) for https:// servers, instead of the
    /// built-in public roots; for a server with a private CA.
    #[arg(long, env = "SECRETCTL_CA_CERT", value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,

    /// Print machine-readable JSON on stdout.
    #[arg(long)]
    pub json: bool,

    /// Keep retrying requests the server refuses for now (429, 503; honouring Retry-After)
    /// and reads that cannot connect, for up to this long (e.g. 30s, 2m; 0 turns retries off).
    #[arg(
        long,
        env = "SECRETCTL_RETRY_FOR",
        default_value = "30s",
        value_name = "DURATION"
    )]
    pub retry_for: String,

    /// Say on stderr when a request is retried, and why.
    #[arg(long, short = 'v')]
    pub verbose: bool,
}

/// `--json` for the commands that work on local files.
#[derive(Debug, Clone, Args)]
pub struct JsonOpt {
    /// Print machine-readable JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Client flags given before the subcommand; hidden, see the module doc.
#[derive(Debug, Default, Args)]
pub struct LeadingFlags {
    #[arg(
        long = "server",
        id = "leading_server",
        hide = true,
        value_name = "URL"
    )]
    server: Option<String>,
    #[arg(
        long = "ca-cert",
        id = "leading_ca_cert",
        hide = true,
        value_name = "FILE"
    )]
    ca_cert: Option<PathBuf>,
    #[arg(long = "json", id = "leading_json", hide = true)]
    json: bool,
    #[arg(
        long = "retry-for",
        id = "leading_retry_for",
        hide = true,
        value_name = "DURATION"
    )]
    retry_for: Option<String>,
    #[arg(long = "verbose", short = 'v', id = "leading_verbose", hide = true)]
    verbose: bool,
}

/// The flags a subcommand takes, to receive the leading ones.
enum Target<'a> {
    Client(&'a mut ClientOpts),
    Json(&'a mut bool),
    Nothing,
}

impl Command {
    /// The client flags of a command that talks to a server.
    pub fn client_opts(&self) -> Option<&ClientOpts> {
        match self {
            Command::Register(a) | Command::Login(a) => Some(&a.client),
            Command::Logout(o) => Some(o),
            Command::Account(AccountCommand::Show(o)) => Some(o),
            Command::Account(AccountCommand::SetEmail { client, .. }) => Some(client),
            Command::Account(AccountCommand::Passwd(a)) => Some(&a.client),
            Command::Account(AccountCommand::Sessions(a)) => Some(match &a.action {
                Some(SessionsAction::Revoke(r)) => &r.client,
                None => &a.client,
            }),
            Command::Account(AccountCommand::Delete(a)) => Some(&a.client),
            Command::Put(a) => Some(&a.client),
            Command::Rm(a) | Command::Shares(a) | Command::History(a) => Some(&a.client),
            Command::Get(a) => Some(&a.client),
            Command::Rollback(a) => Some(&a.client),
            Command::Ls(a) => Some(&a.client),
            Command::Update(a) => Some(&a.client),
            Command::Share(a) => Some(&a.client),
            Command::Open(a) => Some(&a.client),
            Command::Unshare(a) => Some(&a.client),
            Command::Audit(a) if a.action.is_none() => Some(&a.client),
            Command::Run(a) => Some(&a.client),
            Command::Export(a) => Some(&a.client),
            Command::Inject(a) => Some(&a.client),
            Command::Team(c) => Some(c.client()),
            Command::Token(c) => Some(c.client()),
            Command::Audit(_) | Command::Serve(_) | Command::Completions(_) | Command::Admin(_) => {
                None
            }
        }
    }

    /// `--json` of a command that works offline (`admin`, `audit verify`).
    pub fn offline_json(&self) -> bool {
        match self {
            Command::Audit(a) => match &a.action {
                Some(AuditAction::Verify(v)) => v.dir.output.json,
                None => false,
            },
            Command::Admin(cmd) => match cmd {
                AdminCommand::SealKey(a) => a.key.output.json,
                AdminCommand::UnsealKey(a) => a.output.json,
                AdminCommand::RotateMaster(a) => a.dir.output.json,
                AdminCommand::RotateDataKey(a) => a.output.json,
                AdminCommand::Backup(a) => a.json.json,
                AdminCommand::VerifyBackup(a) => a.json.json,
                AdminCommand::Restore(a) => a.dir.output.json,
                AdminCommand::Users(_) | AdminCommand::Sessions(_) => {
                    cmd.operator_json().unwrap_or(false)
                }
                AdminCommand::Audit(AdminAuditCommand::Archive(a)) => a.dir.output.json,
            },
            _ => false,
        }
    }

    fn target(&mut self) -> Target<'_> {
        if self.client_opts().is_some() {
            return match self {
                Command::Register(a) | Command::Login(a) => Target::Client(&mut a.client),
                Command::Logout(o) => Target::Client(o),
                Command::Account(AccountCommand::Show(o)) => Target::Client(o),
                Command::Account(AccountCommand::SetEmail { client, .. }) => Target::Client(client),
                Command::Account(AccountCommand::Passwd(a)) => Target::Client(&mut a.client),
                Command::Account(AccountCommand::Sessions(a)) => {
                    Target::Client(match &mut a.action {
                        Some(SessionsAction::Revoke(r)) => &mut r.client,
                        None => &mut a.client,
                    })
                }
                Command::Account(AccountCommand::Delete(a)) => Target::Client(&mut a.client),
                Command::Put(a) => Target::Client(&mut a.client),
                Command::Rm(a) | Command::Shares(a) | Command::History(a) => {
                    Target::Client(&mut a.client)
                }
                Command::Get(a) => Target::Client(&mut a.client),
                Command::Rollback(a) => Target::Client(&mut a.client),
                Command::Ls(a) => Target::Client(&mut a.client),
                Command::Update(a) => Target::Client(&mut a.client),
                Command::Share(a) => Target::Client(&mut a.client),
                Command::Open(a) => Target::Client(&mut a.client),
                Command::Unshare(a) => Target::Client(&mut a.client),
                Command::Audit(a) => Target::Client(&mut a.client),
                Command::Run(a) => Target::Client(&mut a.client),
                Command::Export(a) => Target::Client(&mut a.client),
                Command::Inject(a) => Target::Client(&mut a.client),
                Command::Team(c) => Target::Client(c.client_mut()),
                Command::Token(c) => Target::Client(c.client_mut()),
                _ => Target::Nothing,
            };
        }
        match self {
            Command::Audit(a) => match &mut a.action {
                Some(AuditAction::Verify(v)) => Target::Json(&mut v.dir.output.json),
                None => Target::Nothing,
            },
            Command::Admin(cmd) => Target::Json(match cmd {
                AdminCommand::SealKey(a) => &mut a.key.output.json,
                AdminCommand::UnsealKey(a) => &mut a.output.json,
                AdminCommand::RotateMaster(a) => &mut a.dir.output.json,
                AdminCommand::RotateDataKey(a) => &mut a.output.json,
                AdminCommand::Backup(a) => &mut a.json.json,
                AdminCommand::VerifyBackup(a) => &mut a.json.json,
                AdminCommand::Restore(a) => &mut a.dir.output.json,
                AdminCommand::Users(_) | AdminCommand::Sessions(_) => {
                    match cmd.operator_json_mut() {
                        Some(json) => json,
                        None => return Target::Nothing,
                    }
                }
                AdminCommand::Audit(AdminAuditCommand::Archive(a)) => &mut a.dir.output.json,
            }),
            _ => Target::Nothing,
        }
    }
}

impl Cli {
    /// Parses the command line, moving client flags given before the subcommand onto it.
    pub fn parse_args() -> Result<Cli, clap::Error> {
        Self::parse_from_args(std::env::args_os())
    }

    /// `parse_args` over explicit arguments.
    pub fn parse_from_args<I, T>(args: I) -> Result<Cli, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let mut cmd = super::command();
        let matches = cmd.try_get_matches_from_mut(args)?;
        let mut cli = Cli::from_arg_matches(&matches).map_err(|e| e.format(&mut cmd))?;
        let mut leaf = &matches;
        let mut path = Vec::new();
        while let Some((name, sub)) = leaf.subcommand() {
            path.push(name.to_string());
            leaf = sub;
        }
        let given = |id: &str| {
            // A flag typed after the subcommand wins over the same flag before it.
            leaf.try_get_raw(id).is_ok() && leaf.value_source(id) == Some(ValueSource::CommandLine)
        };
        let lead = std::mem::take(&mut cli.leading);
        let refuse = |flag: &str| {
            cmd.clone().error(
                clap::error::ErrorKind::ArgumentConflict,
                format!("{flag} does not apply to `secretctl {}`", path.join(" ")),
            )
        };
        match cli.command.target() {
            Target::Client(opts) => {
                if let Some(s) = lead.server.filter(|_| !given("server")) {
                    opts.server = s;
                }
                if let Some(c) = lead.ca_cert.filter(|_| !given("ca_cert")) {
                    opts.ca_cert = Some(c);
                }
                if let Some(r) = lead.retry_for.filter(|_| !given("retry_for")) {
                    opts.retry_for = r;
                }
                opts.json |= lead.json;
                opts.verbose |= lead.verbose;
            }
            Target::Json(json) => {
                *json |= lead.json;
                for (set, flag) in [
                    (lead.server.is_some(), "--server"),
                    (lead.ca_cert.is_some(), "--ca-cert"),
                    (lead.retry_for.is_some(), "--retry-for"),
                    (lead.verbose, "--verbose"),
                ] {
                    if set {
                        return Err(refuse(flag));
                    }
                }
            }
            Target::Nothing => {
                for (set, flag) in [
                    (lead.server.is_some(), "--server"),
                    (lead.ca_cert.is_some(), "--ca-cert"),
                    (lead.json, "--json"),
                    (lead.retry_for.is_some(), "--retry-for"),
                    (lead.verbose, "--verbose"),
                ] {
                    if set {
                        return Err(refuse(flag));
                    }
                }
            }
        }
        Ok(cli)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::parse_from_args(std::iter::once("secretctl").chain(args.iter().copied()))
    }

    #[test]
    fn leading_flags_apply_to_the_subcommand_and_trailing_ones_win() {
        let cli = parse(&["--json", "--server", "http://a:1", "get", "x"]).unwrap();
        let o = cli.command.client_opts().unwrap();
        assert!(o.json);
        assert_eq!(o.server, "http://a:1");
        let cli = parse(&[
            "--server",
            "http://a:1",
            "get",
            "x",
            "--server",
            "http://b:2",
        ])
        .unwrap();
        assert_eq!(cli.command.client_opts().unwrap().server, "http://b:2");
        let cli = parse(&["--json", "account", "show"]).unwrap();
        assert!(cli.command.client_opts().unwrap().json);
        let cli = parse(&["--json", "admin", "rotate-data-key"]).unwrap();
        assert!(cli.command.offline_json());
    }

    #[test]
    fn client_flags_are_refused_where_they_do_not_apply() {
        for args in [
            &["serve", "--server", "http://a:1"][..],
            &["--server", "http://a:1", "serve"],
            &["--json", "completions", "bash"],
            &["admin", "rotate-data-key", "--server", "http://a:1"],
            &["--ca-cert", "x.pem", "admin", "rotate-data-key"],
            &["audit", "verify", "--server", "http://a:1"],
        ] {
            let e = parse(args).map(drop).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{args:?}: {e}");
        }
    }
}
