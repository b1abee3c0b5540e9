//! The committed completions and man pages match what the clap definitions generate.
//! `SECRETCTL_BLESS=1 cargo test assets` rewrites them.

use std::path::Path;

#[test]
fn assets_are_current() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bless = std::env::var_os("SECRETCTL_BLESS").is_some();
    let mut stale = Vec::new();
    for (rel, contents) in secretctl::assets::render() {
        let path = root.join(&rel);
        if bless {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &contents).unwrap();
        } else if std::fs::read(&path).ok().as_deref() != Some(contents.as_slice()) {
            stale.push(rel);
        }
    }
    assert!(
        stale.is_empty(),
        "stale generated files {stale:?}: run `SECRETCTL_BLESS=1 cargo test assets` and commit"
    );
}
