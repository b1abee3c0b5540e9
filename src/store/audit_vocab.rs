//! The audit vocabulary: every action and outcome a record can carry, as enums.
//!
//! The serde names are the strings stored in (and hashed into) every record since the first
//! release, so old records decode, verify and render byte for byte as before. Matching on
//! these enums is exhaustive: a new action cannot be silently ignored by the alerts, and a
//! typo no longer compiles.

use serde::{Deserialize, Serialize};

/// What was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Action {
    #[serde(rename = "user.register")]
    UserRegister,
    #[serde(rename = "login")]
    Login,
    #[serde(rename = "login.failed")]
    LoginFailed,
    #[serde(rename = "logout")]
    Logout,
    #[serde(rename = "account.set_email")]
    AccountSetEmail,
    #[serde(rename = "secret.create")]
    SecretCreate,
    #[serde(rename = "secret.read")]
    SecretRead,
    #[serde(rename = "secret.update")]
    SecretUpdate,
    #[serde(rename = "secret.delete")]
    SecretDelete,
    #[serde(rename = "share.create")]
    ShareCreate,
    #[serde(rename = "share.redeem")]
    ShareRedeem,
    #[serde(rename = "share.revoke")]
    ShareRevoke,
    #[serde(rename = "share.expire")]
    ShareExpire,
    #[serde(rename = "share.wrong_passphrase")]
    ShareWrongPassphrase,
    #[serde(rename = "share.page_view")]
    SharePageView,
    #[serde(rename = "rate_limit.hit")]
    RateLimitHit,
    #[serde(rename = "admin.rotate_data_key")]
    AdminRotateDataKey,
    #[serde(rename = "admin.rotate_master")]
    AdminRotateMaster,
    #[serde(rename = "account.password_change")]
    AccountPasswordChange,
    #[serde(rename = "account.session_revoke")]
    AccountSessionRevoke,
    #[serde(rename = "account.delete")]
    AccountDelete,
    #[serde(rename = "admin.user_disable")]
    AdminUserDisable,
    #[serde(rename = "admin.user_enable")]
    AdminUserEnable,
    #[serde(rename = "admin.user_reset_password")]
    AdminUserResetPassword,
    #[serde(rename = "admin.sessions_revoke")]
    AdminSessionsRevoke,
    #[serde(rename = "admin.audit_archive")]
    AdminAuditArchive,
    #[serde(rename = "team.create")]
    TeamCreate,
    #[serde(rename = "team.delete")]
    TeamDelete,
    #[serde(rename = "team.member_set")]
    TeamMemberSet,
    #[serde(rename = "team.member_remove")]
    TeamMemberRemove,
    #[serde(rename = "token.create")]
    TokenCreate,
    #[serde(rename = "token.revoke")]
    TokenRevoke,
    /// A service token presented from outside its allowed networks.
    #[serde(rename = "token.refused")]
    TokenRefused,
}

/// How it came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Ok,
    /// The target does not exist or is not the caller's (one answer for both).
    NotFound,
    /// A wrong password or passphrase.
    Denied,
    /// A share link that expired.
    Expired,
    /// A share link whose views are used up.
    UsedUp,
    /// A share link its owner revoked.
    Revoked,
    /// A share link whose secret was deleted.
    SecretDeleted,
    /// A share link destroyed after too many wrong passphrases.
    Destroyed,
    /// A share token that never existed.
    Unknown,
    /// A login for a username that does not exist.
    Missing,
    /// Refused by the per-username login throttle.
    LoginThrottle,
    /// Refused by the general per-address rate limit.
    General,
    /// Refused by the per-address limit on login and registration.
    Auth,
    /// Refused by the per-address limit on share links.
    Share,
}

impl Action {
    /// The stored (and wire) name.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::UserRegister => "user.register",
            Action::Login => "login",
            Action::LoginFailed => "login.failed",
            Action::Logout => "logout",
            Action::AccountSetEmail => "account.set_email",
            Action::SecretCreate => "secret.create",
            Action::SecretRead => "secret.read",
            Action::SecretUpdate => "secret.update",
            Action::SecretDelete => "secret.delete",
            Action::ShareCreate => "share.create",
            Action::ShareRedeem => "share.redeem",
            Action::ShareRevoke => "share.revoke",
            Action::ShareExpire => "share.expire",
            Action::ShareWrongPassphrase => "share.wrong_passphrase",
            Action::SharePageView => "share.page_view",
            Action::RateLimitHit => "rate_limit.hit",
            Action::AdminRotateDataKey => "admin.rotate_data_key",
            Action::AdminRotateMaster => "admin.rotate_master",
            Action::AccountPasswordChange => "account.password_change",
            Action::AccountSessionRevoke => "account.session_revoke",
            Action::AccountDelete => "account.delete",
            Action::AdminUserDisable => "admin.user_disable",
            Action::AdminUserEnable => "admin.user_enable",
            Action::AdminUserResetPassword => "admin.user_reset_password",
            Action::AdminSessionsRevoke => "admin.sessions_revoke",
            Action::AdminAuditArchive => "admin.audit_archive",
            Action::TeamCreate => "team.create",
            Action::TeamDelete => "team.delete",
            Action::TeamMemberSet => "team.member_set",
            Action::TeamMemberRemove => "team.member_remove",
            Action::TokenCreate => "token.create",
            Action::TokenRevoke => "token.revoke",
            Action::TokenRefused => "token.refused",
        }
    }
}

impl Outcome {
    /// The stored (and wire) name.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::NotFound => "not_found",
            Outcome::Denied => "denied",
            Outcome::Expired => "expired",
            Outcome::UsedUp => "used_up",
            Outcome::Revoked => "revoked",
            Outcome::SecretDeleted => "secret_deleted",
            Outcome::Destroyed => "destroyed",
            Outcome::Unknown => "unknown",
            Outcome::Missing => "missing",
            Outcome::LoginThrottle => "login_throttle",
            Outcome::General => "general",
            Outcome::Auth => "auth",
            Outcome::Share => "share",
        }
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `as_str` and the serde name must never drift apart: both end up in records.
    #[test]
    fn names_match_serde() {
        let actions = [
            Action::UserRegister,
            Action::Login,
            Action::LoginFailed,
            Action::Logout,
            Action::AccountSetEmail,
            Action::SecretCreate,
            Action::SecretRead,
            Action::SecretUpdate,
            Action::SecretDelete,
            Action::ShareCreate,
            Action::ShareRedeem,
            Action::ShareRevoke,
            Action::ShareExpire,
            Action::ShareWrongPassphrase,
            Action::SharePageView,
            Action::RateLimitHit,
            Action::AdminRotateDataKey,
            Action::AdminRotateMaster,
            Action::AccountPasswordChange,
            Action::AccountSessionRevoke,
            Action::AccountDelete,
            Action::AdminUserDisable,
            Action::AdminUserEnable,
            Action::AdminUserResetPassword,
            Action::AdminSessionsRevoke,
            Action::AdminAuditArchive,
            Action::TeamCreate,
            Action::TeamDelete,
            Action::TeamMemberSet,
            Action::TeamMemberRemove,
            Action::TokenCreate,
            Action::TokenRevoke,
            Action::TokenRefused,
        ];
        for a in actions {
            assert_eq!(serde_json::to_string(&a).unwrap(), format!("\"{a}\""));
            let back: Action = serde_json::from_str(&format!("\"{a}\"")).unwrap();
            assert_eq!(back, a);
        }
        let outcomes = [
            Outcome::Ok,
            Outcome::NotFound,
            Outcome::Denied,
            Outcome::Expired,
            Outcome::UsedUp,
            Outcome::Revoked,
            Outcome::SecretDeleted,
            Outcome::Destroyed,
            Outcome::Unknown,
            Outcome::Missing,
            Outcome::LoginThrottle,
            Outcome::General,
            Outcome::Auth,
            Outcome::Share,
        ];
        for o in outcomes {
            assert_eq!(serde_json::to_string(&o).unwrap(), format!("\"{o}\""));
        }
    }
}
