//! `audit` (your trail, from the server) and `audit verify` (a server's whole chain, offline).

use super::context::Context;
use super::{CliError, output};
use crate::cli::{AuditAction, AuditArgs, AuditVerifyArgs};
use crate::store::ChainCheck;
use crate::store::audit::ChainHead;

/// `secretctl audit [--limit N] [--before SEQ]` or `secretctl audit verify [--data-dir DIR]`.
pub fn run(ctx: &Context, args: &AuditArgs) -> Result<(), CliError> {
    if let Some(AuditAction::Verify(verify_args)) = &args.action {
        return verify(ctx, verify_args);
    }
    if !(1..=500).contains(&args.limit) {
        return Err(CliError::Usage("--limit must be between 1 and 500".into()));
    }
    let client = ctx.authenticated()?;
    let list = match args.team.as_deref() {
        Some(team) => client.team_audit(team, args.limit, args.before)?,
        None => client.audit(args.limit, args.before)?,
    };
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
                e.target_name.clone().unwrap_or_else(|| "-".into()),
                match &e.actor_name {
                    Some(name) => format!("{name} ({})", e.actor),
                    None => e.actor.clone(),
                },
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
            &[
                "SEQ", "TIME", "ACTION", "OUTCOME", "TARGET", "NAME", "ACTOR", "IP",
            ],
            &rows,
        )
        .as_bytes(),
    )?;
    if let Some(next) = list.next_before {
        eprintln!("more: secretctl audit --before {next}");
    }
    Ok(())
}

fn verify(ctx: &Context, args: &AuditVerifyArgs) -> Result<(), CliError> {
    let expect = args.expect.as_deref().map(parse_head).transpose()?;
    let (db, master) = super::admin::load_master(&args.dir)?;
    let check = crate::store::verify_with_archives(&db, &master, expect.as_ref(), &args.archives)
        .map_err(CliError::failed)?;
    match check {
        ChainCheck::Intact {
            records,
            last_hash,
            head_checked,
        } => {
            let head = format!("{records}:{last_hash}");
            if ctx.json {
                return output::json(&serde_json::json!({
                    "intact": true,
                    "records": records,
                    "last_hash": last_hash,
                    "head": head,
                    "head_authenticated": head_checked,
                }));
            }
            let note = if head_checked {
                "ends at its authenticated head"
            } else {
                "no authenticated head yet (a database from an older release: start the server once to add one)"
            };
            output::write_stdout(
                format!(
                    "audit trail intact: {records} records, {note}
head: {head}
"
                )
                .as_bytes(),
            )
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

/// `SEQ:HASH`, as `audit verify` prints a head.
fn parse_head(text: &str) -> Result<ChainHead, CliError> {
    let bad = || {
        CliError::Usage(format!(
            "--expect takes SEQ:HASH as `audit verify` prints it, not {text:?}"
        ))
    };
    let (seq, hash) = text.split_once(':').ok_or_else(bad)?;
    let seq = seq.parse::<u64>().map_err(|_| bad())?;
    let hash = hash.trim().to_ascii_lowercase();
    if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad());
    }
    Ok(ChainHead { seq, hash })
}
