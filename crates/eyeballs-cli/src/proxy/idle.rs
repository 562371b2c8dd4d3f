//! The idle timeout (`--idle-timeout`): streams that share one clock of "last byte moved",
//! in either direction on either side, and fail with `TimedOut` once it is older than the
//! timeout. A relay (or an HTTP connection and its upstream) whose two streams share an
//! [`Activity`] ends when nothing has moved either way for that long, so an abandoned relay
//! gives its slot back.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// The buffer of each direction of a relay (`copy_bidirectional_with_sizes`): 64 KiB moves
/// a bulk transfer in a quarter of the system calls tokio's default 8 KiB takes (measured on
/// loopback: see the crate's notes in docs/operators.md).
pub const RELAY_BUFFER: usize = 64 * 1024;

/// When bytes last moved, shared by the streams of one client.
#[derive(Debug)]
pub struct Activity {
    /// The clock's origin.
    start: Instant,
    /// Milliseconds from `start` to the last progress.
    last_ms: AtomicU64,
    /// The timeout.
    idle: Duration,
}

impl Activity {
    /// A clock that starts now, for streams idle for at most `idle`.
    pub fn new(idle: Duration) -> Arc<Self> {
        Arc::new(Activity {
            start: Instant::now(),
            last_ms: AtomicU64::new(0),
            idle,
        })
    }

    /// Records progress now.
    fn touch(&self) {
        // Milliseconds since start: u64 holds 584 million years of them.
        let ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.fetch_max(ms, Ordering::Relaxed);
    }

    /// When the streams time out if nothing moves before.
    fn deadline(&self) -> Instant {
        let last = Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
        self.start + last + self.idle
    }
}

/// A stream that counts as active while bytes move through it (or through any stream
/// sharing its [`Activity`]), and whose pending reads and writes fail with
/// [`io::ErrorKind::TimedOut`] once the shared clock is idle for too long.
#[derive(Debug)]
pub struct IdleStream<S> {
    inner: S,
    activity: Arc<Activity>,
    sleep: Pin<Box<Sleep>>,
}

impl<S> IdleStream<S> {
    /// Wraps `inner`, sharing `activity`'s clock.
    pub fn new(inner: S, activity: Arc<Activity>) -> Self {
        let sleep = Box::pin(tokio::time::sleep_until(activity.deadline()));
        IdleStream {
            inner,
            activity,
            sleep,
        }
    }

    /// What a write of the inner stream gave, as this stream's: bytes written count as
    /// activity; pending checks the clock.
    fn wrote(
        &mut self,
        cx: &mut Context<'_>,
        wrote: Poll<io::Result<usize>>,
    ) -> Poll<io::Result<usize>> {
        match wrote {
            Poll::Ready(Ok(n)) => {
                if n > 0 {
                    self.activity.touch();
                }
                Poll::Ready(Ok(n))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => self.poll_idle(cx).map(Err),
        }
    }

    /// Checks the clock while the inner stream is not ready: the error once idle too long,
    /// else pending, with the task woken at the current deadline.
    fn poll_idle(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        loop {
            let deadline = self.activity.deadline();
            if self.sleep.deadline() != deadline {
                self.sleep.as_mut().reset(deadline);
            }
            match self.sleep.as_mut().poll(cx) {
                Poll::Pending => return Poll::Pending,
                // Another stream may have moved bytes meanwhile: look again.
                Poll::Ready(()) if self.activity.deadline() > deadline => continue,
                Poll::Ready(()) => return Poll::Ready(idle_error(self.activity.idle)),
            }
        }
    }
}

fn idle_error(idle: Duration) -> io::Error {
    io::Error::new(
        io::ErrorKind::TimedOut,
        format!("no bytes moved either way for {idle:?} (--idle-timeout)"),
    )
}

impl<S: AsyncRead + Unpin> AsyncRead for IdleStream<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(result) => {
                if buf.filled().len() > before {
                    this.activity.touch();
                }
                Poll::Ready(result)
            }
            Poll::Pending => this.poll_idle(cx).map(Err),
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for IdleStream<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let wrote = Pin::new(&mut this.inner).poll_write(cx, data);
        this.wrote(cx, wrote)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_flush(cx) {
            Poll::Pending => this.poll_idle(cx).map(Err),
            ready => ready,
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let wrote = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.wrote(cx, wrote)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{duplex, AsyncReadExt, AsyncWriteExt};

    #[tokio::test(start_paused = true)]
    async fn a_quiet_stream_times_out_and_traffic_on_a_sibling_keeps_it_alive() {
        let activity = Activity::new(Duration::from_secs(60));
        let (a, _a_peer) = duplex(64);
        let (b, mut b_peer) = duplex(64);
        let mut a = IdleStream::new(a, Arc::clone(&activity));
        let mut b = IdleStream::new(b, Arc::clone(&activity));
        let started = Instant::now();
        let reader = tokio::spawn(async move {
            let mut byte = [0u8; 1];
            let e = a.read(&mut byte).await.unwrap_err();
            (e.kind(), started.elapsed())
        });
        // Bytes through b every 40 s keep a (which sees none) alive.
        for _ in 0..3 {
            tokio::time::sleep(Duration::from_secs(40)).await;
            b_peer.write_all(b"x").await.unwrap();
            let mut byte = [0u8; 1];
            b.read_exact(&mut byte).await.unwrap();
        }
        let (kind, after) = reader.await.unwrap();
        assert_eq!(kind, io::ErrorKind::TimedOut);
        // The last byte moved at 120 s: the timeout is 60 s after it.
        assert!(
            after >= Duration::from_secs(180) && after < Duration::from_secs(181),
            "{after:?}"
        );
    }
}
