//! Secret references and selections, shared by `run`, `export` and `inject`.
//!
//! A reference is `NAME` (the caller's own secret) or `TEAM:NAME`; the server resolves it.
//! A whole selection (explicit references plus an optional prefix) is fetched in one
//! request, all or nothing. Secrets become environment variables by one rule,
//! [`var_name`]; two secrets landing on one variable is an error naming both.

use std::collections::HashMap;

use super::CliError;
use crate::api::{MAX_READ_REFS, ReadSecret, ReadSecrets};
use crate::client::ApiClient;
use crate::sensitive::ExposeSecret;

/// The name part of a reference (`NAME` of `TEAM:NAME`).
pub fn name_part(reference: &str) -> &str {
    reference
        .split_once(':')
        .map_or(reference, |(_, name)| name)
}

/// `reference` as sent to the server: a bare `NAME` within `team` (`--team` or
/// `SECRETCTL_TEAM`) becomes `TEAM:NAME`; a reference that names its team keeps it.
pub fn qualify(team: Option<&str>, reference: &str) -> String {
    match team {
        Some(t) if !reference.contains(':') => format!("{t}:{reference}"),
        _ => reference.to_string(),
    }
}

/// The team (if any) and the name of `reference`, with `team` as the default team.
pub fn split(team: Option<&str>, reference: &str) -> (Option<String>, String) {
    match reference.split_once(':') {
        Some((t, name)) => (Some(t.to_string()), name.to_string()),
        None => (team.map(str::to_string), reference.to_string()),
    }
}

/// The variable a secret name maps to: upper-case, with `/`, `.` and `-` turned into `_`
/// (`prod/db-password` -> `PROD_DB_PASSWORD`).
pub fn var_name(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            '/' | '.' | '-' => '_',
            c => c.to_ascii_uppercase(),
        })
        .collect()
}

/// Whether `var` is a portable variable name: a letter or `_`, then letters, digits, `_`.
pub fn valid_var(var: &str) -> bool {
    let mut chars = var.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Parses `VAR=REF` given to `flag`.
pub fn parse_binding(spec: &str, flag: &str) -> Result<(String, String), CliError> {
    let (var, reference) = spec.split_once('=').ok_or_else(|| {
        CliError::Usage(format!(
            "{flag} takes VAR=REF (e.g. DB_PASSWORD=prod/db-password)"
        ))
    })?;
    check_reference(reference)?;
    if !valid_var(var) {
        return Err(CliError::Usage(format!(
            "{flag} {spec}: `{var}` is not a variable name (letters, digits and '_', not starting with a digit)"
        )));
    }
    Ok((var.to_string(), reference.to_string()))
}

/// Refuses an obviously malformed reference before any request (the server checks the
/// details).
pub fn check_reference(reference: &str) -> Result<(), CliError> {
    if reference.is_empty() || name_part(reference).is_empty() {
        return Err(CliError::Usage(format!(
            "`{reference}` is not a secret reference: use NAME or TEAM:NAME"
        )));
    }
    Ok(())
}

/// Fetches every secret in `refs` and under `prefix` with one request. A reference that
/// does not resolve is a not-found error naming it; an empty prefix match is one too.
pub fn fetch(
    client: &ApiClient,
    refs: &[String],
    prefix: Option<&str>,
    team: Option<&str>,
) -> Result<Vec<ReadSecret>, CliError> {
    let mut unique: Vec<String> = Vec::new();
    for r in refs {
        if !unique.contains(r) {
            unique.push(r.clone());
        }
    }
    if unique.len() > MAX_READ_REFS {
        return Err(CliError::Usage(format!(
            "{} secret references given; at most {MAX_READ_REFS} at once",
            unique.len()
        )));
    }
    if unique.is_empty() && prefix.is_none() {
        return Ok(Vec::new());
    }
    // Bare references are sent within `team`; the answers are named back the way they were
    // asked for, so the rest of the command matches them against what the user wrote.
    let sent: Vec<String> = unique.iter().map(|r| qualify(team, r)).collect();
    let sent_prefix = prefix.map(|p| qualify(team, p));
    let mut read = client
        .read_secrets(&ReadSecrets {
            refs: sent.clone(),
            prefix: sent_prefix.clone(),
        })
        .map_err(|e| unqualify_missing(e, team))?;
    for s in &mut read.secrets {
        if let Some(i) = sent.iter().position(|q| *q == s.reference) {
            s.reference = unique[i].clone();
        } else if let (Some(t), Some(p), Some(q)) = (team, prefix, &sent_prefix)
            && !p.contains(':')
            && s.reference.starts_with(q.as_str())
        {
            s.reference = s.reference[t.len() + 1..].to_string();
        }
    }
    if let Some(p) = prefix
        && !read.secrets.iter().any(|s| s.reference.starts_with(p))
    {
        return Err(CliError::NotFound(format!("no secrets under prefix `{p}`")));
    }
    Ok(read.secrets)
}

/// A 404 naming missing references names them as the user wrote them (without the
/// `--team` that was added).
fn unqualify_missing(
    e: crate::client::ClientError,
    team: Option<&str>,
) -> crate::client::ClientError {
    match (e, team) {
        (
            crate::client::ClientError::Api {
                status,
                code,
                message,
            },
            Some(t),
        ) => crate::client::ClientError::Api {
            status,
            code,
            message: message.replace(&format!("{t}:"), ""),
        },
        (e, _) => e,
    }
}

/// Where a variable's secret was asked for: an explicit `VAR=REF`, or a prefix match.
pub enum Wanted<'a> {
    Explicit { var: &'a str, reference: &'a str },
    Prefix { prefix: &'a str, strip: bool },
}

/// One variable and the secret it gets.
pub struct Assignment<'a> {
    pub var: String,
    pub secret: &'a ReadSecret,
}

/// Gives each wanted secret its variable. Two secrets on one variable (or one variable
/// given twice) is an error naming both.
pub fn assign<'a>(
    fetched: &'a [ReadSecret],
    wanted: &[Wanted<'_>],
) -> Result<Vec<Assignment<'a>>, CliError> {
    let mut out: Vec<Assignment<'a>> = Vec::new();
    let mut taken: HashMap<String, &'a str> = HashMap::new();
    let mut add = |var: String, secret: &'a ReadSecret| -> Result<(), CliError> {
        if let Some(other) = taken.get(&var) {
            if *other == secret.reference {
                // Asked for twice (by name and by prefix): one variable, no conflict.
                return Ok(());
            }
            return Err(CliError::Usage(format!(
                "`{other}` and `{}` both map to variable {var}; give one another name with --env VAR=REF",
                secret.reference
            )));
        }
        taken.insert(var.clone(), secret.reference.as_str());
        out.push(Assignment { var, secret });
        Ok(())
    };
    for w in wanted {
        match w {
            Wanted::Explicit { var, reference } => {
                let secret = fetched
                    .iter()
                    .find(|s| s.reference == *reference)
                    .ok_or_else(|| CliError::NotFound(format!("no such secret: `{reference}`")))?;
                add(var.to_string(), secret)?;
            }
            Wanted::Prefix { prefix, strip } => {
                for secret in fetched.iter().filter(|s| s.reference.starts_with(prefix)) {
                    let rest = if *strip {
                        &secret.reference[prefix.len()..]
                    } else {
                        secret.reference.as_str()
                    };
                    let var = var_name(name_part(rest));
                    if !valid_var(&var) {
                        return Err(CliError::Usage(format!(
                            "secret `{}` maps to `{var}`, which is not a variable name; name it with --env VAR=REF",
                            secret.reference
                        )));
                    }
                    add(var, secret)?;
                }
            }
        }
    }
    Ok(out)
}

/// Refuses a value that cannot travel as an environment variable or shell word.
pub fn refuse_nul(a: &Assignment<'_>) -> Result<(), CliError> {
    if a.secret.secret.value.expose_secret().contains('\0') {
        return Err(CliError::Usage(format!(
            "secret `{}` contains a NUL byte, which {} cannot hold",
            a.secret.reference, a.var
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{SecretMeta, SecretWithValue};
    use crate::sensitive::SecretString;

    fn secret(reference: &str) -> ReadSecret {
        ReadSecret {
            reference: reference.into(),
            secret: SecretWithValue {
                meta: SecretMeta {
                    id: format!("id-{reference}"),
                    name: name_part(reference).into(),
                    description: String::new(),
                    tags: vec![],
                    version: 1,
                    created_at: String::new(),
                    updated_at: String::new(),
                    team: None,
                },
                value: SecretString::from(format!("value of {reference}")),
            },
        }
    }

    #[test]
    fn names_map_to_variables_by_one_rule() {
        assert_eq!(var_name("prod/db-password"), "PROD_DB_PASSWORD");
        assert_eq!(var_name("db-password"), "DB_PASSWORD");
        assert_eq!(var_name("api.key_v2"), "API_KEY_V2");
        assert!(valid_var("_X1") && valid_var("Path"));
        assert!(!valid_var("1PW") && !valid_var("") && !valid_var("A-B") && !valid_var("A B"));
        assert_eq!(name_part("ops:prod/db"), "prod/db");
    }

    #[test]
    fn bindings_are_var_equals_ref() {
        assert_eq!(
            parse_binding("DB=prod/db", "--env").unwrap(),
            ("DB".into(), "prod/db".into())
        );
        assert_eq!(
            parse_binding("DB=ops:prod/db", "--env").unwrap(),
            ("DB".into(), "ops:prod/db".into())
        );
        for bad in ["DB", "=x", "1X=y", "A-B=x", "DB=", "DB=ops:"] {
            assert!(
                matches!(parse_binding(bad, "--env"), Err(CliError::Usage(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn prefix_variables_strip_the_prefix_on_request() {
        let fetched = [secret("prod/db-password"), secret("prod/api.key")];
        let wanted = [Wanted::Prefix {
            prefix: "prod/",
            strip: true,
        }];
        let vars: Vec<String> = assign(&fetched, &wanted)
            .unwrap()
            .into_iter()
            .map(|a| a.var)
            .collect();
        assert_eq!(vars, ["DB_PASSWORD", "API_KEY"]);
        let wanted = [Wanted::Prefix {
            prefix: "prod/",
            strip: false,
        }];
        let vars: Vec<String> = assign(&fetched, &wanted)
            .unwrap()
            .into_iter()
            .map(|a| a.var)
            .collect();
        assert_eq!(vars, ["PROD_DB_PASSWORD", "PROD_API_KEY"]);
    }

    #[test]
    fn two_secrets_on_one_variable_is_an_error_naming_both() {
        let fetched = [secret("prod/db-password"), secret("prod/db.password")];
        let wanted = [Wanted::Prefix {
            prefix: "prod/",
            strip: true,
        }];
        let Err(CliError::Usage(msg)) = assign(&fetched, &wanted) else {
            panic!("collision accepted");
        };
        assert!(
            msg.contains("`prod/db-password`")
                && msg.contains("`prod/db.password`")
                && msg.contains("DB_PASSWORD"),
            "{msg}"
        );
        // An explicit variable colliding with a derived one, too.
        let wanted = [
            Wanted::Explicit {
                var: "DB_PASSWORD",
                reference: "prod/db.password",
            },
            Wanted::Prefix {
                prefix: "prod/db-",
                strip: false,
            },
        ];
        let fetched = [secret("prod/db.password"), secret("prod/db-x")];
        assert!(assign(&fetched, &wanted).is_ok());
        let wanted = [
            Wanted::Explicit {
                var: "X",
                reference: "prod/db.password",
            },
            Wanted::Explicit {
                var: "X",
                reference: "prod/db-x",
            },
        ];
        assert!(matches!(assign(&fetched, &wanted), Err(CliError::Usage(_))));
        // The same secret asked for by name and by prefix is one variable.
        let wanted = [
            Wanted::Explicit {
                var: "PROD_DB_X",
                reference: "prod/db-x",
            },
            Wanted::Prefix {
                prefix: "prod/",
                strip: false,
            },
        ];
        let vars: Vec<String> = assign(&fetched, &wanted)
            .unwrap()
            .into_iter()
            .map(|a| a.var)
            .collect();
        assert_eq!(vars, ["PROD_DB_X", "PROD_DB_PASSWORD"]);
    }

    #[test]
    fn a_name_that_is_no_variable_is_refused() {
        let fetched = [secret("1password")];
        let wanted = [Wanted::Prefix {
            prefix: "1",
            strip: false,
        }];
        assert!(matches!(assign(&fetched, &wanted), Err(CliError::Usage(_))));
        let wanted = [Wanted::Prefix {
            prefix: "1password",
            strip: true,
        }];
        assert!(matches!(assign(&fetched, &wanted), Err(CliError::Usage(_))));
    }
}
