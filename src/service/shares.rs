//! Share links: how one is made, and what an attempt to redeem one comes to.
//!
//! Making a link: a 256-bit token (shown once; the store keeps only its lookup hash), an
//! optional passphrase stretched with a fresh salt, a key derived from both, and a snapshot
//! of the secret's name and value sealed under it. The server can therefore not open a
//! snapshot without the link. Redeeming: a passphrase-protected link without a passphrase
//! consumes nothing; a wrong one counts towards destroying the link; unknown, expired,
//! used-up and revoked links are one `NotFound`. Every outcome is audited by the store.

use crate::ids::{Owner, SecretId, ShareId, ShareLookup};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::crypto::{share, token};
use crate::sensitive::{ExposeSecret, SecretString};
use crate::store::{
    Action, Actor, Event, MAX_WRONG_PASSPHRASES, Outcome, Redemption, ShareRecord, StoreError,
};

use super::passwords;
use super::{Ctx, ServiceError};

/// Link lifetime bounds and default, in seconds.
pub const EXPIRES_IN_DEFAULT: u64 = 3600;
pub const EXPIRES_IN_RANGE: std::ops::RangeInclusive<u64> = 60..=604_800;
/// View-count bounds and default.
pub const MAX_VIEWS_DEFAULT: u32 = 1;
pub const MAX_VIEWS_RANGE: std::ops::RangeInclusive<u32> = 1..=100;

/// What the sealed snapshot holds: the secret's name and value at share time.
#[derive(Serialize, Deserialize)]
pub struct Snapshot {
    pub name: String,
    #[serde(serialize_with = "crate::sensitive::expose")]
    pub value: SecretString,
}

/// What the owner asks for; `None` takes the default.
#[derive(Default)]
pub struct ShareRequest {
    pub expires_in: Option<u64>,
    pub max_views: Option<u32>,
    pub passphrase: Option<SecretString>,
}

/// A link just made: its record, and the token that is shown to the owner once.
pub struct NewShare {
    pub record: ShareRecord,
    pub token: SecretString,
}

/// A live link found by its token: its lookup hash and record.
pub struct LiveShare {
    pub lookup: ShareLookup,
    pub record: ShareRecord,
}

/// What one redemption attempt came to.
pub enum Attempt {
    /// One view consumed.
    Redeemed {
        snapshot: Snapshot,
        share: ShareRecord,
    },
    /// The link needs a passphrase and none was given; nothing consumed.
    PassphraseMissing,
    /// Wrong passphrase; nothing consumed, one try used up.
    WrongPassphrase { tries_left: u32, destroyed: bool },
    /// The caller's view of the link is out of date (another view was used since).
    Stale,
    /// Unknown, expired, used up or revoked: deliberately one answer.
    NotFound,
}

/// Checks the owner's request against the link rules.
fn check(req: &ShareRequest) -> Result<(u64, u32), ServiceError> {
    let expires_in = req.expires_in.unwrap_or(EXPIRES_IN_DEFAULT);
    if !EXPIRES_IN_RANGE.contains(&expires_in) {
        return Err(ServiceError::Invalid(
            "expires_in must be between 60 and 604800 seconds",
        ));
    }
    let max_views = req.max_views.unwrap_or(MAX_VIEWS_DEFAULT);
    if !MAX_VIEWS_RANGE.contains(&max_views) {
        return Err(ServiceError::Invalid("max_views must be between 1 and 100"));
    }
    if let Some(p) = &req.passphrase {
        passwords::share_passphrase(p)?;
    }
    Ok((expires_in, max_views))
}

/// Makes a link to `owner`'s secret `secret_id`. A secret the owner does not have is
/// audited as a miss and is `NotFound`, exactly like a missing one.
pub fn create(
    ctx: &Ctx,
    actor: &Actor,
    owner: &Owner,
    secret_id: &SecretId,
    req: ShareRequest,
) -> Result<NewShare, ServiceError> {
    let (expires_in, max_views) = check(&req)?;
    // The snapshot is taken without a `secret.read` event: `share.create` records it.
    let (secret, value) = match ctx.store.peek_secret(owner, secret_id) {
        Err(StoreError::NotFound) => {
            return Err(ctx
                .store
                .record_miss(actor, Action::ShareCreate, secret_id, ctx.now)
                .into());
        }
        other => other?,
    };
    let tok = share::new_token()?;
    let tok_text = tok.expose_secret();
    let salt = req
        .passphrase
        .as_ref()
        .map(|_| share::new_salt())
        .transpose()?;
    let stretched = match (&req.passphrase, &salt) {
        (Some(p), Some(s)) => Some(ctx.hasher.stretch(p, s)?),
        _ => None,
    };
    let key = share::snapshot_key(tok_text, stretched.as_deref());
    let record = ShareRecord {
        id: ShareId::new(token::new_id()?),
        secret_id: secret.id.clone(),
        owner: owner.clone(),
        created_at: ctx.now,
        expires_at: ctx.now + expires_in as i64,
        max_views,
        views_left: max_views,
        passphrase_salt: salt,
        wrong_passphrases: 0,
    };
    let plaintext = Zeroizing::new(
        serde_json::to_vec(&Snapshot {
            name: secret.name,
            value,
        })
        .map_err(ServiceError::Snapshot)?,
    );
    let sealed = share::seal_snapshot(&key, &record.id, &plaintext)?;
    ctx.store
        .create_share(owner, &share::lookup(tok_text), &record, &sealed, actor)?;
    Ok(NewShare { record, token: tok })
}

/// The live link behind `token`, if any; reads only, records nothing. A link of an account
/// an operator disabled without `--keep-links` is no link at all, to everyone.
pub fn find_live(ctx: &Ctx, token: &str) -> Result<Option<LiveShare>, ServiceError> {
    Ok(match look_up(ctx, token)? {
        Lookup::Live(share) => Some(share),
        Lookup::Absent | Lookup::Suspended => None,
    })
}

/// What a token points at.
enum Lookup {
    /// No live link (never was, or dead).
    Absent,
    /// A live link whose owner an operator disabled without `--keep-links`.
    Suspended,
    Live(LiveShare),
}

fn look_up(ctx: &Ctx, token: &str) -> Result<Lookup, ServiceError> {
    if !share::plausible_token(token) {
        return Ok(Lookup::Absent);
    }
    let lookup = share::lookup(token);
    let Some(record) = ctx.store.find_share(&lookup, ctx.now)? else {
        return Ok(Lookup::Absent);
    };
    // A disabled user's links stop unless the operator kept them; a team's links belong to
    // no one person, so disabling one member does not touch them.
    let suspended = match record.owner.user_id() {
        Some(user) => ctx
            .store
            .find_user_by_id(&user)?
            .is_some_and(|u| u.links_suspended()),
        None => false,
    };
    Ok(match suspended {
        true => Lookup::Suspended,
        false => Lookup::Live(LiveShare { lookup, record }),
    })
}

fn share_event(action: Action, share: &ShareRecord) -> Event {
    Event::ok(
        action,
        Some(format!("share:{}", share.id)),
        Some(&share.owner),
    )
}

/// Records that someone looked at the confirmation page of `share`. A look consumes
/// nothing, but the owner sees that the link was opened.
pub fn record_page_view(ctx: &Ctx, actor: &Actor, share: &ShareRecord) -> Result<(), ServiceError> {
    let event = share_event(Action::SharePageView, share);
    ctx.store.record_event(actor, event, ctx.now)?;
    Ok(())
}

/// One redemption attempt. `expected_views` (from a page's nonce) makes it a
/// compare-and-swap, so a double submit of one page spends at most one view.
pub fn redeem(
    ctx: &Ctx,
    actor: &Actor,
    token: &str,
    passphrase: Option<&SecretString>,
    expected_views: Option<u32>,
) -> Result<Attempt, ServiceError> {
    let found = match look_up(ctx, token)? {
        // A suspended link must not reach the store's redemption below, which would spend
        // it: it answers like an unknown one, and is not audited (nothing happened to it).
        Lookup::Suspended => return Ok(Attempt::NotFound),
        Lookup::Live(share) => Some(share.record),
        Lookup::Absent => None,
    };
    // A dead or unknown link: only the address's first attempt this minute is recorded (the
    // store audits it, against the owner when a tombstone remembers the link); the rest are
    // the same 404 without a write, so guessing tokens cannot fill the disk.
    if found.is_none() && !ctx.anonymous.dead_link(&actor.ip, ctx.now) {
        return Ok(Attempt::NotFound);
    }
    let stretched = match (&found, passphrase) {
        (Some(found), None) if found.passphrase_salt.is_some() => {
            let event = share_event(Action::ShareWrongPassphrase, found).outcome(Outcome::Missing);
            ctx.store.record_event(actor, event, ctx.now)?;
            return Ok(Attempt::PassphraseMissing);
        }
        // Stretched before the write transaction, so the slow KDF never holds the write lock.
        (
            Some(ShareRecord {
                passphrase_salt: Some(salt),
                ..
            }),
            Some(p),
        ) => Some(ctx.hasher.stretch(p, salt)?),
        _ => None,
    };
    let lookup = share::lookup(token);
    let key = share::snapshot_key(token, stretched.as_deref());
    // Unknown and dead tokens go through the store too: it audits them (against the owner,
    // when a tombstone remembers the share) and answers NotFound.
    let outcome = ctx.store.redeem_share(
        &lookup,
        expected_views,
        actor,
        ctx.now,
        move |rec, sealed| share::open_snapshot(&key, &rec.id, sealed),
    )?;
    Ok(match outcome {
        Redemption::Redeemed { share, plaintext } => {
            let snapshot: Snapshot =
                serde_json::from_slice(&plaintext).map_err(ServiceError::Snapshot)?;
            Attempt::Redeemed { snapshot, share }
        }
        Redemption::WrongPassphrase { share, destroyed } => Attempt::WrongPassphrase {
            tries_left: MAX_WRONG_PASSPHRASES.saturating_sub(share.wrong_passphrases),
            destroyed,
        },
        Redemption::Stale => Attempt::Stale,
        Redemption::NotFound => Attempt::NotFound,
    })
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::crypto::password::{KdfParams, PasswordHasher};
    use crate::service::anonymous_audit::AnonymousAudit;
    use crate::store::NewSecret;
    use crate::store::test_support::{TempStore, actor, temp_store};

    const NOW: i64 = 1_700_000_000;

    struct Fixture {
        temp: TempStore,
        hasher: PasswordHasher,
        anonymous: AnonymousAudit,
        secret_id: SecretId,
    }

    impl Fixture {
        fn new(tag: &str) -> Self {
            let temp = temp_store(tag);
            let secret = temp
                .store
                .create_secret(
                    &crate::ids::Owner::new("u1"),
                    NewSecret {
                        name: "db/password".into(),
                        description: String::new(),
                        tags: vec![],
                        value: SecretString::from("s3cr3t-value"),
                    },
                    &actor(),
                    NOW,
                )
                .unwrap();
            Fixture {
                temp,
                hasher: PasswordHasher::new(KdfParams::INSECURE_TEST_ONLY, 4, 16).unwrap(),
                anonymous: AnonymousAudit::default(),
                secret_id: secret.id,
            }
        }

        fn ctx(&self) -> Ctx<'_> {
            Ctx {
                store: &self.temp.store,
                hasher: &self.hasher,
                anonymous: &self.anonymous,
                now: NOW,
                tick: Instant::now(),
            }
        }

        fn share(&self, req: ShareRequest) -> Result<NewShare, ServiceError> {
            create(&self.ctx(), &actor(), &"u1".into(), &self.secret_id, req)
        }
    }

    fn stranger() -> Actor {
        Actor {
            user_id: None,
            ip: "198.51.100.9".into(),
            user_agent: "unit".into(),
            actor_name: None,
        }
    }

    fn pass(s: &str) -> SecretString {
        SecretString::from(s.to_string())
    }

    #[test]
    fn a_link_opens_once_and_then_is_not_found() {
        let f = Fixture::new("svc-share-once");
        let new = f.share(ShareRequest::default()).unwrap();
        assert_eq!(new.record.max_views, 1);
        assert_eq!(new.record.expires_at, NOW + EXPIRES_IN_DEFAULT as i64);
        let tok = new.token.expose_secret();
        let live = find_live(&f.ctx(), tok).unwrap().unwrap();
        assert_eq!(live.record.id, new.record.id);
        match redeem(&f.ctx(), &stranger(), tok, None, None).unwrap() {
            Attempt::Redeemed { snapshot, share } => {
                assert_eq!(snapshot.name, "db/password");
                assert_eq!(snapshot.value.expose_secret(), "s3cr3t-value");
                assert_eq!(share.views_left, 0);
            }
            _ => panic!("expected a redemption"),
        }
        assert!(matches!(
            redeem(&f.ctx(), &stranger(), tok, None, None).unwrap(),
            Attempt::NotFound
        ));
        assert!(find_live(&f.ctx(), tok).unwrap().is_none());
        assert!(find_live(&f.ctx(), "not a token").unwrap().is_none());
    }

    #[test]
    fn dead_link_attempts_are_recorded_once_per_address_and_minute() {
        let f = Fixture::new("svc-share-dead");
        let new = f.share(ShareRequest::default()).unwrap();
        let tok = new.token.expose_secret();
        assert!(matches!(
            redeem(&f.ctx(), &stranger(), tok, None, None).unwrap(),
            Attempt::Redeemed { .. }
        ));
        for _ in 0..5 {
            assert!(matches!(
                redeem(&f.ctx(), &stranger(), tok, None, None).unwrap(),
                Attempt::NotFound
            ));
        }
        let used_up = |f: &Fixture| {
            f.temp
                .store
                .audit_for_user(&crate::ids::UserId::new("u1"), 100, None)
                .unwrap()
                .iter()
                .filter(|r| {
                    r.body.action == Action::ShareRedeem && r.body.outcome == Outcome::UsedUp
                })
                .count()
        };
        assert_eq!(used_up(&f), 1, "the owner sees the first attempt");
        let next_minute = Ctx {
            now: NOW + 60,
            ..f.ctx()
        };
        redeem(&next_minute, &stranger(), tok, None, None).unwrap();
        assert_eq!(used_up(&f), 2, "and one a minute after that");
    }

    #[test]
    fn passphrase_rules() {
        let f = Fixture::new("svc-share-pass");
        let new = f
            .share(ShareRequest {
                max_views: Some(2),
                passphrase: Some(pass("tulip ferry orbit")),
                ..ShareRequest::default()
            })
            .unwrap();
        assert!(new.record.passphrase_salt.is_some());
        let tok = new.token.expose_secret();
        assert!(matches!(
            redeem(&f.ctx(), &stranger(), tok, None, None).unwrap(),
            Attempt::PassphraseMissing
        ));
        for left in (1..MAX_WRONG_PASSPHRASES).rev() {
            match redeem(&f.ctx(), &stranger(), tok, Some(&pass("guess")), None).unwrap() {
                Attempt::WrongPassphrase {
                    tries_left,
                    destroyed: false,
                } => assert_eq!(tries_left, left),
                _ => panic!("expected a wrong passphrase"),
            }
        }
        // Still intact: the right passphrase works and spends one of two views.
        match redeem(
            &f.ctx(),
            &stranger(),
            tok,
            Some(&pass("tulip ferry orbit")),
            None,
        )
        .unwrap()
        {
            Attempt::Redeemed { share, .. } => assert_eq!(share.views_left, 1),
            _ => panic!("expected a redemption"),
        }
        assert!(matches!(
            redeem(&f.ctx(), &stranger(), tok, Some(&pass("guess")), None).unwrap(),
            Attempt::WrongPassphrase {
                tries_left: 0,
                destroyed: true
            }
        ));
        assert!(matches!(
            redeem(
                &f.ctx(),
                &stranger(),
                tok,
                Some(&pass("tulip ferry orbit")),
                None
            )
            .unwrap(),
            Attempt::NotFound
        ));
    }

    #[test]
    fn a_stale_page_consumes_nothing() {
        let f = Fixture::new("svc-share-stale");
        let new = f
            .share(ShareRequest {
                max_views: Some(3),
                ..ShareRequest::default()
            })
            .unwrap();
        let tok = new.token.expose_secret();
        assert!(matches!(
            redeem(&f.ctx(), &stranger(), tok, None, Some(2)).unwrap(),
            Attempt::Stale
        ));
        assert!(matches!(
            redeem(&f.ctx(), &stranger(), tok, None, Some(3)).unwrap(),
            Attempt::Redeemed { .. }
        ));
        assert_eq!(
            find_live(&f.ctx(), tok).unwrap().unwrap().record.views_left,
            2
        );
    }

    #[test]
    fn link_bounds_and_foreign_secrets() {
        let f = Fixture::new("svc-share-bounds");
        for req in [
            ShareRequest {
                expires_in: Some(59),
                ..ShareRequest::default()
            },
            ShareRequest {
                expires_in: Some(604_801),
                ..ShareRequest::default()
            },
            ShareRequest {
                max_views: Some(0),
                ..ShareRequest::default()
            },
            ShareRequest {
                max_views: Some(101),
                ..ShareRequest::default()
            },
            ShareRequest {
                passphrase: Some(pass("short")),
                ..ShareRequest::default()
            },
        ] {
            let e = f.share(req).err().unwrap();
            assert!(
                matches!(e, ServiceError::Invalid(_) | ServiceError::Policy(_)),
                "{e}"
            );
        }
        let e = create(
            &f.ctx(),
            &actor(),
            &"u2".into(),
            &f.secret_id,
            ShareRequest::default(),
        )
        .err()
        .unwrap();
        assert!(
            matches!(e, ServiceError::Store(StoreError::NotFound)),
            "someone else's secret is not found: {e}"
        );
    }
}
