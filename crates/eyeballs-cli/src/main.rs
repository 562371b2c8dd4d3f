//! `eyeballs`: see a Happy Eyeballs race, simulate one, or give any program Happy Eyeballs.
#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations)]

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod connect;
mod demo;
mod duration;
mod options;
mod output;
mod proxy;
mod simulate;

/// Happy Eyeballs (RFC 8305) from the command line: race IPv6 and IPv4 connection attempts,
/// see why a dual-stack host is slow, and fix it for programs that cannot change.
#[derive(Debug, Parser)]
#[command(name = "eyeballs", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Connect(connect::ConnectArgs),
    Demo(demo::DemoArgs),
    Simulate(simulate::SimulateArgs),
    Proxy(proxy::ProxyArgs),
}

fn main() -> ExitCode {
    // clap exits with status 2 on usage errors and 0 for --help / --version.
    let cli = Cli::parse();
    match cli.command {
        Command::Connect(args) => connect::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Simulate(args) => simulate::run(args),
        Command::Proxy(args) => proxy::run(args),
    }
}

/// Exit statuses.
mod exit {
    use std::process::ExitCode;

    /// Could not connect (the message names every attempt).
    pub const FAILED: u8 = 1;
    /// Usage error: a bad duration, address or flag.
    pub const USAGE: u8 = 2;

    /// Prints `message` and returns status 1.
    pub fn failure(message: &str) -> ExitCode {
        eprintln!("eyeballs: {message}");
        ExitCode::from(FAILED)
    }
}

/// Prints a usage error and returns status 2.
fn usage_error(message: &str) -> ExitCode {
    eprintln!("eyeballs: {message}");
    ExitCode::from(exit::USAGE)
}
