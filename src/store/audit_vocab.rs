//! The audit vocabulary: every action and outcome a record can carry, as enums.
//!
//! The serde names are the strings stored in (and hashed into) every record since the first
//! release, so old records decode, verify and render byte for byte as before. Matching on
//! these enums is exhaustive: a new action cannot be silently ignored by the alerts, and a
//! typo no longer compiles. Compact records (schema 6, `audit_row`) store each as a one-byte
//! code from the tables below, pinned by a test: a code is never reused or renumbered.

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

/// Declares the one-byte codes of a vocabulary enum in one table, both ways: `code` is an
/// exhaustive match (a new variant without a code does not compile) and `from_code` is made
/// from the same lines, so the two can never disagree.
macro_rules! stored_codes {
    ($ty:ident { $($variant:ident = $code:literal,)* }) => {
        impl $ty {
            /// The one-byte code compact audit records store (never reused or renumbered:
            /// stored records keep it forever).
            pub const fn code(self) -> u8 {
                match self {
                    $($ty::$variant => $code,)*
                }
            }

            /// The variant stored as `code`; `None` for a code this build does not know.
            pub const fn from_code(code: u8) -> Option<$ty> {
                match code {
                    $($code => Some($ty::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

// The stored codes of the compact audit encoding (`audit_row`). Append only: a code, once
// released, means its action or outcome for good; 0 is never used.
stored_codes!(Action {
    UserRegister = 1,
    Login = 2,
    LoginFailed = 3,
    Logout = 4,
    AccountSetEmail = 5,
    SecretCreate = 6,
    SecretRead = 7,
    SecretUpdate = 8,
    SecretDelete = 9,
    ShareCreate = 10,
    ShareRedeem = 11,
    ShareRevoke = 12,
    ShareExpire = 13,
    ShareWrongPassphrase = 14,
    SharePageView = 15,
    RateLimitHit = 16,
    AdminRotateDataKey = 17,
    AdminRotateMaster = 18,
    AccountPasswordChange = 19,
    AccountSessionRevoke = 20,
    AccountDelete = 21,
    AdminUserDisable = 22,
    AdminUserEnable = 23,
    AdminUserResetPassword = 24,
    AdminSessionsRevoke = 25,
    AdminAuditArchive = 26,
    TeamCreate = 27,
    TeamDelete = 28,
    TeamMemberSet = 29,
    TeamMemberRemove = 30,
    TokenCreate = 31,
    TokenRevoke = 32,
    TokenRefused = 33,
});

stored_codes!(Outcome {
    Ok = 1,
    NotFound = 2,
    Denied = 3,
    Expired = 4,
    UsedUp = 5,
    Revoked = 6,
    SecretDeleted = 7,
    Destroyed = 8,
    Unknown = 9,
    Missing = 10,
    LoginThrottle = 11,
    General = 12,
    Auth = 13,
    Share = 14,
});

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

    /// The stored codes are pinned: compact records written by every release decode to the
    /// same action and outcome forever. Renumbering one fails here, not in a user's trail.
    #[test]
    fn stored_codes_are_pinned_and_round_trip() {
        let actions: [(&str, u8); 33] = [
            ("user.register", 1),
            ("login", 2),
            ("login.failed", 3),
            ("logout", 4),
            ("account.set_email", 5),
            ("secret.create", 6),
            ("secret.read", 7),
            ("secret.update", 8),
            ("secret.delete", 9),
            ("share.create", 10),
            ("share.redeem", 11),
            ("share.revoke", 12),
            ("share.expire", 13),
            ("share.wrong_passphrase", 14),
            ("share.page_view", 15),
            ("rate_limit.hit", 16),
            ("admin.rotate_data_key", 17),
            ("admin.rotate_master", 18),
            ("account.password_change", 19),
            ("account.session_revoke", 20),
            ("account.delete", 21),
            ("admin.user_disable", 22),
            ("admin.user_enable", 23),
            ("admin.user_reset_password", 24),
            ("admin.sessions_revoke", 25),
            ("admin.audit_archive", 26),
            ("team.create", 27),
            ("team.delete", 28),
            ("team.member_set", 29),
            ("team.member_remove", 30),
            ("token.create", 31),
            ("token.revoke", 32),
            ("token.refused", 33),
        ];
        let outcomes: [(&str, u8); 14] = [
            ("ok", 1),
            ("not_found", 2),
            ("denied", 3),
            ("expired", 4),
            ("used_up", 5),
            ("revoked", 6),
            ("secret_deleted", 7),
            ("destroyed", 8),
            ("unknown", 9),
            ("missing", 10),
            ("login_throttle", 11),
            ("general", 12),
            ("auth", 13),
            ("share", 14),
        ];
        for (name, code) in actions {
            let action = Action::from_code(code).unwrap_or_else(|| panic!("no action {code}"));
            assert_eq!((action.as_str(), action.code()), (name, code));
        }
        for (name, code) in outcomes {
            let outcome = Outcome::from_code(code).unwrap_or_else(|| panic!("no outcome {code}"));
            assert_eq!((outcome.as_str(), outcome.code()), (name, code));
        }
        // Nothing else decodes (0 and unknown codes are refused, not guessed).
        let known_actions = (0..=u8::MAX).filter_map(Action::from_code).count();
        let known_outcomes = (0..=u8::MAX).filter_map(Outcome::from_code).count();
        assert_eq!(
            (known_actions, known_outcomes),
            (actions.len(), outcomes.len())
        );
        assert_eq!((Action::from_code(0), Outcome::from_code(0)), (None, None));
    }
}
