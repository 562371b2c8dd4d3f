//! The tokio driver against the real kernel, in the network lab (root; skipped with a message
//! otherwise, required under CI=true). Pre-resolved addresses; DNS scenarios are in
//! `lab_dns.rs`. Offsets within 25 ms of the schedule.

mod common;

#[path = "common/lab.rs"]
mod lab;

use std::time::Duration;

use eyeballs::{AttemptEnd, Connector, ErrorKind, FailureKind};
use eyeballs_lab::Behavior;
use lab::*;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn both_families_fine_ipv6_wins_at_once() {
    let Some(lab) = lab(
        "both_families_fine_ipv6_wins_at_once",
        &[(V6A, Behavior::Accept), (V4A, Behavior::Accept)],
    ) else {
        return;
    };
    let ran = run(&lab, Connector::new(), |c| async move {
        c.connect_addrs([sock(V4A), sock(V6A)]).await
    });
    assert_eq!(ran.winner, Some(sock(V6A)), "{ran:?}");
    ran.assert_schedule(&[(sock(V6A), 0)]);
    assert_near(ran.elapsed, ms(0), "connect time");
}

#[test]
fn ipv6_black_hole_ipv4_wins_after_attempt_delay() {
    let Some(lab) = lab(
        "ipv6_black_hole_ipv4_wins_after_attempt_delay",
        &[(V6A, Behavior::BlackHole), (V4A, Behavior::Accept)],
    ) else {
        return;
    };
    let ran = run(&lab, Connector::new(), |c| async move {
        c.connect_addrs([sock(V6A), sock(V4A)]).await
    });
    assert_eq!(ran.winner, Some(sock(V4A)), "{ran:?}");
    ran.assert_schedule(&[(sock(V6A), 0), (sock(V4A), 250)]);
    assert_eq!(ran.attempts[0].2, Some(AttemptEnd::Aborted));
    assert_near(ran.elapsed, ms(250), "connect time");
}

#[test]
fn ipv6_refused_ipv4_wins_at_the_floor() {
    let Some(lab) = lab(
        "ipv6_refused_ipv4_wins_at_the_floor",
        &[(V6A, Behavior::Refuse), (V4A, Behavior::Accept)],
    ) else {
        return;
    };
    let ran = run(&lab, Connector::new(), |c| async move {
        c.connect_addrs([sock(V6A), sock(V4A)]).await
    });
    assert_eq!(ran.winner, Some(sock(V4A)), "{ran:?}");
    ran.assert_schedule(&[(sock(V6A), 0), (sock(V4A), 10)]);
    assert_eq!(
        ran.attempts[0].2,
        Some(AttemptEnd::Failed(FailureKind::Refused))
    );
}

#[test]
fn ipv6_unreachable_ipv4_wins_at_the_floor() {
    let Some(lab) = lab(
        "ipv6_unreachable_ipv4_wins_at_the_floor",
        &[(V6A, Behavior::Unreachable), (V4A, Behavior::Accept)],
    ) else {
        return;
    };
    let ran = run(&lab, Connector::new(), |c| async move {
        c.connect_addrs([sock(V6A), sock(V4A)]).await
    });
    assert_eq!(ran.winner, Some(sock(V4A)), "{ran:?}");
    ran.assert_schedule(&[(sock(V6A), 0), (sock(V4A), 10)]);
    assert_eq!(
        ran.attempts[0].2,
        Some(AttemptEnd::Failed(FailureKind::Unreachable))
    );
}

#[test]
fn ipv6_delayed_300ms_ipv4_wins_at_250ms() {
    let Some(lab) = lab(
        "ipv6_delayed_300ms_ipv4_wins_at_250ms",
        &[(V6A, Behavior::Delay(ms(300))), (V4A, Behavior::Accept)],
    ) else {
        return;
    };
    let ran = run(&lab, Connector::new(), |c| async move {
        c.connect_addrs([sock(V6A), sock(V4A)]).await
    });
    assert_eq!(ran.winner, Some(sock(V4A)), "{ran:?}");
    ran.assert_schedule(&[(sock(V6A), 0), (sock(V4A), 250)]);
    assert_near(ran.elapsed, ms(250), "connect time");
    // The loser was closed: the server sees no open connection from it.
    eventually("the late IPv6 connection is closed", || {
        lab.open_count(ip(V6A)) == 0
    });
}

#[test]
fn ipv6_delayed_100ms_beats_ipv4_delayed_300ms() {
    let Some(lab) = lab(
        "ipv6_delayed_100ms_beats_ipv4_delayed_300ms",
        &[
            (V6A, Behavior::Delay(ms(100))),
            (V4A, Behavior::Delay(ms(300))),
        ],
    ) else {
        return;
    };
    let ran = run(&lab, Connector::new(), |c| async move {
        c.connect_addrs([sock(V6A), sock(V4A)]).await
    });
    assert_eq!(ran.winner, Some(sock(V6A)), "{ran:?}");
    ran.assert_schedule(&[(sock(V6A), 0)]);
    assert_near(ran.elapsed, ms(100), "connect time");
}

#[test]
fn everything_black_holed_times_out_naming_every_attempt() {
    let Some(lab) = lab(
        "everything_black_holed_times_out_naming_every_attempt",
        &[
            (V6A, Behavior::BlackHole),
            (V4A, Behavior::BlackHole),
            (V6B, Behavior::BlackHole),
        ],
    ) else {
        return;
    };
    let ran = run(&lab, Connector::new().timeout(ms(700)), |c| async move {
        c.connect_addrs([sock(V6A), sock(V4A), sock(V6B)]).await
    });
    ran.assert_schedule(&[(sock(V6A), 0), (sock(V4A), 250), (sock(V6B), 500)]);
    let (kind, message, io_kind) = ran.error.clone().expect("an error");
    assert_eq!(kind, ErrorKind::TimedOut);
    assert_eq!(io_kind, std::io::ErrorKind::TimedOut);
    for addr in [V6A, V4A, V6B] {
        assert!(message.contains(&sock(addr).to_string()), "{message}");
    }
    assert_near(ran.elapsed, ms(700), "time to the error");
}

#[test]
fn several_addresses_per_family_interleaved() {
    let Some(lab) = lab(
        "several_addresses_per_family_interleaved",
        &[
            (V6A, Behavior::BlackHole),
            (V6B, Behavior::BlackHole),
            (V4A, Behavior::BlackHole),
            (V4B, Behavior::Accept),
        ],
    ) else {
        return;
    };
    let ran = run(&lab, Connector::new(), |c| async move {
        c.connect_addrs([sock(V6A), sock(V6B), sock(V4A), sock(V4B)])
            .await
    });
    assert_eq!(ran.winner, Some(sock(V4B)), "{ran:?}");
    ran.assert_schedule(&[
        (sock(V6A), 0),
        (sock(V4A), 250),
        (sock(V6B), 500),
        (sock(V4B), 750),
    ]);
}

#[test]
fn pre_resolved_addresses_with_several_ports() {
    let Some(lab) = lab(
        "pre_resolved_addresses_with_several_ports",
        &[(V6A, Behavior::Accept), (V4A, Behavior::Accept)],
    ) else {
        return;
    };
    // Nothing listens on port 81: refused at once, then the next endpoint.
    let v6_81 = std::net::SocketAddr::new(ip(V6A), 81);
    let ran = run(&lab, Connector::new(), |c| async move {
        c.connect_addrs([v6_81, sock(V4A)]).await
    });
    assert_eq!(ran.winner, Some(sock(V4A)), "{ran:?}");
    ran.assert_schedule(&[(v6_81, 0), (sock(V4A), 10)]);
    // A literal on two ports, the first closed.
    let ran = run(&lab, Connector::new(), |c| async move {
        c.connect_ports(V6A, &[81, PORT]).await
    });
    assert_eq!(ran.winner, Some(sock(V6A)), "{ran:?}");
    ran.assert_schedule(&[(v6_81, 0), (sock(V6A), 10)]);
}

#[test]
fn local_binding_tries_the_next_address_on_a_bind_error() {
    let Some(lab) = lab(
        "local_binding_tries_the_next_address_on_a_bind_error",
        &[(V4A, Behavior::Accept)],
    ) else {
        return;
    };
    let client = lab.client_v4();
    let unassigned = ip("198.19.0.99");
    let ran = lab.run_in_client(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let c = Connector::new()
                .local_addrs([unassigned, client])
                .connect_addrs([sock(V4A)])
                .await
                .unwrap();
            c.stream().local_addr().unwrap().ip()
        })
    });
    assert_eq!(ran.unwrap(), client);
}
