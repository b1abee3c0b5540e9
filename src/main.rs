//! `secretctl` entry point: parse, run, map the outcome to an exit code.

use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = secretctl::cli::Cli::parse_args()
        .unwrap_or_else(|e| secretctl::cli::with_suggestion(e).exit());
    match secretctl::commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if !matches!(e, secretctl::commands::CliError::CommandExited(_)) {
                eprintln!("error: {e}");
            }
            ExitCode::from(e.exit_code())
        }
    }
}
