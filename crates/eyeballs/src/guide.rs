//! The guide: how eyeballs fits into the HTTP clients and frameworks people use.
//!
//! Documentation only, no items: the explanations that would stand in the way of the API
//! docs live here, one chapter per module.
//!
//! - [`hyper_clients`]: hyper-util's client and tonic (through the connectors of the `hyper`
//!   feature), and why reqwest has no adapter.
//! - [`http3_clients`]: HTTP/3 where UDP works and HTTP/2 where it does not (feature `quic`).
//! - [`blocking_clients`]: ureq 3 (a recipe pinned to ureq 3.5.2, built and run by the
//!   tests), and any client that takes a connected `std::net::TcpStream`.
//!
//! Every client below gets the same race: AAAA and A asked at once, each answer used as it
//! arrives, the families interleaved, staggered attempts, the first to connect wins (see the
//! [crate docs](crate)).

pub mod http3_clients {
    //! HTTP/3 and HTTP/2 from one race (feature `quic`).
    //!
    //! hyper has no HTTP/3, so the hyper connectors race TCP (and TLS) only. For HTTP/3, race
    //! with `eyeballs::secure::SecureConnector` and `.quic(["h3"])`: QUIC and TCP+TLS attempts
    //! alternate on one schedule (HEv3 §6), and the winner is either a `quinn::Connection`
    //! (hand it to `h3_quinn::Connection::new` and `h3::client::new`) or a TLS stream (hand it
    //! to hyper's HTTP/2 or HTTP/1.1 client by its ALPN). `examples/h3_get.rs` is the whole
    //! recipe, tested against the lab's servers over both.
    //!
    //! QUIC endpoints come from the host's HTTPS records that advertise `h3` and from what the
    //! client already knows: give an `Alt-Svc: h3=":443"` (or configuration) to
    //! [`Connector::known_service`](crate::Connector::known_service). A path that stalled
    //! over QUIC (UDP blocked) is remembered apart from TCP: the next race to that host leads
    //! with TCP. The h3 crates are 0.0.x: their API moves between minor versions, and a
    //! connection needs a task of its own to drive it.
}

pub mod hyper_clients {
    //! hyper-util's client, tonic and reqwest (feature `hyper`; HTTPS with `rustls`).
    //!
    //! # hyper-util
    //!
    //! hyper-util's `Client` takes any `tower_service::Service<Uri>` connector: build it with
    //! [`HttpConnector`] (plain TCP raced by an [`eyeballs::Connector`](crate::Connector)) or
    //! [`HttpsConnector`] (an attempt wins once its TLS handshake is done, V3-6.1.3). Each
    //! response tells which address won and carries the race's report; see the
    //! [`hyper` module] for the example and the details.
    //!
    //! # tonic
    //!
    //! tonic's `Endpoint::connect_with_connector` takes any such connector. For plain
    //! `http://` endpoints use [`HttpConnector`]; for `https://` use [`HttpsConnector`] with a
    //! rustls configuration that offers `h2` by ALPN (gRPC needs HTTP/2), rather than tonic's
    //! own TLS settings: tonic's TLS would wrap the race from outside, after a TCP winner is
    //! chosen.
    //!
    //! ```ignore
    //! // Needs tonic (not a dependency of eyeballs).
    //! let connector = eyeballs::hyper::HttpConnector::new(eyeballs::Connector::new());
    //! let channel = tonic::transport::Endpoint::from_static("http://grpc.example.com:50051")
    //!     .connect_with_connector(connector)
    //!     .await?;
    //! let mut client = GreeterClient::new(channel);
    //! ```
    //!
    //! # reqwest
    //!
    //! reqwest has no documented hook that fits Happy Eyeballs, so this crate has no reqwest
    //! adapter:
    //! - `ClientBuilder::dns_resolver` takes a `reqwest::dns::Resolve`, whose future returns
    //!   all addresses at once: it must wait for both the AAAA and the A answer (against
    //!   HE-3.3 and the Resolution Delay, HE-3.6: a slow AAAA query stalls every connection),
    //!   and reqwest's own connector (hyper-util's `HttpConnector`) then makes the attempts:
    //!   the addresses of the first family one after another, each until it fails, the other
    //!   family after a single fallback delay; no interleaving (HE-4.7), no staggered
    //!   attempts (HE-5.1), no report. In the lab, with the first IPv6 address and the IPv4
    //!   address black-holed and a second IPv6 address working, that connector had not
    //!   connected after 2 s; this one connected at 500 ms
    //!   (`crates/eyeballs/tests/hyper_lab.rs`).
    //! - `ClientBuilder::connector_layer` wraps reqwest's connector service, whose request
    //!   and response types (`Unnameable`, `Conn`) cannot be named or built outside reqwest:
    //!   a layer can delay, limit or time out a connection, not make it.
    //!
    //! Use hyper-util's client with [`HttpConnector`] or [`HttpsConnector`] instead, or, for
    //! a raw stream, [`Connector::connect`](crate::Connector::connect).
    //!
    // The connectors exist with their features only; without them, links lead here.
    #![cfg_attr(
        feature = "hyper",
        doc = "[`HttpConnector`]: crate::hyper::HttpConnector"
    )]
    #![cfg_attr(not(feature = "hyper"), doc = "[`HttpConnector`]: self")]
    #![cfg_attr(feature = "hyper", doc = "[`hyper` module]: crate::hyper")]
    #![cfg_attr(not(feature = "hyper"), doc = "[`hyper` module]: self")]
    #![cfg_attr(
        feature = "rustls",
        doc = "[`HttpsConnector`]: crate::hyper::HttpsConnector"
    )]
    #![cfg_attr(not(feature = "rustls"), doc = "[`HttpsConnector`]: self")]
}

pub mod blocking_clients {
    //! ureq, and other clients without an async runtime (feature `blocking`, Unix).
    //!
    //! Any client that takes a connected [`std::net::TcpStream`] can use a
    //! [`blocking::Connector`] directly: race, then hand over
    //! [`Connection::into_stream`](crate::Connection::into_stream).
    //!
    //! # ureq
    //!
    //! There is no ureq adapter in this crate, because ureq has no stable hook for one:
    //! ureq 2 lets an agent replace only its resolver (a list of addresses that ureq then
    //! tries one at a time), and ureq 3's `Connector`, `Transport` and `Resolver` traits live
    //! in its `unversioned` module, outside semver (ureq may change them in any minor
    //! release, never in a patch release).
    //!
    //! With ureq 3 you can write the adapter yourself, pinned to a ureq minor version.
    //! The full code, written against **ureq 3.5.2**, is the example
    //! `crates/eyeballs/examples/ureq_connector.rs`
    //! (`cargo run -p eyeballs --features blocking --example ureq_connector`); the tests
    //! build it and run it against an HTTP server on 127.0.0.1
    //! (`crates/eyeballs/tests/ureq_example.rs`). Pin the version you copy it for
    //! (`ureq = "~3.5"`) and recheck on upgrade. Its parts:
    //!
    //! - A `ureq::unversioned::transport::Connector` whose `connect` races the request's host
    //!   **by name** and port (not ureq's resolved `details.addrs`, which would lose the
    //!   separate AAAA and A queries and the Resolution Delay, HE-3.3 to HE-3.6), bounded by
    //!   ureq's connect timeout, and returns the winner as a ureq `Transport`. ureq 3.5 does
    //!   not export its own `TcpTransport`, so the example has a small one,
    //!   `StreamTransport`, over the `TcpStream`.
    //! - A `Resolver` that looks nothing up, since the race resolves (with ureq's default
    //!   resolver, every request would first wait for a whole `getaddrinfo`).
    //! - `Agent::with_parts(config, connector, resolver)`, with no proxy in the config: the
    //!   connector connects to the request's host, not to a proxy.
    //!
    //! The heart of it (`example` is the example file; this snippet is compiled and run by
    //! the doc tests):
    //!
    #![cfg_attr(all(feature = "blocking", unix), doc = "```")]
    #![cfg_attr(not(all(feature = "blocking", unix)), doc = "```ignore")]
    //! # #[allow(dead_code)]
    //! # #[path = "../examples/ureq_connector.rs"]
    //! # mod example;
    //! # fn main() -> Result<(), Box<dyn std::error::Error>> {
    //! use ureq::config::Config;
    //! use ureq::http::Uri;
    //! use ureq::unversioned::resolver::{ResolvedSocketAddrs, Resolver};
    //! use ureq::unversioned::transport::{ConnectionDetails, Connector, NextTimeout};
    //! use ureq::Agent;
    //!
    //! use example::{host_and_port, ureq_error, StreamTransport};
    //!
    //! #[derive(Debug)]
    //! struct EyeballsConnector(eyeballs::blocking::Connector);
    //!
    //! impl Connector<()> for EyeballsConnector {
    //!     type Out = StreamTransport;
    //!
    //!     fn connect(
    //!         &self,
    //!         details: &ConnectionDetails,
    //!         _chained: Option<()>,
    //!     ) -> Result<Option<StreamTransport>, ureq::Error> {
    //!         // By name: eyeballs asks AAAA and A itself, and races the answers.
    //!         let (host, port) = host_and_port(details.uri)?;
    //!         let stream = self
    //!             .0
    //!             .connect(host, port)
    //!             .map_err(|e| ureq_error(e, details.timeout))?
    //!             .into_stream();
    //!         let transport = StreamTransport::new(stream, details.config);
    //!         (details.register_shutdown)(transport.shutdown_handle())?;
    //!         Ok(Some(transport))
    //!     }
    //! }
    //!
    //! /// ureq looks nothing up: the race does.
    //! #[derive(Debug)]
    //! struct NoLookup;
    //!
    //! impl Resolver for NoLookup {
    //!     fn resolve(
    //!         &self,
    //!         _: &Uri,
    //!         _: &Config,
    //!         _: NextTimeout,
    //!     ) -> Result<ResolvedSocketAddrs, ureq::Error> {
    //!         Ok(self.empty())
    //!     }
    //! }
    //!
    //! let connector = EyeballsConnector(eyeballs::blocking::Connector::new());
    //! let config = Agent::config_builder().proxy(None).build();
    //! let agent = Agent::with_parts(config, connector, NoLookup);
    //! # let server = example::Server::start("hello")?;
    //! # let url = format!("http://{}/", server.addr());
    //! // `url`: any `http://` URL; in this test, a server of its own on 127.0.0.1.
    //! let body = agent.get(&url).call()?.body_mut().read_to_string()?;
    //! # assert_eq!(body, "hello");
    //! # Ok(())
    //! # }
    //! ```
    //!
    //! The example's connector also lets ureq's connect timeout cap the race, and maps
    //! eyeballs' errors to ureq's: a timeout to `ureq::Error::Timeout`, no address to
    //! `HostNotFound`, anything else to `ureq::Error::Io` with the fitting
    //! [`io::ErrorKind`](std::io::ErrorKind) and the [`eyeballs::Error`](crate::Error),
    //! report included, as the `io::Error`'s inner error.
    //!
    //! For HTTPS, chain ureq's TLS connector after it (ureq feature `rustls`):
    //! `connector.chain(RustlsConnector::default())`. The race then ends at the TCP
    //! handshake; for a race that ends only once TLS is done (V3-6.1.3), make each attempt
    //! TCP and TLS with [`blocking::Connector::race`] in a connector of your own.
    //!
    // `blocking` exists with its feature only (and on Unix); without it, links lead here.
    #![cfg_attr(
        all(feature = "blocking", unix),
        doc = "[`blocking::Connector`]: crate::blocking::Connector"
    )]
    #![cfg_attr(
        not(all(feature = "blocking", unix)),
        doc = "[`blocking::Connector`]: self"
    )]
    #![cfg_attr(
        all(feature = "blocking", unix),
        doc = "[`blocking::Connector::race`]: crate::blocking::Connector::race"
    )]
    #![cfg_attr(
        not(all(feature = "blocking", unix)),
        doc = "[`blocking::Connector::race`]: self"
    )]
}
