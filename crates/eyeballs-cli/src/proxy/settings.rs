//! What every client task needs, shared.

use std::time::Duration;

use eyeballs::Connector;

use super::auth::Credentials;

/// What every client task needs, shared.
#[derive(Debug)]
pub struct Settings {
    /// Runs the races.
    pub connector: Connector,
    /// Credentials clients must give, if any.
    pub auth: Option<Credentials>,
    /// The deadline for the whole handshake.
    pub handshake_timeout: Duration,
    /// Whether HTTP CONNECT is accepted too.
    pub http_connect: bool,
}
