//! Resolvers: where the connector's AAAA and A answers come from.
//!
//! The connector asks for each record type on its own and hands each answer to the engine as
//! soon as it arrives (RFC 8305 §3, HE-3.3, HE-3.4); a resolver that joined both families
//! before answering would defeat the Resolution Delay.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

pub use eyeballs_proto::{DnsResult, RecordType};

mod fixed;
#[cfg(feature = "hickory")]
mod hickory;
mod system;

pub use fixed::StaticResolver;
#[cfg(feature = "hickory")]
pub use hickory::HickoryResolver;
pub use system::SystemResolver;

/// The future of one lookup.
pub type Lookup = Pin<Box<dyn Future<Output = DnsResult> + Send + 'static>>;

/// Looks up one record type for a name.
///
/// Implement it to plug in any DNS client. Each call is independent: the connector makes one
/// call per record type, at once, and drops a call's future when it no longer needs the
/// answer (which should stop the lookup, or at least let it finish unobserved). Addresses are
/// returned as [`DnsResult::Addresses`] with unknown source addresses; the connector probes the
/// sources itself.
pub trait Resolver: Send + Sync + fmt::Debug {
    /// Looks up `record` records of `name`.
    fn lookup(&self, name: &str, record: RecordType) -> Lookup;
}
