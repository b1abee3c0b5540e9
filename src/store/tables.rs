//! Every redb table, in one place. Rows are JSON documents (small, self-describing, easy to
//! migrate) except sealed values, which are opaque bytes from `crypto::keyring`.

use redb::TableDefinition;

/// Schema version and other single values, keyed by name.
pub const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
/// Data keys by id, each an age ciphertext to the master identity.
pub const DATA_KEYS: TableDefinition<u32, &[u8]> = TableDefinition::new("data_keys");
/// Users by id (JSON `UserRow`).
pub const USERS: TableDefinition<&str, &[u8]> = TableDefinition::new("users");
/// Username -> user id; enforces unique usernames.
pub const USERNAMES: TableDefinition<&str, &str> = TableDefinition::new("usernames");
/// SHA-256 of a session token -> JSON `SessionRow`. Tokens themselves are never stored.
pub const SESSIONS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("sessions");
/// Secret metadata by secret id (JSON `SecretRow`).
pub const SECRETS: TableDefinition<&str, &[u8]> = TableDefinition::new("secrets");
/// Sealed secret values by secret id.
pub const SECRET_VALUES: TableDefinition<&str, &[u8]> = TableDefinition::new("secret_values");
/// (owner id, secret name) -> secret id; enforces unique names per user and lists them sorted.
pub const SECRET_NAMES: TableDefinition<(&str, &str), &str> = TableDefinition::new("secret_names");

/// Share links by lookup hash (JSON `ShareRecord`). Tokens themselves are never stored.
pub const SHARES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("shares");
/// Share snapshots by lookup hash: sealed under the token-derived key, then under the keyring.
pub const SHARE_PAYLOADS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("share_payloads");
/// Share id -> lookup hash, for revocation by id.
pub const SHARE_IDS: TableDefinition<&str, &[u8]> = TableDefinition::new("share_ids");
/// (secret id, share id) -> (), to list and revoke a secret's links.
pub const SECRET_SHARES: TableDefinition<(&str, &str), ()> = TableDefinition::new("secret_shares");

/// The audit trail by sequence number (`audit::StoredRecord`: compact since schema 6, JSON
/// `AuditRecord` before; hash-chained).
pub const AUDIT: TableDefinition<u64, &[u8]> = TableDefinition::new("audit");
/// (user id, sequence) -> (): the events a user may read (theirs, and others' on their things).
/// Measured with redb 4.6: `AUDIT`, appended at its right edge, keeps its leaves about 95%
/// full, but with several active users each one's entries are inserted inside this tree,
/// where redb splits a full leaf evenly, so its leaves end up about half full (about 85 B of
/// pages per entry, 47 with a single user). A multimap keyed by user would pack them (about
/// 10 B) but cannot seek to a sequence number, so paging back with `before` would scan.
pub const AUDIT_BY_USER: TableDefinition<(&str, u64), ()> = TableDefinition::new("audit_by_user");
/// Lookup hash of a dead share link -> JSON `Tombstone`, kept a while after the link dies so a
/// late redemption attempt can be audited against the share it was for.
pub const SHARE_TOMBSTONES: TableDefinition<&[u8], &[u8]> =
    TableDefinition::new("share_tombstones");

/// `META` key of the schema version (u32, big endian).
pub const META_SCHEMA_VERSION: &str = "schema_version";
/// `META` key of the id of the data key new values are sealed under (u32, big endian).
pub const META_ACTIVE_DATA_KEY: &str = "active_data_key";

/// Keys of the audit chain's MACs by id, each an age ciphertext to the master identity (like
/// `DATA_KEYS`, but never retired: every record made under a key must stay verifiable).
pub const AUDIT_KEYS: TableDefinition<u32, &[u8]> = TableDefinition::new("audit_keys");
/// `META` key of the authenticated head of the audit trail (JSON `SignedHead`).
pub const META_AUDIT_HEAD: &str = "audit_head";
/// `META` key of the HMAC tag over `AUDIT_KEYS` (see `crypto::key_set::audit_tag`).
pub const META_AUDIT_KEYS_MAC: &str = "audit_keys_mac";

/// Older values of secrets by (secret id, version), each sealed exactly like `SECRET_VALUES`
/// rows (same keyring, bound to owner, id and *that* version, so one version cannot be passed
/// off as another). The current value stays in `SECRET_VALUES`.
pub const SECRET_VERSIONS: TableDefinition<(&str, u64), &[u8]> =
    TableDefinition::new("secret_versions");
/// (secret id, version) -> JSON `VersionInfo` (when and by whom the value was set), for the
/// current version and every kept older one.
pub const SECRET_VERSION_INFO: TableDefinition<(&str, u64), &[u8]> =
    TableDefinition::new("secret_version_info");
/// Only in backup files (`store::backup`): `"manifest"` -> JSON `Manifest`, what the snapshot
/// held when it was taken, so the file can be checked on its own.
pub const BACKUP_MANIFEST: TableDefinition<&str, &[u8]> = TableDefinition::new("backup_manifest");
/// `META` key of the audit trail's archive anchor (JSON `archive::SignedAnchor`): the last
/// record moved out to an archive, which the first live record links to.
pub const META_AUDIT_ANCHOR: &str = "audit_anchor";
/// Teams by id (JSON `TeamRecord`).
pub const TEAMS: TableDefinition<&str, &[u8]> = TableDefinition::new("teams");
/// Team name -> team id; enforces globally unique team names.
pub const TEAM_NAMES: TableDefinition<&str, &str> = TableDefinition::new("team_names");
/// (team id, user id) -> role (`reader`, `writer`, `admin`): a team's members.
pub const TEAM_MEMBERS: TableDefinition<(&str, &str), &str> = TableDefinition::new("team_members");
/// (user id, team id) -> (): the teams of a user, kept in step with `TEAM_MEMBERS`.
pub const USER_TEAMS: TableDefinition<(&str, &str), ()> = TableDefinition::new("user_teams");
/// SHA-256 of a service token -> JSON `TokenRecord`. Tokens themselves are never stored.
pub const SERVICE_TOKENS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("service_tokens");
/// Service token id -> its hash, for listing and revocation by id.
pub const SERVICE_TOKEN_IDS: TableDefinition<&str, &[u8]> =
    TableDefinition::new("service_token_ids");
