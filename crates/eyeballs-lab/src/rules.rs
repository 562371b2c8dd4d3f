//! Firewall rules of the server namespace (`iptables-restore` / `ip6tables-restore` input).
//!
//! Two stages on the INPUT hook:
//! - `mangle` INPUT (priority -150): NFQUEUE the packets the [holder](crate::holder) must
//!   hold: SYNs to `Delay` addresses, everything to `Unreachable` addresses.
//! - `filter` INPUT (priority 0): the verdicts: DROP (`BlackHole`), TCP reset (`Refuse`),
//!   ICMP unreachable (`Unreachable`). A packet the holder ACCEPTs continues here.
//!
//! Neighbour discovery is always let through, so that an address stays resolvable even
//! when everything else sent to it is dropped or rejected.
//!
//! (xtables NFQUEUE rather than the nftables `queue` statement: the kernels this project
//! runs on are built without `CONFIG_NFT_QUEUE`, but with the xtables NFQUEUE target.)

use std::fmt::Write;
use std::net::IpAddr;

use crate::holder::QUEUE_NUM;
use crate::Behavior;

/// The ruleset for one family, or `None` if no address of that family needs a rule.
pub(crate) fn ruleset(servers: &[(IpAddr, Behavior)], v6: bool) -> Option<String> {
    let (plen, unreach, port_unreach, nd) = if v6 {
        (
            128,
            "icmp6-addr-unreachable",
            "icmp6-port-unreachable",
            "-A INPUT -p ipv6-icmp --icmpv6-type neighbour-solicitation -j ACCEPT\n\
             -A INPUT -p ipv6-icmp --icmpv6-type neighbour-advertisement -j ACCEPT\n",
        )
    } else {
        (32, "icmp-host-unreachable", "icmp-port-unreachable", "")
    };
    let mut mangle = String::new();
    let mut filter = String::new();
    for (addr, behavior) in servers.iter().filter(|(a, _)| a.is_ipv6() == v6) {
        let d = format!("-d {addr}/{plen}");
        // `write!` to a String cannot fail.
        let _ = match behavior {
            // External: the test's own server decides; no rule.
            Behavior::Accept | Behavior::External => Ok(()),
            Behavior::Delay(d_) if d_.is_zero() => Ok(()),
            Behavior::Delay(_) => writeln!(
                mangle,
                "-A INPUT {d} -p tcp --tcp-flags SYN,ACK SYN -j NFQUEUE --queue-num {QUEUE_NUM}"
            ),
            Behavior::BlackHole => writeln!(filter, "-A INPUT {d} -j DROP"),
            Behavior::Refuse => writeln!(
                filter,
                "-A INPUT {d} -p tcp -j REJECT --reject-with tcp-reset\n\
                 -A INPUT {d} -j REJECT --reject-with {port_unreach}"
            ),
            Behavior::Unreachable => {
                writeln!(mangle, "-A INPUT {d} -j NFQUEUE --queue-num {QUEUE_NUM}").and_then(|()| {
                    writeln!(filter, "-A INPUT {d} -j REJECT --reject-with {unreach}")
                })
            }
        };
    }
    if mangle.is_empty() && filter.is_empty() {
        return None;
    }
    Some(format!(
        "*mangle\n:INPUT ACCEPT [0:0]\n{nd}{mangle}COMMIT\n\
         *filter\n:INPUT ACCEPT [0:0]\n{nd}{filter}COMMIT\n"
    ))
}

/// The `iptables-restore` input that replaces the family's tables with the rules for
/// `servers`: their [`ruleset`], or, when no address needs a rule, empty `mangle` and
/// `filter` INPUT chains (a restore without `--noflush` flushes the tables it names, so the
/// old rules go either way). Used when a behaviour changes at run time
/// ([`Lab::set_behavior`](crate::Lab::set_behavior)).
pub(crate) fn replacement(servers: &[(IpAddr, Behavior)], v6: bool) -> String {
    ruleset(servers, v6).unwrap_or_else(|| {
        "*mangle\n:INPUT ACCEPT [0:0]\nCOMMIT\n*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n".to_owned()
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test.
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn rules_per_family() {
        let servers = vec![
            ("198.18.0.10".parse().unwrap(), Behavior::Accept),
            (
                "198.18.0.11".parse().unwrap(),
                Behavior::Delay(Duration::from_millis(5)),
            ),
            ("198.18.0.12".parse().unwrap(), Behavior::Unreachable),
            ("2001:db8::13".parse().unwrap(), Behavior::BlackHole),
            ("2001:db8::14".parse().unwrap(), Behavior::Refuse),
            ("2001:db8::15".parse().unwrap(), Behavior::External),
        ];
        let v4 = ruleset(&servers, false).unwrap();
        assert!(v4.contains("-A INPUT -d 198.18.0.11/32 -p tcp --tcp-flags SYN,ACK SYN -j NFQUEUE"));
        assert!(v4.contains("-A INPUT -d 198.18.0.12/32 -j NFQUEUE --queue-num 0"));
        assert!(v4.contains("-d 198.18.0.12/32 -j REJECT --reject-with icmp-host-unreachable"));
        assert!(!v4.contains("198.18.0.10"));
        assert!(!v4.contains("2001:db8"));
        let v6 = ruleset(&servers, true).unwrap();
        assert!(v6.contains("-A INPUT -d 2001:db8::13/128 -j DROP"));
        assert!(v6.contains("-d 2001:db8::14/128 -p tcp -j REJECT --reject-with tcp-reset"));
        assert!(v6.contains("neighbour-solicitation -j ACCEPT"));
        assert!(!v6.contains("2001:db8::15"), "no rule for External");
        assert!(ruleset(&servers[..1], false).is_none());
    }

    #[test]
    fn replacement_flushes_when_nothing_needs_a_rule() {
        let accept = vec![("198.18.0.10".parse().unwrap(), Behavior::Accept)];
        let flush = replacement(&accept, false);
        assert_eq!(
            flush,
            "*mangle\n:INPUT ACCEPT [0:0]\nCOMMIT\n*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n"
        );
        let black_hole = vec![("198.18.0.10".parse().unwrap(), Behavior::BlackHole)];
        assert_eq!(
            replacement(&black_hole, false),
            ruleset(&black_hole, false).unwrap()
        );
    }
}
