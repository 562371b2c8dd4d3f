//! One client: its first byte tells SOCKS5 (0x05) from HTTP (an upper-case letter, the
//! first of a method); then the handshake (within `--handshake-timeout`), the race, the
//! reply and the relay (until `--idle-timeout` without a byte either way).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::auth::Login;
use super::idle::{Activity, IdleStream, RELAY_BUFFER};
use super::limits::HandshakeSlot;
use super::log::{warn, TARGET};
use super::reply::{failure_message, failure_reply, Reply};
use super::settings::Settings;
use super::target::Destination;
use super::{http, socks5};

/// After a failure reply, how long the proxy keeps reading (and discarding) what the client
/// still sends before closing: closing with unread bytes would send a reset, which can
/// destroy the reply before the client reads it.
const LINGER: Duration = Duration::from_millis(500);
/// ... and how much it reads at most.
const LINGER_BYTES: usize = 64 * 1024;

/// Serves one client until its relay ends, holding `handshake` (a handshake slot) until its
/// request is read. Never panics; every error ends this client only.
pub async fn serve(
    client: TcpStream,
    peer: SocketAddr,
    settings: Arc<Settings>,
    handshake: HandshakeSlot,
) {
    // Small writes (a terminal, a request) go out at once in both directions.
    let _ = client.set_nodelay(true);
    let started = Instant::now();
    let mut first = [0u8; 1];
    let eviction = handshake.eviction();
    let peeked = tokio::select! {
        peeked = tokio::time::timeout(settings.handshake_timeout, client.peek(&mut first)) => peeked,
        () = eviction.wait() => return handshake_evicted(peer),
    };
    match peeked {
        Ok(Ok(1..)) => {}
        Ok(Ok(_)) => return handshake_failed(peer, "the client closed the connection at once"),
        Ok(Err(e)) => return handshake_failed(peer, &format!("handshake I/O error: {e}")),
        Err(_) => return handshake_timed_out(peer, &settings),
    }
    let refusal = match first[0] {
        socks5::VERSION => return socks(client, peer, &settings, handshake, started).await,
        b'A'..=b'Z' if settings.http => {
            return http::serve(client, peer, settings, handshake).await
        }
        4 => "SOCKS version 4: only SOCKS5 is supported (use socks5:// or socks5h://)".to_owned(),
        b'A'..=b'Z' => "an HTTP request? HTTP is off (--no-http): only SOCKS5".to_owned(),
        other => format!("first byte 0x{other:02x}: not a SOCKS5 greeting or an HTTP request"),
    };
    drop(handshake);
    handshake_failed(peer, &refusal);
    linger_close(client).await;
}

pub fn handshake_failed(peer: SocketAddr, why: &str) {
    warn(format_args!("client={peer} handshake failed: {why}"));
}

pub fn handshake_evicted(peer: SocketAddr) {
    handshake_failed(
        peer,
        "dropped for a newer client: every handshake slot was busy (--max-handshakes)",
    );
}

fn handshake_timed_out(peer: SocketAddr, settings: &Settings) {
    warn(format_args!(
        "client={peer} handshake failed: not complete within {:?} (--handshake-timeout)",
        settings.handshake_timeout
    ));
}

/// A SOCKS5 client, from its greeting (not read yet) to the end of its relay.
async fn socks(
    mut client: TcpStream,
    peer: SocketAddr,
    settings: &Settings,
    handshake: HandshakeSlot,
    started: Instant,
) {
    let login = settings.auth.as_ref().map(|credentials| Login {
        credentials,
        throttle: &settings.throttle,
        client: peer.ip(),
    });
    let remaining = settings.handshake_timeout.saturating_sub(started.elapsed());
    let read = tokio::time::timeout(remaining, async {
        // The version byte, peeked already.
        client.read_u8().await?;
        socks5::handshake(&mut client, login).await
    });
    let eviction = handshake.eviction();
    let read = tokio::select! {
        read = read => read,
        () = eviction.wait() => return handshake_evicted(peer),
    };
    let destination = match read {
        Ok(Ok(destination)) => destination,
        Ok(Err(e)) => {
            handshake_failed(peer, &e.to_string());
            linger_close(client).await;
            return;
        }
        Err(_) => return handshake_timed_out(peer, settings),
    };
    drop(handshake);

    let raced = tokio::select! {
        // The race first: one that fails at once (a refused destination) is answered even
        // when the client has half-closed already.
        biased;
        result = race(peer, &destination, settings) => Some(result),
        () = closed_by(&client) => None,
    };
    match raced {
        None => warn(format_args!(
            "client={peer} target={destination} error=\"the client left during the race\""
        )),
        Some(Ok(upstream)) => relay(client, upstream, settings.idle_timeout).await,
        Some(Err(error)) => {
            let reply = failure_reply(&error);
            if socks5::send_reply(&mut client, reply, None).await.is_ok() {
                linger_close(client).await;
            }
        }
    }
}

/// Races a connection to `destination` and logs one line: `info` with the winner, or
/// `warn` with the reply a SOCKS client gets (an HTTP client gets its status), the
/// library's cause and the error naming every attempt.
pub async fn race(
    peer: SocketAddr,
    destination: &Destination,
    settings: &Settings,
) -> Result<TcpStream, eyeballs::Error> {
    let started = Instant::now();
    let result = destination.connect(&settings.connector).await;
    // Tenths of a millisecond are what a person reads.
    let elapsed_ms = (started.elapsed().as_secs_f64() * 1e4).round() / 10.0;
    match result {
        Ok(connection) => {
            let (upstream, report) = connection.into_parts();
            let winner = report
                .winner()
                .or_else(|| upstream.peer_addr().ok())
                .map_or_else(|| "?".to_owned(), |w| w.to_string());
            tracing::info!(
                target: TARGET,
                client = %peer,
                target = %destination,
                winner = %winner,
                elapsed_ms,
                attempts = report.attempts().count(),
                "connected"
            );
            Ok(upstream)
        }
        Err(error) => {
            let reply = failure_reply(&error);
            // A str field: quoted in text (error="..."), a plain string in JSON.
            let message = failure_message(&error);
            tracing::warn!(
                target: TARGET,
                client = %peer,
                target = %destination,
                reply = %reply,
                status = http::status_for(reply).as_u16(),
                cause = %error.cause(),
                error = message.as_str(),
                elapsed_ms,
                attempts = error.report().map_or(0, |r| r.attempts().count()),
                "race failed"
            );
            Err(error)
        }
    }
}

/// Tells a SOCKS client it is connected, then relays both ways until both directions are
/// done, or nothing moved either way for `idle`.
async fn relay(mut client: TcpStream, upstream: TcpStream, idle: Duration) {
    let _ = upstream.set_nodelay(true);
    let bound = upstream.local_addr().ok();
    if socks5::send_reply(&mut client, Reply::Succeeded, bound)
        .await
        .is_err()
    {
        return;
    }
    let activity = Activity::new(idle);
    let mut client = IdleStream::new(client, Arc::clone(&activity));
    let mut upstream = IdleStream::new(upstream, activity);
    relay_both(&mut client, &mut upstream).await;
}

/// Relays bytes both ways until both sides are done: EOF from one side becomes a FIN
/// (shutdown) to the other, which may go on sending (half-close); an error on either side
/// (the idle timeout's included) ends both.
pub(super) async fn relay_both<A, B>(a: &mut A, b: &mut B)
where
    A: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + ?Sized,
    B: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + ?Sized,
{
    let _ = tokio::io::copy_bidirectional_with_sizes(a, b, RELAY_BUFFER, RELAY_BUFFER).await;
}

/// Resolves once the client has closed its connection (or it failed) during the race, so
/// that an abandoned race stops at once and frees its slot. Bytes it sends early (optimistic
/// data) are left for the relay: this then waits forever. A client that half-closes right
/// after its request, sending nothing, counts as gone: before a write, TCP cannot tell a
/// half-close from a close, and SOCKS clients send their data after the reply.
async fn closed_by(client: &TcpStream) {
    let mut byte = [0u8; 1];
    match client.peek(&mut byte).await {
        Ok(0) | Err(_) => {}
        Ok(_) => std::future::pending().await,
    }
}

/// Sends FIN, discards what the client still sends (for at most [`LINGER`] and
/// [`LINGER_BYTES`]), then closes.
async fn linger_close(mut client: TcpStream) {
    if client.shutdown().await.is_err() {
        return;
    }
    let drain = async {
        let mut buf = [0u8; 4096];
        let mut total = 0;
        while total < LINGER_BYTES {
            match client.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => total += n,
            }
        }
    };
    let _ = tokio::time::timeout(LINGER, drain).await;
}
