//! `eyeballs proxy` (being written).

use std::process::ExitCode;

use clap::Args;

/// Run a SOCKS5 proxy whose every upstream connection is a Happy Eyeballs race.
#[derive(Debug, Args)]
pub struct ProxyArgs {}

pub fn run(_args: ProxyArgs) -> ExitCode {
    ExitCode::from(crate::exit::FAILED)
}
