//! Per-operation cost of the pieces a request pays for: sealing and opening a value with a
//! data key, wrapping and unwrapping a data key under the age master identity (the envelope
//! comparison), scrypt password hashing at the default parameters, and secret writes and
//! reads through redb.
//!
//! Run with `cargo bench --bench core` (about two minutes). Sample counts and measurement
//! times are kept small on purpose: the numbers are for orders of magnitude, not for
//! detecting 1% regressions. Store benchmarks use a temporary directory on the same
//! filesystem as `/tmp`, so `create_secret` pays a real fsync per commit there.

use secretctl::ids::{Owner, SecretId};
use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use secretctl::crypto::keyring::{DataKey, Keyring, SealContext};
use secretctl::crypto::master::MasterKey;
use secretctl::crypto::password::{KdfParams, PasswordHasher};
use secretctl::sensitive::SecretString;
use secretctl::store::{NewSecret, Store};

const VALUE_LEN: usize = 1024;
const OWNER: &str = "bench-owner";
/// Secrets preloaded before the read benchmarks, so lookups walk a non-trivial B-tree.
const PRELOADED_SECRETS: usize = 100;

fn keyring() -> Keyring {
    let mut keys = BTreeMap::new();
    keys.insert(1, DataKey::generate().expect("generate data key"));
    Keyring::new(1, keys).expect("keyring with its active key")
}

/// A context shaped like the store's: purpose, owner, 32-hex-char id, big-endian version.
fn seal_context_parts() -> [Vec<u8>; 3] {
    [
        OWNER.as_bytes().to_vec(),
        b"0123456789abcdef0123456789abcdef".to_vec(),
        1u64.to_be_bytes().to_vec(),
    ]
}

fn seal_open(c: &mut Criterion) {
    let ring = keyring();
    let parts = seal_context_parts();
    let part_refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    let ctx = SealContext {
        purpose: "secretctl/secret-value/v1",
        parts: &part_refs,
    };
    let plaintext = vec![0x5a_u8; VALUE_LEN];
    let sealed = ring.seal(&plaintext, &ctx).expect("seal");

    let mut group = c.benchmark_group("value");
    group
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .throughput(Throughput::Bytes(VALUE_LEN as u64));
    group.bench_function("seal_1KiB", |b| {
        b.iter(|| ring.seal(black_box(&plaintext), &ctx).expect("seal"))
    });
    group.bench_function("open_1KiB", |b| {
        b.iter(|| ring.open(black_box(&sealed), &ctx).expect("open"))
    });
    group.finish();
}

fn age_envelope(c: &mut Criterion) {
    let dir = tempfile::TempDir::new().expect("temp dir");
    let master =
        MasterKey::create(&dir.path().join("master.key"), None).expect("create master key");
    let key = DataKey::generate().expect("generate data key");
    let wrapped = master.wrap(&key).expect("wrap");

    let mut group = c.benchmark_group("master_key");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    group.bench_function("age_wrap_data_key", |b| {
        b.iter(|| master.wrap(black_box(&key)).expect("wrap"))
    });
    group.bench_function("age_unwrap_data_key", |b| {
        b.iter(|| master.unwrap_key(black_box(&wrapped)).expect("unwrap"))
    });
    group.finish();
}

fn password_hashing(c: &mut Criterion) {
    // One running, one waiting: the benchmark is single-threaded, so the gate never refuses.
    let hasher = PasswordHasher::new(KdfParams::DEFAULT, 1, 1).expect("hasher");
    let password = SecretString::from("correct horse battery staple");
    let stored = hasher.hash(&password).expect("hash");

    let mut group = c.benchmark_group("password");
    // ~100-200 ms per call: flat sampling runs the same few iterations per sample instead of
    // criterion's linear ramp, which would take minutes at this cost.
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(6));
    group.bench_function("scrypt_hash_default", |b| {
        b.iter(|| hasher.hash(black_box(&password)).expect("hash"))
    });
    group.bench_function("scrypt_verify_default", |b| {
        b.iter(|| {
            hasher
                .verify(black_box(&password), Some(&stored))
                .expect("verify")
        })
    });
    group.finish();
}

fn new_secret(name: String) -> NewSecret {
    NewSecret {
        name,
        description: String::new(),
        tags: Vec::new(),
        value: SecretString::from("v".repeat(VALUE_LEN)),
    }
}

fn store_ops(c: &mut Criterion) {
    let dir = tempfile::TempDir::new().expect("temp dir");
    let store = Store::open(
        &dir.path().join("bench.redb"),
        &dir.path().join("master.key"),
    )
    .expect("open store");
    let owner = Owner::new(OWNER);
    let ids: Vec<SecretId> = (0..PRELOADED_SECRETS)
        .map(|i| {
            store
                .create_secret(
                    &owner,
                    new_secret(format!("preloaded/{i:04}")),
                    &bench_actor(),
                    0,
                )
                .expect("preload secret")
                .id
        })
        .collect();
    let target = &ids[ids.len() / 2];
    // Listing cost grows with the owner's secret count; keep a separate owner at exactly 100
    // so the create benchmark below does not change what the list benchmark measures.
    let list_owner = Owner::new("bench-list-owner");
    for i in 0..PRELOADED_SECRETS {
        store
            .create_secret(
                &list_owner,
                new_secret(format!("list/{i:04}")),
                &bench_actor(),
                0,
            )
            .expect("preload secret");
    }
    // Names must be unique per owner; a counter keeps every create on the success path.
    let counter = AtomicU64::new(0);

    let mut group = c.benchmark_group("store");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(4));
    group.bench_function("create_secret_1KiB_durable", |b| {
        b.iter(|| {
            let n = counter.fetch_add(1, Ordering::Relaxed);
            store
                .create_secret(&owner, new_secret(format!("bench/{n}")), &bench_actor(), 0)
                .expect("create secret")
        })
    });
    group.bench_function("get_secret_1KiB", |b| {
        b.iter(|| {
            store
                .get_secret(&owner, black_box(target), &bench_actor(), 0)
                .expect("get secret")
        })
    });
    group.bench_function("list_secrets_100", |b| {
        b.iter(|| {
            let listed = store
                .list_secrets(black_box(&list_owner), None, None)
                .expect("list secrets");
            assert_eq!(listed.len(), PRELOADED_SECRETS);
            listed
        })
    });
    group.finish();
}

criterion_group!(
    benches,
    seal_open,
    age_envelope,
    password_hashing,
    store_ops
);
criterion_main!(benches);

/// Whoever the audit trail records for benchmark operations.
fn bench_actor() -> secretctl::store::Actor {
    secretctl::store::Actor {
        user_id: Some(OWNER.to_string()),
        ip: "127.0.0.1".into(),
        user_agent: "bench".into(),
        actor_name: None,
    }
}
