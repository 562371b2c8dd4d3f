//! `simulate --history IP=FACTS`: what a history store knows about an address, as written on
//! the command line.

use std::net::IpAddr;

use eyeballs::proto::{FailureKind, PathFacts, PathFailure, Rtt};

use crate::duration;

/// Parses `IP=FACT[,FACT...]`, each FACT one of `stalled`, `refused`, `unreachable`,
/// `timeout` (a recent failure: the address is tried after every usable one), `rtt:SRTT` or
/// `rtt:SRTT/RTTVAR` (an RTT estimate; RTTVAR defaults to half of SRTT, as after a first
/// sample, RFC 6298), `used` (it won the host's latest race).
pub fn parse_history(text: &str) -> Result<(IpAddr, PathFacts), String> {
    let (ip, facts) = text.split_once('=').ok_or_else(|| {
        format!("{text:?}: write IP=FACTS, like 2001:db8::1=stalled or 192.0.2.1=rtt:20ms,used")
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
    Ok((literal.ip.to_canonical(), out))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn facts_parse() {
        let ms = Duration::from_millis;
        let (ip, facts) = parse_history("2001:db8::1=stalled").unwrap();
        assert_eq!(ip, "2001:db8::1".parse::<IpAddr>().unwrap());
        assert_eq!(facts.failed, Some(PathFailure::Stalled));
        let (_, facts) = parse_history("192.0.2.1=rtt:20ms/5ms,used").unwrap();
        assert_eq!(
            facts.rtt,
            Some(Rtt {
                srtt: ms(20),
                rttvar: ms(5)
            })
        );
        assert!(facts.used);
        let (_, facts) = parse_history("192.0.2.1=rtt:20ms").unwrap();
        assert_eq!(facts.rtt.map(|r| r.rttvar), Some(ms(10)));
        // The IPv4-mapped form is the IPv4 address, as the engine sees it.
        let (ip, _) = parse_history("::ffff:192.0.2.1=used").unwrap();
        assert_eq!(ip, "192.0.2.1".parse::<IpAddr>().unwrap());
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
