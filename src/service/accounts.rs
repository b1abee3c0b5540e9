//! Accounts: registration, the login policy, sessions, password change and deletion.
//!
//! Login policy: over-long input is refused before any work; each attempt is counted
//! against its name before hashing, and a throttled name is refused before any hashing; an unknown name is hashed against a dummy hash, so it costs the same
//! and answers the same as a wrong password; every failure is audited (against the account's
//! owner when the name exists, never with the typed text otherwise).
//!
//! Re-entered passwords (password change, account deletion) go through the same per-name
//! throttle as logins, so a stolen session cannot be used to guess the password faster than
//! the login form allows; a wrong one is audited against the account and answers
//! `WrongPassword`, which is not a 401: the session itself is fine.

use crate::crypto::token::{self, SESSION_PREFIX};
use crate::ids::{TokenHash, UserId};
use crate::sensitive::{ExposeSecret, SecretString};
use crate::store::{
    Action, Actor, DeletedAccount, Event, ListedSession, Outcome, Session, StoreError, UserRecord,
};

use super::login_throttle::LoginThrottle;
use super::passwords::{self, PASSWORD_CHARS};
use super::{Ctx, ServiceError};

/// Longest username that can exist; a longer login is refused without a lookup.
const MAX_USERNAME_BYTES: usize = 64;

/// The account rules of one server.
pub struct Accounts {
    registration_open: bool,
    session_ttl_secs: i64,
    throttle: LoginThrottle,
}

/// A new session: the token (shown once, stored only as a hash) and its record.
pub struct LoggedIn {
    pub token: SecretString,
    pub session: Session,
}

impl Accounts {
    /// Rules with these settings and an empty throttle.
    pub fn new(registration_open: bool, session_ttl_secs: i64) -> Self {
        Accounts {
            registration_open,
            session_ttl_secs,
            throttle: LoginThrottle::default(),
        }
    }

    /// Refuses at once when this server takes no registrations (before reading any input).
    pub fn check_registration_open(&self) -> Result<(), ServiceError> {
        if self.registration_open {
            Ok(())
        } else {
            Err(ServiceError::RegistrationClosed)
        }
    }

    /// Creates an account. `username` has already passed the format rules.
    pub fn register(
        &self,
        ctx: &Ctx,
        actor: &Actor,
        username: String,
        password: &SecretString,
    ) -> Result<UserRecord, ServiceError> {
        self.check_registration_open()?;
        passwords::new_password(&username, password)?;
        // Cheap early answer for a taken name; the insert re-checks inside its transaction.
        if ctx.store.find_user_by_name(&username)?.is_some() {
            return Err(ServiceError::UsernameTaken);
        }
        let user = UserRecord {
            id: UserId::new(token::new_id()?),
            username,
            password_hash: ctx.hasher.hash(password)?,
            created_at: ctx.now,
            email: None,
            disabled: false,
            links_kept: false,
            must_change_password_until: None,
        };
        // Also the answer for a deleted account's name, which stays reserved.
        ctx.store.create_user(&user, actor).map_err(|e| match e {
            StoreError::Conflict("username") => ServiceError::UsernameTaken,
            e => e.into(),
        })?;
        Ok(user)
    }

    /// Checks a username and password and opens a session. Unknown user and wrong password
    /// are the same `BadCredentials`, after the same work.
    pub fn login(
        &self,
        ctx: &Ctx,
        actor: &Actor,
        username: &str,
        password: &SecretString,
    ) -> Result<LoggedIn, ServiceError> {
        let (user, attempt) = self.credentials(ctx, actor, username, password)?;
        // The right password, after the same work as any other: only now may the answer
        // say more about the account than "wrong username or password".
        if let Some(refusal) = operator_hold(&user, ctx.now) {
            let expired = matches!(refusal, ServiceError::BadCredentials);
            if expired {
                attempt.failed();
            } else {
                attempt.succeeded();
            }
            let outcome = if expired {
                Outcome::Expired
            } else {
                Outcome::Denied
            };
            let target = Some(format!("user:{}", user.id));
            let event = Event::ok(Action::LoginFailed, target, Some(&user.id)).outcome(outcome);
            ctx.store.record_event(actor, event, ctx.now)?;
            return Err(refusal);
        }
        attempt.succeeded();
        let token = token::new_token(SESSION_PREFIX)?;
        let session = Session::new(
            user.id.clone(),
            actor,
            ctx.now,
            ctx.now + self.session_ttl_secs,
        );
        let actor = Actor {
            user_id: Some(user.id.into_string()),
            ..actor.clone()
        };
        ctx.store
            .create_session(&token::token_hash(token.expose_secret()), &session, &actor)?;
        Ok(LoggedIn { token, session })
    }

    /// Sets a new password for an account that has no session to do it with: one holding a
    /// one-time password from `admin users reset-password` (which login refuses until it is
    /// replaced). The username and current password are checked exactly like a login's
    /// (throttled, audited, one answer for unknown name and wrong password); a disabled
    /// account or an expired one-time password is refused. Every session is revoked.
    pub fn change_forced_password(
        &self,
        ctx: &Ctx,
        actor: &Actor,
        username: &str,
        current: &SecretString,
        new: &SecretString,
    ) -> Result<usize, ServiceError> {
        Self::check_new_password(username, current, new)?;
        let (user, attempt) = self.credentials(ctx, actor, username, current)?;
        match operator_hold(&user, ctx.now) {
            Some(ServiceError::BadCredentials) => {
                attempt.failed();
                let target = Some(format!("user:{}", user.id));
                let event = Event::ok(Action::AccountPasswordChange, target, Some(&user.id))
                    .outcome(Outcome::Expired);
                ctx.store.record_event(actor, event, ctx.now)?;
                return Err(ServiceError::BadCredentials);
            }
            Some(ServiceError::AccountDisabled) => {
                attempt.succeeded();
                return Err(ServiceError::AccountDisabled);
            }
            _ => attempt.succeeded(),
        }
        self.set_new_password(ctx, actor, &user, new, None)
    }

    /// Checks `username` and `password` (throttled, audited on failure), for login and the
    /// forced password change alike. The attempt is handed back undecided: the caller says
    /// whether it counts as a success.
    fn credentials<'a>(
        &'a self,
        ctx: &Ctx,
        actor: &Actor,
        username: &'a str,
        password: &SecretString,
    ) -> Result<(UserRecord, super::login_throttle::Reservation<'a>), ServiceError> {
        // Over-long input is refused before any hashing work.
        if password.expose_secret().len() > 4 * PASSWORD_CHARS.end()
            || username.len() > MAX_USERNAME_BYTES
        {
            return Err(ServiceError::BadCredentials);
        }
        let user = ctx.store.find_user_by_name(username)?;
        // The attempt is counted as a failure before any hashing work, so guesses arriving
        // while earlier ones are hashed already see them; throttled names stop here.
        let attempt = match self.throttle.reserve(username, ctx.tick) {
            Ok(attempt) => attempt,
            Err(refusal) => {
                if refusal.audit {
                    let owner = user.as_ref().map(|u| u.id.as_str());
                    let target = owner.map(|id| format!("user:{id}"));
                    let event = Event::ok(Action::RateLimitHit, target, owner)
                        .outcome(Outcome::LoginThrottle);
                    ctx.store.record_event(actor, event, ctx.now)?;
                }
                return Err(ServiceError::Throttled {
                    retry_after_secs: refusal.retry_after_secs,
                });
            }
        };
        // An error here (hasher busy) drops `attempt` undecided, which undoes it.
        let ok = ctx
            .hasher
            .verify(password, user.as_ref().map(|u| u.password_hash.as_str()))?;
        let user = match user {
            Some(u) if ok => u,
            other => {
                attempt.failed();
                // A failed login is visible to the account's owner; an unknown name is
                // recorded without it (people type passwords into the username field).
                let owner = other.map(|u| u.id);
                let target = owner.as_ref().map(|id| format!("user:{id}"));
                let event = Event::ok(Action::LoginFailed, target, owner.as_deref())
                    .outcome(Outcome::Denied);
                ctx.store.record_event(actor, event, ctx.now)?;
                return Err(ServiceError::BadCredentials);
            }
        };
        Ok((user, attempt))
    }

    /// Revokes the session behind `token`.
    pub fn logout(&self, ctx: &Ctx, actor: &Actor, token: &str) -> Result<(), ServiceError> {
        ctx.store
            .delete_session(&token::token_hash(token), actor, ctx.now)?;
        Ok(())
    }

    /// Changes `user_id`'s password after checking `current`, and revokes every other
    /// session (the one with `keep`, the caller's, stays). Returns how many were revoked.
    pub fn change_password(
        &self,
        ctx: &Ctx,
        actor: &Actor,
        user_id: &UserId,
        keep: &TokenHash,
        current: &SecretString,
        new: &SecretString,
    ) -> Result<usize, ServiceError> {
        let user = self.owner(ctx, user_id)?;
        Self::check_new_password(&user.username, current, new)?;
        self.check_password(ctx, actor, &user, current, Action::AccountPasswordChange)?;
        self.set_new_password(ctx, actor, &user, new, Some(keep))
    }

    /// The policy for a new password; it costs nothing and says nothing about the current one.
    fn check_new_password(
        username: &str,
        current: &SecretString,
        new: &SecretString,
    ) -> Result<(), ServiceError> {
        passwords::new_password(username, new)?;
        let same: bool = subtle::ConstantTimeEq::ct_eq(
            current.expose_secret().as_bytes(),
            new.expose_secret().as_bytes(),
        )
        .into();
        if same {
            return Err(ServiceError::Invalid(
                "new_password must differ from current_password",
            ));
        }
        Ok(())
    }

    /// Hashes `new` and stores it (clearing any forced change), revoking every session but
    /// `keep`; the current password and the new one's policy have been checked.
    fn set_new_password(
        &self,
        ctx: &Ctx,
        actor: &Actor,
        user: &UserRecord,
        new: &SecretString,
        keep: Option<&TokenHash>,
    ) -> Result<usize, ServiceError> {
        let hash = ctx.hasher.hash(new)?;
        Ok(ctx
            .store
            .change_password(&user.id, hash, keep, actor, ctx.now)?)
    }

    /// Deletes `user_id`'s account and everything it owns after checking `password`.
    pub fn delete_account(
        &self,
        ctx: &Ctx,
        actor: &Actor,
        user_id: &UserId,
        password: &SecretString,
    ) -> Result<DeletedAccount, ServiceError> {
        let user = self.owner(ctx, user_id)?;
        self.check_password(ctx, actor, &user, password, Action::AccountDelete)?;
        Ok(ctx.store.delete_account(user_id, actor, ctx.now)?)
    }

    /// The caller's live sessions, oldest first.
    pub fn sessions(
        &self,
        ctx: &Ctx,
        user_id: &UserId,
    ) -> Result<Vec<ListedSession>, ServiceError> {
        Ok(ctx.store.list_sessions(user_id, ctx.now)?)
    }

    /// Revokes the caller's session listed as `id`; `NotFound` for any id that is not one.
    pub fn revoke_session(
        &self,
        ctx: &Ctx,
        actor: &Actor,
        user_id: &UserId,
        id: &str,
    ) -> Result<(), ServiceError> {
        Ok(ctx.store.revoke_session(user_id, id, actor, ctx.now)?)
    }

    /// Revokes every session of the caller but `keep`; returns how many.
    pub fn revoke_other_sessions(
        &self,
        ctx: &Ctx,
        actor: &Actor,
        user_id: &UserId,
        keep: &TokenHash,
    ) -> Result<usize, ServiceError> {
        Ok(ctx
            .store
            .revoke_other_sessions(user_id, keep, actor, ctx.now)?)
    }

    /// The caller's account; a session whose account is gone is no session at all.
    fn owner(&self, ctx: &Ctx, user_id: &UserId) -> Result<UserRecord, ServiceError> {
        ctx.store
            .find_user_by_id(user_id)?
            .ok_or(ServiceError::BadCredentials)
    }

    /// Checks a re-entered password of `user` under the login throttle. A wrong one is
    /// audited as `action` with outcome `denied` and is `WrongPassword`.
    fn check_password(
        &self,
        ctx: &Ctx,
        actor: &Actor,
        user: &UserRecord,
        password: &SecretString,
        action: Action,
    ) -> Result<(), ServiceError> {
        let target = Some(format!("user:{}", user.id));
        let owner = Some(user.id.as_str());
        if password.expose_secret().len() > 4 * PASSWORD_CHARS.end() {
            let event = Event::ok(action, target, owner).outcome(Outcome::Denied);
            ctx.store.record_event(actor, event, ctx.now)?;
            return Err(ServiceError::WrongPassword);
        }
        let attempt = match self.throttle.reserve(&user.username, ctx.tick) {
            Ok(attempt) => attempt,
            Err(refusal) => {
                if refusal.audit {
                    let event = Event::ok(Action::RateLimitHit, target, owner)
                        .outcome(Outcome::LoginThrottle);
                    ctx.store.record_event(actor, event, ctx.now)?;
                }
                return Err(ServiceError::Throttled {
                    retry_after_secs: refusal.retry_after_secs,
                });
            }
        };
        if ctx
            .hasher
            .verify(password, Some(user.password_hash.as_str()))?
        {
            attempt.succeeded();
            return Ok(());
        }
        attempt.failed();
        let event = Event::ok(action, target, owner).outcome(Outcome::Denied);
        ctx.store.record_event(actor, event, ctx.now)?;
        Err(ServiceError::WrongPassword)
    }
}

/// Why an operator's hold on the account refuses a login with the right password: disabled;
/// a one-time password still to be changed; or one past its validity, which is dead and
/// answers like a wrong password.
fn operator_hold(user: &UserRecord, now: i64) -> Option<ServiceError> {
    if user.disabled {
        return Some(ServiceError::AccountDisabled);
    }
    match user.must_change_password_until {
        Some(until) if now >= until => Some(ServiceError::BadCredentials),
        Some(_) => Some(ServiceError::PasswordChangeRequired),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::super::login_throttle::FREE_FAILURES;
    use super::*;
    use crate::crypto::password::{KdfParams, PasswordHasher};
    use crate::service::anonymous_audit::AnonymousAudit;
    use crate::store::test_support::{TempStore, temp_store};

    struct Fixture {
        temp: TempStore,
        hasher: PasswordHasher,
        anonymous: AnonymousAudit,
        accounts: Accounts,
    }

    impl Fixture {
        fn new(tag: &str) -> Self {
            Fixture {
                temp: temp_store(tag),
                hasher: PasswordHasher::new(KdfParams::INSECURE_TEST_ONLY, 4, 16).unwrap(),
                anonymous: AnonymousAudit::default(),
                accounts: Accounts::new(true, 3600),
            }
        }

        fn ctx(&self, tick: Instant) -> Ctx<'_> {
            Ctx {
                store: &self.temp.store,
                hasher: &self.hasher,
                anonymous: &self.anonymous,
                now: 1_700_000_000,
                tick,
            }
        }
    }

    fn anon() -> Actor {
        Actor {
            user_id: None,
            ip: "192.0.2.1".into(),
            user_agent: "unit".into(),
            actor_name: None,
        }
    }

    fn pw(s: &str) -> SecretString {
        SecretString::from(s.to_string())
    }

    fn actions(f: &Fixture, user: &str) -> Vec<String> {
        f.temp
            .store
            .audit_for_user(&user.into(), 100, None)
            .unwrap()
            .into_iter()
            .map(|r| format!("{}:{}", r.body.action, r.body.outcome))
            .collect()
    }

    #[test]
    fn login_opens_a_session_and_wrong_or_unknown_are_alike() {
        let f = Fixture::new("svc-login");
        let t0 = Instant::now();
        let user = f
            .accounts
            .register(
                &f.ctx(t0),
                &anon(),
                "alice".into(),
                &pw("tulip ferry orbit"),
            )
            .unwrap();
        let wrong = f
            .accounts
            .login(&f.ctx(t0), &anon(), "alice", &pw("not the password"))
            .err()
            .unwrap();
        let unknown = f
            .accounts
            .login(&f.ctx(t0), &anon(), "mallory", &pw("not the password"))
            .err()
            .unwrap();
        assert!(matches!(wrong, ServiceError::BadCredentials));
        assert!(matches!(unknown, ServiceError::BadCredentials));
        let ok = f
            .accounts
            .login(&f.ctx(t0), &anon(), "alice", &pw("tulip ferry orbit"))
            .unwrap();
        assert_eq!(ok.session.user_id, user.id);
        assert_eq!(ok.session.expires_at, 1_700_000_000 + 3600);
        let found = f
            .temp
            .store
            .find_session(&token::token_hash(ok.token.expose_secret()), 1_700_000_000)
            .unwrap()
            .unwrap();
        assert_eq!(found.user_id, user.id);
        let trail = actions(&f, &user.id);
        assert!(
            trail.contains(&"login.failed:denied".to_string()),
            "{trail:?}"
        );
    }

    #[test]
    fn failed_logins_throttle_the_name_before_hashing() {
        let f = Fixture::new("svc-throttle");
        let t0 = Instant::now();
        f.accounts
            .register(
                &f.ctx(t0),
                &anon(),
                "alice".into(),
                &pw("tulip ferry orbit"),
            )
            .unwrap();
        for _ in 0..FREE_FAILURES {
            let e = f
                .accounts
                .login(&f.ctx(t0), &anon(), "alice", &pw("wrong guess!"))
                .err()
                .unwrap();
            assert!(matches!(e, ServiceError::BadCredentials), "{e}");
        }
        // Even the right password waits now: the throttle answers before the hasher.
        let e = f
            .accounts
            .login(&f.ctx(t0), &anon(), "alice", &pw("tulip ferry orbit"))
            .err()
            .unwrap();
        assert!(
            matches!(
                e,
                ServiceError::Throttled {
                    retry_after_secs: 1
                }
            ),
            "{e}"
        );
        let later = t0 + Duration::from_secs(1);
        assert!(
            f.accounts
                .login(&f.ctx(later), &anon(), "alice", &pw("tulip ferry orbit"))
                .is_ok()
        );
    }

    #[test]
    fn registration_rules() {
        let f = Fixture::new("svc-register");
        let t0 = Instant::now();
        let e = f
            .accounts
            .register(&f.ctx(t0), &anon(), "alice".into(), &pw("password123"))
            .err()
            .unwrap();
        assert!(matches!(e, ServiceError::Policy(_)), "{e}");
        f.accounts
            .register(
                &f.ctx(t0),
                &anon(),
                "alice".into(),
                &pw("tulip ferry orbit"),
            )
            .unwrap();
        let e = f
            .accounts
            .register(&f.ctx(t0), &anon(), "alice".into(), &pw("another good one"))
            .err()
            .unwrap();
        assert!(matches!(e, ServiceError::UsernameTaken), "{e}");
        let closed = Accounts::new(false, 60);
        let e = closed
            .register(&f.ctx(t0), &anon(), "bob".into(), &pw("tulip ferry orbit"))
            .err()
            .unwrap();
        assert!(matches!(e, ServiceError::RegistrationClosed), "{e}");
    }

    #[test]
    fn password_change_checks_the_current_one_under_the_login_throttle() {
        let f = Fixture::new("svc-passwd");
        let t0 = Instant::now();
        let ctx = f.ctx(t0);
        f.accounts
            .register(&ctx, &anon(), "alice".into(), &pw("tulip ferry orbit"))
            .unwrap();
        let mine = f
            .accounts
            .login(&ctx, &anon(), "alice", &pw("tulip ferry orbit"))
            .unwrap();
        let other = f
            .accounts
            .login(&ctx, &anon(), "alice", &pw("tulip ferry orbit"))
            .unwrap();
        let id = mine.session.user_id.clone();
        let keep = token::token_hash(mine.token.expose_secret());
        let change = |current: &str, new: &str, at: Instant| {
            f.accounts
                .change_password(&f.ctx(at), &anon(), &id, &keep, &pw(current), &pw(new))
        };
        // Policy and sameness are refused before the current password is even looked at.
        let e = change("whatever", "password123", t0).err().unwrap();
        assert!(matches!(e, ServiceError::Policy(_)), "{e}");
        let e = change("tulip ferry orbit", "tulip ferry orbit", t0)
            .err()
            .unwrap();
        assert!(matches!(e, ServiceError::Invalid(_)), "{e}");
        for _ in 0..FREE_FAILURES {
            let e = change("wrong guess!", "a brand new one", t0).err().unwrap();
            assert!(matches!(e, ServiceError::WrongPassword), "{e}");
        }
        // The name is throttled now, for logins and password checks alike.
        let e = change("tulip ferry orbit", "a brand new one", t0)
            .err()
            .unwrap();
        assert!(matches!(e, ServiceError::Throttled { .. }), "{e}");
        let later = t0 + Duration::from_secs(1);
        assert_eq!(
            change("tulip ferry orbit", "a brand new one", later).unwrap(),
            1
        );
        let store = &f.temp.store;
        assert!(store.find_session(&keep, ctx.now).unwrap().is_some());
        let other_hash = token::token_hash(other.token.expose_secret());
        assert!(store.find_session(&other_hash, ctx.now).unwrap().is_none());
        assert!(
            f.accounts
                .login(&f.ctx(later), &anon(), "alice", &pw("a brand new one"))
                .is_ok()
        );
        let trail = actions(&f, &id);
        assert!(
            trail.contains(&"account.password_change:denied".to_string()),
            "{trail:?}"
        );
        assert!(
            trail.contains(&"account.password_change:ok".to_string()),
            "{trail:?}"
        );
    }

    #[test]
    fn deletion_needs_the_password() {
        let f = Fixture::new("svc-delete");
        let t0 = Instant::now();
        let ctx = f.ctx(t0);
        let user = f
            .accounts
            .register(&ctx, &anon(), "alice".into(), &pw("tulip ferry orbit"))
            .unwrap();
        let e = f
            .accounts
            .delete_account(&ctx, &anon(), &user.id, &pw("not it at all"))
            .err()
            .unwrap();
        assert!(matches!(e, ServiceError::WrongPassword), "{e}");
        assert!(f.temp.store.find_user_by_id(&user.id).unwrap().is_some());
        f.accounts
            .delete_account(&ctx, &anon(), &user.id, &pw("tulip ferry orbit"))
            .unwrap();
        assert!(f.temp.store.find_user_by_id(&user.id).unwrap().is_none());
        // A session whose account is gone gets nowhere.
        let e = f
            .accounts
            .delete_account(&ctx, &anon(), &user.id, &pw("tulip ferry orbit"))
            .err()
            .unwrap();
        assert!(matches!(e, ServiceError::BadCredentials), "{e}");
        let e = f
            .accounts
            .register(&ctx, &anon(), "alice".into(), &pw("another good one"))
            .err()
            .unwrap();
        assert!(matches!(e, ServiceError::UsernameTaken), "{e}");
    }
}
