//! The connector's error: the network's verdict, kept apart from the caller's mistakes.

use std::fmt;
use std::io;
use std::sync::Arc;

use eyeballs_proto::{AttemptEnd, DnsOutcome, SetupError, TargetError};

use crate::classify::Cause;
use crate::report::{AttemptSummary, Escaped, Report};

/// A failure message (and `Debug`) names at most this many attempts, each with its address,
/// start offset and error; the rest are counted, grouped by error ("and 56 more: 50
/// Connection refused (os error 111), 6 attempt timed out"). The report has them all.
const LISTED_ATTEMPTS: usize = 8;

/// ... and groups at most this many distinct errors among the rest (then "N other").
const LISTED_GROUPS: usize = 3;

/// Why a connection could not be made.
///
/// [`ErrorKind::InvalidInput`] is the caller's mistake (bad configuration, host name or port);
/// every other kind is the network's verdict and carries the [`Report`] of the race, which
/// names every query and every attempt with its OS error. [`Error::cause`] classifies it in
/// one word. Converts into [`io::Error`] with a fitting [`io::ErrorKind`] (and the OS error
/// code when every attempt failed with the same one) for code that expects one.
///
/// The message (`Display`) is one line whatever the input: the target's control characters
/// are escaped, and at most 8 attempts are listed in full (the others are counted, grouped
/// by error). `Debug` is as concise: kind, target, the listed attempts, the queries.
pub struct Error {
    kind: ErrorKind,
    target: String,
    report: Option<Box<Report>>,
    setup: Option<SetupError>,
    /// What the caller's interruption check returned, for [`ErrorKind::Interrupted`].
    interruption: Option<Arc<dyn std::error::Error + Send + Sync>>,
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
    /// The caller's interruption check stopped the race (a blocking race's
    /// `interrupt_check`): every attempt was aborted and every socket closed. What the check
    /// returned is the error's [`source`](std::error::Error::source) and
    /// [`Error::interruption`].
    Interrupted,
}

impl Error {
    pub(crate) fn invalid(target: String, setup: SetupError) -> Self {
        Error {
            kind: ErrorKind::InvalidInput,
            target,
            report: None,
            setup: Some(setup),
            interruption: None,
        }
    }

    pub(crate) fn network(kind: ErrorKind, target: String, report: Report) -> Self {
        Error {
            kind,
            target,
            report: Some(Box::new(report)),
            setup: None,
            interruption: None,
        }
    }

    pub(crate) fn interrupted(
        target: String,
        report: Report,
        why: Box<dyn std::error::Error + Send + Sync>,
    ) -> Self {
        Error {
            interruption: Some(Arc::from(why)),
            ..Error::network(ErrorKind::Interrupted, target, report)
        }
    }

    /// What the caller's interruption check returned, for [`ErrorKind::Interrupted`] (also
    /// the error's [`source`](std::error::Error::source)): downcast it to get the caller's
    /// own error back.
    pub fn interruption(&self) -> Option<&(dyn std::error::Error + Send + Sync + 'static)> {
        self.interruption.as_deref()
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The race's report, for every kind but [`ErrorKind::InvalidInput`].
    pub fn report(&self) -> Option<&Report> {
        self.report.as_deref()
    }

    /// What was wrong with the input, for [`ErrorKind::InvalidInput`] (also the error's
    /// [`source`](std::error::Error::source)).
    pub fn setup_error(&self) -> Option<&SetupError> {
        self.setup.as_ref()
    }

    /// How the race failed, in one word (the table on [`Cause`]): `InvalidInput` for the
    /// caller's mistakes; `NoSuchName` or `NoAddresses` when resolution gave nothing;
    /// `TimedOut` for the overall timeout; for failed attempts, their common cause
    /// ([`Cause::of_attempts`]).
    pub fn cause(&self) -> Cause {
        match self.kind {
            ErrorKind::InvalidInput => match self.setup {
                Some(SetupError::Target(TargetError::Denied { .. })) => Cause::Denied,
                _ => Cause::InvalidInput,
            },
            ErrorKind::TimedOut => Cause::TimedOut,
            ErrorKind::Interrupted => Cause::Interrupted,
            ErrorKind::NoAddresses => self
                .report()
                .map_or(Cause::NoAddresses, Report::resolution_cause),
            ErrorKind::AllAttemptsFailed => {
                self.report().map_or(Cause::Other, Report::attempts_cause)
            }
        }
    }

    /// The OS error code (`ECONNREFUSED`, `EMFILE` …) every attempt failed with, if they all
    /// failed with the same one ([`ErrorKind::AllAttemptsFailed`] only).
    pub fn raw_os_error(&self) -> Option<i32> {
        if self.kind != ErrorKind::AllAttemptsFailed {
            return None;
        }
        let mut common = None;
        for a in self.report()?.attempts() {
            let code = a.error?.raw_os_error()?;
            if common.is_some_and(|c| c != code) {
                return None;
            }
            common = Some(code);
        }
        common
    }

    /// The [`io::ErrorKind`] this error converts to: the kind every attempt's OS error has,
    /// if there are attempts and they all agree (`PermissionDenied` when a firewall denied
    /// each one, say); else the [`Cause`]'s ([`Cause::io_kind`]): `InvalidInput`, `NotFound`
    /// when the name does not exist, `TimedOut`, `ConnectionRefused` when every attempt was
    /// refused, `Other` for a mix of causes.
    pub fn io_kind(&self) -> io::ErrorKind {
        if self.kind == ErrorKind::AllAttemptsFailed {
            if let Some(kind) = self.report().and_then(common_io_kind) {
                return kind;
            }
        }
        self.cause().io_kind()
    }

    /// The target as given, escaped for one line.
    fn target(&self) -> Escaped<'_> {
        Escaped(&self.target)
    }
}

/// At most this many refusals of the destination policy are named in a message.
const LISTED_REFUSALS: usize = 3;

/// `; refused by the destination policy: IP (why), …` for a race with refusals.
fn write_refusals(f: &mut fmt::Formatter<'_>, report: &Report) -> fmt::Result {
    let total = report.refusals().count();
    let mut sep = "; refused by the destination policy: ";
    for (ip, port, denial) in report.refusals().take(LISTED_REFUSALS) {
        match port {
            Some(port) => write!(f, "{sep}{} ({denial})", std::net::SocketAddr::new(ip, port))?,
            None => write!(f, "{sep}{ip} ({denial})")?,
        }
        sep = ", ";
    }
    if total > LISTED_REFUSALS {
        write!(f, " and {} more", total - LISTED_REFUSALS)?;
    }
    Ok(())
}

/// `; unusable answers: IP (why), …` for addresses screened out of the answers (unspecified,
/// multicast, of an excluded family …; the policy's refusals are listed apart), so that
/// "A nodata" after an answer of `0.0.0.0` says why.
fn write_unusable(f: &mut fmt::Formatter<'_>, report: &Report) -> fmt::Result {
    let unusable = || {
        report.queries().flat_map(|q| {
            q.dropped
                .iter()
                .filter(|(_, reason)| !matches!(reason, eyeballs_proto::DropReason::Denied(_)))
        })
    };
    let total = unusable().count();
    let mut sep = "; unusable answers: ";
    for (ip, reason) in unusable().take(LISTED_REFUSALS) {
        write!(f, "{sep}{ip} ({reason})")?;
        sep = ", ";
    }
    if total > LISTED_REFUSALS {
        write!(f, " and {} more", total - LISTED_REFUSALS)?;
    }
    Ok(())
}

/// The [`io::ErrorKind`] of every attempt's OS error, if they all have one and agree.
fn common_io_kind(report: &Report) -> Option<io::ErrorKind> {
    let mut common = None;
    for a in report.attempts() {
        let kind = a.error?.kind();
        if common.is_some_and(|k| k != kind) {
            return None;
        }
        common = Some(kind);
    }
    common
}

/// How one attempt ended, for a message: its error, else how the engine recorded its end.
struct AttemptText<'a>(&'a AttemptSummary<'a>);

impl fmt::Display for AttemptText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.0.error, self.0.end) {
            (Some(e), _) => write!(f, "{}", Escaped(&e.to_string())),
            (None, Some(AttemptEnd::TimedOut)) => f.write_str("attempt timed out"),
            (None, Some(end)) => write!(f, "{end}"),
            (None, None) => f.write_str("pending"),
        }
    }
}

/// One listed attempt: `ADDR (at N ms) ERROR`.
struct Listed<'a>(&'a AttemptSummary<'a>);

impl fmt::Display for Listed<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let a = self.0;
        write!(
            f,
            "{} (at {} ms) {}",
            a.endpoint,
            a.started.as_millis(),
            AttemptText(a)
        )
    }
}

impl fmt::Debug for Listed<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The attempts past the listed ones, counted and grouped by their error text in order of
/// first appearance: `and 56 more: 50 Connection refused (os error 111), 6 pending`.
struct Rest<'a>(&'a [AttemptSummary<'a>]);

impl fmt::Display for Rest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut groups: Vec<(String, usize)> = Vec::new();
        for a in self.0 {
            let text = AttemptText(a).to_string();
            match groups.iter_mut().find(|(t, _)| *t == text) {
                Some((_, n)) => *n += 1,
                None => groups.push((text, 1)),
            }
        }
        write!(f, "and {} more", self.0.len())?;
        let mut sep = ": ";
        for (text, n) in groups.iter().take(LISTED_GROUPS) {
            write!(f, "{sep}{n} {text}")?;
            sep = ", ";
        }
        let others: usize = groups.iter().skip(LISTED_GROUPS).map(|(_, n)| n).sum();
        if others > 0 {
            write!(f, "{sep}{others} other")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Rest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// `[AAAA servfail, A ok]` for `Debug`.
struct Queries<'a>(&'a Report);

impl fmt::Debug for Queries<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Query(String);
        impl fmt::Debug for Query {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        f.debug_list()
            .entries(self.0.queries().map(|q| {
                let outcome = q.outcome.map_or("pending", DnsOutcome::as_str);
                Query(format!("{} {outcome}", q.record))
            }))
            .finish()
    }
}

/// The listed attempts then the rest, for `Debug`.
struct Attempts<'a>(&'a [AttemptSummary<'a>]);

impl fmt::Debug for Attempts<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let listed = self.0.len().min(LISTED_ATTEMPTS);
        let (shown, rest) = self.0.split_at(listed);
        let mut list = f.debug_list();
        list.entries(shown.iter().map(Listed));
        if !rest.is_empty() {
            list.entry(&Rest(rest));
        }
        list.finish()
    }
}

/// Concise: `Error { kind, target, cause, attempts: [ADDR (at N ms) ERROR, …], queries }`
/// (or `setup` for invalid input), never the report's instants.
impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.kind).field("target", &self.target);
        if let Some(setup) = &self.setup {
            d.field("setup", setup);
        }
        if let Some(why) = &self.interruption {
            d.field(
                "interruption",
                &format_args!("{:?}", Escaped(&why.to_string()).to_string()),
            );
        }
        if let Some(report) = self.report() {
            d.field("cause", &self.cause());
            let attempts: Vec<AttemptSummary<'_>> = report.attempts().collect();
            if !attempts.is_empty() {
                d.field("attempts", &Attempts(&attempts));
            }
            if report.queries().next().is_some() {
                d.field("queries", &Queries(report));
            }
        }
        d.finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let target = self.target();
        match self.kind {
            ErrorKind::InvalidInput => match &self.setup {
                Some(e) => write!(f, "cannot connect to {target}: {}", Escaped(&e.to_string())),
                None => write!(f, "cannot connect to {target}: invalid input"),
            },
            ErrorKind::Interrupted => match &self.interruption {
                Some(why) => write!(
                    f,
                    "connecting to {target} was interrupted: {}",
                    Escaped(&why.to_string())
                ),
                None => write!(f, "connecting to {target} was interrupted"),
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
                    write_refusals(f, r)?;
                    write_unusable(f, r)?;
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
                let attempts: Vec<AttemptSummary<'_>> = r.attempts().collect();
                if attempts.is_empty() {
                    return write!(f, " before any attempt started");
                }
                let (listed, rest) = attempts.split_at(attempts.len().min(LISTED_ATTEMPTS));
                let mut sep = ": ";
                for a in listed {
                    write!(f, "{sep}{}", Listed(a))?;
                    sep = "; ";
                }
                if !rest.is_empty() {
                    write!(f, "; {}", Rest(rest))?;
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
        if let Some(why) = &self.interruption {
            return Some(why.as_ref());
        }
        match &self.setup {
            Some(e) => Some(e),
            None => None,
        }
    }
}

/// The OS error code wins over the message when there is one to keep.
///
/// An [`io::Error`] carries either an OS error code or a payload, never both. When every
/// attempt failed with the same OS error code ([`Error::raw_os_error`]: one refused
/// address, every address `EMFILE` …) the result is [`io::Error::from_raw_os_error`] with
/// that code, so that `raw_os_error()` returns it, as for a failed
/// [`std::net::TcpStream::connect`]; its message is the OS's (`Connection refused (os error
/// 111)`) and the target and the report are not kept. Otherwise (causes differ, a timeout, a
/// resolution failure, invalid input) it is `io::Error::new(`[`Error::io_kind`]`, error)`:
/// the full message, and the [`Error`] with its report through
/// [`get_ref`](io::Error::get_ref) / [`into_inner`](io::Error::into_inner).
///
/// To keep both the code and the report, inspect the [`Error`] before converting it.
impl From<Error> for io::Error {
    fn from(e: Error) -> Self {
        match e.raw_os_error() {
            Some(code) => io::Error::from_raw_os_error(code),
            None => io::Error::new(e.io_kind(), e),
        }
    }
}
