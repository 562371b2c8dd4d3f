//! HTTP CONNECT (`--http-connect`) on the SOCKS port: `CONNECT host:port HTTP/1.1`, with
//! `Proxy-Authorization: Basic` when `--auth` is set. Nothing else of HTTP: other methods
//! get 405.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::auth::Credentials;
use super::error::HandshakeError;
use super::reply::Reply;
use super::target::Destination;

/// The longest request head (request line and headers) read.
const MAX_HEAD: usize = 8 * 1024;

/// A CONNECT request read whole.
#[derive(Debug)]
pub struct Connect {
    /// Where to connect.
    pub destination: Destination,
    /// Bytes the client sent after the request head (a TLS ClientHello, say): for the
    /// destination, before the relay starts.
    pub early_data: Vec<u8>,
}

/// Reads an HTTP CONNECT request whose first byte, `first`, the caller read already.
/// Anything but a valid, authorised CONNECT has been answered (400, 403, 405, 407, 431)
/// when this returns an error.
pub async fn handshake<S>(
    stream: &mut S,
    first: u8,
    auth: Option<&Credentials>,
) -> Result<Connect, HandshakeError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut buf = vec![first];
    let head_end = loop {
        if let Some(end) = find_head_end(&buf) {
            break end;
        }
        if buf.len() >= MAX_HEAD {
            return Err(reject(stream, 431, "the request head is too long").await);
        }
        let mut chunk = [0u8; 1024];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(HandshakeError::new(
                "the client closed the connection during the HTTP request",
            ));
        }
        buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
    };
    let early_data = buf.split_off(head_end);
    let Ok(head) = std::str::from_utf8(&buf) else {
        return Err(reject(stream, 400, "the request head is not UTF-8").await);
    };
    let mut lines = head.lines();
    let request_line = lines.next().unwrap_or_default();
    let mut words = request_line.split(' ');
    let (Some(method), Some(authority), Some(version), None) =
        (words.next(), words.next(), words.next(), words.next())
    else {
        return Err(reject(stream, 400, "malformed request line").await);
    };
    if !version.starts_with("HTTP/1.") {
        return Err(reject(stream, 400, "not HTTP/1.x").await);
    }
    if method != "CONNECT" {
        return Err(reject(stream, 405, "only CONNECT is supported").await);
    }
    if let Some(credentials) = auth {
        let authorised = lines
            .filter_map(|line| line.split_once(':'))
            .filter(|(name, _)| name.trim().eq_ignore_ascii_case("proxy-authorization"))
            .any(|(_, value)| credentials.matches_basic(value));
        if !authorised {
            return Err(reject(stream, 407, "proxy authentication required").await);
        }
    }
    let Some((host, port)) = split_authority(authority) else {
        return Err(reject(stream, 400, "the target is not HOST:PORT").await);
    };
    match Destination::from_host(host, port) {
        Ok(destination) => Ok(Connect {
            destination,
            early_data,
        }),
        Err(refusal) => {
            let status = status_for(refusal.reply);
            Err(reject(stream, status, &refusal.reason).await)
        }
    }
}

/// The status for a failed race or a refused destination.
pub fn status_for(reply: Reply) -> u16 {
    match reply {
        Reply::NotAllowed => 403,
        Reply::TtlExpired => 504,
        _ => 502,
    }
}

/// Sends `200 Connection established`.
pub async fn send_established<S: AsyncWrite + Unpin>(stream: &mut S) -> std::io::Result<()> {
    stream
        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
        .await?;
    stream.flush().await
}

/// Sends an error status with `message` as a plain-text body, and `Connection: close`.
pub async fn send_error<S: AsyncWrite + Unpin>(
    stream: &mut S,
    status: u16,
    message: &str,
) -> std::io::Result<()> {
    let reason = match status {
        400 => "Bad Request",
        403 => "Forbidden",
        405 => "Method Not Allowed",
        407 => "Proxy Authentication Required",
        431 => "Request Header Fields Too Large",
        502 => "Bad Gateway",
        504 => "Gateway Timeout",
        _ => "Error",
    };
    let body = format!("{message}\n");
    let mut response = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\n\
         Content-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    if status == 405 {
        response.push_str("Allow: CONNECT\r\n");
    }
    if status == 407 {
        response.push_str("Proxy-Authenticate: Basic realm=\"eyeballs\"\r\n");
    }
    response.push_str("\r\n");
    response.push_str(&body);
    stream.write_all(response.as_bytes()).await?;
    stream.flush().await
}

async fn reject<S: AsyncWrite + Unpin>(stream: &mut S, status: u16, why: &str) -> HandshakeError {
    let sent = send_error(stream, status, why).await;
    let mut message = format!("HTTP CONNECT: {why}: status {status}");
    if let Err(e) = sent {
        message.push_str(&format!(" (could not be sent: {e})"));
    }
    HandshakeError::new(message)
}

/// Where the head ends (after its empty line), if it has.
fn find_head_end(buf: &[u8]) -> Option<usize> {
    let crlf = buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4);
    let lf = buf.windows(2).position(|w| w == b"\n\n").map(|i| i + 2);
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// `host:port` or `[v6]:port`.
fn split_authority(authority: &str) -> Option<(&str, u16)> {
    let (host, port) = authority.rsplit_once(':')?;
    // An unbracketed IPv6 address has colons of its own.
    if host.contains(':') && !(host.starts_with('[') && host.ends_with(']')) {
        return None;
    }
    Some((host, port.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::duplex;

    async fn run(
        input: &[u8],
        auth: Option<&Credentials>,
    ) -> (Result<Connect, HandshakeError>, String) {
        let (mut proxy, mut client) = duplex(16 * 1024);
        client.write_all(&input[1..]).await.unwrap();
        client.shutdown().await.unwrap();
        let result = handshake(&mut proxy, input[0], auth).await;
        drop(proxy);
        let mut sent = Vec::new();
        client.read_to_end(&mut sent).await.unwrap();
        (result, String::from_utf8(sent).unwrap())
    }

    #[tokio::test]
    async fn connect_requests() {
        let (r, sent) = run(
            b"CONNECT dual.test:443 HTTP/1.1\r\nHost: dual.test:443\r\n\r\n\x16\x03\x01",
            None,
        )
        .await;
        let c = r.unwrap();
        assert_eq!(
            c.destination,
            Destination::Name {
                host: "dual.test".into(),
                port: 443
            }
        );
        assert_eq!(c.early_data, b"\x16\x03\x01");
        assert_eq!(sent, "");

        let (r, _) = run(b"CONNECT [::1]:8080 HTTP/1.0\n\n", None).await;
        assert_eq!(
            r.unwrap().destination,
            Destination::Addr("[::1]:8080".parse().unwrap())
        );
    }

    #[tokio::test]
    async fn rejections() {
        for (input, status) in [
            (&b"GET http://a.test/ HTTP/1.1\r\n\r\n"[..], 405),
            (b"CONNECT a.test HTTP/1.1\r\n\r\n", 400),
            (b"CONNECT ::1:80 HTTP/1.1\r\n\r\n", 400),
            (b"CONNECT a.test:80\r\n\r\n", 400),
            (b"CONNECT a.test:80 HTTP/2\r\n\r\n", 400),
            (b"CONNECT 0.0.0.0:80 HTTP/1.1\r\n\r\n", 403),
            (b"CONNECT bad!name:80 HTTP/1.1\r\n\r\n", 502),
        ] {
            let (r, sent) = run(input, None).await;
            assert!(r.is_err());
            assert!(
                sent.starts_with(&format!("HTTP/1.1 {status} ")),
                "{:?}: {sent}",
                String::from_utf8_lossy(input)
            );
            assert!(sent.contains("Connection: close\r\n"), "{sent}");
        }
        let mut long = b"CONNECT a.test:80 HTTP/1.1\r\nX: ".to_vec();
        long.resize(MAX_HEAD + 10, b'a');
        let (r, sent) = run(&long, None).await;
        assert!(r.is_err());
        assert!(sent.starts_with("HTTP/1.1 431 "), "{sent}");

        let (r, _) = run(b"CONNECT a.test:80 HTTP/1.1\r\n", None).await;
        assert!(r.unwrap_err().to_string().contains("closed"));
    }

    #[test]
    fn statuses_follow_the_reply() {
        for (reply, status) in [
            (Reply::NotAllowed, 403),
            (Reply::TtlExpired, 504),
            (Reply::ConnectionRefused, 502),
            (Reply::HostUnreachable, 502),
            (Reply::GeneralFailure, 502),
        ] {
            assert_eq!(status_for(reply), status, "{reply}");
        }
    }

    #[tokio::test]
    async fn basic_authentication() {
        let creds = Credentials::parse("user:secret").unwrap();
        let (r, sent) = run(b"CONNECT a.test:80 HTTP/1.1\r\n\r\n", Some(&creds)).await;
        assert!(r.is_err());
        assert!(sent.starts_with("HTTP/1.1 407 "), "{sent}");
        assert!(sent.contains("Proxy-Authenticate: Basic"), "{sent}");
        // dXNlcjpzZWNyZXQ= is base64("user:secret").
        let (r, _) = run(
            b"CONNECT a.test:80 HTTP/1.1\r\nproxy-authorization: Basic dXNlcjpzZWNyZXQ=\r\n\r\n",
            Some(&creds),
        )
        .await;
        assert!(r.is_ok(), "{r:?}");
    }
}
