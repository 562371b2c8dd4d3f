//! HTTPS records (RFC 9460) the lab's DNS server serves: [`HttpsRecord`], given to
//! [`LabBuilder::https`](crate::LabBuilder::https), and its RDATA wire format.
//!
//! The encoding follows RFC 9460 §2.2: `SvcPriority` (2 octets), `TargetName` (uncompressed,
//! §2.2 forbids compression), then each SvcParam as key, length, value, keys in strictly
//! ascending order. The unit tests check it against the wire-format test vectors of RFC 9460
//! Appendix D.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::LabError;

/// SvcParamKey `mandatory` (RFC 9460 §8).
pub const KEY_MANDATORY: u16 = 0;
/// SvcParamKey `alpn` (RFC 9460 §7.1).
pub const KEY_ALPN: u16 = 1;
/// SvcParamKey `no-default-alpn` (RFC 9460 §7.1).
pub const KEY_NO_DEFAULT_ALPN: u16 = 2;
/// SvcParamKey `port` (RFC 9460 §7.2).
pub const KEY_PORT: u16 = 3;
/// SvcParamKey `ipv4hint` (RFC 9460 §7.3).
pub const KEY_IPV4HINT: u16 = 4;
/// SvcParamKey `ech` (RFC 9460 §14.3.2, draft-ietf-tls-svcb-ech).
pub const KEY_ECH: u16 = 5;
/// SvcParamKey `ipv6hint` (RFC 9460 §7.3).
pub const KEY_IPV6HINT: u16 = 6;

/// One HTTPS record (type 65) of a lab name: AliasMode (`priority` 0) or ServiceMode.
///
/// The server writes exactly what is here, in RFC 9460 wire format with the SvcParams sorted
/// by key; it does not check the record's semantics (a ServiceMode record without `alpn`, an
/// AliasMode record with parameters, a `mandatory` list naming an absent key are all sent
/// as given), so that tests can serve odd records too. Empty lists and `None` are left out of
/// the record. A key set by a typed field and again in [`params`](Self::params) is written
/// twice: a malformed record (RFC 9460 §2.2), for tests of clients that must reject it.
///
/// ```
/// use eyeballs_lab::HttpsRecord;
/// let record = HttpsRecord::service(1)
///     .alpn(["h2", "http/1.1"])
///     .port(8443)
///     .ipv6hint(["2001:db8::10".parse().unwrap()])
///     .ipv4hint(["198.18.0.10".parse().unwrap()]);
/// assert_eq!(record.target, ".");
/// let alias = HttpsRecord::alias("svc.test");
/// assert_eq!(alias.priority, 0);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HttpsRecord {
    /// `SvcPriority`: 0 is AliasMode, anything else ServiceMode (lower is preferred).
    pub priority: u16,
    /// `TargetName`, case and trailing dot as given; `"."` (or `""`) is the root name: for
    /// ServiceMode the owner name itself (RFC 9460 §2.5).
    pub target: String,
    /// `mandatory` (key 0): the keys listed, in the order given (RFC 9460 §8 wants them
    /// ascending; the lab sends them as they are). Empty: no `mandatory` parameter.
    pub mandatory: Vec<u16>,
    /// `alpn` (key 1): the ALPN protocol ids, each 1 to 255 octets. Empty: no `alpn`.
    pub alpn: Vec<String>,
    /// `no-default-alpn` (key 2), an empty value.
    pub no_default_alpn: bool,
    /// `port` (key 3).
    pub port: Option<u16>,
    /// `ipv4hint` (key 4). Empty: no `ipv4hint`.
    pub ipv4hint: Vec<Ipv4Addr>,
    /// `ech` (key 5): the ECHConfigList, as bytes (sent as they are, length prefix
    /// included if the test puts one in).
    pub ech: Option<Vec<u8>>,
    /// `ipv6hint` (key 6). Empty: no `ipv6hint`.
    pub ipv6hint: Vec<Ipv6Addr>,
    /// Any other parameters, as (key, raw value): unregistered keys (`key667`), or a
    /// registered key with a value of the test's own making.
    pub params: Vec<(u16, Vec<u8>)>,
}

impl HttpsRecord {
    /// A ServiceMode record for the owner name (TargetName "."), no parameters; a `priority`
    /// of 0 is made 1 (0 would be AliasMode).
    pub fn service(priority: u16) -> Self {
        HttpsRecord {
            priority: priority.max(1),
            target: ".".to_owned(),
            ..Self::default()
        }
    }

    /// An AliasMode record (priority 0) pointing at `target`.
    pub fn alias(target: &str) -> Self {
        HttpsRecord {
            priority: 0,
            target: target.to_owned(),
            ..Self::default()
        }
    }

    /// This record with TargetName `target`.
    pub fn target(mut self, target: &str) -> Self {
        self.target = target.to_owned();
        self
    }

    /// This record with `mandatory` = `keys`.
    pub fn mandatory(mut self, keys: impl IntoIterator<Item = u16>) -> Self {
        self.mandatory = keys.into_iter().collect();
        self
    }

    /// This record with `alpn` = `ids`.
    pub fn alpn<S: Into<String>>(mut self, ids: impl IntoIterator<Item = S>) -> Self {
        self.alpn = ids.into_iter().map(Into::into).collect();
        self
    }

    /// This record with `no-default-alpn`.
    pub fn no_default_alpn(mut self) -> Self {
        self.no_default_alpn = true;
        self
    }

    /// This record with `port` = `port`.
    pub fn port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    /// This record with `ipv4hint` = `hints`.
    pub fn ipv4hint(mut self, hints: impl IntoIterator<Item = Ipv4Addr>) -> Self {
        self.ipv4hint = hints.into_iter().collect();
        self
    }

    /// This record with `ipv6hint` = `hints`.
    pub fn ipv6hint(mut self, hints: impl IntoIterator<Item = Ipv6Addr>) -> Self {
        self.ipv6hint = hints.into_iter().collect();
        self
    }

    /// This record with `ech` = `config_list`.
    pub fn ech(mut self, config_list: impl Into<Vec<u8>>) -> Self {
        self.ech = Some(config_list.into());
        self
    }

    /// This record with one more parameter `key` = `value` (raw bytes).
    pub fn param(mut self, key: u16, value: impl Into<Vec<u8>>) -> Self {
        self.params.push((key, value.into()));
        self
    }

    /// The record's RDATA in wire format (RFC 9460 §2.2).
    ///
    /// # Errors
    /// [`LabError::Config`] when it cannot be encoded: a TargetName with an empty label, a
    /// label over 63 octets or a name over 255; an ALPN id that is empty or over 255
    /// octets; a parameter value, or the whole RDATA, over 65535 octets.
    pub fn to_rdata(&self) -> Result<Vec<u8>, LabError> {
        let mut out = Vec::with_capacity(64);
        out.extend_from_slice(&self.priority.to_be_bytes());
        encode_name(&self.target, &mut out)?;
        let mut params: Vec<(u16, Vec<u8>)> = Vec::new();
        if !self.mandatory.is_empty() {
            params.push((
                KEY_MANDATORY,
                self.mandatory
                    .iter()
                    .flat_map(|k| k.to_be_bytes())
                    .collect(),
            ));
        }
        if !self.alpn.is_empty() {
            let mut value = Vec::new();
            for id in &self.alpn {
                let len = u8::try_from(id.len())
                    .ok()
                    .filter(|&l| l > 0)
                    .ok_or_else(|| {
                        LabError::Config(format!(
                            "HTTPS record: ALPN id {id:?} must be 1 to 255 octets"
                        ))
                    })?;
                value.push(len);
                value.extend_from_slice(id.as_bytes());
            }
            params.push((KEY_ALPN, value));
        }
        if self.no_default_alpn {
            params.push((KEY_NO_DEFAULT_ALPN, Vec::new()));
        }
        if let Some(port) = self.port {
            params.push((KEY_PORT, port.to_be_bytes().to_vec()));
        }
        if !self.ipv4hint.is_empty() {
            params.push((
                KEY_IPV4HINT,
                self.ipv4hint.iter().flat_map(|a| a.octets()).collect(),
            ));
        }
        if let Some(ech) = &self.ech {
            params.push((KEY_ECH, ech.clone()));
        }
        if !self.ipv6hint.is_empty() {
            params.push((
                KEY_IPV6HINT,
                self.ipv6hint.iter().flat_map(|a| a.octets()).collect(),
            ));
        }
        params.extend(self.params.iter().cloned());
        // Stable: a key given twice keeps both values, in the order above.
        params.sort_by_key(|(key, _)| *key);
        for (key, value) in &params {
            let len = u16::try_from(value.len()).map_err(|_| {
                LabError::Config(format!(
                    "HTTPS record: the value of key {key} is over 65535 octets"
                ))
            })?;
            out.extend_from_slice(&key.to_be_bytes());
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(value);
        }
        if out.len() > usize::from(u16::MAX) {
            return Err(LabError::Config(
                "HTTPS record: the RDATA is over 65535 octets".to_owned(),
            ));
        }
        Ok(out)
    }
}

/// Appends `name` in uncompressed wire format; `"."` and `""` are the root.
fn encode_name(name: &str, out: &mut Vec<u8>) -> Result<(), LabError> {
    let trimmed = name.strip_suffix('.').unwrap_or(name);
    let mut wire_len = 1usize; // the root label
    if !trimmed.is_empty() {
        for label in trimmed.split('.') {
            let bytes = label.as_bytes();
            let len = u8::try_from(bytes.len())
                .ok()
                .filter(|&l| (1..=63).contains(&l))
                .ok_or_else(|| {
                    LabError::Config(format!(
                        "HTTPS record: TargetName {name:?} has a label that is empty or over \
                         63 octets"
                    ))
                })?;
            wire_len += 1 + bytes.len();
            out.push(len);
            out.extend_from_slice(bytes);
        }
    }
    if wire_len > 255 {
        return Err(LabError::Config(format!(
            "HTTPS record: TargetName {name:?} is over 255 octets"
        )));
    }
    out.push(0);
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test.
mod tests {
    use super::*;

    /// `foo.example.com.` in wire format.
    const FOO_EXAMPLE_COM: &[u8] = b"\x03foo\x07example\x03com\x00";
    /// `foo.example.org.` in wire format.
    const FOO_EXAMPLE_ORG: &[u8] = b"\x03foo\x07example\x03org\x00";

    fn cat(parts: &[&[u8]]) -> Vec<u8> {
        parts.concat()
    }

    /// RFC 9460 Appendix D (Figures 2 to 10): each record as the lab would be given it, and
    /// the wire format the RFC prints for it.
    #[test]
    fn rfc9460_appendix_d_test_vectors() {
        let cases: Vec<(&str, HttpsRecord, Vec<u8>)> = vec![
            (
                "D.1 Figure 2: AliasMode",
                HttpsRecord::alias("foo.example.com."),
                cat(&[b"\x00\x00", FOO_EXAMPLE_COM]),
            ),
            (
                "D.2 Figure 3: TargetName \".\"",
                HttpsRecord::service(1),
                vec![0x00, 0x01, 0x00],
            ),
            (
                "D.2 Figure 4: port",
                HttpsRecord::service(16).target("foo.example.com.").port(53),
                cat(&[b"\x00\x10", FOO_EXAMPLE_COM, b"\x00\x03\x00\x02\x00\x35"]),
            ),
            (
                "D.2 Figure 5: an unregistered key",
                HttpsRecord::service(1)
                    .target("foo.example.com.")
                    .param(667, *b"hello"),
                cat(&[b"\x00\x01", FOO_EXAMPLE_COM, b"\x02\x9b\x00\x05hello"]),
            ),
            (
                "D.2 Figure 6: an unregistered key, a value with a decimal escape",
                HttpsRecord::service(1)
                    .target("foo.example.com.")
                    .param(667, *b"hello\xd2qoo"),
                cat(&[
                    b"\x00\x01",
                    FOO_EXAMPLE_COM,
                    b"\x02\x9b\x00\x09hello\xd2qoo",
                ]),
            ),
            (
                "D.2 Figure 7: two IPv6 hints",
                HttpsRecord::service(1)
                    .target("foo.example.com.")
                    .ipv6hint([
                        "2001:db8::1".parse().unwrap(),
                        "2001:db8::53:1".parse().unwrap(),
                    ]),
                cat(&[
                    b"\x00\x01",
                    FOO_EXAMPLE_COM,
                    b"\x00\x06\x00\x20",
                    &[
                        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
                    ],
                    &[
                        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x53, 0, 0x01,
                    ],
                ]),
            ),
            (
                "D.2 Figure 8: an IPv6 hint with an embedded IPv4 address",
                HttpsRecord::service(1)
                    .target("example.com.")
                    .ipv6hint(["2001:db8:122:344::192.0.2.33".parse().unwrap()]),
                cat(&[
                    b"\x00\x01\x07example\x03com\x00",
                    b"\x00\x06\x00\x10",
                    &[0x20, 0x01, 0x0d, 0xb8, 0x01, 0x22, 0x03, 0x44],
                    &[0, 0, 0, 0, 0xc0, 0x00, 0x02, 0x21],
                ]),
            ),
            (
                "D.2 Figure 9: keys sorted on the wire, mandatory as given",
                HttpsRecord::service(16)
                    .target("foo.example.org.")
                    .ipv4hint(["192.0.2.1".parse().unwrap()])
                    .mandatory([KEY_ALPN, KEY_IPV4HINT])
                    .alpn(["h2", "h3-19"]),
                cat(&[
                    b"\x00\x10",
                    FOO_EXAMPLE_ORG,
                    b"\x00\x00\x00\x04\x00\x01\x00\x04",
                    b"\x00\x01\x00\x09\x02h2\x05h3-19",
                    b"\x00\x04\x00\x04\xc0\x00\x02\x01",
                ]),
            ),
            (
                "D.2 Figure 10: ALPN ids with a comma and a backslash",
                HttpsRecord::service(16)
                    .target("foo.example.org.")
                    .alpn(["f\\oo,bar", "h2"]),
                cat(&[
                    b"\x00\x10",
                    FOO_EXAMPLE_ORG,
                    b"\x00\x01\x00\x0c\x08f\\oo,bar\x02h2",
                ]),
            ),
        ];
        for (what, record, wire) in cases {
            assert_eq!(record.to_rdata().unwrap(), wire, "{what}");
        }
    }

    #[test]
    fn every_typed_key_in_ascending_order() {
        let record = HttpsRecord::service(2)
            .ipv6hint(["2001:db8::10".parse().unwrap()])
            .ech(vec![0x00, 0x02, 0xfe, 0x0d])
            .ipv4hint(["198.18.0.10".parse().unwrap()])
            .port(8443)
            .no_default_alpn()
            .alpn(["h3"])
            .param(65280, *b"x");
        let want = cat(&[
            b"\x00\x02\x00",
            b"\x00\x01\x00\x03\x02h3",
            b"\x00\x02\x00\x00",
            b"\x00\x03\x00\x02\x20\xfb",
            b"\x00\x04\x00\x04\xc6\x12\x00\x0a",
            b"\x00\x05\x00\x04\x00\x02\xfe\x0d",
            b"\x00\x06\x00\x10",
            &[
                0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
            ],
            b"\xff\x00\x00\x01x",
        ]);
        assert_eq!(record.to_rdata().unwrap(), want);
    }

    #[test]
    fn a_key_given_twice_is_written_twice() {
        let wire = HttpsRecord::service(1)
            .port(443)
            .param(KEY_PORT, [0x01, 0xbb])
            .to_rdata()
            .unwrap();
        assert_eq!(
            wire,
            cat(&[
                b"\x00\x01\x00",
                b"\x00\x03\x00\x02\x01\xbb\x00\x03\x00\x02\x01\xbb"
            ])
        );
    }

    #[test]
    fn targets_are_case_preserved_and_the_trailing_dot_is_optional() {
        let a = HttpsRecord::alias("Svc.Test").to_rdata().unwrap();
        let b = HttpsRecord::alias("Svc.Test.").to_rdata().unwrap();
        assert_eq!(a, b);
        assert_eq!(a, b"\x00\x00\x03Svc\x04Test\x00".to_vec());
        assert_eq!(
            HttpsRecord::service(1).target("").to_rdata().unwrap(),
            vec![0, 1, 0]
        );
    }

    #[test]
    fn what_cannot_be_encoded_is_a_config_error() {
        let long_label = "a".repeat(64);
        let long_name = vec!["a".repeat(63); 4].join(".");
        let bad = [
            HttpsRecord::alias("a..b"),
            HttpsRecord::alias(".a"),
            HttpsRecord::alias(&long_label),
            HttpsRecord::alias(&long_name),
            HttpsRecord::service(1).alpn([""]),
            HttpsRecord::service(1).alpn(["x".repeat(256)]),
            HttpsRecord::service(1).param(9, vec![0; 65536]),
            HttpsRecord::service(1).ech(vec![0; 65530]),
        ];
        for record in bad {
            assert!(
                matches!(record.to_rdata(), Err(LabError::Config(_))),
                "{:?}",
                record.target
            );
        }
        // 4 labels of 63 octets are 256 octets on the wire; 3 of 63 and one of 61: 254.
        let fits = [vec!["a".repeat(63); 3], vec!["a".repeat(61)]]
            .concat()
            .join(".");
        assert!(HttpsRecord::alias(&fits).to_rdata().is_ok());
    }

    /// The builder checks the records before anything is created, and a name with HTTPS
    /// records only may have behaviours.
    #[test]
    fn the_builder_checks_https_records() {
        let ok = crate::Lab::builder()
            .https("alias.test", [HttpsRecord::alias("svc.test")])
            .dns_behavior(
                "Alias.Test.",
                crate::RecordType::Https,
                crate::DnsBehavior::never(),
            );
        assert!(ok.validate().is_ok());
        let bad = crate::Lab::builder().https("x.test", [HttpsRecord::alias("a..b")]);
        assert!(matches!(bad.validate(), Err(LabError::Config(_))));
        assert!(matches!(bad.start(), Err(LabError::Config(_))));
        let unknown = crate::Lab::builder().dns_behavior(
            "x.test",
            crate::RecordType::Https,
            crate::DnsBehavior::never(),
        );
        assert!(matches!(unknown.validate(), Err(LabError::Config(_))));
    }
}
