//! `secretctl admin`: sealing the master key file and rotating keys, on the server's files
//! directly (passphrases come from `key_passphrase`).
//!
//! The rotations open the database themselves, so a running server (which holds its lock)
//! makes them fail with "already in use" before anything is written.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::json;

use super::context::Context;
use super::key_passphrase::{Prompt, key_passphrase, no_passphrase, passphrase, print_key_notice};
use super::{CliError, output};
use crate::cli::{
    AdminAuditCommand, AdminCommand, AuditArchiveArgs, DataDirArgs, KeyFileArgs, RotateMasterArgs,
    SealKeyArgs,
};
use crate::config::{DB_FILE, KEY_FILE};
use crate::crypto::key_file::{self, KeyPassphrase};
use crate::crypto::master::{self, MasterKey};
use crate::store::{self, MasterRotationOutcome, Store};

/// Runs `secretctl admin ...`.
pub fn run(ctx: &Context, cmd: &AdminCommand) -> Result<(), CliError> {
    match cmd {
        AdminCommand::SealKey(args) => seal_key(ctx, args),
        AdminCommand::UnsealKey(args) => unseal_key(ctx, args),
        AdminCommand::RotateMaster(args) => rotate_master(ctx, args),
        AdminCommand::RotateDataKey(args) => rotate_data_key(ctx, args),
        AdminCommand::Backup(args) => super::backup::backup(ctx, args),
        AdminCommand::VerifyBackup(args) => super::backup::verify_backup(ctx, args),
        AdminCommand::Restore(args) => super::backup::restore(ctx, args),
        AdminCommand::Users(cmd) => super::admin_users::users(ctx, cmd),
        AdminCommand::Sessions(cmd) => super::admin_users::sessions(ctx, cmd),
        AdminCommand::Audit(AdminAuditCommand::Archive(args)) => archive_audit(ctx, args),
    }
}

fn seal_key(ctx: &Context, args: &SealKeyArgs) -> Result<(), CliError> {
    let path = &args.key.key_file;
    if is_sealed(path)? {
        return Err(CliError::Other(format!(
            "key file {} is already sealed; nothing was changed",
            path.display()
        )));
    }
    let secret = passphrase(args.key.passphrase_file.as_deref(), Prompt::Confirmed, path)?
        .ok_or_else(no_passphrase)?;
    master::seal_file(path, &key_passphrase(secret, args.insecure_fast_kdf)).map_err(other)?;
    if ctx.json {
        output::json(&json!({"key_file": path, "sealed": true}))
    } else {
        eprintln!(
            "sealed {}; serve now needs its passphrase (--passphrase-file, SECRETCTL_PASSPHRASE or the prompt). Older plain copies still hold the key: if any exist, run `secretctl admin rotate-master`",
            path.display()
        );
        Ok(())
    }
}

fn unseal_key(ctx: &Context, args: &KeyFileArgs) -> Result<(), CliError> {
    let path = &args.key_file;
    if !is_sealed(path)? {
        return Err(CliError::Other(format!(
            "key file {} is not sealed; nothing was changed",
            path.display()
        )));
    }
    let secret = passphrase(args.passphrase_file.as_deref(), Prompt::Once, path)?
        .ok_or_else(no_passphrase)?;
    master::unseal_file(path, &KeyPassphrase::new(secret)).map_err(other)?;
    if ctx.json {
        output::json(&json!({"key_file": path, "sealed": false}))
    } else {
        eprintln!(
            "unsealed {}: it now holds the master key in plain text (mode 0600)",
            path.display()
        );
        Ok(())
    }
}

fn rotate_master(ctx: &Context, args: &RotateMasterArgs) -> Result<(), CliError> {
    let (db_path, key_path) = paths(&args.dir);
    // A key left by an interrupted rotation is sealed exactly when the key file is.
    let secret = passphrase(
        args.dir.passphrase_file.as_deref(),
        prompt_if_sealed(&key_path)?,
        &key_path,
    )?;
    let passphrase = secret.map(|s| key_passphrase(s, args.insecure_fast_kdf));
    let started = Instant::now();
    let outcome = store::rotate_master(&db_path, &key_path, passphrase.as_ref()).map_err(other)?;
    let seconds = started.elapsed().as_secs_f64();
    let (finished_interrupted, r) = match outcome {
        MasterRotationOutcome::Rotated(r) => (false, r),
        MasterRotationOutcome::FinishedInterrupted(r) => (true, r),
    };
    r.notices.iter().for_each(print_key_notice);
    warn_compaction(r.compaction_warning.as_deref());
    if ctx.json {
        return output::json(&json!({
            "key_file": key_path,
            "public_key": r.public_key,
            "sealed": r.sealed,
            "data_key": r.data_key,
            "retired": r.retired,
            "secrets": r.secrets,
            "shares": r.shares,
            "finished_interrupted": finished_interrupted,
            "removed_leftover": r.removed_leftover,
            "compacted": r.compaction_warning.is_none(),
            "seconds": seconds,
        }));
    }
    if r.removed_leftover {
        eprintln!(
            "removed {}, left by an earlier rotation that never committed",
            store::pending_master_path(&key_path).display()
        );
    }
    if finished_interrupted {
        eprintln!(
            "finished an interrupted rotation: {} now holds the master key ({}) that opens the database",
            key_path.display(),
            r.public_key
        );
    } else {
        let retired: Vec<String> = r.retired.iter().map(u32::to_string).collect();
        eprintln!(
            "rotated the master key: new key {} in {}{}; {} secret(s) and {} pending share link(s) re-sealed under new data key {}, wrapped to it alone; retired data key {}. The old key file opens nothing in this database, nor anything written from now on in an older copy of it. Back up the new key file now.",
            r.public_key,
            key_path.display(),
            if r.sealed { " (sealed)" } else { "" },
            r.secrets,
            r.shares,
            r.data_key,
            retired.join(", ")
        );
    }
    Ok(())
}

fn rotate_data_key(ctx: &Context, args: &DataDirArgs) -> Result<(), CliError> {
    let (db_path, key_path) = paths(args);
    if !db_path.is_file() {
        return Err(other(store::StoreError::NoDatabase(db_path)));
    }
    let secret = passphrase(
        args.passphrase_file.as_deref(),
        prompt_if_sealed(&key_path)?,
        &key_path,
    )?;
    let passphrase = secret.map(KeyPassphrase::new);
    if !key_path.exists() {
        return Err(other(store::StoreError::KeyFileMissing {
            db: db_path,
            key: key_path,
        }));
    }
    let master = MasterKey::load(&key_path, passphrase.as_ref()).map_err(other)?;
    master.notices().iter().for_each(print_key_notice);
    let (mut store, notices) =
        Store::open_existing(&db_path, &master, passphrase.as_ref()).map_err(other)?;
    notices.iter().for_each(print_key_notice);
    let started = Instant::now();
    let r = store.rotate_data_key(&master).map_err(other)?;
    let seconds = started.elapsed().as_secs_f64();
    drop(store);
    warn_compaction(r.compaction_warning.as_deref());
    if ctx.json {
        return output::json(&json!({
            "data_key": r.key_id,
            "retired": r.retired,
            "secrets": r.secrets,
            "shares": r.shares,
            "compacted": r.compaction_warning.is_none(),
            "seconds": seconds,
        }));
    }
    let retired: Vec<String> = r.retired.iter().map(u32::to_string).collect();
    eprintln!(
        "rotated the data key: {} secret(s) and {} pending share link(s) re-sealed under data key {}; retired data key {} ({seconds:.2}s)",
        r.secrets,
        r.shares,
        r.key_id,
        retired.join(", ")
    );
    Ok(())
}

/// The database of a data dir and its master key, loaded (asking for the passphrase when
/// the key file is sealed); for offline checks.
pub(super) fn load_master(args: &DataDirArgs) -> Result<(PathBuf, MasterKey), CliError> {
    let (db_path, key_path) = paths(args);
    if !db_path.is_file() {
        return Err(other(store::StoreError::NoDatabase(db_path)));
    }
    if !key_path.exists() {
        return Err(other(store::StoreError::KeyFileMissing {
            db: db_path,
            key: key_path,
        }));
    }
    let secret = passphrase(
        args.passphrase_file.as_deref(),
        prompt_if_sealed(&key_path)?,
        &key_path,
    )?;
    let passphrase = secret.map(KeyPassphrase::new);
    let master = MasterKey::load(&key_path, passphrase.as_ref()).map_err(other)?;
    Ok((db_path, master))
}

/// The database and key file of a data dir.
fn paths(args: &DataDirArgs) -> (PathBuf, PathBuf) {
    let key = args
        .key_file
        .clone()
        .unwrap_or_else(|| args.data_dir.join(KEY_FILE));
    (args.data_dir.join(DB_FILE), key)
}

fn is_sealed(path: &Path) -> Result<bool, CliError> {
    if !path.exists() {
        return Err(CliError::Other(format!(
            "key file {} does not exist",
            path.display()
        )));
    }
    key_file::is_sealed(path).map_err(other)
}

pub(super) fn prompt_if_sealed(key_file: &Path) -> Result<Prompt, CliError> {
    // A missing key file is reported by the operation itself, with the database named.
    if key_file.exists() && key_file::is_sealed(key_file).map_err(other)? {
        Ok(Prompt::Once)
    } else {
        Ok(Prompt::Never)
    }
}

/// A rotation that committed but could not compact the file still succeeded; say so.
fn warn_compaction(warning: Option<&str>) {
    if let Some(w) = warning {
        eprintln!("warning: {w}");
    }
}

fn other(e: impl std::error::Error + Send + Sync + 'static) -> CliError {
    CliError::failed(e)
}

/// `secretctl admin audit archive --before DATE -o FILE`.
fn archive_audit(ctx: &Context, args: &AuditArchiveArgs) -> Result<(), CliError> {
    let before = parse_date(&args.before)?;
    let out = &args.output_file;
    if out.exists() {
        return Err(CliError::Usage(format!(
            "{} already exists; archives are never overwritten: choose another file",
            out.display()
        )));
    }
    let (db_path, master) = load_master(&args.dir)?;
    master.notices().iter().for_each(print_key_notice);
    let (mut store, notices) = Store::open_existing(&db_path, &master, None).map_err(other)?;
    notices.iter().for_each(print_key_notice);
    let r = store
        .archive_audit(before, out, crate::timefmt::now_unix())
        .map_err(other)?;
    drop(store);
    warn_compaction(r.compaction_warning.as_deref());
    let reclaimed = r.bytes_before.saturating_sub(r.bytes_after);
    if ctx.json {
        return output::json(&json!({
            "archived": r.records,
            "first_seq": (r.records > 0).then_some(r.first_seq),
            "last_seq": (r.records > 0).then_some(r.last_seq),
            "archive": (r.records > 0).then_some(out),
            "bytes_before": r.bytes_before,
            "bytes_after": r.bytes_after,
            "bytes_reclaimed": reclaimed,
            "compacted": r.compaction_warning.is_none(),
        }));
    }
    if r.records == 0 {
        eprintln!(
            "no audit records older than {}; nothing archived, no file written",
            crate::timefmt::rfc3339(before)
        );
    } else {
        eprintln!(
            "archived audit records {}..={} ({} records) to {}; database {} -> {} bytes ({reclaimed} reclaimed). Keep the archive: it is the only copy of those records; check it with `secretctl audit verify --archive {}`",
            r.first_seq,
            r.last_seq,
            r.records,
            out.display(),
            r.bytes_before,
            r.bytes_after,
            out.display()
        );
    }
    Ok(())
}

/// `YYYY-MM-DD` (midnight UTC) or an RFC 3339 time, as Unix seconds.
fn parse_date(text: &str) -> Result<i64, CliError> {
    let full = if text.len() == 10 {
        format!("{text}T00:00:00Z")
    } else {
        text.to_string()
    };
    crate::timefmt::parse_rfc3339(&full).ok_or_else(|| {
        CliError::Usage(format!(
            "--before takes YYYY-MM-DD or an RFC 3339 time (2026-01-31T00:00:00Z), not {text:?}"
        ))
    })
}
