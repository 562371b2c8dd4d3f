//! `eyeballs proxy` and `eyeballs run` with real clients (curl, Python requests), in the
//! network lab (root; skipped with a message otherwise, required under CI=true; curl and
//! python3-venv from `crates/eyeballs-cli/install-deps.sh`, requests pinned into a venv under
//! the target directory made by the test). The proxy and its clients all run in the lab's
//! client namespace (`Lab::client_command`), the proxy resolving through the lab's DNS
//! server (`--dns`); the clients never resolve (socks5h and HTTP proxies resolve at the
//! proxy). The lab's servers answer HTTP GET with the address that answered and close;
//! `post.test`'s IPv4 server is the test's own (keep-alive, records bodies).

mod common;

use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::http::Origin;
use eyeballs_lab::{Behavior, DnsRecords, Lab};

const V6: &str = "2001:db8::10";
const V4: &str = "198.18.0.10";
/// `post.test`: a black-holed IPv6 address and the test's own HTTP server on IPv4.
const POST_V6: &str = "2001:db8::20";
const POST_V4: &str = "198.18.0.20";
/// requests, pinned (as in eyeballs-py's tests).
const REQUESTS: &str = "requests==2.32.5";

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
        .server(ip(POST_V6), Behavior::BlackHole)
        .server(ip(POST_V4), Behavior::External)
        .dns("post.test", records(POST_V6, POST_V4))
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
    let mut proxy = Proxy::start(&lab, &["--listen", "[::1]:1080"]);
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

/// A venv under the target directory with requests installed (once); its interpreter.
/// `Err` when it cannot be made (no python3-venv, no access to PyPI): a skip, except under
/// CI=true.
fn requests_python() -> Result<PathBuf, String> {
    let target = std::env::current_exe()
        .ok()
        .and_then(|exe| {
            exe.ancestors()
                .find(|d| d.join("CACHEDIR.TAG").is_file())
                .map(PathBuf::from)
        })
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../target")));
    let venv = target.join("proxy-lab-venv");
    let python = venv.join("bin/python");
    let stamp = venv.join("eyeballs-pins.txt");
    if std::fs::read_to_string(&stamp).is_ok_and(|s| s == REQUESTS) {
        return Ok(python);
    }
    let run = |command: &mut Command| -> Result<(), String> {
        let out = command.output().map_err(|e| format!("{command:?}: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{command:?}: {}\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    };
    if !python.exists() {
        run(Command::new("python3").arg("-m").arg("venv").arg(&venv))?;
    }
    run(Command::new(&python).args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        REQUESTS,
    ]))?;
    std::fs::write(&stamp, REQUESTS).map_err(|e| e.to_string())?;
    Ok(python)
}

fn requests_or_skip(test: &str) -> Option<PathBuf> {
    // Once per test binary: its tests run at once, and two pip installs into one venv at the
    // same time break it.
    static VENV: std::sync::OnceLock<Result<PathBuf, String>> = std::sync::OnceLock::new();
    match VENV.get_or_init(requests_python).clone() {
        Ok(python) => Some(python),
        Err(why) if std::env::var_os("CI").is_some_and(|v| !v.is_empty()) => {
            panic!("{test}: the requests venv is needed under CI: {why}")
        }
        Err(why) => {
            eprintln!("SKIPPED {test}: no venv with {REQUESTS}: {why}");
            None
        }
    }
}

/// What the Python snippets print: the status, the body, the time in ms.
const GET_DUAL: &str = "import time, requests\n\
t = time.monotonic()\n\
r = requests.get('http://dual.test:8080/', timeout=5)\n\
print(r.status_code, r.text.strip(), round((time.monotonic() - t) * 1000))\n";

/// `status body ms` as printed by [`GET_DUAL`].
fn parse_get(out: &Output) -> (u16, String, f64) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut words = stdout.split_whitespace();
    let status = words.next().and_then(|w| w.parse().ok()).unwrap_or(0);
    let body = words.next().unwrap_or("").to_owned();
    let ms = words
        .next()
        .and_then(|w| w.parse().ok())
        .unwrap_or(f64::NAN);
    (status, body, ms)
}

/// A command in the client namespace with no proxy variables of the caller's.
fn clean(lab: &Lab, program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut command = lab.client_command(program).unwrap();
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
    command.stdin(Stdio::null());
    command
}

#[test]
fn requests_with_http_proxy_falls_back_to_ipv4_in_one_attempt_delay() {
    let test = "requests_with_http_proxy_falls_back_to_ipv4_in_one_attempt_delay";
    let Some(lab) = lab(test) else {
        return;
    };
    let Some(python) = requests_or_skip(test) else {
        return;
    };
    let mut proxy = Proxy::start(&lab, &["--listen", "127.0.0.1:1080"]);
    let out = clean(&lab, &python)
        .args(["-c", GET_DUAL])
        .env("HTTP_PROXY", "http://127.0.0.1:1080")
        .env("HTTPS_PROXY", "http://127.0.0.1:1080")
        .output()
        .unwrap();
    let (status, body, ms) = parse_get(&out);
    assert_eq!(
        (status, body.as_str()),
        (200, V4),
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        proxy.lines()
    );
    let line = proxy.wait_log(&["target=dual.test:8080", "winner=198.18.0.10:8080"]);
    let race = elapsed_ms(&line);
    eprintln!("requests through HTTP_PROXY: {ms} ms (the race {race} ms)");
    assert!((225.0..=300.0).contains(&race), "{line}");
    assert!((200.0..=800.0).contains(&ms), "requests took {ms} ms");
}

#[test]
fn curl_with_an_http_proxy_keeps_the_client_connection_alive() {
    let test = "curl_with_an_http_proxy_keeps_the_client_connection_alive";
    let Some(lab) = lab(test) else {
        return;
    };
    let mut proxy = Proxy::start(&lab, &["--listen", "127.0.0.1:1080"]);
    let (out, took) = curl(
        &lab,
        &[
            "-x",
            "http://127.0.0.1:1080",
            "--write-out",
            "%{num_connects} %{time_total}\n",
            "http://dual.test:8080/",
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
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{stdout}");
    assert_eq!(lines[0], V4);
    assert_eq!(lines[2], V4);
    // One connection to the proxy for both requests (the lab's server closes its own after
    // each: the proxy races again upstream, keeps the client's).
    assert!(lines[1].starts_with("1 "), "{stdout}");
    assert!(
        lines[3].starts_with("0 "),
        "second request on the same connection: {stdout}"
    );
    let line = proxy.wait_log(&["target=dual.test:8080", "winner=198.18.0.10:8080"]);
    assert!((225.0..=300.0).contains(&elapsed_ms(&line)), "{line}");
    assert!(took < Duration::from_secs(2), "{took:?}");
}

#[test]
fn a_chunked_post_arrives_intact_and_both_sides_keep_alive() {
    let test = "a_chunked_post_arrives_intact_and_both_sides_keep_alive";
    let Some(lab) = lab(test) else {
        return;
    };
    let addr = SocketAddr::new(POST_V4.parse().unwrap(), 8080);
    let origin = lab
        .spawn_in_server(move || Origin::start_on(addr))
        .unwrap()
        .join()
        .unwrap();
    let proxy = Proxy::start(&lab, &["--listen", "127.0.0.1:1080"]);
    let body: String = (0..50_000)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    let file = std::env::temp_dir().join(format!("eyeballs-post-{}", std::process::id()));
    std::fs::write(&file, &body).unwrap();
    let data = format!("@{}", file.display());
    let (out, _) = curl(
        &lab,
        &[
            "-x",
            "http://127.0.0.1:1080",
            "-H",
            "Transfer-Encoding: chunked",
            "--data-binary",
            &data,
            "http://post.test:8080/one",
            "--next",
            "-x",
            "http://127.0.0.1:1080",
            "-H",
            "Transfer-Encoding: chunked",
            "--data-binary",
            &data,
            "http://post.test:8080/two",
        ],
    );
    let _ = std::fs::remove_file(&file);
    assert!(
        out.status.success(),
        "curl: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        proxy.lines()
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "POST /one 50000POST /two 50000"
    );
    let seen = origin.seen();
    assert_eq!(seen.len(), 2);
    for request in &seen {
        assert_eq!(request.body, body.as_bytes(), "{}", request.line);
        assert_eq!(request.header("via"), Some("1.1 eyeballs"));
        assert_eq!(request.connection, 0, "one upstream connection for both");
    }
    let races = proxy
        .lines()
        .matches("target=post.test:8080 winner=198.18.0.20:8080")
        .count();
    assert_eq!(races, 1, "{}", proxy.lines());
    drop(origin);
}

#[test]
fn eyeballs_run_fixes_curl_and_requests_with_no_change() {
    let test = "eyeballs_run_fixes_curl_and_requests_with_no_change";
    let Some(lab) = lab(test) else {
        return;
    };
    let Some(python) = requests_or_skip(test) else {
        return;
    };
    let dns = lab.dns_server_v4().to_string();
    let run = |command: &[&std::ffi::OsStr]| {
        let started = Instant::now();
        let out = clean(&lab, env!("CARGO_BIN_EXE_eyeballs"))
            .args(["run", "--log-races", "--dns", &dns, "--"])
            .args(command)
            .output()
            .unwrap();
        (out, started.elapsed())
    };
    let (out, took) = run(&[
        "curl".as_ref(),
        "-q".as_ref(),
        "--silent".as_ref(),
        "--show-error".as_ref(),
        "--max-time".as_ref(),
        "5".as_ref(),
        "http://dual.test:8080/".as_ref(),
    ]);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), format!("{V4}\n"));
    assert!(log.contains("winner=198.18.0.10:8080"), "{log}");
    assert!(
        took < Duration::from_secs(2),
        "eyeballs run -- curl: {took:?}"
    );

    let (out, took) = run(&[python.as_os_str(), "-c".as_ref(), GET_DUAL.as_ref()]);
    let log = String::from_utf8_lossy(&out.stderr);
    let (status, body, ms) = parse_get(&out);
    assert_eq!((status, body.as_str()), (200, V4), "{log}");
    assert!(
        (200.0..=800.0).contains(&ms),
        "requests took {ms} ms: {log}"
    );
    eprintln!("eyeballs run -- python3 (requests): {ms} ms in requests, {took:?} in all");
    // The command's status is eyeballs run's.
    let (out, _) = run(&[
        python.as_os_str(),
        "-c".as_ref(),
        "raise SystemExit(3)".as_ref(),
    ]);
    assert_eq!(out.status.code(), Some(3));
}
