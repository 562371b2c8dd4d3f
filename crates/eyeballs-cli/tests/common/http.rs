//! HTTP/1.1 by hand for the tests: an origin server on loopback that records what reached
//! it, and a client that reads one response (Content-Length, chunked, or until close).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// One request as the origin received it.
#[derive(Debug, Clone)]
pub struct Seen {
    /// The request line.
    pub line: String,
    /// Header names (lower case) and values, in order.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
    /// Which of the origin's connections it came on (0, 1, ...).
    pub connection: usize,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// An HTTP/1.1 origin on 127.0.0.1 that keeps connections alive and answers every request
/// `200` with `Content-Length`, a hop-by-hop header of its own (`Connection: X-Origin-Hop`,
/// `X-Origin-Hop`, `Keep-Alive`), and a body `METHOD PATH BODY-LENGTH`; `/chunked` is
/// answered chunked.
pub struct Origin {
    pub addr: SocketAddr,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    pub connections: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl Origin {
    /// On 127.0.0.1, a port chosen by the OS.
    pub fn start() -> Origin {
        Origin::start_on(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
    }

    /// On `addr`. Its threads end once it is dropped (the listener's within 20 ms, each
    /// connection's when its client closes).
    pub fn start_on(addr: SocketAddr) -> Origin {
        let listener = TcpListener::bind(addr).unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (log, count, stopped) = (
            Arc::clone(&seen),
            Arc::clone(&connections),
            Arc::clone(&stop),
        );
        thread::spawn(move || {
            while !stopped.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        stream.set_nonblocking(false).unwrap();
                        let id = count.fetch_add(1, Ordering::SeqCst);
                        let log = Arc::clone(&log);
                        thread::spawn(move || serve(stream, id, &log));
                    }
                    Err(_) => thread::sleep(Duration::from_millis(20)),
                }
            }
        });
        Origin {
            addr,
            seen,
            connections,
            stop,
        }
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for Origin {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn serve(stream: TcpStream, id: usize, log: &Mutex<Vec<Seen>>) {
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    while let Some((line, headers)) = read_head(&mut reader) {
        let body = read_body(&mut reader, &headers, false);
        let close = headers
            .iter()
            .any(|(n, v)| n == "connection" && v.eq_ignore_ascii_case("close"));
        let mut words = line.split(' ');
        let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
        let answer = format!("{method} {path} {}", body.len());
        let response = if path == "/chunked" {
            let half = answer.len() / 2;
            format!(
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{}\r\n{:x}\r\n{}\r\n0\r\n\r\n",
                half,
                &answer[..half],
                answer.len() - half,
                &answer[half..]
            )
        } else {
            format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: keep-alive, X-Origin-Hop\r\n\
                 X-Origin-Hop: 1\r\nKeep-Alive: timeout=30\r\nX-Origin: yes\r\n\r\n{answer}",
                answer.len()
            )
        };
        log.lock().unwrap().push(Seen {
            line,
            headers,
            body,
            connection: id,
        });
        if writer.write_all(response.as_bytes()).is_err() || close {
            break;
        }
    }
}

/// Reads a head: the first line and the headers; `None` at EOF.
pub fn read_head(reader: &mut impl BufRead) -> Option<(String, Vec<(String, String)>)> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).ok()? == 0 {
            return None;
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    Some((line.trim_end().to_owned(), headers))
}

/// Reads a body framed by `headers`: chunked, Content-Length, or (a response with neither,
/// `until_close`) everything until EOF.
pub fn read_body(
    reader: &mut impl BufRead,
    headers: &[(String, String)],
    until_close: bool,
) -> Vec<u8> {
    let get = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v);
    let mut body = Vec::new();
    if get("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked")) {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).unwrap();
            let size = usize::from_str_radix(size.trim().split(';').next().unwrap(), 16).unwrap();
            let mut chunk = vec![0u8; size + 2];
            reader.read_exact(&mut chunk).unwrap();
            if size == 0 {
                // The empty line after the last chunk (no trailers are sent).
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    } else if let Some(length) = get("content-length") {
        body.resize(length.parse().unwrap(), 0);
        reader.read_exact(&mut body).unwrap();
    } else if until_close {
        reader.read_to_end(&mut body).unwrap();
    }
    body
}

/// One response read from `reader`: status line, headers, body.
pub fn read_response(reader: &mut impl BufRead) -> (String, Vec<(String, String)>, Vec<u8>) {
    let (line, headers) = read_head(reader).expect("a response");
    let until_close = !headers.iter().any(|(n, _)| n == "content-length");
    let body = read_body(
        reader,
        &headers,
        until_close && line.starts_with("HTTP/1.0"),
    );
    (line, headers, body)
}

pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}
