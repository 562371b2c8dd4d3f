//! The blocking driver: the tokio driver's twin, as a plain loop on the caller's thread.
//!
//! Feed the engine, drain its actions, wait in the poller until its deadline, repeat. Sockets
//! are non-blocking and registered with a [`mio::Poll`] for writability; DNS answers come
//! from threads ([`Lookups`]) that wake the poller. The engine checks deadlines against the
//! clock itself, so an early or late wake-up is harmless.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Instant;

use eyeballs_proto::{Action, AttemptId, Destination, DnsResult, Engine, Outcome, QueryId};
use mio::net::TcpStream as MioStream;
use mio::{Events, Interest, Poll, Token};

use super::attempt::{self, Started};
use super::lookup::Lookups;
use crate::error::Error;
use crate::outcomes::Outcomes;
use crate::report::Report;
use crate::resolver::Resolver;
use crate::socket::SocketOptions;

/// The poller's token for DNS answers; attempts use their index.
const WAKE: Token = Token(usize::MAX);

/// Runs the race `engine` describes to its end, on this thread.
pub(super) fn run(
    engine: Engine,
    resolver: Arc<dyn Resolver>,
    socket: Arc<SocketOptions>,
    target: String,
) -> Result<(TcpStream, Report), Error> {
    let (poll, waker) = match poller() {
        Ok((poll, waker)) => (Ok(poll), Some(waker)),
        Err(e) => {
            // Without a poller no attempt can be watched: each fails with this error, and
            // the report says so.
            tracing::warn!(target: "eyeballs", error = %e, "cannot create a poller");
            (Err(e), None)
        }
    };
    Driver {
        engine,
        socket,
        target,
        poll,
        events: Events::with_capacity(64),
        lookups: Lookups::new(resolver, waker),
        in_flight: HashMap::new(),
        outcomes: Outcomes::default(),
    }
    .run()
}

/// A poller, and a waker for the DNS threads.
fn poller() -> io::Result<(Poll, mio::Waker)> {
    let poll = Poll::new()?;
    let waker = mio::Waker::new(poll.registry(), WAKE)?;
    Ok((poll, waker))
}

struct Driver {
    engine: Engine,
    /// For opening sockets and probing source addresses.
    socket: Arc<SocketOptions>,
    target: String,
    /// The poller, or why there is none.
    poll: io::Result<Poll>,
    events: Events,
    lookups: Lookups,
    /// Attempts whose handshake is under way, registered with the poller under their token.
    in_flight: HashMap<Token, (AttemptId, MioStream)>,
    outcomes: Outcomes<TcpStream>,
}

impl Driver {
    fn run(mut self) -> Result<(TcpStream, Report), Error> {
        loop {
            if let Some(outcome) = self.perform_actions() {
                return self.finish(outcome);
            }
            let deadline = self.engine.poll_timeout();
            if deadline.is_none() && self.in_flight.is_empty() && self.lookups.is_idle() {
                // Nothing in flight and no deadline: only possible if the engine waits for an
                // input that cannot come. End the race rather than hang.
                self.engine.cancel(Instant::now());
                continue;
            }
            self.wait(deadline);
            if deadline.is_some_and(|at| at <= Instant::now()) {
                self.engine.handle_timeout(Instant::now());
            }
        }
    }

    /// Performs every queued action; returns the outcome once the engine is done.
    fn perform_actions(&mut self) -> Option<Outcome> {
        let mut outcome = None;
        while let Some(action) = self.engine.poll_action() {
            match action {
                Action::Resolve { id, record } => {
                    let host = self.engine.host().unwrap_or_default().to_owned();
                    tracing::debug!(target: "eyeballs", query = %id, %record, %host, "dns query");
                    if let Err(e) = self.lookups.start(id, &host, record) {
                        tracing::warn!(target: "eyeballs", query = %id, error = %e, "cannot start a dns thread");
                        self.on_answer(id, DnsResult::Error);
                    }
                }
                Action::CancelResolve { id } => self.lookups.cancel(id),
                Action::Connect { id, endpoint } => {
                    tracing::debug!(target: "eyeballs", attempt = %id, addr = %endpoint.addr, "attempt started");
                    self.start_attempt(id, endpoint.addr);
                }
                Action::Abort { id } => {
                    tracing::debug!(target: "eyeballs", attempt = %id, "attempt aborted");
                    self.close_in_flight(Token(id.index()));
                    self.outcomes.discard(id);
                }
                Action::Close { id } => {
                    tracing::debug!(target: "eyeballs", attempt = %id, "late connection closed");
                    self.outcomes.discard(id);
                }
                Action::Done(o) => outcome = Some(o),
                _ => {}
            }
        }
        outcome
    }

    /// Opens a socket, starts its handshake and watches it; an error ends the attempt at once.
    fn start_attempt(&mut self, id: AttemptId, addr: SocketAddr) {
        let poll = match &self.poll {
            Ok(poll) => poll,
            Err(e) => {
                let e = io::Error::new(e.kind(), format!("no poller to wait with: {e}"));
                return self.on_attempt(id, Err(e));
            }
        };
        let token = Token(id.index());
        let result = match attempt::start(&self.socket, addr) {
            Ok(Started::InFlight(mut stream)) => {
                match poll
                    .registry()
                    .register(&mut stream, token, Interest::WRITABLE)
                {
                    Ok(()) => {
                        self.in_flight.insert(token, (id, stream));
                        return;
                    }
                    Err(e) => Err(e),
                }
            }
            Ok(Started::Connected(stream)) => attempt::into_blocking(stream),
            Err(e) => Err(e),
        };
        self.on_attempt(id, result);
    }

    /// Waits for a socket event, a DNS answer or `deadline`, and hands what came to the
    /// engine.
    fn wait(&mut self, deadline: Option<Instant>) {
        let poll = match &mut self.poll {
            Ok(poll) => poll,
            Err(_) => {
                // No poller: no attempt is in flight, only DNS answers and time can come.
                if let Some((id, result)) = self.lookups.wait_next(deadline) {
                    self.on_answer(id, result);
                }
                return self.drain_answers();
            }
        };
        let timeout = deadline.map(|at| at.saturating_duration_since(Instant::now()));
        if let Err(e) = poll.poll(&mut self.events, timeout) {
            if e.kind() != io::ErrorKind::Interrupted {
                // The poller itself is broken; waiting again would spin.
                tracing::error!(target: "eyeballs", error = %e, "poll failed; race cancelled");
                self.engine.cancel(Instant::now());
            }
            return;
        }
        let ready: Vec<Token> = self.events.iter().map(|e| e.token()).collect();
        for token in ready {
            if token != WAKE {
                self.on_ready(token);
            }
        }
        self.drain_answers();
    }

    fn drain_answers(&mut self) {
        while let Some((id, result)) = self.lookups.try_next() {
            self.on_answer(id, result);
        }
    }

    /// A socket event: the handshake may be over.
    fn on_ready(&mut self, token: Token) {
        // An event for an attempt aborted in the meantime finds nothing.
        let Some(result) = self
            .in_flight
            .get(&token)
            .and_then(|(_, stream)| attempt::outcome(stream))
        else {
            return; // Still under way: wait for the next event.
        };
        let Some((id, mut stream)) = self.in_flight.remove(&token) else {
            return;
        };
        let deregistered = self.deregister(&mut stream);
        let result = result
            .and(deregistered)
            .and_then(|()| attempt::into_blocking(stream));
        self.on_attempt(id, result);
    }

    fn on_answer(&mut self, id: QueryId, result: DnsResult) {
        let result = match result {
            DnsResult::Addresses(dests) => DnsResult::Addresses(
                dests
                    .into_iter()
                    .map(|d| Destination::with_source(d.ip, self.source_of(d.ip)))
                    .collect(),
            ),
            other => other,
        };
        tracing::debug!(target: "eyeballs", query = %id, outcome = %result.kind(), "dns answer");
        // The id came from the engine's own action.
        let _ = self.engine.handle_dns(Instant::now(), id, result);
    }

    fn source_of(&self, ip: IpAddr) -> eyeballs_proto::SourceAddr {
        self.socket.probe_source(ip)
    }

    fn on_attempt(&mut self, id: AttemptId, result: io::Result<TcpStream>) {
        let input = self.outcomes.record(id, result);
        // The id came from the engine's own action.
        let _ = self.engine.handle_attempt(Instant::now(), id, input);
    }

    fn deregister(&self, stream: &mut MioStream) -> io::Result<()> {
        match &self.poll {
            Ok(poll) => poll.registry().deregister(stream),
            Err(_) => Ok(()),
        }
    }

    /// Stops an attempt in flight: deregistered and closed.
    fn close_in_flight(&mut self, token: Token) {
        if let Some((id, mut stream)) = self.in_flight.remove(&token) {
            if let Err(e) = self.deregister(&mut stream) {
                // Closing the socket removes it from the poller anyway.
                tracing::debug!(target: "eyeballs", attempt = %id, error = %e, "deregister failed");
            }
        }
    }

    fn finish(mut self, outcome: Outcome) -> Result<(TcpStream, Report), Error> {
        // Close every attempt still in flight before returning (the engine aborted them all
        // already; this is the belt to its braces).
        let tokens: Vec<Token> = self.in_flight.keys().copied().collect();
        for token in tokens {
            self.close_in_flight(token);
        }
        let race = self.engine.report().clone();
        let target = std::mem::take(&mut self.target);
        let outcomes = std::mem::take(&mut self.outcomes);
        // The poller, its waker and the channel go with `self` (DNS threads still running
        // find nobody to tell).
        drop(self);
        outcomes.finish(outcome, &race, target)
    }
}
