//! `connect --tls`: the TLS configuration and the protocols it offers.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use eyeballs::proto::ServiceRecord;
use eyeballs::secure::rustls::pki_types::pem::PemObject;
use eyeballs::secure::rustls::pki_types::CertificateDer;
use eyeballs::secure::rustls::{self, ClientConfig, RootCertStore};
use eyeballs::secure::SecureConnector;
use eyeballs::Connector;

/// What `--tls` was given.
#[derive(Debug, Clone, Default)]
pub struct TlsOptions {
    /// PEM files of the certificates to trust (`--cacert`); empty: the system's store.
    pub cacert: Vec<PathBuf>,
    /// The ALPN ids offered (`--alpn`), most preferred first.
    pub alpn: Vec<String>,
    /// Whether HTTPS records are asked for (`--https-rr`).
    pub https_rr: bool,
}

use crate::options::is_quic_alpn as is_quic;

impl TlsOptions {
    /// The ids offered over TCP: `--alpn` without the QUIC ones; `h2,http/1.1` when `--alpn`
    /// names none.
    pub fn tcp_alpn(&self) -> Vec<String> {
        let tcp: Vec<String> = self
            .alpn
            .iter()
            .filter(|id| !is_quic(id))
            .cloned()
            .collect();
        if tcp.is_empty() {
            vec!["h2".to_owned(), "http/1.1".to_owned()]
        } else {
            tcp
        }
    }

    /// The ids offered over QUIC: the QUIC ones of `--alpn`; `h3` if none were named but
    /// HTTPS records are asked for (QUIC where a record advertises it); else none.
    pub fn quic_alpn(&self) -> Vec<String> {
        let quic: Vec<String> = self.alpn.iter().filter(|id| is_quic(id)).cloned().collect();
        if quic.is_empty() && self.https_rr && self.alpn.is_empty() {
            return vec!["h3".to_owned()];
        }
        quic
    }

    /// The connector of a `--tls` race over `connector`: TLS with `tcp_alpn`, QUIC with
    /// `quic_alpn` (from HTTPS records, and, when `--alpn` names a QUIC id, to the target
    /// itself as if a record offered every id given: QUIC is tried first with no record, as
    /// `curl --http3` does).
    pub fn connector(&self, mut connector: Connector) -> Result<SecureConnector, String> {
        let mut tls = client_config(self.roots()?)?;
        tls.alpn_protocols = self
            .tcp_alpn()
            .into_iter()
            .map(String::into_bytes)
            .collect();
        let quic = self.quic_alpn();
        if self.alpn.iter().any(|id| is_quic(id)) {
            let mut offered = ServiceRecord::service(1).with_alpn(self.alpn.iter().cloned());
            offered.no_default_alpn = true;
            connector = connector.known_service(offered);
        }
        let secure = SecureConnector::new(connector, tls);
        if quic.is_empty() {
            return Ok(secure);
        }
        secure
            .quic(quic)
            .map_err(|e| format!("the TLS configuration cannot do QUIC: {e}"))
    }

    /// The certificates trusted: those of `--cacert`, else the system's.
    fn roots(&self) -> Result<RootCertStore, String> {
        let mut roots = RootCertStore::empty();
        if self.cacert.is_empty() {
            let found = rustls_native_certs::load_native_certs();
            let (added, _) = roots.add_parsable_certificates(found.certs);
            if added == 0 {
                return Err(
                    "no certificate in the system's store; name the ones to trust with --cacert"
                        .to_owned(),
                );
            }
            return Ok(roots);
        }
        for path in &self.cacert {
            for cert in read_pem(path)? {
                roots
                    .add(cert)
                    .map_err(|e| format!("--cacert {}: {e}", path.display()))?;
            }
        }
        Ok(roots)
    }
}

/// The certificates of a PEM file (at least one).
fn read_pem(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs: Vec<_> = CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("--cacert {}: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!(
            "--cacert {}: no certificate in the file",
            path.display()
        ));
    }
    Ok(certs)
}

/// TLS 1.2 and 1.3 (ring), trusting `roots`, no client certificate.
fn client_config(roots: RootCertStore) -> Result<ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(alpn: &[&str], https_rr: bool) -> TlsOptions {
        TlsOptions {
            cacert: Vec::new(),
            alpn: alpn.iter().map(|s| s.to_string()).collect(),
            https_rr,
        }
    }

    #[test]
    fn alpn_ids_split_by_transport() {
        let o = options(&["h3", "h2", "http/1.1"], false);
        assert_eq!(o.tcp_alpn(), ["h2", "http/1.1"]);
        assert_eq!(o.quic_alpn(), ["h3"]);
        let o = options(&[], false);
        assert_eq!(o.tcp_alpn(), ["h2", "http/1.1"]);
        assert!(
            o.quic_alpn().is_empty(),
            "no QUIC unless offered or advertised"
        );
        let o = options(&[], true);
        assert_eq!(o.quic_alpn(), ["h3"], "advertised by HTTPS records");
        let o = options(&["h2"], true);
        assert!(o.quic_alpn().is_empty(), "--alpn without h3 says no QUIC");
        let o = options(&["h3-29"], false);
        assert_eq!(o.quic_alpn(), ["h3-29"]);
        assert_eq!(o.tcp_alpn(), ["h2", "http/1.1"]);
    }

    #[test]
    fn a_bad_cacert_is_a_clear_error() {
        let dir = std::env::temp_dir().join(format!("eyeballs-cacert-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let o = TlsOptions {
            cacert: vec![empty.clone()],
            ..options(&[], false)
        };
        let err = o.connector(Connector::new()).unwrap_err();
        assert!(err.contains("no certificate in the file"), "{err}");
        let missing = TlsOptions {
            cacert: vec![dir.join("missing.pem")],
            ..options(&[], false)
        };
        let err = missing.connector(Connector::new()).unwrap_err();
        assert!(err.contains("missing.pem"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
