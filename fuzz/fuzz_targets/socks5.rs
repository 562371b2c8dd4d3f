//! The SOCKS5 handshake of `eyeballs proxy`: 0x05, then the input (method selection,
//! authentication, request), on one client connection to the proxy running in-process on
//! loopback with every destination denied (`eyeballs_cli::fuzzing::socks5`). A finding (a
//! wrong answer, a success, no answer, the proxy no longer accepting) or a panic is a crash.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(finding) = eyeballs_cli::fuzzing::socks5(data) {
        panic!("{finding}");
    }
});
