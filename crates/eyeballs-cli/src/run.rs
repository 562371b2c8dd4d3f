//! `eyeballs run [proxy options] -- CMD [ARGS]`: the proxy on an ephemeral loopback port,
//! CMD run with the proxy variables pointing at it, signals forwarded, CMD's exit status.

use std::ffi::OsString;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::process::{ExitCode, ExitStatus};

use clap::Args;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use tokio::process::{Child, Command};
use tokio::signal::unix::{signal, SignalKind};

use crate::proxy::log::{failure, warn};
use crate::proxy::{self, ProxyOptions};

/// What `NO_PROXY` and `no_proxy` are set to when neither is set: loopback goes direct.
pub const DEFAULT_NO_PROXY: &str = "localhost,127.0.0.0/8,::1";

/// Exit status when CMD cannot be found (as a shell's).
const NOT_FOUND: u8 = 127;
/// Exit status when CMD was found but cannot be run (as a shell's).
const CANNOT_RUN: u8 = 126;

/// Run a command with Happy Eyeballs for its connections, no code change: starts the proxy
/// on an ephemeral port of 127.0.0.1, runs CMD with the proxy variables pointing at it, and
/// stops the proxy when CMD exits. The operator's one-line fix: `eyeballs run -- python3
/// script.py`.
///
/// CMD gets http_proxy, https_proxy, HTTP_PROXY and HTTPS_PROXY = http://127.0.0.1:PORT
/// (requests, urllib, pip, curl, wget, git, Go's net/http, reqwest read them), and
/// ALL_PROXY and all_proxy = socks5h://127.0.0.1:PORT (curl; host names resolved by the
/// proxy). NO_PROXY and no_proxy are kept if either is set (each set to the other's value
/// if only one is), else set to "localhost,127.0.0.0/8,::1". Node's http module reads none
/// of them. Any proxy variable already set is replaced.
///
/// SIGINT, SIGTERM, SIGHUP and SIGQUIT are forwarded to CMD (SIGINT and SIGQUIT not when
/// CMD is in the terminal's foreground process group: the terminal sent them to CMD
/// already). The proxy logs only failures (races that failed, refusals) on stderr, unless
/// --log-races.
///
/// Exit status: CMD's; 128 + the signal's number if CMD died of a signal; 127 if CMD was
/// not found, 126 if it could not be run; 1 if the proxy could not start; 2 usage error.
#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub proxy: ProxyOptions,

    /// Log every race (the winner and how long it took), not only failures.
    #[arg(long)]
    pub log_races: bool,

    /// The command to run and its arguments, after `--`.
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<OsString>,
}

/// Runs the command behind the proxy; its exit status.
pub fn run(args: RunArgs) -> ExitCode {
    let (mut settings, limits) = match args.proxy.prepare() {
        Ok(prepared) => prepared,
        Err(code) => return code,
    };
    let Some((program, program_args)) = args.command.split_first() else {
        return crate::usage_error("give the command to run after --");
    };
    let runtime = match proxy::runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let code = runtime.block_on(async {
        // Caught from before CMD starts: none kills eyeballs and leaves CMD behind.
        let signals = match Forwarded::new() {
            Ok(s) => s,
            Err(e) => return failure(format_args!("cannot handle signals: {e}")),
        };
        let listen = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        let listener = match proxy::listen(listen, &args.proxy, &mut settings, limits).await {
            Ok(l) => l,
            Err(code) => return code,
        };
        let port = listener.local_addr().map_or(0, |a| a.port());
        let child = Command::new(program)
            .args(program_args)
            .envs(proxy_env(port, |name| std::env::var_os(name)))
            .kill_on_drop(true)
            .spawn();
        let child = match child {
            Ok(child) => child,
            Err(e) => return spawn_failed(program, &e),
        };
        proxy::serve(listener, settings, limits, supervise(child, signals)).await
    });
    // Relays still open end with CMD: CMD was their only client.
    runtime.shutdown_background();
    code
}

/// The variables CMD gets for a proxy on 127.0.0.1:`port`, given how the current
/// environment reads (`current`).
pub fn proxy_env(
    port: u16,
    current: impl Fn(&str) -> Option<OsString>,
) -> Vec<(&'static str, OsString)> {
    let http = OsString::from(format!("http://127.0.0.1:{port}"));
    let socks = OsString::from(format!("socks5h://127.0.0.1:{port}"));
    let mut env: Vec<(&'static str, OsString)> =
        ["http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"]
            .into_iter()
            .map(|name| (name, http.clone()))
            .collect();
    env.push(("ALL_PROXY", socks.clone()));
    env.push(("all_proxy", socks));
    let set = |name: &str| current(name).filter(|v| !v.is_empty());
    let (upper, lower) = match (set("NO_PROXY"), set("no_proxy")) {
        (Some(upper), Some(lower)) => (upper, lower),
        (Some(one), None) | (None, Some(one)) => (one.clone(), one),
        (None, None) => (DEFAULT_NO_PROXY.into(), DEFAULT_NO_PROXY.into()),
    };
    env.push(("NO_PROXY", upper));
    env.push(("no_proxy", lower));
    env
}

/// The status for a command that could not start.
fn spawn_failed(program: &OsString, e: &io::Error) -> ExitCode {
    let _ = failure(format_args!("cannot run {program:?}: {e}"));
    ExitCode::from(if e.kind() == io::ErrorKind::NotFound {
        NOT_FOUND
    } else {
        CANNOT_RUN
    })
}

/// SIGINT, SIGTERM, SIGHUP and SIGQUIT, caught to be forwarded.
struct Forwarded {
    streams: Vec<(Signal, tokio::signal::unix::Signal)>,
}

impl Forwarded {
    fn new() -> io::Result<Self> {
        let mut streams = Vec::new();
        for (forwarded, kind) in [
            (Signal::SIGINT, SignalKind::interrupt()),
            (Signal::SIGTERM, SignalKind::terminate()),
            (Signal::SIGHUP, SignalKind::hangup()),
            (Signal::SIGQUIT, SignalKind::quit()),
        ] {
            streams.push((forwarded, signal(kind)?));
        }
        Ok(Forwarded { streams })
    }

    /// The next signal received.
    async fn recv(&mut self) -> Signal {
        let next = first_signal(&mut self.streams);
        next.await
    }
}

/// Waits for the first of `streams` to deliver a signal.
async fn first_signal(streams: &mut [(Signal, tokio::signal::unix::Signal)]) -> Signal {
    std::future::poll_fn(|cx| {
        for (which, stream) in streams.iter_mut() {
            if stream.poll_recv(cx).is_ready() {
                return std::task::Poll::Ready(*which);
            }
        }
        std::task::Poll::Pending
    })
    .await
}

/// Waits for CMD to exit, forwarding signals to it; then its exit status.
async fn supervise(mut child: Child, mut signals: Forwarded) -> ExitCode {
    loop {
        tokio::select! {
            status = child.wait() => return match status {
                Ok(status) => exit_code(status),
                Err(e) => failure(format_args!("cannot wait for the command: {e}")),
            },
            signal = signals.recv() => forward(&child, signal),
        }
    }
}

/// Sends `signal` to CMD, unless the terminal sent it there already.
fn forward(child: &Child, signal: Signal) {
    let Some(pid) = child.id().and_then(|id| i32::try_from(id).ok()) else {
        // Exited already: its status is next.
        return;
    };
    if matches!(signal, Signal::SIGINT | Signal::SIGQUIT) && in_terminal_foreground() {
        return;
    }
    if let Err(e) = kill(Pid::from_raw(pid), signal) {
        warn(format_args!("cannot forward {signal} to the command: {e}"));
    }
}

/// Whether this process (and so CMD, in the same process group) is in the foreground group
/// of the terminal on stdin: then Ctrl-C and Ctrl-\ reach CMD from the terminal itself.
fn in_terminal_foreground() -> bool {
    nix::unistd::tcgetpgrp(io::stdin()).is_ok_and(|group| group == nix::unistd::getpgrp())
}

/// CMD's exit status as ours: its code, or 128 + the signal that ended it.
fn exit_code(status: ExitStatus) -> ExitCode {
    use std::os::unix::process::ExitStatusExt;
    let code = match (status.code(), status.signal()) {
        (Some(code), _) => code,
        (None, Some(signal)) => 128 + signal,
        (None, None) => 1,
    };
    // Exit codes are 0 to 255 on Unix; 128 + a signal number is at most 128 + 64.
    ExitCode::from(u8::try_from(code & 0xff).unwrap_or(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(current: &[(&str, &str)]) -> Vec<(&'static str, String)> {
        let current: Vec<(String, OsString)> = current
            .iter()
            .map(|(k, v)| ((*k).to_owned(), OsString::from(v)))
            .collect();
        proxy_env(4321, |name| {
            current
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        })
        .into_iter()
        .map(|(k, v)| (k, v.into_string().unwrap()))
        .collect()
    }

    #[test]
    fn proxy_variables_point_at_the_port_and_no_proxy_is_kept_or_defaulted() {
        let env = env_of(&[("http_proxy", "http://elsewhere:3128")]);
        let get = |env: &[(&str, String)], name: &str| {
            env.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.clone())
                .unwrap()
        };
        for name in ["http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"] {
            assert_eq!(get(&env, name), "http://127.0.0.1:4321", "{name}");
        }
        for name in ["ALL_PROXY", "all_proxy"] {
            assert_eq!(get(&env, name), "socks5h://127.0.0.1:4321", "{name}");
        }
        assert_eq!(get(&env, "NO_PROXY"), DEFAULT_NO_PROXY);
        assert_eq!(get(&env, "no_proxy"), DEFAULT_NO_PROXY);

        let env = env_of(&[("no_proxy", "internal.test")]);
        assert_eq!(get(&env, "NO_PROXY"), "internal.test");
        assert_eq!(get(&env, "no_proxy"), "internal.test");
        let env = env_of(&[("NO_PROXY", "a.test"), ("no_proxy", "b.test")]);
        assert_eq!(get(&env, "NO_PROXY"), "a.test");
        assert_eq!(get(&env, "no_proxy"), "b.test");
        let env = env_of(&[("NO_PROXY", "")]);
        assert_eq!(get(&env, "NO_PROXY"), DEFAULT_NO_PROXY);
    }
}
