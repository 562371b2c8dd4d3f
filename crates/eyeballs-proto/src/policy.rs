//! The destination policy: which endpoints a race may connect to, checked for every endpoint
//! before it is attempted — the caller's addresses, IP literals and DNS answers alike, so that
//! a name that resolves to an internal address (DNS rebinding, SSRF) is refused as surely as
//! the literal.
//!
//! A library connects where it is told, so [`Config::destinations`](crate::Config) allows
//! everything by default. Whoever connects where *someone else* says (a proxy, a server
//! fetching URLs its users give) starts from [`DestinationPolicy::restricted`], which refuses
//! the [`Reserved`] ranges, and adds rules of its own.
//!
//! How an endpoint is checked: [`DestinationPolicy`].

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use ipnet::IpNet;

use crate::endpoint::canonical;
use crate::nat64::Pref64;

/// What a [`Rule`] does with the endpoints it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// They may be connected to.
    Allow,
    /// They may not.
    Deny,
}

/// One rule of a [`DestinationPolicy`]: a network, and optionally one port of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rule {
    /// Allow or deny.
    pub verdict: Verdict,
    /// The addresses it matches.
    pub net: IpNet,
    /// The one port it matches; `None`: every port.
    pub port: Option<u16>,
}

impl Rule {
    fn matches(&self, ip: IpAddr, embedded: Option<Ipv4Addr>, port: u16) -> bool {
        self.port.is_none_or(|p| p == port)
            && (self.net.contains(&ip)
                || embedded.is_some_and(|v4| self.net.contains(&IpAddr::V4(v4))))
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = match self.verdict {
            Verdict::Allow => "allow",
            Verdict::Deny => "deny",
        };
        write!(f, "{verdict} {}", self.net)?;
        match self.port {
            Some(port) => write!(f, " port {port}"),
            None => Ok(()),
        }
    }
}

/// The ranges a [restricted](DestinationPolicy::restricted) policy refuses: no one connecting
/// on someone else's behalf should reach them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Reserved {
    /// `127.0.0.0/8`, `::1`: the host itself (unless
    /// [`allow_loopback`](DestinationPolicy::allow_loopback)).
    Loopback,
    /// `0.0.0.0/8` ("this network", RFC 6890) and `::`: on Linux a connect to them reaches
    /// the host itself.
    Unspecified,
    /// `169.254.0.0/16` (where clouds serve instance metadata and credentials) and
    /// `fe80::/10`.
    LinkLocal,
    /// `224.0.0.0/4`, `ff00::/8`.
    Multicast,
    /// `255.255.255.255`.
    Broadcast,
}

impl Reserved {
    /// Every reserved range, in the order they are checked.
    pub const ALL: [Reserved; 5] = [
        Reserved::Loopback,
        Reserved::Unspecified,
        Reserved::LinkLocal,
        Reserved::Multicast,
        Reserved::Broadcast,
    ];

    /// A short lowercase name: `loopback`, `unspecified`, `link-local`, `multicast`,
    /// `broadcast`.
    pub fn as_str(self) -> &'static str {
        match self {
            Reserved::Loopback => "loopback",
            Reserved::Unspecified => "unspecified",
            Reserved::LinkLocal => "link-local",
            Reserved::Multicast => "multicast",
            Reserved::Broadcast => "broadcast",
        }
    }

    /// The ranges, as text.
    fn ranges(self) -> &'static str {
        match self {
            Reserved::Loopback => "127.0.0.0/8, ::1",
            Reserved::Unspecified => "0.0.0.0/8, ::",
            Reserved::LinkLocal => "169.254.0.0/16, fe80::/10",
            Reserved::Multicast => "224.0.0.0/4, ff00::/8",
            Reserved::Broadcast => "255.255.255.255",
        }
    }

    fn contains_v4(self, ip: Ipv4Addr) -> bool {
        match self {
            Reserved::Loopback => ip.is_loopback(),
            Reserved::Unspecified => ip.octets()[0] == 0,
            Reserved::LinkLocal => ip.is_link_local(),
            Reserved::Multicast => ip.is_multicast(),
            Reserved::Broadcast => ip.is_broadcast(),
        }
    }

    fn contains_v6(self, ip: Ipv6Addr) -> bool {
        match self {
            Reserved::Loopback => ip.is_loopback(),
            Reserved::Unspecified => ip.is_unspecified(),
            Reserved::LinkLocal => ip.segments()[0] & 0xffc0 == 0xfe80,
            Reserved::Multicast => ip.is_multicast(),
            Reserved::Broadcast => false,
        }
    }

    fn contains(self, ip: IpAddr, embedded: Option<Ipv4Addr>) -> bool {
        let direct = match ip {
            IpAddr::V4(v4) => self.contains_v4(v4),
            IpAddr::V6(v6) => self.contains_v6(v6),
        };
        direct || embedded.is_some_and(|v4| self.contains_v4(v4))
    }
}

impl fmt::Display for Reserved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.as_str(), self.ranges())
    }
}

/// Why the policy refused an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Denial {
    /// A `deny` rule of the caller's matched first.
    Rule(Rule),
    /// No rule matched and the address is in a reserved range.
    Reserved(Reserved),
}

impl fmt::Display for Denial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Denial::Rule(rule) => write!(f, "denied by the rule `{rule}`"),
            Denial::Reserved(range) => write!(f, "denied: {range}"),
        }
    }
}

/// Which endpoints a race may connect to: the caller's rules, then (for a restricted policy)
/// the [`Reserved`] ranges.
///
/// An endpoint is checked against the caller's rules first, in the order they were added: the
/// first rule that matches decides (so `allow` can open one part of a range a later `deny` or
/// the reserved list refuses). Then, for a restricted policy, the reserved ranges. Then it is
/// allowed. An IPv6 address that embeds an IPv4 one (IPv4-mapped `::ffff:a.b.c.d`,
/// IPv4-compatible `::a.b.c.d`, or under a NAT64 prefix: the Well-Known `64:ff9b::/96`, the
/// local-use `64:ff9b:1::/48`, and any added with [`DestinationPolicy::nat64_prefix`])
/// matches every rule and range its IPv4 address matches, so `64:ff9b::127.0.0.1` is
/// loopback.
///
/// ```
/// use eyeballs_proto::{Denial, DestinationPolicy, Reserved};
///
/// let policy = DestinationPolicy::restricted()
///     .deny("10.0.0.0/8".parse().unwrap())
///     .allow("10.1.0.0/16".parse().unwrap()); // never reached: the deny matches first
/// assert_eq!(policy.check("192.0.2.1:443".parse().unwrap()), Ok(()));
/// assert!(matches!(
///     policy.check("10.1.2.3:443".parse().unwrap()),
///     Err(Denial::Rule(_))
/// ));
/// assert_eq!(
///     policy.check("[64:ff9b::169.254.169.254]:80".parse().unwrap()),
///     Err(Denial::Reserved(Reserved::LinkLocal))
/// );
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct DestinationPolicy {
    rules: Vec<Rule>,
    /// Whether the reserved ranges are refused.
    restricted: bool,
    /// Whether loopback is exempt from them.
    loopback: bool,
    /// NAT64 prefixes besides the Well-Known and local-use ones.
    nat64: Vec<Pref64>,
}

impl DestinationPolicy {
    /// Everything allowed: no rule, no reserved range (the default).
    pub fn allow_all() -> Self {
        Self::default()
    }

    /// The [`Reserved`] ranges refused, everything else allowed until rules say otherwise.
    pub fn restricted() -> Self {
        DestinationPolicy {
            restricted: true,
            ..Self::default()
        }
    }

    /// Adds a rule allowing `net` (every port).
    pub fn allow(self, net: IpNet) -> Self {
        self.rule(Rule {
            verdict: Verdict::Allow,
            net,
            port: None,
        })
    }

    /// Adds a rule denying `net` (every port).
    pub fn deny(self, net: IpNet) -> Self {
        self.rule(Rule {
            verdict: Verdict::Deny,
            net,
            port: None,
        })
    }

    /// Adds a rule denying one endpoint, `addr`'s IP on `addr`'s port: what a proxy adds for
    /// each of its own listening addresses, so that no client makes it connect to itself.
    pub fn deny_endpoint(self, addr: SocketAddr) -> Self {
        let ip = canonical(addr.ip());
        self.rule(Rule {
            verdict: Verdict::Deny,
            net: IpNet::from(ip),
            port: Some(addr.port()),
        })
    }

    /// Adds `rule` after the others.
    pub fn rule(mut self, rule: Rule) -> Self {
        self.rules.push(rule);
        self
    }

    /// Exempts loopback from the reserved ranges (a restricted policy only); rules still apply.
    pub fn allow_loopback(mut self) -> Self {
        self.loopback = true;
        self
    }

    /// Also treats addresses under `prefix` as the IPv4 addresses they embed (besides
    /// `64:ff9b::/96` and `64:ff9b:1::/48`, always treated so).
    pub fn nat64_prefix(mut self, prefix: Pref64) -> Self {
        if !self.nat64.contains(&prefix) {
            self.nat64.push(prefix);
        }
        self
    }

    /// The caller's rules, in the order they are checked.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Whether the reserved ranges are refused.
    pub fn is_restricted(&self) -> bool {
        self.restricted
    }

    /// Whether every endpoint is allowed whatever it is (no rule, not restricted): the
    /// engine then checks nothing.
    pub fn allows_all(&self) -> bool {
        self.rules.is_empty() && !self.restricted
    }

    /// Whether `addr` may be connected to; why not.
    ///
    /// # Errors
    /// The [`Denial`]: the first rule that matched with `deny`, or the reserved range.
    pub fn check(&self, addr: SocketAddr) -> Result<(), Denial> {
        if self.allows_all() {
            return Ok(());
        }
        let ip = canonical(addr.ip());
        let embedded = match ip {
            IpAddr::V6(v6) => self.embedded_v4(v6),
            IpAddr::V4(_) => None,
        };
        if let Some(rule) = self
            .rules
            .iter()
            .find(|r| r.matches(ip, embedded, addr.port()))
        {
            return match rule.verdict {
                Verdict::Allow => Ok(()),
                Verdict::Deny => Err(Denial::Rule(*rule)),
            };
        }
        if self.restricted {
            for range in Reserved::ALL {
                if range == Reserved::Loopback && self.loopback {
                    continue;
                }
                if range.contains(ip, embedded) {
                    return Err(Denial::Reserved(range));
                }
            }
        }
        Ok(())
    }

    /// The IPv4 address `ip` stands for, if it embeds one (module docs). IPv4-compatible
    /// addresses count from `::1.0.0.0` on: `::` and `::1` are IPv6's own.
    fn embedded_v4(&self, ip: Ipv6Addr) -> Option<Ipv4Addr> {
        if let Some(v4) = ip.to_ipv4_mapped() {
            return Some(v4);
        }
        let bits = ip.to_bits();
        if bits >> 32 == 0 && bits >= 1 << 24 {
            return u32::try_from(bits).ok().map(Ipv4Addr::from);
        }
        [Pref64::WELL_KNOWN, Pref64::LOCAL_USE]
            .iter()
            .chain(&self.nat64)
            .find_map(|p| p.extract(ip))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)] // Tests: a failure is the report.
mod tests {
    use super::*;

    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    #[test]
    fn the_default_allows_everything() {
        let p = DestinationPolicy::default();
        assert!(p.allows_all());
        for a in [
            "127.0.0.1:80",
            "[::1]:80",
            "169.254.169.254:80",
            "0.0.0.0:1",
        ] {
            assert_eq!(p.check(sa(a)), Ok(()), "{a}");
        }
    }

    #[test]
    fn restricted_refuses_each_reserved_range_in_every_form() {
        let p = DestinationPolicy::restricted();
        let cases = [
            ("127.0.0.1:80", Reserved::Loopback),
            ("127.255.0.9:80", Reserved::Loopback),
            ("[::1]:80", Reserved::Loopback),
            ("[::ffff:127.0.0.1]:80", Reserved::Loopback),
            ("[::127.0.0.1]:80", Reserved::Loopback),
            ("[64:ff9b::127.0.0.1]:80", Reserved::Loopback),
            ("0.0.0.0:80", Reserved::Unspecified),
            ("0.1.2.3:80", Reserved::Unspecified),
            ("[::]:80", Reserved::Unspecified),
            ("169.254.169.254:80", Reserved::LinkLocal),
            ("[fe80::1]:80", Reserved::LinkLocal),
            ("[febf::1]:80", Reserved::LinkLocal),
            ("[64:ff9b::a9fe:a9fe]:80", Reserved::LinkLocal),
            ("[64:ff9b:1:a9fe:a9:fe00::]:80", Reserved::LinkLocal),
            ("224.0.0.1:80", Reserved::Multicast),
            ("[ff02::1]:80", Reserved::Multicast),
            ("255.255.255.255:80", Reserved::Broadcast),
            ("[::ffff:255.255.255.255]:80", Reserved::Broadcast),
        ];
        for (a, range) in cases {
            assert_eq!(p.check(sa(a)), Err(Denial::Reserved(range)), "{a}");
        }
        for a in [
            "192.0.2.1:80",
            "10.0.0.1:80",
            "[2001:db8::1]:80",
            "[fec0::1]:80",
            "[64:ff9b::192.0.2.1]:80",
        ] {
            assert_eq!(p.check(sa(a)), Ok(()), "{a}");
        }
    }

    #[test]
    fn allow_loopback_exempts_loopback_only() {
        let p = DestinationPolicy::restricted().allow_loopback();
        assert_eq!(p.check(sa("127.0.0.1:80")), Ok(()));
        assert_eq!(p.check(sa("[::1]:80")), Ok(()));
        assert_eq!(
            p.check(sa("169.254.1.1:80")),
            Err(Denial::Reserved(Reserved::LinkLocal))
        );
    }

    #[test]
    fn the_first_matching_rule_decides_before_the_reserved_ranges() {
        let p = DestinationPolicy::restricted()
            .allow(net("127.0.0.2/32"))
            .deny(net("192.0.2.0/24"))
            .allow(net("192.0.2.7/32"));
        assert_eq!(p.check(sa("127.0.0.2:80")), Ok(()));
        assert_eq!(
            p.check(sa("127.0.0.3:80")),
            Err(Denial::Reserved(Reserved::Loopback))
        );
        let deny = Denial::Rule(p.rules()[1]);
        assert_eq!(
            p.check(sa("192.0.2.7:80")),
            Err(deny),
            "the deny comes first"
        );
        assert_eq!(p.check(sa("[64:ff9b::192.0.2.9]:80")), Err(deny));
        assert_eq!(p.check(sa("[::ffff:192.0.2.9]:80")), Err(deny));
        assert_eq!(deny.to_string(), "denied by the rule `deny 192.0.2.0/24`");
    }

    #[test]
    fn an_endpoint_rule_denies_one_port() {
        let p = DestinationPolicy::allow_all().deny_endpoint(sa("[::ffff:192.0.2.1]:1080"));
        assert!(!p.allows_all());
        let Err(Denial::Rule(rule)) = p.check(sa("192.0.2.1:1080")) else {
            panic!("the proxy's own endpoint must be denied");
        };
        assert_eq!(rule.to_string(), "deny 192.0.2.1/32 port 1080");
        assert_eq!(p.check(sa("192.0.2.1:1081")), Ok(()));
    }

    #[test]
    fn a_configured_nat64_prefix_is_seen_through() {
        let prefix = Pref64::new("2001:db8:64::".parse().unwrap(), 96).unwrap();
        let ip = sa("[2001:db8:64::a9fe:a9fe]:80");
        assert_eq!(DestinationPolicy::restricted().check(ip), Ok(()));
        assert_eq!(
            DestinationPolicy::restricted()
                .nat64_prefix(prefix)
                .check(ip),
            Err(Denial::Reserved(Reserved::LinkLocal))
        );
    }

    #[test]
    fn reserved_ranges_read_with_their_addresses() {
        assert_eq!(
            Denial::Reserved(Reserved::LinkLocal).to_string(),
            "denied: link-local (169.254.0.0/16, fe80::/10)"
        );
    }
}
