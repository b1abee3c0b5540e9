//! JSON wire types shared by the server and the client.
//!
//! Request types reject unknown fields, so a typo in a client is a 400 rather than a silently
//! ignored setting. Fields that carry secret material are `SecretString`s and only serialize
//! through `sensitive::expose`.

use serde::{Deserialize, Deserializer, Serialize};

use crate::sensitive::{self, SecretString};

/// Body of every error response: a stable machine code and a human message.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ErrorBody {
    pub error: String,
    pub message: String,
}

/// `POST /register` and `POST /login`.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    pub username: String,
    #[serde(serialize_with = "sensitive::expose")]
    pub password: SecretString,
}

/// `201` answer to `POST /register`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    pub username: String,
    pub created_at: String,
}

/// `200` answer to `POST /login`.
#[derive(Deserialize, Serialize)]
pub struct LoginResponse {
    #[serde(serialize_with = "sensitive::expose")]
    pub token: SecretString,
    pub token_type: String,
    pub expires_at: String,
}

/// `POST /secrets`.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CreateSecret {
    pub name: String,
    #[serde(serialize_with = "sensitive::expose")]
    pub value: SecretString,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// The team that will own it; absent: the caller's own (a team token: its team).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
}

/// `PUT /secrets/{id}`: every field optional, at least one required.
#[derive(Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct UpdateSecret {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "sensitive::expose_opt"
    )]
    pub value: Option<SecretString>,
}

/// Secret metadata: everything but the value.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SecretMeta {
    pub id: String,
    pub name: String,
    pub description: String,
    pub tags: Vec<String>,
    pub version: u64,
    pub created_at: String,
    pub updated_at: String,
    /// The owning team's name; `null` for a personal secret.
    #[serde(default)]
    pub team: Option<String>,
}

/// `200` answer to `GET /secrets/{id}`: metadata plus the value, in one flat object.
#[derive(Serialize, Deserialize)]
pub struct SecretWithValue {
    #[serde(flatten)]
    pub meta: SecretMeta,
    #[serde(serialize_with = "sensitive::expose")]
    pub value: SecretString,
}

/// Most references (and secrets) one `POST /secrets/read` may ask for.
pub const MAX_READ_REFS: usize = 100;

/// `POST /secrets/read`: several secrets with their values in one request, by reference
/// (`NAME` or `TEAM:NAME`) and/or every secret whose reference starts with `prefix`.
#[derive(Debug, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ReadSecrets {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refs: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
}

/// One secret in the answer to `POST /secrets/read`.
#[derive(Serialize, Deserialize)]
pub struct ReadSecret {
    /// The secret's canonical reference (its name, for the caller's own secrets): what a
    /// requested ref resolved to, and what `prefix` was matched against.
    #[serde(rename = "ref")]
    pub reference: String,
    #[serde(flatten)]
    pub secret: SecretWithValue,
}

/// `200` answer to `POST /secrets/read`: each secret once, the requested refs first (in
/// their order), then the prefix's other matches by name.
#[derive(Serialize, Deserialize)]
pub struct SecretsRead {
    pub secrets: Vec<ReadSecret>,
}

/// `404` body of `POST /secrets/read`: the usual error fields plus every reference that
/// does not resolve (missing, or not readable by the caller: the two look the same).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct MissingRefsBody {
    pub error: String,
    pub message: String,
    pub missing: Vec<String>,
}

/// `200` answer to `GET /secrets`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SecretList {
    pub secrets: Vec<SecretMeta>,
}

/// Answer to `GET /healthz`: `200` `{"status": "ok"}`, or `503` `{"status": "degraded",
/// "reason": ...}` while the server cannot write (disk full).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Health {
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Health {
    pub fn ok() -> Health {
        Health {
            status: "ok".into(),
            reason: None,
        }
    }

    pub fn degraded(reason: &str) -> Health {
        Health {
            status: "degraded".into(),
            reason: Some(reason.into()),
        }
    }
}

/// Seconds a share link may live (`CreateShare::expires_in`): 1 minute to 7 days.
pub const SHARE_EXPIRES_IN_SECS: std::ops::RangeInclusive<u64> = 60..=604_800;
/// Views a share link may allow (`CreateShare::max_views`).
pub const SHARE_MAX_VIEWS: std::ops::RangeInclusive<u32> = 1..=100;

/// `POST /secrets/{id}/share` (the body is optional).
#[derive(Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct CreateShare {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_views: Option<u32>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "sensitive::expose_opt"
    )]
    pub passphrase: Option<SecretString>,
}

/// `201` answer to `POST /secrets/{id}/share`: the only time the token is ever shown.
#[derive(Serialize, Deserialize)]
pub struct ShareCreated {
    pub id: String,
    #[serde(serialize_with = "sensitive::expose")]
    pub token: SecretString,
    #[serde(serialize_with = "sensitive::expose")]
    pub url: SecretString,
    pub expires_at: String,
    pub max_views: u32,
    pub passphrase_required: bool,
}

/// One active link in `GET /secrets/{id}/shares` (never its token).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ShareInfo {
    pub id: String,
    pub created_at: String,
    pub expires_at: String,
    pub max_views: u32,
    pub views_left: u32,
    pub passphrase_required: bool,
}

/// `200` answer to `GET /secrets/{id}/shares`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShareList {
    pub shares: Vec<ShareInfo>,
}

/// Body of a JSON redemption (`POST /share/{token}`), optional.
#[derive(Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RedeemShare {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "sensitive::expose_opt"
    )]
    pub passphrase: Option<SecretString>,
}

/// `200` answer to a redemption.
#[derive(Serialize, Deserialize)]
pub struct Redeemed {
    pub name: String,
    #[serde(serialize_with = "sensitive::expose")]
    pub value: SecretString,
    pub expires_at: String,
    pub views_left: u32,
}

/// One audit record as `GET /audit` returns it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AuditEvent {
    pub seq: u64,
    pub time: String,
    /// A user id, `anonymous` or `system`.
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    pub owner: Option<String>,
    pub ip: String,
    pub user_agent: String,
    pub outcome: String,
    pub hash: String,
    /// The target's name as the viewer knows it, resolved when the trail is read (never
    /// stored): their secret's current name while it exists, their own username.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_name: Option<String>,
    /// The actor's name: a service token's name as recorded, or a user's current username
    /// resolved when the trail is read (never stored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor_name: Option<String>,
}

/// `200` answer to `GET /audit`; pass `next_before` as `before` for the next page.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditList {
    pub events: Vec<AuditEvent>,
    pub next_before: Option<u64>,
}

/// `200` answer to `GET /account` and `PUT /account/email`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Account {
    pub id: String,
    pub username: String,
    /// Where security alerts are mailed; `null` when none is set.
    pub email: Option<String>,
}

/// `PUT /account/email`: an address, or `null` or `""` to clear it. The field is required,
/// so an empty object is a 400 rather than a silent clear.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SetEmail {
    #[serde(deserialize_with = "present_or_null")]
    pub email: Option<String>,
}

/// `PUT /account/password`.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    /// Only without a session: the account whose one-time password (from `admin users
    /// reset-password`) is being replaced; login refuses it until then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(serialize_with = "sensitive::expose")]
    pub current_password: SecretString,
    #[serde(serialize_with = "sensitive::expose")]
    pub new_password: SecretString,
}

/// `DELETE /account`: the password, re-entered.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DeleteAccount {
    #[serde(serialize_with = "sensitive::expose")]
    pub password: SecretString,
}

/// One of the caller's sessions in `GET /account/sessions`. `id` is opaque (derived one-way
/// from the token's hash): it revokes the session and authenticates nothing.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SessionInfo {
    pub id: String,
    pub created_at: String,
    /// To the minute; `null` when no request used it after login.
    pub last_used_at: Option<String>,
    pub expires_at: String,
    /// Client address at login ("" when unknown).
    pub ip: String,
    /// User agent at login, cut and cleaned ("" when none).
    pub user_agent: String,
    /// Whether this is the session the request came with.
    pub current: bool,
}

/// `200` answer to `GET /account/sessions`, oldest first.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionList {
    pub sessions: Vec<SessionInfo>,
}

/// `200` answer to `POST /account/sessions/revoke-others`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionsRevoked {
    pub revoked: usize,
}

/// A field that must be present but may be `null` (serde would otherwise take a missing
/// `Option` field as `None`).
fn present_or_null<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Option::<String>::deserialize(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_email_requires_the_field_but_takes_null() {
        let set: SetEmail = serde_json::from_str(r#"{"email":"a@b.example"}"#).unwrap();
        assert_eq!(set.email.as_deref(), Some("a@b.example"));
        let cleared: SetEmail = serde_json::from_str(r#"{"email":null}"#).unwrap();
        assert!(cleared.email.is_none());
        assert!(serde_json::from_str::<SetEmail>("{}").is_err());
        assert!(serde_json::from_str::<SetEmail>(r#"{"email":"a@b","x":1}"#).is_err());
    }
}

/// One kept version of a secret in `GET /secrets/{id}/versions` (never its value).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SecretVersionInfo {
    pub version: u64,
    pub created_at: String,
    /// The user id of whoever set this value.
    pub created_by: String,
    /// Their username, when they still exist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by_name: Option<String>,
}

/// `200` answer to `GET /secrets/{id}/versions`: newest (the current value) first.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SecretVersionList {
    pub versions: Vec<SecretVersionInfo>,
}

/// `POST /secrets/{id}/rollback`: make version `to`'s value current again, as a new version.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Rollback {
    pub to: u64,
}

/// `POST /teams`.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CreateTeam {
    pub name: String,
}

/// A team as its member sees it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TeamInfo {
    pub name: String,
    /// The caller's role: `reader`, `writer` or `admin`.
    pub role: String,
    pub created_at: String,
}

/// `200` answer to `GET /teams`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TeamList {
    pub teams: Vec<TeamInfo>,
}

/// `PUT /teams/{team}/members/{username}`.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SetMember {
    pub role: String,
}

/// One member of a team.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct MemberInfo {
    pub username: String,
    pub role: String,
}

/// `200` answer to `GET /teams/{team}/members`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MemberList {
    pub members: Vec<MemberInfo>,
}

/// `POST /tokens`.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// `["read"]`, `["read","write"]` or `["read","write","share"]`; absent: read only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// Seconds; default 90 days, at most one year.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_cidrs: Option<Vec<String>>,
}

/// `201` answer to `POST /tokens`: the only time the token is shown.
#[derive(Serialize, Deserialize)]
pub struct TokenCreated {
    pub id: String,
    pub name: String,
    #[serde(serialize_with = "sensitive::expose")]
    pub token: SecretString,
    pub team: Option<String>,
    pub permissions: Vec<String>,
    pub prefix: Option<String>,
    pub expires_at: String,
}

/// A service token as listed (never the token).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TokenInfo {
    pub id: String,
    pub name: String,
    pub team: Option<String>,
    pub permissions: Vec<String>,
    pub prefix: Option<String>,
    pub allowed_cidrs: Vec<String>,
    /// The creator's username.
    pub created_by: String,
    pub created_at: String,
    pub expires_at: String,
    pub last_used_at: Option<String>,
    pub last_used_ip: Option<String>,
}

/// `200` answer to `GET /tokens`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenList {
    pub tokens: Vec<TokenInfo>,
}
