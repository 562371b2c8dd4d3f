//! SOCKS5 on the wire (RFC 1928): method negotiation, the request, the reply.
//!
//! Every read is of an exact, bounded length (at most 255 bytes at a time), so nothing past
//! the request is consumed: bytes a client sends right after its request (optimistic data)
//! stay in the socket and are relayed to the destination.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::auth::{self, Login};
use super::error::HandshakeError;
use super::reply::Reply;
use super::target::{Destination, Refusal};
use super::wire::read_vec;

/// The protocol version, first byte of the greeting, the request and the reply.
pub const VERSION: u8 = 0x05;

/// Method: no authentication required.
const METHOD_NONE: u8 = 0x00;
/// Method: username/password (RFC 1929).
const METHOD_USER_PASS: u8 = 0x02;
/// Method selection: none of the offered methods is acceptable.
const NO_ACCEPTABLE_METHOD: u8 = 0xFF;

const CMD_CONNECT: u8 = 0x01;
const CMD_BIND: u8 = 0x02;
const CMD_UDP_ASSOCIATE: u8 = 0x03;

const ATYP_IPV4: u8 = 0x01;
const ATYP_DOMAIN: u8 = 0x03;
const ATYP_IPV6: u8 = 0x04;

/// The reply's bytes: `bound` is the upstream socket's local address on success, and
/// `0.0.0.0:0` for failures.
pub fn reply_bytes(reply: Reply, bound: Option<SocketAddr>) -> Vec<u8> {
    let bound = bound.unwrap_or(SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)));
    let mut out = vec![VERSION, reply.code(), 0x00];
    match bound {
        SocketAddr::V4(a) => {
            out.push(ATYP_IPV4);
            out.extend_from_slice(&a.ip().octets());
        }
        SocketAddr::V6(a) => {
            out.push(ATYP_IPV6);
            out.extend_from_slice(&a.ip().octets());
        }
    }
    out.extend_from_slice(&bound.port().to_be_bytes());
    out
}

/// Sends a reply.
pub async fn send_reply<S>(
    stream: &mut S,
    reply: Reply,
    bound: Option<SocketAddr>,
) -> std::io::Result<()>
where
    S: AsyncWrite + Unpin,
{
    stream.write_all(&reply_bytes(reply, bound)).await?;
    stream.flush().await
}

/// The rest of a SOCKS5 handshake, after its first byte (the version, 0x05, read by the
/// caller): method selection, authentication if `auth` is set, the request. Returns the
/// destination of a CONNECT request; every other outcome has been answered already (method
/// 0xFF, an authentication failure, or a failure reply) and only needs closing.
pub async fn handshake<S>(
    stream: &mut S,
    auth: Option<Login<'_>>,
) -> Result<Destination, HandshakeError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let offered = read_vec(stream).await?;
    let wanted = if auth.is_some() {
        METHOD_USER_PASS
    } else {
        METHOD_NONE
    };
    if !offered.contains(&wanted) {
        stream.write_all(&[VERSION, NO_ACCEPTABLE_METHOD]).await?;
        stream.flush().await?;
        return Err(HandshakeError::new(format!(
            "no acceptable authentication method: the client offered {offered:02x?}, \
             the proxy needs 0x{wanted:02x}"
        )));
    }
    stream.write_all(&[VERSION, wanted]).await?;
    stream.flush().await?;
    if let Some(login) = auth {
        auth::authenticate(stream, login).await?;
    }
    read_request(stream).await
}

/// Reads a request and returns its CONNECT destination; answers anything else.
async fn read_request<S>(stream: &mut S) -> Result<Destination, HandshakeError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut head = [0u8; 4];
    stream.read_exact(&mut head).await?;
    let [version, command, _reserved, atyp] = head;
    if version != VERSION {
        return Err(HandshakeError::new(format!(
            "request with version {version} (not 5)"
        )));
    }
    // The address is read whole before the command is judged, so that a refused request
    // leaves nothing unread.
    let destination = match atyp {
        ATYP_IPV4 => {
            let mut ip = [0u8; 4];
            stream.read_exact(&mut ip).await?;
            let port = stream.read_u16().await?;
            Destination::from_addr(SocketAddrV4::new(Ipv4Addr::from(ip), port).into())
        }
        ATYP_IPV6 => {
            let mut ip = [0u8; 16];
            stream.read_exact(&mut ip).await?;
            let port = stream.read_u16().await?;
            Destination::from_addr(SocketAddrV6::new(Ipv6Addr::from(ip), port, 0, 0).into())
        }
        ATYP_DOMAIN => {
            let name = read_vec(stream).await?;
            let port = stream.read_u16().await?;
            match std::str::from_utf8(&name) {
                Ok(host) => Destination::from_host(host, port),
                Err(_) => Err(Refusal {
                    reply: Reply::HostUnreachable,
                    reason: format!(
                        "invalid host name {:?}: not UTF-8",
                        String::from_utf8_lossy(&name)
                    ),
                }),
            }
        }
        other => {
            return Err(refuse(
                stream,
                Reply::AddressTypeNotSupported,
                format!("address type 0x{other:02x}"),
            )
            .await)
        }
    };
    if command != CMD_CONNECT {
        let name = match command {
            CMD_BIND => "BIND".to_owned(),
            CMD_UDP_ASSOCIATE => "UDP ASSOCIATE".to_owned(),
            other => format!("command 0x{other:02x}"),
        };
        return Err(refuse(stream, Reply::CommandNotSupported, name).await);
    }
    match destination {
        Ok(destination) => Ok(destination),
        Err(refusal) => Err(refuse(stream, refusal.reply, refusal.reason).await),
    }
}

/// Sends a failure reply; the error to return, whether the reply went out or not.
async fn refuse<S>(stream: &mut S, reply: Reply, why: String) -> HandshakeError
where
    S: AsyncWrite + Unpin,
{
    let sent = send_reply(stream, reply, None).await;
    let mut message = format!("{why}: reply {reply}");
    if let Err(e) = sent {
        message.push_str(&format!(" (could not be sent: {e})"));
    }
    HandshakeError::new(message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::auth::Credentials;
    use crate::proxy::limits::AuthThrottle;
    use tokio::io::{duplex, DuplexStream};

    /// Runs the handshake against `input` (after the version byte); returns its result, the
    /// bytes the proxy sent and whether the input was consumed exactly.
    async fn run(
        input: &[u8],
        auth: Option<&Credentials>,
    ) -> (Result<Destination, HandshakeError>, Vec<u8>, Vec<u8>) {
        let (mut proxy, mut client): (DuplexStream, DuplexStream) = duplex(4096);
        client.write_all(input).await.unwrap();
        client.shutdown().await.unwrap();
        let throttle = AuthThrottle::default();
        let login = auth.map(|credentials| Login {
            credentials,
            throttle: &throttle,
            client: Ipv4Addr::LOCALHOST.into(),
        });
        let result = handshake(&mut proxy, login).await;
        let mut rest = Vec::new();
        proxy.read_to_end(&mut rest).await.unwrap();
        drop(proxy);
        let mut sent = Vec::new();
        client.read_to_end(&mut sent).await.unwrap();
        (result, sent, rest)
    }

    fn request(cmd: u8, atyp: u8, addr: &[u8], port: u16) -> Vec<u8> {
        let mut r = vec![1, 0, 5, cmd, 0, atyp];
        r.extend_from_slice(addr);
        r.extend_from_slice(&port.to_be_bytes());
        r
    }

    fn failure(code: u8) -> Vec<u8> {
        vec![5, 0, 5, code, 0, 1, 0, 0, 0, 0, 0, 0]
    }

    #[tokio::test]
    async fn connect_requests_of_each_address_type() {
        let (r, sent, rest) = run(&request(1, 1, &[127, 0, 0, 1], 80), None).await;
        assert_eq!(
            r.unwrap(),
            Destination::Addr("127.0.0.1:80".parse().unwrap())
        );
        assert_eq!(sent, [5, 0]);
        assert!(rest.is_empty());

        let v6 = "2001:db8::1".parse::<Ipv6Addr>().unwrap().octets();
        let (r, _, _) = run(&request(1, 4, &v6, 443), None).await;
        assert_eq!(
            r.unwrap(),
            Destination::Addr("[2001:db8::1]:443".parse().unwrap())
        );

        let mut name = vec![9];
        name.extend_from_slice(b"dual.test");
        // Data after the request is left for the relay.
        let mut input = request(1, 3, &name, 8080);
        input.extend_from_slice(b"GET / HTTP/1.1\r\n");
        let (r, _, rest) = run(&input, None).await;
        assert_eq!(
            r.unwrap(),
            Destination::Name {
                host: "dual.test".into(),
                port: 8080
            }
        );
        assert_eq!(rest, b"GET / HTTP/1.1\r\n");
    }

    #[tokio::test]
    async fn refusals_get_their_reply() {
        let cases: Vec<(Vec<u8>, u8)> = vec![
            (request(2, 1, &[127, 0, 0, 1], 80), 0x07), // BIND
            (request(3, 1, &[127, 0, 0, 1], 80), 0x07), // UDP ASSOCIATE
            (request(9, 1, &[127, 0, 0, 1], 80), 0x07),
            (request(1, 1, &[127, 0, 0, 1], 0), 0x02),
            (request(1, 3, &[0], 80), 0x04),
            (request(1, 3, b"\x08bad name", 80), 0x04),
            (request(1, 3, b"\x03\xff\xfe\xfd", 80), 0x04),
        ];
        for (input, code) in cases {
            let (r, sent, rest) = run(&input, None).await;
            assert!(r.is_err(), "{input:?}");
            assert_eq!(sent, failure(code), "{input:?}: {}", r.unwrap_err());
            assert!(rest.is_empty(), "{input:?}");
        }
        // An unknown address type: its length is unknown, the rest stays unread.
        let (r, sent, _) = run(&[1, 0, 5, 1, 0, 9, 1, 2, 3], None).await;
        assert!(r.unwrap_err().to_string().contains("address type 0x09"));
        assert_eq!(sent, failure(0x08));
    }

    #[tokio::test]
    async fn broken_greetings_and_requests_close() {
        // No acceptable method: 0xFF.
        for input in [&[1u8, 2][..], &[0], &[3, 1, 2, 3]] {
            let (r, sent, _) = run(input, None).await;
            assert!(r.is_err());
            assert_eq!(sent, [5, 0xFF], "{input:?}");
        }
        // Truncated: nothing sent (or only the method), an error.
        for input in [
            &[][..],
            &[2, 0],
            &[1, 0, 5, 1, 0],
            &[1, 0, 5, 1, 0, 3, 9, b'a'],
        ] {
            let (r, _, _) = run(input, None).await;
            let e = r.unwrap_err().to_string();
            assert!(e.contains("closed the connection"), "{input:?}: {e}");
        }
        // A request with another version: closed without a reply.
        let (r, sent, _) = run(&[1, 0, 4, 1, 0, 1, 127, 0, 0, 1, 0, 80], None).await;
        assert!(r.unwrap_err().to_string().contains("version 4"));
        assert_eq!(sent, [5, 0]);
    }

    #[tokio::test]
    async fn username_password_is_required_when_configured() {
        let creds = Credentials::parse("user:secret").unwrap();
        // Only "no authentication" offered: refused.
        let (r, sent, _) = run(&request(1, 1, &[127, 0, 0, 1], 80), Some(&creds)).await;
        assert!(r.is_err());
        assert_eq!(sent, [5, 0xFF]);

        let with_auth = |user: &[u8], pass: &[u8]| {
            let mut input = vec![2, 0, 2, 1, user.len() as u8];
            input.extend_from_slice(user);
            input.push(pass.len() as u8);
            input.extend_from_slice(pass);
            input.extend_from_slice(&request(1, 1, &[127, 0, 0, 1], 80)[2..]);
            input
        };
        let (r, sent, _) = run(&with_auth(b"user", b"secret"), Some(&creds)).await;
        assert!(r.is_ok(), "{r:?}");
        assert_eq!(sent, [5, 2, 1, 0]);
        for (user, pass) in [
            (&b"user"[..], &b"wrong"[..]),
            (b"other", b"secret"),
            (b"", b""),
        ] {
            let (r, sent, _) = run(&with_auth(user, pass), Some(&creds)).await;
            assert!(r.unwrap_err().to_string().contains("authentication failed"));
            assert_eq!(sent, [5, 2, 1, 1]);
        }
    }

    use crate::fuzzing::Rng;

    /// Bounded fuzzing: valid handshakes mutated (bytes flipped, inserted, removed, cut
    /// short) and pure noise; the handshake never panics, never reads past what the request
    /// needs, and every success is a CONNECT whose destination the input carries.
    // Paused time: the delays of failed logins pass at once.
    #[tokio::test(start_paused = true)]
    async fn bounded_fuzz_of_the_handshake() {
        let creds = Credentials::parse("user:secret").unwrap();
        let seeds: Vec<Vec<u8>> = vec![
            request(1, 1, &[192, 0, 2, 1], 80),
            request(
                1,
                4,
                &[0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
                443,
            ),
            request(1, 3, b"\x09dual.test", 8080),
            [
                &[2u8, 0, 2, 1, 4][..],
                b"user\x06secret",
                &request(1, 1, &[192, 0, 2, 1], 80)[2..],
            ]
            .concat(),
        ];
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for case in 0..4000 {
            let mut input = seeds[case % seeds.len()].clone();
            if case % 10 == 9 {
                input = (0..rng.below(40)).map(|_| rng.next_u64() as u8).collect();
            }
            for _ in 0..=rng.below(3) {
                match rng.below(4) {
                    0 if !input.is_empty() => {
                        let i = rng.below(input.len());
                        input[i] = rng.next_u64() as u8;
                    }
                    1 => {
                        let i = rng.below(input.len() + 1);
                        input.insert(i, rng.next_u64() as u8);
                    }
                    2 if !input.is_empty() => {
                        input.remove(rng.below(input.len()));
                    }
                    _ => input.truncate(rng.below(input.len() + 1)),
                }
            }
            // The seed with a login is fuzzed with --auth on; a third of the others too.
            let auth = (case % 4 == 3 || case % 3 == 0).then_some(&creds);
            let (result, _sent, rest) = run(&input, auth).await;
            if let Ok(destination) = result {
                // What was read is the request exactly: the rest is left for the relay.
                assert!(input.ends_with(&rest), "case {case}: {input:?}");
                match destination {
                    Destination::Addr(addr) => assert_ne!(addr.port(), 0, "case {case}"),
                    Destination::Name { host, port } => {
                        assert_ne!(port, 0, "case {case}");
                        let found = input.windows(host.len()).any(|w| w == host.as_bytes());
                        assert!(found, "case {case}: {host} not in {input:?}");
                    }
                }
            }
        }
    }
}
