//! The test CA of a secure lab ([`LabBuilder::secure`](crate::LabBuilder::secure)): a CA
//! and one server certificate it signed, generated fresh (rcgen, ring, ECDSA P-256) each
//! time a secure lab starts.

use std::net::IpAddr;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose, SanType,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::LabError;

/// The DNS name every secure lab's certificate carries, besides the lab's own names.
pub const LAB_NAME: &str = "lab.test";

/// The CA and the server certificate of a running secure lab.
#[derive(Debug)]
pub(crate) struct TestCa {
    /// The CA certificate, PEM.
    pub(crate) ca_pem: String,
    /// The CA certificate, DER.
    pub(crate) ca_der: CertificateDer<'static>,
    /// The server certificate followed by the CA certificate (the chain the servers send).
    pub(crate) chain: Vec<CertificateDer<'static>>,
    /// The server certificate's key, PKCS#8 DER.
    key: Vec<u8>,
}

impl TestCa {
    /// A CA, and a server certificate it signed whose SANs are `addrs` (IP SANs) and
    /// `names` (DNS SANs).
    pub(crate) fn generate(addrs: &[IpAddr], names: &[String]) -> Result<TestCa, LabError> {
        let err = |what: &str| {
            let what = what.to_owned();
            move |e: rcgen::Error| LabError::Config(format!("test CA: {what}: {e}"))
        };
        let ca_key = KeyPair::generate().map_err(err("generating the CA key"))?;
        let mut ca = CertificateParams::default();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "eyeballs lab test CA");
        ca.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_cert = ca
            .self_signed(&ca_key)
            .map_err(err("signing the CA certificate"))?;

        let key = KeyPair::generate().map_err(err("generating the server key"))?;
        let mut server = CertificateParams::default();
        server
            .distinguished_name
            .push(DnType::CommonName, "eyeballs lab server");
        server.subject_alt_names = addrs.iter().map(|a| SanType::IpAddress(*a)).collect();
        for name in names {
            let dns = name
                .clone()
                .try_into()
                .map_err(err(&format!("the DNS name {name:?}")))?;
            server.subject_alt_names.push(SanType::DnsName(dns));
        }
        server.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let server_cert = server
            .signed_by(&key, &ca_cert, &ca_key)
            .map_err(err("signing the server certificate"))?;

        Ok(TestCa {
            ca_pem: ca_cert.pem(),
            ca_der: ca_cert.der().clone(),
            chain: vec![server_cert.der().clone(), ca_cert.der().clone()],
            key: key.serialize_der(),
        })
    }

    /// The server certificate's private key.
    pub(crate) fn key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key.clone()))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test.
mod tests {
    use super::*;
    use rustls::client::danger::ServerCertVerifier;
    use std::sync::Arc;

    /// The server certificate verifies against the CA for every address and name it was
    /// made for, and for nothing else.
    #[test]
    fn server_certificate_verifies_for_its_names_only() {
        let addrs: Vec<IpAddr> = vec![
            "198.18.0.10".parse().unwrap(),
            "2001:db8::10".parse().unwrap(),
        ];
        let names = vec!["dual.test".to_owned(), LAB_NAME.to_owned()];
        let ca = TestCa::generate(&addrs, &names).unwrap();
        assert!(ca.ca_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert_eq!(ca.chain.len(), 2);
        assert_eq!(ca.chain[1], ca.ca_der);

        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        roots.add(ca.ca_der.clone()).unwrap();
        let verifier =
            rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .unwrap();
        let now = rustls::pki_types::UnixTime::now();
        let check = |name: &str| {
            let name = rustls::pki_types::ServerName::try_from(name.to_owned()).unwrap();
            verifier
                .verify_server_cert(&ca.chain[0], &ca.chain[1..], &name, &[], now)
                .is_ok()
        };
        for good in ["198.18.0.10", "2001:db8::10", "dual.test", "lab.test"] {
            assert!(check(good), "{good}");
        }
        for bad in ["198.18.0.11", "other.test"] {
            assert!(!check(bad), "{bad}");
        }
        // The key is the one the certificate was made for: rustls accepts the pair.
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(ca.chain.clone(), ca.key());
        assert!(config.is_ok());
    }
}
