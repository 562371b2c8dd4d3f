//! `eyeballs::Error`: a concise `Debug`, the OS error code kept through the conversion to
//! `io::Error`, escaped hosts, readable messages for 64 attempts, and one classification
//! ([`Cause`]). Loopback addresses only; the attempts that fail with a chosen OS error open
//! no socket at all (`race_addrs` with an attempt that fails at once).

mod common;

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use common::*;
use eyeballs::proto::{DnsResult, RecordType};
use eyeballs::{Cause, Connector, ErrorKind};

/// `EMFILE` and `ECONNREFUSED` on Linux.
const EMFILE: i32 = 24;
const ECONNREFUSED: i32 = 111;

/// `n` loopback addresses (127.0.0.1 to 127.0.0.n, port 9).
fn loopbacks(n: u8) -> Vec<SocketAddr> {
    (1..=n)
        .map(|i| SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, i)), 9))
        .collect()
}

/// Races `addrs` with attempts that fail at once with `error(addr)`: no socket is opened.
async fn fail_each(
    addrs: Vec<SocketAddr>,
    error: impl Fn(SocketAddr) -> io::Error + Send + 'static,
) -> eyeballs::Error {
    Connector::new()
        .race_addrs(addrs, move |addr| {
            let e = error(addr);
            async move { Err::<(), io::Error>(e) }
        })
        .await
        .expect_err("every attempt fails")
}

#[tokio::test]
async fn debug_is_concise_kind_target_and_attempts() {
    let err = fail_each(loopbacks(2), |_| io::Error::from_raw_os_error(ECONNREFUSED)).await;
    let debug = format!("{err:?}");
    for part in [
        "kind: AllAttemptsFailed",
        "target: \"127.0.0.1:9 and 1 more\"",
        "cause: Refused",
        "127.0.0.1:9 (at 0 ms) ",
        "127.0.0.2:9 (at ",
        "(os error 111)",
    ] {
        assert!(debug.contains(part), "{part:?} missing from {debug}");
    }
    assert!(!debug.contains("Instant"), "{debug}");
    assert!(debug.len() < 400, "{} bytes: {debug}", debug.len());
}

#[tokio::test]
async fn raw_os_error_survives_the_conversion_when_every_attempt_agrees() {
    if !cfg!(target_os = "linux") {
        return;
    }
    let err = fail_each(loopbacks(3), |_| io::Error::from_raw_os_error(EMFILE)).await;
    assert_eq!(err.raw_os_error(), Some(EMFILE));
    assert_eq!(err.cause(), Cause::Other);
    let io_err = io::Error::from(err);
    assert_eq!(io_err.raw_os_error(), Some(EMFILE));

    // A real refusal on loopback, one address: as std's `TcpStream::connect` would say.
    let err = Connector::new()
        .connect_addrs([refusing(V4)])
        .await
        .unwrap_err();
    assert_eq!(err.raw_os_error(), Some(ECONNREFUSED));
    assert_eq!(err.cause(), Cause::Refused);
    let io_err = io::Error::from(err);
    assert_eq!(io_err.raw_os_error(), Some(ECONNREFUSED));
    assert_eq!(io_err.kind(), io::ErrorKind::ConnectionRefused);
}

#[tokio::test]
async fn different_codes_keep_the_message_and_the_report() {
    let err = fail_each(loopbacks(2), |addr| {
        let code = if addr.ip() == IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1)) {
            EMFILE
        } else {
            ECONNREFUSED
        };
        io::Error::from_raw_os_error(code)
    })
    .await;
    assert_eq!(err.raw_os_error(), None);
    assert_eq!(err.cause(), Cause::Other);
    assert_eq!(err.io_kind(), io::ErrorKind::Other);
    let message = err.to_string();
    let io_err = io::Error::from(err);
    assert_eq!(io_err.raw_os_error(), None);
    assert_eq!(io_err.kind(), io::ErrorKind::Other);
    assert_eq!(io_err.to_string(), message);
    let inner = io_err
        .get_ref()
        .and_then(|e| e.downcast_ref::<eyeballs::Error>())
        .expect("the eyeballs error inside");
    assert_eq!(inner.report().map(|r| r.attempts().count()), Some(2));
}

#[tokio::test]
async fn errors_of_one_kind_but_no_code_keep_that_kind() {
    let err = fail_each(loopbacks(2), |_| {
        io::Error::new(io::ErrorKind::PermissionDenied, "denied by policy")
    })
    .await;
    assert_eq!(err.raw_os_error(), None);
    assert_eq!(err.io_kind(), io::ErrorKind::PermissionDenied);
    let io_err = io::Error::from(err);
    assert_eq!(io_err.kind(), io::ErrorKind::PermissionDenied);
    assert!(io_err.to_string().contains("denied by policy"), "{io_err}");
}

#[tokio::test]
async fn the_host_is_escaped_in_messages() {
    for host in ["evil\nhost.test", "a\r\nInjected: yes", "bell\u{7}.test"] {
        let err = Connector::new().connect(host, 80).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert_eq!(err.cause(), Cause::InvalidInput);
        let message = err.to_string();
        assert!(
            !message.chars().any(char::is_control),
            "{host:?} gave {message:?}"
        );
        let debug = format!("{err:?}");
        assert!(!debug.chars().any(char::is_control), "{debug:?}");
    }
    let err = Connector::new()
        .connect("evil\nhost.test", 80)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("cannot connect to evil\\nhost.test:80: "),
        "{err}"
    );
}

#[tokio::test]
async fn sixty_four_attempts_stay_readable() {
    let err = fail_each(loopbacks(64), |addr| {
        let last_octet = match addr.ip() {
            IpAddr::V4(v4) => v4.octets()[3],
            IpAddr::V6(_) => 0,
        };
        let code = if last_octet % 2 == 0 {
            EMFILE
        } else {
            ECONNREFUSED
        };
        io::Error::from_raw_os_error(code)
    })
    .await;
    assert_eq!(err.report().map(|r| r.attempts().count()), Some(64));
    let message = err.to_string();
    assert!(!message.contains('\n'), "{message}");
    // Eight attempts in full, the 56 others counted by error.
    assert_eq!(message.matches(" (at ").count(), 8, "{message}");
    assert!(message.contains("; and 56 more: 28 "), "{message}");
    assert!(message.contains("(os error 24)"), "{message}");
    assert!(message.contains("(os error 111)"), "{message}");
    assert!(message.len() < 1000, "{} bytes: {message}", message.len());
    let debug = format!("{err:?}");
    assert!(debug.contains("and 56 more: 28 "), "{debug}");
    assert!(debug.len() < 1200, "{} bytes: {debug}", debug.len());
}

#[tokio::test]
async fn many_distinct_errors_are_grouped_then_counted() {
    let err = fail_each(loopbacks(20), |addr| {
        io::Error::other(format!("error of {addr}"))
    })
    .await;
    let message = err.to_string();
    // Eight listed, three groups of the rest named, the other nine counted.
    assert!(
        message.contains("; and 12 more: 1 error of 127.0.0."),
        "{message}"
    );
    assert!(message.ends_with(", 9 other"), "{message}");
}

#[tokio::test]
async fn causes_of_resolution_failures() {
    let nxdomain = ScriptedResolver::new()
        .answer(RecordType::Aaaa, ms(0), DnsResult::NxDomain)
        .answer(RecordType::A, ms(0), DnsResult::NxDomain);
    let err = Connector::new()
        .resolver(nxdomain)
        .connect("missing.test", 80)
        .await
        .unwrap_err();
    assert_eq!(err.cause(), Cause::NoSuchName);
    assert_eq!(err.io_kind(), io::ErrorKind::NotFound);
    assert_eq!(err.raw_os_error(), None);
    assert!(format!("{err:?}").contains("queries: [AAAA nxdomain, A nxdomain]"));

    let nodata = ScriptedResolver::new()
        .answer(RecordType::Aaaa, ms(0), DnsResult::NoData)
        .answer(RecordType::A, ms(0), DnsResult::ServFail);
    let err = Connector::new()
        .resolver(nodata)
        .connect("empty.test", 80)
        .await
        .unwrap_err();
    assert_eq!(err.cause(), Cause::NoAddresses);
    assert_eq!(io::Error::from(err).kind(), io::ErrorKind::Other);
}

#[tokio::test]
async fn overall_timeout_is_timed_out() {
    let hole = BlackHole::new(V4);
    let err = Connector::new()
        .timeout(ms(100))
        .connect_addrs([hole.addr])
        .await
        .unwrap_err();
    assert_eq!(err.cause(), Cause::TimedOut);
    assert_eq!(err.raw_os_error(), None);
    assert_eq!(io::Error::from(err).kind(), io::ErrorKind::TimedOut);
}

/// An answer whose addresses no connect can use (`0.0.0.0`, multicast) ends as NODATA; the
/// message says which addresses were dropped and why, not only "A nodata".
#[tokio::test]
async fn screened_out_answers_are_named_in_the_message() {
    let unusable = ScriptedResolver::new()
        .addresses(RecordType::Aaaa, ms(0), &["ff02::1".parse().unwrap()])
        .addresses(RecordType::A, ms(0), &["0.0.0.0".parse().unwrap()]);
    let err = Connector::new()
        .resolver(unusable)
        .connect("zero.test", 80)
        .await
        .unwrap_err();
    assert_eq!(err.cause(), Cause::NoAddresses);
    let message = err.to_string();
    assert!(
        message.contains("unusable answers: ff02::1 (multicast), 0.0.0.0 (unspecified)"),
        "{message}"
    );
}
