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
//! The race is the tokio driver's, decided by the same [`eyeballs_proto`] engine with the same
//! [`Config`](crate::Config), [`Report`](crate::Report) and [`Error`]; only the I/O differs.
//! Any number of threads may connect at once: each call has its own poller. A call blocks its
//! thread for the whole race, so on an async runtime's worker thread use
//! [`eyeballs::Connector`](crate::Connector) instead.
//!
//! # How it works
//!
//! - **Attempts**: each socket is set up as the [`Connector`](crate::Connector) says (local
//!   address, interface, hook), made non-blocking, and connected; the handshake is watched
//!   with a poller ([mio]'s, which has a safe registration API) until the socket is writable,
//!   then `take_error` and `peer_addr` tell how it ended (mio's recipe). The winner is
//!   returned in blocking mode. Losers, late winners and attempts still in flight are closed
//!   before the call returns.
//! - **Time**: the loop sleeps in the poller until the engine's next deadline
//!   ([`Engine::poll_timeout`](eyeballs_proto::Engine::poll_timeout)) or the next event,
//!   whichever comes first, and reads [`std::time::Instant`].
//! - **DNS**: each query (AAAA, A) runs on a `std::thread` of its own through
//!   [`Resolver::lookup_blocking`](crate::resolver::Resolver::lookup_blocking), so both
//!   families are asked at once and each answer reaches the engine as it arrives (HE-3.4).
//!   [`SystemResolver`](crate::resolver::SystemResolver) calls `getaddrinfo` there,
//!   [`StaticResolver`](crate::resolver::StaticResolver) answers at once, `HickoryResolver`
//!   (feature `hickory`) runs each query on a small runtime of its own, and a resolver of
//!   your own works as long as its future needs no runtime (or it overrides
//!   `lookup_blocking`).
//! - **IP literals** (`"192.0.2.1"`, `"::1"`) as the host are raced at once, with no query
//!   and no thread.
//!
//! # What may still run after a call returns
//!
//! A thread cannot be cancelled. A DNS query the race no longer needs (the race was won,
//! failed or timed out first, or the query hit the resolve timeout) keeps its thread until
//! the resolver returns — for `getaddrinfo`, until the OS gives up on its servers — and its
//! answer is then dropped. Such a thread holds none of the race's sockets or descriptors.
//! Sockets are never left behind: every attempt's socket is closed before the call returns.
//!
//! # HTTP clients: ureq
//!
//! There is no ureq adapter, because ureq has no stable hook for one: ureq 2 lets an agent
//! replace only its resolver (a list of addresses that ureq then tries one at a time), and
//! ureq 3's `Connector` and `Transport` traits live in its `unversioned` module, outside
//! semver. With ureq 3 you can still write the adapter yourself, pinned to a ureq minor
//! version: implement `ureq::unversioned::transport::Connector` whose `connect` races the
//! request's host and port (`details.uri`) with a blocking [`Connector`] (by name, so that
//! the Resolution Delay applies; or `details.addrs` with [`Connector::connect_addrs`]) and
//! wraps the stream in `TcpTransport::new(stream, LazyBuffers::new(..))`, then pass it to
//! `Agent::with_parts`. Any client that takes a connected `TcpStream` can use
//! [`Connector`] directly.

mod attempt;
mod connector;
mod driver;
mod lookup;

use std::net::TcpStream;

pub use connector::Connector;

use crate::connector::Connection;
use crate::error::Error;

/// Connects to `host` (a name or an IP literal) on `port` with RFC 8305's defaults and the
/// system resolver, blocking until the race is decided: the common case.
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
    Connector::new()
        .connect(host, port)
        .map(Connection::into_stream)
}
