use ascii::AsciiString;

use std::io::Error as IoError;
use std::io::Result as IoResult;
use std::io::{BufReader, BufWriter, ErrorKind, Read};

use std::net::SocketAddr;
use std::str::FromStr;

use crate::common::{HTTPVersion, Method};
use crate::util::RefinedTcpStream;
use crate::util::{SequentialReader, SequentialReaderBuilder, SequentialWriterBuilder};
use crate::Request;

/// secretctl patch: longest request line or header line accepted, in bytes.
const MAX_HEADER_LINE: usize = 8 * 1024;
/// secretctl patch: most header lines accepted in one request.
const MAX_HEADERS: usize = 100;

/// secretctl patch: room for a whole typical response (headers and a JSON body), so it leaves
/// in one `send` and one segment. Upstream's 1 KiB split every response over ~1 KiB in two
/// system calls and two segments.
const RESPONSE_BUFFER: usize = 16 * 1024;

/// A ClientConnection is an object that will store a socket to a client
/// and return Request objects.
pub struct ClientConnection {
    // address of the client
    remote_addr: IoResult<Option<SocketAddr>>,

    // sequence of Readers to the stream, so that the data is not read in
    //  the wrong order
    source: SequentialReaderBuilder<BufReader<RefinedTcpStream>>,

    // sequence of Writers to the stream, to avoid writing response #2 before
    //  response #1
    sink: SequentialWriterBuilder<BufWriter<RefinedTcpStream>>,

    // Reader to read the next header from
    next_header_source: SequentialReader<BufReader<RefinedTcpStream>>,

    // set to true if we know that the previous request is the last one
    no_more_requests: bool,

    // true if the connection goes through SSL
    secure: bool,

    // secretctl patch: where refused requests are reported (one line each in the server log).
    on_refusal: Option<crate::RefusalLog>,

    // secretctl patch: whether any byte of the current request has arrived; a keep-alive
    // connection timing out while idle is not a refused request.
    request_started: bool,

    // secretctl patch: this connection's entry in the server's set, for graceful shutdown.
    watch: Option<std::sync::Arc<crate::watch::Watched>>,

    // secretctl patch: whether a request has been read (the next wait is a keep-alive one).
    kept_alive: bool,
}

/// Error that can happen when reading a request.
#[derive(Debug)]
enum ReadError {
    WrongRequestLine,
    WrongHeader(HTTPVersion),
    /// the client sent an unrecognized `Expect` header
    ExpectationFailed(HTTPVersion),
    /// secretctl patch: the body's length cannot be determined reliably (400, then close).
    AmbiguousFraming(HTTPVersion, &'static str),
    /// secretctl patch: a transfer coding we do not implement (501, then close).
    UnsupportedTransferCoding(HTTPVersion),
    ReadIoError(IoError),
}

impl ClientConnection {
    /// Creates a new `ClientConnection` that takes ownership of the `TcpStream`.
    pub fn new(
        write_socket: RefinedTcpStream,
        mut read_socket: RefinedTcpStream,
        on_refusal: Option<crate::RefusalLog>,
        watch: Option<std::sync::Arc<crate::watch::Watched>>,
    ) -> ClientConnection {
        let remote_addr = read_socket.peer_addr();
        let secure = read_socket.secure();

        let mut source = SequentialReaderBuilder::new(BufReader::with_capacity(1024, read_socket));
        let first_header = source.next().unwrap();

        ClientConnection {
            source,
            sink: SequentialWriterBuilder::new(BufWriter::with_capacity(RESPONSE_BUFFER, write_socket)),
            remote_addr,
            next_header_source: first_header,
            no_more_requests: false,
            secure,
            on_refusal,
            request_started: false,
            watch,
            kept_alive: false,
        }
    }

    /// true if the connection is HTTPS
    pub fn secure(&self) -> bool {
        self.secure
    }

    /// Reads the next line from self.next_header_source.
    ///
    /// Reads until `CRLF` is reached. The next read will start
    ///  at the first byte of the new line.
    fn read_next_line(&mut self) -> IoResult<AsciiString> {
        let mut buf = Vec::new();
        let mut prev_byte_was_cr = false;

        loop {
            let byte = self.next_header_source.by_ref().bytes().next();

            let byte = match byte {
                Some(b) => b?,
                None => return Err(IoError::new(ErrorKind::ConnectionAborted, "Unexpected EOF")),
            };
            if !self.request_started {
                if let Some(watch) = &self.watch {
                    watch.busy();
                }
            }
            self.request_started = true;

            if byte == b'\n' && prev_byte_was_cr {
                buf.pop(); // removing the '\r'
                return AsciiString::from_ascii(buf)
                    .map_err(|_| IoError::new(ErrorKind::InvalidInput, "Header is not in ASCII"));
            }

            prev_byte_was_cr = byte == b'\r';

            // secretctl patch: a header line is bounded; upstream buffered any length (one
            // 64 MiB line cost 64 MiB of memory).
            if buf.len() >= MAX_HEADER_LINE {
                return Err(IoError::new(ErrorKind::InvalidData, "header line too long"));
            }
            buf.push(byte);
        }
    }

    /// Reads a request from the stream.
    /// Blocks until the header has been read.
    fn read(&mut self) -> Result<Request, ReadError> {
        self.request_started = false;
        let (method, path, version, headers) = {
            // reading the request line
            let (method, path, version) = {
                let line = self.read_next_line().map_err(|e| match e.kind() {
                    ErrorKind::InvalidData => ReadError::WrongRequestLine,
                    _ => ReadError::ReadIoError(e),
                })?;

                parse_request_line(
                    line.as_str().trim(), // TODO: remove this conversion
                )?
            };

            // getting all headers
            let headers = {
                let mut headers = Vec::new();
                loop {
                    let line = self.read_next_line().map_err(|e| match e.kind() {
                        ErrorKind::InvalidData => ReadError::WrongHeader(version.clone()),
                        _ => ReadError::ReadIoError(e),
                    })?;

                    if line.is_empty() {
                        break;
                    };
                    // secretctl patch: obsolete line folding (a line starting with a space
                    // or tab continues the previous header) is refused, as RFC 9112 §5.2
                    // allows. Upstream trimmed the line and took it as a header of its own,
                    // so ` Transfer-Encoding: chunked` framed the body for us while a proxy
                    // saw only a continuation line.
                    if line.as_bytes().first().is_some_and(|b| *b == b' ' || *b == b'\t') {
                        return Err(ReadError::AmbiguousFraming(
                            version,
                            "obsolete header line folding",
                        ));
                    }
                    // secretctl patch: and so is the number of header lines.
                    if headers.len() >= MAX_HEADERS {
                        return Err(ReadError::WrongHeader(version.clone()));
                    }
                    headers.push(match FromStr::from_str(line.as_str().trim()) {
                        // TODO: remove this conversion
                        Ok(h) => h,
                        _ => return Err(ReadError::WrongHeader(version)),
                    });
                }

                headers
            };

            (method, path, version, headers)
        };

        // building the writer for the request
        let writer = self.sink.next().unwrap();

        // follow-up for next potential request
        let mut data_source = self.source.next().unwrap();
        std::mem::swap(&mut self.next_header_source, &mut data_source);

        // building the next reader
        let request = crate::request::new_request(
            self.secure,
            method,
            path,
            version.clone(),
            headers,
            *self.remote_addr.as_ref().unwrap(),
            data_source,
            writer,
        )
        .map_err(|e| {
            use crate::request;
            match e {
                request::RequestCreationError::CreationIoError(e) => ReadError::ReadIoError(e),
                request::RequestCreationError::ExpectationFailed => {
                    ReadError::ExpectationFailed(version)
                }
                request::RequestCreationError::AmbiguousFraming(why) => {
                    ReadError::AmbiguousFraming(version, why)
                }
                request::RequestCreationError::UnsupportedTransferCoding => {
                    ReadError::UnsupportedTransferCoding(version)
                }
            }
        })?;

        // return the request
        let began = self.watch.as_ref().is_some_and(|w| w.began_before_drain());
        Ok(request.with_began_before_drain(began))
    }
}

impl Iterator for ClientConnection {
    type Item = Request;

    /// Blocks until the next Request is available.
    /// Returns None when no new Requests will come from the client.
    fn next(&mut self) -> Option<Request> {
        use crate::{Response, StatusCode};

        // the client sent a "connection: close" header in this previous request
        //  or is using HTTP 1.0, meaning that no new request will come
        if self.no_more_requests {
            return None;
        }

        // secretctl patch: a kept-alive connection closes instead of waiting for another
        // request once the server is draining.
        if self.kept_alive {
            if let Some(watch) = &self.watch {
                if !watch.idle() {
                    return None;
                }
            }
        }
        self.kept_alive = true;

        loop {
            let rq = match self.read() {
                // secretctl patch: every refusal below is a JSON error with `Connection:
                // close`, reported to the server log: after a malformed request nothing
                // says where the next one would start.
                Err(ReadError::WrongRequestLine) => {
                    return self.refuse(
                        400,
                        HTTPVersion(1, 1),
                        "bad_request",
                        "malformed request line",
                    );
                }

                Err(ReadError::WrongHeader(ver)) => {
                    return self.refuse(400, ver, "bad_request", "malformed or oversized header");
                }

                Err(ReadError::ReadIoError(ref err))
                    if matches!(err.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock) =>
                {
                    if !self.request_started {
                        // An idle kept-alive connection reaching its timeout: no request
                        // was refused. Closed without an answer a client could take for
                        // the response to a request it is sending just now.
                        return None;
                    }
                    return self.refuse(
                        408,
                        HTTPVersion(1, 1),
                        "request_timeout",
                        "the request arrived too slowly",
                    );
                }

                Err(ReadError::ExpectationFailed(ver)) => {
                    return self.refuse(
                        417,
                        ver,
                        "expectation_failed",
                        "only Expect: 100-continue is supported",
                    );
                }

                Err(ReadError::AmbiguousFraming(ver, why)) => {
                    return self.refuse(400, ver, "bad_request", why);
                }
                Err(ReadError::UnsupportedTransferCoding(ver)) => {
                    return self.refuse(
                        501,
                        ver,
                        "not_implemented",
                        "only the chunked transfer coding is supported",
                    );
                }

                Err(ReadError::ReadIoError(_)) => return None,

                Ok(rq) => rq,
            };

            // checking HTTP version
            if *rq.http_version() > (1, 1) {
                // secretctl patch: refused like any other bad request, and the connection
                // closed (upstream read on from wherever the rejected request ended).
                rq.discard();
                return self.refuse(
                    505,
                    HTTPVersion(1, 1),
                    "http_version_not_supported",
                    "only HTTP/1.0 and HTTP/1.1 are supported",
                );
            }

            // updating the status of the connection
            let connection_header = rq
                .headers()
                .iter()
                .find(|h| h.field.equiv("Connection"))
                .map(|h| h.value.as_str());

            let lowercase = connection_header.map(|h| h.to_ascii_lowercase());

            match lowercase {
                Some(ref val) if val.contains("close") => self.no_more_requests = true,
                Some(ref val)
                    if !val.contains("keep-alive") && *rq.http_version() == HTTPVersion(1, 0) =>
                {
                    self.no_more_requests = true
                }
                None if *rq.http_version() == HTTPVersion(1, 0) => self.no_more_requests = true,
                _ => (),
            };

            // returning the request
            return Some(rq);
        }
    }
}

impl ClientConnection {
    /// secretctl patch: answers a request the library refuses with a JSON error body (the
    /// API's error shape) and `Connection: close`, then ends the connection: the caller
    /// returns the `None` this gives.
    fn refuse(
        &mut self,
        status: u16,
        version: HTTPVersion,
        code: &'static str,
        message: &'static str,
    ) -> Option<Request> {
        use crate::{Header, Response, StatusCode};
        use std::io::Write;
        let body = format!("{{\"error\":\"{code}\",\"message\":\"{message}\"}}");
        let mut response = Response::from_string(body).with_status_code(StatusCode(status));
        for (field, value) in [
            ("Content-Type", "application/json"),
            ("Connection", "close"),
            ("Cache-Control", "no-store"),
            ("X-Content-Type-Options", "nosniff"),
        ] {
            if let Ok(h) = Header::from_bytes(field, value) {
                response.add_header(h);
            }
        }
        if let Some(mut writer) = self.sink.next() {
            if response.raw_print(&mut writer, version, &[], false, None).is_ok() {
                let _ = writer.flush();
            }
        }
        if let Some(log) = &self.on_refusal {
            log(&crate::Refusal {
                remote_addr: self.remote_addr.as_ref().ok().copied().flatten(),
                status: Some(status),
                reason: message,
            });
        }
        self.no_more_requests = true;
        None
    }
}

/// Parses a "HTTP/1.1" string.
fn parse_http_version(version: &str) -> Result<HTTPVersion, ReadError> {
    let (major, minor) = match version {
        "HTTP/0.9" => (0, 9),
        "HTTP/1.0" => (1, 0),
        "HTTP/1.1" => (1, 1),
        "HTTP/2.0" => (2, 0),
        "HTTP/3.0" => (3, 0),
        _ => return Err(ReadError::WrongRequestLine),
    };

    Ok(HTTPVersion(major, minor))
}

/// Parses the request line of the request.
/// eg. GET / HTTP/1.1
fn parse_request_line(line: &str) -> Result<(Method, String, HTTPVersion), ReadError> {
    let mut parts = line.split(' ');

    let method = parts.next().and_then(|w| w.parse().ok());
    let path = parts.next().map(ToOwned::to_owned);
    let version = parts.next().and_then(|w| parse_http_version(w).ok());

    method
        .and_then(|method| Some((method, path?, version?)))
        .ok_or(ReadError::WrongRequestLine)
}

#[cfg(test)]
mod test {
    #[test]
    fn test_parse_request_line() {
        let (method, path, ver) = super::parse_request_line("GET /hello HTTP/1.1").unwrap();

        assert!(method == crate::Method::Get);
        assert!(path == "/hello");
        assert!(ver == crate::common::HTTPVersion(1, 1));

        assert!(super::parse_request_line("GET /hello").is_err());
        assert!(super::parse_request_line("qsd qsd qsd").is_err());
    }
}
