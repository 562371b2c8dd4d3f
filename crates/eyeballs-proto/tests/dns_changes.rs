//! RFC 8305 §6, DNS answer changes during the race: HE-6.1 … HE-6.3, V3-7.3.

mod common;

use common::*;
use eyeballs_proto::sim::{Behavior, Scenario};
use eyeballs_proto::{DnsResult, RecordType};

use RecordType::{Aaaa, A};

fn host() -> Scenario {
    Scenario::host("example.test", 443)
}

#[test]
fn he_6_1_removed_address_in_flight_carries_on_and_can_win() {
    expect(
        host()
            .answer(Aaaa, ms(0), ["2001:db8::a", "2001:db8::b"])
            .dns(A, ms(0), DnsResult::NoData)
            .answer(Aaaa, ms(100), ["2001:db8::b"])
            .behavior("2001:db8::a", Behavior::Connects(ms(200))),
        &[
            "0 resolve q0 AAAA",
            "0 resolve q1 A",
            "0 connect #0 [2001:db8::a]:443",
            "200 done connected #0",
        ],
    );
}

#[test]
fn he_6_2_removed_address_not_yet_attempted_is_never_attempted() {
    expect(
        host()
            .config(config(|c| c.overall_timeout = Some(ms(1000))))
            .answer(Aaaa, ms(0), ["2001:db8::a", "2001:db8::b"])
            .dns(A, ms(0), DnsResult::NoData)
            .answer(Aaaa, ms(100), ["2001:db8::a"]),
        &[
            "0 resolve q0 AAAA",
            "0 resolve q1 A",
            "0 connect #0 [2001:db8::a]:443",
            "1000 abort #0",
            "1000 done failed: the overall timeout ran out",
        ],
    );
}

#[test]
fn he_6_3_and_v3_7_3_added_ipv4_goes_next_ahead_of_remaining_ipv6() {
    expect(
        host()
            .config(config(|c| c.overall_timeout = Some(ms(800))))
            .answer(Aaaa, ms(0), ["2001:db8::a", "2001:db8::b", "2001:db8::c"])
            .answer(A, ms(100), ["192.0.2.1"]),
        &[
            "0 resolve q0 AAAA",
            "0 resolve q1 A",
            "0 connect #0 [2001:db8::a]:443",
            "250 connect #1 192.0.2.1:443",
            "500 connect #2 [2001:db8::b]:443",
            "750 connect #3 [2001:db8::c]:443",
            "800 abort #0",
            "800 abort #1",
            "800 abort #2",
            "800 abort #3",
            "800 done failed: the overall timeout ran out",
        ],
    );
}

#[test]
fn he_6_3_update_adds_a_new_address_to_the_untried_list() {
    expect(
        host()
            .answer(Aaaa, ms(0), ["2001:db8::a"])
            .dns(A, ms(0), DnsResult::NoData)
            .answer(Aaaa, ms(300), ["2001:db8::a", "2001:db8::f"])
            .behavior("2001:db8::f", Behavior::Connects(ms(5))),
        &[
            "0 resolve q0 AAAA",
            "0 resolve q1 A",
            "0 connect #0 [2001:db8::a]:443",
            "300 connect #1 [2001:db8::f]:443",
            "305 abort #0",
            "305 done connected #1",
        ],
    );
}

#[test]
fn failed_update_keeps_the_earlier_answer() {
    expect(
        host()
            .answer(Aaaa, ms(0), ["2001:db8::a", "2001:db8::b"])
            .dns(A, ms(0), DnsResult::NoData)
            .dns(Aaaa, ms(100), DnsResult::ServFail)
            .behavior("2001:db8::b", Behavior::Connects(ms(5))),
        &[
            "0 resolve q0 AAAA",
            "0 resolve q1 A",
            "0 connect #0 [2001:db8::a]:443",
            "250 connect #1 [2001:db8::b]:443",
            "255 abort #0",
            "255 done connected #1",
        ],
    );
}

#[test]
fn negative_update_removes_every_untried_address_of_that_query() {
    expect(
        host()
            .config(config(|c| c.overall_timeout = Some(ms(600))))
            .answer(Aaaa, ms(0), ["2001:db8::a", "2001:db8::b"])
            .answer(A, ms(0), ["192.0.2.1"])
            .dns(Aaaa, ms(100), DnsResult::NxDomain),
        &[
            "0 resolve q0 AAAA",
            "0 resolve q1 A",
            "0 connect #0 [2001:db8::a]:443",
            "250 connect #1 192.0.2.1:443",
            "600 abort #0",
            "600 abort #1",
            "600 done failed: the overall timeout ran out",
        ],
    );
}
