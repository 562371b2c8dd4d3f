//! Fuzzing entry points (not an API): bytes fed to the proxy's SOCKS5 handshake and to its
//! HTTP request handling, as a client would send them, and what comes back checked.
//!
//! The cargo-fuzz targets (`fuzz/fuzz_targets/socks5.rs` and `http_proxy.rs` at the
//! workspace root) and the bounded run on the stable toolchain (`tests/fuzz_targets.rs`)
//! call [`socks5`] and [`http_proxy`]. Each input is one client connection to a proxy
//! running in this process ([`proxy::serve`], the code `eyeballs proxy` runs, first byte
//! dispatch included) on 127.0.0.1 with an ephemeral port, started at the first call:
//!
//! - every destination is denied (`--deny 0.0.0.0/0 --deny ::/0`, loopback denied by
//!   default), so no race makes an attempt;
//! - names never reach the system resolver: every name answers ::1 and 127.0.0.1 (so the
//!   policy is exercised on DNS answers too, and a policy bug could only reach loopback);
//! - every socket a race would open is bound to the loopback interface (`SO_BINDTODEVICE
//!   lo`): even a policy bug sends nothing off this host.
//!
//! What is checked for each input ([`Finding`] otherwise): the proxy answers and closes
//! within [`ANSWER_TIMEOUT`] (the input is followed by a FIN), with a SOCKS5 answer for a
//! first byte 0x05, an HTTP/1 status line for an upper-case first byte, nothing else; never a
//! success (every destination is denied); and it goes on accepting. A panic in the proxy
//! aborts the process under libFuzzer (its panic hook); the bounded test watches for it with
//! a hook of its own.

use std::fmt;
use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpStream};
use std::sync::OnceLock;
use std::time::Duration;

use clap::Parser;
use eyeballs::resolver::{DnsResult, Lookup, RecordType, Resolver};

use crate::proxy::{self, ProxyOptions};

/// How long the proxy has to answer one input and close (its handshake timeout is 2 s).
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

/// The proxy's options: every destination denied, short timeouts, few clients (so that its
/// file-descriptor check passes anywhere).
const OPTIONS: &[&str] = &[
    "fuzz",
    "--deny",
    "0.0.0.0/0",
    "--deny",
    "::/0",
    "--handshake-timeout",
    "2s",
    "--idle-timeout",
    "2s",
    "--max-clients",
    "32",
];

/// xorshift64*: a small deterministic PRNG, so that a failing mutation names its seed (the
/// bounded fuzz runs and the SOCKS5 parser's tests share it).
#[derive(Debug, Clone)]
pub struct Rng(pub u64);

impl Rng {
    /// The next number.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number below `n` (0 for `n` = 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

/// Bytes that matter to the parsers: delimiters, lengths, versions, address types.
const INTERESTING: &[u8] = b"\r\n: /%[]?#@,;\x00\xff\x01\x02\x03\x04\x050aZ\t-";

/// A few random edits of `input` (overwrites, insertions of bytes that matter to the parsers,
/// deletions, duplicated slices, edge values, truncation): the bounded runs' mutator.
pub fn mutate(rng: &mut Rng, input: &mut Vec<u8>) {
    for _ in 0..=rng.below(4) {
        match rng.below(6) {
            0 if !input.is_empty() => {
                let i = rng.below(input.len());
                input[i] = rng.next_u64() as u8;
            }
            1 => {
                let i = rng.below(input.len() + 1);
                input.insert(i, INTERESTING[rng.below(INTERESTING.len())]);
            }
            2 if !input.is_empty() => {
                input.remove(rng.below(input.len()));
            }
            3 if !input.is_empty() => {
                // Duplicate a slice (repeated headers, chunks, requests, methods).
                let a = rng.below(input.len());
                let b = (a + rng.below(32)).min(input.len());
                let copy = input[a..b].to_vec();
                let at = rng.below(input.len() + 1);
                input.splice(at..at, copy);
            }
            4 if !input.is_empty() => {
                // A length or count byte pushed to an edge.
                let i = rng.below(input.len());
                input[i] = [0, 1, 0x7f, 0x80, 0xfe, 0xff][rng.below(6)];
            }
            _ => input.truncate(rng.below(input.len() + 1)),
        }
    }
}

/// An input the proxy handled wrongly: what was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding(pub String);

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Finding {}

/// Feeds `data` to the SOCKS5 handshake: the version byte 0x05, then `data` (the method
/// selection, authentication if any, the request), on a new client connection. The
/// proxy's answer, once checked.
pub fn socks5(data: &[u8]) -> Result<Vec<u8>, Finding> {
    let mut input = Vec::with_capacity(data.len() + 1);
    input.push(0x05);
    input.extend_from_slice(data);
    let answer = exchange(&input)?;
    check(&input, &answer)?;
    Ok(answer.bytes)
}

/// Feeds `data` to the proxy as is, on a new client connection: HTTP for an upper-case first
/// byte (absolute-form requests, CONNECT, bodies, pipelined requests), SOCKS5 for 0x05, a
/// refusal for anything else. The proxy's answer, once checked.
pub fn http_proxy(data: &[u8]) -> Result<Vec<u8>, Finding> {
    let answer = exchange(data)?;
    check(data, &answer)?;
    Ok(answer.bytes)
}

/// What the proxy sent back on one connection.
#[derive(Debug)]
struct Answer {
    bytes: Vec<u8>,
    /// The connection was reset: `bytes` may be cut short.
    reset: bool,
}

/// A resolver that answers every name with loopback addresses, without any I/O.
#[derive(Debug)]
struct LoopbackAnswers;

impl Resolver for LoopbackAnswers {
    fn lookup(&self, _name: &str, record: RecordType) -> Lookup {
        let answer = match record {
            RecordType::Aaaa => DnsResult::addresses([IpAddr::V6(Ipv6Addr::LOCALHOST)]),
            RecordType::A => DnsResult::addresses([IpAddr::V4(Ipv4Addr::LOCALHOST)]),
            _ => DnsResult::NoData,
        };
        Box::pin(std::future::ready(answer))
    }
}

/// The proxy's options, parsed from [`OPTIONS`].
#[derive(Debug, Parser)]
struct Options {
    #[command(flatten)]
    options: ProxyOptions,
}

/// The proxy's address, started at the first call (or why it could not start).
fn proxy_addr() -> Result<SocketAddr, Finding> {
    static PROXY: OnceLock<Result<SocketAddr, String>> = OnceLock::new();
    PROXY
        .get_or_init(start)
        .clone()
        .map_err(|e| Finding(format!("the proxy did not start: {e}")))
}

/// Starts the proxy on a runtime of its own, served by a thread that lives as long as the
/// process.
fn start() -> Result<SocketAddr, String> {
    let parsed = Options::try_parse_from(OPTIONS).map_err(|e| e.to_string())?;
    let options = parsed.options;
    let (mut settings, limits) = options
        .prepare()
        .map_err(|_| "invalid options (see stderr)".to_owned())?;
    let runtime = proxy::runtime().map_err(|_| "no async runtime (see stderr)".to_owned())?;
    let listen = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    let listener = runtime
        .block_on(proxy::listen(listen, &options, &mut settings, limits))
        .map_err(|_| "cannot listen on 127.0.0.1 (see stderr)".to_owned())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    settings.connector = settings
        .connector
        .clone()
        .resolver(LoopbackAnswers)
        .bind_device("lo");
    std::thread::Builder::new()
        .name("fuzzed-proxy".to_owned())
        .spawn(move || {
            runtime.block_on(proxy::serve(
                listener,
                settings,
                limits,
                std::future::pending(),
            ))
        })
        .map_err(|e| format!("cannot start the proxy's thread: {e}"))?;
    Ok(addr)
}

/// Sends `input` on a new connection to the proxy, then a FIN, and reads what comes back
/// until the proxy closes (a writer thread sends while this one reads, so that a proxy that
/// answers early never waits on a client that is still writing).
fn exchange(input: &[u8]) -> Result<Answer, Finding> {
    let addr = proxy_addr()?;
    let io = |what: &str, e: std::io::Error| Finding(format!("{what}: {e}"));
    let mut stream = TcpStream::connect_timeout(&addr, ANSWER_TIMEOUT)
        .map_err(|e| io("the proxy stopped accepting connections", e))?;
    stream
        .set_read_timeout(Some(ANSWER_TIMEOUT))
        .and_then(|()| stream.set_write_timeout(Some(ANSWER_TIMEOUT)))
        .map_err(|e| io("socket timeouts", e))?;
    let mut writer = stream.try_clone().map_err(|e| io("socket clone", e))?;
    std::thread::scope(|scope| {
        scope.spawn(move || {
            // The proxy may answer and close before it read everything: not a finding.
            let _ = writer.write_all(input);
            let _ = writer.shutdown(Shutdown::Write);
        });
        let mut bytes = Vec::new();
        match stream.read_to_end(&mut bytes) {
            Ok(_) => Ok(Answer {
                bytes,
                reset: false,
            }),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => Ok(Answer { bytes, reset: true }),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                Err(Finding(format!(
                    "no answer and no close within {ANSWER_TIMEOUT:?} (got {} bytes: {:?})",
                    bytes.len(),
                    Escaped(&bytes)
                )))
            }
            Err(e) => Err(io("reading the answer", e)),
        }
    })
}

/// Checks what the proxy answered to `input`.
fn check(input: &[u8], answer: &Answer) -> Result<(), Finding> {
    let got = &answer.bytes;
    let wrong = |why: &str| {
        Err(Finding(format!(
            "{why}: input {:?}, answer {:?}{}",
            Escaped(input),
            Escaped(got),
            if answer.reset { " (then reset)" } else { "" }
        )))
    };
    if got.is_empty() {
        return Ok(());
    }
    match input.first() {
        Some(0x05) => {
            // Method selection: no authentication (0x00), or none acceptable (0xFF).
            if got[0] != 0x05 || got.get(1).is_some_and(|m| *m != 0x00 && *m != 0xFF) {
                return wrong("not a SOCKS5 method selection");
            }
            if got.get(1) == Some(&0xFF) && got.len() > 2 {
                return wrong("bytes after \"no acceptable method\"");
            }
            // Then a failure reply: 05 REP 00 01 0.0.0.0:0 (RFC 1928 §6).
            if let Some(reply) = got.get(2..).filter(|r| !r.is_empty()) {
                if reply.first().is_some_and(|v| *v != 0x05) {
                    return wrong("a reply that is not SOCKS5");
                }
                if reply.get(1) == Some(&0x00) {
                    return wrong("a success reply, though every destination is denied");
                }
                if !answer.reset && reply.len() != 10 {
                    return wrong("a reply that is not 10 bytes long");
                }
            }
            Ok(())
        }
        Some(b'A'..=b'Z') => {
            let status_line = got.starts_with(b"HTTP/1.");
            // Cut short by a reset: a prefix of one.
            let cut = answer.reset && b"HTTP/1.".starts_with(got);
            if !status_line && !cut {
                return wrong("not an HTTP/1 status line");
            }
            if got.get(9) == Some(&b'2') {
                return wrong("a 2xx status, though every destination is denied");
            }
            Ok(())
        }
        _ => wrong("an answer to a first byte that is neither SOCKS5 nor HTTP"),
    }
}

/// Bytes shown as an escaped string (for a finding's message).
struct Escaped<'a>(&'a [u8]);

impl fmt::Debug for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = self.0.len().min(512);
        write!(f, "\"{}\"", self.0[..shown].escape_ascii())?;
        if shown < self.0.len() {
            write!(f, "… ({} bytes)", self.0.len())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(bytes: &[u8]) -> Answer {
        Answer {
            bytes: bytes.to_vec(),
            reset: false,
        }
    }

    #[test]
    fn answers_are_checked_by_the_first_byte() {
        let socks = [5, 1, 0];
        assert!(check(&socks, &answer(&[])).is_ok());
        assert!(check(&socks, &answer(&[5, 0])).is_ok());
        assert!(check(&socks, &answer(&[5, 0, 5, 2, 0, 1, 0, 0, 0, 0, 0, 0])).is_ok());
        assert!(check(&socks, &answer(&[5, 0, 5, 0, 0, 1, 0, 0, 0, 0, 0, 0])).is_err());
        assert!(check(&socks, &answer(&[5, 0xFF, 1])).is_err());
        assert!(check(&socks, &answer(&[4, 0])).is_err());
        let http = b"GET http://a.test/ HTTP/1.1\r\n\r\n";
        assert!(check(http, &answer(b"HTTP/1.1 403 Forbidden\r\n")).is_ok());
        assert!(check(http, &answer(b"HTTP/1.1 200 OK\r\n")).is_err());
        assert!(check(http, &answer(b"\x05\x00")).is_err());
        assert!(check(b"\x04\x01", &answer(b"x")).is_err());
        let cut = Answer {
            bytes: b"HTT".to_vec(),
            reset: true,
        };
        assert!(check(http, &cut).is_ok());
    }
}
