//! Network namespaces, external commands and threads that live inside a namespace.
//!
//! Every command that changes addresses, routes or firewall rules runs *inside* one of
//! the lab's namespaces (`ip -n NAME ...` or `ip netns exec NAME ...`); nothing here
//! touches the root namespace except creating and deleting the named namespaces
//! themselves (`ip netns add` / `ip netns del`) and their `/etc/netns/NAME` directories.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Mutex, Once};
use std::thread::JoinHandle;

use nix::sched::CloneFlags;

use crate::LabError;

/// Prefix of every namespace the lab creates: `eyeballs-lab-<pid>-<n>-{client,server}`.
pub(crate) const NS_PREFIX: &str = "eyeballs-lab-";

/// Where `ip netns` keeps its named namespaces.
const NETNS_DIR: &str = "/run/netns";

/// Serialises `ip netns add/del` inside this process: concurrent first-time `ip netns add`
/// calls race on making `/run/netns` a shared mount point.
static NETNS_LOCK: Mutex<()> = Mutex::new(());

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A fresh, process-unique lab id: `<pid>-<n>`.
pub(crate) fn next_lab_id() -> String {
    format!(
        "{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Where `ip netns exec NAME` finds the files it bind-mounts over those of `/etc`.
const ETC_NETNS_DIR: &str = "/etc/netns";

pub(crate) fn netns_path(name: &str) -> PathBuf {
    PathBuf::from(NETNS_DIR).join(name)
}

/// `/etc/netns/NAME`: files `ip netns exec NAME` puts in place of `/etc`'s.
pub(crate) fn etc_path(name: &str) -> PathBuf {
    PathBuf::from(ETC_NETNS_DIR).join(name)
}

/// Writes `(file, contents)` into `/etc/netns/NAME/`, creating the directory.
pub(crate) fn write_etc(name: &str, files: &[(&str, &str)]) -> Result<(), LabError> {
    let dir = etc_path(name);
    std::fs::create_dir_all(&dir)
        .map_err(|e| LabError::io(format!("creating {}", dir.display()), e))?;
    for (file, contents) in files {
        let path = dir.join(file);
        std::fs::write(&path, contents)
            .map_err(|e| LabError::io(format!("writing {}", path.display()), e))?;
    }
    Ok(())
}

/// Removes `/etc/netns/NAME` (fine if it does not exist).
pub(crate) fn remove_etc(name: &str) -> io::Result<()> {
    match std::fs::remove_dir_all(etc_path(name)) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

/// Runs `program args...`, feeding `stdin` if given; fails with the command's stderr.
pub(crate) fn run(program: &str, args: &[&str], stdin: Option<&str>) -> Result<String, LabError> {
    let command_line = std::iter::once(program)
        .chain(args.iter().copied())
        .collect::<Vec<_>>()
        .join(" ");
    let mut child = Command::new(program)
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| LabError::Spawn {
            command: command_line.clone(),
            source,
        })?;
    if let Some(input) = stdin {
        if let Some(mut pipe) = child.stdin.take() {
            // A write error (EPIPE: the command died early) shows up in its exit status.
            let _ = pipe.write_all(input.as_bytes());
        }
    }
    let output = child
        .wait_with_output()
        .map_err(|e| LabError::io(format!("waiting for `{command_line}`"), e))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        let mut stderr = String::from_utf8_lossy(&output.stderr).trim().to_owned();
        if let Some(input) = stdin {
            stderr.push_str("\n--- stdin was ---\n");
            stderr.push_str(input);
        }
        Err(LabError::Command {
            command: command_line,
            status: output.status.to_string(),
            stderr,
        })
    }
}

/// `ip netns add NAME`.
pub(crate) fn add(name: &str) -> Result<(), LabError> {
    let _guard = NETNS_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    run("ip", &["netns", "add", name], None).map(drop)
}

/// `ip netns del NAME`.
pub(crate) fn del(name: &str) -> Result<(), LabError> {
    let _guard = NETNS_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    run("ip", &["netns", "del", name], None).map(drop)
}

/// The pid encoded in a lab namespace name, if `name` is one of ours.
pub(crate) fn owner_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix(NS_PREFIX)?;
    let mut parts = rest.split('-');
    let pid = parts.next()?.parse().ok()?;
    let _counter: u64 = parts.next()?.parse().ok()?;
    match (parts.next(), parts.next()) {
        (Some("client" | "server"), None) => Some(pid),
        _ => None,
    }
}

/// Deletes lab namespaces, and their `/etc/netns` directories, whose creating process is
/// gone (a test that was killed, or aborted, never ran `Drop`; `/etc/netns` also outlives a
/// reboot). Best effort: errors are reported on stderr and ignored.
///
/// The first call in a process also deletes namespaces carrying this process's own pid:
/// they were left by an earlier process that had the same pid (this one has created none
/// yet; later labs wait for that first sweep to finish).
pub(crate) fn sweep_stale() {
    static FIRST: Once = Once::new();
    let mut done = false;
    FIRST.call_once(|| {
        sweep(true);
        done = true;
    });
    if !done {
        sweep(false);
    }
}

fn sweep(include_own_pid: bool) {
    let own = std::process::id();
    let mut names = BTreeSet::new();
    for dir in [NETNS_DIR, ETC_NETNS_DIR] {
        // A missing directory: nothing of that kind to sweep.
        if let Ok(entries) = std::fs::read_dir(dir) {
            names.extend(
                entries
                    .flatten()
                    .map(|entry| entry.file_name().to_string_lossy().into_owned()),
            );
        }
    }
    for name in names {
        let Some(pid) = owner_pid(&name) else {
            continue;
        };
        let stale = if pid == own {
            include_own_pid
        } else {
            !std::path::Path::new(&format!("/proc/{pid}")).exists()
        };
        if !stale {
            continue;
        }
        if netns_path(&name).exists() {
            match del(&name) {
                Ok(()) => {
                    eprintln!("eyeballs-lab: removed stale namespace {name} (its process is gone)")
                }
                Err(e) => {
                    eprintln!("eyeballs-lab: could not remove stale namespace {name}: {e}")
                }
            }
        }
        if etc_path(&name).exists() {
            if let Err(e) = remove_etc(&name) {
                eprintln!("eyeballs-lab: could not remove stale {ETC_NETNS_DIR}/{name}: {e}");
            }
        }
    }
}

/// Moves the *calling thread* into the network namespace `ns`.
///
/// Only ever called on threads the lab spawned itself.
pub(crate) fn enter(ns: &File, what: &str) -> Result<(), LabError> {
    nix::sched::setns(ns, CloneFlags::CLONE_NEWNET)
        .map_err(|e| LabError::io(format!("setns into the {what} namespace"), e))
}

/// Gives the calling thread `SCHED_FIFO` priority (via `chrt` on its thread id), so that
/// timers fire on time on a busy machine. Failure only costs accuracy: it is reported
/// on stderr, not returned.
pub(crate) fn set_realtime(what: &str) {
    let tid = nix::unistd::gettid().to_string();
    if let Err(e) = run("chrt", &["--fifo", "--pid", "20", &tid], None) {
        eprintln!("eyeballs-lab: warning: no real-time priority for the {what} thread, timings may be less accurate: {e}");
    }
}

/// Tells [`spawn_service`] whether the service started.
pub(crate) struct Ready(mpsc::SyncSender<Result<(), LabError>>);

impl Ready {
    pub(crate) fn ok(&self) {
        // The receiver waits for exactly this message; if it is gone the lab is being
        // torn down already and the service's loop will see the stop signal.
        let _ = self.0.send(Ok(()));
    }
    pub(crate) fn fail(&self, e: LabError) {
        let _ = self.0.send(Err(e));
    }
}

/// Spawns a thread that enters `ns` and runs `body`. Returns once `body` reported
/// (through [`Ready`]) that its sockets are bound, or with the error it reported.
pub(crate) fn spawn_service<F>(
    ns: &File,
    what: &'static str,
    body: F,
) -> Result<JoinHandle<()>, LabError>
where
    F: FnOnce(Ready) + Send + 'static,
{
    let ns = ns
        .try_clone()
        .map_err(|e| LabError::io("duplicating a namespace handle", e))?;
    let (tx, rx) = mpsc::sync_channel(1);
    let handle = std::thread::Builder::new()
        .name(format!("eyeballs-lab-{what}"))
        .spawn(move || {
            let ready = Ready(tx);
            match enter(&ns, "server") {
                Ok(()) => {
                    drop(ns);
                    body(ready);
                }
                Err(e) => ready.fail(e),
            }
        })
        .map_err(|e| LabError::io(format!("spawning the {what} thread"), e))?;
    match rx.recv() {
        Ok(Ok(())) => Ok(handle),
        Ok(Err(e)) => {
            let _ = handle.join();
            Err(e)
        }
        Err(_) => {
            let _ = handle.join();
            Err(LabError::Thread(format!(
                "the {what} thread exited before it was ready"
            )))
        }
    }
}

/// Writes sysctls of the namespace `ns` from a short-lived thread inside it (sysctls under
/// `/proc/sys/net` belong to the network namespace of the thread that opens them).
/// Entries whose name starts with `?` are optional (skipped if the kernel lacks them).
pub(crate) fn write_sysctls(
    ns: &File,
    what: &str,
    settings: &[(&str, &str)],
) -> Result<(), LabError> {
    std::thread::scope(|scope| {
        let worker = scope.spawn(|| -> Result<(), LabError> {
            enter(ns, what)?;
            for (key, value) in settings {
                let (optional, key) = match key.strip_prefix('?') {
                    Some(k) => (true, k),
                    None => (false, *key),
                };
                let path = format!("/proc/sys/{}", key.replace('.', "/"));
                match std::fs::write(&path, value) {
                    Ok(()) => {}
                    Err(e) if optional && e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => {
                        return Err(LabError::io(
                            format!("setting {key}={value} in the {what} namespace"),
                            e,
                        ))
                    }
                }
            }
            Ok(())
        });
        worker
            .join()
            .unwrap_or_else(|_| Err(LabError::Thread("the sysctl thread panicked".into())))
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test.
mod tests {
    use super::*;

    #[test]
    fn owner_pid_parses_only_lab_names() {
        assert_eq!(owner_pid("eyeballs-lab-123-4-client"), Some(123));
        assert_eq!(owner_pid("eyeballs-lab-123-4-server"), Some(123));
        assert_eq!(owner_pid("eyeballs-lab-123-4-other"), None);
        assert_eq!(owner_pid("eyeballs-lab-123-client"), None);
        assert_eq!(owner_pid("eyeballs-lab-x-4-client"), None);
        assert_eq!(owner_pid("eyeballs-lab-1-4-client-x"), None);
        assert_eq!(owner_pid("other-123-4-client"), None);
    }
}
