//! `simulate --history [quic://]IP=FACTS`: what a history store knows about an address's TCP
//! (or QUIC) endpoint, as written on the command line.

use std::net::IpAddr;

use eyeballs::proto::{FailureKind, PathFacts, PathFailure, Protocol, Rtt};

use crate::duration;

/// Parses `[quic://|tcp://]IP=FACT[,FACT...]`: the facts of the address's TCP endpoint, or
/// of its QUIC endpoint with `quic://` (history keeps the two apart, V3-6.5). Each FACT is
/// one of `stalled`, `refused`, `unreachable`, `timeout` (a recent failure: the endpoint is
/// tried after every usable one), `rtt:SRTT` or `rtt:SRTT/RTTVAR` (an RTT estimate; RTTVAR
/// defaults to half of SRTT, as after a first sample, RFC 6298), `used` (it won the host's
/// latest race).
pub fn parse_history(text: &str) -> Result<(Protocol, IpAddr, PathFacts), String> {
    let (protocol, rest) = match (text.strip_prefix("quic://"), text.strip_prefix("tcp://")) {
        (Some(rest), _) => (Protocol::Quic, rest),
        (None, Some(rest)) => (Protocol::Tcp, rest),
        (None, None) => (Protocol::Tcp, text),
    };
    let (ip, facts) = rest.split_once('=').ok_or_else(|| {
        format!(
            "{text:?}: write [quic://]IP=FACTS, like 2001:db8::1=stalled, \
             quic://192.0.2.1=stalled or 192.0.2.1=rtt:20ms,used"
        )
    })?;
    let literal = eyeballs::proto::parse_ip_literal(ip).map_err(|e| format!("{ip:?}: {e}"))?;
    if literal.zone.is_some() {
        return Err(format!("{ip:?}: zone ids are not simulated"));
    }
    let mut out = PathFacts::default();
    for fact in facts.split(',').map(str::trim) {
        match fact.split_once(':') {
            Some(("rtt", value)) => {
                let (srtt, rttvar) = match value.split_once('/') {
                    Some((s, v)) => (duration::parse(s)?, Some(duration::parse(v)?)),
                    None => (duration::parse(value)?, None),
                };
                let first = Rtt::first(srtt);
                out.rtt = Some(Rtt {
                    srtt,
                    rttvar: rttvar.unwrap_or(first.rttvar),
                });
            }
            _ => match fact {
                "stalled" => out.failed = Some(PathFailure::Stalled),
                "refused" => out.failed = Some(PathFailure::Failed(FailureKind::Refused)),
                "unreachable" => {
                    out.failed = Some(PathFailure::Failed(FailureKind::Unreachable))
                }
                "timeout" => out.failed = Some(PathFailure::TimedOut),
                "used" => out = out.used(true),
                other => {
                    return Err(format!(
                        "unknown history fact {other:?}: use stalled, refused, unreachable, timeout, rtt:DUR[/DUR] or used"
                    ))
                }
            },
        }
    }
    Ok((protocol, literal.ip.to_canonical(), out))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn facts_parse() {
        let ms = Duration::from_millis;
        let (protocol, ip, facts) = parse_history("2001:db8::1=stalled").unwrap();
        assert_eq!(protocol, Protocol::Tcp);
        assert_eq!(ip, "2001:db8::1".parse::<IpAddr>().unwrap());
        assert_eq!(facts.failed, Some(PathFailure::Stalled));
        let (_, _, facts) = parse_history("192.0.2.1=rtt:20ms/5ms,used").unwrap();
        assert_eq!(
            facts.rtt,
            Some(Rtt {
                srtt: ms(20),
                rttvar: ms(5)
            })
        );
        assert!(facts.used);
        let (_, _, facts) = parse_history("192.0.2.1=rtt:20ms").unwrap();
        assert_eq!(facts.rtt.map(|r| r.rttvar), Some(ms(10)));
        // The IPv4-mapped form is the IPv4 address, as the engine sees it.
        let (_, ip, _) = parse_history("::ffff:192.0.2.1=used").unwrap();
        assert_eq!(ip, "192.0.2.1".parse::<IpAddr>().unwrap());
    }

    /// V3-6.5: `quic://` names the address's QUIC endpoint, `tcp://` (or nothing) its TCP one.
    #[test]
    fn v3_6_5_quic_endpoints_parse() {
        let (protocol, ip, facts) = parse_history("quic://2001:db8::1=stalled").unwrap();
        assert_eq!(protocol, Protocol::Quic);
        assert_eq!(ip, "2001:db8::1".parse::<IpAddr>().unwrap());
        assert_eq!(facts.failed, Some(PathFailure::Stalled));
        let (protocol, ip, facts) = parse_history("quic://192.0.2.1=rtt:20ms/5ms").unwrap();
        assert_eq!(
            (protocol, ip),
            (Protocol::Quic, "192.0.2.1".parse().unwrap())
        );
        assert!(facts.rtt.is_some());
        let (protocol, _, _) = parse_history("tcp://192.0.2.1=used").unwrap();
        assert_eq!(protocol, Protocol::Tcp);
        for bad in [
            "quic://",
            "quic://192.0.2.1",
            "udp://192.0.2.1=stalled",
            "quic://x=used",
        ] {
            assert!(parse_history(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bad_facts_are_refused_with_what_to_write() {
        for bad in [
            "2001:db8::1",
            "nope=stalled",
            "192.0.2.1=sometimes",
            "192.0.2.1=rtt:fast",
        ] {
            assert!(parse_history(bad).is_err(), "{bad}");
        }
        assert!(parse_history("192.0.2.1=lost")
            .unwrap_err()
            .contains("use stalled, refused"));
    }
}
