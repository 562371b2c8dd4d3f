//! `eyeballs run -- CMD`: the variables CMD gets, its exit status, signals forwarded, and
//! curl through the proxy to an origin on loopback. No root; all traffic on loopback.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use assert_cmd::Command as AssertCommand;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use predicates::prelude::*;

use common::http::Origin;

fn eyeballs() -> AssertCommand {
    let mut command = AssertCommand::new(env!("CARGO_BIN_EXE_eyeballs"));
    command.timeout(Duration::from_secs(10));
    for var in [
        "NO_PROXY",
        "no_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
    ] {
        command.env_remove(var);
    }
    command
}

#[test]
fn the_command_gets_the_proxy_variables() {
    let out = eyeballs()
        .args(["run", "--", "sh", "-c"])
        .arg(
            "echo \"$http_proxy|$https_proxy|$HTTP_PROXY|$HTTPS_PROXY|$ALL_PROXY|$all_proxy|\
             $NO_PROXY|$no_proxy\"",
        )
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    let fields: Vec<&str> = out.trim_end().split('|').collect();
    assert_eq!(fields.len(), 8, "{out}");
    let port = fields[0]
        .strip_prefix("http://127.0.0.1:")
        .unwrap_or_else(|| panic!("{out}"));
    assert!(port.parse::<u16>().is_ok_and(|p| p != 0), "{out}");
    let http = format!("http://127.0.0.1:{port}");
    let socks = format!("socks5h://127.0.0.1:{port}");
    assert_eq!(
        fields,
        [
            &http,
            &http,
            &http,
            &http,
            &socks,
            &socks,
            "localhost,127.0.0.0/8,::1",
            "localhost,127.0.0.0/8,::1"
        ],
    );
    // A NO_PROXY of the caller's is kept (and given to no_proxy too).
    eyeballs()
        .env("NO_PROXY", "internal.test")
        .args(["run", "--", "sh", "-c", "echo \"$NO_PROXY $no_proxy\""])
        .assert()
        .success()
        .stdout("internal.test internal.test\n");
}

#[test]
fn the_exit_status_is_the_commands() {
    eyeballs()
        .args(["run", "--", "sh", "-c", "exit 7"])
        .assert()
        .code(7);
    eyeballs().args(["run", "--", "true"]).assert().code(0);
    // Died of SIGTERM (15): 128 + 15.
    eyeballs()
        .args(["run", "--", "sh", "-c", "kill -TERM $$"])
        .assert()
        .code(143);
    eyeballs()
        .args(["run", "--", "/nonexistent/command"])
        .assert()
        .code(127)
        .stderr(predicate::str::contains("cannot run"));
    // Usage errors: no command, a bad option.
    eyeballs().args(["run"]).assert().code(2);
    eyeballs()
        .args(["run", "--idle-timeout", "0s", "--", "true"])
        .assert()
        .code(2);
}

/// Starts `eyeballs run -- sh -c SCRIPT` whose script traps the forwarded signals, waits
/// for it to say it is ready, sends `signal` to eyeballs, and returns the exit status and
/// what the command printed.
fn signalled(signal: Signal) -> (Option<i32>, String) {
    let script = "for s in INT TERM HUP QUIT; do trap \"echo got $s; exit 40\" $s; done; \
                  echo ready; while :; do sleep 0.02; done";
    let mut child = Command::new(env!("CARGO_BIN_EXE_eyeballs"))
        .args(["run", "--", "sh", "-c", script])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(10)).as_deref(),
        Ok("ready")
    );
    kill(Pid::from_raw(child.id() as i32), signal).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{signal}: eyeballs run did not exit");
        }
        thread::sleep(Duration::from_millis(10));
    };
    // Until the pipe closes (the command's last line may still be on its way).
    let mut printed = Vec::new();
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(5)) {
        printed.push(line);
    }
    (status.code(), printed.join("\n"))
}

#[test]
fn signals_are_forwarded_to_the_command() {
    for (signal, name) in [
        (Signal::SIGTERM, "TERM"),
        (Signal::SIGINT, "INT"),
        (Signal::SIGHUP, "HUP"),
        (Signal::SIGQUIT, "QUIT"),
    ] {
        let (code, printed) = signalled(signal);
        assert_eq!(printed, format!("got {name}"), "{signal}");
        assert_eq!(code, Some(40), "{signal}: the command's status");
    }
}

#[test]
fn curl_run_through_the_proxy_reaches_a_loopback_origin() {
    if Command::new("curl").arg("--version").output().is_err() {
        eprintln!("curl_run_through_the_proxy_reaches_a_loopback_origin: skipped, no curl");
        return;
    }
    let origin = Origin::start();
    // Loopback is in the default NO_PROXY: cleared inside the command so that curl goes
    // through the proxy.
    let script = format!(
        "NO_PROXY= no_proxy= curl -q --silent --show-error --max-time 5 http://{}/via-run",
        origin.addr
    );
    let out = eyeballs()
        .args([
            "run",
            "--allow-loopback",
            "--log-races",
            "--",
            "sh",
            "-c",
            &script,
        ])
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "GET /via-run 0");
    let seen = origin.seen();
    assert_eq!(
        seen[0].header("via"),
        Some("1.1 eyeballs"),
        "through the proxy"
    );
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        log.contains(&format!("target={}", origin.addr)) && log.contains("connected"),
        "--log-races: {log}"
    );

    // Without --log-races, a successful run logs nothing; a failed race is logged.
    let closed = common::closed_port();
    let script = format!(
        "NO_PROXY= no_proxy= curl -q --silent --max-time 5 http://{}/ http://{closed}/",
        origin.addr
    );
    let out = eyeballs()
        .args(["run", "--allow-loopback", "--", "sh", "-c", &script])
        .assert()
        .get_output()
        .clone();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(!log.contains("connected"), "{log}");
    assert!(
        log.contains(&format!("target={closed}")) && log.contains("status=502"),
        "{log}"
    );
}
