//! The client end of the admin channel (see `server::admin_channel`): finds out whether a
//! server runs on a data dir, and sends it one request.
//!
//! "No server" is only a socket that is missing or refuses connections (a stale socket a
//! crash left behind); any other failure (permission denied, say) is an error, so an admin
//! command never falls back to the files while a server may be holding them.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use super::CliError;
use crate::server::admin_channel::{AdminRequest, AdminResponse, socket_path};

/// How long the server may take to start answering (a snapshot of a big database).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(600);

/// A connection to the server running on a data dir.
pub struct Channel {
    reader: BufReader<UnixStream>,
}

/// Connects to the server on `data_dir`; `None` when none is running there.
pub fn connect(data_dir: &Path) -> Result<Option<Channel>, CliError> {
    let path = socket_path(data_dir);
    match UnixStream::connect(&path) {
        Ok(stream) => {
            stream
                .set_read_timeout(Some(ANSWER_TIMEOUT))
                .map_err(|e| channel_error(&path, e))?;
            Ok(Some(Channel {
                reader: BufReader::new(stream),
            }))
        }
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            ) =>
        {
            Ok(None)
        }
        Err(e) => Err(channel_error(&path, e)),
    }
}

/// True when a server answers on `data_dir`'s admin socket.
pub fn server_running(data_dir: &Path) -> Result<bool, CliError> {
    Ok(connect(data_dir)?.is_some())
}

impl Channel {
    /// Sends `request` and reads the answer line; an `Error` answer becomes a `CliError`.
    /// What follows the line (a backup's bytes) is left in [`Channel::body`].
    pub fn request(&mut self, request: &AdminRequest) -> Result<AdminResponse, CliError> {
        let mut line = serde_json::to_vec(request).map_err(CliError::failed)?;
        line.push(b'\n');
        let stream = self.reader.get_mut();
        stream.write_all(&line).map_err(lost)?;
        let mut answer = String::new();
        self.reader.read_line(&mut answer).map_err(lost)?;
        if answer.is_empty() {
            return Err(CliError::Other(
                "the server closed the admin channel without answering (see its log)".into(),
            ));
        }
        match serde_json::from_str::<AdminResponse>(&answer) {
            Ok(AdminResponse::Error { message, not_found }) => Err(match not_found {
                true => CliError::NotFound(message),
                false => CliError::Other(message),
            }),
            Ok(r) => Ok(r),
            Err(e) => Err(CliError::Other(format!(
                "the server answered the admin channel with something unexpected ({e}): is it the same secretctl version?"
            ))),
        }
    }

    /// The bytes after the answer line.
    pub fn body(&mut self) -> &mut BufReader<UnixStream> {
        &mut self.reader
    }
}

fn channel_error(path: &Path, e: std::io::Error) -> CliError {
    CliError::Other(format!(
        "cannot use the admin channel {}: {e} (run as the server's user)",
        path.display()
    ))
}

fn lost(e: std::io::Error) -> CliError {
    CliError::Other(format!("the admin channel broke off: {e}"))
}
