//! A counting semaphore with a bounded, first-come-first-served line: how the HTTP layer
//! bounds the requests handled at once (`--workers`) and the password hasher the scrypt
//! runs (each of which takes tens of MiB).

use std::sync::{Condvar, Mutex, MutexGuard};

/// Admits at most `permits` callers at once, and at most `waiting` more in line, let in in
/// the order they arrived; the rest are refused. An uncontended entry is one lock of an
/// unheld mutex: no thread sleeps or wakes.
pub struct Gate {
    state: Mutex<Tickets>,
    turned: Condvar,
    permits: u64,
    waiting: u64,
}

/// Ticket `t` may go in once `t < admitted`; `admitted` grows by one per permit returned.
struct Tickets {
    issued: u64,
    admitted: u64,
}

pub struct Permit<'a>(&'a Gate);

impl Gate {
    pub fn new(permits: u64, waiting: u64) -> Gate {
        Gate {
            state: Mutex::new(Tickets {
                issued: 0,
                admitted: permits,
            }),
            turned: Condvar::new(),
            permits,
            waiting,
        }
    }

    /// Callers holding a permit, and callers waiting for one.
    pub fn load(&self) -> (u64, u64) {
        let tickets = self.lock();
        let returned = tickets.admitted - self.permits;
        let entered = tickets.issued.min(tickets.admitted);
        (
            entered - returned,
            tickets.issued.saturating_sub(tickets.admitted),
        )
    }

    fn lock(&self) -> MutexGuard<'_, Tickets> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A permit, after waiting in line if all are taken; `None` when the line is full.
    pub fn enter(&self) -> Option<Permit<'_>> {
        let mut tickets = self.lock();
        if tickets.issued >= tickets.admitted + self.waiting {
            return None;
        }
        let ticket = tickets.issued;
        tickets.issued += 1;
        while ticket >= tickets.admitted {
            tickets = self.turned.wait(tickets).unwrap_or_else(|p| p.into_inner());
        }
        Some(Permit(self))
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        let mut tickets = self.0.lock();
        tickets.admitted += 1;
        // Someone holds the ticket just admitted: wake the line (each checks its own).
        if tickets.issued >= tickets.admitted {
            self.0.turned.notify_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::thread;

    use std::sync::{Arc, Mutex};

    use super::*;

    #[test]
    fn the_gate_admits_its_permits_lines_up_the_next_and_refuses_the_rest() {
        let gate = Gate::new(2, 1);
        let (a, b) = (gate.enter().unwrap(), gate.enter().unwrap());
        thread::scope(|s| {
            let (entered, went_in) = mpsc::channel();
            let gate = &gate;
            s.spawn(move || {
                let permit = gate.enter().expect("a place in line");
                entered.send(()).unwrap();
                drop(permit);
            });
            // Wait until the third caller stands in line: the line (one place) is then full.
            while gate.lock().issued < 3 {
                thread::yield_now();
            }
            assert!(gate.enter().is_none(), "the line is full");
            assert_eq!(gate.load(), (2, 1));
            assert!(went_in.try_recv().is_err(), "no permit is free yet");
            drop(a);
            went_in.recv().unwrap();
        });
        assert_eq!(gate.load(), (1, 0));
        drop(b);
        assert_eq!(gate.load(), (0, 0));
        // Everything returned: both permits are free again.
        let _both = (gate.enter().unwrap(), gate.enter().unwrap());
    }

    #[test]
    fn the_gate_lets_waiters_in_in_the_order_they_came() {
        let gate = Arc::new(Gate::new(1, 8));
        let held = gate.enter().unwrap();
        let order = Arc::new(Mutex::new(Vec::new()));
        let waiters: Vec<_> = (0..4u64)
            .map(|i| {
                // One at a time into the line, so arrival order is known.
                while gate.lock().issued < i + 1 {
                    thread::yield_now();
                }
                let (theirs, order) = (Arc::clone(&gate), Arc::clone(&order));
                let t = thread::spawn(move || {
                    let _permit = theirs.enter().unwrap();
                    order.lock().unwrap().push(i);
                });
                while gate.lock().issued < i + 2 {
                    thread::yield_now();
                }
                t
            })
            .collect();
        drop(held);
        for w in waiters {
            w.join().unwrap();
        }
        assert_eq!(*order.lock().unwrap(), [0, 1, 2, 3]);
    }
}
