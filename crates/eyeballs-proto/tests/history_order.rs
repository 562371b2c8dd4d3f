//! `Report::history_reordered` (HE-4.3, HE-4.4: which facts changed the order) against the
//! order itself: the same race run with and without history, random addresses and facts.

mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;

use common::*;
use eyeballs_proto::sim::{Behavior, Scenario, Simulation};
use eyeballs_proto::{
    Action, Config, FamilyPreference, History, PathFacts, PathFailure, Rtt, Target,
};
use proptest::prelude::*;

/// Addresses of every kind RFC 6724 tells apart: loopback, link-local, ULA, 6to4, global,
/// private and public IPv4.
const POOL: [&str; 10] = [
    "[2001:db8::1]:443",
    "[2001:db8::2]:443",
    "[::1]:443",
    "[fe80::1]:443",
    "[fc00::1]:443",
    "[2002:c000:201::1]:443",
    "198.18.0.1:443",
    "198.18.0.2:443",
    "10.0.0.1:443",
    "127.0.0.1:443",
];

fn facts() -> impl Strategy<Value = Option<PathFacts>> {
    let rtt = (1u64..300).prop_map(|n| {
        PathFacts::rtt(Rtt {
            srtt: ms(n),
            rttvar: ms(n / 4),
        })
    });
    prop_oneof![
        3 => Just(None),
        3 => rtt.clone().prop_map(Some),
        1 => rtt.prop_map(|f| Some(f.used(true))),
        1 => Just(Some(PathFacts::default().used(true))),
        1 => Just(Some(PathFacts::failed(PathFailure::Stalled))),
    ]
}

/// The endpoints in the order the race attempts them (every one is a black hole, so every
/// one is attempted).
fn attempt_order(sim: &Simulation) -> Vec<SocketAddr> {
    sim.log
        .iter()
        .filter_map(|(_, action)| match action {
            Action::Connect { endpoint, .. } => Some(endpoint.addr),
            _ => None,
        })
        .collect()
}

fn race(addrs: &[SocketAddr], history: History, family: FamilyPreference) -> Simulation {
    let target = Target::addresses(addrs.iter().copied()).expect("addresses");
    let mut config = Config::default();
    config.family = family;
    Scenario::target(target)
        .config(config)
        .default_behavior(Behavior::BlackHole)
        .history(history)
        .run()
        .expect("scenario sets up")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// HE-4.3: the report says history reordered the race exactly when the order with
    /// history differs from the order without it.
    #[test]
    fn he_4_3_history_reordered_is_whether_the_order_changed(
        picks in prop::collection::vec((0..POOL.len(), facts()), 1..7),
        prefer_v4 in any::<bool>(),
    ) {
        let picks: BTreeMap<usize, Option<PathFacts>> = picks.into_iter().collect();
        let addrs: Vec<SocketAddr> = picks.keys().map(|&i| sa(POOL[i])).collect();
        let mut history = History::new();
        for (&i, facts) in &picks {
            if let Some(facts) = facts {
                history.insert(sa(POOL[i]), *facts);
            }
        }
        let family = if prefer_v4 {
            FamilyPreference::PreferIpv4
        } else {
            FamilyPreference::PreferIpv6
        };
        let with = race(&addrs, history, family);
        let without = race(&addrs, History::new(), family);
        prop_assert!(!without.report.history_reordered);
        prop_assert_eq!(
            with.report.history_reordered,
            attempt_order(&with) != attempt_order(&without),
            "with history {:?}, without {:?}",
            attempt_order(&with),
            attempt_order(&without)
        );
    }
}
