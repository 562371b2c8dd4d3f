//! The tokio driver on loopback, no privileges needed: ::1 and 127.0.0.1 stand for the two
//! families, a full accept queue for a black hole, a closed port for a refusal.

mod common;

use common::*;
use eyeballs::proto::RecordType;
use eyeballs::{AttemptEnd, Connector, ErrorKind, FailureKind};
use tokio::time::Instant;

#[tokio::test]
async fn single_address_connects() {
    let (_l, addr) = accepting(V4);
    let c = Connector::new().connect_addrs([addr]).await.unwrap();
    assert_eq!(c.stream().peer_addr().unwrap(), addr);
    assert_eq!(c.report().winner(), Some(addr));
}

#[tokio::test]
async fn ipv6_black_hole_falls_back_to_ipv4_after_attempt_delay() {
    let hole = BlackHole::new(V6);
    let (_l, v4) = accepting(V4);
    let t0 = Instant::now();
    let c = Connector::new()
        .connect_addrs([hole.addr, v4])
        .await
        .unwrap();
    assert_eq!(c.report().winner(), Some(v4));
    let attempts: Vec<_> = c.report().attempts().collect();
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[0].endpoint.addr, hole.addr);
    assert_eq!(attempts[0].end, Some(AttemptEnd::Aborted));
    assert_near(attempts[1].started, ms(250), "attempts[1].started");
    assert_near(t0.elapsed(), ms(250), "t0.elapsed()");
}

#[tokio::test]
async fn ipv6_refused_falls_back_at_once() {
    let refused = refusing(V6);
    let (_l, v4) = accepting(V4);
    let c = Connector::new().connect_addrs([refused, v4]).await.unwrap();
    assert_eq!(c.report().winner(), Some(v4));
    let attempts: Vec<_> = c.report().attempts().collect();
    assert_eq!(
        attempts[0].end,
        Some(AttemptEnd::Failed(FailureKind::Refused))
    );
    assert_eq!(
        attempts[0].error.map(|e| e.kind()),
        Some(std::io::ErrorKind::ConnectionRefused)
    );
    assert_near(attempts[1].started, ms(10), "attempts[1].started");
}

#[tokio::test]
async fn host_name_through_a_resolver_prefers_ipv6() {
    let (_l6, v6) = accepting(V6);
    let resolver = ScriptedResolver::new()
        .addresses(RecordType::Aaaa, ms(0), &[V6])
        .addresses(RecordType::A, ms(0), &[V4]);
    let c = Connector::new()
        .resolver(resolver)
        .connect("dual.test", v6.port())
        .await
        .unwrap();
    assert_eq!(c.report().winner(), Some(v6));
    assert_eq!(c.report().host(), Some("dual.test"));
    let queries: Vec<_> = c.report().queries().map(|q| q.record).collect();
    assert_eq!(queries, [RecordType::Aaaa, RecordType::A]);
}

#[tokio::test]
async fn slow_aaaa_waits_resolution_delay_then_ipv4_goes() {
    let (_l4, v4) = accepting(V4);
    let resolver = ScriptedResolver::new().addresses(RecordType::A, ms(0), &[V4]);
    let t0 = Instant::now();
    let c = Connector::new()
        .resolver(resolver)
        .connect("slow-aaaa.test", v4.port())
        .await
        .unwrap();
    assert_eq!(c.report().winner(), Some(v4));
    assert_near(
        c.report().attempts().next().unwrap().started,
        ms(50),
        "first start",
    );
    assert_near(t0.elapsed(), ms(50), "t0.elapsed()");
}

#[tokio::test]
async fn every_attempt_refused_names_each_one() {
    let a = refusing(V6);
    let b = refusing(V4);
    let err = Connector::new().connect_addrs([a, b]).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AllAttemptsFailed);
    let msg = err.to_string();
    assert!(
        msg.contains(&a.to_string()) && msg.contains(&b.to_string()),
        "{msg}"
    );
    let io: std::io::Error = err.into();
    assert_eq!(io.kind(), std::io::ErrorKind::ConnectionRefused);
}

#[tokio::test]
async fn overall_timeout_with_every_address_black_holed() {
    let h6 = BlackHole::new(V6);
    let h4 = BlackHole::new(V4);
    let t0 = Instant::now();
    let err = Connector::new()
        .timeout(ms(400))
        .connect_addrs([h6.addr, h4.addr])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TimedOut);
    assert_near(t0.elapsed(), ms(400), "t0.elapsed()");
    let report = err.report().unwrap();
    let ends: Vec<_> = report.attempts().map(|a| a.end).collect();
    assert_eq!(ends, [Some(AttemptEnd::Aborted), Some(AttemptEnd::Aborted)]);
    assert!(err.to_string().contains(&h6.addr.to_string()));
    assert_eq!(
        std::io::Error::from(err).kind(),
        std::io::ErrorKind::TimedOut
    );
}

#[tokio::test]
async fn resolver_failure_is_a_typed_error() {
    use eyeballs::proto::DnsResult;
    let resolver = ScriptedResolver::new()
        .answer(RecordType::Aaaa, ms(0), DnsResult::NxDomain)
        .answer(RecordType::A, ms(0), DnsResult::NxDomain);
    let err = Connector::new()
        .resolver(resolver)
        .connect("missing.test", 80)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NoAddresses);
    assert_eq!(
        err.to_string(),
        "could not resolve missing.test:80: AAAA nxdomain, A nxdomain"
    );
    assert_eq!(
        std::io::Error::from(err).kind(),
        std::io::ErrorKind::NotFound
    );
}

#[tokio::test]
async fn resolver_that_never_answers_ends_at_resolve_timeout() {
    let t0 = Instant::now();
    let err = Connector::new()
        .resolver(ScriptedResolver::new())
        .resolve_timeout(ms(200))
        .connect("silent.test", 80)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NoAddresses);
    assert_near(t0.elapsed(), ms(200), "t0.elapsed()");
    assert!(err.to_string().contains("AAAA timeout, A timeout"), "{err}");
}

#[tokio::test]
async fn invalid_input_is_refused_before_any_io() {
    let c = Connector::new();
    for err in [
        c.connect_addrs([]).await.unwrap_err(),
        c.connect("", 80).await.unwrap_err(),
        c.connect("bad name!", 80).await.unwrap_err(),
        c.connect("example.test", 0).await.unwrap_err(),
        c.connect_ports("example.test", &[]).await.unwrap_err(),
        Connector::new()
            .attempt_delay(ms(1))
            .connect("127.0.0.1", 80)
            .await
            .unwrap_err(),
    ] {
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        assert!(err.report().is_none());
        assert_eq!(
            std::io::Error::from(err).kind(),
            std::io::ErrorKind::InvalidInput
        );
    }
}

#[tokio::test]
async fn ip_literal_needs_no_resolver() {
    let (_l, addr) = accepting(V6);
    let c = Connector::new()
        .resolver(ScriptedResolver::new())
        .connect("[::1]", addr.port())
        .await
        .unwrap();
    assert_eq!(c.report().winner(), Some(addr));
    assert_eq!(c.report().queries().count(), 0);
}

#[tokio::test]
async fn several_ports_first_port_everywhere_first() {
    let closed = refusing(V4);
    let (_l, open) = accepting(V4);
    let c = Connector::new()
        .connect_ports("127.0.0.1", &[closed.port(), open.port()])
        .await
        .unwrap();
    assert_eq!(c.report().winner(), Some(open));
    let ports: Vec<u16> = c
        .report()
        .attempts()
        .map(|a| a.endpoint.addr.port())
        .collect();
    assert_eq!(ports, [closed.port(), open.port()]);
}

#[tokio::test]
async fn local_address_binding_and_socket_hook() {
    let (_l, addr) = accepting(V4);
    let hooked = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = std::sync::Arc::clone(&hooked);
    let c = Connector::new()
        .local_addrs(["127.0.0.2".parse().unwrap()])
        .on_socket(move |socket, dest| {
            seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            assert_eq!(dest.port(), addr.port());
            socket.set_tcp_nodelay(true)
        })
        .connect_addrs([addr])
        .await
        .unwrap();
    assert_eq!(
        c.stream().local_addr().unwrap().ip(),
        "127.0.0.2".parse::<std::net::IpAddr>().unwrap()
    );
    assert!(c.stream().nodelay().unwrap());
    assert_eq!(hooked.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[tokio::test]
async fn local_address_of_the_wrong_family_fails_that_family_only() {
    let (_l6, v6) = accepting(V6);
    let (_l4, v4) = accepting(V4);
    let c = Connector::new()
        .local_addrs(["127.0.0.1".parse().unwrap()])
        .connect_addrs([v6, v4])
        .await
        .unwrap();
    // IPv6 has no local address: its source probe says unreachable (sorted last) and its
    // attempt fails to bind; IPv4 wins.
    assert_eq!(c.report().winner(), Some(v4));
}

#[tokio::test]
async fn hook_error_fails_that_attempt_only() {
    let (_l6, v6) = accepting(V6);
    let (_l4, v4) = accepting(V4);
    let c = Connector::new()
        .on_socket(|_, dest| {
            if dest.is_ipv6() {
                Err(std::io::Error::other("no IPv6 today"))
            } else {
                Ok(())
            }
        })
        .connect_addrs([v6, v4])
        .await
        .unwrap();
    assert_eq!(c.report().winner(), Some(v4));
    let first = c.report().attempts().next().unwrap();
    assert_eq!(
        first.error.map(|e| e.to_string()),
        Some("no IPv6 today".into())
    );
}

#[tokio::test]
async fn failure_message_names_attempts_and_failed_queries() {
    use eyeballs::proto::DnsResult;
    let refused = refusing(V4);
    let resolver = ScriptedResolver::new()
        .answer(RecordType::Aaaa, ms(0), DnsResult::ServFail)
        .addresses(RecordType::A, ms(0), &[V4]);
    let err = Connector::new()
        .resolver(resolver)
        .connect("half.test", refused.port())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AllAttemptsFailed);
    let msg = err.to_string();
    assert!(
        msg.starts_with(&format!(
            "could not connect to half.test:{}: every attempt failed: {refused} (at ",
            refused.port()
        )),
        "{msg}"
    );
    assert!(msg.contains("ms) Connection refused"), "{msg}");
    assert!(msg.ends_with("; AAAA query: servfail"), "{msg}");
}
