//! Accounts: registration, the login policy and sessions.
//!
//! Login policy: over-long input is refused before any work; each attempt is counted
//! against its name before hashing, and a throttled name is refused before any hashing; an unknown name is hashed against a dummy hash, so it costs the same
//! and answers the same as a wrong password; every failure is audited (against the account's
//! owner when the name exists, never with the typed text otherwise).

use crate::crypto::token::{self, SESSION_PREFIX};
use crate::ids::UserId;
use crate::sensitive::{ExposeSecret, SecretString};
use crate::store::{Action, Actor, Event, Outcome, Session, UserRecord};

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
        };
        ctx.store.create_user(&user, actor)?;
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
        attempt.succeeded();
        let token = token::new_token(SESSION_PREFIX)?;
        let session = Session {
            user_id: user.id.clone(),
            created_at: ctx.now,
            expires_at: ctx.now + self.session_ttl_secs,
        };
        let actor = Actor {
            user_id: Some(user.id.into_string()),
            ..actor.clone()
        };
        ctx.store
            .create_session(&token::token_hash(token.expose_secret()), &session, &actor)?;
        Ok(LoggedIn { token, session })
    }

    /// Revokes the session behind `token`.
    pub fn logout(&self, ctx: &Ctx, actor: &Actor, token: &str) -> Result<(), ServiceError> {
        ctx.store
            .delete_session(&token::token_hash(token), actor, ctx.now)?;
        Ok(())
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
}
