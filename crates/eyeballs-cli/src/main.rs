//! `eyeballs`: see a Happy Eyeballs race, simulate one, or give any program Happy Eyeballs.
#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations)]

use std::io::{self, IsTerminal, StdoutLock, Write};
use std::process::ExitCode;

use clap::{ArgAction, Parser, Subcommand};
use tracing_subscriber::EnvFilter;

mod connect;
mod demo;
mod duration;
mod options;
mod output;
mod proxy;
mod simulate;
mod target;

/// Happy Eyeballs (RFC 8305) from the command line: race IPv6 and IPv4 connection attempts,
/// see why a dual-stack host is slow, and fix it for programs that cannot change.
#[derive(Debug, Parser)]
#[command(name = "eyeballs", version, propagate_version = true)]
struct Cli {
    /// Show the library's tracing events (target `eyeballs`) on stderr: -v debug, -vv trace,
    /// -vvv trace from every crate. Off without -v. With -v, RUST_LOG (if set) chooses what
    /// is shown instead, e.g. RUST_LOG=eyeballs=trace,hickory_resolver=debug.
    #[arg(short, long, action = ArgAction::Count, global = true)]
    verbose: u8,

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
    if let Err(e) = init_tracing(cli.verbose) {
        return usage_error(&e);
    }
    match cli.command {
        Command::Connect(args) => connect::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Simulate(args) => simulate::run(args),
        Command::Proxy(args) => proxy::run(args),
    }
}

/// Installs a `tracing` fmt subscriber on stderr for `-v`: none without it.
fn init_tracing(verbose: u8) -> Result<(), String> {
    let default = match verbose {
        0 => return Ok(()),
        1 => "eyeballs=debug",
        2 => "eyeballs=trace",
        _ => "trace",
    };
    let filter = match std::env::var("RUST_LOG") {
        Ok(spec) if !spec.trim().is_empty() => EnvFilter::try_new(&spec)
            .map_err(|e| format!("RUST_LOG={spec:?} is not a tracing filter: {e}"))?,
        _ => EnvFilter::new(default),
    };
    let color = std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(color)
        .try_init()
        .map_err(|e| format!("cannot install the tracing subscriber: {e}"))
}

/// Prints a race once and gives the exit status (0 connected, else 1). With `json`, the
/// object goes to stdout and a failure's message to stderr (stdout is for programs, stderr
/// for people); else `text` prints it on stdout, and the timeline's last line tells the
/// failure: nothing more goes to stderr.
fn show_race<'a>(
    view: &output::RaceView<'a>,
    json: bool,
    text: impl FnOnce(&mut StdoutLock<'static>, &output::RaceView<'a>) -> io::Result<()>,
) -> ExitCode {
    if json {
        return view.emit(true, text);
    }
    let mut out = io::stdout().lock();
    // A closed stdout (a pipe into `head`) is not the race's failure.
    let _ = text(&mut out, view).and_then(|()| out.flush());
    if view.error.is_some() {
        ExitCode::from(exit::FAILED)
    } else {
        ExitCode::SUCCESS
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
