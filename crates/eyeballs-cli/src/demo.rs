//! `eyeballs demo`: a race staged on loopback, run through the real driver. No network, no
//! root.

use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;
use eyeballs::proto::{DnsResult, RecordType};
use eyeballs::resolver::{Lookup, Resolver};
use eyeballs::Connector;
use socket2::{Domain, Socket, Type};

use crate::output::{report_of, use_color, RaceView};
use crate::{exit, show_race};

/// The name the demo resolves (answered by the demo's own resolver, never sent anywhere).
const NAME: &str = "dual-stack.demo";
/// When the demo's resolver answers each query.
const A_AFTER: Duration = Duration::from_millis(5);
const AAAA_AFTER: Duration = Duration::from_millis(20);

/// Stage a Happy Eyeballs race on this machine's loopback and show it: an IPv6 address that
/// never answers the handshake (a black hole), an IPv4 address that refuses, and one that
/// accepts. Runs the real driver on real sockets; needs no network and no root; takes about a
/// quarter of a second.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Print one JSON object (the `connect --json` schema) instead of the timeline.
    #[arg(long)]
    pub json: bool,
}

/// The staged servers, kept alive for the race.
struct Stage {
    port: u16,
    black_hole: IpAddr,
    refusing: IpAddr,
    accepting: IpAddr,
    _keep: Vec<Box<dyn Send>>,
}

impl Stage {
    /// Finds a port where the black hole and the accepting listener can both be bound, on
    /// different loopback addresses, with nothing on the refusing address.
    fn new() -> io::Result<Stage> {
        let refusing = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
        let accepting = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let mut last = io::Error::other("no free port");
        for _ in 0..20 {
            // IPv6 loopback when the host has it, else another IPv4 loopback address.
            let hole = black_hole(IpAddr::V6(Ipv6Addr::LOCALHOST), 0)
                .or_else(|_| black_hole(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 3)), 0));
            let (hole_ip, hole_sockets, port) = match hole {
                Ok(h) => h,
                Err(e) => {
                    last = e;
                    continue;
                }
            };
            match TcpListener::bind(SocketAddr::new(accepting, port)) {
                Ok(listener) => {
                    return Ok(Stage {
                        port,
                        black_hole: hole_ip,
                        refusing,
                        accepting,
                        _keep: vec![Box::new(hole_sockets), Box::new(listener)],
                    })
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    }
}

/// A listener whose accept queue is full, so the kernel drops further SYNs: the handshake
/// never completes. Returns the address, what keeps it so, and its port.
#[allow(clippy::type_complexity)]
fn black_hole(ip: IpAddr, port: u16) -> io::Result<(IpAddr, (Socket, Vec<TcpStream>), u16)> {
    let domain = if ip.is_ipv6() {
        Domain::IPV6
    } else {
        Domain::IPV4
    };
    let listener = Socket::new(domain, Type::STREAM, None)?;
    listener.bind(&SocketAddr::new(ip, port).into())?;
    listener.listen(0)?;
    let addr = listener
        .local_addr()?
        .as_socket()
        .ok_or_else(|| io::Error::other("listener has no socket address"))?;
    let mut fill = Vec::new();
    for _ in 0..4 {
        match TcpStream::connect_timeout(&addr, Duration::from_millis(50)) {
            Ok(s) => fill.push(s),
            Err(_) => break,
        }
    }
    if fill.is_empty() {
        return Err(io::Error::other("could not fill the accept queue"));
    }
    Ok((ip, (listener, fill), addr.port()))
}

/// Answers the demo's name after fixed delays: A first, AAAA a little later.
#[derive(Debug)]
struct DemoResolver {
    aaaa: IpAddr,
    a: Vec<IpAddr>,
}

impl Resolver for DemoResolver {
    fn lookup(&self, _name: &str, record: RecordType) -> Lookup {
        let (after, ips) = if record == RecordType::Aaaa {
            (AAAA_AFTER, vec![self.aaaa])
        } else {
            (A_AFTER, self.a.clone())
        };
        let family = record.family();
        let ips: Vec<IpAddr> = ips
            .into_iter()
            .filter(|ip| Some(eyeballs::proto::Family::of(*ip)) == family)
            .collect();
        Box::pin(async move {
            tokio::time::sleep(after).await;
            if ips.is_empty() {
                DnsResult::NoData
            } else {
                DnsResult::addresses(ips)
            }
        })
    }
}

pub fn run(args: DemoArgs) -> ExitCode {
    let stage = match Stage::new() {
        Ok(s) => s,
        Err(e) => return exit::failure(&format!("cannot stage the demo on loopback: {e}")),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return exit::failure(&format!("cannot start the async runtime: {e}")),
    };
    let resolver = DemoResolver {
        aaaa: stage.black_hole,
        a: vec![stage.refusing, stage.accepting],
    };
    let origin = Instant::now();
    let result = runtime.block_on(
        Connector::new()
            .resolver(resolver)
            .timeout(Duration::from_secs(5))
            .connect(NAME, stage.port),
    );
    let (report, error) = match report_of(result) {
        Ok(outcome) => outcome,
        Err(e) => return exit::failure(&e.to_string()),
    };
    let view = RaceView::of_driver(NAME.to_owned(), stage.port, &report, error, origin);
    show_race(&view, args.json, |out, view| print_story(out, &stage, view))
}

fn print_story(out: &mut impl Write, stage: &Stage, view: &RaceView<'_>) -> io::Result<()> {
    let hole = SocketAddr::new(stage.black_hole, stage.port);
    let refusing = SocketAddr::new(stage.refusing, stage.port);
    let accepting = SocketAddr::new(stage.accepting, stage.port);
    writeln!(
        out,
        "eyeballs demo: a Happy Eyeballs race staged on this machine's loopback (no network, no root)\n"
    )?;
    writeln!(
        out,
        "  {NAME} resolves (by the demo's own resolver) to:\n    AAAA after {} ms: {hole}  never completes the handshake (a black hole)\n    A    after {} ms: {refusing}  refuses (TCP reset)\n                    {accepting}  accepts\n",
        AAAA_AFTER.as_millis(),
        A_AFTER.as_millis(),
    )?;
    view.print_text(out, use_color())?;
    writeln!(
        out,
        "\nWhat happened (RFC 8305):\n\
         - Both queries went out at once. A came first, so eyeballs waited up to the 50 ms\n  \
           Resolution Delay for AAAA, which came in time: IPv6 is preferred and went first.\n\
         - The IPv6 attempt hung, but did not hold up the race: 250 ms later (the Connection\n  \
           Attempt Delay) the first IPv4 address was tried alongside it.\n\
         - That one was refused, so the next address started at once (10 ms floor) and\n  \
           connected; the black-holed attempt was then cancelled and its socket closed.\n\
         A client that tries addresses one by one would have waited for the IPv6 attempt to\n\
         time out: over two minutes on Linux.\n\n\
         Try it on a real host: eyeballs connect example.com 443"
    )
}
