//! What every client task needs, shared.

use std::time::Duration;

use eyeballs::Connector;

use super::auth::Credentials;
use super::limits::AuthThrottle;

/// What every client task needs, shared.
#[derive(Debug)]
pub struct Settings {
    /// Runs the races.
    pub connector: Connector,
    /// Credentials clients must give, if any.
    pub auth: Option<Credentials>,
    /// Failed logins, per client address.
    pub throttle: AuthThrottle,
    /// The deadline for the whole handshake (and for each HTTP request head).
    pub handshake_timeout: Duration,
    /// A relay (or an HTTP connection) in which no byte moved either way for this long is
    /// closed.
    pub idle_timeout: Duration,
    /// Whether HTTP (forward proxy and CONNECT) is served besides SOCKS5.
    pub http: bool,
}
