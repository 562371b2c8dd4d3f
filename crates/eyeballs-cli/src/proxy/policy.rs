//! The destination policy the proxy gives its connector (the library's
//! [`DestinationPolicy`], checked by the race for every address, literals and DNS answers
//! alike): its own listening endpoints first (no loops), then `--allow` / `--deny` in
//! command-line order, then the reserved ranges ([`DestinationPolicy::restricted`]), with
//! loopback open only with `--allow-loopback`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use clap::ArgMatches;
use eyeballs::proto::{DestinationPolicy, IpNet, Rule, Verdict};

/// A network for `--allow` / `--deny`: `CIDR` (`10.0.0.0/8`, `fd00::/8`) or one address.
pub fn parse_net(text: &str) -> Result<IpNet, String> {
    if let Ok(net) = text.parse::<IpNet>() {
        // `10.1.2.3/8` means 10.0.0.0/8: the rule matches what it says.
        return Ok(net.trunc());
    }
    text.parse::<IpAddr>()
        .map(IpNet::from)
        .map_err(|_| format!("{text:?} is not a network (CIDR, like 10.0.0.0/8) or an address"))
}

/// The `--allow` and `--deny` rules in the order they were given on the command line, from
/// the subcommand's matches (clap keeps each option's values apart, with their positions).
pub fn rules_in_order(matches: &ArgMatches) -> Vec<Rule> {
    let mut rules: Vec<(usize, Rule)> = Vec::new();
    for (id, verdict) in [("allow", Verdict::Allow), ("deny", Verdict::Deny)] {
        let (Some(indices), Some(nets)) = (matches.indices_of(id), matches.get_many::<IpNet>(id))
        else {
            continue;
        };
        for (index, net) in indices.zip(nets) {
            rules.push((
                index,
                Rule {
                    verdict,
                    net: *net,
                    port: None,
                },
            ));
        }
    }
    rules.sort_by_key(|(index, _)| *index);
    rules.into_iter().map(|(_, rule)| rule).collect()
}

/// The endpoints that reach this proxy when it listens on `listen`: that endpoint; for an
/// unspecified address, every address of every interface (and all of 127.0.0.0/8) on its
/// port. Each is denied before any other rule.
pub fn own_endpoints(listen: SocketAddr) -> Vec<Rule> {
    let port = listen.port();
    let deny = |net: IpNet| Rule {
        verdict: Verdict::Deny,
        net,
        port: Some(port),
    };
    if !listen.ip().is_unspecified() {
        return vec![deny(IpNet::from(listen.ip().to_canonical()))];
    }
    // Unspecified: every local address on that port ([::] takes IPv4 too on Linux by
    // default, so both families are denied for either).
    let mut rules = vec![
        // A prefix of 8 is valid for IPv4: `new` cannot fail here.
        deny(
            IpNet::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 0)), 8)
                .unwrap_or_else(|_| IpNet::from(IpAddr::V4(Ipv4Addr::LOCALHOST))),
        ),
        deny(IpNet::from(IpAddr::V6(Ipv6Addr::LOCALHOST))),
        deny(IpNet::from(listen.ip())),
    ];
    if let Ok(interfaces) = nix::ifaddrs::getifaddrs() {
        for interface in interfaces {
            let Some(address) = interface.address else {
                continue;
            };
            let ip = if let Some(v4) = address.as_sockaddr_in() {
                IpAddr::V4(v4.ip())
            } else if let Some(v6) = address.as_sockaddr_in6() {
                IpAddr::V6(v6.ip())
            } else {
                continue;
            };
            let rule = deny(IpNet::from(ip));
            if !rules.contains(&rule) {
                rules.push(rule);
            }
        }
    }
    rules
}

/// The policy: `own` first, then the caller's `rules`, then the reserved ranges (loopback
/// exempted with `allow_loopback`).
pub fn build(own: &[Rule], rules: &[Rule], allow_loopback: bool) -> DestinationPolicy {
    let mut policy = DestinationPolicy::restricted();
    for rule in own.iter().chain(rules) {
        policy = policy.rule(*rule);
    }
    if allow_loopback {
        policy = policy.allow_loopback();
    }
    policy
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Arg, ArgAction, Command};
    use eyeballs::proto::{Denial, Reserved};

    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn networks_and_single_addresses() {
        assert_eq!(parse_net("10.0.0.0/8").unwrap().to_string(), "10.0.0.0/8");
        assert_eq!(parse_net("10.9.9.9/8").unwrap().to_string(), "10.0.0.0/8");
        assert_eq!(parse_net("192.0.2.1").unwrap().to_string(), "192.0.2.1/32");
        assert_eq!(parse_net("fd00::/8").unwrap().to_string(), "fd00::/8");
        assert_eq!(parse_net("::1").unwrap().to_string(), "::1/128");
        for bad in ["", "10.0.0.0/33", "host.test", "10.0.0/8"] {
            assert!(parse_net(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn rules_keep_the_command_line_order() {
        let command = Command::new("t")
            .arg(
                Arg::new("allow")
                    .long("allow")
                    .action(ArgAction::Append)
                    .value_parser(parse_net),
            )
            .arg(
                Arg::new("deny")
                    .long("deny")
                    .action(ArgAction::Append)
                    .value_parser(parse_net),
            );
        let matches = command.get_matches_from([
            "t",
            "--deny",
            "10.1.0.0/16",
            "--allow",
            "10.0.0.0/8",
            "--deny",
            "10.0.0.0/8",
        ]);
        let rules: Vec<String> = rules_in_order(&matches)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            rules,
            ["deny 10.1.0.0/16", "allow 10.0.0.0/8", "deny 10.0.0.0/8"]
        );
    }

    #[test]
    fn the_default_policy_denies_the_reserved_ranges_and_the_proxy_itself() {
        let own = own_endpoints(sa("127.0.0.1:1080"));
        let policy = build(&own, &[], false);
        for (addr, range) in [
            ("127.0.0.1:80", Reserved::Loopback),
            ("[::1]:80", Reserved::Loopback),
            ("[::ffff:127.0.0.1]:80", Reserved::Loopback),
            ("169.254.169.254:80", Reserved::LinkLocal),
            ("[fe80::1]:80", Reserved::LinkLocal),
            ("[64:ff9b::169.254.169.254]:80", Reserved::LinkLocal),
            ("0.0.0.0:80", Reserved::Unspecified),
            ("[::]:80", Reserved::Unspecified),
            ("224.0.0.1:80", Reserved::Multicast),
            ("[ff02::1]:80", Reserved::Multicast),
            ("255.255.255.255:80", Reserved::Broadcast),
        ] {
            assert_eq!(
                policy.check(sa(addr)),
                Err(Denial::Reserved(range)),
                "{addr}"
            );
        }
        assert_eq!(policy.check(sa("192.0.2.1:443")), Ok(()));
        // --allow-loopback opens loopback, but not the proxy's own endpoint.
        let policy = build(&own, &[], true);
        assert_eq!(policy.check(sa("127.0.0.1:80")), Ok(()));
        assert!(matches!(
            policy.check(sa("127.0.0.1:1080")),
            Err(Denial::Rule(_))
        ));
        assert!(matches!(
            policy.check(sa("[::ffff:127.0.0.1]:1080")),
            Err(Denial::Rule(_))
        ));
        // An --allow rule cannot open the proxy's own endpoint either.
        let everything = [Rule {
            verdict: Verdict::Allow,
            net: parse_net("0.0.0.0/0").unwrap(),
            port: None,
        }];
        let policy = build(&own, &everything, false);
        assert_eq!(policy.check(sa("127.0.0.1:80")), Ok(()));
        assert!(policy.check(sa("127.0.0.1:1080")).is_err());
    }

    #[test]
    fn an_unspecified_listener_denies_every_local_address_on_its_port() {
        let own = own_endpoints(sa("0.0.0.0:1080"));
        let policy = build(&own, &[], true);
        assert!(policy.check(sa("127.0.0.1:1080")).is_err());
        assert!(policy.check(sa("127.0.0.5:1080")).is_err());
        assert!(policy.check(sa("[::1]:1080")).is_err());
        assert_eq!(policy.check(sa("127.0.0.1:1081")), Ok(()));
    }
}
