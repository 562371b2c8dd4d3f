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

use super::bell::Inbox;

/// What one attempt's thread sends back.
type Ended<T> = (AttemptId, io::Result<T>);

/// The attempts of one generic race.
pub(super) struct Threads<T, F> {
    attempt: Arc<F>,
    /// Made at the first attempt.
    inbox: Option<Inbox<Ended<T>>>,
    /// Attempts started and not yet ended or stopped.
    running: Vec<AttemptId>,
}

impl<T, F> Threads<T, F>
where
    T: Send + 'static,
    F: Fn(SocketAddr) -> io::Result<T> + Send + Sync + 'static,
{
    pub(super) fn new(attempt: F) -> Self {
        Threads {
            attempt: Arc::new(attempt),
            inbox: None,
            running: Vec::new(),
        }
    }

    /// Starts attempt `id` to `addr` on a thread; an error means it could not start.
    pub(super) fn start(&mut self, id: AttemptId, addr: SocketAddr) -> io::Result<()> {
        let inbox = match &mut self.inbox {
            Some(inbox) => inbox,
            None => self.inbox.insert(Inbox::new()?),
        };
        let outbox = inbox.outbox();
        let attempt = Arc::clone(&self.attempt);
        thread::Builder::new()
            .name("eyeballs-attempt".to_owned())
            .spawn(move || outbox.send((id, attempt(addr))))?;
        self.running.push(id);
        Ok(())
    }

    /// Stops waiting for attempt `id`; what it makes is dropped when it arrives.
    pub(super) fn stop(&mut self, id: AttemptId) {
        self.running.retain(|a| *a != id);
    }

    /// The socket to poll for readability while an attempt runs.
    pub(super) fn bell(&self) -> Option<&std::os::unix::net::UnixDatagram> {
        match &self.inbox {
            Some(inbox) if !self.running.is_empty() => Some(inbox.bell()),
            _ => None,
        }
    }

    /// Every attempt that has ended and is still wanted.
    pub(super) fn drain(&mut self, ended: &mut Vec<Ended<T>>) {
        let Some(inbox) = &self.inbox else {
            return;
        };
        let running = &mut self.running;
        inbox.drain(|(id, result)| {
            if let Some(i) = running.iter().position(|a| *a == id) {
                running.swap_remove(i);
                ended.push((id, result));
            }
        });
    }
}
