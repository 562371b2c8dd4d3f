//! `simulate --https RECORD`: an HTTPS record (RFC 9460) as written on the command line.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use eyeballs::proto::{DnsResult, ServiceRecord};

use crate::duration;

/// One `--https` value: a record, or a negative answer, with when it comes.
#[derive(Debug, Clone)]
pub enum HttpsArg {
    /// A record of the answer; the answer comes at the latest `@DUR` of its records.
    Record(ServiceRecord, Duration),
    /// The whole answer: negative (`nodata`, `nxdomain`, `servfail`, `timeout`) at a time.
    Negative(DnsResult, Duration),
}

/// Parses `PRIORITY TARGET [KEY=VALUE | no-default-alpn ...][@DUR]`: priority 0 is
/// AliasMode; TARGET `.` is the owner; keys `alpn=ID,ID`, `port=N`, `ipv4hint=IP,IP`,
/// `ipv6hint=IP,IP`. Or `nodata|nxdomain|servfail|timeout[@DUR]`.
pub fn parse_https(text: &str) -> Result<HttpsArg, String> {
    let (body, at) = match text.rsplit_once('@') {
        Some((body, at)) => (body, duration::parse(at)?),
        None => (text, Duration::ZERO),
    };
    let negative = match body.trim() {
        "nodata" => Some(DnsResult::NoData),
        "nxdomain" => Some(DnsResult::NxDomain),
        "servfail" => Some(DnsResult::ServFail),
        "timeout" => Some(DnsResult::TimedOut),
        _ => None,
    };
    if let Some(result) = negative {
        return Ok(HttpsArg::Negative(result, at));
    }
    let mut words = body.split_whitespace();
    let usage = || {
        format!("{text:?}: write PRIORITY TARGET [KEY=VALUE...], like \"1 . alpn=h2 port=8443\"")
    };
    let priority: u16 = words
        .next()
        .ok_or_else(usage)?
        .parse()
        .map_err(|_| usage())?;
    let target = words.next().ok_or_else(usage)?;
    let mut record = if priority == 0 {
        ServiceRecord::alias(target)
    } else {
        ServiceRecord::service(priority).with_target(target)
    };
    for word in words {
        match word.split_once('=') {
            None if word == "no-default-alpn" => record.no_default_alpn = true,
            Some(("alpn", ids)) => record.alpn = ids.split(',').map(str::to_owned).collect(),
            Some(("port", port)) => {
                let port: u16 = port.parse().map_err(|_| format!("port={port}: not a port"))?;
                if port == 0 {
                    return Err("port=0: not a port".into());
                }
                record.port = Some(port);
            }
            Some(("ipv4hint", ips)) => record.ipv4_hints = parse_ips::<Ipv4Addr>(ips)?,
            Some(("ipv6hint", ips)) => record.ipv6_hints = parse_ips::<Ipv6Addr>(ips)?,
            _ => {
                return Err(format!(
                    "{word:?}: use alpn=ID,ID, no-default-alpn, port=N, ipv4hint=IP,IP or ipv6hint=IP,IP"
                ))
            }
        }
    }
    Ok(HttpsArg::Record(record, at))
}

fn parse_ips<T: std::str::FromStr>(list: &str) -> Result<Vec<T>, String> {
    list.split(',')
        .map(|ip| {
            ip.parse()
                .map_err(|_| format!("{ip:?} is not an address of the hint's family"))
        })
        .collect()
}

/// The HTTPS answer the `--https` values make, and when it comes; `None` without any.
pub fn answer(args: &[HttpsArg]) -> Result<Option<(DnsResult, Duration)>, String> {
    let mut records = Vec::new();
    let mut at = Duration::ZERO;
    let mut negative = None;
    for arg in args {
        match arg {
            HttpsArg::Record(record, t) => {
                records.push(record.clone());
                at = at.max(*t);
            }
            HttpsArg::Negative(result, t) => negative = Some((result.clone(), *t)),
        }
    }
    match (negative, records.is_empty()) {
        (Some(_), false) => Err("--https: a negative answer cannot have records too".into()),
        (Some(n), true) => Ok(Some(n)),
        (None, true) => Ok(None),
        (None, false) => Ok(Some((DnsResult::Services(records), at))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_parse() {
        let HttpsArg::Record(r, at) =
            parse_https("1 . alpn=h3,h2 port=8443 ipv6hint=2001:db8::1 ipv4hint=192.0.2.1@20ms")
                .unwrap()
        else {
            panic!()
        };
        assert_eq!(at, Duration::from_millis(20));
        assert_eq!((r.priority, r.target.as_str()), (1, "."));
        assert_eq!(r.alpn, ["h3", "h2"]);
        assert_eq!(r.port, Some(8443));
        assert_eq!(r.ipv6_hints, ["2001:db8::1".parse::<Ipv6Addr>().unwrap()]);
        assert_eq!(r.ipv4_hints, ["192.0.2.1".parse::<Ipv4Addr>().unwrap()]);
        let HttpsArg::Record(alias, _) = parse_https("0 cdn.test").unwrap() else {
            panic!()
        };
        assert!(alias.is_alias());
        assert!(matches!(
            parse_https("servfail@5ms").unwrap(),
            HttpsArg::Negative(DnsResult::ServFail, _)
        ));
    }

    #[test]
    fn bad_records_are_refused() {
        for bad in [
            "",
            "x .",
            "1",
            "1 . port=0",
            "1 . ipv4hint=2001:db8::1",
            "1 . mystery=1",
        ] {
            assert!(parse_https(bad).is_err(), "{bad:?}");
        }
        let both = [parse_https("nodata").unwrap(), parse_https("1 .").unwrap()];
        assert!(answer(&both).is_err());
    }
}
