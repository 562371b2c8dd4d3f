//! Remembering what the network taught (RFC 8305 §4-5, HEv3 §5.3): the [`HistoryStore`] that
//! every [`Connector`](crate::Connector) keeps, how it remembers and forgets
//! ([`HistoryConfig`]), and the [`NetworkWatch`] that flushes it when the network changes.
//!
//! A race to a host whose IPv6 path is black-holed costs the Connection Attempt Delay
//! (250 ms) once: the stalled IPv6 attempt is remembered, the next race to the host leads with
//! IPv4 and costs one handshake. QUIC paths are remembered apart from TCP ones (V3-6.5): a
//! QUIC attempt that stalled because UDP is blocked demotes that QUIC endpoint, and the next
//! race to the address leads with TCP; a QUIC handshake time gives the QUIC endpoint its RTT
//! estimate. What the store tells a race is visible in its report
//! ([`AttemptSummary::history`](crate::AttemptSummary::history),
//! [`Report::history_reordered`](crate::Report::history_reordered)).
//!
//! ```no_run
//! # async fn example() -> Result<(), eyeballs::Error> {
//! use eyeballs::history::HistoryStore;
//! use eyeballs::Connector;
//!
//! // One store shared by two connectors, each in its own privacy partition (V3-5.3.3).
//! let store = HistoryStore::new();
//! let site_a = Connector::new().history(store.partition("site-a.example"));
//! let site_b = Connector::new().history(store.partition("site-b.example"));
//! let first = site_a.connect("example.com", 443).await?;
//! let second = site_a.connect("example.com", 443).await?; // knows what `first` taught
//! let other = site_b.connect("example.com", 443).await?; // does not
//! # drop((first, second, other));
//! // No memory at all:
//! let forgetful = Connector::new().without_history();
//! # drop(forgetful);
//! # Ok(())
//! # }
//! ```

mod config;
mod netwatch;
mod store;

pub use config::HistoryConfig;
pub use netwatch::NetworkWatch;
pub use store::HistoryStore;
pub(crate) use store::Partition;

#[cfg(test)]
mod tests;
