//! [`HistoryConfig`]: how a history store remembers and forgets.

use std::time::Duration;

/// How a [`HistoryStore`](super::HistoryStore) remembers and forgets. Each field documents
/// its default; the numbers are this crate's choices where the RFCs give none.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HistoryConfig {
    /// How many endpoints are remembered, over every partition; the least recently used is
    /// forgotten first. Default 1024. 0 is taken as 1.
    pub max_endpoints: usize,
    /// How many host names are remembered (their endpoints and last winner), over every
    /// partition. Default 256. 0 is taken as 1.
    pub max_hosts: usize,
    /// How long a failure demotes an endpoint (RFC 6724 rule 1 with history: it is tried
    /// after every usable one): after its first failure in a row. Default 1 minute.
    pub failure_hold: Duration,
    /// Each further failure in a row (no success between) doubles the hold, up to this.
    /// Default 16 minutes. When a hold ends, the endpoint takes its place again for a race,
    /// whose outcome clears or renews the hold (V3-5.3.6: a repaired path is found again).
    pub max_failure_hold: Duration,
    /// How long an RTT estimate is used after its latest sample (HE-4.3, HE-5.8). Default
    /// 10 minutes.
    pub rtt_lifetime: Duration,
    /// Every this many races to a host (or to address lists) is given no RTT and
    /// used-address facts, so that endpoints history ranks lower are tried again and clients
    /// with different histories converge (V3-5.3.6). Default 16. 0 never explores, which
    /// gives up V3-5.3.6's MUST.
    pub explore_every: u32,
    /// Whether to watch the network (rtnetlink, Linux) and flush the store when it changes
    /// (HE-4.6, V3-5.3.5). Default true; without a watch (off, or another OS),
    /// [`HistoryStore::flush`](super::HistoryStore::flush) is the only flush.
    pub watch_network: bool,
}

impl Default for HistoryConfig {
    fn default() -> Self {
        HistoryConfig {
            max_endpoints: 1024,
            max_hosts: 256,
            failure_hold: Duration::from_secs(60),
            max_failure_hold: Duration::from_secs(16 * 60),
            rtt_lifetime: Duration::from_secs(10 * 60),
            explore_every: 16,
            watch_network: true,
        }
    }
}
