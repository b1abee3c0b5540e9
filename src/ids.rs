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
//! use secretctl::ids::{SecretId, UserId};
//! let (owner, id) = (UserId::new("u1"), SecretId::new("s1"));
//! // Swapped: does not compile.
//! let _ = store.get_secret(&id, &owner, actor, 0);
//! # }
//! ```
//!
//! ```
//! # fn check(store: &secretctl::store::Store, actor: &secretctl::store::Actor) {
//! use secretctl::ids::{SecretId, UserId};
//! let (owner, id) = (UserId::new("u1"), SecretId::new("s1"));
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
        assert_eq!(
            format!("{:?}", TokenHash::from_bytes([7; 32])),
            "TokenHash(..)"
        );
    }
}
