//! Service information (RFC 9460 SVCB and HTTPS records, HEv3 §4): what an HTTPS query
//! answers, and the name it is asked for.
//!
//! The engine sends an HTTPS query when the target asks for one
//! ([`Target::with_https`](crate::Target::with_https)), first and together with the address
//! queries (V3-4.1.2, V3-4.1.3), and waits for its answer, positive or negative, before it
//! starts on addresses that arrived first, at most the Resolution Delay (V3-4.2.2,
//! V3-4.2.3). An answer of AliasMode records only is followed: the alias target gets an HTTPS
//! query of its own, a bounded chain (V3-4.2.1.1).
//!
//! The ServiceMode records are kept in the report
//! ([`Report::services`](crate::Report::services)). A TargetName other than the host (or
//! "." after an alias, which names the alias target) gets its own AAAA and A queries, its
//! answers tried on the record's `port` (V3-4.2.1.2); each record's hints are endpoints until
//! the address answer of their family for their name replaces them (V3-4.2.1.3 to
//! V3-4.2.1.5, V3-7.1).
//!
//! Grouping (HEv3 §5.2): the endpoints of each ServiceMode record form a group, groups in
//! priority order (lower first, V3-5.2.1, V3-5.2.2), equal priorities in an order drawn
//! from [`Config::service_seed`](crate::Config::service_seed) (V3-5.2.3); addresses no
//! record speaks for (the host's own A/AAAA without a "." record) go last (V3-5.2.4); inside
//! a group, RFC 6724 and family interleaving as in RFC 8305 (V3-5.3.1, V3-5.3.7). Without
//! service records there is one group (V3-5.1.1). A record whose protocols the caller does
//! not speak ([`Config::alpn`](crate::Config::alpn)) is not used (V3-6.2.2). All endpoints
//! are TCP: h3 and QUIC endpoints come with QUIC attempts (issue 11), and h2 and
//! http/1.1 records are one protocol group (checklist D8, V3-5.1.1.1).

use std::net::{Ipv4Addr, Ipv6Addr};

/// How many AliasMode records in a row are followed before the chain counts as broken
/// (RFC 9460 §3.1 leaves the limit to the client; a loop is caught sooner).
pub const MAX_ALIAS_CHAIN: usize = 8;

/// The protocol an HTTPS record's service speaks besides its `alpn` unless `no-default-alpn`
/// (RFC 9460 §7.1.2).
const DEFAULT_ALPN: &str = "http/1.1";

/// One SVCB or HTTPS record of an answer (RFC 9460 §2), with the parameters HEv3 uses.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub struct ServiceRecord {
    /// `SvcPriority`: 0 for AliasMode, else ServiceMode (lower first, V3-5.2.1).
    pub priority: u16,
    /// `TargetName`: `"."` is the owner name (for ServiceMode, V3-4.2.1.2); for AliasMode the
    /// name to ask again.
    pub target: String,
    /// `alpn`: the protocols the service speaks (beyond the scheme's default unless
    /// `no_default_alpn`).
    pub alpn: Vec<String>,
    /// `no-default-alpn`.
    pub no_default_alpn: bool,
    /// `port`, replacing the target's port.
    pub port: Option<u16>,
    /// `ipv4hint`.
    pub ipv4_hints: Vec<Ipv4Addr>,
    /// `ipv6hint`.
    pub ipv6_hints: Vec<Ipv6Addr>,
    /// `ech`: the ECHConfigList, as received.
    pub ech: Option<Vec<u8>>,
}

impl ServiceRecord {
    /// A ServiceMode record for the owner name (`priority` ≥ 1, target `"."`), no parameters.
    pub fn service(priority: u16) -> Self {
        ServiceRecord {
            priority: priority.max(1),
            target: ".".to_owned(),
            ..Self::default()
        }
    }

    /// An AliasMode record pointing at `target`.
    pub fn alias(target: &str) -> Self {
        ServiceRecord {
            priority: 0,
            target: target.to_owned(),
            ..Self::default()
        }
    }

    /// Whether this is an AliasMode record.
    pub fn is_alias(&self) -> bool {
        self.priority == 0
    }

    /// The protocols the service speaks, as an HTTPS record says them (RFC 9460 §7.1.2): its
    /// `alpn`, then `http/1.1` unless `no-default-alpn`.
    pub fn protocols(&self) -> impl Iterator<Item = &str> + '_ {
        let default = (!self.no_default_alpn).then_some(DEFAULT_ALPN);
        self.alpn.iter().map(String::as_str).chain(default)
    }

    /// Whether a caller that speaks `supported` over TCP (ALPN ids; empty: anything), and
    /// nothing over QUIC, can use this service (V3-6.2.2): the rule the engine applies with
    /// [`Config::alpn`](crate::Config::alpn).
    ///
    /// ```
    /// use eyeballs_proto::ServiceRecord;
    ///
    /// let h3_only = ServiceRecord::service(1).with_alpn(["h3"]);
    /// assert!(h3_only.speaks_any(&["h2".into(), "http/1.1".into()])); // the default ALPN
    /// let mut strict = h3_only.clone();
    /// strict.no_default_alpn = true;
    /// assert!(!strict.speaks_any(&["h2".into(), "http/1.1".into()]));
    /// assert!(strict.speaks_any(&[]));
    /// ```
    pub fn speaks_any(&self, supported: &[String]) -> bool {
        crate::group::Transports::of(self, supported, &[]).any()
    }

    /// This record with `alpn`.
    pub fn with_alpn<I: IntoIterator<Item = S>, S: Into<String>>(mut self, alpn: I) -> Self {
        self.alpn = alpn.into_iter().map(Into::into).collect();
        self
    }

    /// This record with these hints.
    pub fn with_hints(
        mut self,
        v6: impl IntoIterator<Item = Ipv6Addr>,
        v4: impl IntoIterator<Item = Ipv4Addr>,
    ) -> Self {
        self.ipv6_hints = v6.into_iter().collect();
        self.ipv4_hints = v4.into_iter().collect();
        self
    }

    /// This record for another target name.
    pub fn with_target(mut self, target: &str) -> Self {
        self.target = target.to_owned();
        self
    }
}

/// The name an HTTPS query for `host` on `port` is asked for (RFC 9460 §9.1): the host itself
/// for port 443, else `_PORT._https.HOST`.
pub(crate) fn https_name(host: &str, port: u16) -> String {
    if port == 443 {
        host.to_owned()
    } else {
        format!("_{port}._https.{host}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_names_follow_rfc_9460_section_9_1() {
        assert_eq!(https_name("example.com", 443), "example.com");
        assert_eq!(https_name("example.com", 8443), "_8443._https.example.com");
    }

    #[test]
    fn modes() {
        assert!(ServiceRecord::alias("pool.example").is_alias());
        let s = ServiceRecord::service(0);
        assert!(!s.is_alias(), "a ServiceMode priority is at least 1");
        assert_eq!(s.target, ".");
    }
}
