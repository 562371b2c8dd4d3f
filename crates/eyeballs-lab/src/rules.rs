//! Firewall rules of the server namespace (`iptables-restore` / `ip6tables-restore` input).
//!
//! Two stages on the INPUT hook:
//! - `mangle` INPUT (priority -150): NFQUEUE the packets the [holder](crate::holder) must
//!   hold: SYNs to `Delay` addresses, everything to `Unreachable` addresses, UDP to
//!   `UdpBehavior::Refuse` addresses, and UDP datagrams of flows the server has not answered
//!   yet (conntrack state NEW) to `UdpBehavior::Delay` addresses.
//! - `filter` INPUT (priority 0): the verdicts: DROP (`BlackHole`), TCP reset (`Refuse`),
//!   ICMP unreachable (`Unreachable`). A packet the holder ACCEPTs continues here.
//!
//! UDP has its own rules per address ([`UdpBehavior`], given or following the address's
//! [`Behavior`]), placed before the address-wide ones in both tables and ending with a
//! verdict for UDP (ACCEPT in `mangle`; ACCEPT, DROP or REJECT in `filter`), so that the
//! address-wide rules only ever see the address's other traffic (TCP, ICMP). Rules that the
//! address-wide ones make redundant are left out (UDP `Accept` on an `Accept` or `Delay`
//! address, UDP `BlackHole` on a `BlackHole` address).
//!
//! `UdpBehavior::Stall` counts datagrams per conntrack flow (`connbytes`, which turns
//! conntrack accounting on in the namespace): `filter` INPUT drops the second and later
//! datagrams of a flow from the client, `filter` OUTPUT the second and later ones the server
//! sends back (the server's `sendmsg` then fails with `EPERM`; quinn ignores send errors).
//! Each is followed by an ACCEPT of the rest of the address's UDP, whose packet counter
//! (`iptables -L -v`) tells how many first datagrams went through.
//!
//! Neighbour discovery is always let through, so that an address stays resolvable even
//! when everything else sent to it is dropped or rejected. The DNS addresses are never
//! server addresses, so DNS (UDP 53) is never affected.
//!
//! (xtables NFQUEUE rather than the nftables `queue` statement: the kernels this project
//! runs on are built without `CONFIG_NFT_QUEUE`, but with the xtables NFQUEUE target.)

use std::collections::HashMap;
use std::fmt::Write;
use std::net::IpAddr;

use crate::holder::QUEUE_NUM;
use crate::{Behavior, UdpBehavior};

/// The ruleset for one family, or `None` if no address of that family needs a rule.
/// `udp` holds the UDP behaviours set explicitly ([`LabBuilder::udp`](crate::LabBuilder::udp),
/// [`Lab::set_udp_behavior`](crate::Lab::set_udp_behavior)); the other addresses' UDP
/// follows their [`Behavior`] ([`UdpBehavior::following`]).
pub(crate) fn ruleset(
    servers: &[(IpAddr, Behavior)],
    udp: &HashMap<IpAddr, UdpBehavior>,
    v6: bool,
) -> Option<String> {
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
    let mut output = String::new();
    for (addr, behavior) in servers.iter().filter(|(a, _)| a.is_ipv6() == v6) {
        let d = format!("-d {addr}/{plen}");
        if let Some(u) = udp
            .get(addr)
            .copied()
            .or_else(|| UdpBehavior::following(*behavior))
        {
            let rules = UdpRules {
                mangle: &mut mangle,
                filter: &mut filter,
                output: &mut output,
                d: &d,
                s: &format!("-s {addr}/{plen}"),
                port_unreach,
            };
            rules.write(u, *behavior);
        }
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
    if mangle.is_empty() && filter.is_empty() && output.is_empty() {
        return None;
    }
    let output_chain = if output.is_empty() {
        ""
    } else {
        ":OUTPUT ACCEPT [0:0]\n"
    };
    Some(format!(
        "*mangle\n:INPUT ACCEPT [0:0]\n{nd}{mangle}COMMIT\n\
         *filter\n:INPUT ACCEPT [0:0]\n{output_chain}{nd}{filter}{output}COMMIT\n"
    ))
}

/// Where the UDP rules of one address go.
struct UdpRules<'a> {
    mangle: &'a mut String,
    filter: &'a mut String,
    output: &'a mut String,
    /// `-d ADDR/PLEN`.
    d: &'a str,
    /// `-s ADDR/PLEN`.
    s: &'a str,
    /// The family's ICMP port-unreachable reject type.
    port_unreach: &'a str,
}

impl UdpRules<'_> {
    /// Writes the rules that give UDP to the address `u`, ahead of the rules of the
    /// address's `behavior`; nothing where those already give UDP `u`.
    fn write(self, u: UdpBehavior, behavior: Behavior) {
        let u = match u {
            UdpBehavior::Delay(d) if d.is_zero() => UdpBehavior::Accept,
            other => other,
        };
        let redundant = matches!(
            (u, behavior),
            (UdpBehavior::Accept, Behavior::Accept | Behavior::Delay(_))
                | (UdpBehavior::BlackHole, Behavior::BlackHole)
        );
        if redundant {
            return;
        }
        let Self {
            mangle,
            filter,
            output,
            d,
            s,
            port_unreach,
        } = self;
        let udp = format!("-A INPUT {d} -p udp");
        // `mangle`: queue what the holder holds, then end the chain for the rest of the
        // address's UDP (an `Unreachable` address queues everything else).
        // `write!` to a String cannot fail.
        let _ = match u {
            UdpBehavior::Delay(_) => writeln!(
                mangle,
                "{udp} -m conntrack --ctstate NEW -j NFQUEUE --queue-num {QUEUE_NUM}"
            ),
            UdpBehavior::Refuse => writeln!(mangle, "{udp} -j NFQUEUE --queue-num {QUEUE_NUM}"),
            UdpBehavior::Accept | UdpBehavior::BlackHole | UdpBehavior::Stall => Ok(()),
        };
        let _ = writeln!(mangle, "{udp} -j ACCEPT");
        // `filter`: the verdict.
        let _ = match u {
            UdpBehavior::Accept | UdpBehavior::Delay(_) => writeln!(filter, "{udp} -j ACCEPT"),
            UdpBehavior::BlackHole => writeln!(filter, "{udp} -j DROP"),
            UdpBehavior::Refuse => {
                writeln!(filter, "{udp} -j REJECT --reject-with {port_unreach}")
            }
            UdpBehavior::Stall => writeln!(
                filter,
                "{udp} -m connbytes --connbytes 2: --connbytes-dir original \
                 --connbytes-mode packets -j DROP\n\
                 {udp} -j ACCEPT"
            )
            .and_then(|()| {
                // The ACCEPT only counts (the policy accepts): its packet counter is the
                // number of first answers that went out.
                writeln!(
                    output,
                    "-A OUTPUT {s} -p udp -m connbytes --connbytes 2: --connbytes-dir reply \
                     --connbytes-mode packets -j DROP\n\
                     -A OUTPUT {s} -p udp -j ACCEPT"
                )
            }),
        };
    }
}

/// The `iptables-restore` input that replaces the family's tables with the rules for
/// `servers`: their [`ruleset`], or, when no address needs a rule, empty `mangle` and
/// `filter` INPUT chains (a restore without `--noflush` flushes the tables it names, so the
/// old rules go either way). Used when a behaviour changes at run time
/// ([`Lab::set_behavior`](crate::Lab::set_behavior)).
pub(crate) fn replacement(
    servers: &[(IpAddr, Behavior)],
    udp: &HashMap<IpAddr, UdpBehavior>,
    v6: bool,
) -> String {
    ruleset(servers, udp, v6).unwrap_or_else(|| {
        "*mangle\n:INPUT ACCEPT [0:0]\nCOMMIT\n*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n".to_owned()
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)] // Tests: a failed unwrap is a failed test.
mod tests {
    use super::*;
    use std::time::Duration;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn none() -> HashMap<IpAddr, UdpBehavior> {
        HashMap::new()
    }

    #[test]
    fn rules_per_family() {
        let servers = vec![
            (ip("198.18.0.10"), Behavior::Accept),
            (ip("198.18.0.11"), Behavior::Delay(Duration::from_millis(5))),
            (ip("198.18.0.12"), Behavior::Unreachable),
            (ip("2001:db8::13"), Behavior::BlackHole),
            (ip("2001:db8::14"), Behavior::Refuse),
            (ip("2001:db8::15"), Behavior::External),
        ];
        let v4 = ruleset(&servers, &none(), false).unwrap();
        assert!(v4.contains("-A INPUT -d 198.18.0.11/32 -p tcp --tcp-flags SYN,ACK SYN -j NFQUEUE"));
        assert!(v4.contains("-A INPUT -d 198.18.0.12/32 -j NFQUEUE --queue-num 0"));
        assert!(v4.contains("-d 198.18.0.12/32 -j REJECT --reject-with icmp-host-unreachable"));
        assert!(!v4.contains("198.18.0.10"));
        assert!(!v4.contains("2001:db8"));
        let v6 = ruleset(&servers, &none(), true).unwrap();
        assert!(v6.contains("-A INPUT -d 2001:db8::13/128 -j DROP"));
        assert!(v6.contains("-d 2001:db8::14/128 -p tcp -j REJECT --reject-with tcp-reset"));
        assert!(v6.contains("neighbour-solicitation -j ACCEPT"));
        assert!(!v6.contains("2001:db8::15"), "no rule for External");
        assert!(ruleset(&servers[..1], &none(), false).is_none());
    }

    /// Without an explicit UDP behaviour, UDP follows the address's: no rule of its own for
    /// Accept, Delay, BlackHole, Unreachable and External (the address-wide rules cover it);
    /// Refuse's UDP is held [`UNREACHABLE_HOLD`](crate::UNREACHABLE_HOLD) before its ICMP
    /// port unreachable.
    #[test]
    fn udp_follows_the_address_behavior() {
        for behavior in [
            Behavior::Accept,
            Behavior::Delay(Duration::from_millis(50)),
            Behavior::BlackHole,
            Behavior::Unreachable,
            Behavior::External,
        ] {
            let rules = ruleset(&[(ip("198.18.0.10"), behavior)], &none(), false);
            assert!(
                !rules.unwrap_or_default().contains("-p udp"),
                "{behavior:?}: no UDP rule"
            );
        }
        let v6 = ruleset(&[(ip("2001:db8::10"), Behavior::Refuse)], &none(), true).unwrap();
        let mangle = v6.split("*filter").next().unwrap();
        assert!(
            mangle.contains("-A INPUT -d 2001:db8::10/128 -p udp -j NFQUEUE --queue-num 0\n"),
            "{v6}"
        );
        assert!(
            v6.contains(
                "-A INPUT -d 2001:db8::10/128 -p udp -j REJECT --reject-with icmp6-port-unreachable"
            ),
            "{v6}"
        );
    }

    /// Explicit UDP rules come before the address-wide ones (so they win for UDP) and name
    /// UDP only (so TCP keeps the address-wide rules).
    #[test]
    fn explicit_udp_rules_win_for_udp_and_leave_tcp_alone() {
        let servers = vec![
            (ip("198.18.0.10"), Behavior::BlackHole),
            (ip("198.18.0.11"), Behavior::Unreachable),
            (ip("198.18.0.12"), Behavior::Accept),
            (ip("198.18.0.13"), Behavior::Accept),
            (ip("198.18.0.14"), Behavior::Refuse),
            (ip("198.18.0.15"), Behavior::Accept),
        ];
        let udp = HashMap::from([
            (ip("198.18.0.10"), UdpBehavior::Accept),
            (
                ip("198.18.0.11"),
                UdpBehavior::Delay(Duration::from_millis(200)),
            ),
            (ip("198.18.0.12"), UdpBehavior::BlackHole),
            (ip("198.18.0.13"), UdpBehavior::Refuse),
            (ip("198.18.0.14"), UdpBehavior::Stall),
            // The same as following Accept: nothing of its own.
            (ip("198.18.0.15"), UdpBehavior::Accept),
        ]);
        let v4 = ruleset(&servers, &udp, false).unwrap();
        let (mangle, filter) = v4.split_once("*filter").unwrap();
        let position = |table: &str, rule: &str| {
            table
                .find(rule)
                .unwrap_or_else(|| panic!("{rule:?} missing from {table}"))
        };
        // UDP Accept on a BlackHole address: ACCEPT before the DROP.
        assert!(
            position(filter, "-A INPUT -d 198.18.0.10/32 -p udp -j ACCEPT")
                < position(filter, "-A INPUT -d 198.18.0.10/32 -j DROP")
        );
        // UDP Delay on an Unreachable address: the NEW flows queued, the rest of its UDP
        // leaves mangle before the address-wide NFQUEUE and is accepted before the REJECT.
        let queued = position(
            mangle,
            "-A INPUT -d 198.18.0.11/32 -p udp -m conntrack --ctstate NEW -j NFQUEUE --queue-num 0",
        );
        let leaves = position(mangle, "-A INPUT -d 198.18.0.11/32 -p udp -j ACCEPT");
        let everything = position(mangle, "-A INPUT -d 198.18.0.11/32 -j NFQUEUE");
        assert!(queued < leaves && leaves < everything);
        assert!(
            position(filter, "-A INPUT -d 198.18.0.11/32 -p udp -j ACCEPT")
                < position(filter, "-A INPUT -d 198.18.0.11/32 -j REJECT")
        );
        // UDP BlackHole / Refuse on an Accept address: TCP has no rule at all.
        assert!(filter.contains("-A INPUT -d 198.18.0.12/32 -p udp -j DROP\n"));
        assert!(mangle.contains("-A INPUT -d 198.18.0.13/32 -p udp -j NFQUEUE --queue-num 0\n"));
        assert!(filter.contains(
            "-A INPUT -d 198.18.0.13/32 -p udp -j REJECT --reject-with icmp-port-unreachable\n"
        ));
        for a in ["198.18.0.12", "198.18.0.13"] {
            for line in v4.lines().filter(|l| l.contains(&format!("-d {a}/32"))) {
                assert!(line.contains("-p udp"), "{line}");
            }
        }
        // UDP Stall on a Refuse address: the second and later datagrams of each flow are
        // dropped both ways, before TCP's reset rule; OUTPUT is declared.
        let stall_in = position(
            filter,
            "-A INPUT -d 198.18.0.14/32 -p udp -m connbytes --connbytes 2: --connbytes-dir original --connbytes-mode packets -j DROP\n\
             -A INPUT -d 198.18.0.14/32 -p udp -j ACCEPT\n",
        );
        assert!(stall_in < position(filter, "-A INPUT -d 198.18.0.14/32 -p tcp -j REJECT"));
        assert!(filter.contains(":OUTPUT ACCEPT [0:0]\n"));
        assert!(filter.contains(
            "-A OUTPUT -s 198.18.0.14/32 -p udp -m connbytes --connbytes 2: --connbytes-dir reply --connbytes-mode packets -j DROP\n\
             -A OUTPUT -s 198.18.0.14/32 -p udp -j ACCEPT\n"
        ));
        assert!(!v4.contains("198.18.0.15"), "redundant UDP Accept: no rule");
        // DNS is never affected.
        assert!(!v4.contains(&crate::DNS_V4.to_string()));
        // No OUTPUT chain without a Stall.
        let no_stall = ruleset(&servers[..1], &udp, false).unwrap();
        assert!(!no_stall.contains("OUTPUT"));
    }

    /// IPv6 uses its own reject type and prefix length; a UDP behaviour of one family's
    /// address never reaches the other family's ruleset.
    #[test]
    fn explicit_udp_rules_per_family() {
        let servers = vec![
            (ip("198.18.0.10"), Behavior::Accept),
            (ip("2001:db8::10"), Behavior::Accept),
        ];
        let udp = HashMap::from([
            (ip("2001:db8::10"), UdpBehavior::Refuse),
            (ip("198.18.0.10"), UdpBehavior::Stall),
        ]);
        let v6 = ruleset(&servers, &udp, true).unwrap();
        assert!(v6.contains(
            "-A INPUT -d 2001:db8::10/128 -p udp -j REJECT --reject-with icmp6-port-unreachable"
        ));
        assert!(!v6.contains("198.18") && !v6.contains("connbytes"));
        let v4 = ruleset(&servers, &udp, false).unwrap();
        assert!(v4.contains("-s 198.18.0.10/32 -p udp -m connbytes"));
        assert!(!v4.contains("2001:db8") && !v4.contains("REJECT"));
        // Delay(0) is Accept: nothing to write on an Accept address.
        let zero = HashMap::from([(ip("198.18.0.10"), UdpBehavior::Delay(Duration::ZERO))]);
        assert!(ruleset(&servers, &zero, false).is_none());
    }

    #[test]
    fn replacement_flushes_when_nothing_needs_a_rule() {
        let accept = vec![(ip("198.18.0.10"), Behavior::Accept)];
        let flush = replacement(&accept, &none(), false);
        assert_eq!(
            flush,
            "*mangle\n:INPUT ACCEPT [0:0]\nCOMMIT\n*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n"
        );
        let black_hole = vec![(ip("198.18.0.10"), Behavior::BlackHole)];
        assert_eq!(
            replacement(&black_hole, &none(), false),
            ruleset(&black_hole, &none(), false).unwrap()
        );
        let stall = HashMap::from([(ip("198.18.0.10"), UdpBehavior::Stall)]);
        assert_eq!(
            replacement(&accept, &stall, false),
            ruleset(&accept, &stall, false).unwrap()
        );
    }
}
