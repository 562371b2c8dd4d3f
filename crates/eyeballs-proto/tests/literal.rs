//! The one IP-literal parser of the workspace (`parse_ip_literal`): a table of cases run by one
//! loop.

use std::net::IpAddr;

use eyeballs_proto::{parse_ip_literal, IpLiteralError};

struct Case {
    text: &'static str,
    /// The address and zone, or the error.
    expected: Result<(&'static str, Option<&'static str>), IpLiteralError>,
}

const fn ok(text: &'static str, ip: &'static str, zone: Option<&'static str>) -> Case {
    Case {
        text,
        expected: Ok((ip, zone)),
    }
}

const fn err(text: &'static str, e: IpLiteralError) -> Case {
    Case {
        text,
        expected: Err(e),
    }
}

use IpLiteralError::*;

const CASES: &[Case] = &[
    // Plain and bracketed.
    ok("192.0.2.1", "192.0.2.1", None),
    ok("2001:db8::1", "2001:db8::1", None),
    ok("[2001:db8::1]", "2001:db8::1", None),
    ok("::1", "::1", None),
    ok("[::]", "::", None),
    ok("::ffff:192.0.2.1", "::ffff:192.0.2.1", None),
    ok("[::ffff:192.0.2.1]", "::ffff:192.0.2.1", None),
    // Zones on link-local IPv6 (RFC 4007 §11): names and numbers, bare or bracketed.
    ok("fe80::1%eth0", "fe80::1", Some("eth0")),
    ok("fe80::1%3", "fe80::1", Some("3")),
    ok("[fe80::1%eth0]", "fe80::1", Some("eth0")),
    ok("[fe80::1%3]", "fe80::1", Some("3")),
    ok("febf::1%en0", "febf::1", Some("en0")),
    ok("fe80::1%wlp2s0.100", "fe80::1", Some("wlp2s0.100")),
    ok("fe80::1%4294967295", "fe80::1", Some("4294967295")),
    // Brackets: balanced, around the whole literal, IPv6 only.
    err("[1.2.3.4", UnbalancedBrackets),
    err("[192.0.2.1]", BracketedIpv4),
    err("2001:db8::1]", UnbalancedBrackets),
    err("[2001:db8::1", UnbalancedBrackets),
    err("[[2001:db8::1]]", UnbalancedBrackets),
    err("[2001:db8::1]]", UnbalancedBrackets),
    err("[2001:[db8::1]", UnbalancedBrackets),
    err("[", UnbalancedBrackets),
    err("]", UnbalancedBrackets),
    err("[]", NotAnAddress),
    err("[fe80::1]%eth0", UnbalancedBrackets),
    // Not addresses.
    err("", NotAnAddress),
    err("example.test", NotAnAddress),
    err("192.0.2.1:443", NotAnAddress),
    err("[2001:db8::1]:443", UnbalancedBrackets),
    err("2001:db8:::1", NotAnAddress),
    err("192.0.2.256", NotAnAddress),
    err(" 192.0.2.1", NotAnAddress),
    err("%eth0", NotAnAddress),
    // Zones only where they mean something, and well formed.
    err("192.0.2.1%eth0", ZoneNotAllowed),
    err("2001:db8::1%eth0", ZoneNotAllowed),
    err("[2001:db8::1%3]", ZoneNotAllowed),
    err("::1%lo", ZoneNotAllowed),
    err("fe80::1%", InvalidZone),
    err("fe80::1%eth 0", InvalidZone),
    err("fe80::1%eth0%1", InvalidZone),
    err("fe80::1%a/b", InvalidZone),
    err("fe80::1%4294967296", InvalidZone),
    err("fe80::1%é", InvalidZone),
];

#[test]
fn parse_ip_literal_table() {
    for case in CASES {
        let got = parse_ip_literal(case.text).map(|lit| (lit.ip, lit.zone));
        let expected = case.expected.map(|(ip, zone)| {
            let ip: IpAddr = ip.parse().expect("valid expected address");
            (ip, zone)
        });
        assert_eq!(got, expected, "{:?}", case.text);
    }
}

#[test]
fn zone_longer_than_64_bytes_is_invalid() {
    let ok = format!("fe80::1%{}", "a".repeat(64));
    assert_eq!(
        parse_ip_literal(&ok).map(|l| l.zone.map(str::len)),
        Ok(Some(64))
    );
    let long = format!("fe80::1%{}", "a".repeat(65));
    assert_eq!(parse_ip_literal(&long), Err(InvalidZone));
}

#[test]
fn scope_id_is_the_numeric_zone() {
    let scope = |s| parse_ip_literal(s).expect("valid literal").scope_id();
    assert_eq!(scope("fe80::1%3"), Some(3));
    assert_eq!(scope("[fe80::1%0]"), Some(0));
    assert_eq!(scope("fe80::1%eth0"), None);
    assert_eq!(scope("fe80::1"), None);
    assert_eq!(scope("192.0.2.1"), None);
}

#[test]
fn error_messages() {
    assert_eq!(
        UnbalancedBrackets.to_string(),
        "the IP literal has unbalanced or misplaced brackets"
    );
    assert_eq!(
        BracketedIpv4.to_string(),
        "the IP literal puts brackets around an IPv4 address"
    );
}
