//! `eyeballs proxy` as an HTTP forward proxy on loopback, no root: absolute-form requests
//! written by hand (and by curl) to the proxy, an origin on 127.0.0.1 that records what
//! reached it. All traffic stays on loopback; no name is looked up.

mod common;

use std::io::{BufReader, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::http::{header, read_response, Origin};
use common::*;

/// Sends `request` on `s` and reads one response.
fn exchange(
    s: &mut BufReader<TcpStream>,
    request: &[u8],
) -> (String, Vec<(String, String)>, Vec<u8>) {
    s.get_mut().write_all(request).unwrap();
    read_response(s)
}

fn client(proxy: &Proxy) -> BufReader<TcpStream> {
    BufReader::new(proxy.connect())
}

#[test]
fn absolute_form_is_sent_in_origin_form_without_hop_by_hop_headers() {
    let proxy = Proxy::start(&[]);
    let origin = Origin::start();
    let o = origin.addr;
    let mut s = client(&proxy);
    let (status, headers, body) = exchange(
        &mut s,
        format!(
            "GET http://{o}/path?q=1 HTTP/1.1\r\nHost: wrong.test\r\nProxy-Connection: keep-alive\r\n\
             Connection: keep-alive, X-Hop\r\nX-Hop: secret\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\n\
             Proxy-Authorization: Basic eDp5\r\nX-End-To-End: kept\r\nUser-Agent: test\r\n\r\n"
        )
        .as_bytes(),
    );
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(body, b"GET /path?q=1 0");
    // The response: the origin's hop-by-hop headers gone, Via added, the rest kept.
    assert_eq!(header(&headers, "x-origin"), Some("yes"));
    assert_eq!(header(&headers, "via"), Some("1.1 eyeballs"));
    for gone in ["x-origin-hop", "keep-alive"] {
        assert_eq!(header(&headers, gone), None, "{gone}: {headers:?}");
    }

    let seen = origin.seen();
    assert_eq!(seen.len(), 1);
    let r = &seen[0];
    assert_eq!(r.line, "GET /path?q=1 HTTP/1.1");
    assert_eq!(r.header("host"), Some(o.to_string().as_str()));
    assert_eq!(r.header("x-end-to-end"), Some("kept"));
    assert_eq!(r.header("user-agent"), Some("test"));
    assert_eq!(r.header("via"), Some("1.1 eyeballs"));
    for gone in [
        "proxy-connection",
        "x-hop",
        "keep-alive",
        "te",
        "proxy-authorization",
        "transfer-encoding",
        "upgrade",
    ] {
        assert_eq!(
            r.header(gone),
            None,
            "{gone} reached the origin: {:?}",
            r.headers
        );
    }
    let line = proxy.wait_log(&["connected", &format!("target={o}"), &format!("winner={o}")]);
    assert!(line.contains("attempts=1"), "{line}");
}

#[test]
fn keep_alive_on_both_sides_and_bodies_streamed_both_ways() {
    let proxy = Proxy::start(&[]);
    let origin = Origin::start();
    let o = origin.addr;
    let mut s = client(&proxy);

    // A chunked POST of 200 kB in uneven chunks arrives intact.
    let body: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let mut request = format!(
        "POST http://{o}/upload HTTP/1.1\r\nHost: {o}\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    .into_bytes();
    for chunk in body.chunks(33_333) {
        request.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        request.extend_from_slice(chunk);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    let (status, _, answer) = exchange(&mut s, &request);
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(answer, b"POST /upload 200000");

    // The same client connection: a Content-Length PUT, then a GET answered chunked.
    let (status, _, answer) = exchange(
        &mut s,
        format!("PUT http://{o}/put HTTP/1.1\r\nHost: {o}\r\nContent-Length: 5\r\n\r\nhello")
            .as_bytes(),
    );
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(answer, b"PUT /put 5");
    let (status, headers, answer) = exchange(
        &mut s,
        format!("GET http://{o}/chunked HTTP/1.1\r\nHost: {o}\r\n\r\n").as_bytes(),
    );
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(answer, b"GET /chunked 0");
    assert_eq!(header(&headers, "transfer-encoding"), Some("chunked"));

    let seen = origin.seen();
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[0].body, body, "the chunked body arrived intact");
    assert_eq!(seen[1].body, b"hello");
    // Three requests, one client connection, one origin connection, one race.
    assert!(seen.iter().all(|r| r.connection == 0), "{seen:?}");
    assert_eq!(
        origin.connections.load(std::sync::atomic::Ordering::SeqCst),
        1
    );
    proxy.wait_log(&["connected", &format!("target={o}")]);
    let races = proxy
        .lines()
        .iter()
        .filter(|l| l.contains("connected"))
        .count();
    assert_eq!(races, 1, "{}", proxy.lines().join("\n"));

    // A second origin on the same client connection: a new race, and the first origin's
    // connection is let go.
    let other = Origin::start();
    let (status, _, answer) = exchange(
        &mut s,
        format!("GET http://{}/other HTTP/1.1\r\n\r\n", other.addr).as_bytes(),
    );
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(answer, b"GET /other 0");
}

#[test]
fn http_1_0_clients_are_served() {
    let proxy = Proxy::start(&[]);
    let origin = Origin::start();
    let o = origin.addr;
    let mut s = client(&proxy);
    let (status, headers, body) = exchange(
        &mut s,
        format!("GET http://{o}/old HTTP/1.0\r\n\r\n").as_bytes(),
    );
    assert!(status.starts_with("HTTP/1."), "{status}");
    assert!(status.ends_with(" 200 OK"), "{status}");
    assert_eq!(body, b"GET /old 0");
    // No keep-alive asked for: the proxy closes after the response.
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest);
    assert!(rest.is_empty(), "{rest:?}");
    assert_eq!(header(&headers, "via"), Some("1.1 eyeballs"));
    assert_eq!(origin.seen()[0].line, "GET /old HTTP/1.1");
    assert_eq!(
        origin.seen()[0].header("host"),
        Some(o.to_string().as_str())
    );
}

#[test]
fn failures_get_their_status() {
    let proxy = Proxy::start(&[]);
    let refused = closed_port();
    for (request, status, logged) in [
        (
            format!("GET http://{refused}/ HTTP/1.1\r\n\r\n"),
            "502 Bad Gateway",
            "cause=refused",
        ),
        (
            "GET / HTTP/1.1\r\nHost: a.test\r\n\r\n".to_owned(),
            "400 Bad Request",
            "send the absolute URL",
        ),
        (
            "GET https://127.0.0.1:1/ HTTP/1.1\r\n\r\n".to_owned(),
            "400 Bad Request",
            "only http:// URLs",
        ),
        (
            "GET http://0.0.0.0:80/ HTTP/1.1\r\n\r\n".to_owned(),
            "403 Forbidden",
            "not allowed",
        ),
        (
            "GET http://127.0.0.1:0/ HTTP/1.1\r\n\r\n".to_owned(),
            "403 Forbidden",
            "port 0",
        ),
    ] {
        let mut s = client(&proxy);
        let (line, _, body) = exchange(&mut s, request.as_bytes());
        assert_eq!(line, format!("HTTP/1.1 {status}"), "{request}");
        let body = String::from_utf8(body).unwrap();
        assert!(body.starts_with("eyeballs proxy: "), "{body}");
        proxy.wait_log(&[logged]);
    }
    // A broken request is answered by hyper (400) and logged as a failed handshake.
    let mut s = proxy.connect();
    s.write_all(b"GET http://a.test/ HTTP/1.1\r\nBad Header\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    proxy.wait_log(&["handshake failed: HTTP"]);
}

#[test]
fn basic_authentication_on_every_request_and_failures_slowed_down() {
    let proxy = Proxy::start(&["--auth", "user:secret"]);
    let origin = Origin::start();
    let o = origin.addr;
    // dXNlcjpzZWNyZXQ= is base64("user:secret"); dXNlcjp3cm9uZw== of "user:wrong".
    let good = "Proxy-Authorization: Basic dXNlcjpzZWNyZXQ=\r\n";
    let bad = "Proxy-Authorization: Basic dXNlcjp3cm9uZw==\r\n";

    let mut s = client(&proxy);
    let (line, headers, _) = exchange(
        &mut s,
        format!("GET http://{o}/ HTTP/1.1\r\n\r\n").as_bytes(),
    );
    assert_eq!(line, "HTTP/1.1 407 Proxy Authentication Required");
    assert_eq!(
        header(&headers, "proxy-authenticate"),
        Some("Basic realm=\"eyeballs\"")
    );
    // The same connection, now with the credentials (as curl does after a 407).
    let (line, _, body) = exchange(
        &mut s,
        format!("GET http://{o}/in HTTP/1.1\r\n{good}\r\n").as_bytes(),
    );
    assert_eq!(line, "HTTP/1.1 200 OK");
    assert_eq!(body, b"GET /in 0");
    assert_eq!(origin.seen()[0].header("proxy-authorization"), None);

    // Wrong credentials: each answer waits longer (0.25 s, 0.5 s, 1 s from one address).
    let mut waits = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        let (line, _, _) = exchange(
            &mut s,
            format!("GET http://{o}/ HTTP/1.1\r\n{bad}\r\n").as_bytes(),
        );
        assert_eq!(line, "HTTP/1.1 407 Proxy Authentication Required");
        waits.push(started.elapsed());
    }
    for (wait, least) in waits.iter().zip([250, 500, 1000]) {
        assert!(
            *wait >= Duration::from_millis(least) && *wait < Duration::from_millis(least + 900),
            "{waits:?}"
        );
    }
    proxy.wait_log(&["authentication failed (HTTP Basic)"]);
    assert!(
        !proxy.lines().join("\n").contains("secret"),
        "a password in the log"
    );
}

#[test]
fn curl_through_the_http_proxy_with_keep_alive() {
    if Command::new("curl").arg("--version").output().is_err() {
        eprintln!("curl_through_the_http_proxy_with_keep_alive: skipped, curl is not installed");
        return;
    }
    let proxy = Proxy::start(&[]);
    let origin = Origin::start();
    let o = origin.addr;
    let out = Command::new("curl")
        .args(["-q", "--silent", "--show-error", "--max-time", "5"])
        .args([
            "--proxy",
            &format!("http://{}", proxy.addr),
            "--noproxy",
            "",
        ])
        .args([format!("http://{o}/one"), format!("http://{o}/two")])
        .args(["--data-binary", "@-", "-H", "Transfer-Encoding: chunked"])
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            child.stdin.take().unwrap().write_all(b"posted by curl")?;
            child.wait_with_output()
        })
        .unwrap();
    assert!(
        out.status.success(),
        "curl: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        proxy.lines().join("\n")
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "POST /one 14POST /two 14"
    );
    let seen = origin.seen();
    assert_eq!(seen[0].body, b"posted by curl");
    assert!(seen.iter().all(|r| r.connection == 0), "{seen:?}");
    drop(TcpStream::connect(proxy.addr).map(|s| s.shutdown(Shutdown::Both)));
}
