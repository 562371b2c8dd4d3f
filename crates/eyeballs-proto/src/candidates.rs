//! The candidate list: every endpoint known so far, and the order the untried ones will be
//! attempted in (RFC 8305 §4 and §6).

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::{IpAddr, SocketAddr, SocketAddrV6};

use crate::config::{Config, FamilyPreference};
use crate::dns::{Destination, QueryId};
use crate::endpoint::{Endpoint, Family};
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
    state: State,
}

impl Entry {
    fn family(&self) -> Family {
        Family::of(self.dest.ip)
    }

    fn addr(&self) -> SocketAddr {
        socket_addr(self.dest.ip, self.port, self.scope_id)
    }
}

/// The socket address of an endpoint: an IPv6 one carries its scope id (zone).
fn socket_addr(ip: IpAddr, port: u16, scope_id: u32) -> SocketAddr {
    match ip {
        IpAddr::V6(v6) => SocketAddr::V6(SocketAddrV6::new(v6, port, 0, scope_id)),
        IpAddr::V4(_) => SocketAddr::new(ip, port),
    }
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Candidates {
    /// Every endpoint ever known, in the order it became known (RFC 6724 rule 10 keeps it
    /// among equals).
    entries: Vec<Entry>,
    /// Where each endpoint is in `entries`.
    index: HashMap<SocketAddr, usize>,
    /// Indices of the pending entries, in attempt order.
    order: VecDeque<usize>,
}

impl Candidates {
    /// Adds an endpoint unless it is known already; an endpoint withdrawn by an earlier answer
    /// comes back. One dropped by the endpoint cap stays dropped. `scope_id` is the IPv6 zone
    /// (0 for none); endpoints that differ only in it are different endpoints.
    pub(crate) fn add(
        &mut self,
        dest: Destination,
        port: u16,
        scope_id: u32,
        port_rank: usize,
        query: Option<QueryId>,
    ) {
        let addr = socket_addr(dest.ip, port, scope_id);
        match self.index.get(&addr) {
            Some(&i) => {
                let e = &mut self.entries[i];
                if e.state == State::Removed {
                    e.state = State::Pending;
                    e.query = query;
                    e.dest = dest;
                }
            }
            None => {
                self.index.insert(addr, self.entries.len());
                self.entries.push(Entry {
                    dest,
                    port,
                    scope_id,
                    port_rank,
                    query,
                    state: State::Pending,
                });
            }
        }
    }

    /// Makes room for `additional` more endpoints.
    pub(crate) fn reserve(&mut self, additional: usize) {
        self.entries.reserve(additional);
        self.index.reserve(additional);
    }

    /// How many endpoints are waiting for an attempt.
    pub(crate) fn pending_len(&self) -> usize {
        self.order.len()
    }

    /// A later answer to `query` replaces its earlier one: pending endpoints it brought that
    /// are not in `ips` go (HE-6.2); attempted ones stay (HE-6.1).
    pub(crate) fn retain_answer(&mut self, query: QueryId, ips: &HashSet<IpAddr>) {
        for e in &mut self.entries {
            if e.query == Some(query) && e.state == State::Pending && !ips.contains(&e.dest.ip) {
                e.state = State::Removed;
            }
        }
    }

    /// Recomputes the attempt order over the complete list, attempted endpoints included, so
    /// that new endpoints land where a full sort would put them (HE-6.3, V3-7.3): per port rank,
    /// RFC 6724 (HE-4.2), then family interleaving (HE-4.7, HE-4.8). Then drops the
    /// lowest-ranked pending endpoints beyond `config.max_endpoints`; returns how many.
    pub(crate) fn resort(&mut self, config: &Config) -> usize {
        let mut live: Vec<(usize, SortKey, usize)> = self
            .entries
            .iter()
            .enumerate()
            .filter(|(_, e)| matches!(e.state, State::Pending | State::Attempted))
            .map(|(i, e)| (e.port_rank, SortKey::new(&e.dest, &config.policy_table), i))
            .collect();
        // Stable: equal endpoints keep the order they became known in (rule 10).
        live.sort_by_key(|&(rank, key, _)| (rank, key));

        self.order.clear();
        let mut start = 0;
        while start < live.len() {
            let rank = live[start].0;
            let end = live[start..]
                .iter()
                .position(|x| x.0 != rank)
                .map_or(live.len(), |n| start + n);
            let group: Vec<(usize, bool)> = live[start..end]
                .iter()
                .map(|&(_, key, i)| (i, key.is_usable()))
                .collect();
            let leader = self.leader(&group, config.family);
            let ordered = interleave(
                group,
                |&(i, _)| self.entries[i].family(),
                leader,
                config.first_address_family_count,
            );
            self.order.extend(
                ordered
                    .into_iter()
                    .map(|(i, _)| i)
                    .filter(|&i| self.entries[i].state == State::Pending),
            );
            start = end;
        }

        let mut dropped = 0;
        let mut live_count = live.len();
        while live_count > config.max_endpoints {
            let Some(i) = self.order.pop_back() else {
                break;
            };
            self.entries[i].state = State::Dropped;
            live_count -= 1;
            dropped += 1;
        }
        dropped
    }

    /// The family that leads the interleaved list (HE-2.2, HE-4.7): with `PreferIpv6` the
    /// family of the first address after RFC 6724 sorting; with `PreferIpv4` IPv4 whenever an
    /// IPv4 address is usable.
    fn leader(&self, sorted: &[(usize, bool)], family: FamilyPreference) -> Family {
        let first = sorted
            .first()
            .map_or(Family::V6, |&(i, _)| self.entries[i].family());
        match family {
            FamilyPreference::PreferIpv4
                if sorted
                    .iter()
                    .any(|&(i, usable)| usable && self.entries[i].family() == Family::V4) =>
            {
                Family::V4
            }
            _ => first,
        }
    }

    /// Takes the next endpoint to attempt.
    pub(crate) fn next(&mut self) -> Option<Endpoint> {
        let i = self.order.pop_front()?;
        let e = &mut self.entries[i];
        e.state = State::Attempted;
        Some(Endpoint::tcp(e.addr()))
    }

    pub(crate) fn has_pending(&self) -> bool {
        !self.order.is_empty()
    }

    pub(crate) fn has_pending_of(&self, family: Family) -> bool {
        self.order
            .iter()
            .any(|&i| self.entries[i].family() == family)
    }
}
