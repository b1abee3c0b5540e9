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
    let version = cmd.get_version().unwrap_or("").to_string();
    sub_pages(&cmd, "secretctl", &version, &mut out);
    out
}

/// A page per subcommand, nested ones too (`secretctl-admin-seal-key.1`).
fn sub_pages(cmd: &clap::Command, prefix: &str, version: &str, out: &mut Vec<(String, Vec<u8>)>) {
    for sub in cmd.get_subcommands() {
        let name = format!("{prefix}-{}", sub.get_name());
        // The version names the release in the page footer; only `secretctl` itself takes
        // --version, so the subcommand pages must not list the flag.
        let page = man_page(
            sub.clone()
                .name(name.clone())
                .version(version.to_string())
                .disable_version_flag(true),
        );
        out.push((format!("man/{name}.1"), page));
        sub_pages(sub, &name, version, out);
    }
}

fn man_page(cmd: clap::Command) -> Vec<u8> {
    let mut buf = Vec::new();
    // Rendering into a Vec cannot fail.
    let _ = clap_mangen::Man::new(cmd).render(&mut buf);
    buf
}
