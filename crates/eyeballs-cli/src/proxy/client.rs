//! One client: handshake (within `--handshake-timeout`), the race, the reply, the relay.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::error::HandshakeError;
use super::log::log;
use super::reply::{failure_reply, Reply};
use super::settings::Settings;
use super::target::Destination;
use super::{http, socks5};

/// After a failure reply, how long the proxy keeps reading (and discarding) what the client
/// still sends before closing: closing with unread bytes would send a reset, which can
/// destroy the reply before the client reads it.
const LINGER: Duration = Duration::from_millis(500);
/// ... and how much it reads at most.
const LINGER_BYTES: usize = 64 * 1024;

/// The protocol a client speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Protocol {
    Socks5,
    HttpConnect,
}

/// A request read whole.
#[derive(Debug)]
struct Request {
    protocol: Protocol,
    destination: Destination,
    /// HTTP CONNECT only: bytes read past the request head, for the destination.
    early_data: Vec<u8>,
}

/// Serves one client until its relay ends. Never panics; every error ends this client only.
pub async fn serve(mut client: TcpStream, peer: SocketAddr, settings: &Settings) {
    // Small writes (a terminal, a request) go out at once in both directions.
    let _ = client.set_nodelay(true);
    let read = tokio::time::timeout(
        settings.handshake_timeout,
        read_request(&mut client, settings),
    );
    let request = match read.await {
        Ok(Ok(request)) => request,
        Ok(Err(e)) => {
            log(format_args!("client={peer} handshake failed: {e}"));
            linger_close(client).await;
            return;
        }
        Err(_) => {
            log(format_args!(
                "client={peer} handshake failed: not complete within {:?} (--handshake-timeout)",
                settings.handshake_timeout
            ));
            return;
        }
    };

    let started = Instant::now();
    let raced = tokio::select! {
        result = request.destination.connect(&settings.connector) => Some(result),
        () = closed_by(&client) => None,
    };
    let elapsed_ms = started.elapsed().as_secs_f64() * 1e3;
    let target = &request.destination;
    match raced {
        None => log(format_args!(
            "client={peer} target={target} error=\"the client left during the race\" \
             elapsed_ms={elapsed_ms:.1}"
        )),
        Some(Ok(connection)) => {
            let (upstream, report) = connection.into_parts();
            let winner = report
                .winner()
                .or_else(|| upstream.peer_addr().ok())
                .map_or_else(|| "?".to_owned(), |w| w.to_string());
            log(format_args!(
                "client={peer} target={target} winner={winner} elapsed_ms={elapsed_ms:.1} \
                 attempts={}",
                report.attempts().count()
            ));
            relay(client, upstream, request).await;
        }
        Some(Err(error)) => {
            let reply = failure_reply(&error);
            let attempts = error.report().map_or(0, |r| r.attempts().count());
            log(format_args!(
                "client={peer} target={target} reply={reply} cause={} error={:?} \
                 elapsed_ms={elapsed_ms:.1} attempts={attempts}",
                error.cause(),
                error.to_string(),
            ));
            let replied = match request.protocol {
                Protocol::Socks5 => socks5::send_reply(&mut client, reply, None).await,
                Protocol::HttpConnect => {
                    let status = http::status_for(reply);
                    http::send_error(&mut client, status, &error.to_string()).await
                }
            };
            if replied.is_ok() {
                linger_close(client).await;
            }
        }
    }
}

/// Tells the client it is connected, then relays both ways until both directions are done.
async fn relay(mut client: TcpStream, mut upstream: TcpStream, request: Request) {
    let _ = upstream.set_nodelay(true);
    let bound = upstream.local_addr().ok();
    let replied = match request.protocol {
        Protocol::Socks5 => socks5::send_reply(&mut client, Reply::Succeeded, bound).await,
        Protocol::HttpConnect => http::send_established(&mut client).await,
    };
    if replied.is_err() {
        return;
    }
    if !request.early_data.is_empty() && upstream.write_all(&request.early_data).await.is_err() {
        return;
    }
    // EOF from one side becomes a FIN (shutdown) to the other, which may go on sending
    // (half-close); an error on either side ends both.
    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
}

/// Reads the first byte, then the SOCKS5 or HTTP CONNECT handshake.
async fn read_request(
    client: &mut TcpStream,
    settings: &Settings,
) -> Result<Request, HandshakeError> {
    let first = client.read_u8().await?;
    let auth = settings.auth.as_ref();
    match first {
        socks5::VERSION => Ok(Request {
            protocol: Protocol::Socks5,
            destination: socks5::handshake(client, auth).await?,
            early_data: Vec::new(),
        }),
        b'A'..=b'Z' if settings.http_connect => {
            let connect = http::handshake(client, first, auth).await?;
            Ok(Request {
                protocol: Protocol::HttpConnect,
                destination: connect.destination,
                early_data: connect.early_data,
            })
        }
        4 => Err(HandshakeError::new(
            "SOCKS version 4: only SOCKS5 is supported (use socks5:// or socks5h://)",
        )),
        b'A'..=b'Z' => Err(HandshakeError::new(
            "an HTTP request? only SOCKS5 is accepted (HTTP CONNECT needs --http-connect)",
        )),
        other => Err(HandshakeError::new(format!(
            "first byte 0x{other:02x}: not a SOCKS5 greeting"
        ))),
    }
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
