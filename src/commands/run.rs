//! `secretctl run -- CMD`: starts CMD with secrets in its environment (and in private
//! files), passes SIGINT/SIGTERM/SIGHUP on to it, masks secret values in its output when
//! that goes to a log, and exits with its status (128+N when it dies of signal N).
//!
//! Invariants: CMD never starts unless every secret was fetched (one request); the secret
//! files' directory is removed whenever CMD has exited, whatever the way; a signal is only
//! ever sent to CMD's pid while CMD is not yet reaped, so never to a recycled pid; nothing of
//! secretctl's own goes to stdout.

use std::io::{IsTerminal, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal, WaitId, WaitIdOptions};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::exfiltrator::WithOrigin;
use signal_hook::iterator::{Handle, SignalsInfo};
use signal_hook::low_level::siginfo::Cause;
use zeroize::Zeroizing;

use super::CliError;
use super::context::Context;
use super::mask::{self, Masker};
use super::refs::{self, Assignment, Wanted};
use crate::cli::RunArgs;
use crate::sensitive::ExposeSecret;

/// How long a possible start of a secret value is held back before it is written as is.
const MASK_IDLE: Duration = Duration::from_millis(200);

/// After CMD exits, how long its output pipes may stay open (held by a process it left
/// running in the background) before secretctl stops reading them and exits.
const DRAIN_GRACE: Duration = Duration::from_secs(2);

/// `secretctl run`.
pub fn run(ctx: &Context, args: &RunArgs) -> Result<(), CliError> {
    let env_bindings = args
        .env
        .iter()
        .map(|s| refs::parse_binding(s, "--env"))
        .collect::<Result<Vec<_>, _>>()?;
    let file_bindings = args
        .files
        .iter()
        .map(|s| refs::parse_binding(s, "--file"))
        .collect::<Result<Vec<_>, _>>()?;
    if env_bindings.is_empty() && file_bindings.is_empty() && args.prefix.is_none() {
        return Err(CliError::Usage(
            "no secrets selected: give --env VAR=REF, --file VAR=REF or --prefix P".into(),
        ));
    }
    let mut wanted: Vec<Wanted> = env_bindings
        .iter()
        .chain(&file_bindings)
        .map(|(var, reference)| Wanted::Explicit { var, reference })
        .collect();
    if let Some(prefix) = args.prefix.as_deref() {
        wanted.push(Wanted::Prefix {
            prefix,
            strip: args.strip_prefix,
        });
    }
    let all_refs: Vec<String> = env_bindings
        .iter()
        .chain(&file_bindings)
        .map(|(_, r)| r.clone())
        .collect();

    let client = ctx.authenticated()?;
    let fetched = refs::fetch(
        &client,
        &all_refs,
        args.prefix.as_deref(),
        args.team.team.as_deref(),
    )?;
    let assigned = refs::assign(&fetched, &wanted)?;
    for a in &assigned {
        if std::env::var_os(&a.var).is_some() && !args.override_env {
            return Err(CliError::Usage(format!(
                "{} is already set in the environment; pass --override to replace it",
                a.var
            )));
        }
        refs::refuse_nul(a)?;
    }
    let (files, env): (Vec<&Assignment>, Vec<&Assignment>) = assigned
        .iter()
        .partition(|a| file_bindings.iter().any(|(var, _)| *var == a.var));

    let masking = Masking::decide(args);
    let values: Vec<&str> = assigned
        .iter()
        .map(|a| a.secret.secret.value.expose_secret())
        .collect();
    if masking.any() {
        for a in &assigned {
            if !mask::maskable(a.secret.secret.value.expose_secret()) {
                eprintln!(
                    "secretctl: not masking {} (`{}`): values shorter than {} bytes are not masked",
                    a.var,
                    a.secret.reference,
                    mask::MIN_MASK_LEN
                );
            }
        }
    }
    let masking = if values.iter().any(|v| mask::maskable(v)) {
        masking
    } else {
        Masking::default()
    };
    launch(&args.command, &env, &files, masking, &values)
}

/// Starts `command` with the `env` variables and the `files`, masks its output as
/// `masking` says, waits for it, and turns its exit status into ours.
fn launch(
    command: &[String],
    env: &[&Assignment],
    files: &[&Assignment],
    masking: Masking,
    values: &[&str],
) -> Result<(), CliError> {
    // Handlers first: a signal that arrives from here on is either passed on to CMD or
    // stops secretctl before CMD starts, and the files are removed in both cases.
    let forwarder = Forwarder::install()?;
    let secret_files = SecretFiles::create(files)?;

    let mut cmd = Command::new(&command[0]);
    cmd.args(&command[1..]);
    for a in env {
        cmd.env(&a.var, a.secret.secret.value.expose_secret());
    }
    for (var, path) in &secret_files.paths {
        cmd.env(var, path);
    }
    if masking.stdout {
        cmd.stdout(Stdio::piped());
    }
    if masking.stderr {
        cmd.stderr(Stdio::piped());
    }
    let mut child = match forwarder.spawn(&mut cmd) {
        Ok(child) => child,
        Err(Spawn::Signalled(sig)) => {
            secret_files.remove();
            eprintln!("secretctl: interrupted before the command started");
            return Err(CliError::CommandExited(signal_status(sig)));
        }
        Err(Spawn::Failed(e)) => {
            secret_files.remove();
            // The shell's codes: 127 not found, 126 found but not runnable.
            let code = if e.kind() == std::io::ErrorKind::NotFound {
                127
            } else {
                126
            };
            eprintln!("error: cannot run `{}`: {e}", command[0]);
            return Err(CliError::CommandExited(code));
        }
    };
    let mut pumps = Vec::new();
    if let Some(out) = child.stdout.take() {
        pumps.push(Pump::start(out, Stream::Stdout, values));
    }
    if let Some(err) = child.stderr.take() {
        pumps.push(Pump::start(err, Stream::Stderr, values));
    }
    let status = forwarder.wait(&mut child);
    // While the handlers are still ours: a signal now cannot stop the removal.
    secret_files.remove();
    Pump::finish_all(pumps);
    drop(forwarder);
    let status = status.map_err(|e| CliError::Other(format!("waiting for the command: {e}")))?;
    match exit_code(status) {
        0 => Ok(()),
        code => Err(CliError::CommandExited(code)),
    }
}

/// CMD's status as an exit code: its own, or 128+N for signal N.
fn exit_code(status: ExitStatus) -> u8 {
    match (status.code(), status.signal()) {
        (Some(code), _) => (code & 0xff) as u8,
        (None, Some(sig)) => signal_status(sig),
        (None, None) => 1,
    }
}

fn signal_status(sig: i32) -> u8 {
    u8::try_from(128 + sig).unwrap_or(255)
}

/// Which of CMD's output streams are masked.
#[derive(Default, Clone, Copy)]
struct Masking {
    stdout: bool,
    stderr: bool,
}

impl Masking {
    /// A stream is masked when it goes somewhere other than a terminal (a log), or always
    /// with --mask; never with --no-masking.
    fn decide(args: &RunArgs) -> Masking {
        if args.no_masking {
            return Masking::default();
        }
        Masking {
            stdout: args.mask || !std::io::stdout().is_terminal(),
            stderr: args.mask || !std::io::stderr().is_terminal(),
        }
    }

    fn any(self) -> bool {
        self.stdout || self.stderr
    }
}

/// The private directory holding `--file` secrets; removed on drop.
struct SecretFiles {
    dir: Option<PathBuf>,
    /// (variable, path of its file).
    paths: Vec<(String, PathBuf)>,
}

impl SecretFiles {
    /// Writes each value to DIR/VAR/BASENAME (0600) in a new directory DIR (0700); the
    /// base name of the secret keeps extensions tools may look at (`.pem`, `.json`).
    fn create(files: &[&Assignment]) -> Result<SecretFiles, CliError> {
        let mut out = SecretFiles {
            dir: None,
            paths: Vec::new(),
        };
        if files.is_empty() {
            return Ok(out);
        }
        let fail = |what: &str, e: std::io::Error| {
            CliError::Other(format!("cannot create the secret files ({what}): {e}"))
        };
        let id = crate::crypto::token::new_id().map_err(|e| CliError::Other(e.to_string()))?;
        let dir = std::env::temp_dir().join(format!("secretctl-run-{id}"));
        // `create`, not `create_all`: the directory must be new, and ours.
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&dir)
            .map_err(|e| fail("directory", e))?;
        out.dir = Some(dir.clone());
        for a in files {
            let sub = dir.join(&a.var);
            std::fs::DirBuilder::new()
                .mode(0o700)
                .create(&sub)
                .map_err(|e| fail("directory", e))?;
            let base = refs::name_part(&a.secret.reference)
                .rsplit('/')
                .next()
                .filter(|b| !b.is_empty() && *b != "." && *b != "..")
                .unwrap_or("value");
            let path = sub.join(base);
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
                .map_err(|e| fail("file", e))?;
            f.write_all(a.secret.secret.value.expose_secret().as_bytes())
                .map_err(|e| fail("file", e))?;
            out.paths.push((a.var.clone(), path));
        }
        Ok(out)
    }

    /// Removes the directory, saying so on stderr if that fails.
    fn remove(mut self) {
        if let Some(dir) = self.dir.take()
            && let Err(e) = std::fs::remove_dir_all(&dir)
        {
            eprintln!(
                "secretctl: could not remove the secret files in {}: {e}",
                dir.display()
            );
        }
    }
}

impl Drop for SecretFiles {
    fn drop(&mut self) {
        if let Some(dir) = self.dir.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// What the signal thread and the main thread share about CMD.
#[derive(Default)]
struct ChildState {
    pid: Option<Pid>,
    /// Set (under the lock) just before CMD is reaped: from then on its pid may be reused.
    reaped: bool,
    /// A signal that came before CMD started: CMD is not started.
    early: Option<i32>,
}

/// Catches SIGINT, SIGTERM and SIGHUP while CMD runs and passes them on.
struct Forwarder {
    state: Arc<Mutex<ChildState>>,
    handle: Handle,
    thread: Option<JoinHandle<()>>,
}

enum Spawn {
    Signalled(i32),
    Failed(std::io::Error),
}

impl Forwarder {
    fn install() -> Result<Forwarder, CliError> {
        let mut signals = SignalsInfo::<WithOrigin>::new([SIGINT, SIGTERM, SIGHUP])
            .map_err(|e| CliError::Other(format!("cannot install signal handlers: {e}")))?;
        let handle = signals.handle();
        let state = Arc::new(Mutex::new(ChildState::default()));
        let shared = Arc::clone(&state);
        let thread = std::thread::spawn(move || {
            for origin in signals.forever() {
                let mut s = lock(&shared);
                match s.pid {
                    // The terminal's Ctrl-C (or hangup) is sent by the kernel to the whole
                    // foreground process group: CMD has it already, a second one would be
                    // read as "I mean it" by many programs.
                    Some(_) if origin.cause == Cause::Kernel => {}
                    Some(pid) if !s.reaped => {
                        if let Some(sig) = Signal::from_named_raw(origin.signal) {
                            let _ = rustix::process::kill_process(pid, sig);
                        }
                    }
                    Some(_) => {}
                    None => {
                        s.early.get_or_insert(origin.signal);
                    }
                }
            }
        });
        Ok(Forwarder {
            state,
            handle,
            thread: Some(thread),
        })
    }

    /// Starts CMD, unless a signal already asked secretctl to stop.
    fn spawn(&self, cmd: &mut Command) -> Result<Child, Spawn> {
        let mut s = lock(&self.state);
        if let Some(sig) = s.early {
            return Err(Spawn::Signalled(sig));
        }
        let child = cmd.spawn().map_err(Spawn::Failed)?;
        s.pid = Some(Pid::from_child(&child));
        Ok(child)
    }

    /// Waits for CMD to exit. It is first waited for without reaping, so that its pid stays
    /// its own while the signal thread may still use it.
    fn wait(&self, child: &mut Child) -> std::io::Result<ExitStatus> {
        let pid = Pid::from_child(child);
        loop {
            match rustix::process::waitid(
                WaitId::Pid(pid),
                WaitIdOptions::EXITED | WaitIdOptions::NOWAIT,
            ) {
                Ok(_) => break,
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        lock(&self.state).reaped = true;
        child.wait()
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        self.handle.close();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn lock(state: &Mutex<ChildState>) -> MutexGuard<'_, ChildState> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

/// One of secretctl's own output streams.
#[derive(Clone, Copy)]
enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    fn write(self, bytes: &[u8]) -> std::io::Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        match self {
            Stream::Stdout => {
                let mut out = std::io::stdout().lock();
                out.write_all(bytes)?;
                out.flush()
            }
            Stream::Stderr => {
                let mut err = std::io::stderr().lock();
                err.write_all(bytes)?;
                err.flush()
            }
        }
    }
}

enum Chunk {
    Data(Zeroizing<Vec<u8>>),
    /// The pipe closed, or secretctl stops waiting for it.
    End,
}

/// Copies one of CMD's output pipes to our stream through a [`Masker`]: a reader thread
/// feeds a masking thread, which writes held bytes out when nothing arrives for
/// [`MASK_IDLE`].
struct Pump {
    feed: Sender<Chunk>,
    masker: JoinHandle<()>,
    done: mpsc::Receiver<()>,
}

impl Pump {
    fn start(mut pipe: impl Read + Send + 'static, stream: Stream, values: &[&str]) -> Pump {
        let (tx, rx) = mpsc::channel::<Chunk>();
        let (done_tx, done) = mpsc::channel();
        let feed = tx.clone();
        std::thread::spawn(move || {
            let mut buf = Zeroizing::new(vec![0u8; 16 * 1024]);
            loop {
                let chunk = match pipe.read(&mut buf) {
                    Ok(0) => Chunk::End,
                    Ok(n) => Chunk::Data(Zeroizing::new(buf[..n].to_vec())),
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(_) => Chunk::End,
                };
                let end = matches!(chunk, Chunk::End);
                // Once the masking side has stopped (our output is gone), dropping the pipe
                // lets CMD see a broken pipe, as it would writing to ours directly.
                if tx.send(chunk).is_err() || end {
                    break;
                }
            }
        });
        let mut masker = Masker::new(values.iter().copied());
        let masker = std::thread::spawn(move || {
            loop {
                let next = if masker.holding() {
                    rx.recv_timeout(MASK_IDLE)
                } else {
                    rx.recv().map_err(|_| RecvTimeoutError::Disconnected)
                };
                let (out, last) = match next {
                    Ok(Chunk::Data(d)) => (masker.push(&d), false),
                    Err(RecvTimeoutError::Timeout) => (masker.flush_idle(), false),
                    Ok(Chunk::End) | Err(RecvTimeoutError::Disconnected) => (masker.finish(), true),
                };
                if stream.write(&out).is_err() || last {
                    break;
                }
            }
            let _ = done_tx.send(());
        });
        Pump { feed, masker, done }
    }

    /// Waits for the pumps to reach the end of CMD's output, at most [`DRAIN_GRACE`], then
    /// ends them (writing what they hold).
    fn finish_all(pumps: Vec<Pump>) {
        let deadline = Instant::now() + DRAIN_GRACE;
        for p in &pumps {
            let left = deadline.saturating_duration_since(Instant::now());
            if p.done.recv_timeout(left).is_err() {
                let _ = p.feed.send(Chunk::End);
            }
        }
        for p in pumps {
            let _ = p.feed.send(Chunk::End);
            let _ = p.masker.join();
        }
    }
}
