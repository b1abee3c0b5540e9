//! Command-line definitions (clap types only, no I/O). Man pages and completion scripts are
//! generated from these, so help text here is the documentation.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::api::{SHARE_EXPIRES_IN_SECS, SHARE_MAX_VIEWS};

mod account;
mod alerts;
mod client_opts;
mod team;

pub use account::{
    AccountCommand, DeleteAccountArgs, PasswdArgs, RevokeSessionArgs, SessionsAction, SessionsArgs,
};
pub use alerts::{AlertArgs, SmtpTlsArg};
pub use client_opts::{ClientOpts, JsonOpt, LeadingFlags};
pub use team::{TeamCommand, TeamOpt, TokenCommand, TokenCreateArgs};

/// The server client commands talk to when neither --server nor SECRETCTL_SERVER is given.
pub const DEFAULT_SERVER: &str = "http://127.0.0.1:8200";

/// Where `serve` keeps its data, and where `admin` and `audit verify` look for it, unless
/// --data-dir or SECRETCTL_DATA_DIR says otherwise.
pub const DEFAULT_DATA_DIR: &str = "./secretctl-data";

const EXIT_CODES: &str = "\
Exit status:
  0  success (also `logout` when not logged in)
  1  error: input rejected by the server (400), server error (500), TLS failure,
     a URL that is not a secretctl server (404 without its JSON error)
  2  usage error (bad flags or arguments, or input refused before sending: a
     --server without http:// or https://, flags out of range, empty or
     non-UTF-8 value, no terminal to prompt on, plain http:// password)
  3  not logged in, session or service token rejected (401), wrong username or
     password (also the password re-entered for account passwd/delete), wrong or
     missing share passphrase, or the server refuses the action (403:
     registration closed, a team role or token permission too low, a service
     token on a people-only command)
  4  this secret, link, team, member, token or session does not exist (404 from
     a secretctl server; a team you are not in looks the same); no such user
     for `admin users` and `admin sessions`
  5  conflict: the name is already taken (409), or a team's last admin would go;
     `admin restore` into a data dir that holds a database, without --force
  6  rate-limited (429) or unavailable (503) after retrying for --retry-for
  7  cannot reach the server (connection refused, DNS, timeout)

Environment:
  SECRETCTL_SERVER    server URL (--server)
  SECRETCTL_CA_CERT   CA certificate to trust for https:// servers (--ca-cert)
  SECRETCTL_RETRY_FOR how long to retry refused requests and failed reads (--retry-for)
  SECRETCTL_TOKEN     service token (or session token) to use instead of the
                      cached login; sent only to the server SECRETCTL_SERVER
                      names (else the default)
  SECRETCTL_TEAM      team for the secret commands (--team)
  SECRETCTL_USERNAME  username for register/login (--username)
  SECRETCTL_PASSWORD  password for register/login/account delete when no terminal
                      is available
                      (prefer --password-stdin)
  SECRETCTL_PASSPHRASE
                      passphrase of a sealed master key file, for serve and admin
                      (prefer --passphrase-file)
  XDG_CONFIG_HOME     where the session cache lives (default ~/.config/secretctl/)";

/// A self-hosted secrets manager: server and client in one binary.
#[derive(Debug, Parser)]
#[command(name = "secretctl", version, after_long_help = EXIT_CODES)]
pub struct Cli {
    #[command(flatten)]
    pub leading: LeadingFlags,

    #[command(subcommand)]
    pub command: Command,
}

/// Every subcommand.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server.
    Serve(Box<ServeArgs>),
    /// Create an account (password prompted without echo, or --password-stdin).
    Register(AccountArgs),
    /// Log in and cache the session token (0600) for this server.
    Login(AccountArgs),
    /// Revoke the cached session and forget it.
    Logout(ClientOpts),
    /// Your account: show it, set the alert email address, change the password, list and
    /// revoke sessions, delete it.
    #[command(subcommand)]
    Account(AccountCommand),
    /// Store a new secret; the value comes from --value, --from-file, or stdin.
    Put(PutArgs),
    /// Print a secret's value exactly, byte for byte (--json for the full record); an older
    /// value with --version N.
    Get(GetArgs),
    /// List your secrets (never their values).
    #[command(visible_alias = "list")]
    Ls(LsArgs),
    /// Delete a secret.
    #[command(visible_alias = "delete")]
    Rm(NameArg),
    /// Change a secret's name, description, tags or value (a value piped on stdin alone
    /// replaces the value).
    Update(UpdateArgs),
    /// List a secret's kept versions: number, time, and who set each (never values).
    History(NameArg),
    /// Make an older version's value current again (as a new version; history is kept).
    Rollback(RollbackArgs),
    /// Share a secret through a one-time, expiring link; prints the URL alone.
    Share(ShareArgs),
    /// Redeem a share link (no login needed) and print the value exactly, like get.
    Open(OpenArgs),
    /// List a secret's active share links (never their tokens).
    Shares(NameArg),
    /// Revoke a share link at once.
    Unshare(UnshareArgs),
    /// Run a command with secrets in its environment (and optionally in files).
    Run(RunArgs),
    /// Print secrets as dotenv, JSON or shell, or hand them to GitHub Actions.
    Export(ExportArgs),
    /// Fill `{{ sctl://REF }}` placeholders in a template with secret values.
    Inject(InjectArgs),
    /// Show your audit trail, newest first (`audit verify` checks a server's whole chain).
    Audit(AuditArgs),
    /// Print a shell completion script.
    Completions(CompletionsArgs),
    /// Manage the master key file and rotate keys (on the server's files; stop it first).
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Create teams and manage their members; a team owns secrets its members share.
    #[command(subcommand)]
    Team(TeamCommand),
    /// Create, list and revoke service tokens: scoped credentials for CI (SECRETCTL_TOKEN).
    #[command(subcommand)]
    Token(TokenCommand),
}

/// `secretctl serve`. A flag given twice takes the last value.
#[derive(Debug, Args)]
#[command(args_override_self = true)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(
        long,
        env = "SECRETCTL_ADDR",
        default_value = "127.0.0.1:8200",
        value_name = "HOST:PORT"
    )]
    pub addr: String,

    /// Directory for the database (and the master key unless --key-file); created 0700.
    #[arg(
        long,
        env = "SECRETCTL_DATA_DIR",
        default_value = DEFAULT_DATA_DIR,
        value_name = "DIR"
    )]
    pub data_dir: PathBuf,

    /// Master key file [default: DIR/master.key]; keep it on a separate mount or backup.
    #[arg(long, env = "SECRETCTL_KEY_FILE", value_name = "PATH")]
    pub key_file: Option<PathBuf>,

    /// Read the master key file's passphrase from FILE (a trailing newline is dropped).
    /// Without it, SECRETCTL_PASSPHRASE is used, else a sealed key file is prompted for
    /// without echo when stdin is a terminal. A new data dir started with a passphrase gets
    /// a sealed key file from the start.
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,

    /// How long a login session lasts (e.g. 3600, 30m, 24h, 7d).
    #[arg(
        long,
        env = "SECRETCTL_SESSION_TTL",
        default_value = "24h",
        value_name = "DURATION"
    )]
    pub session_ttl: String,

    /// Requests handled at once, each on its connection's thread; 4 × N more may wait for
    /// a turn, and past that a request gets 503 at once.
    #[arg(
        long,
        env = "SECRETCTL_WORKERS",
        default_value_t = 32,
        value_name = "N"
    )]
    pub workers: usize,

    /// Serve HTTPS with this PEM certificate chain (server certificate first); needs
    /// --tls-key.
    #[arg(long, env = "SECRETCTL_TLS_CERT", value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,

    /// PEM private key for --tls-cert (PKCS#8, PKCS#1 RSA or SEC1 EC; not encrypted).
    #[arg(long, env = "SECRETCTL_TLS_KEY", value_name = "FILE")]
    pub tls_key: Option<PathBuf>,

    /// Public base URL for share links (e.g. https://secrets.example.com)
    /// [default: http(s)://<listening address>; when listening on 0.0.0.0 or ::, the Host
    /// header of the request that creates the link, with a warning at start].
    #[arg(long, env = "SECRETCTL_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,

    /// Values of each secret to keep, the current one included (1-100): older versions can
    /// be read with `get --version` and restored with `rollback`. A lower number prunes a
    /// secret's extra versions at its next new value.
    #[arg(
        long,
        env = "SECRETCTL_KEEP_VERSIONS",
        default_value_t = 10,
        value_name = "N",
        value_parser = keep_versions
    )]
    pub keep_versions: u32,

    /// Also append every audit record to FILE as one JSON line (for log shippers). If it
    /// cannot be written, the operation being audited is refused (503).
    #[arg(long, env = "SECRETCTL_AUDIT_LOG", value_name = "FILE")]
    pub audit_log: Option<PathBuf>,

    /// Requests per second per client address, for most endpoints (burst: twice as many);
    /// 0 turns the limit off.
    #[arg(
        long,
        env = "SECRETCTL_RATE_LIMIT",
        default_value_t = 50,
        value_name = "N"
    )]
    pub rate_limit: u32,

    /// Logins and registrations per minute per client address; 0 turns the limit off.
    #[arg(
        long,
        env = "SECRETCTL_AUTH_RATE_LIMIT",
        default_value_t = 10,
        value_name = "N"
    )]
    pub auth_rate_limit: u32,

    /// Share-link requests (/share/TOKEN) per minute per client address; 0 turns it off.
    #[arg(
        long,
        env = "SECRETCTL_SHARE_RATE_LIMIT",
        default_value_t = 30,
        value_name = "N"
    )]
    pub share_rate_limit: u32,

    /// Seconds one read from a client may block (TLS handshake, headers, each part of a
    /// body, an idle kept-alive connection) before the connection is dropped.
    #[arg(
        long,
        env = "SECRETCTL_CLIENT_TIMEOUT",
        default_value_t = 15,
        value_name = "SECS"
    )]
    pub client_timeout: u64,

    /// Seconds a graceful shutdown (SIGTERM, SIGINT) may take in all: requests in progress
    /// are finished or, past this, cut off, and the process exits. Keep it below your
    /// service manager's stop timeout.
    #[arg(
        long,
        env = "SECRETCTL_SHUTDOWN_TIMEOUT",
        default_value_t = 20,
        value_name = "SECS"
    )]
    pub shutdown_timeout: u64,

    /// Whether anyone may create an account; close it once your accounts exist.
    #[arg(long, env = "SECRETCTL_REGISTRATION", value_enum, default_value_t = Registration::Open)]
    pub registration: Registration,
    #[command(flatten)]
    pub alerts: AlertArgs,

    /// Take client addresses from X-Forwarded-For (only behind a proxy you run, which must
    /// overwrite or append to that header); without it the header is ignored.
    #[arg(long, env = "SECRETCTL_TRUST_PROXY")]
    pub trust_proxy: bool,

    /// With --trust-proxy: how many proxies in front of the server append to
    /// X-Forwarded-For; the address the outermost one appended is the client's.
    #[arg(
        long,
        env = "SECRETCTL_TRUSTED_HOPS",
        default_value_t = 1,
        value_name = "N",
        requires = "trust_proxy"
    )]
    pub trusted_hops: usize,

    /// Seconds between sweeps that delete expired sessions and share links.
    #[arg(long, default_value_t = 60, value_name = "SECS", hide = true)]
    pub sweep_interval: u64,

    /// TEST ONLY: a file holding a clock offset in seconds, to test expiry without waiting.
    #[arg(long, hide = true, value_name = "FILE")]
    pub test_clock_file: Option<PathBuf>,

    /// TEST ONLY: cheap password hashing (and cheap sealing of a new key file) so test
    /// suites run fast. Never for real accounts or keys.
    #[arg(long, hide = true)]
    pub insecure_fast_kdf: bool,

    /// Serve Prometheus metrics at http://HOST:PORT/metrics, on a listener of their own
    /// (plain HTTP; keep it on a private address). Off unless given.
    #[arg(long, env = "SECRETCTL_METRICS_ADDR", value_name = "HOST:PORT")]
    pub metrics_addr: Option<String>,

    /// Request log format on stderr: `text` (one line a request) or `json` (one object a
    /// line, for log shippers).
    #[arg(long, env = "SECRETCTL_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// `serve --log-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// `serve --registration`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Registration {
    Open,
    Closed,
}

/// `register` and `login`.
#[derive(Debug, Args)]
pub struct AccountArgs {
    /// Account name: 3-64 characters of a-z, 0-9, '.', '_', '-'.
    #[arg(long, short = 'u', env = "SECRETCTL_USERNAME", value_name = "NAME")]
    pub username: String,

    /// Read the password from the first line of stdin (for scripts).
    #[arg(long)]
    pub password_stdin: bool,

    /// Send the password over plain http:// to a server that is not this machine. Without
    /// it, that is refused: anyone on the network path could read the password.
    #[arg(long)]
    pub insecure_http: bool,

    #[command(flatten)]
    pub client: ClientOpts,
}

/// Where a secret value comes from.
#[derive(Debug, Args)]
#[group(multiple = false)]
pub struct ValueSource {
    /// The value itself (visible in shell history and `ps`; prefer stdin or --from-file).
    #[arg(long, value_name = "VALUE")]
    pub value: Option<String>,

    /// Read the value from a file, byte for byte ("-" reads stdin).
    #[arg(long, value_name = "FILE")]
    pub from_file: Option<PathBuf>,
}

/// `secretctl put`.
#[derive(Debug, Args)]
pub struct PutArgs {
    /// Secret name: 1-128 characters of A-Z, a-z, 0-9, '.', '_', '/', '-'.
    pub name: String,

    /// Free-text description.
    #[arg(long, short = 'd', value_name = "TEXT")]
    pub description: Option<String>,

    /// Tag (repeatable).
    #[arg(long = "tag", short = 't', value_name = "TAG")]
    pub tags: Vec<String>,

    #[command(flatten)]
    pub source: ValueSource,

    #[command(flatten)]
    pub team: TeamOpt,

    #[command(flatten)]
    pub client: ClientOpts,
}

/// Commands that take only a secret name.
#[derive(Debug, Args)]
pub struct NameArg {
    /// Secret name.
    pub name: String,

    #[command(flatten)]
    pub team: TeamOpt,

    #[command(flatten)]
    pub client: ClientOpts,
}

/// `secretctl get`.
#[derive(Debug, Args)]
pub struct GetArgs {
    /// Secret name.
    pub name: String,

    #[command(flatten)]
    pub team: TeamOpt,

    /// Print the value this secret had at version N (see `secretctl history NAME`) instead
    /// of the current one.
    #[arg(long, value_name = "N", value_parser = version_number)]
    pub version: Option<u64>,

    #[command(flatten)]
    pub client: ClientOpts,
}

/// `secretctl rollback`.
#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// Secret name.
    pub name: String,

    #[command(flatten)]
    pub team: TeamOpt,

    /// The version whose value becomes current again (see `secretctl history NAME`).
    #[arg(long, value_name = "N", value_parser = version_number)]
    pub to: u64,

    #[command(flatten)]
    pub client: ClientOpts,
}

/// `secretctl ls`.
#[derive(Debug, Args)]
pub struct LsArgs {
    /// Only secrets with this tag.
    #[arg(long, short = 't', value_name = "TAG")]
    pub tag: Option<String>,

    #[command(flatten)]
    pub team: TeamOpt,

    #[command(flatten)]
    pub client: ClientOpts,
}

/// `secretctl update`.
#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// Secret name.
    pub name: String,

    /// New name.
    #[arg(long, value_name = "NAME")]
    pub rename: Option<String>,

    /// New description ("" clears it).
    #[arg(long, short = 'd', value_name = "TEXT")]
    pub description: Option<String>,

    /// Replace the tags with these (repeatable).
    #[arg(
        long = "tag",
        short = 't',
        value_name = "TAG",
        conflicts_with = "clear_tags"
    )]
    pub tags: Vec<String>,

    /// Remove all tags.
    #[arg(long)]
    pub clear_tags: bool,

    #[command(flatten)]
    pub source: ValueSource,

    #[command(flatten)]
    pub team: TeamOpt,

    #[command(flatten)]
    pub client: ClientOpts,
}

/// `secretctl share`.
#[derive(Debug, Args)]
pub struct ShareArgs {
    /// Secret name.
    pub name: String,

    /// How long the link works: 60s to 7d (e.g. 30m, 1h, 2d, or seconds).
    #[arg(long, default_value = "1h", value_name = "DURATION", value_parser = share_lifetime)]
    pub expires_in: u64,

    /// How many times the link can be opened (1-100).
    #[arg(
        long,
        default_value_t = 1,
        value_name = "N",
        value_parser = clap::value_parser!(u32).range(
            *SHARE_MAX_VIEWS.start() as i64..=*SHARE_MAX_VIEWS.end() as i64
        )
    )]
    pub max_views: u32,

    /// Protect the link with a passphrase, prompted without echo (send it separately).
    #[arg(long)]
    pub passphrase: bool,

    /// Read the passphrase from the first line of stdin (implies --passphrase).
    #[arg(long)]
    pub passphrase_stdin: bool,

    #[command(flatten)]
    pub team: TeamOpt,

    #[command(flatten)]
    pub client: ClientOpts,
}

/// `secretctl open`.
#[derive(Debug, Args)]
pub struct OpenArgs {
    /// The share URL (its server is used, not --server), or a bare token for --server.
    // Tokens are base64url and may start with '-'.
    #[arg(value_name = "URL_OR_TOKEN", allow_hyphen_values = true)]
    pub link: String,

    /// Read the link's passphrase from the first line of stdin.
    #[arg(long)]
    pub passphrase_stdin: bool,

    #[command(flatten)]
    pub client: ClientOpts,
}

/// `secretctl unshare`.
#[derive(Debug, Args)]
pub struct UnshareArgs {
    /// Share id, as shown by `secretctl shares NAME`.
    pub share_id: String,

    #[command(flatten)]
    pub client: ClientOpts,
}

const RUN_HELP: &str = "\
Variables: with --prefix, each secret under the prefix becomes a variable named by one rule:
the name (without the prefix when --strip-prefix is given) upper-cased, with '/', '.' and '-'
turned into '_' (prod/db-password -> PROD_DB_PASSWORD, or DB_PASSWORD with --strip-prefix).
--env VAR=REF names a variable yourself. Two secrets on one variable is an error naming both;
a variable already set in the environment is replaced only with --override.

Files: --file VAR=REF writes the value to a file (0600) in a private directory (0700) and
sets VAR to its path; the directory is removed when CMD exits, however it exits (not when
secretctl itself is killed with SIGKILL).

Masking: when secretctl's stdout or stderr is not a terminal (a CI log), CMD's output on it
is passed through with every secret value, and every line of a multi-line value, replaced by
`<concealed by secretctl>`. Values shorter than 4 bytes are not masked (a note says which).
Output is streamed; only a possible start of a value is held back, and for at most 200 ms.

Exit status: CMD's own, or 128+N when CMD is killed by signal N; 127 when CMD cannot be
found, 126 when it cannot be run. SIGINT, SIGTERM and SIGHUP sent to secretctl are passed on
to CMD. secretctl writes nothing to stdout; its own notes and errors go to stderr.

All secrets are fetched in one request, all or nothing: a missing reference is an error
naming it, and CMD does not start.";

/// `secretctl run`.
#[derive(Debug, Args)]
#[command(after_long_help = RUN_HELP)]
pub struct RunArgs {
    #[command(flatten)]
    pub client: ClientOpts,

    #[command(flatten)]
    pub team: TeamOpt,

    /// Set variable VAR to the value of secret REF (NAME or TEAM:NAME); repeatable.
    #[arg(long = "env", short = 'e', value_name = "VAR=REF")]
    pub env: Vec<String>,

    /// Add every secret whose name starts with P, one variable each (see below).
    #[arg(long, value_name = "P")]
    pub prefix: Option<String>,

    /// Leave the prefix out of the variable names.
    #[arg(long, requires = "prefix")]
    pub strip_prefix: bool,

    /// Write secret REF to a private file and set VAR to its path; repeatable.
    #[arg(long = "file", value_name = "VAR=REF")]
    pub files: Vec<String>,

    /// Replace variables that are already set in the environment.
    #[arg(long = "override")]
    pub override_env: bool,

    /// Mask secret values in CMD's output even on a terminal.
    #[arg(long, conflicts_with = "no_masking")]
    pub mask: bool,

    /// Never mask CMD's output.
    #[arg(long)]
    pub no_masking: bool,

    /// The command and its arguments, after `--`.
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<String>,
}

/// `secretctl export --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// VAR='value' lines, quoted so any value reads back (python-dotenv).
    Dotenv,
    /// One JSON object, {"VAR": "value", ...}.
    Json,
    /// export VAR='value' lines, safe to `eval`.
    Shell,
    /// Append to $GITHUB_ENV (multi-line safe) and print ::add-mask:: for every line.
    GithubEnv,
}

const EXPORT_HELP: &str = "\
Variables are named like `secretctl run` names them: the secret name upper-cased, with '/',
'.' and '-' turned into '_' (without the prefix when --strip-prefix is given), or VAR=REF.

dotenv values are single-quoted with \\\\ and \\' escapes (double-quoted with \\n and \\r escapes
when a value holds a carriage return). python-dotenv expands ${VAR} even inside quotes: load
with interpolate=False when values may contain `${`. A value ending in a backslash is written
unquoted when that reads back exactly, and refused otherwise (use json or shell for it).

github-env writes VAR<<DELIMITER blocks with a random delimiter to the file named by
$GITHUB_ENV, and prints ::add-mask:: commands on stdout first so the runner hides every line
of every value in later logs.";

/// `secretctl export`.
#[derive(Debug, Args)]
#[command(after_long_help = EXPORT_HELP)]
pub struct ExportArgs {
    #[command(flatten)]
    pub client: ClientOpts,

    #[command(flatten)]
    pub team: TeamOpt,

    /// Secrets to export: REF (NAME or TEAM:NAME) or VAR=REF.
    #[arg(value_name = "REFS")]
    pub refs: Vec<String>,

    /// Also export every secret whose name starts with P.
    #[arg(long, value_name = "P")]
    pub prefix: Option<String>,

    /// Leave the prefix out of the variable names.
    #[arg(long, requires = "prefix")]
    pub strip_prefix: bool,

    /// Output format.
    #[arg(long, value_enum, default_value_t = ExportFormat::Dotenv)]
    pub format: ExportFormat,
}

/// `secretctl inject`.
#[derive(Debug, Args)]
#[command(after_long_help = "\
Placeholders are `{{ sctl://REF }}` (spaces inside the braces optional), REF being NAME or
TEAM:NAME. All secrets are fetched in one request; an unknown reference is an error and
nothing is written. The output file is created 0600 and replaced atomically.")]
pub struct InjectArgs {
    #[command(flatten)]
    pub client: ClientOpts,

    #[command(flatten)]
    pub team: TeamOpt,

    /// Template to read ("-" for stdin).
    #[arg(long, short = 'i', value_name = "TEMPLATE")]
    pub input: PathBuf,

    /// Write the result to FILE instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// `secretctl audit`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct AuditArgs {
    /// How many events to show (1-500).
    #[arg(long, short = 'n', default_value_t = 50, value_name = "N")]
    pub limit: u32,

    /// Only events older than this sequence number (for paging).
    #[arg(long, value_name = "SEQ")]
    pub before: Option<u64>,

    /// The team's trail instead of yours: its secrets, links, members and tokens (team
    /// admins).
    #[arg(long, value_name = "TEAM")]
    pub team: Option<String>,

    #[command(subcommand)]
    pub action: Option<AuditAction>,

    #[command(flatten)]
    pub client: ClientOpts,
}

/// `secretctl audit` subcommands.
#[derive(Debug, Subcommand)]
pub enum AuditAction {
    /// Check a server's whole trail, offline, on the server host (stop the server first):
    /// every record's keyed link, and that the trail ends at its authenticated head. Needs
    /// the master key (the links are keyed). Prints the head as SEQ:HASH; exits 1 and names
    /// the first broken record. Reads the files only, never writes them.
    Verify(AuditVerifyArgs),
}

/// `secretctl audit verify`.
#[derive(Debug, Args)]
pub struct AuditVerifyArgs {
    #[command(flatten)]
    pub dir: DataDirArgs,

    /// Also require this record, as printed by an earlier verify (SEQ:HASH), to be in the
    /// trail: catches a whole database rolled back to an older copy.
    #[arg(long, value_name = "SEQ:HASH")]
    pub expect: Option<String>,

    /// An archive made by `admin audit archive`; give every archive, oldest first, to
    /// check the trail end to end from its first record.
    #[arg(long = "archive", value_name = "FILE")]
    pub archives: Vec<PathBuf>,
}

/// `secretctl admin`: offline key management on the server's files.
///
/// Each works directly on the data dir and key file, not through the server. A running
/// server holds the database lock, so the rotations refuse ("already in use") until it is
/// stopped; restart it afterwards. Passphrases come from --passphrase-file, else
/// SECRETCTL_PASSPHRASE, else a no-echo prompt on the terminal.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Encrypt a plain master key file with a passphrase (age scrypt, ASCII-armored).
    ///
    /// The file is replaced atomically; `age -d` opens it. From then on `serve` needs the
    /// passphrase. Copies of the plain file (backups) still hold the key: run rotate-master
    /// afterwards if any exist.
    SealKey(SealKeyArgs),
    /// Decrypt a sealed master key file back to plain age-keygen format, in place.
    UnsealKey(KeyFileArgs),
    /// Give the data keys a new master identity and replace the key file with it.
    ///
    /// The new key is sealed with the same passphrase when the old one was. Afterwards the
    /// old key file opens nothing in this database (older backups of the database still
    /// need it). Crash-safe: the new key is first written to KEY_FILE.new; if interrupted,
    /// `serve` says which file opens the database, and running this again finishes.
    RotateMaster(RotateMasterArgs),
    /// Add a new data key, re-seal every secret and pending share link under it in one
    /// transaction, and delete the old data key.
    RotateDataKey(DataDirArgs),
    /// Write a consistent snapshot of the database to a file, while the server runs or not.
    ///
    /// With a server running on DIR, the server makes it (through the admin channel,
    /// DIR/admin.sock) from one read transaction while writes go on; otherwise the files are
    /// opened read-only. The master key is never in it: back the key file up separately.
    /// Exit codes: 0 written, 1 failed, 2 bad --recipient.
    Backup(BackupArgs),
    /// Check a backup file on its own, read-only: every table against its manifest, schema
    /// version, audit trail links and head; with --key-file also the keyed audit chain and
    /// that the key opens it. Exit codes: 0 whole, 1 damaged or unreadable, 2 usage.
    VerifyBackup(VerifyBackupArgs),
    /// Put a backup in place as DIR's database (server stopped), atomically, after checking
    /// that the key file opens it. Exit codes: 0 restored, 1 failed (nothing replaced),
    /// 2 usage, 5 DIR already holds a database and --force was not given.
    Restore(RestoreArgs),
    /// Operator commands on accounts: list, disable, enable, reset a password.
    ///
    /// Through the running server's admin channel when one answers on DIR, else on the files
    /// (the key file is needed then). Every change is audited, in the user's own trail too.
    #[command(subcommand)]
    Users(UsersCommand),
    /// Operator commands on sessions.
    #[command(subcommand)]
    Sessions(SessionsCommand),
    /// Audit retention (on the server's files; stop it first).
    #[command(subcommand)]
    Audit(AdminAuditCommand),
}

/// `secretctl admin users`.
#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// List every user: name, created, last login (newest live session), secrets, disabled.
    /// Exit codes: 0, 1 failed.
    Ls(DataDirArgs),
    /// Disable an account: its logins and tokens are refused at once (its sessions are
    /// revoked) and its share links stop working unless --keep-links.
    /// Exit codes: 0, 1 failed, 4 no such user.
    Disable(DisableUserArgs),
    /// Enable a disabled account again (its links work again too).
    /// Exit codes: 0, 1 failed, 4 no such user.
    Enable(UserArgs),
    /// Replace an account's password with a one-time password, printed once on stdout, and
    /// revoke its sessions. Logging in with it answers 403 password_change_required until the
    /// account sets a new password (PUT /account/password); after 24 h it is dead.
    /// Exit codes: 0, 1 failed, 4 no such user.
    ResetPassword(UserArgs),
}

/// `secretctl admin sessions`.
#[derive(Debug, Subcommand)]
pub enum SessionsCommand {
    /// Revoke every session of a user (their tokens are refused from the next request on).
    /// Exit codes: 0, 1 failed, 4 no such user.
    Revoke(RevokeSessionsArgs),
}

/// A username and the data dir.
#[derive(Debug, Args)]
pub struct UserArgs {
    /// The account's username.
    #[arg(value_name = "NAME")]
    pub username: String,

    #[command(flatten)]
    pub dir: DataDirArgs,
}

/// `secretctl admin users disable`.
#[derive(Debug, Args)]
pub struct DisableUserArgs {
    #[command(flatten)]
    pub user: UserArgs,

    /// Let the account's share links keep working while it is disabled.
    #[arg(long)]
    pub keep_links: bool,
}

/// `secretctl admin sessions revoke`.
#[derive(Debug, Args)]
pub struct RevokeSessionsArgs {
    /// The account whose sessions end.
    #[arg(long = "user", value_name = "NAME")]
    pub username: String,

    #[command(flatten)]
    pub dir: DataDirArgs,
}

impl AdminCommand {
    /// The `--json` flag of the user and session commands.
    pub fn operator_json(&self) -> Option<bool> {
        Some(match self {
            AdminCommand::Users(UsersCommand::Ls(a)) => a.output.json,
            AdminCommand::Users(UsersCommand::Disable(a)) => a.user.dir.output.json,
            AdminCommand::Users(UsersCommand::Enable(a) | UsersCommand::ResetPassword(a)) => {
                a.dir.output.json
            }
            AdminCommand::Sessions(SessionsCommand::Revoke(a)) => a.dir.output.json,
            _ => return None,
        })
    }

    /// [`AdminCommand::operator_json`], to set.
    pub fn operator_json_mut(&mut self) -> Option<&mut bool> {
        Some(match self {
            AdminCommand::Users(UsersCommand::Ls(a)) => &mut a.output.json,
            AdminCommand::Users(UsersCommand::Disable(a)) => &mut a.user.dir.output.json,
            AdminCommand::Users(UsersCommand::Enable(a) | UsersCommand::ResetPassword(a)) => {
                &mut a.dir.output.json
            }
            AdminCommand::Sessions(SessionsCommand::Revoke(a)) => &mut a.dir.output.json,
            _ => return None,
        })
    }
}

/// `secretctl admin backup`.
#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The server's data directory.
    #[arg(
        long,
        env = "SECRETCTL_DATA_DIR",
        default_value = DEFAULT_DATA_DIR,
        value_name = "DIR"
    )]
    pub data_dir: PathBuf,

    /// Where to write the backup (replaced atomically; mode 0600).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: PathBuf,

    /// Encrypt the backup to this age recipient (age1...), because backups travel.
    #[arg(long, value_name = "AGE_RECIPIENT")]
    pub recipient: Option<String>,

    #[command(flatten)]
    pub json: JsonOpt,
}

/// `secretctl admin verify-backup`.
#[derive(Debug, Args)]
pub struct VerifyBackupArgs {
    /// The backup file (never written to).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// age identity file that decrypts a backup made with --recipient.
    #[arg(long, value_name = "KEYFILE")]
    pub identity: Option<PathBuf>,

    /// The master key file: also check the keyed audit chain and that the key opens the
    /// backup. Without it the chain's structure is checked, not its keyed links.
    #[arg(long, value_name = "PATH")]
    pub key_file: Option<PathBuf>,

    /// Read the key file's passphrase from FILE (a trailing newline is dropped).
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,

    #[command(flatten)]
    pub json: JsonOpt,
}

/// `secretctl admin restore`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The backup file.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// age identity file that decrypts a backup made with --recipient.
    #[arg(long, value_name = "KEYFILE")]
    pub identity: Option<PathBuf>,

    /// Replace the database DIR already holds.
    #[arg(long)]
    pub force: bool,

    #[command(flatten)]
    pub dir: DataDirArgs,
}

/// `secretctl admin audit` subcommands.
#[derive(Debug, Subcommand)]
pub enum AdminAuditCommand {
    /// Move audit records older than DATE into a new archive file, and reclaim their space.
    ///
    /// The archive holds the records as JSON lines, each with its hash (the JSON its keyed
    /// hash covers, however the database stored it); the live trail keeps an authenticated anchor to the last archived record, so `audit verify`
    /// still passes and `audit verify --archive FILE` checks archive and trail end to end.
    /// The newest record always stays. Keep the archive: it is the only copy of those
    /// records. Prints what was moved and the bytes reclaimed.
    Archive(AuditArchiveArgs),
}

/// `secretctl admin audit archive`.
#[derive(Debug, Args)]
pub struct AuditArchiveArgs {
    #[command(flatten)]
    pub dir: DataDirArgs,

    /// Archive records made before this time: YYYY-MM-DD (midnight UTC) or RFC 3339.
    #[arg(long, value_name = "DATE")]
    pub before: String,

    /// The archive file to create (an existing file is never overwritten).
    #[arg(long = "output", short = 'o', value_name = "FILE")]
    pub output_file: PathBuf,
}

/// A key file and its passphrase.
#[derive(Debug, Args)]
pub struct KeyFileArgs {
    /// The master key file to rewrite in place.
    #[arg(long, env = "SECRETCTL_KEY_FILE", value_name = "PATH")]
    pub key_file: PathBuf,

    /// Read the passphrase from FILE (a trailing newline is dropped).
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,

    #[command(flatten)]
    pub output: JsonOpt,
}

/// `secretctl admin seal-key`.
#[derive(Debug, Args)]
pub struct SealKeyArgs {
    #[command(flatten)]
    pub key: KeyFileArgs,

    /// TEST ONLY: cheap scrypt sealing so test suites run fast. Never for real keys.
    #[arg(long, hide = true)]
    pub insecure_fast_kdf: bool,
}

/// A data dir, its key file, and the key file's passphrase.
#[derive(Debug, Args)]
pub struct DataDirArgs {
    /// The server's data directory (holding the database).
    #[arg(
        long,
        env = "SECRETCTL_DATA_DIR",
        default_value = DEFAULT_DATA_DIR,
        value_name = "DIR"
    )]
    pub data_dir: PathBuf,

    /// Master key file [default: DIR/master.key].
    #[arg(long, env = "SECRETCTL_KEY_FILE", value_name = "PATH")]
    pub key_file: Option<PathBuf>,

    /// Read the key file's passphrase from FILE (a trailing newline is dropped).
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,

    #[command(flatten)]
    pub output: JsonOpt,
}

/// `secretctl admin rotate-master`.
#[derive(Debug, Args)]
pub struct RotateMasterArgs {
    #[command(flatten)]
    pub dir: DataDirArgs,

    /// TEST ONLY: cheap scrypt sealing of the new key so test suites run fast.
    #[arg(long, hide = true)]
    pub insecure_fast_kdf: bool,
}

/// `secretctl completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// Shell to generate for.
    pub shell: clap_complete::Shell,
}

/// `share --expires-in`: a duration within what the server allows, said in the help's units
/// (clap prefixes the flag and the value).
fn share_lifetime(value: &str) -> Result<u64, String> {
    let secs = crate::duration::parse_seconds(value)?;
    if SHARE_EXPIRES_IN_SECS.contains(&secs) {
        Ok(secs)
    } else {
        Err("a link lasts from 60s to 7d (e.g. 30m, 1h, 2d)".into())
    }
}

/// `serve --keep-versions`: how many values of each secret to keep.
fn keep_versions(value: &str) -> Result<u32, String> {
    match value.parse::<u32>() {
        Ok(n) if (1..=crate::store::MAX_KEEP_VERSIONS).contains(&n) => Ok(n),
        _ => Err(format!(
            "keep from 1 to {} values of each secret",
            crate::store::MAX_KEEP_VERSIONS
        )),
    }
}

/// A secret version number, as `get --version` and `rollback --to` take it.
fn version_number(value: &str) -> Result<u64, String> {
    match value.parse::<u64>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err("a version is a whole number from 1 (see `secretctl history NAME`)".into()),
    }
}

/// Adds a "did you mean" to an unknown-subcommand error when clap found none: its own
/// similarity measure misses swapped letters (`secretctl gte`), which typing produces most.
pub fn with_suggestion(mut err: clap::Error) -> clap::Error {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if err.kind() != ErrorKind::InvalidSubcommand {
        return err;
    }
    // Clap's own pick is kept unless a one-edit match (a swap) exists: with `team` among
    // the commands, clap offers it for `gte`.
    let clap_has_one = err.get(ContextKind::SuggestedSubcommand).is_some();
    let Some(ContextValue::String(typed)) = err.get(ContextKind::InvalidSubcommand) else {
        return err;
    };
    let typed = typed.clone();
    let cmd = command();
    let mut names: Vec<String> = Vec::new();
    let mut stack = vec![&cmd];
    while let Some(c) = stack.pop() {
        for sub in c.get_subcommands() {
            names.push(sub.get_name().to_string());
            names.extend(sub.get_all_aliases().map(str::to_string));
            stack.push(sub);
        }
    }
    let best = names
        .into_iter()
        .map(|n| (edit_distance(&typed, &n), n))
        .filter(|(d, n)| *d <= 1 || (!clap_has_one && *d == 2 && n.len() > 4))
        .min();
    if let Some((_, name)) = best {
        err.insert(
            ContextKind::SuggestedSubcommand,
            ContextValue::Strings(vec![name]),
        );
    }
    err
}

/// Edit distance counting a swap of two neighbouring letters as one edit (optimal string
/// alignment).
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

/// The clap command, for generating man pages and completions.
pub fn command() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swapped_letters_are_one_edit() {
        assert_eq!(edit_distance("gte", "get"), 1);
        assert_eq!(edit_distance("shrae", "share"), 1);
        assert_eq!(edit_distance("get", "get"), 0);
        assert_eq!(edit_distance("ls", "rm"), 2);
    }

    #[test]
    fn a_token_starting_with_a_dash_is_a_value() {
        let cli = Cli::try_parse_from([
            "secretctl",
            "open",
            "-4saJgzPMvptp7xXnUPBWOWf3fjjj6icWQu3FmvVSog",
            "--json",
        ])
        .unwrap();
        match cli.command {
            Command::Open(args) => {
                assert!(args.link.starts_with("-4sa"));
                assert!(args.client.json);
            }
            other => panic!("{other:?}"),
        }
    }
}
