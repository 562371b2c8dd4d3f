//! `--auth USER:PASS`: the credentials, RFC 1929 username/password sub-negotiation, and the
//! HTTP Basic form of the same credentials (`Proxy-Authorization`); a failed login is
//! answered only after its client address's delay ([`AuthThrottle`]).

use std::fmt;
use std::net::IpAddr;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::error::HandshakeError;
use super::limits::AuthThrottle;
use super::wire::read_vec;

/// What a client must log in with, and the throttle its failures go through.
#[derive(Debug, Clone, Copy)]
pub struct Login<'a> {
    /// The credentials to give.
    pub credentials: &'a Credentials,
    /// Failed logins per client address.
    pub throttle: &'a AuthThrottle,
    /// The client's address.
    pub client: IpAddr,
}

impl Login<'_> {
    /// Waits out the client's delay for one more failure.
    pub async fn failed(&self) {
        tokio::time::sleep(self.throttle.failed(self.client)).await;
    }

    /// Forgets the client's failures.
    pub fn succeeded(&self) {
        self.throttle.succeeded(self.client);
    }
}

/// The version byte of RFC 1929's sub-negotiation.
const SUBNEGOTIATION_VERSION: u8 = 0x01;
const STATUS_SUCCESS: u8 = 0x00;
const STATUS_FAILURE: u8 = 0x01;

/// A username and password (each 1 to 255 bytes, RFC 1929's limits). `Debug` hides the
/// password.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    user: Vec<u8>,
    password: Vec<u8>,
    /// `Basic <base64(user:password)>`, what an HTTP client sends in Proxy-Authorization.
    basic: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &String::from_utf8_lossy(&self.user))
            .field("password", &"<hidden>")
            .finish()
    }
}

impl Credentials {
    /// Parses `USER:PASS` (split at the first `:`; the password may contain more).
    pub fn parse(text: &str) -> Result<Self, String> {
        let (user, password) = text
            .split_once(':')
            .ok_or_else(|| "write the credentials as USER:PASS".to_owned())?;
        for (what, value) in [("user name", user), ("password", password)] {
            if value.is_empty() || value.len() > 255 {
                return Err(format!("the {what} must be 1 to 255 bytes long (RFC 1929)"));
            }
        }
        Ok(Credentials {
            user: user.as_bytes().to_vec(),
            password: password.as_bytes().to_vec(),
            basic: format!("Basic {}", base64(text.as_bytes())),
        })
    }

    /// Whether `user` and `password` are these credentials. Takes the same time whatever
    /// bytes differ (it depends on the lengths only).
    pub fn matches(&self, user: &[u8], password: &[u8]) -> bool {
        // `&` rather than `&&`: both are compared every time.
        constant_time_eq(&self.user, user) & constant_time_eq(&self.password, password)
    }

    /// Whether an HTTP `Proxy-Authorization` value carries these credentials (the scheme
    /// name is case-insensitive).
    pub fn matches_basic(&self, header_value: &str) -> bool {
        let value = header_value.trim();
        let Some((scheme, token)) = value.split_once(' ') else {
            return false;
        };
        let expected = self.basic.split_once(' ').map_or("", |(_, t)| t);
        scheme.eq_ignore_ascii_case("basic")
            && constant_time_eq(expected.as_bytes(), token.trim().as_bytes())
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Standard base64 with padding (RFC 4648 §4).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                // A 6-bit index: always within the 64-entry alphabet.
                let index = ((n >> (18 - 6 * i)) & 0x3f) as usize;
                out.push(char::from(ALPHABET.get(index).copied().unwrap_or(b'=')));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// RFC 1929: reads the client's username and password, answers success or (after the
/// client's delay) failure.
pub async fn authenticate<S>(stream: &mut S, login: Login<'_>) -> Result<(), HandshakeError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let version = stream.read_u8().await?;
    if version != SUBNEGOTIATION_VERSION {
        stream
            .write_all(&[SUBNEGOTIATION_VERSION, STATUS_FAILURE])
            .await?;
        stream.flush().await?;
        return Err(HandshakeError::new(format!(
            "username/password authentication with version {version} (not 1)"
        )));
    }
    let user = read_vec(stream).await?;
    let password = read_vec(stream).await?;
    let ok = login.credentials.matches(&user, &password);
    if ok {
        login.succeeded();
    } else {
        login.failed().await;
    }
    let status = if ok { STATUS_SUCCESS } else { STATUS_FAILURE };
    stream.write_all(&[SUBNEGOTIATION_VERSION, status]).await?;
    stream.flush().await?;
    if ok {
        Ok(())
    } else {
        Err(HandshakeError::new(format!(
            "authentication failed for user {:?}",
            String::from_utf8_lossy(&user)
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_user_and_password() {
        let c = Credentials::parse("alice:s3cr:et").unwrap();
        assert!(c.matches(b"alice", b"s3cr:et"));
        assert!(!c.matches(b"alice", b"s3cr"));
        assert!(!c.matches(b"bob", b"s3cr:et"));
        assert!(!format!("{c:?}").contains("s3cr"));
        for bad in ["", "alice", ":pass", "alice:"] {
            assert!(Credentials::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Credentials::parse(&format!("{}:x", "u".repeat(256))).is_err());
    }

    #[test]
    fn base64_and_basic() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("Aladdin:open sesame", "QWxhZGRpbjpvcGVuIHNlc2FtZQ=="),
        ] {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
        let c = Credentials::parse("Aladdin:open sesame").unwrap();
        assert!(c.matches_basic("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="));
        assert!(c.matches_basic("  basic   QWxhZGRpbjpvcGVuIHNlc2FtZQ== "));
        assert!(!c.matches_basic("Basic QWxhZGRpbjpvcGVuIHNlc2FtZq=="));
        assert!(!c.matches_basic("Bearer QWxhZGRpbjpvcGVuIHNlc2FtZQ=="));
        assert!(!c.matches_basic("Basic"));
    }
}
