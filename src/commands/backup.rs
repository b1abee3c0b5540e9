//! `secretctl admin backup`, `verify-backup` and `restore`.
//!
//! A backup comes from the running server through the admin channel when one answers on the
//! data dir, else from the files (opened read-only). Either way the file is written under a
//! temporary name, fsynced, made 0600 and renamed into place, optionally age-encrypted to a
//! recipient on the way. `verify-backup` never writes the file it checks (an encrypted one
//! is decrypted to a private temporary copy). `restore` checks that the key file opens the
//! backup before it replaces anything, and swaps the database in with one rename.

use std::fs::File;
use std::io::{BufReader, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde_json::json;

use super::admin_client;
use super::context::Context;
use super::key_passphrase::passphrase;
use super::{CliError, output};
use crate::cli::{BackupArgs, RestoreArgs, VerifyBackupArgs};
use crate::config::{DB_FILE, KEY_FILE};
use crate::crypto::key_file::KeyPassphrase;
use crate::crypto::master::MasterKey;
use crate::server::admin_channel::{AdminRequest, AdminResponse};
use crate::store::ChainCheck;
use crate::store::backup::{self, BackupReport, Manifest};

/// First bytes of an age file, binary or ASCII-armored.
const AGE_MAGIC: &[&[u8]] = &[
    b"age-encryption.org/",
    b"-----BEGIN AGE ENCRYPTED FILE-----",
];

/// `secretctl admin backup`.
pub fn backup(ctx: &Context, args: &BackupArgs) -> Result<(), CliError> {
    let recipient = args
        .recipient
        .as_deref()
        .map(|r| {
            age::x25519::Recipient::from_str(r).map_err(|e| {
                CliError::Usage(format!("--recipient {r:?} is not an age recipient: {e}"))
            })
        })
        .transpose()?;
    let out = &args.output;
    let (manifest, via) = match admin_client::connect(&args.data_dir)? {
        Some(mut channel) => {
            let AdminResponse::Backup { manifest, bytes } =
                channel.request(&AdminRequest::Backup)?
            else {
                return Err(CliError::Other(
                    "the server answered a backup request with something else".into(),
                ));
            };
            write_backup(out, recipient.as_ref(), channel.body().take(bytes), bytes)?;
            (manifest, "server")
        }
        None => {
            let db = args.data_dir.join(DB_FILE);
            let now = crate::timefmt::now_unix();
            let plain = backup::temp_sibling(out).map_err(CliError::failed)?;
            let guard = RemoveOnDrop(Some(plain.clone()));
            let manifest = backup::backup_offline(&db, &plain, now).map_err(CliError::failed)?;
            match &recipient {
                None => backup::rename_durably(&plain, out).map_err(CliError::failed)?,
                Some(r) => {
                    let file = File::open(&plain).map_err(|e| io_error(&plain, e))?;
                    let len = file.metadata().map_err(|e| io_error(&plain, e))?.len();
                    write_backup(out, Some(r), file, len)?;
                }
            }
            drop(guard);
            (manifest, "files")
        }
    };
    let bytes = std::fs::metadata(out).map_err(|e| io_error(out, e))?.len();
    if ctx.json {
        return output::json(&json!({
            "file": out,
            "bytes": bytes,
            "encrypted": recipient.is_some(),
            "via": via,
            "manifest": manifest,
        }));
    }
    eprintln!(
        "backup written to {} ({bytes} bytes{}, made by {}): {}; the master key is not in it, back the key file up separately",
        out.display(),
        if recipient.is_some() {
            ", age-encrypted"
        } else {
            ""
        },
        if via == "server" {
            "the running server"
        } else {
            "reading the files"
        },
        summary(&manifest)
    );
    Ok(())
}

/// Writes `len` bytes of `from` to `out`: temporary name (0600), optionally encrypted,
/// fsync, rename.
fn write_backup(
    out: &Path,
    recipient: Option<&age::x25519::Recipient>,
    mut from: impl Read,
    len: u64,
) -> Result<(), CliError> {
    let tmp = backup::temp_sibling(out).map_err(CliError::failed)?;
    let guard = RemoveOnDrop(Some(tmp.clone()));
    let file = File::options()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| io_error(out, e))?;
    let (copied, file) = match recipient {
        None => {
            let mut file = file;
            let copied = std::io::copy(&mut from, &mut file).map_err(|e| io_error(out, e))?;
            (copied, file)
        }
        Some(r) => {
            let encryptor = age::Encryptor::with_recipients(std::iter::once(r as _))
                .map_err(|e| CliError::Other(format!("cannot encrypt the backup: {e}")))?;
            let mut writer = encryptor.wrap_output(file).map_err(|e| io_error(out, e))?;
            let copied = std::io::copy(&mut from, &mut writer).map_err(|e| io_error(out, e))?;
            (copied, writer.finish().map_err(|e| io_error(out, e))?)
        }
    };
    if copied != len {
        return Err(CliError::Other(format!(
            "the snapshot was cut short ({copied} of {len} bytes); no backup was written"
        )));
    }
    file.sync_all().map_err(|e| io_error(out, e))?;
    drop(file);
    backup::rename_durably(&tmp, out).map_err(CliError::failed)?;
    guard.disarm();
    Ok(())
}

/// `secretctl admin verify-backup`.
pub fn verify_backup(ctx: &Context, args: &VerifyBackupArgs) -> Result<(), CliError> {
    let master = match &args.key_file {
        Some(key) => Some(load_master(key, args.passphrase_file.as_deref())?),
        None => None,
    };
    let encrypted = is_encrypted(&args.file)?;
    let (path, _scratch) = if encrypted {
        let identity = args
            .identity
            .as_deref()
            .ok_or_else(|| needs_identity(&args.file))?;
        let tmp = std::env::temp_dir().join(format!(
            ".secretctl-verify-{}",
            crate::crypto::token::new_id().map_err(CliError::failed)?
        ));
        let guard = RemoveOnDrop(Some(tmp.clone()));
        decrypt_to(&args.file, identity, &tmp)?;
        (tmp, Some(guard))
    } else {
        (args.file.clone(), None)
    };
    let report = backup::inspect_backup(&path, master.as_ref()).map_err(|e| {
        CliError::Other(format!(
            "backup {} cannot be read: {e}",
            args.file.display()
        ))
    })?;
    if ctx.json {
        output::json(&report_json(&args.file, encrypted, &report))?;
    }
    if !report.is_whole() {
        return Err(CliError::Other(format!(
            "backup {} is damaged: {}",
            args.file.display(),
            problems(&report).join("; ")
        )));
    }
    if !ctx.json {
        let chain = match &report.keyed_chain {
            Some(_) => "keyed audit chain intact",
            None => {
                "audit trail linked and complete; its keyed links were not checked (give --key-file)"
            }
        };
        output::write_stdout(
            format!(
                "backup {} is whole: {}; {chain}\n",
                args.file.display(),
                summary(&report.manifest)
            )
            .as_bytes(),
        )?;
    }
    Ok(())
}

/// `secretctl admin restore`.
pub fn restore(ctx: &Context, args: &RestoreArgs) -> Result<(), CliError> {
    let dir = &args.dir.data_dir;
    refuse_if_running(dir)?;
    let db = dir.join(DB_FILE);
    if db.exists() && !args.force {
        return Err(CliError::Conflict(format!(
            "{} already holds a database; pass --force to replace it (nothing was changed)",
            dir.display()
        )));
    }
    let key = args
        .dir
        .key_file
        .clone()
        .unwrap_or_else(|| dir.join(KEY_FILE));
    if !key.exists() {
        return Err(CliError::Other(format!(
            "restoring needs the master key the backup was made under: put it at {} or pass --key-file (nothing was changed)",
            key.display()
        )));
    }
    let master = load_master(&key, args.dir.passphrase_file.as_deref())?;
    create_private_dir(dir)?;
    let tmp = backup::temp_sibling(&db).map_err(CliError::failed)?;
    let guard = RemoveOnDrop(Some(tmp.clone()));
    if is_encrypted(&args.file)? {
        let identity = args
            .identity
            .as_deref()
            .ok_or_else(|| needs_identity(&args.file))?;
        decrypt_to(&args.file, identity, &tmp)?;
    } else {
        let mut from = File::open(&args.file).map_err(|e| io_error(&args.file, e))?;
        let mut to = private_file(&tmp)?;
        std::io::copy(&mut from, &mut to).map_err(|e| io_error(&tmp, e))?;
        to.sync_all().map_err(|e| io_error(&tmp, e))?;
    }
    let report = backup::inspect_backup(&tmp, Some(&master)).map_err(|e| {
        CliError::Other(format!(
            "backup {} cannot be read: {e} (nothing was replaced)",
            args.file.display()
        ))
    })?;
    if !report.is_whole() {
        return Err(CliError::Other(format!(
            "backup {} does not check out with key file {}: {} (nothing was replaced)",
            args.file.display(),
            key.display(),
            problems(&report).join("; ")
        )));
    }
    // Once more just before the swap: a server started meanwhile must not have its file
    // replaced under it.
    refuse_if_running(dir)?;
    backup::rename_durably(&tmp, &db).map_err(CliError::failed)?;
    guard.disarm();
    // The journal of the database just replaced (left by a crash) holds its commits, not the
    // backup's. Were this step lost, the next open would refuse the pair rather than apply it.
    crate::store::discard_journal(&db).map_err(|e| io_error(&db, e))?;
    if ctx.json {
        return output::json(&json!({
            "restored": true,
            "data_dir": dir,
            "database": db,
            "manifest": report.manifest,
        }));
    }
    eprintln!(
        "restored {} into {}: {}; start the server with the same key file",
        args.file.display(),
        db.display(),
        summary(&report.manifest)
    );
    Ok(())
}

/// Refuses while a server runs on `dir`: its admin channel answers, or it holds the lock.
fn refuse_if_running(dir: &Path) -> Result<(), CliError> {
    let running = admin_client::server_running(dir)?
        || backup::in_use(&dir.join(DB_FILE)).map_err(CliError::failed)?;
    if running {
        return Err(CliError::Other(format!(
            "a server is running on {}: stop it first (nothing was changed)",
            dir.display()
        )));
    }
    Ok(())
}

fn load_master(key: &Path, passphrase_file: Option<&Path>) -> Result<MasterKey, CliError> {
    let secret = passphrase(passphrase_file, super::admin::prompt_if_sealed(key)?, key)?;
    let passphrase = secret.map(KeyPassphrase::new);
    MasterKey::load(key, passphrase.as_ref()).map_err(CliError::failed)
}

fn is_encrypted(path: &Path) -> Result<bool, CliError> {
    let mut head = [0u8; 40];
    let mut file = File::open(path).map_err(|e| io_error(path, e))?;
    let mut n = 0;
    while n < head.len() {
        match file.read(&mut head[n..]).map_err(|e| io_error(path, e))? {
            0 => break,
            k => n += k,
        }
    }
    Ok(AGE_MAGIC.iter().any(|m| head[..n].starts_with(m)))
}

fn needs_identity(path: &Path) -> CliError {
    CliError::Usage(format!(
        "{} is age-encrypted: give the identity that decrypts it with --identity KEYFILE",
        path.display()
    ))
}

/// Decrypts the age file `from` with the identities in `identity` into a new 0600 `to`.
fn decrypt_to(from: &Path, identity: &Path, to: &Path) -> Result<(), CliError> {
    let identities = age::IdentityFile::from_file(identity.to_string_lossy().into_owned())
        .map_err(|e| io_error(identity, e))?
        .into_identities()
        .map_err(|e| {
            CliError::Other(format!(
                "{} is not an age identity file: {e}",
                identity.display()
            ))
        })?;
    let input = BufReader::new(File::open(from).map_err(|e| io_error(from, e))?);
    let decryptor =
        age::Decryptor::new_buffered(age::armor::ArmoredReader::new(input)).map_err(|e| {
            CliError::Other(format!(
                "{} is not a readable age file: {e}",
                from.display()
            ))
        })?;
    let mut reader = decryptor
        .decrypt(identities.iter().map(|i| i.as_ref() as &dyn age::Identity))
        .map_err(|e| {
            CliError::Other(format!(
                "cannot decrypt {} with {}: {e}",
                from.display(),
                identity.display()
            ))
        })?;
    let mut to_file = private_file(to)?;
    std::io::copy(&mut reader, &mut to_file)
        .map_err(|e| CliError::Other(format!("cannot decrypt {}: {e}", from.display())))?;
    to_file.sync_all().map_err(|e| io_error(to, e))
}

fn private_file(path: &Path) -> Result<File, CliError> {
    File::options()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| io_error(path, e))
}

fn create_private_dir(dir: &Path) -> Result<(), CliError> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| io_error(dir, e))
}

fn problems(report: &BackupReport) -> Vec<String> {
    let mut all = report.problems.clone();
    if let Some(ChainCheck::Broken { seq, reason }) = &report.keyed_chain {
        all.push(format!("audit trail broken at record {seq}: {reason}"));
    }
    all
}

fn report_json(file: &Path, encrypted: bool, report: &BackupReport) -> serde_json::Value {
    let m = &report.manifest;
    json!({
        "file": file,
        "whole": report.is_whole(),
        "encrypted": encrypted,
        "manifest": m,
        "audit_head": format!("{}:{}", m.audit_head_seq, m.audit_head_hash),
        "keyed_chain_checked": report.keyed_chain.is_some(),
        "problems": problems(report),
    })
}

fn summary(m: &Manifest) -> String {
    format!(
        "schema {}, {} users, {} secrets, {} share links, {} audit records (head {}:{})",
        m.schema_version,
        m.count("users"),
        m.count("secrets"),
        m.count("shares"),
        m.count("audit"),
        m.audit_head_seq,
        m.audit_head_hash
    )
}

fn io_error(path: &Path, e: std::io::Error) -> CliError {
    CliError::context(format!("{}: {e}", path.display()), e)
}

/// Removes a temporary file on every early return.
struct RemoveOnDrop(Option<PathBuf>);

impl RemoveOnDrop {
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}
