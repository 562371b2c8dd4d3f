//! V3-6.1.5: an attempt whose transport handshake is done while its security handshake goes
//! on (TCP connected, TLS pending) holds the next attempt back by about one more round trip,
//! when that ends after its Connection Attempt Delay, within the maximum delay. Virtual
//! time, exact timestamps.

mod common;

use common::*;
use eyeballs_proto::sim::{Behavior, Scenario};
use eyeballs_proto::{Action, Config, Engine, Target};
use std::time::{Duration, Instant};

fn two() -> Scenario {
    Scenario::target(Target::addresses([sa("[2001:db8::1]:443"), sa("192.0.2.1:443")]).unwrap())
}

/// TCP done at 200 ms (a 200 ms round trip), TLS at 380 ms: without V3-6.1.5 the second
/// attempt would start at 250 ms and win at 260 ms; with it the timer moves to 400 ms and
/// the first attempt wins with TLS done at 380 ms.
#[test]
fn v3_6_1_5_a_late_transport_handshake_extends_the_timer() {
    let sim = expect(
        two()
            .behavior("2001:db8::1", Behavior::Secures(ms(200), ms(380)))
            .default_behavior(Behavior::Connects(ms(10))),
        &["0 connect #0 [2001:db8::1]:443", "380 done connected #0"],
    );
    let first = &sim.report.attempts[0];
    assert_eq!(
        first
            .transport_done
            .map(|t| t.duration_since(sim.report.started)),
        Some(ms(200))
    );
}

/// Where TLS would stall for good, the next attempt comes one round trip after the
/// transport handshake (400 ms), not at 250 ms and not never.
#[test]
fn v3_6_1_5_a_stalled_security_handshake_still_lets_the_next_attempt_go() {
    expect(
        two()
            .behavior("2001:db8::1", Behavior::Secures(ms(200), Duration::MAX))
            .default_behavior(Behavior::Connects(ms(10))),
        &[
            "0 connect #0 [2001:db8::1]:443",
            "400 connect #1 192.0.2.1:443",
            "410 abort #0",
            "410 done connected #1",
        ],
    );
}

/// A fast transport handshake changes nothing: 50 ms plus one more round trip ends before
/// the 250 ms delay.
#[test]
fn v3_6_1_5_an_early_transport_handshake_keeps_the_delay() {
    expect(
        two()
            .behavior("2001:db8::1", Behavior::Secures(ms(50), Duration::MAX))
            .default_behavior(Behavior::Connects(ms(10))),
        &[
            "0 connect #0 [2001:db8::1]:443",
            "250 connect #1 192.0.2.1:443",
            "260 abort #0",
            "260 done connected #1",
        ],
    );
}

/// HE-5.12: the extension stops at the maximum Connection Attempt Delay (2 s) from the
/// attempt's start: a 1.5 s delay, TCP done at 1.4 s, the next attempt at 2 s, not 2.8 s.
#[test]
fn v3_6_1_5_the_extension_stops_at_the_maximum_delay() {
    expect(
        two()
            .config(config(|c| c.connection_attempt_delay = ms(1500)))
            .behavior("2001:db8::1", Behavior::Secures(ms(1400), Duration::MAX))
            .default_behavior(Behavior::Connects(ms(10))),
        &[
            "0 connect #0 [2001:db8::1]:443",
            "2000 connect #1 192.0.2.1:443",
            "2010 abort #0",
            "2010 done connected #1",
        ],
    );
}

/// Progress on an attempt that is not the latest moves nothing: the next start runs from
/// the latest attempt's own delay.
#[test]
fn v3_6_1_5_only_the_latest_attempt_holds_the_timer() {
    let three = Scenario::target(
        Target::addresses([
            sa("[2001:db8::1]:443"),
            sa("192.0.2.1:443"),
            sa("[2001:db8::2]:443"),
        ])
        .unwrap(),
    );
    expect(
        three
            .behavior("2001:db8::1", Behavior::Secures(ms(300), Duration::MAX))
            .default_behavior(Behavior::BlackHole)
            .config(config(|c| c.overall_timeout = Some(ms(600)))),
        &[
            "0 connect #0 [2001:db8::1]:443",
            "250 connect #1 192.0.2.1:443",
            "500 connect #2 [2001:db8::2]:443",
            "600 abort #0",
            "600 abort #1",
            "600 abort #2",
            "600 done failed: the overall timeout ran out",
        ],
    );
}

/// Progress is recorded once, the first report counting, and ignored after the race.
#[test]
fn progress_is_recorded_once_and_not_after_the_race() {
    let t0 = Instant::now();
    let target = Target::addresses([sa("192.0.2.1:443")]).unwrap();
    let mut engine = Engine::new(target, Config::default(), t0).unwrap();
    let id = std::iter::from_fn(|| engine.poll_action())
        .find_map(|action| match action {
            Action::Connect { id, .. } => Some(id),
            _ => None,
        })
        .expect("the first attempt starts at once");
    engine.handle_progress(t0 + ms(5), id).unwrap();
    engine.handle_progress(t0 + ms(9), id).unwrap();
    assert_eq!(engine.report().attempts[0].transport_done, Some(t0 + ms(5)));
    engine.cancel(t0 + ms(10));
    engine.handle_progress(t0 + ms(11), id).unwrap();
    assert_eq!(engine.report().attempts[0].transport_done, Some(t0 + ms(5)));
}
