//! History keyed by protocol (V3-6.5, issue 11): a QUIC endpoint and the TCP endpoint of the
//! same address are separate paths. A QUIC endpoint whose attempt stalled (UDP blocked) is
//! demoted and TCP leads the next race; a QUIC handshake time gives the attempt after a QUIC
//! attempt its PTO; TCP facts say nothing about QUIC and the other way round. Virtual time,
//! exact timestamps.

mod common;

use common::*;
use eyeballs_proto::sim::{Behavior, Scenario};
use eyeballs_proto::{
    Config, Endpoint, History, Lesson, PathFacts, PathFailure, Protocol, Rtt, ServiceRecord, Target,
};

const V6: &str = "2001:db8::1";
const V4: &str = "192.0.2.1";

fn tcp(addr: &str) -> Endpoint {
    Endpoint::tcp(sa(addr))
}

fn quic(addr: &str) -> Endpoint {
    Endpoint {
        addr: sa(addr),
        protocol: Protocol::Quic,
    }
}

fn rtt(srtt: u64, rttvar: u64) -> PathFacts {
    PathFacts::rtt(Rtt {
        srtt: ms(srtt),
        rttvar: ms(rttvar),
    })
}

fn stalled() -> PathFacts {
    PathFacts::failed(PathFailure::Stalled)
}

/// A caller that speaks h3 over QUIC and h2 over TCP and knows (an Alt-Svc, configuration)
/// that the destination speaks both.
fn h3_client(f: impl FnOnce(&mut Config)) -> Config {
    config(|c| {
        c.alpn = vec!["h2".into()];
        c.quic_alpn = vec!["h3".into()];
        c.services = vec![ServiceRecord::service(1).with_alpn(["h3", "h2"])];
        f(c);
    })
}

/// An IP literal with a known h3 service: a QUIC and a TCP endpoint on one address, QUIC
/// first without history.
fn literal(history: History) -> Scenario {
    Scenario::target(Target::host(V4, 443).unwrap())
        .config(h3_client(|_| {}))
        .history(history)
}

/// V3-6.5 with RFC 6724 rule 1: the QUIC endpoint whose attempt stalled (UDP black-holed)
/// no longer leads; TCP goes first at once instead of after the 250 ms QUIC would cost, and
/// wins with one handshake.
#[test]
fn v3_6_5_a_stalled_quic_endpoint_lets_tcp_lead_the_next_race() {
    let sim = expect(
        literal(History::new().with_endpoint(quic("192.0.2.1:443"), stalled()))
            .default_behavior(Behavior::Connects(ms(5))),
        &["0 connect #0 192.0.2.1:443", "5 done connected #0"],
    );
    assert!(sim.report.history_reordered);
    assert_eq!(sim.report.attempts[0].history, None, "TCP knows nothing");
    // Without that history, QUIC leads (the first race of the black hole).
    expect(
        literal(History::new()).default_behavior(Behavior::Connects(ms(5))),
        &["0 connect #0 quic://192.0.2.1:443", "5 done connected #0"],
    );
}

/// The demoted QUIC endpoint is still tried, after TCP, once TCP's delay runs out.
#[test]
fn v3_6_5_the_demoted_quic_endpoint_is_tried_after_tcp() {
    let sim = expect(
        literal(History::new().with_endpoint(quic("192.0.2.1:443"), stalled())),
        &[
            "0 connect #0 192.0.2.1:443",
            "250 connect #1 quic://192.0.2.1:443",
        ],
    );
    assert_eq!(sim.report.attempts[1].history, Some(stalled()));
}

/// V3-6.5: the delay after a QUIC attempt whose endpoint has an RTT estimate is its PTO
/// (RFC 9002 §6.2.1 with max_ack_delay 0 during the handshake: SRTT + max(4·RTTVAR, 1 ms),
/// the formula of TCP's RTO): srtt 20 ms, rttvar 5 ms give 40 ms with a 10 ms minimum ...
#[test]
fn v3_6_5_the_quic_pto_is_the_delay_after_a_quic_attempt() {
    let sim = expect(
        literal(History::new().with_endpoint(quic("192.0.2.1:443"), rtt(20, 5)))
            .config(h3_client(|c| c.min_connection_attempt_delay = ms(10))),
        &[
            "0 connect #0 quic://192.0.2.1:443",
            "40 connect #1 192.0.2.1:443",
        ],
    );
    assert_eq!(sim.report.attempts[0].attempt_delay, ms(40));
    assert_eq!(sim.report.attempts[0].history, Some(rtt(20, 5)));
    // ... and is clamped as TCP's is (`Config::clamp_derived_attempt_delay`): raised to the
    // 100 ms default minimum (HE-5.11).
    expect(
        literal(History::new().with_endpoint(quic("192.0.2.1:443"), rtt(20, 5))),
        &[
            "0 connect #0 quic://192.0.2.1:443",
            "100 connect #1 192.0.2.1:443",
        ],
    );
}

/// TCP facts do not apply to the QUIC endpoint of the same address: a TCP RTT gives the QUIC
/// attempt no PTO (the configured 250 ms runs) and a TCP failure does not demote QUIC.
#[test]
fn tcp_facts_do_not_apply_to_quic() {
    let sim = expect(
        literal(History::new().with(sa("192.0.2.1:443"), rtt(20, 5))),
        &[
            "0 connect #0 quic://192.0.2.1:443",
            "250 connect #1 192.0.2.1:443",
        ],
    );
    assert_eq!(sim.report.attempts[0].history, None);
    assert_eq!(sim.report.attempts[1].history, Some(rtt(20, 5)));
    let sim = expect(
        literal(History::new().with(sa("192.0.2.1:443"), stalled())),
        &[
            "0 connect #0 quic://192.0.2.1:443",
            "250 connect #1 192.0.2.1:443",
        ],
    );
    assert_eq!(sim.report.attempts[0].history, None);
    assert!(!sim.report.history_reordered);
}

/// QUIC facts do not apply to the TCP endpoint of the same address: after a QUIC win (an
/// RTT, the used mark) the TCP attempt still gets the configured delay and no facts.
#[test]
fn quic_facts_do_not_apply_to_tcp() {
    let won = rtt(20, 5).used(true);
    let sim = expect(
        literal(History::new().with_endpoint(quic("192.0.2.1:443"), won))
            .config(h3_client(|c| c.min_connection_attempt_delay = ms(10)))
            .default_behavior(Behavior::refuses(ms(1))),
        &[
            "0 connect #0 quic://192.0.2.1:443",
            // The QUIC attempt is refused at 1 ms; TCP starts at the 10 ms floor (HE-5.10).
            "10 connect #1 192.0.2.1:443",
            "11 done failed: every connection attempt failed",
        ],
    );
    assert_eq!(sim.report.attempts[0].history, Some(won));
    assert_eq!(sim.report.attempts[1].history, None);
    assert_eq!(sim.report.attempts[1].attempt_delay, ms(250));
}

/// Dual stack, the QUIC endpoint over IPv6 recently stalled: it no longer leads, and goes
/// after every usable endpoint of both protocols. The AAAA answer (first in) has a usable
/// endpoint, TCP over IPv6, which starts at once (HE-3.5); the A answer joins (HE-6.3) with
/// QUIC over IPv4 next (the protocol changes, and IPv4 QUIC is not known to fail), TCP over
/// IPv4, and the demoted QUIC over IPv6 last.
#[test]
fn v3_6_5_dual_stack_the_stalled_quic_endpoint_goes_last() {
    let scenario = Scenario::target(Target::host("h3.test", 443).unwrap())
        .config(h3_client(|_| {}))
        .answer(eyeballs_proto::RecordType::Aaaa, ms(1), [V6])
        .answer(eyeballs_proto::RecordType::A, ms(1), [V4])
        .history(History::new().with_endpoint(quic("[2001:db8::1]:443"), stalled()));
    let sim = expect(
        scenario,
        &[
            "0 resolve q0 AAAA",
            "0 resolve q1 A",
            "1 connect #0 [2001:db8::1]:443",
            "251 connect #1 quic://192.0.2.1:443",
            "501 connect #2 192.0.2.1:443",
            "751 connect #3 quic://[2001:db8::1]:443",
        ],
    );
    assert!(sim.report.history_reordered);
}

/// What a race teaches, per protocol: IPv6 black-holed, the QUIC attempt over it stalls
/// through its whole delay while TCP over IPv4 wins; the lessons name each endpoint with its
/// protocol.
#[test]
fn v3_6_5_lessons_name_the_protocol() {
    let sim = Scenario::target(Target::host("h3.test", 443).unwrap())
        .config(h3_client(|_| {}))
        .answer(eyeballs_proto::RecordType::Aaaa, ms(1), [V6])
        .answer(eyeballs_proto::RecordType::A, ms(1), [V4])
        .behavior(V6, Behavior::BlackHole)
        .behavior(V4, Behavior::Connects(ms(7)))
        .run()
        .unwrap();
    let lessons: Vec<Lesson> = sim.report.lessons().collect();
    assert_eq!(
        lessons,
        [
            Lesson::Failed {
                endpoint: quic("[2001:db8::1]:443"),
                failure: PathFailure::Stalled
            },
            Lesson::Connected {
                endpoint: tcp("192.0.2.1:443"),
                rtt: ms(7)
            },
        ],
        "{:?}",
        sim.lines()
    );
    assert_eq!(lessons[0].endpoint().protocol, Protocol::Quic);
}

/// `History`'s TCP shorthand and its endpoint form: one map, keyed by protocol.
#[test]
fn history_keeps_tcp_and_quic_apart() {
    let mut history = History::new()
        .with(sa("192.0.2.1:443"), rtt(10, 1))
        .with_endpoint(quic("192.0.2.1:443"), stalled());
    assert_eq!(history.get(sa("192.0.2.1:443")), Some(&rtt(10, 1)));
    assert_eq!(
        history.get_endpoint(tcp("192.0.2.1:443")),
        Some(&rtt(10, 1))
    );
    assert_eq!(
        history.get_endpoint(quic("192.0.2.1:443")),
        Some(&stalled())
    );
    assert_eq!(history.iter().count(), 2);
    // Facts that say nothing remove the entry, of that protocol only.
    history.insert_endpoint(quic("192.0.2.1:443"), PathFacts::default());
    assert_eq!(history.get_endpoint(quic("192.0.2.1:443")), None);
    assert!(history.get(sa("192.0.2.1:443")).is_some());
    let collected: History = [(quic("[2001:db8::1]:443"), stalled())]
        .into_iter()
        .collect();
    assert!(collected.get(sa("[2001:db8::1]:443")).is_none());
}

/// UDP blocked on a dual-stack host, both QUIC endpoints stalled in earlier races: TCP leads,
/// interleaved as RFC 8305 says (IPv6 first, HE-4.7), and both QUIC endpoints go last.
#[test]
fn v3_6_5_with_every_quic_endpoint_demoted_tcp_leads_as_rfc_8305_says() {
    let scenario = Scenario::target(Target::host("h3.test", 443).unwrap())
        .config(h3_client(|_| {}))
        .answer(eyeballs_proto::RecordType::Aaaa, ms(1), [V6])
        .answer(eyeballs_proto::RecordType::A, ms(1), [V4])
        .history(
            History::new()
                .with_endpoint(quic("[2001:db8::1]:443"), stalled())
                .with_endpoint(quic("192.0.2.1:443"), stalled()),
        );
    expect(
        scenario,
        &[
            "0 resolve q0 AAAA",
            "0 resolve q1 A",
            "1 connect #0 [2001:db8::1]:443",
            "251 connect #1 192.0.2.1:443",
            "501 connect #2 quic://[2001:db8::1]:443",
            "751 connect #3 quic://192.0.2.1:443",
        ],
    );
}
