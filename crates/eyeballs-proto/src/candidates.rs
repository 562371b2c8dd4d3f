//! The candidate list: every endpoint known so far, and the order the untried ones will be
//! attempted in (RFC 8305 §4 and §6).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV6};

use smallvec::SmallVec;

use crate::config::{Config, FamilyPreference};
use crate::distinct::{Distinct, LINEAR_MAX};
use crate::dns::{Destination, QueryId, SourceAddr};
use crate::endpoint::{Endpoint, Family, Protocol};
use crate::group::Group;
use crate::history::History;
use crate::interleave::interleave;
use crate::rfc6724::SortKey;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Pending,
    Attempted,
    /// Withdrawn by a later answer (HE-6.2); a still later answer may bring it back.
    Removed,
    /// Dropped by the endpoint cap, for good: counted once in the report.
    Dropped,
}

#[derive(Debug, Clone)]
struct Entry {
    dest: Destination,
    port: u16,
    /// The IPv6 scope id (zone) to connect with; 0 for none, and for every DNS answer.
    scope_id: u32,
    /// The rank of the port among the target's ports: lower ranks are tried first.
    port_rank: usize,
    /// The query whose answer brought it; `None` for the caller's own addresses.
    query: Option<QueryId>,
    /// The IPv4 address `dest` was synthesized from (NAT64, RFC 6052), if it was.
    via: Option<Ipv4Addr>,
    /// TCP, or QUIC for the twin of a TCP endpoint whose service speaks QUIC (HEv3 §6).
    protocol: Protocol,
    state: State,
    /// Its RFC 6724 sort key: a function of `dest` and the race's policy table alone, so it
    /// is computed by the first sort that needs it (a list of one endpoint never does) and
    /// reused by every later one; `None` until then, and again whenever `dest` changes.
    key: Option<SortKey>,
}

impl Entry {
    /// Its family for the race's rules (the Resolution Delay, interleaving): an address
    /// synthesized from IPv4 counts as IPv4, as the HEv3 editor's copy de-synthesizes it
    /// (V3ED-8.2.a), so that native IPv6 and the NAT64 path alternate.
    fn family(&self) -> Family {
        match self.via {
            Some(_) => Family::V4,
            None => Family::of(self.dest.ip),
        }
    }

    /// Its RFC 6724 sort key: of the IPv4 address it stands for if it was synthesized
    /// (V3ED-8.2.a: de-synthesized for sorting), else of its destination.
    fn sort_key(&self, table: &crate::rfc6724::PolicyTable) -> SortKey {
        match self.via {
            Some(v4) => SortKey::new(&Destination::new(IpAddr::V4(v4)), table),
            None => SortKey::new(&self.dest, table),
        }
    }

    /// Whether the host may reach it, as far as is known (RFC 6724 rule 1): it has a route,
    /// and history holds no recent failure against it.
    fn is_usable(&self, history: &History) -> bool {
        self.dest.source != SourceAddr::Unreachable
            && self
                .facts(history)
                .is_none_or(|facts| facts.failed.is_none())
    }

    fn addr(&self) -> SocketAddr {
        socket_addr(self.dest.ip, self.port, self.scope_id)
    }

    /// What identifies it in the list: its socket address and protocol.
    fn id(&self) -> (SocketAddr, Protocol) {
        (self.addr(), self.protocol)
    }

    /// What history knows about it: about this endpoint, protocol included (a QUIC path and
    /// the TCP path to the same address are remembered apart).
    fn facts<'h>(&self, history: &'h History) -> Option<&'h crate::history::PathFacts> {
        history.get_endpoint(Endpoint {
            addr: self.addr(),
            protocol: self.protocol,
        })
    }

    /// Whether it takes part in the order: pending, or attempted already (its place still
    /// decides where new endpoints go, HE-6.3).
    fn is_live(&self) -> bool {
        matches!(self.state, State::Pending | State::Attempted)
    }
}

/// The socket address of an endpoint: an IPv6 one carries its scope id (zone).
pub(crate) fn socket_addr(ip: IpAddr, port: u16, scope_id: u32) -> SocketAddr {
    match ip {
        IpAddr::V6(v6) => SocketAddr::V6(SocketAddrV6::new(v6, port, 0, scope_id)),
        IpAddr::V4(_) => SocketAddr::new(ip, port),
    }
}

/// How many endpoints the list holds without allocating: a race on one or two addresses (the
/// common cases: one literal, or one address per family) costs no heap memory for them.
const INLINE_ENTRIES: usize = 2;

#[derive(Debug, Clone, Default)]
pub(crate) struct Candidates {
    /// Every endpoint ever known, in the order it became known (RFC 6724 rule 10 keeps it
    /// among equals), one per socket address.
    entries: SmallVec<[Entry; INLINE_ENTRIES]>,
    /// Where each endpoint is in `entries`, by socket address (scope id included): `None`
    /// while there are at most [`LINEAR_MAX`] endpoints, found by comparing addresses (no
    /// hashing, no allocation), then complete.
    index: Option<HashMap<(SocketAddr, Protocol), usize>>,
    /// Indices of the pending entries, in attempt order, from `head` on (those before it have
    /// been taken by [`Candidates::next`] since the latest sort).
    order: SmallVec<[usize; INLINE_ENTRIES]>,
    /// Where the next endpoint to attempt is in `order`.
    head: usize,
}

impl Candidates {
    /// Where the endpoint `id` (address and protocol) is in `entries`, if it is known.
    fn position(&self, id: (SocketAddr, Protocol)) -> Option<usize> {
        match &self.index {
            Some(index) => index.get(&id).copied(),
            None => self.entries.iter().position(|e| e.id() == id),
        }
    }

    /// Appends a new endpoint (one `position` does not know) and keeps the index complete.
    fn push(&mut self, entry: Entry) {
        let id = entry.id();
        let i = self.entries.len();
        self.entries.push(entry);
        match &mut self.index {
            Some(index) => {
                index.insert(id, i);
            }
            None if self.entries.len() > LINEAR_MAX => {
                // Outgrown the linear search: index every endpoint, with room for as many as
                // the list has room for (`reserve` sizes it per answer).
                let mut index = HashMap::with_capacity(self.entries.capacity());
                index.extend(self.entries.iter().enumerate().map(|(i, e)| (e.id(), i)));
                self.index = Some(index);
            }
            None => {}
        }
    }

    /// Adds an endpoint unless it is known already; an endpoint withdrawn by an earlier answer
    /// comes back. One dropped by the endpoint cap stays dropped. `scope_id` is the IPv6 zone
    /// (0 for none); endpoints that differ only in it are different endpoints. `via`: the
    /// IPv4 address `dest` was synthesized from, if it was.
    #[allow(clippy::too_many_arguments)] // One endpoint's facts, each needed.
    pub(crate) fn add(
        &mut self,
        dest: Destination,
        port: u16,
        scope_id: u32,
        port_rank: usize,
        query: Option<QueryId>,
        via: Option<Ipv4Addr>,
    ) {
        let addr = socket_addr(dest.ip, port, scope_id);
        let Some(i) = self.position((addr, Protocol::Tcp)) else {
            self.push(Entry {
                dest,
                port,
                scope_id,
                port_rank,
                query,
                via,
                protocol: Protocol::Tcp,
                state: State::Pending,
                key: None,
            });
            return;
        };
        if let Some(e) = self.entries.get_mut(i) {
            if e.state == State::Removed {
                e.state = State::Pending;
                e.query = query;
                // Same address, perhaps another source: the key follows `dest`.
                e.dest = dest;
                e.key = None;
            }
        }
    }

    /// Gives every live TCP endpoint that `speaks_quic` says (by the query that brought it)
    /// a QUIC twin on the same address and port, unless it has one (HEv3 §6: a service whose
    /// protocols include one the caller speaks over QUIC).
    pub(crate) fn add_quic_twins(&mut self, speaks_quic: impl Fn(Option<QueryId>) -> bool) {
        let mut twins: SmallVec<[Entry; 2]> = SmallVec::new();
        for e in &self.entries {
            if e.protocol == Protocol::Tcp
                && e.is_live()
                && speaks_quic(e.query)
                && self.position((e.addr(), Protocol::Quic)).is_none()
            {
                let mut twin = e.clone();
                twin.protocol = Protocol::Quic;
                twin.state = State::Pending;
                twins.push(twin);
            }
        }
        for twin in twins {
            self.push(twin);
        }
    }

    /// Makes room for `additional` more endpoints.
    pub(crate) fn reserve(&mut self, additional: usize) {
        self.entries.reserve(additional);
        if let Some(index) = &mut self.index {
            index.reserve(additional);
        }
    }

    /// How many endpoints are waiting for an attempt.
    pub(crate) fn pending_len(&self) -> usize {
        self.pending().len()
    }

    /// The pending endpoints' indices, in attempt order.
    fn pending(&self) -> &[usize] {
        self.order.get(self.head..).unwrap_or_default()
    }

    /// A later answer to `query` replaces its earlier one: pending endpoints it brought that
    /// are not in `ips` go (HE-6.2); attempted ones stay (HE-6.1).
    pub(crate) fn retain_answer(&mut self, query: QueryId, ips: &Distinct<IpAddr>) {
        for e in &mut self.entries {
            if e.query == Some(query) && e.state == State::Pending && !ips.contains(e.dest.ip) {
                e.state = State::Removed;
            }
        }
    }

    /// Recomputes the attempt order over the complete list, attempted endpoints included, so
    /// that new endpoints land where a full sort would put them (HE-6.3, V3-7.3): per port rank,
    /// RFC 6724 (HE-4.2) with what `history` knows (HE-4.3, HE-4.4), then family
    /// interleaving (HE-4.7, HE-4.8) led as `family` (the race's preference on its network)
    /// says. Then drops the lowest-ranked pending endpoints beyond `config.max_endpoints`.
    pub(crate) fn resort(
        &mut self,
        config: &Config,
        family: FamilyPreference,
        history: &History,
        group: impl Fn(Option<QueryId>, Protocol) -> Group,
    ) -> Resorted {
        let order = &mut self.order;
        order.clear();
        self.head = 0;
        let mut reordered = false;
        let live_count = if let [only] = self.entries.as_slice() {
            // One endpoint (a single address on one port, the common case): sorting one item
            // and interleaving one item both leave it where it is, so the order is that
            // endpoint if it is still pending. The general path below gives the same.
            if only.state == State::Pending {
                order.push(0);
            }
            usize::from(only.is_live())
        } else {
            let table = &config.policy_table;
            // Inline for a handful of endpoints (one address per family, a few ports): the
            // common races sort without allocating.
            let mut live: SmallVec<[Ranked; 4]> = self
                .entries
                .iter_mut()
                .enumerate()
                .filter(|(_, e)| e.is_live())
                .map(|(index, e)| {
                    let plain = match e.key {
                        Some(key) => key,
                        None => *e.key.insert(e.sort_key(table)),
                    };
                    let key = match e.facts(history) {
                        Some(facts) => plain.with_history(facts),
                        None => plain,
                    };
                    Ranked {
                        group: group(e.query, e.protocol),
                        protocol: e.protocol,
                        port_rank: e.port_rank,
                        key,
                        plain,
                        family: e.family(),
                        pending: e.state == State::Pending,
                        index,
                    }
                })
                .collect();
            arrange(&mut live, |r| r.key, config, family, order);
            if live.iter().any(|r| r.key != r.plain) && !arranged_alike(&live) {
                // What the order would be without history, for the report (HE-4.3: which
                // facts changed it). Only races whose history may have changed it pay for it.
                let mut plain: SmallVec<[usize; 4]> = SmallVec::new();
                arrange(&mut live, |r| r.plain, config, family, &mut plain);
                reordered = plain.as_slice() != order.as_slice();
            }
            live.len()
        };

        let mut dropped = 0;
        let mut live_count = live_count;
        while live_count > config.max_endpoints {
            let Some(i) = self.order.pop() else {
                break;
            };
            if let Some(e) = self.entries.get_mut(i) {
                e.state = State::Dropped;
            }
            live_count -= 1;
            dropped += 1;
        }
        Resorted { dropped, reordered }
    }

    /// Takes the next endpoint to attempt, with the IPv4 address it was synthesized from and
    /// the query that brought it.
    pub(crate) fn next(&mut self) -> Option<(Endpoint, Option<Ipv4Addr>, Option<QueryId>)> {
        let i = *self.order.get(self.head)?;
        self.head += 1;
        let e = self.entries.get_mut(i)?;
        e.state = State::Attempted;
        let endpoint = Endpoint {
            addr: e.addr(),
            protocol: e.protocol,
        };
        Some((endpoint, e.via, e.query))
    }

    pub(crate) fn has_pending(&self) -> bool {
        !self.pending().is_empty()
    }

    /// Whether an endpoint of `family` that the host may reach, as far as is known, waits for
    /// an attempt (`None`: of any family).
    pub(crate) fn has_usable_pending(&self, family: Option<Family>, history: &History) -> bool {
        let entries = &self.entries;
        self.pending().iter().any(|&i| {
            let e = &entries[i];
            family.is_none_or(|f| e.family() == f) && e.is_usable(history)
        })
    }
}

/// What [`Candidates::resort`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Resorted {
    /// How many pending endpoints the endpoint cap dropped.
    pub(crate) dropped: usize,
    /// Whether history changed the order of the pending endpoints.
    pub(crate) reordered: bool,
}

/// Sorts `live` by service group (HEv3 §5.2), port rank, then `key` (equal endpoints keep
/// the order they became known in, rule 10: their index, whatever order `live` is in),
/// interleaves the families of each group and port rank (V3-5.3.7), and appends the pending
/// ones' indices to `order`.
fn arrange<A: smallvec::Array<Item = usize>>(
    live: &mut [Ranked],
    key: impl Fn(&Ranked) -> SortKey + Copy,
    config: &Config,
    family: FamilyPreference,
    order: &mut SmallVec<A>,
) {
    live.sort_unstable_by_key(|r| (r.group, r.port_rank, key(r), r.index));
    order.reserve(live.len());
    let count = config.first_address_family_count;
    for group in live.chunk_by(|a, b| (a.group, a.port_rank) == (b.group, b.port_rank)) {
        let lead = leader(group, family, key);
        if group.iter().all(|r| r.protocol == Protocol::Tcp) {
            interleave(
                group,
                |r| r.family,
                lead,
                count,
                |r| {
                    if r.pending {
                        order.push(r.index);
                    }
                },
            );
            continue;
        }
        // QUIC and TCP endpoints of one group (HEv3 §6): each list interleaved by family,
        // QUIC's led as RFC 8305 says and TCP's by the other family, then the two merged one
        // by one, QUIC first: the second attempt changes both protocol and family, so that
        // blocked UDP and a broken family are each covered by one fallback. RFC 6724 rule 1
        // holds across the protocols: the usable endpoints of both lists are merged first,
        // the unusable ones (no route, or a recent failure in history) after them, so a
        // QUIC endpoint whose UDP path recently stalled no longer leads: TCP does, led by
        // the family RFC 8305 says.
        let (quic_part, tcp_part): (SmallVec<[Ranked; 4]>, SmallVec<[Ranked; 4]>) = group
            .iter()
            .copied()
            .partition(|r| r.protocol == Protocol::Quic);
        let usable = |r: &Ranked| key(r).is_usable();
        let mut quic: SmallVec<[Ranked; 4]> = SmallVec::new();
        interleave(&quic_part, |r| r.family, lead, count, |r| quic.push(r));
        let tcp_lead =
            if tcp_part.iter().any(|r| r.family == lead.other()) && quic.iter().any(usable) {
                lead.other()
            } else {
                lead
            };
        let mut tcp: SmallVec<[Ranked; 4]> = SmallVec::new();
        interleave(&tcp_part, |r| r.family, tcp_lead, count, |r| tcp.push(r));
        for wanted in [true, false] {
            let mut q = quic.iter().filter(|r| usable(r) == wanted);
            let mut t = tcp.iter().filter(|r| usable(r) == wanted);
            loop {
                let (a, b) = (q.next(), t.next());
                if a.is_none() && b.is_none() {
                    break;
                }
                for r in a.into_iter().chain(b) {
                    if r.pending {
                        order.push(r.index);
                    }
                }
            }
        }
    }
}

/// Whether [`arrange`] by the keys without history would give the order `sorted` (arranged
/// by the keys with history) gave, without arranging again: it would when `sorted` is in
/// the order the keys without history sort it in (the sort's keys end with the entry's
/// index, so that order is the one sort of the list) and history made no endpoint unusable
/// (rule 1: the only other thing `arrange` reads of a key). A `false` only means "arrange
/// and compare".
fn arranged_alike(sorted: &[Ranked]) -> bool {
    let plain = |r: &Ranked| (r.group, r.port_rank, r.plain, r.index);
    sorted
        .iter()
        .all(|r| r.key.is_usable() == r.plain.is_usable())
        && sorted.windows(2).all(|w| plain(&w[0]) < plain(&w[1]))
}

/// A live endpoint as [`Candidates::resort`] sorts it: what the sort and the interleaving
/// read, copied out of its entry, so that they compare values rather than look entries up.
#[derive(Debug, Clone, Copy)]
struct Ranked {
    group: Group,
    protocol: Protocol,
    port_rank: usize,
    /// Its sort key with what history knows.
    key: SortKey,
    /// Its sort key without history.
    plain: SortKey,
    family: Family,
    pending: bool,
    /// Where its entry is.
    index: usize,
}

/// The family that leads the interleaved list of `sorted` (HE-2.2, HE-4.7): with
/// `PreferIpv6` the family of the first address after RFC 6724 sorting; with `PreferIpv4`
/// IPv4 whenever an IPv4 address is usable.
fn leader(sorted: &[Ranked], family: FamilyPreference, key: impl Fn(&Ranked) -> SortKey) -> Family {
    let first = sorted.first().map_or(Family::V6, |r| r.family);
    match family {
        FamilyPreference::PreferIpv4
            if sorted
                .iter()
                .any(|r| key(r).is_usable() && r.family == Family::V4) =>
        {
            Family::V4
        }
        _ => first,
    }
}
