//! The `eyeballs` command (src/main.rs calls [`main`]): see a Happy Eyeballs race, simulate
//! one, or give any program Happy Eyeballs. A library only so that the fuzz targets (`fuzz/`
//! at the workspace root) and the bounded run in `tests/fuzz_targets.rs` reach the proxy's
//! request handling ([`fuzzing`]); not an API for other crates.
#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations)]

use std::io::{self, IsTerminal, StdoutLock, Write};
use std::process::ExitCode;

use clap::{ArgAction, CommandFactory, FromArgMatches, Parser, Subcommand};
use tracing_subscriber::EnvFilter;

mod connect;
mod demo;
mod duration;
mod facts;
#[doc(hidden)]
pub mod fuzzing;
mod options;
mod output;
mod proxy;
mod run;
mod simulate;
mod svcb;
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
    Run(run::RunArgs),
}

/// The `eyeballs` command: parses the command line (`std::env::args`), runs the subcommand and
/// gives the process's exit status.
#[doc(hidden)]
pub fn main() -> ExitCode {
    // clap exits with status 2 on usage errors and 0 for --help / --version.
    let matches = Cli::command().get_matches();
    let mut cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    // The proxy's --allow and --deny are checked in command-line order.
    match (&mut cli.command, matches.subcommand()) {
        (Command::Proxy(args), Some((_, sub))) => args.options.take_rule_order(sub),
        (Command::Run(args), Some((_, sub))) => args.proxy.take_rule_order(sub),
        _ => {}
    }
    // The proxy's own log goes through tracing too: info (every race) for `proxy`, warn
    // (failures) for `run` unless --log-races.
    let proxy_log = match &cli.command {
        Command::Proxy(args) => Some((args.options.log_format, "info")),
        Command::Run(args) => Some((
            args.proxy.log_format,
            if args.log_races { "info" } else { "warn" },
        )),
        _ => None,
    };
    if let Err(e) = init_tracing(cli.verbose, proxy_log) {
        return usage_error(&e);
    }
    match cli.command {
        Command::Connect(args) => connect::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Simulate(args) => simulate::run(args),
        Command::Proxy(args) => proxy::run(args),
        Command::Run(args) => run::run(args),
    }
}

/// Installs a `tracing` fmt subscriber on stderr: for `-v` (the library's events), and for
/// the proxy's own log (`proxy_log`: its format and level); none when neither is wanted.
fn init_tracing(
    verbose: u8,
    proxy_log: Option<(proxy::log::LogFormat, &str)>,
) -> Result<(), String> {
    let library = match verbose {
        0 => None,
        1 => Some("eyeballs=debug"),
        2 => Some("eyeballs=trace"),
        _ => Some("trace"),
    };
    if library.is_none() && proxy_log.is_none() {
        return Ok(());
    }
    let mut filter = match (library, std::env::var("RUST_LOG")) {
        (Some(_), Ok(spec)) if !spec.trim().is_empty() => EnvFilter::try_new(&spec)
            .map_err(|e| format!("RUST_LOG={spec:?} is not a tracing filter: {e}"))?,
        (Some(default), _) => EnvFilter::new(default),
        (None, _) => EnvFilter::new("off"),
    };
    if let Some((_, level)) = proxy_log {
        let directive = format!("{}={level}", proxy::log::TARGET);
        filter = filter.add_directive(
            directive
                .parse()
                .map_err(|e| format!("bad log directive {directive}: {e}"))?,
        );
    }
    let color = std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let installed = match proxy_log {
        Some((proxy::log::LogFormat::Json, _)) => builder.json().try_init(),
        Some((proxy::log::LogFormat::Text, _)) => builder
            .with_ansi(false)
            .event_format(proxy::log::ProxyText::default())
            .try_init(),
        None => builder.with_ansi(color).try_init(),
    };
    installed.map_err(|e| format!("cannot install the tracing subscriber: {e}"))
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
