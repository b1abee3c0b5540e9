//! Typed identifiers: a user id, a secret id and a share id are all short strings, and two
//! token hashes are both 32 bytes, so a call with two of them swapped used to compile and
//! fail only at run time, as a 404 or worse. Each is its own type now.
//!
//! The id types are `#[serde(transparent)]`: stored rows and the wire format are the plain
//! strings they always were. They deref to `str` for reading (formatting, table keys), which
//! never turns one id type into another.
//!
//! ```compile_fail
//! # fn check(store: &secretctl::store::Store, actor: &secretctl::store::Actor) {
//! use secretctl::ids::{Owner, SecretId, UserId};
//! let (owner, id) = (Owner::user(&UserId::new("u1")), SecretId::new("s1"));
//! // Swapped: does not compile.
//! let _ = store.get_secret(&id, &owner, actor, 0);
//! # }
//! ```
//!
//! ```
//! # fn check(store: &secretctl::store::Store, actor: &secretctl::store::Actor) {
//! use secretctl::ids::{Owner, SecretId, UserId};
//! let (owner, id) = (Owner::user(&UserId::new("u1")), SecretId::new("s1"));
//! let _ = store.get_secret(&owner, &id, actor, 0);
//! # }
//! ```

use serde::{Deserialize, Serialize};

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The id as given (from a stored row, a URL path or a token); ids from a request
            /// are not trusted to exist, only typed.
            pub fn new(id: impl Into<String>) -> Self {
                $name(id.into())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                $name(id.to_string())
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> Self {
                $name(id)
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<$name> for str {
            fn eq(&self, other: &$name) -> bool {
                self == other.0
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
    };
}

string_id!(
    /// A user account's id (random hex, never the username).
    UserId
);
string_id!(
    /// A secret's id (random hex).
    SecretId
);
string_id!(
    /// A share link's id (random hex; not its token).
    ShareId
);

string_id!(
    /// A team's id (random hex, never its name).
    TeamId
);
string_id!(
    /// A service token's id (random hex; not the token).
    TokenId
);
string_id!(
    /// Who a secret (and its links) belongs to, in the stable string form stored in rows,
    /// name-index keys, sealing context and audit records: a user's id as it always was,
    /// or `team:<team id>` for a team. User ids are hex, so the two can never collide, and a
    /// ciphertext moved from one owner to the other fails to open.
    Owner
);

/// Prefix of a team owner's string form.
const TEAM_OWNER_PREFIX: &str = "team:";

impl Owner {
    /// A user's personal secrets.
    pub fn user(id: &UserId) -> Owner {
        Owner(id.as_str().to_string())
    }

    /// A team's secrets.
    pub fn team(id: &TeamId) -> Owner {
        Owner(format!("{TEAM_OWNER_PREFIX}{id}"))
    }

    /// The team, when a team owns it.
    pub fn team_id(&self) -> Option<TeamId> {
        self.0.strip_prefix(TEAM_OWNER_PREFIX).map(TeamId::new)
    }

    /// The user, when a user owns it.
    pub fn user_id(&self) -> Option<UserId> {
        (!self.0.starts_with(TEAM_OWNER_PREFIX)).then(|| UserId::new(self.0.clone()))
    }
}

impl From<&UserId> for Owner {
    fn from(id: &UserId) -> Self {
        Owner::user(id)
    }
}

macro_rules! hash_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $name([u8; 32]);

        impl $name {
            pub fn from_bytes(bytes: [u8; 32]) -> Self {
                $name(bytes)
            }

            pub fn as_bytes(&self) -> &[u8; 32] {
                &self.0
            }

            /// The bytes, as a table key.
            pub fn as_slice(&self) -> &[u8] {
                &self.0
            }
        }

        /// Not secret, but derived from a credential: shown as a type name only, so no
        /// log line can be used to correlate it.
        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(concat!(stringify!($name), "(..)"))
            }
        }
    };
}

hash_id!(
    /// SHA-256 of a session token: how a session is found without storing its token.
    TokenHash
);
hash_id!(
    /// H(lookup | token) of a share link: how a link is found without storing its token.
    ShareLookup
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_serialize_as_the_plain_strings_rows_always_held() {
        let id = SecretId::new("0123abcd");
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"0123abcd\"");
        let back: UserId = serde_json::from_str("\"u1\"").unwrap();
        assert_eq!(back, "u1");
        let team = Owner::team(&TeamId::new("ab12"));
        assert_eq!(team.as_str(), "team:ab12");
        assert_eq!(team.team_id(), Some(TeamId::new("ab12")));
        assert_eq!(team.user_id(), None);
        let user = Owner::user(&UserId::new("cd34"));
        assert_eq!((user.as_str(), user.team_id()), ("cd34", None));
        assert_eq!(user.user_id(), Some(UserId::new("cd34")));
        assert_eq!(
            format!("{:?}", TokenHash::from_bytes([7; 32])),
            "TokenHash(..)"
        );
    }
}
