//! `secretctl admin`: sealing and unsealing the master key file in place (passphrases come
//! from `key_passphrase`).

use std::path::Path;

use serde_json::json;

use super::context::Context;
use super::key_passphrase::{Prompt, key_passphrase, no_passphrase, passphrase};
use super::{CliError, output};
use crate::cli::{AdminCommand, KeyFileArgs, SealKeyArgs};
use crate::crypto::key_file::{self, KeyPassphrase};
use crate::crypto::master;

/// Runs `secretctl admin ...`.
pub fn run(ctx: &Context, cmd: &AdminCommand) -> Result<(), CliError> {
    match cmd {
        AdminCommand::SealKey(args) => seal_key(ctx, args),
        AdminCommand::UnsealKey(args) => unseal_key(ctx, args),
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
            "sealed {}; serve now needs its passphrase (--passphrase-file, SECRETCTL_PASSPHRASE or the prompt). Older plain copies still hold the key",
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

fn is_sealed(path: &Path) -> Result<bool, CliError> {
    if !path.exists() {
        return Err(CliError::Other(format!(
            "key file {} does not exist",
            path.display()
        )));
    }
    key_file::is_sealed(path).map_err(other)
}

fn other(e: impl std::fmt::Display) -> CliError {
    CliError::Other(e.to_string())
}
