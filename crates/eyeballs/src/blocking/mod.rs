//! Happy Eyeballs without an async runtime (feature `blocking`): [`std::net::TcpStream`]s,
//! the calling thread blocked until the race is decided.
//!
//! ```no_run
//! # fn example() -> Result<(), eyeballs::Error> {
//! // The common case.
//! let stream: std::net::TcpStream = eyeballs::blocking::connect("example.com", 443)?;
//!
//! // Everything else: build an eyeballs::Connector, then make it blocking.
//! use std::time::Duration;
//! let connector = eyeballs::blocking::Connector::from(
//!     eyeballs::Connector::new().timeout(Duration::from_secs(10)),
//! );
//! let connection = connector.connect("example.com", 443)?;
//! println!("connected to {:?}", connection.report().winner());
//! # drop(stream);
//! # Ok(())
//! # }
//! ```
//!
//! The race is the tokio driver's: the same [`eyeballs_proto`] engine behind the same driver
//! core, with the same [`Config`](crate::Config), [`Report`](crate::Report) and [`Error`];
//! only the waiting differs. Any number of threads may connect at once: each call is
//! independent. A call blocks its thread for the whole race, so on an async runtime's worker
//! thread use [`eyeballs::Connector`](crate::Connector) instead. Unix only (poll(2)).
//!
//! # How it works
//!
//! - **Attempts**: each socket is set up as the [`Connector`] says (local address,
//!   interface, hook) and connected without blocking; one poll(2) watches every handshake in
//!   flight until its socket is writable, then the pending error tells how it ended. The
//!   winner is returned in blocking mode. Losers, late winners and attempts still in flight
//!   are closed before the call returns. An attempt that nothing else in the race can
//!   interrupt (a single address, no timeout, no query pending) simply connects in blocking
//!   mode, as `std` does: no poll at all.
//! - **Time**: the thread sleeps in poll(2) until the engine's next deadline
//!   ([`Engine::poll_timeout`](eyeballs_proto::Engine::poll_timeout)) or the next event,
//!   whichever comes first; expiry is decided by [`std::time::Instant`], not by which wake-up
//!   came.
//! - **DNS**: each query (AAAA, A) runs on a thread of its own through
//!   [`Resolver::lookup_blocking`](crate::resolver::Resolver::lookup_blocking), so both
//!   families are asked at once and each answer reaches the engine as it arrives (HE-3.4);
//!   the thread rings a socket the poll watches. [`SystemResolver`](crate::resolver::SystemResolver)
//!   calls `getaddrinfo` there, [`StaticResolver`](crate::resolver::StaticResolver) answers at
//!   once, `HickoryResolver` (feature `hickory`) runs each query on a small runtime of its
//!   own, and a resolver of your own works as long as its future needs no runtime (or it
//!   overrides `lookup_blocking`). A resolver that panics fails that query only, as in the
//!   tokio driver.
//! - **IP literals** (`"192.0.2.1"`, `"::1"`) as the host are raced at once, with no query
//!   and no thread.
//! - **Any kind of attempt**: [`Connector::race`] runs a blocking function per attempt, each
//!   on a thread of its own (TCP and then TLS, a protocol greeting).
//!
//! # What may still run after a call returns
//!
//! A thread cannot be cancelled. A DNS query the race no longer needs (the race was won,
//! failed or timed out first, or the query hit the resolve timeout) keeps its thread until
//! the resolver returns — for `getaddrinfo`, until the OS gives up on its servers — and its
//! answer is then dropped; so does a [`Connector::race`] attempt that lost. Such a thread
//! holds none of the race's sockets or descriptors. What hung resolvers can hold is bounded:
//! at most [`MAX_DNS_THREADS`] lookup threads run at once in the process, and a query beyond
//! them fails at once rather than adding a thread. Sockets of [`Connector::connect`] attempts
//! are never left behind: every one is closed before the call returns.
//!
//! HTTP clients that take a connected `TcpStream` can use [`Connector`] directly; for ureq,
//! see [the guide](crate::guide).

mod attempt;
mod bell;
mod connector;
mod driver;
mod interrupt;
mod lookup;
mod threads;

use std::net::TcpStream;

pub use connector::Connector;
pub use interrupt::MIN_INTERRUPT_INTERVAL;
pub use lookup::MAX_DNS_THREADS;

use crate::connector::Connection;
use crate::error::Error;

/// Connects to `host` (a name or an IP literal) on `port` with RFC 8305's defaults and the
/// system resolver, blocking until the race is decided: the common case. It shares one
/// connector, and so one [history store](crate::history), with [`crate::connect`].
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// let port = listener.local_addr()?.port();
/// let stream = eyeballs::blocking::connect("127.0.0.1", port)?;
/// assert_eq!(stream.peer_addr()?, listener.local_addr()?);
/// # Ok(())
/// # }
/// ```
///
/// # Errors
/// As [`Connector::connect`].
pub fn connect(host: &str, port: u16) -> Result<TcpStream, Error> {
    Connector::from(crate::connector::shared().clone())
        .connect(host, port)
        .map(Connection::into_stream)
}
