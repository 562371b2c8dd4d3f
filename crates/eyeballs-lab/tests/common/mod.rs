//! Helpers shared by the lab crate's test files.
#![allow(dead_code)]

use std::time::{Duration, Instant};

/// Polls `cond` every 2 ms until it holds; fails the test after 2 s.
pub fn wait_until(mut cond: impl FnMut() -> bool, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(2);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}
