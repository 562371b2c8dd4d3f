//! Attempts of any kind without a runtime ([`Connector::race`](super::Connector::race)): each
//! runs the caller's function on a thread of its own, its result sent back to the race.
//!
//! A thread cannot be stopped: an attempt that lost, timed out or was aborted runs to its end
//! on its thread, and what it made is then dropped (a connection closed). The caller bounds
//! that time with timeouts inside the function (a connect timeout, socket read timeouts).

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread;

use eyeballs_proto::AttemptId;

use super::bell::Awaited;
use super::driver::Ended;

/// The attempts of one generic race.
pub(super) struct Threads<T, F> {
    attempt: Arc<F>,
    /// Attempts started and not yet ended or stopped.
    awaited: Awaited<AttemptId, io::Result<T>>,
}

impl<T, F> Threads<T, F>
where
    T: Send + 'static,
    F: Fn(SocketAddr) -> io::Result<T> + Send + Sync + 'static,
{
    pub(super) fn new(attempt: F) -> Self {
        Threads {
            attempt: Arc::new(attempt),
            awaited: Awaited::default(),
        }
    }

    /// Starts attempt `id` to `addr` on a thread; an error means it could not start.
    pub(super) fn start(&mut self, id: AttemptId, addr: SocketAddr) -> io::Result<()> {
        let attempt = Arc::clone(&self.attempt);
        self.awaited.start(id, |outbox| {
            thread::Builder::new()
                .name("eyeballs-attempt".to_owned())
                .spawn(move || outbox.send((id, attempt(addr))))
                .map(drop)
        })
    }

    /// Stops waiting for attempt `id`; what it makes is dropped when it arrives.
    pub(super) fn stop(&mut self, id: AttemptId) {
        self.awaited.forget(id);
    }

    /// The socket to poll for readability while an attempt runs.
    pub(super) fn bell(&self) -> Option<&std::os::unix::net::UnixDatagram> {
        self.awaited.bell()
    }

    /// Every attempt that has ended and is still wanted.
    pub(super) fn drain(&mut self, ended: &mut Ended<T>) {
        self.awaited.drain(|id, result| ended.push((id, result)));
    }
}
