//! IPv6 zone ids on link-local literals: a numeric zone is the attempt's scope id, an
//! interface name is mapped to its index, an unknown name is the caller's mistake. The
//! attempts here record their address and fail at once: nothing is sent anywhere.

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use eyeballs::{Connector, ErrorKind};

/// Races `host` with attempts that only record where they would connect.
async fn attempted(host: &str) -> Result<Vec<SocketAddr>, eyeballs::Error> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    let result = Connector::new()
        .race(host, 443, move |addr| {
            record.lock().unwrap().push(addr);
            async { Err::<(), _>(io::Error::from(io::ErrorKind::ConnectionRefused)) }
        })
        .await;
    match result {
        Err(e) if e.kind() == ErrorKind::InvalidInput => Err(e),
        _ => Ok(seen.lock().unwrap().clone()),
    }
}

fn scope_of(addr: &SocketAddr) -> Option<u32> {
    match addr {
        SocketAddr::V6(a) => Some(a.scope_id()),
        SocketAddr::V4(_) => None,
    }
}

#[tokio::test]
async fn numeric_zone_is_the_scope_id() {
    for host in ["fe80::1%7", "[fe80::1%7]"] {
        let seen = attempted(host).await.expect("a valid literal");
        assert_eq!(seen.len(), 1, "{host}");
        assert_eq!(scope_of(&seen[0]), Some(7), "{host}");
    }
}

#[tokio::test]
async fn interface_name_zone_is_mapped_to_its_index() {
    // Every Linux host has `lo`; its index is in sysfs.
    let Ok(index) = std::fs::read_to_string("/sys/class/net/lo/ifindex") else {
        eprintln!("SKIPPED: no /sys/class/net/lo (not Linux)");
        return;
    };
    let index: u32 = index.trim().parse().unwrap();
    let seen = attempted("fe80::1%lo").await.expect("lo exists");
    assert_eq!(seen.len(), 1);
    assert_eq!(scope_of(&seen[0]), Some(index));
}

#[tokio::test]
async fn unknown_interface_name_is_invalid_input() {
    let e = attempted("fe80::1%nosuchif0").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(e.to_string().contains("nosuchif0"), "{e}");
}

#[tokio::test]
async fn zone_on_a_global_address_is_invalid_input() {
    let e = attempted("2001:db8::1%lo").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
}
