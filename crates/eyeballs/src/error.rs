//! The connector's error: the network's verdict, kept apart from the caller's mistakes.

use std::fmt;
use std::io;

use eyeballs_proto::{AttemptEnd, DnsOutcome, SetupError};

use crate::report::Report;

/// Why a connection could not be made.
///
/// [`ErrorKind::InvalidInput`] is the caller's mistake (bad configuration, host name or port);
/// every other kind is the network's verdict and carries the [`Report`] of the race, which
/// names every query and every attempt with its OS error. Converts into [`io::Error`] with a
/// fitting [`io::ErrorKind`] for code that expects one.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    target: String,
    report: Option<Box<Report>>,
    setup: Option<SetupError>,
}

/// What kind of failure an [`Error`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The configuration, host name, port or address list is invalid; nothing was sent.
    InvalidInput,
    /// Name resolution gave no usable address (each query's outcome is in the report).
    NoAddresses,
    /// Every attempt failed (each attempt's address and OS error are in the report).
    AllAttemptsFailed,
    /// The overall timeout ran out.
    TimedOut,
}

impl Error {
    pub(crate) fn invalid(target: String, setup: SetupError) -> Self {
        Error {
            kind: ErrorKind::InvalidInput,
            target,
            report: None,
            setup: Some(setup),
        }
    }

    pub(crate) fn network(kind: ErrorKind, target: String, report: Report) -> Self {
        Error {
            kind,
            target,
            report: Some(Box::new(report)),
            setup: None,
        }
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The race's report, for every kind but [`ErrorKind::InvalidInput`].
    pub fn report(&self) -> Option<&Report> {
        self.report.as_deref()
    }

    /// The [`io::ErrorKind`] this error converts to: `InvalidInput`; `NotFound` when the name
    /// does not exist; `TimedOut`; for failed attempts the kind every attempt failed with if
    /// they agree (`ConnectionRefused` when all were refused), else the last attempt's.
    pub fn io_kind(&self) -> io::ErrorKind {
        match self.kind {
            ErrorKind::InvalidInput => io::ErrorKind::InvalidInput,
            ErrorKind::TimedOut => io::ErrorKind::TimedOut,
            ErrorKind::NoAddresses => {
                let nxdomain = self
                    .report()
                    .is_some_and(|r| r.queries().any(|q| q.outcome == Some(DnsOutcome::NxDomain)));
                if nxdomain {
                    io::ErrorKind::NotFound
                } else {
                    io::ErrorKind::Other
                }
            }
            ErrorKind::AllAttemptsFailed => {
                let kinds: Vec<io::ErrorKind> = self
                    .report()
                    .map(|r| {
                        r.attempts()
                            .map(|a| match (a.error, a.end) {
                                (Some(e), _) => e.kind(),
                                (None, Some(AttemptEnd::TimedOut)) => io::ErrorKind::TimedOut,
                                _ => io::ErrorKind::Other,
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                match kinds.first() {
                    Some(&first) if kinds.iter().all(|&k| k == first) => first,
                    _ => kinds.last().copied().unwrap_or(io::ErrorKind::Other),
                }
            }
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let target = &self.target;
        match self.kind {
            ErrorKind::InvalidInput => match &self.setup {
                Some(e) => write!(f, "cannot connect to {target}: {e}"),
                None => write!(f, "cannot connect to {target}: invalid input"),
            },
            ErrorKind::NoAddresses => {
                write!(f, "could not resolve {target}")?;
                if let Some(r) = self.report() {
                    let mut sep = ": ";
                    for q in r.queries() {
                        let outcome = q.outcome.map_or("pending", |o| o.as_str());
                        write!(f, "{sep}{} {outcome}", q.record)?;
                        sep = ", ";
                    }
                }
                Ok(())
            }
            ErrorKind::AllAttemptsFailed | ErrorKind::TimedOut => {
                if self.kind == ErrorKind::TimedOut {
                    write!(f, "connecting to {target} timed out")?;
                } else {
                    write!(f, "could not connect to {target}: every attempt failed")?;
                }
                let Some(r) = self.report() else {
                    return Ok(());
                };
                if r.attempts().next().is_none() {
                    return write!(f, " before any attempt started");
                }
                let mut sep = ": ";
                for a in r.attempts() {
                    write!(f, "{sep}{} (at {} ms) ", a.endpoint, a.started.as_millis())?;
                    match (a.error, a.end) {
                        (Some(e), _) => write!(f, "{e}")?,
                        (None, Some(AttemptEnd::TimedOut)) => f.write_str("attempt timed out")?,
                        (None, Some(end)) => write!(f, "{end}")?,
                        (None, None) => f.write_str("pending")?,
                    }
                    sep = "; ";
                }
                // Queries that did not answer with addresses explain missing families.
                for q in r.queries() {
                    match q.outcome {
                        Some(DnsOutcome::Addresses) | None => {}
                        Some(outcome) => write!(f, "; {} query: {outcome}", q.record)?,
                    }
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.setup {
            Some(e) => Some(e),
            None => None,
        }
    }
}

impl From<Error> for io::Error {
    fn from(e: Error) -> Self {
        io::Error::new(e.io_kind(), e)
    }
}
