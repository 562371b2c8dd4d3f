//! The bodies of the cargo-fuzz targets (fuzz/ at the workspace root), run on the stable
//! toolchain so that they cannot rot: every seed of fuzz/corpus/socks5 and
//! fuzz/corpus/http_proxy, then deterministic mutations of them, through
//! `eyeballs_cli::fuzzing` (a proxy in this process on loopback, every destination denied,
//! names answered without the system resolver). A finding or a panic anywhere in the proxy
//! fails the test with the input.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use eyeballs_cli::fuzzing;

/// Mutations per target (after the seeds).
const MUTATIONS: usize = 4000;

use fuzzing::{mutate, Rng};

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let mut seeds: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            (path, bytes)
        })
        .collect();
    seeds.sort();
    assert!(seeds.len() >= 5, "{}: too few seeds", dir.display());
    seeds
}

/// Counts panics on every thread (the proxy's tasks run on the runtime's threads, where a
/// panic would only end that task), keeping the first message.
fn watch_panics() -> (Arc<AtomicUsize>, Arc<Mutex<Option<String>>>) {
    let count = Arc::new(AtomicUsize::new(0));
    let first = Arc::new(Mutex::new(None));
    let (c, f) = (Arc::clone(&count), Arc::clone(&first));
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        c.fetch_add(1, Ordering::SeqCst);
        f.lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_or_insert_with(|| info.to_string());
        previous(info);
    }));
    (count, first)
}

fn run(target: &str, body: fn(&[u8]) -> Result<Vec<u8>, fuzzing::Finding>, seed: u64) {
    let seeds = corpus(target);
    for (path, input) in &seeds {
        if let Err(finding) = body(input) {
            panic!("{target}: seed {}: {finding}", path.display());
        }
    }
    let mut rng = Rng(seed);
    for case in 0..MUTATIONS {
        let mut input = seeds[case % seeds.len()].1.clone();
        mutate(&mut rng, &mut input);
        if let Err(finding) = body(&input) {
            panic!("{target}: case {case}: {finding}");
        }
    }
}

/// One test (the panic hook is process-wide): both targets, their seeds and mutations.
#[test]
fn fuzz_targets_socks5_and_http_proxy_bounded_run() {
    let (panics, first) = watch_panics();
    run("socks5", fuzzing::socks5, 0x9E37_79B9_7F4A_7C15);
    run("http_proxy", fuzzing::http_proxy, 0x2545_F491_4F6C_DD1D);
    // Still serving, and refusing by the policy (not merely closing): a literal and a name
    // (answered 127.0.0.1 and ::1) get 403 / reply 0x02.
    for request in [
        &b"GET http://192.0.2.1/ HTTP/1.1\r\nHost: 192.0.2.1\r\n\r\n"[..],
        b"CONNECT name.test:443 HTTP/1.1\r\nHost: name.test:443\r\n\r\n",
    ] {
        let answer = fuzzing::http_proxy(request).unwrap();
        // The harness half-closes after the request: the race's refusal still comes first
        // (the race is polled before the client-gone watch, `race_while_here`).
        assert!(
            answer.starts_with(b"HTTP/1.1 403"),
            "{:?}",
            String::from_utf8_lossy(&answer)
        );
    }
    let answer = fuzzing::socks5(b"\x01\x00\x05\x01\x00\x03\x09name.test\x00\x50").unwrap();
    assert_eq!(answer, [5, 0, 5, 2, 0, 1, 0, 0, 0, 0, 0, 0]);
    assert_eq!(
        panics.load(Ordering::SeqCst),
        0,
        "a panic in the proxy: {:?}",
        first.lock().unwrap()
    );
}
