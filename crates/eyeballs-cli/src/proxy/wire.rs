//! Reads shared by the SOCKS5 handshake and RFC 1929 authentication.

use tokio::io::{AsyncRead, AsyncReadExt};

/// Reads a length byte, then that many bytes (0 to 255).
pub async fn read_vec<S>(stream: &mut S) -> std::io::Result<Vec<u8>>
where
    S: AsyncRead + Unpin,
{
    let len = stream.read_u8().await?;
    let mut bytes = vec![0u8; usize::from(len)];
    stream.read_exact(&mut bytes).await?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reads_exactly_the_length_given() {
        let mut input: &[u8] = &[3, b'a', b'b', b'c', b'd'];
        assert_eq!(read_vec(&mut input).await.unwrap(), b"abc");
        assert_eq!(input, b"d");
        let mut empty: &[u8] = &[0];
        assert!(read_vec(&mut empty).await.unwrap().is_empty());
        let mut short: &[u8] = &[4, b'a'];
        let e = read_vec(&mut short).await.unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof);
    }
}
