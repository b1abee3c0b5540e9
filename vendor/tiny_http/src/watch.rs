//! secretctl patch: the connections a server has open, so that a graceful shutdown can close
//! the idle ones at once and tell when no request is in progress any more.
//!
//! Each connection is `Fresh` until the first byte of its first request arrives, `Busy` from
//! then until it waits for its next request, and `Idle` while it waits. Draining closes the
//! read side of every `Idle` connection (which wakes its thread with an end of stream), and
//! a connection that finishes a request afterwards closes instead of waiting for another.
//! A request that was `Busy` arriving when the drain started is marked as such, so the
//! server can still serve it; `Fresh` connections are left to send their request, which
//! the server may then refuse.

use std::collections::HashMap;
use std::net::Shutdown;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::connection::Connection;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Fresh,
    Idle,
    /// `before_drain`: the request began to arrive before the drain started.
    Busy { before_drain: bool },
}

/// Every open connection of one server.
#[derive(Default)]
pub(crate) struct Connections {
    draining: Arc<AtomicBool>,
    next_id: AtomicU64,
    open: Mutex<HashMap<u64, Arc<Watched>>>,
}

/// One open connection.
pub(crate) struct Watched {
    state: Mutex<State>,
    draining: Arc<AtomicBool>,
    /// A duplicate of the socket, only ever shut down: the connection's own halves may be
    /// inside a TLS stream whose lock its blocked reader holds.
    socket: Connection,
}

/// Keeps a connection in the set until the thread serving it ends.
pub(crate) struct Registration {
    set: Arc<Connections>,
    id: u64,
    pub(crate) conn: Arc<Watched>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Connections {
    /// Adds a connection; `socket` is a duplicate of its socket.
    pub(crate) fn register(self: &Arc<Self>, socket: Connection) -> Registration {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let conn = Arc::new(Watched {
            state: Mutex::new(State::Fresh),
            draining: Arc::clone(&self.draining),
            socket,
        });
        lock(&self.open).insert(id, Arc::clone(&conn));
        Registration {
            set: Arc::clone(self),
            id,
            conn,
        }
    }

    /// Starts the drain: idle connections are closed now, the others after their request.
    pub(crate) fn drain(&self) {
        // Set before looking at any state: a connection turning idle from now on sees it
        // (`Watched::idle` checks it under the same lock this loop takes).
        self.draining.store(true, Ordering::SeqCst);
        for conn in lock(&self.open).values() {
            let mut state = lock(&conn.state);
            match *state {
                State::Idle => {
                    let _ = conn.socket.shutdown(Shutdown::Read);
                }
                State::Busy { .. } => *state = State::Busy { before_drain: true },
                State::Fresh => {}
            }
        }
    }

    /// Connections with a request in progress: being received, handled or answered.
    pub(crate) fn busy(&self) -> usize {
        lock(&self.open)
            .values()
            .filter(|c| matches!(*lock(&c.state), State::Busy { .. }))
            .count()
    }
}

impl Watched {
    /// The connection is about to wait for its next request. False while draining: the
    /// connection must close instead.
    pub(crate) fn idle(&self) -> bool {
        let mut state = lock(&self.state);
        if self.draining.load(Ordering::SeqCst) {
            return false;
        }
        *state = State::Idle;
        true
    }

    /// The first byte of a request has arrived.
    pub(crate) fn busy(&self) {
        *lock(&self.state) = State::Busy {
            before_drain: false,
        };
    }

    /// Whether the request now arriving began before the drain started.
    pub(crate) fn began_before_drain(&self) -> bool {
        *lock(&self.state) == State::Busy { before_drain: true }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        lock(&self.set.open).remove(&self.id);
    }
}
