//! How a race or one attempt failed, in one word: the one classification that the engine's
//! [`FailureKind`], the [`io::ErrorKind`] of a converted [`Error`](crate::Error), the CLI and
//! the proxy's SOCKS replies and HTTP statuses are all mapped from.

use std::fmt;
use std::io;

use eyeballs_proto::{AttemptEnd, FailureKind};

/// How a race (or one attempt) failed: [`Error::cause`](crate::Error::cause) and
/// [`AttemptSummary::cause`](crate::AttemptSummary::cause).
///
/// | cause | one attempt | a race | [`io::ErrorKind`] |
/// |---|---|---|---|
/// | `InvalidInput` | — | bad configuration, host name, port or address list | `InvalidInput` |
/// | `NoSuchName` | — | a query answered NXDOMAIN and no address was found | `NotFound` |
/// | `NoAddresses` | — | name resolution gave no usable address (or nothing was attempted) | `Other` |
/// | `Refused` | `ECONNREFUSED` (a TCP reset) | every attempt was refused | `ConnectionRefused` |
/// | `NetworkUnreachable` | `ENETUNREACH` | every attempt: network unreachable | `NetworkUnreachable` |
/// | `HostUnreachable` | `EHOSTUNREACH`, or the engine's `Unreachable` | every attempt unreachable, some host unreachable | `HostUnreachable` |
/// | `TimedOut` | `ETIMEDOUT`, or the attempt timeout | the overall timeout, or every attempt timed out | `TimedOut` |
/// | `Denied` | — | the destination policy refused every address | `PermissionDenied` |
/// | `Interrupted` | — | the caller's interruption check stopped it | `Interrupted` |
/// | `Other` | any other error | anything else, a mix of causes included | `Other` |
///
/// A mix of causes is `Other` rather than one of them: "refused" for a race whose IPv6
/// attempt timed out and whose IPv4 attempt was refused would tell half the story (the
/// report tells all of it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Cause {
    /// The caller's mistake: nothing was sent ([`ErrorKind::InvalidInput`](crate::ErrorKind)).
    InvalidInput,
    /// The name does not exist: a query answered NXDOMAIN and no address was found.
    NoSuchName,
    /// Name resolution gave no usable address (NODATA, SERVFAIL, a resolver error or
    /// timeout), or there was nothing to attempt.
    NoAddresses,
    /// The connection was refused (`ECONNREFUSED`: the host answered with a reset).
    Refused,
    /// No route to the network (`ENETUNREACH`).
    NetworkUnreachable,
    /// No route to the host (`EHOSTUNREACH`), or unreachable without saying which.
    HostUnreachable,
    /// Timed out: the OS gave up (`ETIMEDOUT`), the attempt timeout or the overall timeout
    /// ran out.
    TimedOut,
    /// The destination policy refused every address (`Config::destinations`): a literal or
    /// address list of refused addresses, or a name that resolved to refused addresses only.
    Denied,
    /// The caller's interruption check stopped the race (a blocking race's
    /// `interrupt_check`: Ctrl-C in Python, say).
    Interrupted,
    /// Anything else (out of file descriptors, permission denied, a TLS error, a mix).
    Other,
}

impl Cause {
    /// The cause of one OS (or attempt) error, from its [`io::ErrorKind`] (never
    /// `InvalidInput`, `NoSuchName` or `NoAddresses`: those are a race's).
    pub fn of_io_error(error: &io::Error) -> Cause {
        match error.kind() {
            io::ErrorKind::ConnectionRefused => Cause::Refused,
            io::ErrorKind::NetworkUnreachable => Cause::NetworkUnreachable,
            io::ErrorKind::HostUnreachable => Cause::HostUnreachable,
            io::ErrorKind::TimedOut => Cause::TimedOut,
            _ => Cause::Other,
        }
    }

    /// The cause of one attempt: its OS error if that says more than "other", else how the
    /// engine recorded its end. An attempt that connected, was aborted or has not ended is
    /// `Other`.
    pub fn of_attempt(end: Option<AttemptEnd>, error: Option<&io::Error>) -> Cause {
        let from_error = error.map_or(Cause::Other, Cause::of_io_error);
        if from_error != Cause::Other {
            return from_error;
        }
        match end {
            Some(AttemptEnd::Failed(FailureKind::Refused)) => Cause::Refused,
            Some(AttemptEnd::Failed(FailureKind::Unreachable)) => Cause::HostUnreachable,
            Some(AttemptEnd::Failed(FailureKind::TimedOut)) | Some(AttemptEnd::TimedOut) => {
                Cause::TimedOut
            }
            _ => Cause::Other,
        }
    }

    /// The cause of a race in which every attempt failed, from the attempts' causes: none
    /// at all is [`Cause::NoAddresses`]; all the same is that cause; all unreachable (network
    /// and host mixed) is [`Cause::HostUnreachable`]; any other mix is [`Cause::Other`].
    pub fn of_attempts(causes: impl IntoIterator<Item = Cause>) -> Cause {
        let mut combined: Option<Cause> = None;
        for cause in causes {
            combined = Some(match combined {
                None => cause,
                Some(c) if c == cause => c,
                Some(c) if c.is_unreachable() && cause.is_unreachable() => Cause::HostUnreachable,
                Some(_) => return Cause::Other,
            });
        }
        combined.unwrap_or(Cause::NoAddresses)
    }

    /// The [`io::ErrorKind`] of this cause (the table above).
    pub fn io_kind(self) -> io::ErrorKind {
        match self {
            Cause::InvalidInput => io::ErrorKind::InvalidInput,
            Cause::NoSuchName => io::ErrorKind::NotFound,
            Cause::Refused => io::ErrorKind::ConnectionRefused,
            Cause::NetworkUnreachable => io::ErrorKind::NetworkUnreachable,
            Cause::HostUnreachable => io::ErrorKind::HostUnreachable,
            Cause::TimedOut => io::ErrorKind::TimedOut,
            Cause::Denied => io::ErrorKind::PermissionDenied,
            Cause::Interrupted => io::ErrorKind::Interrupted,
            Cause::NoAddresses | Cause::Other => io::ErrorKind::Other,
        }
    }

    /// What the engine is told about an attempt that failed with this cause.
    pub fn failure_kind(self) -> FailureKind {
        match self {
            Cause::Refused => FailureKind::Refused,
            Cause::NetworkUnreachable | Cause::HostUnreachable => FailureKind::Unreachable,
            Cause::TimedOut => FailureKind::TimedOut,
            Cause::InvalidInput
            | Cause::NoSuchName
            | Cause::NoAddresses
            | Cause::Denied
            | Cause::Interrupted
            | Cause::Other => FailureKind::Other,
        }
    }

    /// A short, stable name: `invalid_input`, `no_such_name`, `no_addresses`, `refused`,
    /// `network_unreachable`, `host_unreachable`, `timed_out`, `denied`, `interrupted`,
    /// `other` (for logs and JSON).
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::InvalidInput => "invalid_input",
            Cause::NoSuchName => "no_such_name",
            Cause::NoAddresses => "no_addresses",
            Cause::Refused => "refused",
            Cause::NetworkUnreachable => "network_unreachable",
            Cause::HostUnreachable => "host_unreachable",
            Cause::TimedOut => "timed_out",
            Cause::Denied => "denied",
            Cause::Interrupted => "interrupted",
            Cause::Other => "other",
        }
    }

    fn is_unreachable(self) -> bool {
        matches!(self, Cause::NetworkUnreachable | Cause::HostUnreachable)
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for Cause {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// How the engine sees an attempt's OS error: the drivers' one mapping from [`io::Error`] to
/// [`FailureKind`] (through [`Cause::of_io_error`]).
// Remove this `allow` once `driver/outcomes.rs` calls this instead of its own copy.
pub(crate) fn failure_kind(error: &io::Error) -> FailureKind {
    Cause::of_io_error(error).failure_kind()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_map_to_causes_and_failure_kinds() {
        let cases = [
            (
                io::ErrorKind::ConnectionRefused,
                Cause::Refused,
                FailureKind::Refused,
            ),
            (
                io::ErrorKind::NetworkUnreachable,
                Cause::NetworkUnreachable,
                FailureKind::Unreachable,
            ),
            (
                io::ErrorKind::HostUnreachable,
                Cause::HostUnreachable,
                FailureKind::Unreachable,
            ),
            (
                io::ErrorKind::TimedOut,
                Cause::TimedOut,
                FailureKind::TimedOut,
            ),
            (
                io::ErrorKind::PermissionDenied,
                Cause::Other,
                FailureKind::Other,
            ),
            (
                io::ErrorKind::InvalidInput,
                Cause::Other,
                FailureKind::Other,
            ),
        ];
        for (kind, cause, failure) in cases {
            let e = io::Error::from(kind);
            assert_eq!(Cause::of_io_error(&e), cause, "{kind:?}");
            assert_eq!(failure_kind(&e), failure, "{kind:?}");
        }
    }

    #[test]
    fn raw_os_errors_are_classified_by_their_kind() {
        for (code, cause) in [
            (111, Cause::Refused),            // ECONNREFUSED
            (101, Cause::NetworkUnreachable), // ENETUNREACH
            (113, Cause::HostUnreachable),    // EHOSTUNREACH
            (110, Cause::TimedOut),           // ETIMEDOUT
            (24, Cause::Other),               // EMFILE
        ] {
            if cfg!(target_os = "linux") {
                let e = io::Error::from_raw_os_error(code);
                assert_eq!(Cause::of_io_error(&e), cause, "os error {code}");
            }
        }
    }

    #[test]
    fn attempt_cause_prefers_the_os_error_then_the_engine_end() {
        let err = io::Error::from(io::ErrorKind::NetworkUnreachable);
        let other = io::Error::other("tls: bad certificate");
        let end = |k| Some(AttemptEnd::Failed(k));
        assert_eq!(
            Cause::of_attempt(end(FailureKind::Unreachable), Some(&err)),
            Cause::NetworkUnreachable
        );
        assert_eq!(
            Cause::of_attempt(end(FailureKind::Refused), Some(&other)),
            Cause::Refused
        );
        assert_eq!(
            Cause::of_attempt(end(FailureKind::Unreachable), None),
            Cause::HostUnreachable
        );
        assert_eq!(
            Cause::of_attempt(Some(AttemptEnd::TimedOut), None),
            Cause::TimedOut
        );
        assert_eq!(
            Cause::of_attempt(end(FailureKind::Other), Some(&other)),
            Cause::Other
        );
        assert_eq!(
            Cause::of_attempt(Some(AttemptEnd::Aborted), None),
            Cause::Other
        );
        assert_eq!(Cause::of_attempt(None, None), Cause::Other);
    }

    #[test]
    fn attempts_combine_to_one_cause() {
        use Cause::*;
        let cases: &[(&[Cause], Cause)] = &[
            (&[], NoAddresses),
            (&[Refused], Refused),
            (&[Refused, Refused], Refused),
            (
                &[NetworkUnreachable, NetworkUnreachable],
                NetworkUnreachable,
            ),
            (&[NetworkUnreachable, HostUnreachable], HostUnreachable),
            (&[HostUnreachable, NetworkUnreachable], HostUnreachable),
            (&[TimedOut, TimedOut], TimedOut),
            (&[Refused, TimedOut], Other),
            (&[HostUnreachable, NetworkUnreachable, Refused], Other),
            (&[Other, Other], Other),
        ];
        for (causes, want) in cases {
            assert_eq!(
                Cause::of_attempts(causes.iter().copied()),
                *want,
                "{causes:?}"
            );
        }
    }

    #[test]
    fn io_kinds_and_names() {
        assert_eq!(Cause::NoSuchName.io_kind(), io::ErrorKind::NotFound);
        assert_eq!(Cause::NoAddresses.io_kind(), io::ErrorKind::Other);
        assert_eq!(Cause::Refused.to_string(), "refused");
        assert_eq!(Cause::TimedOut.as_str(), "timed_out");
    }
}
