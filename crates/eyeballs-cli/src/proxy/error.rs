//! Why a client's handshake ended without a request to race.

use std::fmt;
use std::io;

/// Why a client's handshake ended without a request to race: for the log. Whatever the
/// client was owed (a SOCKS reply, an HTTP status) has been sent already.
#[derive(Debug)]
pub struct HandshakeError(String);

impl HandshakeError {
    /// An error described by `message`.
    pub fn new(message: impl Into<String>) -> Self {
        HandshakeError(message.into())
    }
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<io::Error> for HandshakeError {
    fn from(e: io::Error) -> Self {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            HandshakeError::new("the client closed the connection during the handshake")
        } else {
            HandshakeError::new(format!("handshake I/O error: {e}"))
        }
    }
}
