//! The destination policy through the connectors (`Connector::destination_policy`, both
//! drivers), on loopback: a refused literal, a name that resolves only to refused addresses
//! (DNS rebinding to loopback) and a mix, with the error's cause, message and JSON; and the
//! same connector with loopback allowed connects. A refused address is never attempted.

mod common;

use std::net::SocketAddr;

use common::*;
use eyeballs::proto::{DestinationPolicy, Reserved};
use eyeballs::resolver::StaticResolver;
use eyeballs::{Cause, Connector, ErrorKind};

fn restricted() -> Connector {
    Connector::new()
        .destination_policy(DestinationPolicy::restricted())
        .resolver(StaticResolver::new().host("inside.test", [V6, V4]))
}

#[tokio::test]
async fn a_refused_literal_is_the_callers_error_and_opens_no_socket() {
    let (_listener, addr) = accepting(V4);
    let err = restricted()
        .connect_addrs([addr])
        .await
        .expect_err("loopback is refused");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(err.cause(), Cause::Denied);
    assert_eq!(err.io_kind(), std::io::ErrorKind::PermissionDenied);
    assert!(
        err.to_string()
            .contains("is refused by the destination policy: denied: loopback"),
        "{err}"
    );
    let err = restricted()
        .connect("127.0.0.1", addr.port())
        .await
        .expect_err("the literal too");
    assert_eq!(err.cause(), Cause::Denied);
    // Refused before the race: nothing was attempted, so there is no report (and no socket).
    assert!(err.report().is_none());
}

/// DNS rebinding: the name is public, its answers are not.
#[tokio::test]
async fn a_name_resolving_to_refused_addresses_only_fails_with_cause_denied() {
    let (_listener, addr) = accepting(V4);
    let err = restricted()
        .connect("inside.test", addr.port())
        .await
        .expect_err("every answer is refused");
    assert_eq!(err.kind(), ErrorKind::NoAddresses);
    assert_eq!(err.cause(), Cause::Denied);
    let message = err.to_string();
    assert!(
        message.contains("refused by the destination policy: ::1 (denied: loopback"),
        "{message}"
    );
    let report = err.report().expect("a race that ran has a report");
    let refusals: Vec<_> = report.refusals().collect();
    assert_eq!(refusals.len(), 2, "{refusals:?}");
    assert!(report.attempts().next().is_none());
}

#[tokio::test]
async fn allow_loopback_opens_it_again_and_both_drivers_agree() {
    let (_listener, addr) = accepting(V4);
    let policy = DestinationPolicy::restricted().allow_loopback();
    let c = Connector::new().destination_policy(policy.clone());
    assert_eq!(
        c.connect_addrs([addr]).await.unwrap().report().winner(),
        Some(addr)
    );

    #[cfg(feature = "blocking")]
    {
        let blocking = eyeballs::blocking::Connector::new().destination_policy(policy);
        let won = blocking.connect_addrs([addr]).unwrap();
        assert_eq!(won.report().winner(), Some(addr));
        let refused = eyeballs::blocking::Connector::new()
            .destination_policy(DestinationPolicy::restricted())
            .connect_addrs([addr])
            .expect_err("refused by the blocking driver as well");
        assert_eq!(refused.cause(), Cause::Denied);
    }
}

/// A mix: the refused address is skipped (and reported), the allowed one connects.
#[tokio::test]
async fn a_mix_races_the_allowed_addresses_only() {
    let (_listener, addr) = accepting(V4);
    let metadata: SocketAddr = "169.254.169.254:80".parse().unwrap();
    let policy =
        DestinationPolicy::restricted().allow(format!("{}/32", addr.ip()).parse().unwrap());
    let won = Connector::new()
        .destination_policy(policy)
        .connect_addrs([metadata, addr])
        .await
        .expect("the allowed address connects");
    assert_eq!(won.report().winner(), Some(addr));
    let refusals: Vec<_> = won.report().refusals().collect();
    assert_eq!(refusals.len(), 1);
    assert_eq!(refusals[0].0, metadata.ip());
    assert_eq!(
        refusals[0].2,
        eyeballs::proto::Denial::Reserved(Reserved::LinkLocal)
    );
    #[cfg(feature = "serde")]
    {
        let json = serde_json::to_value(won.report()).unwrap();
        assert_eq!(json["denied"][0]["address"], "169.254.169.254");
        assert!(json["denied"][0]["why"]
            .as_str()
            .unwrap()
            .contains("link-local"));
    }
}
