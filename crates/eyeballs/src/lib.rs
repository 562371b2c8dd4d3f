//! Happy Eyeballs (RFC 8305) connections for tokio.
//!
//! A host name usually resolves to several IPv6 and IPv4 addresses; trying them one by one
//! lets one broken path stall a connection for a whole TCP timeout. eyeballs asks for AAAA
//! and A at once, sorts the answers (RFC 6724), interleaves the families and races staggered
//! attempts; the first to connect wins and every other socket is closed.
//!
//! ```no_run
//! # async fn example() -> Result<(), eyeballs::Error> {
//! // The common case.
//! let stream = eyeballs::connect("example.com", 443).await?;
//!
//! // Everything else: a Connector.
//! use std::time::Duration;
//! let connection = eyeballs::Connector::new()
//!     .timeout(Duration::from_secs(10))
//!     .connect("example.com", 443)
//!     .await?;
//! for attempt in connection.report().attempts() {
//!     println!("{} at {:?}: {:?}", attempt.endpoint, attempt.started, attempt.end);
//! }
//! # drop(stream);
//! # Ok(())
//! # }
//! ```
//!
//! - [`connect`] and [`Connector`]: host names with one or several ports, pre-resolved
//!   addresses ([`Connector::connect_addrs`]), every delay and timeout of [`Config`], local
//!   address binding, an interface, a hook to set up each socket.
//! - [`resolver`]: the system resolver (one `getaddrinfo` per family, in parallel), a static
//!   map, hickory-resolver (feature `hickory`), or your own [`resolver::Resolver`].
//! - [`Connector::race`]: the same schedule for any kind of attempt (TCP then TLS, QUIC, a
//!   protocol greeting): the first attempt whose future succeeds wins.
//! - `hyper` (feature `hyper`; HTTPS with `rustls`): tower `Service<Uri>` connectors for
//!   hyper-util's client and tonic.
//! - `secure` (features `tls`, `quic`): TLS over TCP and QUIC (quinn) raced on one schedule
//!   (HEv3 §6); an attempt wins when its handshake is done.
//! - `blocking` (feature `blocking`): the same races with `std::net::TcpStream`, no runtime.
//! - [`Report`]: which address won, when each query and attempt started and ended and why
//!   (`Display` prints the timeline; `Serialize` with feature `serde`), and
//!   [`Connector::on_event`] for each event as it happens.
//! - [`guide`]: how eyeballs fits hyper-util, tonic, reqwest and ureq.
//! - [`Error`]: the network's verdict (every attempt with its address, start offset and OS
//!   error; each query's outcome) kept apart from invalid input; converts to [`std::io::Error`].
//!
//! The algorithm itself lives in [`eyeballs_proto`], a deterministic engine with no I/O; this
//! crate drives it with tokio. Happy Eyeballs covers the handshake only: a path that breaks
//! later (an MTU black hole, RFC 8305 §9.1) is not detected, and successive connections to
//! one name may use different addresses (HE-10.1).
#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations)]
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

#[cfg(all(feature = "blocking", unix))]
pub mod blocking;
mod classify;
mod connector;
mod driver;
mod error;
pub mod guide;
pub mod history;
#[cfg(feature = "hyper")]
pub mod hyper;
mod label;
pub mod network;
mod report;
pub mod resolver;
#[cfg(feature = "tls")]
pub mod secure;
mod socket;
mod source;

pub use classify::Cause;
pub use connector::{connect, Connection, Connector};
pub use error::{Error, ErrorKind};
pub use report::{AttemptSummary, EventHook, QuerySummary, Report, TimelineEntry, TimelineEvent};
pub use socket::SocketHook;

pub use eyeballs_proto as proto;
pub use eyeballs_proto::{
    AttemptEnd, Config, DnsOutcome, Endpoint, FailureKind, FamilyPreference, Outcome, PathFacts,
    PathFailure,
};
/// The socket2 version whose [`Socket`](socket2::Socket) the [`Connector::on_socket`] hook
/// receives, so that hooks need no separate dependency that could drift.
pub use socket2;
