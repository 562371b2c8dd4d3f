//! IPv4-embedded IPv6 addresses (RFC 6052): a NAT64 prefix ([`Pref64`]), the address that
//! stands for an IPv4 address behind it ([`Pref64::embed`]) and the IPv4 address inside one
//! ([`Pref64::extract`]), at every prefix length the RFC allows (R6052-1 … R6052-4).

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// A NAT64 prefix: the first `len` bits of `prefix`, `len` one of 32, 40, 48, 56, 64, 96
/// (R6052-2), and for lengths below 96 the "u" octet (bits 64–71) zero (R6052-3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Pref64 {
    prefix: Ipv6Addr,
    len: u8,
}

/// Why a [`Pref64`] cannot be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Pref64Error {
    /// Not one of 32, 40, 48, 56, 64, 96 (R6052-2).
    Length(u8),
    /// Bits of the address beyond the prefix length are set.
    HostBits,
}

impl fmt::Display for Pref64Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pref64Error::Length(len) => write!(
                f,
                "a NAT64 prefix is /32, /40, /48, /56, /64 or /96, not /{len}"
            ),
            Pref64Error::HostBits => f.write_str("the NAT64 prefix has bits set beyond its length"),
        }
    }
}

impl std::error::Error for Pref64Error {}

/// Where the four IPv4 octets go, per prefix length (RFC 6052 §2.2): byte indices.
fn octet_positions(len: u8) -> Option<[usize; 4]> {
    Some(match len {
        32 => [4, 5, 6, 7],
        40 => [5, 6, 7, 9],
        48 => [6, 7, 9, 10],
        56 => [7, 9, 10, 11],
        64 => [9, 10, 11, 12],
        96 => [12, 13, 14, 15],
        _ => return None,
    })
}

impl Pref64 {
    /// The Well-Known Prefix `64:ff9b::/96` (R6052-1).
    pub const WELL_KNOWN: Pref64 = Pref64 {
        prefix: Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0, 0),
        len: 96,
    };

    /// The local-use prefix `64:ff9b:1::/48` (RFC 8215), for NAT64 deployments of a network's
    /// own.
    pub const LOCAL_USE: Pref64 = Pref64 {
        prefix: Ipv6Addr::new(0x64, 0xff9b, 1, 0, 0, 0, 0, 0),
        len: 48,
    };

    /// The prefix `prefix/len`.
    ///
    /// # Errors
    /// A length RFC 6052 does not allow, or bits set beyond it. (A /96 prefix whose byte 8 is
    /// not zero is accepted: the "u" octet lies inside it and is the operator's to keep zero,
    /// R6052-3.)
    pub fn new(prefix: Ipv6Addr, len: u8) -> Result<Self, Pref64Error> {
        if octet_positions(len).is_none() {
            return Err(Pref64Error::Length(len));
        }
        let host_mask = u128::MAX >> len;
        if prefix.to_bits() & host_mask != 0 {
            return Err(Pref64Error::HostBits);
        }
        Ok(Pref64 { prefix, len })
    }

    /// The prefix's bits (the rest zero).
    pub fn prefix(&self) -> Ipv6Addr {
        self.prefix
    }

    /// Its length in bits.
    pub fn prefix_len(&self) -> u8 {
        self.len
    }

    /// The IPv6 address that stands for `v4` behind this prefix: the prefix, then the IPv4
    /// octets at the positions of RFC 6052 §2.2, the "u" octet and the suffix zero
    /// (R6052-3, R6052-4).
    pub fn embed(&self, v4: Ipv4Addr) -> Ipv6Addr {
        let mut bytes = self.prefix.octets();
        if let Some(positions) = octet_positions(self.len) {
            for (&at, octet) in positions.iter().zip(v4.octets()) {
                bytes[at] = octet;
            }
        }
        Ipv6Addr::from(bytes)
    }

    /// The IPv4 address embedded in `ip` if `ip` is under this prefix: the inverse of
    /// [`Pref64::embed`]. `None` for an address outside the prefix, and for one whose "u"
    /// octet is not zero (prefixes shorter than /96, R6052-3). A non-zero suffix is accepted
    /// (it SHOULD be zero, R6052-4).
    pub fn extract(&self, ip: Ipv6Addr) -> Option<Ipv4Addr> {
        let mask = !(u128::MAX.checked_shr(u32::from(self.len)).unwrap_or(0));
        if ip.to_bits() & mask != self.prefix.to_bits() {
            return None;
        }
        let bytes = ip.octets();
        if self.len < 96 && bytes[8] != 0 {
            return None;
        }
        let [a, b, c, d] = octet_positions(self.len)?;
        Some(Ipv4Addr::new(bytes[a], bytes[b], bytes[c], bytes[d]))
    }
}

impl fmt::Display for Pref64 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.prefix, self.len)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)] // Tests: a failure is the report.
mod tests {
    use super::*;

    fn v6(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    /// The checklist's vectors for 192.0.2.33, every allowed length (R6052-1, R6052-2).
    const VECTORS: [(&str, u8, &str); 7] = [
        ("2001:db8::", 32, "2001:db8:c000:221::"),
        ("2001:db8:100::", 40, "2001:db8:1c0:2:21::"),
        ("2001:db8:122::", 48, "2001:db8:122:c000:2:2100::"),
        ("2001:db8:122:300::", 56, "2001:db8:122:3c0:0:221::"),
        ("2001:db8:122:344::", 64, "2001:db8:122:344:c0:2:2100:0"),
        ("2001:db8:122:344::", 96, "2001:db8:122:344::c000:221"),
        ("64:ff9b::", 96, "64:ff9b::c000:221"),
    ];

    #[test]
    fn r6052_2_embed_and_extract_at_every_length() {
        let v4 = Ipv4Addr::new(192, 0, 2, 33);
        for (prefix, len, synthesized) in VECTORS {
            let p = Pref64::new(v6(prefix), len).unwrap();
            assert_eq!(p.embed(v4), v6(synthesized), "{p}");
            assert_eq!(p.extract(v6(synthesized)), Some(v4), "{p}");
        }
        assert_eq!(Pref64::WELL_KNOWN.embed(v4), v6("64:ff9b::192.0.2.33"));
    }

    #[test]
    fn r6052_2_other_lengths_and_host_bits_are_refused() {
        for len in [0, 8, 31, 33, 63, 65, 95, 97, 128, 255] {
            assert_eq!(
                Pref64::new(v6("2001:db8::"), len),
                Err(Pref64Error::Length(len))
            );
        }
        assert_eq!(
            Pref64::new(v6("2001:db8::1"), 32),
            Err(Pref64Error::HostBits)
        );
    }

    #[test]
    fn r6052_3_a_set_u_octet_is_not_an_embedded_address() {
        let p = Pref64::new(v6("2001:db8::"), 32).unwrap();
        // 2001:db8:c000:221:ff00:: has byte 8 = 0xff.
        assert_eq!(p.extract(v6("2001:db8:c000:221:ff00::")), None);
        // Outside the prefix.
        assert_eq!(p.extract(v6("2001:db9:c000:221::")), None);
        // A non-zero suffix is tolerated (R6052-4: SHOULD be zero).
        assert_eq!(
            p.extract(v6("2001:db8:c000:221:0:1::")),
            Some(Ipv4Addr::new(192, 0, 2, 33))
        );
    }

    #[test]
    fn local_use_prefix_is_a_48() {
        let v4 = Ipv4Addr::new(10, 1, 2, 3);
        let ip = Pref64::LOCAL_USE.embed(v4);
        assert_eq!(ip, v6("64:ff9b:1:a01:2:300::"));
        assert_eq!(Pref64::LOCAL_USE.extract(ip), Some(v4));
        assert_eq!(Pref64::WELL_KNOWN.extract(ip), None);
    }
}
