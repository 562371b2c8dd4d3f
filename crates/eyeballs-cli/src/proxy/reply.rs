//! SOCKS5 reply codes (RFC 1928 §6), and a failed race's reply, mapped from the library's
//! one classification of how a race failed ([`eyeballs::Cause`]). HTTP CONNECT statuses
//! come from these replies ([`super::http::status_for`]).

use std::fmt;

use eyeballs::proto::{DropReason, SetupError, TargetError};
use eyeballs::{Cause, Error};

/// A reply code (RFC 1928 §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    /// 0x00: connected.
    Succeeded,
    /// 0x01: general SOCKS server failure.
    GeneralFailure,
    /// 0x02: connection not allowed by ruleset.
    NotAllowed,
    /// 0x03: network unreachable.
    NetworkUnreachable,
    /// 0x04: host unreachable.
    HostUnreachable,
    /// 0x05: connection refused.
    ConnectionRefused,
    /// 0x06: TTL expired.
    TtlExpired,
    /// 0x07: command not supported.
    CommandNotSupported,
    /// 0x08: address type not supported.
    AddressTypeNotSupported,
}

impl Reply {
    /// The code on the wire.
    pub fn code(self) -> u8 {
        match self {
            Reply::Succeeded => 0x00,
            Reply::GeneralFailure => 0x01,
            Reply::NotAllowed => 0x02,
            Reply::NetworkUnreachable => 0x03,
            Reply::HostUnreachable => 0x04,
            Reply::ConnectionRefused => 0x05,
            Reply::TtlExpired => 0x06,
            Reply::CommandNotSupported => 0x07,
            Reply::AddressTypeNotSupported => 0x08,
        }
    }

    /// RFC 1928's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Reply::Succeeded => "succeeded",
            Reply::GeneralFailure => "general SOCKS server failure",
            Reply::NotAllowed => "connection not allowed by ruleset",
            Reply::NetworkUnreachable => "network unreachable",
            Reply::HostUnreachable => "host unreachable",
            Reply::ConnectionRefused => "connection refused",
            Reply::TtlExpired => "TTL expired",
            Reply::CommandNotSupported => "command not supported",
            Reply::AddressTypeNotSupported => "address type not supported",
        }
    }
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:02x} ({})", self.code(), self.as_str())
    }
}

/// The SOCKS5 reply for a race that failed, from [`Error::cause`]:
///
/// | cause ([`eyeballs::Cause`])                  | reply                       |
/// |----------------------------------------------|-----------------------------|
/// | `Denied`: the destination policy refused every address (a literal, or every DNS answer) | 0x02 connection not allowed by ruleset |
/// | `NoAddresses`, every answer dropped as no destination (unspecified, 0.0.0.0/8, multicast, broadcast: the engine's screening) | 0x02 connection not allowed by ruleset |
/// | `NoSuchName`, `NoAddresses` (no address, or no attempt at all) | 0x04 host unreachable |
/// | `TimedOut` (`--timeout`, or every attempt timed out, OS or `--attempt-timeout`) | 0x06 TTL expired |
/// | `Refused` (every attempt refused)            | 0x05 connection refused     |
/// | `NetworkUnreachable` (every attempt ENETUNREACH) | 0x03 network unreachable |
/// | `HostUnreachable` (every attempt unreachable, some EHOSTUNREACH) | 0x04 host unreachable |
/// | `InvalidInput`: no address of the allowed family (`-4`, `-6`) | 0x08 address type not supported |
/// | `InvalidInput`: an invalid host name or port | 0x04 host unreachable       |
/// | `Other` (a mix of causes, other errors), other invalid input | 0x01 general failure |
pub fn failure_reply(error: &Error) -> Reply {
    match error.cause() {
        Cause::Denied => Reply::NotAllowed,
        Cause::NoAddresses if answered_no_destination(error) => Reply::NotAllowed,
        Cause::NoSuchName | Cause::NoAddresses | Cause::HostUnreachable => Reply::HostUnreachable,
        Cause::TimedOut => Reply::TtlExpired,
        Cause::Refused => Reply::ConnectionRefused,
        Cause::NetworkUnreachable => Reply::NetworkUnreachable,
        Cause::InvalidInput => match error.setup_error() {
            Some(SetupError::Target(TargetError::NoAddressOfFamily)) => {
                Reply::AddressTypeNotSupported
            }
            Some(SetupError::Target(_)) => Reply::HostUnreachable,
            _ => Reply::GeneralFailure,
        },
        _ => Reply::GeneralFailure,
    }
}

/// What a client is told about a failed race (the HTTP body, the log's `error=`): the
/// library's message, which names every attempt and each refusal of the destination policy,
/// and the answered addresses the engine dropped as no destination, when that is all there
/// was.
pub fn failure_message(error: &Error) -> String {
    // The library's message lists the dropped answers with their reasons already.
    let mut message = error.to_string();
    if error.cause() == Cause::NoAddresses && answered_no_destination(error) {
        message.push_str("; not allowed: every address answered is no destination");
    }
    message
}

/// Whether the race's DNS answers had addresses, all dropped by the engine's screening as
/// no destination at all (the answer asked for what the destination policy refuses as a
/// literal: `0.0.0.0`, multicast, broadcast).
fn answered_no_destination(error: &Error) -> bool {
    let Some(report) = error.report() else {
        return false;
    };
    let mut dropped = report.queries().flat_map(|q| q.dropped.iter()).peekable();
    dropped.peek().is_some()
        && dropped.all(|(_, reason)| {
            matches!(
                reason,
                DropReason::Unspecified
                    | DropReason::ThisNetwork
                    | DropReason::Multicast
                    | DropReason::Broadcast
                    | DropReason::Denied(_)
            )
        })
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::net::{SocketAddr, TcpListener};

    use eyeballs::{Connector, FamilyPreference};

    use super::*;

    /// A loopback port nobody listens on.
    fn closed_port() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        // Out of LISTEN at once, even if a child forked meanwhile holds the descriptor.
        let _ = socket2::SockRef::from(&listener).shutdown(std::net::Shutdown::Read);
        addr
    }

    /// Races two loopback addresses whose attempts fail at once with `codes` (no socket).
    async fn failing_with(codes: [io::ErrorKind; 2]) -> Error {
        let addrs: [SocketAddr; 2] = [
            "127.0.0.1:9".parse().unwrap(),
            "127.0.0.2:9".parse().unwrap(),
        ];
        Connector::new()
            .race_addrs(addrs, move |addr| {
                let kind = if addr == addrs[0] { codes[0] } else { codes[1] };
                async move { Err::<(), io::Error>(io::Error::from(kind)) }
            })
            .await
            .unwrap_err()
    }

    #[tokio::test]
    async fn race_failures_map_from_the_librarys_cause() {
        use io::ErrorKind::*;
        let refused = Connector::new()
            .connect_addrs([closed_port()])
            .await
            .unwrap_err();
        assert_eq!(failure_reply(&refused), Reply::ConnectionRefused);
        for (codes, reply) in [
            (
                [ConnectionRefused, ConnectionRefused],
                Reply::ConnectionRefused,
            ),
            (
                [NetworkUnreachable, NetworkUnreachable],
                Reply::NetworkUnreachable,
            ),
            (
                [NetworkUnreachable, HostUnreachable],
                Reply::HostUnreachable,
            ),
            ([TimedOut, TimedOut], Reply::TtlExpired),
            ([ConnectionRefused, TimedOut], Reply::GeneralFailure),
            ([PermissionDenied, PermissionDenied], Reply::GeneralFailure),
        ] {
            let error = failing_with(codes).await;
            assert_eq!(failure_reply(&error), reply, "{codes:?}: {error}");
        }
    }

    #[tokio::test]
    async fn invalid_input_maps_from_the_setup_error() {
        let v6_with_ipv4_only = Connector::new()
            .family(FamilyPreference::Ipv4Only)
            .connect_addrs(["[::1]:80".parse().unwrap()])
            .await
            .unwrap_err();
        assert_eq!(
            failure_reply(&v6_with_ipv4_only),
            Reply::AddressTypeNotSupported
        );
        let bad_name = Connector::new().connect("bad name", 80).await.unwrap_err();
        assert_eq!(failure_reply(&bad_name), Reply::HostUnreachable);
    }

    #[test]
    fn codes_and_names() {
        assert_eq!(Reply::ConnectionRefused.code(), 0x05);
        assert_eq!(
            Reply::TtlExpired.to_string(),
            "0x06 (TTL expired)".to_owned()
        );
    }
}
