//! What one client may hold of the HTTPS listener: connections, file descriptors and time.
//!
//! - **Connections.** [`LimitAcceptor`] runs before the TLS handshake and holds one permit of a
//!   semaphore per connection, released when the connection closes, and counts connections per
//!   client address (at most half of the limit each, trusted proxies excepted, so one address
//!   cannot take them all). Past either limit a new connection is closed at once (a clean
//!   refusal, no handshake) and a warning is logged at most once per [`LOG_EVERY`].
//! - **File descriptors.** [`raise_fd_limit`] lifts the soft limit to the hard one at start;
//!   [`connection_limit`] keeps [`RESERVED_FDS`] of them for the database, files and the metrics
//!   listener, so the limit refuses connections before the process runs out of descriptors.
//!   Accept errors (e.g. `EMFILE`) are logged by [`log_accept_error`], never silent.
//! - **Time.** The request head has `header_timeout` from the moment the server waits for it
//!   (hyper's header read timeout, also the keep-alive idle timeout: see `lib.rs`), the body has
//!   `body_timeout` in total ([`deadline_body`]).

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use axum_server::accept::Accept;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// File descriptors kept out of the connection limit (database pool, files, logs, metrics).
pub const RESERVED_FDS: u64 = 128;
/// Least time between two log lines about refused connections or accept errors.
pub const LOG_EVERY: Duration = Duration::from_secs(10);

/// Raises the soft file-descriptor limit to the hard limit; returns the soft limit in force
/// afterwards (`None` when unlimited or unknown).
pub fn raise_fd_limit() -> Option<u64> {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    if limit.current != limit.maximum {
        let raised = Rlimit {
            current: limit.maximum,
            maximum: limit.maximum,
        };
        match setrlimit(Resource::Nofile, raised) {
            Ok(()) => return limit.maximum,
            Err(e) => tracing::warn!(error = %e, "cannot raise the file-descriptor limit"),
        }
    }
    limit.current
}

/// The connection limit in force: the configured one, lowered to fit `fd_limit` less
/// [`RESERVED_FDS`]; at least 1.
pub fn connection_limit(configured: usize, fd_limit: Option<u64>) -> usize {
    let fit = fd_limit.map_or(usize::MAX, |fds| {
        usize::try_from(fds.saturating_sub(RESERVED_FDS)).unwrap_or(usize::MAX)
    });
    configured.min(fit).max(1)
}

/// A once-per-[`LOG_EVERY`] gate for a noisy log line.
#[derive(Debug, Default)]
pub struct LogGate {
    last_ms: AtomicU64,
    suppressed: AtomicU64,
}

impl LogGate {
    /// `Some(lines suppressed since the last one)` when a line may be logged now.
    pub fn open(&self) -> Option<u64> {
        let now = u64::try_from(crate::clock::now_ms()).unwrap_or(0);
        let last = self.last_ms.load(Ordering::Relaxed);
        let every = LOG_EVERY.as_millis() as u64;
        if last != 0 && now.saturating_sub(last) < every {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        if self
            .last_ms
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
        {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        Some(self.suppressed.swap(0, Ordering::Relaxed))
    }
}

/// Logs a failed `accept` (listener error: `addr` is `None`) or a failed handshake.
pub fn log_accept_error(gate: &LogGate, addr: Option<&std::net::SocketAddr>, e: &io::Error) {
    match addr {
        None => {
            if let Some(suppressed) = gate.open() {
                let hint = match e.raw_os_error() {
                    Some(24 | 23) => {
                        " (out of file descriptors: lower max_connections or raise the limit)"
                    }
                    _ => "",
                };
                tracing::warn!(error = %e, suppressed, "cannot accept connections{hint}");
            }
        }
        Some(addr) => tracing::debug!(peer = %addr, error = %e, "connection not accepted"),
    }
}

/// The inner acceptor (before TLS): one permit per connection, or an immediate close.
#[derive(Debug, Clone)]
pub struct LimitAcceptor {
    permits: Arc<Semaphore>,
    limit: usize,
    per_address: usize,
    by_address: Arc<std::sync::Mutex<HashMap<IpAddr, usize>>>,
    exempt: Arc<[IpAddr]>,
    gate: Arc<LogGate>,
    metrics: Arc<crate::metrics::Metrics>,
}

impl LimitAcceptor {
    /// Allows `limit` connections at once, and `per_address` (at most `limit / 2`, at least 1)
    /// from one address other than the `exempt` ones (trusted proxies).
    pub fn new(
        limit: usize,
        per_address: usize,
        exempt: &[IpAddr],
        metrics: Arc<crate::metrics::Metrics>,
    ) -> LimitAcceptor {
        LimitAcceptor {
            permits: Arc::new(Semaphore::new(limit)),
            limit,
            per_address: per_address.min(limit / 2).max(1),
            by_address: Arc::default(),
            exempt: exempt.into(),
            gate: Arc::default(),
            metrics,
        }
    }

    /// Counts a connection from `ip`; `None` when that address has its share already.
    fn admit(&self, ip: IpAddr) -> Option<AddressSlot> {
        if self.exempt.contains(&ip) {
            return Some(AddressSlot { ip, of: None });
        }
        let mut counts = self.by_address.lock().unwrap_or_else(|e| e.into_inner());
        let count = counts.entry(ip).or_default();
        if *count >= self.per_address {
            return None;
        }
        *count += 1;
        Some(AddressSlot {
            ip,
            of: Some(self.by_address.clone()),
        })
    }

    fn refuse(&self, reason: &'static str, stream: TcpStream) -> io::Error {
        self.metrics.refusal(reason);
        if let Some(suppressed) = self.gate.open() {
            tracing::warn!(
                limit = self.limit,
                per_address = self.per_address,
                reason,
                suppressed,
                "connection limit reached: new connections are closed at once"
            );
        }
        // Dropping the stream closes it: no handshake, no file descriptor kept.
        drop(stream);
        io::Error::other(reason)
    }

    /// Connections open now.
    pub fn open_connections(&self) -> usize {
        self.limit - self.permits.available_permits()
    }
}

impl<S> Accept<TcpStream, S> for LimitAcceptor {
    type Stream = Limited;
    type Service = S;
    type Future = std::future::Ready<io::Result<(Limited, S)>>;

    fn accept(&self, stream: TcpStream, service: S) -> Self::Future {
        let ip = match stream.peer_addr() {
            Ok(addr) => addr.ip(),
            Err(e) => return std::future::ready(Err(e)),
        };
        let Some(slot) = self.admit(ip) else {
            return std::future::ready(Err(self.refuse("connection-limit-address", stream)));
        };
        let Ok(permit) = self.permits.clone().try_acquire_owned() else {
            return std::future::ready(Err(self.refuse("connection-limit", stream)));
        };
        let _ = stream.set_nodelay(true);
        std::future::ready(Ok((
            Limited {
                stream,
                _permit: permit,
                _slot: slot,
            },
            service,
        )))
    }
}

/// One connection counted against its address, uncounted when dropped.
#[derive(Debug)]
struct AddressSlot {
    ip: IpAddr,
    of: Option<Arc<std::sync::Mutex<HashMap<IpAddr, usize>>>>,
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let Some(of) = &self.of else { return };
        let mut counts = of.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = counts.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.ip);
            }
        }
    }
}

/// A TCP stream holding its connection permit (and its address's count) until it is dropped.
#[derive(Debug)]
pub struct Limited {
    stream: TcpStream,
    _permit: OwnedSemaphorePermit,
    _slot: AddressSlot,
}

impl AsyncRead for Limited {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Limited {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

/// Middleware: the request body must arrive whole within `timeout` of the request head; a
/// body still arriving after that fails its read (the handler answers 400 and the connection
/// is closed, since its body was not read to the end).
pub async fn deadline_body(timeout: Duration, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let body = Body::new(DeadlineBody {
        inner: body,
        deadline: Box::pin(tokio::time::sleep(timeout)),
    });
    next.run(Request::from_parts(parts, body)).await
}

struct DeadlineBody {
    inner: Body,
    deadline: Pin<Box<tokio::time::Sleep>>,
}

impl axum::body::HttpBody for DeadlineBody {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.inner).poll_frame(cx) {
            return Poll::Ready(frame);
        }
        match self.deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(axum::Error::new(io::Error::new(
                io::ErrorKind::TimedOut,
                "the request body did not arrive in time",
            ))))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connection_limit_fits_the_descriptors() {
        assert_eq!(connection_limit(10_000, Some(1024)), 1024 - 128);
        assert_eq!(connection_limit(100, Some(1_048_576)), 100);
        assert_eq!(connection_limit(100, None), 100);
        assert_eq!(connection_limit(100, Some(10)), 1);
    }

    #[test]
    fn the_log_gate_opens_once_per_period_and_counts_the_rest() {
        let gate = LogGate::default();
        assert_eq!(gate.open(), Some(0));
        assert_eq!(gate.open(), None);
        assert_eq!(gate.open(), None);
    }
}
