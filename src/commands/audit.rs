//! `audit` (your trail, from the server) and `audit verify` (a server's whole chain, offline).

use super::context::Context;
use super::{CliError, output};
use crate::cli::{AuditAction, AuditArgs};
use crate::config::DB_FILE;
use crate::store::ChainCheck;

/// `secretctl audit [--limit N] [--before SEQ]` or `secretctl audit verify --data-dir DIR`.
pub fn run(ctx: &Context, args: &AuditArgs) -> Result<(), CliError> {
    if let Some(AuditAction::Verify { data_dir, .. }) = &args.action {
        return verify(ctx, data_dir);
    }
    if !(1..=500).contains(&args.limit) {
        return Err(CliError::Usage("--limit must be between 1 and 500".into()));
    }
    let list = ctx.authenticated()?.audit(args.limit, args.before)?;
    if ctx.json {
        // One JSON object per line, for jq and log tooling.
        let mut out = String::new();
        for e in &list.events {
            out.push_str(&serde_json::to_string(e).map_err(CliError::failed)?);
            out.push('\n');
        }
        return output::write_stdout(out.as_bytes());
    }
    let rows: Vec<Vec<String>> = list
        .events
        .iter()
        .map(|e| {
            vec![
                e.seq.to_string(),
                e.time.clone(),
                e.action.clone(),
                e.outcome.clone(),
                e.target.clone().unwrap_or_else(|| "-".into()),
                e.actor.clone(),
                if e.ip.is_empty() {
                    "-".into()
                } else {
                    e.ip.clone()
                },
            ]
        })
        .collect();
    output::write_stdout(
        output::table(
            &["SEQ", "TIME", "ACTION", "OUTCOME", "TARGET", "ACTOR", "IP"],
            &rows,
        )
        .as_bytes(),
    )?;
    if let Some(next) = list.next_before {
        eprintln!("more: secretctl audit --before {next}");
    }
    Ok(())
}

fn verify(ctx: &Context, data_dir: &std::path::Path) -> Result<(), CliError> {
    let db = data_dir.join(DB_FILE);
    if !db.exists() {
        return Err(CliError::Other(format!("no database at {}", db.display())));
    }
    match crate::store::verify_chain(&db).map_err(CliError::failed)? {
        ChainCheck::Intact { records, last_hash } => {
            if ctx.json {
                output::json(
                    &serde_json::json!({"intact": true, "records": records, "last_hash": last_hash}),
                )
            } else {
                output::write_stdout(
                    format!("audit trail intact: {records} records, last hash {last_hash}\n")
                        .as_bytes(),
                )
            }
        }
        ChainCheck::Broken { seq, reason } => {
            if ctx.json {
                output::json(
                    &serde_json::json!({"intact": false, "broken_at": seq, "reason": reason}),
                )?;
            }
            Err(CliError::Other(format!(
                "audit trail broken at record {seq}: {reason}"
            )))
        }
    }
}
