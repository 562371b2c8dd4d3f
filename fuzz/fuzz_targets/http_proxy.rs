//! The HTTP side of `eyeballs proxy` (absolute-form requests, CONNECT, bodies, pipelining,
//! and the first-byte dispatch): the input as is, on one client connection to the proxy
//! running in-process on loopback with every destination denied
//! (`eyeballs_cli::fuzzing::http_proxy`). A finding (not a status line, a 2xx, no answer,
//! the proxy no longer accepting) or a panic is a crash.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(finding) = eyeballs_cli::fuzzing::http_proxy(data) {
        panic!("{finding}");
    }
});
