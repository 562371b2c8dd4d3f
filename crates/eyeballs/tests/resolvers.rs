//! The resolver backends.
//!
//! - `StaticResolver`: its table semantics (no root needed).
//! - `SystemResolver`: IP literals, `localhost` from `/etc/hosts` (only the families the file
//!   has: any other would be asked of the host's DNS servers), and, as root, every DNS outcome
//!   inside the lab: the test re-runs itself under `ip netns exec` (see
//!   `Lab::client_command`), where glibc's resolver asks the lab's DNS server.
//! - `HickoryResolver` (feature `hickory`, root): every outcome, timings, IPv4 and IPv6
//!   transport, against the lab's DNS server.
//!
//! Traffic rule: nothing here resolves a name that could reach the machine's real DNS
//! servers; every DNS query goes to the lab's server, inside the lab's namespaces.

use std::future::Future;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use eyeballs::resolver::RecordType::{Aaaa, A};
use eyeballs::resolver::{DnsResult, RecordType, Resolver, StaticResolver, SystemResolver};
use eyeballs_lab::{DnsBehavior, DnsRecords, Lab, RecordType as LabRecord};

/// Allowed timing error of every delay the lab emulates.
const TOLERANCE: Duration = Duration::from_millis(25);

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// A positive answer with these addresses, in this order.
fn answer(ips: &[&str]) -> DnsResult {
    DnsResult::addresses(ips.iter().map(|s| ip(s)))
}

fn assert_close(what: &str, got: Duration, want: Duration) {
    assert!(
        got.abs_diff(want) <= TOLERANCE,
        "{what}: took {got:?}, expected {want:?} ± {TOLERANCE:?}"
    );
}

/// Runs `lookup` and returns its result and how long it took.
async fn timed(lookup: impl Future<Output = DnsResult>) -> (DnsResult, Duration) {
    let start = Instant::now();
    let result = lookup.await;
    (result, start.elapsed())
}

fn current_thread_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

// ---------------------------------------------------------------------------------------
// StaticResolver
// ---------------------------------------------------------------------------------------

fn static_table() -> StaticResolver {
    StaticResolver::new()
        .host(
            "dual.test",
            [ip("2001:db8::1"), ip("192.0.2.1"), ip("2001:db8::2")],
        )
        .host("dual.test", [ip("192.0.2.2"), ip("2001:db8::3")])
        .host("v4only.test", [ip("192.0.2.9")])
        .host("Mixed.Case.Test.", [ip("2001:db8::9")])
        .host("empty.test", [])
}

#[tokio::test]
async fn static_resolver_answers_from_its_table() {
    let resolver = static_table();
    let cases = [
        // Each family's addresses, in the order added, across repeated `host` calls.
        (
            "dual.test",
            Aaaa,
            answer(&["2001:db8::1", "2001:db8::2", "2001:db8::3"]),
        ),
        ("dual.test", A, answer(&["192.0.2.1", "192.0.2.2"])),
        // Case-insensitive, one trailing dot ignored, both ways round.
        ("DUAL.Test.", A, answer(&["192.0.2.1", "192.0.2.2"])),
        ("mixed.case.test", Aaaa, answer(&["2001:db8::9"])),
        ("MIXED.CASE.TEST.", Aaaa, answer(&["2001:db8::9"])),
        // Known name, no address of the family: NODATA.
        ("v4only.test", Aaaa, DnsResult::NoData),
        ("v4only.test", A, answer(&["192.0.2.9"])),
        ("mixed.case.test", A, DnsResult::NoData),
        ("empty.test", Aaaa, DnsResult::NoData),
        ("empty.test", A, DnsResult::NoData),
        // Unknown names: NXDOMAIN. Only one trailing dot is ignored; literals are names.
        ("other.test", A, DnsResult::NxDomain),
        ("dual.test..", A, DnsResult::NxDomain),
        ("dual", A, DnsResult::NxDomain),
        ("192.0.2.1", A, DnsResult::NxDomain),
        ("", Aaaa, DnsResult::NxDomain),
    ];
    for (name, record, want) in cases {
        assert_eq!(resolver.lookup(name, record).await, want, "{name} {record}");
    }
    assert_eq!(
        StaticResolver::default().lookup("dual.test", A).await,
        DnsResult::NxDomain
    );
}

#[test]
fn static_resolver_answers_on_the_first_poll() {
    // No runtime at all: the future must be ready at once.
    let resolver = static_table();
    let result = futures_util::FutureExt::now_or_never(resolver.lookup("dual.test", A));
    assert_eq!(result, Some(answer(&["192.0.2.1", "192.0.2.2"])));
}

// ---------------------------------------------------------------------------------------
// SystemResolver on this host: literals and /etc/hosts only
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn system_resolver_answers_ip_literals_itself() {
    let resolver = SystemResolver::new();
    let cases = [
        ("127.0.0.1", A, answer(&["127.0.0.1"])),
        ("127.0.0.1", Aaaa, DnsResult::NoData),
        ("::1", Aaaa, answer(&["::1"])),
        ("::1", A, DnsResult::NoData),
        ("2001:db8::1", Aaaa, answer(&["2001:db8::1"])),
        ("198.18.0.1", A, answer(&["198.18.0.1"])),
        ("::ffff:192.0.2.1", Aaaa, answer(&["::ffff:192.0.2.1"])),
    ];
    for (name, record, want) in cases {
        // Answered without the blocking pool: ready on the first poll.
        let lookup = resolver.lookup(name, record);
        let got = futures_util::FutureExt::now_or_never(lookup);
        assert_eq!(got, Some(want), "{name} {record}");
    }
}

/// `localhost`'s addresses in `/etc/hosts`, in file order, and whether the `hosts` line of
/// `nsswitch.conf` starts with `files` (else even a name in `/etc/hosts` could be asked of
/// DNS servers first).
fn localhost_in_etc_hosts() -> (Vec<IpAddr>, bool) {
    let hosts = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
    let mut ips = Vec::new();
    for line in hosts.lines() {
        let line = line.split('#').next().unwrap_or("");
        let mut fields = line.split_whitespace();
        let Some(Ok(addr)) = fields.next().map(str::parse::<IpAddr>) else {
            continue;
        };
        if fields.any(|name| name.eq_ignore_ascii_case("localhost")) && !ips.contains(&addr) {
            ips.push(addr);
        }
    }
    let nsswitch = std::fs::read_to_string("/etc/nsswitch.conf").unwrap_or_default();
    let files_first = nsswitch.lines().any(|line| {
        let mut words = line.split_whitespace();
        words.next() == Some("hosts:") && words.next() == Some("files")
    });
    (ips, files_first)
}

#[tokio::test]
async fn system_resolver_finds_localhost_in_etc_hosts() {
    let (hosts, files_first) = localhost_in_etc_hosts();
    if !files_first || hosts.is_empty() {
        eprintln!(
            "SKIPPED system_resolver_finds_localhost_in_etc_hosts: /etc/hosts has no localhost \
             or nsswitch.conf does not look in files first ({hosts:?}, {files_first})"
        );
        return;
    }
    let resolver = SystemResolver::new();
    let mut asked = 0;
    for record in [Aaaa, A] {
        let mut want: Vec<IpAddr> = hosts
            .iter()
            .copied()
            .filter(|a| a.is_ipv6() == (record == Aaaa))
            .collect();
        if want.is_empty() {
            // This family is not in /etc/hosts: glibc would go on to ask the DNS servers.
            eprintln!("localhost {record}: not in /etc/hosts, not asked");
            continue;
        }
        asked += 1;
        let (got, took) = timed(resolver.lookup("localhost", record)).await;
        eprintln!("localhost {record}: {got:?} in {took:?}");
        let DnsResult::Addresses(got) = got else {
            panic!("localhost {record}: {got:?}");
        };
        // The OS may sort them (RFC 6724); compare as sets, and no duplicates.
        let mut got: Vec<IpAddr> = got.iter().map(|d| d.ip).collect();
        let n = got.len();
        got.sort();
        got.dedup();
        assert_eq!(got.len(), n, "duplicates in {got:?}");
        want.sort();
        assert_eq!(got, want, "localhost {record}");
    }
    assert!(asked > 0);
}

#[test]
fn system_resolver_outside_a_runtime_is_an_error() {
    let lookup = SystemResolver::new().lookup("localhost", A);
    assert_eq!(
        futures_util::FutureExt::now_or_never(lookup),
        Some(DnsResult::Error)
    );
}

// ---------------------------------------------------------------------------------------
// SystemResolver in the lab: a child process under `ip netns exec`
// ---------------------------------------------------------------------------------------

/// Set (to the test's name) in the child process that runs the lookups.
const CHILD_ENV: &str = "EYEBALLS_RESOLVERS_TEST_CHILD";
const SYSTEM_IN_LAB: &str = "system_resolver_outcomes_in_the_lab";

/// The lab zone shared by the system and hickory tests.
fn lab_zone() -> eyeballs_lab::LabBuilder {
    let both = || DnsRecords {
        a: vec![
            "198.18.0.10".parse().unwrap(),
            "198.18.0.11".parse().unwrap(),
        ],
        aaaa: vec!["2001:db8::10".parse().unwrap()],
    };
    Lab::builder()
        .dns("dual.test", both())
        .dns("slow6.test", both())
        .dns_behavior(
            "slow6.test",
            LabRecord::Aaaa,
            DnsBehavior::answer_after(Duration::from_millis(200)),
        )
        .dns(
            "v4only.test",
            DnsRecords {
                a: vec!["198.18.0.20".parse().unwrap()],
                aaaa: vec![],
            },
        )
        .dns("nodata.test", both())
        .dns_behavior("nodata.test", LabRecord::A, DnsBehavior::nodata())
        .dns("nx.test", both())
        .dns_behavior("nx.test", LabRecord::Aaaa, DnsBehavior::nxdomain())
        .dns_behavior("nx.test", LabRecord::A, DnsBehavior::nxdomain())
        .dns("servfail.test", both())
        .dns_behavior("servfail.test", LabRecord::Aaaa, DnsBehavior::servfail())
        .dns_behavior("servfail.test", LabRecord::A, DnsBehavior::servfail())
        .dns("never.test", both())
        .dns_behavior("never.test", LabRecord::Aaaa, DnsBehavior::never())
        .dns_behavior("never.test", LabRecord::A, DnsBehavior::never())
}

/// Positive and negative outcomes: (name, record type, expected result).
fn answered_cases() -> Vec<(&'static str, RecordType, DnsResult)> {
    vec![
        ("dual.test", Aaaa, answer(&["2001:db8::10"])),
        ("dual.test", A, answer(&["198.18.0.10", "198.18.0.11"])),
        ("v4only.test", Aaaa, DnsResult::NoData),
        ("v4only.test", A, answer(&["198.18.0.20"])),
        ("nodata.test", A, DnsResult::NoData),
        ("nx.test", Aaaa, DnsResult::NxDomain),
        ("nx.test", A, DnsResult::NxDomain),
        // Not in the lab's zone at all.
        ("unknown.test", A, DnsResult::NxDomain),
    ]
}

#[test]
fn system_resolver_outcomes_in_the_lab() {
    if std::env::var(CHILD_ENV).as_deref() == Ok(SYSTEM_IN_LAB) {
        system_resolver_child();
        return;
    }
    if !eyeballs_lab::require_root(SYSTEM_IN_LAB) {
        return;
    }
    let lab = lab_zone().start().unwrap();
    let exe = std::env::current_exe().unwrap();
    let output = lab
        .client_command(&exe)
        .unwrap()
        .args(["--exact", SYSTEM_IN_LAB, "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, SYSTEM_IN_LAB)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    eprintln!("--- child stdout ---\n{stdout}--- child stderr ---\n{stderr}---");
    assert!(output.status.success(), "child failed: {}", output.status);
    // The child really ran its one test (and not zero, as a wrong filter would).
    assert!(stdout.contains("1 passed"), "child did not run the test");

    // The lab's server saw the queries: glibc asked it, and no one else (the client
    // namespace has no route elsewhere). One family per getaddrinfo call.
    let count = |name: &str, record| lab.dns_query_count(name, record);
    assert!(count("dual.test", LabRecord::Aaaa) >= 1);
    assert!(count("dual.test", LabRecord::A) >= 1);
    assert_eq!(count("v4only.test", LabRecord::Aaaa), 1);
    assert_eq!(count("v4only.test", LabRecord::A), 1);
    assert_eq!(count("nodata.test", LabRecord::Aaaa), 0, "AAAA never asked");
    assert!(count("never.test", LabRecord::Aaaa) >= 1);
    assert_eq!(count("never.test", LabRecord::A), 0, "A never asked");
}

/// The child's half of [`system_resolver_outcomes_in_the_lab`]: inside the client namespace,
/// with `/etc/resolv.conf` pointing at the lab's DNS server.
fn system_resolver_child() {
    // Safety net for the traffic rule: stop if the resolv.conf swap did not happen.
    let resolv_conf = std::fs::read_to_string("/etc/resolv.conf").unwrap();
    assert!(
        resolv_conf
            .lines()
            .any(|l| l.trim() == "nameserver 198.18.0.53")
            && !resolv_conf
                .lines()
                .any(|l| l.starts_with("nameserver") && l.trim() != "nameserver 198.18.0.53"),
        "not the lab's resolv.conf: {resolv_conf}"
    );
    let resolver = SystemResolver::new();
    current_thread_runtime().block_on(async {
        for (name, record, want) in answered_cases() {
            let (got, took) = timed(resolver.lookup(name, record)).await;
            println!("system {name} {record}: {got:?} in {took:?}");
            assert_eq!(got, want, "{name} {record}");
            assert!(took < TOLERANCE, "{name} {record}: took {took:?}");
        }

        // The two families in parallel on the blocking pool (HE-3.4): A is not held up by
        // the AAAA answer, which the server sends 200 ms late.
        let ((aaaa, aaaa_took), (a, a_took)) = tokio::join!(
            timed(resolver.lookup("slow6.test", Aaaa)),
            timed(resolver.lookup("slow6.test", A)),
        );
        println!("system slow6.test: A {a_took:?}, AAAA {aaaa_took:?}");
        assert_eq!(a, answer(&["198.18.0.10", "198.18.0.11"]));
        assert_eq!(aaaa, answer(&["2001:db8::10"]));
        assert_close("system slow6.test A", a_took, Duration::ZERO);
        assert_close(
            "system slow6.test AAAA",
            aaaa_took,
            Duration::from_millis(200),
        );

        // EAI_AGAIN, for a SERVFAIL and for a timeout alike: ServFail (documented choice).
        let (got, took) = timed(resolver.lookup("servfail.test", A)).await;
        println!("system servfail.test A: {got:?} in {took:?}");
        assert_eq!(got, DnsResult::ServFail);
        assert!(took < TOLERANCE, "servfail took {took:?}");
        // resolv.conf: timeout:1 attempts:1.
        let (got, took) = timed(resolver.lookup("never.test", Aaaa)).await;
        println!("system never.test AAAA: {got:?} in {took:?}");
        assert_eq!(got, DnsResult::ServFail);
        assert_close("system never.test AAAA", took, Duration::from_secs(1));
    });
}

// ---------------------------------------------------------------------------------------
// HickoryResolver against the lab's DNS server
// ---------------------------------------------------------------------------------------

#[cfg(feature = "hickory")]
mod hickory {
    use super::*;
    use eyeballs::resolver::HickoryResolver;

    /// Runs `body` in the lab's client namespace on a current-thread runtime.
    fn in_client<F, Fut>(lab: &Lab, body: F)
    where
        F: FnOnce() -> Fut + Send,
        Fut: Future<Output = ()>,
    {
        lab.run_in_client(|| current_thread_runtime().block_on(body()))
            .unwrap();
    }

    #[test]
    fn hickory_answers_and_negative_results() {
        if !eyeballs_lab::require_root("hickory_answers_and_negative_results") {
            return;
        }
        let lab = lab_zone().start().unwrap();
        let server = lab.dns_server_v4();
        in_client(&lab, || async move {
            let resolver = HickoryResolver::new([server]);
            let mut cases = answered_cases();
            cases.extend([
                ("servfail.test", Aaaa, DnsResult::ServFail),
                ("servfail.test", A, DnsResult::ServFail),
                // Case-insensitive, absolute names too.
                ("DUAL.test.", Aaaa, answer(&["2001:db8::10"])),
            ]);
            for (name, record, want) in cases {
                let (got, took) = timed(resolver.lookup(name, record)).await;
                println!("hickory {name} {record}: {got:?} in {took:?}");
                assert_eq!(got, want, "{name} {record}");
                assert!(took < TOLERANCE, "{name} {record}: took {took:?}");
            }
        });
        // One query per lookup, of the asked type only: no retry after an answer (SERVFAIL
        // included), no search-list expansion. `DUAL.test.` came from hickory's cache.
        let count = |name: &str, record| lab.dns_query_count(name, record);
        assert_eq!(count("dual.test", LabRecord::Aaaa), 1);
        assert_eq!(count("dual.test", LabRecord::A), 1);
        assert_eq!(count("v4only.test", LabRecord::Aaaa), 1);
        assert_eq!(count("nodata.test", LabRecord::A), 1);
        assert_eq!(count("nodata.test", LabRecord::Aaaa), 0);
        assert_eq!(count("nx.test", LabRecord::Aaaa), 1);
        assert_eq!(count("servfail.test", LabRecord::Aaaa), 1);
        assert_eq!(count("servfail.test", LabRecord::A), 1);
        assert_eq!(count("unknown.test", LabRecord::A), 1);
        assert_eq!(count("unknown.test", LabRecord::Aaaa), 0);
    }

    #[test]
    fn hickory_families_answer_independently() {
        if !eyeballs_lab::require_root("hickory_families_answer_independently") {
            return;
        }
        let lab = lab_zone().start().unwrap();
        let server = lab.dns_server_v4();
        in_client(&lab, || async move {
            let resolver = HickoryResolver::new([server]);
            let ((aaaa, aaaa_took), (a, a_took)) = tokio::join!(
                timed(resolver.lookup("slow6.test", Aaaa)),
                timed(resolver.lookup("slow6.test", A)),
            );
            println!("hickory slow6.test: A {a:?} in {a_took:?}, AAAA {aaaa:?} in {aaaa_took:?}");
            assert_eq!(a, answer(&["198.18.0.10", "198.18.0.11"]));
            assert_eq!(aaaa, answer(&["2001:db8::10"]));
            assert_close("hickory slow6.test A", a_took, Duration::ZERO);
            assert_close(
                "hickory slow6.test AAAA",
                aaaa_took,
                Duration::from_millis(200),
            );
        });
        assert_eq!(lab.dns_query_count("slow6.test", LabRecord::Aaaa), 1);
        assert_eq!(lab.dns_query_count("slow6.test", LabRecord::A), 1);
    }

    #[test]
    fn hickory_times_out_after_timeout_times_attempts() {
        if !eyeballs_lab::require_root("hickory_times_out_after_timeout_times_attempts") {
            return;
        }
        let lab = lab_zone().start().unwrap();
        let server = lab.dns_server_v4();
        in_client(&lab, || async move {
            let timeout = Duration::from_millis(300);
            let once = HickoryResolver::new([server]).timeout(timeout).attempts(1);
            let twice = HickoryResolver::new([server]).timeout(timeout).attempts(2);
            let ((got1, took1), (got2, took2)) = tokio::join!(
                timed(once.lookup("never.test", Aaaa)),
                timed(twice.lookup("never.test", A)),
            );
            println!("hickory never.test, 1 attempt: {got1:?} in {took1:?}");
            println!("hickory never.test, 2 attempts: {got2:?} in {took2:?}");
            assert_eq!(got1, DnsResult::TimedOut);
            assert_eq!(got2, DnsResult::TimedOut);
            assert_close("hickory never.test, 1 attempt", took1, timeout);
            assert_close("hickory never.test, 2 attempts", took2, timeout * 2);
        });
        assert_eq!(lab.dns_query_count("never.test", LabRecord::Aaaa), 1);
        assert_eq!(lab.dns_query_count("never.test", LabRecord::A), 2);
    }

    #[test]
    fn hickory_over_ipv6() {
        if !eyeballs_lab::require_root("hickory_over_ipv6") {
            return;
        }
        let lab = lab_zone().start().unwrap();
        let server = lab.dns_server_v6();
        in_client(&lab, || async move {
            let resolver = HickoryResolver::new([server]);
            let cases = [
                ("dual.test", Aaaa, answer(&["2001:db8::10"])),
                ("dual.test", A, answer(&["198.18.0.10", "198.18.0.11"])),
                ("nx.test", A, DnsResult::NxDomain),
                ("nodata.test", A, DnsResult::NoData),
            ];
            for (name, record, want) in cases {
                let (got, took) = timed(resolver.lookup(name, record)).await;
                println!("hickory over IPv6 {name} {record}: {got:?} in {took:?}");
                assert_eq!(got, want, "{name} {record}");
                assert!(took < TOLERANCE, "{name} {record}: took {took:?}");
            }
        });
        assert_eq!(lab.dns_query_count("dual.test", LabRecord::Aaaa), 1);
        assert_eq!(lab.dns_query_count("dual.test", LabRecord::A), 1);
    }

    #[test]
    fn hickory_rejects_a_truncated_answer() {
        if !eyeballs_lab::require_root("hickory_rejects_a_truncated_answer") {
            return;
        }
        // 60 A records do not fit in 512 bytes: the lab's server sends what fits, with TC
        // set. hickory then asks over TCP, which the lab's server does not offer (refused):
        // an Error, not the truncated answer. (This does not show that TCP was tried: with
        // no TCP server configured, hickory fails the same way.)
        let many = DnsRecords {
            a: (1..=60)
                .map(|i| format!("198.18.1.{i}").parse().unwrap())
                .collect(),
            aaaa: vec![],
        };
        let lab = Lab::builder().dns("big.test", many).start().unwrap();
        let server = lab.dns_server_v4();
        in_client(&lab, || async move {
            let resolver = HickoryResolver::new([server]).attempts(1);
            let (got, took) = timed(resolver.lookup("big.test", A)).await;
            println!("hickory big.test A: {got:?} in {took:?}");
            assert_eq!(got, DnsResult::Error);
            assert!(took < TOLERANCE, "took {took:?}");
        });
        assert_eq!(lab.dns_query_count("big.test", LabRecord::A), 1);
    }

    /// Answers that need no query: IP literals and RFC 6761 names. The resolver has no name
    /// server, so no traffic is possible and any query would fail with `Error`.
    #[tokio::test]
    async fn hickory_answers_literals_and_special_names_without_a_query() {
        let resolver = HickoryResolver::new([]);
        let cases = [
            ("192.0.2.1", A, answer(&["192.0.2.1"])),
            ("192.0.2.1", Aaaa, DnsResult::NoData),
            ("2001:db8::1", Aaaa, answer(&["2001:db8::1"])),
            ("2001:db8::1", A, DnsResult::NoData),
            ("localhost", Aaaa, answer(&["::1"])),
            ("localhost", A, answer(&["127.0.0.1"])),
            ("name.invalid", A, DnsResult::NxDomain),
            // A real name, but no server to ask.
            ("dual.test", A, DnsResult::Error),
        ];
        for (name, record, want) in cases {
            assert_eq!(resolver.lookup(name, record).await, want, "{name} {record}");
        }
    }
}
