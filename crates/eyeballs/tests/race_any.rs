//! The race over any kind of attempt (`Connector::race`): success is whatever the attempt
//! says, here "TCP connected and the server greeted us" (as TLS-done would be, V3-6.1.3).

mod common;

use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use common::*;
use eyeballs::{AttemptEnd, Connector, ErrorKind};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// A server that accepts every connection and greets it with `HELLO`, or (`greet = false`)
/// accepts and says nothing: the TCP handshake succeeds but the protocol never does.
fn server(ip: std::net::IpAddr, greet: bool) -> SocketAddr {
    let listener = TcpListener::bind(SocketAddr::new(ip, 0)).unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        let mut held = Vec::new();
        for mut conn in listener.incoming().flatten() {
            if greet {
                let _ = conn.write_all(b"HELLO");
            }
            held.push(conn);
        }
    });
    addr
}

#[derive(Debug)]
struct BadGreeting;

impl std::fmt::Display for BadGreeting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("unexpected greeting")
    }
}

impl std::error::Error for BadGreeting {}

/// Connects, then waits for the greeting: only then is the attempt a success.
async fn greeted(
    tcp: impl std::future::Future<Output = std::io::Result<TcpStream>>,
) -> Result<TcpStream, Box<dyn std::error::Error + Send + Sync>> {
    let mut stream = tcp.await?;
    let mut buf = [0u8; 5];
    stream.read_exact(&mut buf).await?;
    if &buf != b"HELLO" {
        return Err(Box::new(BadGreeting));
    }
    Ok(stream)
}

#[tokio::test]
async fn v3_6_1_3_tcp_without_the_protocol_does_not_win() {
    let silent = server(V6, false);
    let greeting = server(V4, true);
    let connector = Connector::new();
    let tcp = connector.clone();
    let won = connector
        .race_addrs([silent, greeting], move |addr| {
            greeted(tcp.tcp_connect(addr))
        })
        .await
        .unwrap();
    assert_eq!(won.report().winner(), Some(greeting));
    let attempts: Vec<_> = won.report().attempts().collect();
    assert_eq!(attempts[0].end, Some(AttemptEnd::Aborted));
    let started = attempts[1].started;
    assert!(started >= ms(240) && started <= ms(275), "{started:?}");
}

#[tokio::test]
async fn every_failure_comes_back_in_the_error() {
    let a = refusing(V6);
    let b = server(V4, false);
    let connector = Connector::new().attempt_timeout(ms(100));
    let tcp = connector.clone();
    let err = connector
        .race_addrs([a, b], move |addr| {
            let tcp = tcp.tcp_connect(addr);
            async move {
                let _stream = tcp.await?;
                Err::<TcpStream, Box<dyn std::error::Error + Send + Sync>>(Box::new(BadGreeting))
            }
        })
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AllAttemptsFailed);
    let report = err.report().unwrap();
    let errors: Vec<_> = report
        .attempts()
        .map(|a| a.error.map(|e| e.to_string()))
        .collect();
    assert_eq!(errors.len(), 2);
    assert!(
        errors[0].as_deref().unwrap().contains("refused"),
        "{errors:?}"
    );
    // A caller's own error type survives, wrapped in an io::Error.
    let second = report.attempts().nth(1).unwrap().error.unwrap();
    assert!(second
        .get_ref()
        .unwrap()
        .downcast_ref::<BadGreeting>()
        .is_some());
}

/// Counts live values: attempts' results dropped by the race are really dropped.
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn losers_and_cancelled_attempts_are_dropped() {
    let live = Arc::new(AtomicUsize::new(0));
    // Attempt 0 finishes at 300 ms, attempt 1 (started at 250 ms) at 260 ms: 1 wins, 0 is
    // dropped unfinished; nothing of attempt 0 stays alive.
    let addrs: Vec<SocketAddr> = vec!["[::1]:9".parse().unwrap(), "127.0.0.1:9".parse().unwrap()];
    let counter = Arc::clone(&live);
    let won = Connector::new()
        .race_addrs(addrs.clone(), move |addr| {
            let counter = Arc::clone(&counter);
            counter.fetch_add(1, Ordering::SeqCst);
            let guard = Counted(counter);
            async move {
                let wait = if addr.is_ipv6() { ms(300) } else { ms(10) };
                tokio::time::sleep(wait).await;
                Ok::<_, std::io::Error>(guard)
            }
        })
        .await
        .unwrap();
    assert_eq!(won.report().winner(), Some(addrs[1]));
    assert_eq!(live.load(Ordering::SeqCst), 1, "only the winner is alive");
    drop(won);
    assert_eq!(live.load(Ordering::SeqCst), 0);

    // Dropping the race future drops every attempt in flight.
    let counter = Arc::clone(&live);
    let connector = Connector::new();
    let race = connector.race_addrs(addrs, move |_| {
        let counter = Arc::clone(&counter);
        counter.fetch_add(1, Ordering::SeqCst);
        let guard = Counted(counter);
        async move {
            std::future::pending::<()>().await;
            Ok::<_, std::io::Error>(guard)
        }
    });
    assert!(tokio::time::timeout(ms(400), race).await.is_err());
    assert_eq!(live.load(Ordering::SeqCst), 0, "cancelled attempts dropped");
}

#[tokio::test]
async fn race_by_name_uses_the_resolver() {
    let greeting = server(V4, true);
    let resolver = ScriptedResolver::new()
        .addresses(eyeballs::proto::RecordType::Aaaa, Duration::ZERO, &[])
        .addresses(eyeballs::proto::RecordType::A, Duration::ZERO, &[V4]);
    let connector = Connector::new().resolver(resolver);
    let tcp = connector.clone();
    let won = connector
        .race("greeter.test", greeting.port(), move |addr| {
            greeted(tcp.tcp_connect(addr))
        })
        .await
        .unwrap();
    assert_eq!(won.report().winner(), Some(greeting));
}
