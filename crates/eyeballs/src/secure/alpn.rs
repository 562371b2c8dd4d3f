//! Which ALPN protocol ids an attempt offers in its handshake.

use eyeballs_proto::ServiceRecord;

/// The ALPN ids an attempt offers (HEv3 §5.2, V3-6.2.2): the caller's own for its transport,
/// most preferred first, keeping only those the attempt's service record speaks (its `alpn`,
/// plus `http/1.1` unless `no-default-alpn`, RFC 9460 §7.1.2) when it belongs to one. An
/// endpoint of no record offers all of the caller's ids, and so does one whose record shares
/// none of them (the engine only makes such endpoints when the caller states no ids).
pub(crate) fn offered(caller: &[Vec<u8>], service: Option<&ServiceRecord>) -> Option<Vec<Vec<u8>>> {
    let service = service?;
    let kept: Vec<Vec<u8>> = caller
        .iter()
        .filter(|id| service.protocols().any(|p| p.as_bytes() == id.as_slice()))
        .cloned()
        .collect();
    // `None`: the caller's list as it is (no new configuration to build).
    (!kept.is_empty() && kept.len() != caller.len()).then_some(kept)
}

/// ALPN ids as the engine's configuration states them ([`Config::alpn`],
/// [`Config::quic_alpn`]): as text, lossily.
///
/// [`Config::alpn`]: eyeballs_proto::Config::alpn
/// [`Config::quic_alpn`]: eyeballs_proto::Config::quic_alpn
pub(crate) fn as_text(ids: &[Vec<u8>]) -> Vec<String> {
    ids.iter()
        .map(|id| String::from_utf8_lossy(id).into_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(list: &[&str]) -> Vec<Vec<u8>> {
        list.iter().map(|s| s.as_bytes().to_vec()).collect()
    }

    /// V3-6.2.2: the attempt offers what both sides speak, in the caller's order.
    #[test]
    fn v3_6_2_2_an_attempt_offers_what_its_service_speaks() {
        let caller = ids(&["h2", "http/1.1"]);
        let h2_only = {
            let mut r = ServiceRecord::service(1).with_alpn(["h2"]);
            r.no_default_alpn = true;
            r
        };
        assert_eq!(offered(&caller, Some(&h2_only)), Some(ids(&["h2"])));
        // The default http/1.1 and h2: everything the caller has, as it is.
        let both = ServiceRecord::service(1).with_alpn(["h2"]);
        assert_eq!(offered(&caller, Some(&both)), None);
        // No record: the caller's list.
        assert_eq!(offered(&caller, None), None);
        // Nothing in common: the caller's list (the engine decides whether to go at all).
        let h3 = {
            let mut r = ServiceRecord::service(1).with_alpn(["h3"]);
            r.no_default_alpn = true;
            r
        };
        assert_eq!(offered(&caller, Some(&h3)), None);
    }

    #[test]
    fn ids_as_text() {
        assert_eq!(as_text(&ids(&["h3", "h2"])), ["h3", "h2"]);
    }
}
