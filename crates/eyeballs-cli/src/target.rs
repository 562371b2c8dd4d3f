//! Where to connect, as written on the command line: `HOST PORT`, `HOST:PORT`,
//! `[IPv6]:PORT`, or a bare IPv6 literal with a separate port.
//!
//! This only splits the text into a host and a port; whether the host is a valid name or IP
//! literal (zone ids included) is the library's rule, checked when the race starts.

use clap::Args;

/// The positional `HOST [PORT]` of `connect` and `simulate`.
#[derive(Debug, Clone, Args)]
pub struct HostPort {
    /// Host name or IP address to connect to; `HOST:PORT` and `[IPv6]:PORT` carry the port
    /// themselves.
    #[arg(value_name = "HOST")]
    pub host: String,

    /// TCP port, unless HOST carries it.
    #[arg(value_name = "PORT")]
    pub port: Option<u16>,
}

impl HostPort {
    /// The host (without brackets) and the port.
    pub fn split(&self) -> Result<(String, u16), String> {
        split(&self.host, self.port)
    }
}

/// Splits `host` (and the separate `port`, if given) into a host and a port.
pub fn split(host: &str, port: Option<u16>) -> Result<(String, u16), String> {
    let (name, own_port) = split_own_port(host)?;
    match (own_port, port) {
        (Some(_), Some(_)) => Err(format!(
            "{host:?} already has a port: give HOST PORT or HOST:PORT, not both"
        )),
        (Some(p), None) | (None, Some(p)) => Ok((name.to_owned(), p)),
        (None, None) => Err(format!(
            "no port: give HOST PORT, HOST:PORT or [IPv6]:PORT (got {host:?})"
        )),
    }
}

/// The host and the port written into it, if any.
fn split_own_port(text: &str) -> Result<(&str, Option<u16>), String> {
    if let Some(rest) = text.strip_prefix('[') {
        // `[IPv6]` or `[IPv6]:PORT`.
        let (inside, after) = rest
            .split_once(']')
            .ok_or_else(|| format!("{text:?}: a '[' without its ']'"))?;
        return match after {
            "" => Ok((inside, None)),
            _ => match after.strip_prefix(':') {
                Some(port) => Ok((inside, Some(parse_port(text, port)?))),
                None => Err(format!(
                    "{text:?}: write [IPv6]:PORT, with nothing else after ']'"
                )),
            },
        };
    }
    match text.split_once(':') {
        // One colon: `NAME:PORT` or `IPv4:PORT`. More than one is an IPv6 literal (with a
        // separate port), which the library checks.
        Some((name, port)) if !port.contains(':') => Ok((name, Some(parse_port(text, port)?))),
        _ => Ok((text, None)),
    }
}

fn parse_port(text: &str, port: &str) -> Result<u16, String> {
    port.parse()
        .map_err(|_| format!("{text:?}: {port:?} is not a port (0 to 65535)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(host: &str, port: Option<u16>) -> (String, u16) {
        split(host, port).unwrap()
    }

    #[test]
    fn every_form_gives_host_and_port() {
        assert_eq!(ok("example.com", Some(443)), ("example.com".into(), 443));
        assert_eq!(ok("example.com:443", None), ("example.com".into(), 443));
        assert_eq!(ok("192.0.2.1:80", None), ("192.0.2.1".into(), 80));
        assert_eq!(ok("192.0.2.1", Some(80)), ("192.0.2.1".into(), 80));
        assert_eq!(ok("[2001:db8::1]:443", None), ("2001:db8::1".into(), 443));
        assert_eq!(ok("[2001:db8::1]", Some(443)), ("2001:db8::1".into(), 443));
        assert_eq!(ok("2001:db8::1", Some(443)), ("2001:db8::1".into(), 443));
        assert_eq!(ok("::1", Some(8080)), ("::1".into(), 8080));
        assert_eq!(ok("[fe80::1%eth0]:22", None), ("fe80::1%eth0".into(), 22));
    }

    #[test]
    fn missing_doubled_or_bad_ports_are_refused() {
        for (host, port) in [
            ("example.com", None),
            ("2001:db8::1", None),
            ("[2001:db8::1]", None),
            ("example.com:443", Some(443)),
            ("[::1]:443", Some(443)),
            ("example.com:http", None),
            ("example.com:99999", None),
            ("example.com:", None),
            ("[::1]443", None),
            ("[::1", Some(443)),
        ] {
            assert!(split(host, port).is_err(), "{host:?} {port:?} accepted");
        }
    }
}
