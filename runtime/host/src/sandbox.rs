//! The WASI side of the sandbox: what a plugin instance sees of the outside world.
//!
//! - [`wasi_ctx`] builds a deny-by-default WASI context: no directory, no environment
//!   variable, no argument, no network, empty stdin; only the stage's [`Grants`] add to it.
//! - [`TailPipe`] captures stdout/stderr keeping only the last N bytes (and counting the
//!   rest), so a flood can neither grow host memory nor kill the call.
//! - [`link`] shadows two parts of wasmtime-wasi in the linker: the monotonic clock, whose
//!   sleeps are cut short at the call's deadline (a host-side sleep is invisible to epoch
//!   interruption, so without this `sleep(1h)` would hold a host thread for an hour), and
//!   the TCP/UDP socket constructors, which refuse and record the attempt so the error can
//!   say "capability denied".

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use wasmtime::component::{HasData, Linker, Resource};
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::clocks::WasiClocksCtxView;
use wasmtime_wasi::clocks::WasiClocksView;
use wasmtime_wasi::p2::bindings::clocks::monotonic_clock;
use wasmtime_wasi::p2::bindings::sockets::network::{self, ErrorCode, IpAddressFamily};
use wasmtime_wasi::p2::bindings::sockets::tcp_create_socket;
use wasmtime_wasi::p2::bindings::sync::sockets::udp_create_socket;
use wasmtime_wasi::p2::{
    DynPollable, OutputStream, Pollable, SocketError, SocketResult, StreamResult, TcpSocket,
    UdpSocket,
};
use wasmtime_wasi::sockets::{WasiSocketsCtxView, WasiSocketsView};
use wasmtime_wasi::{FsPerms, WasiCtx};

use crate::limits::Grants;
use crate::state::StoreState;

/// A bounded capture of a guest output stream: keeps the last `cap` bytes, counts all.
#[derive(Clone)]
pub(crate) struct TailPipe {
    inner: Arc<Mutex<Tail>>,
}

struct Tail {
    bytes: VecDeque<u8>,
    cap: usize,
    total: u64,
}

impl TailPipe {
    pub(crate) fn new(cap: usize) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Tail {
                bytes: VecDeque::new(),
                cap,
                total: 0,
            })),
        }
    }

    fn push(&self, data: &[u8]) {
        let mut t = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        t.total = t.total.saturating_add(data.len() as u64);
        let keep = data.len().min(t.cap);
        let excess = (t.bytes.len() + keep).saturating_sub(t.cap);
        t.bytes.drain(..excess);
        t.bytes.extend(&data[data.len() - keep..]);
    }

    /// The bytes kept (the last `cap` written).
    pub(crate) fn contents(&self) -> Vec<u8> {
        let t = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        t.bytes.iter().copied().collect()
    }

    /// The kept part of what was written after the first `seen` bytes (all of it unless it
    /// outgrew the tail).
    pub(crate) fn written_since(&self, seen: u64) -> Vec<u8> {
        let t = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let new = usize::try_from(t.total.saturating_sub(seen)).unwrap_or(usize::MAX);
        let skip = t.bytes.len().saturating_sub(new);
        t.bytes.iter().skip(skip).copied().collect()
    }

    /// Every byte ever written, kept or not.
    pub(crate) fn total(&self) -> u64 {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .total
    }
}

impl IsTerminal for TailPipe {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for TailPipe {
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }

    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for TailPipe {
    async fn ready(&mut self) {}
}

#[wasmtime_wasi::async_trait]
impl OutputStream for TailPipe {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.push(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        // Always writable: the tail absorbs any amount.
        Ok(1 << 20)
    }
}

impl tokio::io::AsyncWrite for TailPipe {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.push(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// A grant that cannot be honoured (a missing directory or variable).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GrantError {
    /// The key under `grants`, e.g. `dirs[0].host`.
    pub(crate) key: String,
    /// What is wrong (never a variable's value).
    pub(crate) message: String,
}

/// A deny-by-default WASI context with `grants` added and stdio captured into the pipes.
pub(crate) fn wasi_ctx(
    grants: &Grants,
    stdout: &TailPipe,
    stderr: &TailPipe,
) -> Result<WasiCtx, GrantError> {
    // The builder's defaults: no preopened directory, no environment variable, no argument,
    // an empty stdin, and TCP, UDP and name lookup all disallowed.
    let mut b = WasiCtx::builder();
    b.stdout(stdout.clone()).stderr(stderr.clone());
    for (i, d) in grants.dirs.iter().enumerate() {
        if !d.guest.starts_with('/') {
            return Err(GrantError {
                key: format!("dirs[{i}].guest"),
                message: format!("`{}` must be an absolute path such as /models", d.guest),
            });
        }
        b.preopened_dir(&d.host, &d.guest, FsPerms::ReadOnly)
            .map_err(|e| GrantError {
                key: format!("dirs[{i}].host"),
                message: format!("cannot open {} to grant it: {e}", d.host.display()),
            })?;
    }
    for (i, name) in grants.env.iter().enumerate() {
        match std::env::var(name) {
            Ok(value) => {
                b.env(name, value);
            }
            Err(e) => {
                return Err(GrantError {
                    key: format!("env[{i}]"),
                    message: format!(
                        "the host environment variable {name} cannot be granted: {e}; set it \
                         before starting Quiver or remove the grant"
                    ),
                });
            }
        }
    }
    Ok(b.build())
}

/// Replace the clock and socket constructors wasmtime-wasi linked with sandbox-aware ones.
pub(crate) fn link(linker: &mut Linker<StoreState>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    monotonic_clock::add_to_linker::<StoreState, DeadlineClock>(linker, |s| DeadlineClockView {
        until: s.deadline_at,
        inner: s.clocks(),
    })?;
    tcp_create_socket::add_to_linker::<StoreState, NoNetwork>(linker, no_network)?;
    udp_create_socket::add_to_linker::<StoreState, NoNetwork>(linker, no_network)?;
    linker.allow_shadowing(false);
    Ok(())
}

/// The monotonic clock of a plugin: real time, but no sleep outlasts the call's deadline.
struct DeadlineClock;

impl HasData for DeadlineClock {
    type Data<'a> = DeadlineClockView<'a>;
}

struct DeadlineClockView<'a> {
    until: Option<Instant>,
    inner: WasiClocksCtxView<'a>,
}

impl DeadlineClockView<'_> {
    fn clamp(&self, wanted: Duration) -> Duration {
        match self.until {
            Some(until) => wanted.min(until.saturating_duration_since(Instant::now())),
            None => wanted,
        }
    }
}

impl monotonic_clock::Host for DeadlineClockView<'_> {
    fn now(&mut self) -> wasmtime::Result<monotonic_clock::Instant> {
        self.inner.now()
    }

    fn resolution(&mut self) -> wasmtime::Result<monotonic_clock::Duration> {
        self.inner.resolution()
    }

    fn subscribe_instant(
        &mut self,
        when: monotonic_clock::Instant,
    ) -> wasmtime::Result<Resource<DynPollable>> {
        let now = self.inner.now()?;
        let wanted = Duration::from_nanos(when.saturating_sub(now));
        let d = self.clamp(wanted);
        self.inner
            .subscribe_duration(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
    }

    fn subscribe_duration(
        &mut self,
        duration: monotonic_clock::Duration,
    ) -> wasmtime::Result<Resource<DynPollable>> {
        let d = self.clamp(Duration::from_nanos(duration));
        self.inner
            .subscribe_duration(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
    }
}

/// Capabilities a plugin asked for and was refused, shared between the store and the
/// host functions that refuse them.
#[derive(Debug, Default)]
pub(crate) struct Denials {
    /// What was asked for, in order (bounded).
    pub(crate) asked: Vec<String>,
    /// Requests beyond the bound, counted.
    pub(crate) dropped: u64,
}

/// Most denials remembered per call (further ones are only counted).
const MAX_DENIALS: usize = 16;

impl Denials {
    pub(crate) fn record(&mut self, plugin: &str, what: String) {
        tracing::warn!(plugin = %plugin, "capability denied: {what}");
        if self.asked.len() < MAX_DENIALS {
            self.asked.push(what);
        } else {
            self.dropped += 1;
        }
    }
}

/// Socket constructors that always refuse, and remember that they were asked.
struct NoNetwork;

impl HasData for NoNetwork {
    type Data<'a> = NoNetworkView<'a>;
}

struct NoNetworkView<'a> {
    denials: Arc<Mutex<Denials>>,
    plugin: Arc<str>,
    inner: WasiSocketsCtxView<'a>,
}

fn no_network(s: &mut StoreState) -> NoNetworkView<'_> {
    NoNetworkView {
        denials: Arc::clone(&s.denials),
        plugin: Arc::clone(&s.plugin),
        inner: s.sockets(),
    }
}

impl NoNetworkView<'_> {
    fn deny<T>(&mut self, what: String) -> SocketResult<T> {
        self.denials
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .record(&self.plugin, what);
        Err(ErrorCode::AccessDenied.into())
    }
}

impl network::Host for NoNetworkView<'_> {
    fn convert_error_code(&mut self, error: SocketError) -> wasmtime::Result<ErrorCode> {
        self.inner.convert_error_code(error)
    }

    fn network_error_code(
        &mut self,
        err: Resource<wasmtime::Error>,
    ) -> wasmtime::Result<Option<ErrorCode>> {
        self.inner.network_error_code(err)
    }
}

impl network::HostNetwork for NoNetworkView<'_> {
    fn drop(&mut self, this: Resource<network::Network>) -> wasmtime::Result<()> {
        network::HostNetwork::drop(&mut self.inner, this)
    }
}

impl tcp_create_socket::Host for NoNetworkView<'_> {
    fn create_tcp_socket(&mut self, family: IpAddressFamily) -> SocketResult<Resource<TcpSocket>> {
        self.deny(format!("network: create a TCP socket ({family:?})"))
    }
}

impl udp_create_socket::Host for NoNetworkView<'_> {
    fn create_udp_socket(&mut self, family: IpAddressFamily) -> SocketResult<Resource<UdpSocket>> {
        self.deny(format!("network: create a UDP socket ({family:?})"))
    }
}

#[cfg(test)]
mod tests {
    use super::TailPipe;

    #[test]
    fn tail_pipe_keeps_the_last_bytes_and_counts_all() {
        let p = TailPipe::new(8);
        p.push(b"hello ");
        p.push(b"world");
        assert_eq!(p.contents(), b"lo world");
        assert_eq!(p.written_since(6), b"world");
        assert_eq!(p.written_since(9), b"ld");
        assert_eq!(p.written_since(0), b"lo world");
        p.push(b"0123456789abcdef");
        assert_eq!(p.contents(), b"89abcdef");
        assert_eq!(p.total(), 27);
        assert_eq!(p.written_since(11), b"89abcdef");
        assert_eq!(p.written_since(27), b"");
    }
}
