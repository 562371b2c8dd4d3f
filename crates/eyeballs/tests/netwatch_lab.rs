//! `history::NetworkWatch` in the network lab (root; skips otherwise, fails under
//! `CI=true`): every kind of change it reports (HE-4.6, V3-5.3.5) and the notifications it
//! must not take for one, made with `ip -n <client namespace>` while a watch created inside
//! the client namespace looks on. The lab's client namespace is quiet, so "no change" can be
//! asserted there (not in the machine's own namespace). Only the lab's client namespace is
//! changed: addresses from `2001:db8::/32` and `198.18.0.0/15` the lab does not use, a veth
//! pair, blackhole routes (which send nothing anywhere).
#![cfg(target_os = "linux")]

use std::process::Command;
use std::time::{Duration, Instant};

use eyeballs::history::NetworkWatch;
use eyeballs_lab::Lab;
use netlink_packet_core::NetlinkBuffer;
use netlink_sys::{protocols::NETLINK_ROUTE, Socket};

/// The client's end of the veth pair (crates/eyeballs-lab/src/lib.rs).
const CLIENT_IF: &str = "lab0";
/// Addresses the lab does not use (its client has 198.19.0.1 and 2001:db8:ffff::1).
const EXTRA_V6: &str = "2001:db8:eeee::1";
const EXTRA_V4: &str = "198.18.200.1";
/// `RTM_NEWADDR` (`<linux/rtnetlink.h>`).
const RTM_NEWADDR: u16 = 20;
/// `RTNLGRP_IPV4_IFADDR`, `RTNLGRP_IPV6_IFADDR` (`<linux/rtnetlink.h>`).
const ADDRESS_GROUPS: [u32; 2] = [5, 9];

/// Runs `ip -n <ns> <args>`; panics (failing the test) if it fails.
fn ip(ns: &str, args: &str) {
    let out = Command::new("ip")
        .args(["-n", ns])
        .args(args.split_whitespace())
        .output()
        .expect("runs ip");
    assert!(
        out.status.success(),
        "ip -n {ns} {args}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Polls the watch for up to a second; whether it saw a change.
fn changes_within_a_second(watch: &mut NetworkWatch) -> bool {
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        if watch.changed() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Lets asynchronous follow-ups (IPv6 link-local addresses, operstate updates) arrive, and
/// drains them.
fn settle(watch: &mut NetworkWatch) {
    std::thread::sleep(Duration::from_millis(300));
    let _ = watch.changed();
}

/// The `RTM_NEWADDR` messages queued on a witness socket: what the kernel actually emitted.
fn new_addr_messages(witness: &Socket) -> usize {
    let mut buf = vec![0u8; 32 * 1024];
    let mut count = 0;
    loop {
        match witness.recv(&mut &mut buf[..], 0) {
            Ok(n) => {
                let mut data = &buf[..n];
                while let Ok(msg) = NetlinkBuffer::new_checked(data) {
                    if msg.message_type() == RTM_NEWADDR {
                        count += 1;
                    }
                    let len = (msg.length() as usize + 3) & !3;
                    data = data.get(len..).unwrap_or_default();
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return count,
            Err(e) => panic!("witness socket: {e}"),
        }
    }
}

fn witness() -> Socket {
    let mut s = Socket::new(NETLINK_ROUTE).unwrap();
    s.bind_auto().unwrap();
    for g in ADDRESS_GROUPS {
        s.add_membership(g).unwrap();
    }
    s.set_non_blocking(true).unwrap();
    s
}

/// HE-4.6 / V3-5.3.5: addresses added and removed, links going up and down and default
/// routes coming and going are changes; quiet time, a link created down and non-default
/// routes are not.
#[test]
fn he_4_6_network_changes_in_the_namespace_are_seen() {
    if !eyeballs_lab::require_root("he_4_6_network_changes_in_the_namespace_are_seen") {
        return;
    }
    let lab = Lab::builder().start().unwrap();
    let ns = lab.client_netns().to_owned();
    lab.run_in_client(move || {
        let mut watch = NetworkWatch::new().expect("a watch in the client namespace");
        std::thread::sleep(Duration::from_millis(200));
        assert!(!watch.changed(), "a quiet namespace: no change");

        // An address added (IPv6, then IPv4), then removed.
        for (addr, plen, extra) in [(EXTRA_V6, 128, " nodad"), (EXTRA_V4, 32, "")] {
            ip(
                &ns,
                &format!("addr add {addr}/{plen} dev {CLIENT_IF}{extra}"),
            );
            assert!(changes_within_a_second(&mut watch), "{addr} added");
            std::thread::sleep(Duration::from_millis(100));
            assert!(!watch.changed(), "{addr} added: reported once");
            ip(&ns, &format!("addr del {addr}/{plen} dev {CLIENT_IF}"));
            assert!(changes_within_a_second(&mut watch), "{addr} removed");
            std::thread::sleep(Duration::from_millis(100));
            assert!(!watch.changed(), "{addr} removed: reported once");
        }

        // A link: created down (RTM_NEWLINKs that flip nothing), up, down. A veth pair
        // inside the client namespace (this kernel has no dummy driver): one end up is a
        // flip of IFF_UP, the peer up then gives both ends IFF_RUNNING (carrier).
        ip(&ns, "link add eyb-dummy type veth peer name eyb-peer");
        std::thread::sleep(Duration::from_millis(100));
        assert!(!watch.changed(), "links created down are not a change");
        ip(&ns, "link set eyb-dummy up");
        assert!(
            changes_within_a_second(&mut watch),
            "link up (no carrier yet)"
        );
        settle(&mut watch);
        ip(&ns, "link set eyb-peer up");
        assert!(changes_within_a_second(&mut watch), "carrier: running");
        settle(&mut watch);
        assert!(!watch.changed(), "settled");
        ip(&ns, "link set eyb-dummy down");
        assert!(changes_within_a_second(&mut watch), "link down");
        settle(&mut watch);
        ip(&ns, "link del eyb-dummy");
        settle(&mut watch);
        assert!(!watch.changed(), "settled");

        // Routes: a default route (either family) is a change, another prefix is not.
        // Blackhole routes: nothing is ever sent along them.
        ip(&ns, "route add blackhole 198.18.77.0/24");
        ip(&ns, "-6 route add blackhole 2001:db8:77::/48");
        std::thread::sleep(Duration::from_millis(100));
        assert!(!watch.changed(), "non-default routes are not a change");
        for family in ["-4", "-6"] {
            ip(&ns, &format!("{family} route add blackhole default"));
            assert!(
                changes_within_a_second(&mut watch),
                "{family} default route added"
            );
            ip(&ns, &format!("{family} route del blackhole default"));
            assert!(
                changes_within_a_second(&mut watch),
                "{family} default route removed"
            );
        }

        // Nothing queued: one recv returning EAGAIN per call.
        let calls = 10_000;
        let start = Instant::now();
        for _ in 0..calls {
            assert!(!watch.changed());
        }
        let per_call = start.elapsed() / calls;
        eprintln!("NetworkWatch::changed() with nothing queued: {per_call:?} per call");
        assert!(
            per_call < Duration::from_micros(100),
            "{per_call:?} per call"
        );
    })
    .unwrap();
}

/// HE-4.6: a lifetime refresh of a known address (`ip addr change ... valid_lft`) is not a
/// change. The kernel does emit an `RTM_NEWADDR` for each refresh (a witness socket counts
/// them), for addresses present when the watch was made and for ones added later.
#[test]
fn he_4_6_address_lifetime_refreshes_are_not_changes() {
    if !eyeballs_lab::require_root("he_4_6_address_lifetime_refreshes_are_not_changes") {
        return;
    }
    let lab = Lab::builder().start().unwrap();
    let ns = lab.client_netns().to_owned();
    let v6 = format!("{EXTRA_V6}/128");
    let v4 = format!("{EXTRA_V4}/32");
    // Present before the watch exists: learnt from the initial dump.
    ip(
        &ns,
        &format!("addr add {v6} dev {CLIENT_IF} nodad valid_lft 600 preferred_lft 600"),
    );
    lab.run_in_client(move || {
        let witness = witness();
        let mut watch = NetworkWatch::new().expect("a watch in the client namespace");
        std::thread::sleep(Duration::from_millis(100));
        assert!(!watch.changed(), "quiet");
        // Added after: a change once, then known.
        ip(
            &ns,
            &format!("addr add {v4} dev {CLIENT_IF} valid_lft 600 preferred_lft 600"),
        );
        assert!(changes_within_a_second(&mut watch), "{v4} added");
        std::thread::sleep(Duration::from_millis(100));
        assert!(!watch.changed());
        let _ = new_addr_messages(&witness);

        for addr in [&v6, &v4] {
            for lifetime in [300, 200] {
                ip(
                    &ns,
                    &format!(
                        "addr change {addr} dev {CLIENT_IF} valid_lft {lifetime} \
                         preferred_lft {lifetime}"
                    ),
                );
                std::thread::sleep(Duration::from_millis(100));
                let emitted = new_addr_messages(&witness);
                assert!(
                    emitted >= 1,
                    "{addr}: the kernel emits RTM_NEWADDR for a lifetime refresh"
                );
                assert!(
                    !watch.changed(),
                    "{addr} refreshed to {lifetime}s ({emitted} RTM_NEWADDR): not a change"
                );
            }
        }
        // Still watching: removing it is a change.
        ip(&ns, &format!("addr del {v6} dev {CLIENT_IF}"));
        assert!(changes_within_a_second(&mut watch), "{v6} removed");
    })
    .unwrap();
}

/// Lost notifications (ENOBUFS: thousands of addresses added at once overflow the
/// socket's buffer) are a change; the watch re-reads the tables, so afterwards it is exact
/// again: quiet, and a refresh of one of those addresses is no change.
#[test]
fn he_4_6_lost_notifications_are_a_change_then_resynchronised() {
    if !eyeballs_lab::require_root("he_4_6_lost_notifications_are_a_change_then_resynchronised") {
        return;
    }
    let lab = Lab::builder().start().unwrap();
    let ns = lab.client_netns().to_owned();
    lab.run_in_client(move || {
        let mut watch = NetworkWatch::new().expect("a watch in the client namespace");
        std::thread::sleep(Duration::from_millis(100));
        assert!(!watch.changed(), "quiet");
        // 4096 addresses in 198.18.208.0/20: far more notifications than the socket queues.
        let mut batch = String::new();
        for i in 0..4096u32 {
            batch.push_str(&format!(
                "addr add 198.18.{}.{}/32 dev {CLIENT_IF}\n",
                208 + i / 256,
                i % 256
            ));
        }
        let mut child = Command::new("ip")
            .args(["-n", &ns, "-batch", "-"])
            .stdin(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), batch.as_bytes()).unwrap();
        assert!(child.wait().unwrap().success());

        assert!(watch.changed(), "thousands of addresses: a change");
        std::thread::sleep(Duration::from_millis(200));
        assert!(!watch.changed(), "resynchronised: quiet again");
        // The re-read knows the addresses whose notifications were lost.
        ip(
            &ns,
            &format!(
                "addr change 198.18.223.255/32 dev {CLIENT_IF} valid_lft 300 preferred_lft 300"
            ),
        );
        std::thread::sleep(Duration::from_millis(100));
        assert!(
            !watch.changed(),
            "a refresh of an address learnt by the re-read"
        );
        ip(&ns, &format!("addr del 198.18.223.255/32 dev {CLIENT_IF}"));
        assert!(changes_within_a_second(&mut watch), "removed");
    })
    .unwrap();
}
