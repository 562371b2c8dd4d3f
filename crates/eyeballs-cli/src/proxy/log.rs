//! The proxy's log: `tracing` events of target [`TARGET`], one line each on stderr.
//!
//! `--log-format text` (the default) prints `eyeballs proxy: MESSAGE key=value ...`;
//! `--log-format json` prints one JSON object per line (`timestamp`, `level`, `target`,
//! `message` and each field). Levels: `info` for a race that connected and the proxy's own
//! news, `warn` for what a client was refused or could not get (a failed race, a refused
//! destination, a failed handshake), `error` for the proxy's own failures. `eyeballs run`
//! shows `warn` and above unless `--log-races`.

use std::fmt;
use std::process::ExitCode;

use clap::ValueEnum;
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::{self, FormatEvent, FormatFields, Writer};
use tracing_subscriber::fmt::FmtContext;
use tracing_subscriber::registry::LookupSpan;

/// The target of every proxy event (the library's own events are under `eyeballs`).
pub const TARGET: &str = "eyeballs_proxy";

/// How log lines are written (`--log-format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum LogFormat {
    /// `eyeballs proxy: MESSAGE key=value ...`, for people.
    #[default]
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Logs one line at level info.
pub fn log(line: fmt::Arguments<'_>) {
    tracing::info!(target: TARGET, "{line}");
}

/// Logs one line at level warn.
pub fn warn(line: fmt::Arguments<'_>) {
    tracing::warn!(target: TARGET, "{line}");
}

/// Logs `message` (level error) and returns status 1.
pub fn failure(message: fmt::Arguments<'_>) -> ExitCode {
    tracing::error!(target: TARGET, "{message}");
    ExitCode::from(crate::exit::FAILED)
}

/// The text format: the proxy's events as `eyeballs proxy: MESSAGE key=value ...`, every
/// other event (the library's, under `-v`) in tracing's usual format.
#[derive(Debug, Default)]
pub struct ProxyText {
    other: format::Format,
}

impl<S, N> FormatEvent<S, N> for ProxyText
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        if event.metadata().target() != TARGET {
            return self.other.format_event(ctx, writer, event);
        }
        writer.write_str("eyeballs proxy: ")?;
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}
