//! `share`, `open`, `shares`, `unshare`: one-time links to a secret.

use std::borrow::Cow;
use std::io::IsTerminal;

use zeroize::Zeroizing;

use super::context::Context;
use super::{CliError, input, output};
use crate::api::{CreateShare, RedeemShare};
use crate::cli::{OpenArgs, ShareArgs};
use crate::client::ClientError;
use crate::sensitive::{ExposeSecret, SecretString};

/// `secretctl share NAME`: prints the URL alone on stdout.
pub fn share(ctx: &Context, args: &ShareArgs) -> Result<(), CliError> {
    let passphrase = if args.passphrase_stdin {
        Some(input::stdin_line("passphrase")?)
    } else if args.passphrase {
        Some(input::prompt_secret(
            "passphrase",
            true,
            "use --passphrase-stdin",
        )?)
    } else {
        None
    };
    let client = ctx.authenticated()?;
    let secret =
        client.find_by_name(&super::refs::qualify(args.team.team.as_deref(), &args.name))?;
    let created = client.create_share(
        &secret.id,
        &CreateShare {
            expires_in: Some(args.expires_in),
            max_views: Some(args.max_views),
            passphrase,
        },
    )?;
    if ctx.json {
        return output::json(&created);
    }
    output::write_stdout(format!("{}\n", created.url.expose_secret()).as_bytes())?;
    eprintln!(
        "share {}: {} view(s), expires {}{}",
        created.id,
        created.max_views,
        created.expires_at,
        if created.passphrase_required {
            "; send the passphrase separately"
        } else {
            ""
        }
    );
    Ok(())
}

/// Splits a share URL into (server base, token); a bare token goes to `--server`.
fn parse_link(ctx: &Context, link: &str) -> Result<(String, String), CliError> {
    let link = link.trim();
    if link.starts_with("http://") || link.starts_with("https://") {
        let (base, rest) = link
            .rsplit_once("/share/")
            .ok_or_else(|| CliError::Usage("not a share URL: expected .../share/TOKEN".into()))?;
        let token = rest.split(['?', '#']).next().unwrap_or("");
        if token.is_empty() || token.contains('/') {
            return Err(CliError::Usage(
                "not a share URL: expected .../share/TOKEN".into(),
            ));
        }
        Ok((base.to_string(), token.to_string()))
    } else {
        Ok((ctx.server.clone(), link.to_string()))
    }
}

/// A link the server does not know says what the web page says: the server answers all of
/// these alike, so the CLI cannot (and must not) tell which one it was.
fn dead_link(e: ClientError) -> ClientError {
    match e {
        ClientError::Api { status: 404, code, .. } => ClientError::Api {
            status: 404,
            code,
            message: "this link has expired, has been used up or revoked, or never existed; ask the sender for a new one".into(),
        },
        other => other,
    }
}

/// `secretctl open URL_OR_TOKEN`: redeems one view and prints the value exactly.
pub fn open(ctx: &Context, args: &OpenArgs) -> Result<(), CliError> {
    let (base, token) = parse_link(ctx, &args.link)?;
    // Anonymous on purpose: never send our session token to whatever server a link names.
    let client = ctx.client(&base, None)?;
    let passphrase = if args.passphrase_stdin {
        Some(input::stdin_line("passphrase")?)
    } else {
        None
    };
    let first = client
        .redeem_share(
            &token,
            &RedeemShare {
                passphrase: passphrase.clone(),
            },
        )
        .map_err(dead_link);
    let redeemed = match first {
        Err(e)
            if e.status() == Some(403)
                && passphrase.is_none()
                && std::io::stdin().is_terminal() =>
        {
            let p: SecretString =
                input::prompt_secret("passphrase", false, "use --passphrase-stdin")?;
            client
                .redeem_share(
                    &token,
                    &RedeemShare {
                        passphrase: Some(p),
                    },
                )
                .map_err(dead_link)?
        }
        Err(e) if e.status() == Some(403) && passphrase.is_none() => {
            return Err(CliError::Unauthorized(format!(
                "{e}; pipe it in with --passphrase-stdin"
            )));
        }
        other => other?,
    };
    if ctx.json && std::io::stdout().is_terminal() {
        return output::json_for_terminal(&redeemed);
    }
    if ctx.json {
        return output::json(&redeemed);
    }
    let value = redeemed.value.expose_secret();
    // A link's value comes from someone else: shown on a terminal, its control characters
    // are escaped; a pipe or file gets the exact bytes.
    let on_terminal = std::io::stdout().is_terminal();
    let escaped = match on_terminal.then(|| output::for_terminal(value)) {
        Some(Cow::Owned(s)) => Some(Zeroizing::new(s)),
        _ => None,
    };
    output::write_stdout(escaped.as_deref().map_or(value, String::as_str).as_bytes())?;
    if on_terminal && !value.ends_with('\n') {
        output::write_stdout(b"\n")?;
    }
    if escaped.is_some() {
        eprintln!("(control characters are shown escaped; redirect to a file for the exact value)");
    }
    if std::io::stderr().is_terminal() {
        if redeemed.views_left == 0 {
            eprintln!("(the link is now used up)");
        } else {
            eprintln!(
                "({} view(s) left until {})",
                redeemed.views_left, redeemed.expires_at
            );
        }
    }
    Ok(())
}

/// `secretctl shares NAME`.
pub fn list(ctx: &Context, name: &str) -> Result<(), CliError> {
    let client = ctx.authenticated()?;
    let secret = client.find_by_name(name)?;
    let list = client.list_shares(&secret.id)?;
    if ctx.json {
        return output::json(&list);
    }
    if list.shares.is_empty() {
        eprintln!("no active links for {name}");
        return Ok(());
    }
    let rows: Vec<Vec<String>> = list
        .shares
        .iter()
        .map(|s| {
            vec![
                s.id.clone(),
                format!("{}/{}", s.views_left, s.max_views),
                s.expires_at.clone(),
                if s.passphrase_required { "yes" } else { "no" }.to_string(),
                s.created_at.clone(),
            ]
        })
        .collect();
    output::write_stdout(
        output::table(
            &["ID", "VIEWS LEFT", "EXPIRES", "PASSPHRASE", "CREATED"],
            &rows,
        )
        .as_bytes(),
    )
}

/// `secretctl unshare SHARE_ID`.
pub fn unshare(ctx: &Context, share_id: &str) -> Result<(), CliError> {
    ctx.authenticated()?.revoke_share(share_id)?;
    if ctx.json {
        output::json(&serde_json::json!({ "revoked": share_id }))
    } else {
        eprintln!("revoked share {share_id}");
        Ok(())
    }
}
