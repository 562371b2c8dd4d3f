//! `eyeballs proxy` with a real curl, in the network lab (root; skipped with a message
//! otherwise, required under CI=true; curl from `crates/eyeballs-cli/install-deps.sh`).
//! The proxy and curl both run in the lab's client namespace (`Lab::client_command`), the
//! proxy resolving through the lab's DNS server (`--dns`); the lab's servers answer HTTP
//! with the address that answered.

use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::process::{Child, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use eyeballs_lab::{Behavior, DnsRecords, Lab};

const V6: &str = "2001:db8::10";
const V4: &str = "198.18.0.10";

/// `eyeballs proxy` running in the lab's client namespace, killed on drop (also when the
/// test fails); its stderr collected line by line.
struct Proxy {
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
}

impl Proxy {
    /// Starts `eyeballs proxy --dns <lab DNS> ARGS` and waits until it listens.
    fn start(lab: &Lab, args: &[&str]) -> Proxy {
        let mut child = lab
            .client_command(env!("CARGO_BIN_EXE_eyeballs"))
            .unwrap()
            .args(["proxy", "--dns", &lab.dns_server_v4().to_string()])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let lines = Arc::clone(&log);
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                lines.lock().unwrap().push(line);
            }
        });
        let mut proxy = Proxy { child, log };
        proxy.wait_log(&["listening on"]);
        proxy
    }

    fn lines(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// Waits (up to 5 s) for a log line containing every one of `parts`.
    fn wait_log(&mut self, parts: &[&str]) -> String {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let found = self
                .log
                .lock()
                .unwrap()
                .iter()
                .find(|l| parts.iter().all(|p| l.contains(p)))
                .cloned();
            if let Some(line) = found {
                return line;
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("the proxy exited ({status}):\n{}", self.lines());
            }
            assert!(
                Instant::now() < deadline,
                "no log line with {parts:?}:\n{}",
                self.lines()
            );
            thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The lab: `dual.test` has an IPv6 address that black-holes and an IPv4 one that answers;
/// `refused.test` and `unreachable.test` have two addresses that refuse / are unreachable.
fn lab(test: &str) -> Option<Lab> {
    if !eyeballs_lab::require_root(test) {
        return None;
    }
    assert!(
        std::process::Command::new("curl")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success()),
        "{test}: curl is missing: run crates/eyeballs-cli/install-deps.sh"
    );
    let ip = |s: &str| s.parse().unwrap();
    let records = |v6: &str, v4: &str| DnsRecords {
        aaaa: vec![v6.parse::<Ipv6Addr>().unwrap()],
        a: vec![v4.parse::<Ipv4Addr>().unwrap()],
    };
    let lab = Lab::builder()
        .port(8080)
        .server(ip(V6), Behavior::BlackHole)
        .server(ip(V4), Behavior::Accept)
        .server(ip("2001:db8::13"), Behavior::Refuse)
        .server(ip("198.18.0.13"), Behavior::Refuse)
        .server(ip("2001:db8::12"), Behavior::Unreachable)
        .server(ip("198.18.0.12"), Behavior::Unreachable)
        .dns("dual.test", records(V6, V4))
        .dns("refused.test", records("2001:db8::13", "198.18.0.13"))
        .dns("unreachable.test", records("2001:db8::12", "198.18.0.12"))
        .start()
        .unwrap();
    Some(lab)
}

/// Runs curl in the client namespace (no .curlrc, no proxy from the environment) with
/// `args`; its output and how long it took, process start-up included.
fn curl(lab: &Lab, args: &[&str]) -> (Output, Duration) {
    let mut command = lab.client_command("curl").unwrap();
    command
        .args(["-q", "--silent", "--show-error", "--max-time", "5"])
        .args(args)
        .stdin(Stdio::null());
    for var in [
        "ALL_PROXY",
        "all_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "NO_PROXY",
        "no_proxy",
    ] {
        command.env_remove(var);
    }
    let start = Instant::now();
    let output = command.output().unwrap();
    (output, start.elapsed())
}

/// The `elapsed_ms=` of a log line.
fn elapsed_ms(line: &str) -> f64 {
    line.split(' ')
        .find_map(|w| w.strip_prefix("elapsed_ms="))
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn curl_through_the_proxy_falls_back_to_ipv4_when_ipv6_is_black_holed() {
    let Some(lab) = lab("curl_through_the_proxy_falls_back_to_ipv4_when_ipv6_is_black_holed")
    else {
        return;
    };
    let mut proxy = Proxy::start(&lab, &["--listen", "127.0.0.1:1080"]);
    let (out, took) = curl(
        &lab,
        &[
            "--socks5-hostname",
            "127.0.0.1:1080",
            "--write-out",
            "%{time_total}",
            "http://dual.test:8080/",
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "curl: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        proxy.lines()
    );
    // The body names the server that answered; curl's time follows it.
    let (body, curl_time) = stdout.rsplit_once('\n').unwrap();
    assert_eq!(body, V4, "{stdout}");
    let curl_time: f64 = curl_time.parse().unwrap();

    let line = proxy.wait_log(&["target=dual.test:8080", "winner=198.18.0.10:8080"]);
    assert!(line.contains("attempts=2"), "{line}");
    let race = elapsed_ms(&line);
    eprintln!(
        "curl through the proxy: {took:?} (curl's own time_total {:.1} ms); the race {race} ms",
        curl_time * 1e3
    );
    assert!(
        (225.0..=300.0).contains(&race),
        "the race took {race} ms, not one attempt delay (250 ms)"
    );
    assert!(took < Duration::from_secs(1), "curl took {took:?}");
    // IPv6 was tried first (and abandoned), IPv4 answered once.
    assert_eq!(lab.accepted_count(V4.parse().unwrap()), 1);
}

#[test]
fn curl_through_http_connect_on_an_ipv6_listener() {
    let Some(lab) = lab("curl_through_http_connect_on_an_ipv6_listener") else {
        return;
    };
    let mut proxy = Proxy::start(&lab, &["--listen", "[::1]:1080", "--http-connect"]);
    for proxy_args in [
        &["--proxytunnel", "--proxy", "http://[::1]:1080"][..],
        &["--socks5-hostname", "[::1]:1080"],
    ] {
        let (out, took) = curl(&lab, &[proxy_args, &["http://dual.test:8080/"]].concat());
        assert!(
            out.status.success(),
            "curl {proxy_args:?}: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            proxy.lines()
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout), format!("{V4}\n"));
        assert!(took < Duration::from_secs(1), "{proxy_args:?}: {took:?}");
    }
    let winners = proxy.lines().matches("winner=198.18.0.10:8080").count();
    assert_eq!(winners, 2, "{}", proxy.lines());
    let _ = proxy.wait_log(&["client=[::1]:"]);
}

#[test]
fn refused_and_unreachable_destinations_get_their_reply_codes() {
    let Some(lab) = lab("refused_and_unreachable_destinations_get_their_reply_codes") else {
        return;
    };
    let mut proxy = Proxy::start(&lab, &["--listen", "127.0.0.1:1080"]);
    for (host, reply) in [
        ("refused.test", "reply=0x05 (connection refused)"),
        ("unreachable.test", "reply=0x04 (host unreachable)"),
    ] {
        let url = format!("http://{host}:8080/");
        let (out, took) = curl(&lab, &["--socks5-hostname", "127.0.0.1:1080", &url]);
        assert!(!out.status.success(), "{host}: curl succeeded");
        let line = proxy.wait_log(&[&format!("target={host}:8080"), reply]);
        assert!(line.contains("attempts=2"), "{line}");
        // Both families failed at once: no attempt delay to wait out.
        assert!(took < Duration::from_millis(500), "{host}: {took:?}");
        eprintln!(
            "{host}: {line}\n  curl: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
}
