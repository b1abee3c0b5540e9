//! `secretctl team create|ls|members|add|remove|delete`.

use std::io::{BufRead, IsTerminal};

use super::context::Context;
use super::{CliError, output};
use crate::cli::{TeamCommand, TeamOpt};

/// The team of a subcommand that needs one.
fn required(team: &TeamOpt) -> Result<&str, CliError> {
    team.team
        .as_deref()
        .ok_or_else(|| CliError::Usage("which team? give --team TEAM or set SECRETCTL_TEAM".into()))
}

/// Runs one `team` subcommand.
pub fn run(ctx: &Context, cmd: &TeamCommand) -> Result<(), CliError> {
    let client = ctx.authenticated()?;
    match cmd {
        TeamCommand::Create { name, .. } => {
            let team = client.create_team(name)?;
            if ctx.json {
                return output::json(&team);
            }
            eprintln!("created team {} (you are its admin)", team.name);
            Ok(())
        }
        TeamCommand::Ls(_) => {
            let list = client.teams()?;
            if ctx.json {
                return output::json(&list);
            }
            if list.teams.is_empty() {
                eprintln!("you are in no team; `secretctl team create NAME` makes one");
                return Ok(());
            }
            let rows: Vec<Vec<String>> = list
                .teams
                .iter()
                .map(|t| vec![t.name.clone(), t.role.clone(), t.created_at.clone()])
                .collect();
            output::write_stdout(output::table(&["TEAM", "ROLE", "CREATED"], &rows).as_bytes())
        }
        TeamCommand::Members { team, .. } => {
            let list = client.team_members(required(team)?)?;
            if ctx.json {
                return output::json(&list);
            }
            let rows: Vec<Vec<String>> = list
                .members
                .iter()
                .map(|m| vec![m.username.clone(), m.role.clone()])
                .collect();
            output::write_stdout(output::table(&["USER", "ROLE"], &rows).as_bytes())
        }
        TeamCommand::Add {
            user, role, team, ..
        } => {
            let team = required(team)?;
            client.set_member(team, user, role)?;
            done(ctx, &format!("{user} is now {role} of {team}"))
        }
        TeamCommand::Remove { user, team, .. } => {
            let team = required(team)?;
            client.remove_member(team, user)?;
            done(ctx, &format!("removed {user} from {team}"))
        }
        TeamCommand::Delete { yes, team, .. } => {
            let team = required(team)?;
            if !yes {
                confirm(team)?;
            }
            client.delete_team(team)?;
            done(
                ctx,
                &format!("deleted team {team} with its secrets, links and tokens"),
            )
        }
    }
}

fn done(ctx: &Context, message: &str) -> Result<(), CliError> {
    if ctx.json {
        output::json(&serde_json::json!({ "ok": true }))
    } else {
        eprintln!("{message}");
        Ok(())
    }
}

/// Asks for the team's name on a terminal; without one, `--yes` is required.
fn confirm(team: &str) -> Result<(), CliError> {
    if !std::io::stdin().is_terminal() {
        return Err(CliError::Usage(format!(
            "deleting team {team} deletes all its secrets; confirm with --yes"
        )));
    }
    eprint!(
        "This deletes team {team} and ALL its secrets, share links and tokens. Type the team's name to confirm: "
    );
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| CliError::Other(format!("reading the confirmation: {e}")))?;
    if line.trim() != team {
        return Err(CliError::Usage("not confirmed; nothing deleted".into()));
    }
    Ok(())
}
