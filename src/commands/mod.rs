//! Subcommands: the only layer that reads the terminal and prints. Data goes to stdout,
//! messages to stderr, so `$(secretctl get x)` and `--json | jq` stay clean.
//!
//! `CliError` maps every failure to one stderr line and a documented exit code.

mod account;
mod admin;
mod admin_client;
mod admin_users;
mod audit;
mod backup;
mod context;
mod export;
mod inject;
mod input;
mod key_passphrase;
mod mask;
mod output;
mod refs;
mod run;
mod secrets;
mod shares;
mod team;
mod token;

use crate::cli::{Cli, Command};
use crate::client::ClientError;
use crate::config::ServeConfig;

/// A failed command: its message (one line) and exit code.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Unauthorized(String),
    /// Only "this secret or link does not exist": a 404 from a secretctl server.
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// Still rate-limited (429) or unavailable (503) when the retry budget ran out.
    #[error("{message}")]
    Busy {
        message: String,
        #[source]
        source: ClientError,
    },
    /// No answer at all: connection refused, DNS, timeout.
    #[error("{message}")]
    Unreachable {
        message: String,
        #[source]
        source: ClientError,
    },
    /// Any other failure, described in words only.
    #[error("{0}")]
    Other(String),
    /// Any other failure, with the typed error that caused it.
    #[error("{message}")]
    Failed {
        message: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
    /// `run`: the command finished with this (non-zero) status, which becomes ours; the
    /// command has said what went wrong, so nothing more is printed.
    #[error("the command exited with status {0}")]
    CommandExited(u8),
}

impl CliError {
    /// The documented exit code (see `secretctl --help`).
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Other(_) | CliError::Failed { .. } => 1,
            CliError::Usage(_) => 2,
            CliError::Unauthorized(_) => 3,
            CliError::NotFound(_) => 4,
            CliError::Conflict(_) => 5,
            CliError::Busy { .. } => 6,
            CliError::Unreachable { .. } => 7,
            CliError::CommandExited(code) => *code,
        }
    }

    /// Exit 1 with `source`'s own message, keeping it as the cause.
    pub fn failed(source: impl std::error::Error + Send + Sync + 'static) -> Self {
        CliError::Failed {
            message: source.to_string(),
            source: Box::new(source),
        }
    }

    /// Exit 1 with `message` (which already says what `source` says), keeping the cause.
    pub fn context(
        message: String,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        CliError::Failed {
            message,
            source: Box::new(source),
        }
    }
}

impl From<ClientError> for CliError {
    fn from(e: ClientError) -> Self {
        match (&e, e.status()) {
            (_, Some(401)) => CliError::Unauthorized(format!(
                "{e}: log in again with `secretctl login --username NAME`"
            )),
            (_, Some(403)) => CliError::Unauthorized(e.to_string()),
            (_, Some(404)) => CliError::NotFound(e.to_string()),
            (_, Some(409)) => CliError::Conflict(e.to_string()),
            (ClientError::Busy { .. }, _) => CliError::Busy {
                message: e.to_string(),
                source: e,
            },
            (ClientError::Transport { .. }, _) => CliError::Unreachable {
                message: e.to_string(),
                source: e,
            },
            (ClientError::Tls { .. }, _) => CliError::context(
                format!(
                    "{e}; for a server with a private CA, pass --ca-cert FILE or set SECRETCTL_CA_CERT"
                ),
                e,
            ),
            _ => CliError::failed(e),
        }
    }
}

impl From<crate::client::session_cache::CacheError> for CliError {
    fn from(e: crate::client::session_cache::CacheError) -> Self {
        CliError::failed(e)
    }
}

/// The hidden test-only flags weaken security on purpose (cheap password hashing, a
/// shifted clock). Only builds with the `test-hooks` feature (the test suite's) accept
/// them; any other build refuses to run with them.
fn refuse_test_flags(command: &Command) -> Result<(), CliError> {
    use crate::cli::AdminCommand;
    let used = match command {
        Command::Serve(a) => a.insecure_fast_kdf || a.test_clock_file.is_some(),
        Command::Admin(AdminCommand::SealKey(a)) => a.insecure_fast_kdf,
        Command::Admin(AdminCommand::RotateMaster(a)) => a.insecure_fast_kdf,
        _ => false,
    };
    if used && !cfg!(feature = "test-hooks") {
        return Err(CliError::Usage(
            "--insecure-fast-kdf and --test-clock-file are test-only flags; this build does not accept them".into(),
        ));
    }
    Ok(())
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> Result<(), CliError> {
    refuse_test_flags(&cli.command)?;
    let ctx = match cli.command.client_opts() {
        Some(opts) => {
            let retry_for = crate::duration::parse_seconds(&opts.retry_for)
                .map_err(|e| CliError::Usage(format!("--retry-for: {e}")))?;
            context::Context::new(
                &opts.server,
                context::ClientSettings {
                    json: opts.json,
                    ca_cert: opts.ca_cert.clone(),
                    retry_for: std::time::Duration::from_secs(retry_for),
                    verbose: opts.verbose,
                },
            )
        }
        None => context::Context::offline(cli.command.offline_json()),
    };
    match cli.command {
        Command::Serve(args) => {
            let mut config = ServeConfig::from_args(&args).map_err(CliError::Usage)?;
            config.key_passphrase = key_passphrase::serve_passphrase(&args, &config.key_file)?;
            crate::server::run(config, &key_passphrase::print_key_notice).map_err(CliError::failed)
        }
        Command::Register(args) => account::register(&ctx, &args),
        Command::Login(args) => account::login(&ctx, &args),
        Command::Logout(_) => account::logout(&ctx),
        Command::Account(cmd) => account::account(&ctx, &cmd),
        Command::Put(args) => secrets::put(&ctx, &args),
        Command::Get(args) => secrets::get(
            &ctx,
            &refs::qualify(args.team.team.as_deref(), &args.name),
            args.version,
        ),
        Command::Ls(args) => secrets::ls(&ctx, args.tag.as_deref(), args.team.team.as_deref()),
        Command::Rm(args) => {
            secrets::rm(&ctx, &refs::qualify(args.team.team.as_deref(), &args.name))
        }
        Command::Update(args) => secrets::update(&ctx, &args),
        Command::History(args) => {
            secrets::history(&ctx, &refs::qualify(args.team.team.as_deref(), &args.name))
        }
        Command::Rollback(args) => secrets::rollback(
            &ctx,
            &refs::qualify(args.team.team.as_deref(), &args.name),
            args.to,
        ),
        Command::Share(args) => shares::share(&ctx, &args),
        Command::Open(args) => shares::open(&ctx, &args),
        Command::Shares(args) => {
            shares::list(&ctx, &refs::qualify(args.team.team.as_deref(), &args.name))
        }
        Command::Unshare(args) => shares::unshare(&ctx, &args.share_id),
        Command::Run(args) => run::run(&ctx, &args),
        Command::Export(args) => export::export(&ctx, &args),
        Command::Inject(args) => inject::inject(&ctx, &args),
        Command::Audit(args) => audit::run(&ctx, &args),
        Command::Admin(cmd) => admin::run(&ctx, &cmd),
        Command::Completions(args) => {
            let mut cmd = crate::cli::command();
            let mut buf = Vec::new();
            clap_complete::generate(args.shell, &mut cmd, "secretctl", &mut buf);
            output::write_stdout(&buf)
        }
        Command::Team(cmd) => team::run(&ctx, &cmd),
        Command::Token(cmd) => token::run(&ctx, &cmd),
    }
}
