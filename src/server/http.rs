//! The HTTP serving loop: tiny_http accepts and parses, and each request is handled on the
//! thread of the connection it arrived on; rouille's `Request`/`Response` types are what
//! handlers see.
//!
//! Why not `rouille::Server`: it binds its own listener, so its sockets keep Nagle's
//! algorithm on, and tiny_http writes a response through a 1 KiB buffer. Any response over
//! ~1 KiB then goes out in two segments and, on a kept-alive connection, the second waits
//! for the client's delayed ACK: measured 40 ms per request (100 req/s for a 1 KiB secret,
//! 25k req/s for 512 B). Binding the listener here with TCP_NODELAY (inherited by accepted
//! sockets on Linux) removes the stall. Owning the loop also lets us:
//! - serve on the connection's own thread (tiny_http's `Hooks::on_request`, a vendored
//!   patch): a request used to pass from its connection thread to the accept loop, then to a
//!   worker, whose answer woke the connection thread again; three thread hand-offs per
//!   request were most of the server's time under load (perf: 64% in the kernel, mostly
//!   futex wake-ups);
//! - bound the requests handled at once with a FIFO [`Gate`] of `--workers` permits and
//!   4 × `--workers` waiting places, and answer a fast 503 past that;
//! - refuse a body over the limit from `Content-Length` before reading it, and read at most
//!   `MAX_BODY_BYTES + 1` otherwise, before any handler runs;
//! - drain on shutdown within a deadline (see [`HttpServer::shutdown`]).
//!
//! With TLS, tiny_http's `ssl-openssl` path terminates it (see `tls.rs` for the checks made
//! first); handlers then see `https` requests and every response carries HSTS.

use std::io::Read;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rouille::{Request, Response};

use super::ApiError;
use super::body::MAX_BODY_BYTES;
use super::tls::TlsIdentity;
use crate::gate::Gate;

/// HSTS for two years, the value the HSTS preload list asks for; no `includeSubDomains`,
/// since the server cannot know what else runs under its parent domain.
const HSTS: &str = "max-age=63072000";

/// Longest a single blocked write to a client may take before the connection is dropped.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// Requests that may wait for a permit, per permit.
const WAITING_PER_WORKER: u64 = 4;

/// A bound listener serving requests on their connections' threads.
pub struct HttpServer {
    server: Arc<tiny_http::Server>,
    addr: SocketAddr,
    gate: Arc<Gate>,
    /// Set when the drain starts: every response from then on closes its connection.
    draining: Arc<AtomicBool>,
}

/// How a drain ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drained {
    /// Every request in progress was answered.
    Complete,
    /// The deadline passed with this many requests still in progress; they are cut off.
    TimedOut(usize),
}

/// What each connection thread needs to serve a request.
struct Serving<F> {
    handler: F,
    gate: Arc<Gate>,
    secure: bool,
    /// A slow body may take this long in all, however steadily it trickles in.
    body_deadline: Duration,
    draining: Arc<AtomicBool>,
}

impl HttpServer {
    /// Binds `addr` with TCP_NODELAY and serves with `handler`, at most `workers` requests
    /// at once; serves HTTPS when `tls` is given.
    pub fn bind<F>(
        addr: &str,
        workers: usize,
        tls: Option<&TlsIdentity>,
        read_timeout: Duration,
        handler: F,
    ) -> Result<HttpServer, String>
    where
        F: Fn(&Request) -> Response + Send + Sync + 'static,
    {
        let listener = listen(addr, read_timeout)?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let draining = Arc::new(AtomicBool::new(false));
        let gate = Arc::new(Gate::new(
            workers as u64,
            workers as u64 * WAITING_PER_WORKER,
        ));
        let serving = Arc::new(Serving {
            handler,
            gate: Arc::clone(&gate),
            secure: tls.is_some(),
            body_deadline: read_timeout * 2,
            draining: Arc::clone(&draining),
        });
        let hooks = tiny_http::Hooks {
            on_refusal: Some(Arc::new(|r: &tiny_http::Refusal| {
                log_refusal(r.remote_addr, r.status, r.reason);
            })),
            on_request: Some(Arc::new(move |req| serving.serve(req))),
        };
        let server = Arc::new(
            tiny_http::Server::from_listener_with(
                listener,
                tls.map(TlsIdentity::ssl_config),
                hooks,
            )
            .map_err(|e| e.to_string())?,
        );
        Ok(HttpServer {
            server,
            addr,
            gate,
            draining,
        })
    }

    /// The address actually listened on (port 0 resolved).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// How many requests are being handled and waiting now (for `/metrics`).
    pub fn gate(&self) -> Arc<Gate> {
        Arc::clone(&self.gate)
    }

    /// Serves (on the connection threads) until `stop` is set.
    pub fn run_until(&self, stop: &AtomicBool) {
        while !stop.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Drains. Kept-alive connections waiting for a request are closed at once. Requests
    /// that had begun to arrive before the drain (being handled, or with headers or body
    /// still coming in) are served, with `Connection: close`; requests begun after it, on a
    /// connection made during the drain or one that had sent nothing yet, get `503` with
    /// `Connection: close`. Returns as soon as no request is in progress, or at `deadline`
    /// whatever is left: a slow client cannot hold the process past it. The listener stays
    /// open until the process exits, so a client connecting during the drain is answered
    /// rather than refused.
    pub fn shutdown(self, deadline: Instant) -> Drained {
        // Before the connections are marked: a request that sees the flag still unset was
        // created before the drain and is served like any other.
        self.draining.store(true, Ordering::SeqCst);
        self.server.drain();
        loop {
            let left = self.server.requests_in_progress();
            if left == 0 {
                return Drained::Complete;
            }
            if Instant::now() >= deadline {
                // The connection threads still busy are left behind; the process exits
                // without them.
                return Drained::TimedOut(left);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl<F: Fn(&Request) -> Response> Serving<F> {
    /// Answers one request, on its connection's thread.
    fn serve(&self, mut req: tiny_http::Request) {
        let response = if self.draining.load(Ordering::SeqCst) && !req.began_before_drain() {
            refusal(&req, "shutting down")
        } else {
            match self.gate.enter() {
                // The body is read under the permit: the permits bound how many bodies are
                // held in memory at once, not only how many handlers run.
                Some(permit) => {
                    let response = match read_body(&mut req, self.body_deadline) {
                        Ok(body) => (self.handler)(&to_rouille(&req, body, self.secure)),
                        // The rest of the body was never read: the connection cannot carry
                        // another request.
                        Err(e) => {
                            log_refusal(req.remote_addr().copied(), Some(e.status()), e.code());
                            e.into_response().with_unique_header("Connection", "close")
                        }
                    };
                    // Writing the answer to a client that reads slowly holds no permit.
                    drop(permit);
                    response
                }
                None => refusal(&req, "all workers busy"),
            }
        };
        // During a drain the client learns from the answer itself not to send another
        // request on this connection, which closes after it.
        let response = if self.draining.load(Ordering::SeqCst) {
            response.with_unique_header("Connection", "close")
        } else {
            response
        };
        let _ = req.respond(to_tiny(response, self.secure));
    }
}

/// `503` with `Retry-After` for a request turned away before routing, logged.
fn refusal(req: &tiny_http::Request, reason: &'static str) -> Response {
    log_refusal(req.remote_addr().copied(), Some(503), reason);
    ApiError::Unavailable
        .into_response()
        .with_additional_header("Retry-After", "1")
        .with_unique_header("Connection", "close")
}

// `--client-timeout` sets the longest a single read from a client may block: a TLS
// handshake, request headers, each chunk of a body, or the wait for the next request on a
// kept-alive connection.
//
// Set on the listening socket, whose accepted sockets inherit it on Linux (tiny_http gives
// no access to them). An idle `accept()` then times out too, which upstream tiny_http
// treats as fatal; the vendored copy (vendor/tiny_http/PATCHES.md) carries on, and also
// runs TLS handshakes on each connection's own thread instead of the accept thread. It is
// a per-read bound, so a client trickling one byte per interval still holds its
// connection thread: an exposed server belongs behind a proxy (docs/security.md).
fn listen(addr: &str, read_timeout: Duration) -> Result<std::net::TcpListener, String> {
    use socket2::{Domain, Protocol, Socket, Type};
    let sock_addr: SocketAddr = std::net::ToSocketAddrs::to_socket_addrs(addr)
        .map_err(|e| e.to_string())?
        .next()
        .ok_or_else(|| "address resolves to nothing".to_string())?;
    let socket = Socket::new(
        Domain::for_address(sock_addr),
        Type::STREAM,
        Some(Protocol::TCP),
    )
    .map_err(|e| e.to_string())?;
    socket.set_reuse_address(true).map_err(|e| e.to_string())?;
    socket.set_tcp_nodelay(true).map_err(|e| e.to_string())?;
    // Both inherited by accepted sockets (Linux): a client that stalls sending or stops
    // reading cannot hold a connection thread or a worker for long.
    socket
        .set_read_timeout(Some(read_timeout))
        .map_err(|e| e.to_string())?;
    socket
        .set_write_timeout(Some(WRITE_TIMEOUT))
        .map_err(|e| e.to_string())?;
    socket.bind(&sock_addr.into()).map_err(|e| e.to_string())?;
    socket.listen(1024).map_err(|e| e.to_string())?;
    Ok(socket.into())
}

/// One line in the request log for a request or connection refused before routing: time,
/// client address (the TCP peer), `refused`, status (`-` when none was sent) and a fixed
/// reason. Nothing the client sent appears in it.
fn log_refusal(peer: Option<SocketAddr>, status: Option<u16>, reason: &str) {
    let peer = peer.map_or_else(|| "-".to_string(), |p| p.ip().to_string());
    let status = status.map_or_else(|| "-".to_string(), |s| s.to_string());
    super::router::log_line(format!(
        "{} {peer} refused {status} {reason}",
        crate::timefmt::rfc3339(crate::timefmt::now_unix())
    ));
}

/// Reads the body within the size limit and time limit: 413 from `Content-Length` alone,
/// or as soon as a chunked or lying body passes the limit; 408 when it has not all arrived
/// by `deadline` (each read is also bounded by the socket's receive timeout).
fn read_body(req: &mut tiny_http::Request, deadline: Duration) -> Result<Vec<u8>, ApiError> {
    if req.body_length().is_some_and(|n| n as u64 > MAX_BODY_BYTES) {
        return Err(ApiError::PayloadTooLarge);
    }
    let started = std::time::Instant::now();
    let mut body = Vec::new();
    let mut reader = req.as_reader().take(MAX_BODY_BYTES + 1);
    let mut chunk = [0u8; 16 * 1024];
    loop {
        match reader.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => body.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Err(ApiError::RequestTimeout);
            }
            Err(_) => {
                return Err(ApiError::BadRequest(
                    "could not read the request body".into(),
                ));
            }
        }
        if started.elapsed() > deadline {
            return Err(ApiError::RequestTimeout);
        }
    }
    if body.len() as u64 > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge);
    }
    Ok(body)
}

fn to_rouille(req: &tiny_http::Request, body: Vec<u8>, secure: bool) -> Request {
    let headers = req
        .headers()
        .iter()
        .map(|h| (h.field.to_string(), h.value.to_string()))
        .collect();
    let from = req
        .remote_addr()
        .copied()
        .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)));
    let (method, url) = (req.method().as_str(), req.url());
    if secure {
        Request::fake_https_from(from, method, url, headers, body)
    } else {
        Request::fake_http_from(from, method, url, headers, body)
    }
}

fn to_tiny(resp: Response, secure: bool) -> tiny_http::Response<Box<dyn Read + Send>> {
    let (data, len) = resp.data.into_reader_and_size();
    let mut out = tiny_http::Response::empty(resp.status_code).with_data(data, len);
    // No product or version in `Server`: nothing for a scanner to match against.
    out.add_header(
        tiny_http::Header::from_bytes("Server", "secretctl")
            .unwrap_or_else(|_| unreachable!("static header is valid")),
    );
    if secure {
        out.add_header(
            tiny_http::Header::from_bytes("Strict-Transport-Security", HSTS)
                .unwrap_or_else(|_| unreachable!("static header is valid")),
        );
    }
    for (key, value) in resp.headers {
        if key.eq_ignore_ascii_case("Content-Length") {
            continue;
        }
        if let Ok(h) = tiny_http::Header::from_bytes(key.as_bytes(), value.as_bytes()) {
            out.add_header(h);
        }
    }
    out
}
