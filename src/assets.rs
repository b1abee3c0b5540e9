//! Generated documentation: shell completions and man pages, rendered from the clap
//! definitions. The committed copies under `completions/` and `man/` are checked against
//! this by the test suite (`SECRETCTL_BLESS=1 cargo test assets` rewrites them).

use clap_complete::Shell;

/// Every generated file as (path relative to the repository root, contents).
pub fn render() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for (shell, file) in [
        (Shell::Bash, "completions/secretctl.bash"),
        (Shell::Zsh, "completions/_secretctl"),
        (Shell::Fish, "completions/secretctl.fish"),
    ] {
        let mut buf = Vec::new();
        clap_complete::generate(shell, &mut crate::cli::command(), "secretctl", &mut buf);
        out.push((file.to_string(), buf));
    }
    let cmd = crate::cli::command();
    out.push(("man/secretctl.1".to_string(), man_page(cmd.clone())));
    for sub in cmd.get_subcommands() {
        let name = format!("secretctl-{}", sub.get_name());
        let version = cmd.get_version().unwrap_or("").to_string();
        let page = man_page(sub.clone().name(name.clone()).version(version));
        out.push((format!("man/{name}.1"), page));
    }
    out
}

fn man_page(cmd: clap::Command) -> Vec<u8> {
    let mut buf = Vec::new();
    // Rendering into a Vec cannot fail.
    let _ = clap_mangen::Man::new(cmd).render(&mut buf);
    buf
}
