//! Cancellation mid-race and late winners in the network lab leave no descriptor open, on
//! the client (the process's fds; the lab's server threads share the process, so counts are
//! polled until their side closes too) or the server (its count of open connections). One
//! test, so nothing else in this binary opens descriptors meanwhile.

mod common;

#[path = "common/lab.rs"]
mod lab;

use std::time::Duration;

use common::open_fds;
use eyeballs::Connector;
use eyeballs_lab::Behavior;
use lab::*;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn cancelled_races_and_late_winners_leave_nothing_open() {
    let Some(lab) = lab(
        "cancelled_races_and_late_winners_leave_nothing_open",
        &[
            // Both handshakes complete at about 260 ms: one wins, the other is a late winner
            // (or is aborted in the same instant) and must be closed.
            (V6A, Behavior::Delay(ms(260))),
            (V4A, Behavior::Delay(ms(10))),
            (V6B, Behavior::BlackHole),
            (V4B, Behavior::BlackHole),
        ],
    ) else {
        return;
    };
    let lab_ref = &lab;
    lab.run_in_client(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let connector = Connector::new();
            // The history store opens its network watch (one descriptor, kept while the
            // store lives) when it first learns something: before the baseline.
            drop(connector.connect_addrs([sock(V4A)]).await.unwrap());
            eventually("the warm-up connection closed", || {
                lab_ref.open_count(ip(V4A)) == 0
            });
            let baseline = open_fds();

            // Cancelled mid-race, two attempts in flight.
            let race = connector.connect_addrs([sock(V6B), sock(V4B)]);
            assert!(tokio::time::timeout(ms(300), race).await.is_err());
            // Black holes: no server side, so the count is exact at once.
            assert_eq!(open_fds(), baseline, "after a cancelled race");

            // Races whose two attempts connect at about the same instant.
            let mut winners = std::collections::HashMap::new();
            for _ in 0..10 {
                let c = connector
                    .connect_addrs([sock(V6A), sock(V4A)])
                    .await
                    .unwrap();
                *winners.entry(c.report().winner().unwrap()).or_insert(0) += 1;
                // While the winner is open, the server holds exactly one connection of it.
                eventually("only the winner stays open", || {
                    lab_ref.open_count(ip(V6A)) + lab_ref.open_count(ip(V4A)) == 1
                });
                drop(c);
                // The lab's server threads live in this process too: their end of each
                // connection closes a moment after the client's, so poll.
                eventually(
                    "descriptors back to the baseline after a late winner",
                    || open_fds() == baseline,
                );
            }
            eventually("every connection closed", || {
                lab_ref.open_count(ip(V6A)) + lab_ref.open_count(ip(V4A)) == 0
            });
            eprintln!("winners over 10 near-simultaneous races: {winners:?}");
        })
    })
    .unwrap();
}
