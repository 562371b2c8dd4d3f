//! The Happy Eyeballs engine of [eyeballs]: RFC 8305 (with the HEv3 draft in view) as a
//! deterministic state machine with no sockets, no clock and no async.
//!
//! A driver (the tokio driver in the `eyeballs` crate, the blocking driver, the simulator in
//! [`sim`]) creates an [`Engine`] for a [`Target`] and a [`Config`], then loops: it performs
//! the [`Action`]s the engine emits (resolve, connect, abort, close), feeds back what happened
//! (`handle_dns`, `handle_attempt`) and what time it is (`handle_timeout`), and stops at
//! [`Action::Done`]. The same inputs always give the same outputs, so every rule of the spec is
//! tested on virtual time with exact timestamps.
//!
//! What the engine owns (requirement IDs from the project's RFC checklist):
//! - resolution (RFC 8305 §3): AAAA and A asked at once, the Resolution Delay, answers that
//!   arrive mid-race (HE-3.x, HE-6.x);
//! - sorting (RFC 8305 §4): RFC 6724 destination address selection with a replaceable policy
//!   table ([`PolicyTable`]), then family interleaving with a First Address Family Count
//!   (HE-4.x, R6724-x);
//! - attempts (RFC 8305 §5): the staggered schedule, never two starts within 10 ms
//!   ([`ATTEMPT_DELAY_FLOOR`], HE-5.10), the first success wins, per-attempt and overall
//!   timeouts, a cap on attempts in flight and on endpoints (HE-5.x);
//! - screening of DNS answers: addresses no connect can use are dropped with a reason
//!   ([`DropReason`]), and [`Engine::screen_answer`] tells a driver what will be kept before it
//!   probes source addresses;
//! - the destination policy ([`DestinationPolicy`], off by default): every endpoint, the
//!   caller's or a DNS answer's, checked against allow and deny rules and the reserved ranges
//!   before it is attempted;
//! - IPv4-embedded IPv6 addresses (RFC 6052, [`Pref64`]);
//! - history as input ([`History`], [`Engine::with_history`]): recent failures demote an
//!   endpoint, RTT estimates and the last winner order the rest (HE-4.3, HE-4.4), and an RTT
//!   estimate gives a retransmission-timeout attempt delay (HE-5.8); [`Report::lessons`] is
//!   what a finished race teaches a store;
//! - the [`Report`]: the timeline of the race.
//!
//! The crate also holds the workspace's one IP-literal parser, [`parse_ip_literal`].
//!
//! No input makes the engine panic, durations included: any `Duration` up to
//! `Duration::MAX` is accepted, and a deadline too far away to be represented as an `Instant`
//! is never reached (a `Some(Duration::MAX)` timeout is no timeout).
//!
//! [eyeballs]: https://crates.io/crates/eyeballs
#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations)]
#![doc(test(attr(deny(warnings))))]
#![warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod action;
mod attempt;
mod candidates;
mod config;
mod distinct;
mod dns;
mod endpoint;
mod engine;
mod error;
mod fifo;
mod group;
mod history;
mod interleave;
mod literal;
mod nat64;
mod network;
mod policy;
mod report;
mod rfc6724;
mod screen;
mod service;
pub mod sim;
mod target;

pub use action::{Action, Failure, Outcome};
pub use attempt::{AttemptEnd, AttemptId, AttemptResult, FailureKind};
pub use config::{Config, ConfigError, FamilyPreference, ATTEMPT_DELAY_FLOOR};
pub use dns::{Destination, DnsOutcome, DnsResult, QueryId, RecordType, SourceAddr};
pub use endpoint::{Endpoint, Family, Protocol};
pub use engine::Engine;
pub use error::{InputError, SetupError};
pub use history::{History, Lesson, PathFacts, PathFailure, Rtt, RTO_GRANULARITY};
pub use ipnet::IpNet;
pub use literal::{parse_ip_literal, IpLiteral, IpLiteralError};
pub use nat64::{Pref64, Pref64Error};
pub use network::Network;
pub use policy::{Denial, DestinationPolicy, Reserved, Rule, Verdict};
pub use report::{AttemptRecord, Event, QueryRecord, Report};
pub use rfc6724::{sort_destinations, PolicyEntry, PolicyTable};
pub use screen::DropReason;
pub use service::{ServiceRecord, MAX_ALIAS_CHAIN};
pub use target::{Target, TargetError};
