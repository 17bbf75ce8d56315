//! Per-instance store data: the sandbox (deny-by-default WASI), the memory/table limiter of one
//! plugin instance, and the host side of the `quiver:transform/host` imports (logs and counters).
//!
//! One [`StoreState`] lives in each `Store`, and one `Store` per plugin instance. The WASI
//! pieces it holds (captured pipes, grants) are built in `sandbox.rs`; the limits come from
//! `limits.rs`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use wasmtime::component::ResourceTable;
use wasmtime::{ResourceLimiter, StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::bindings::{v1, v2};
use crate::columns::CallScope;
use crate::limits::{Grants, Sandbox};
use crate::sandbox::{Denials, GrantError, TailPipe, wasi_ctx};

/// A structured log record emitted by a plugin through the `host.log` import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRecord {
    /// Severity as the plugin gave it.
    pub level: tracing::Level,
    /// The message.
    pub message: String,
    /// Key/value pairs attached by the plugin.
    pub fields: Vec<(String, String)>,
}

/// The memory and table caps of one instance, remembering the largest memory it reached.
pub(crate) struct Limiter {
    caps: StoreLimits,
    /// Largest linear memory (bytes) this instance was allowed to grow to.
    pub(crate) peak_memory: usize,
    /// Its linear memory now (bytes): host columns made for it count on top of this.
    pub(crate) current_memory: usize,
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let ok = self.caps.memory_growing(current, desired, maximum)?;
        if ok {
            self.peak_memory = self.peak_memory.max(desired);
            self.current_memory = desired;
        }
        Ok(ok)
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.caps.memory_grow_failed(error)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.caps.table_growing(current, desired, maximum)
    }

    fn table_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.caps.table_grow_failed(error)
    }

    fn instances(&self) -> usize {
        self.caps.instances()
    }

    fn tables(&self) -> usize {
        self.caps.tables()
    }

    fn memories(&self) -> usize {
        self.caps.memories()
    }
}

/// The data of one `Store`: everything a single plugin instance may touch.
pub(crate) struct StoreState {
    /// WASI context: deny by default, plus the stage's grants; stdio captured.
    wasi: WasiCtx,
    /// Resource handles: WASI's and the 0.2 contract's columns and batches.
    pub(crate) table: ResourceTable,
    /// The 0.2 contract's current call: its number, the host columns it made and their bytes.
    pub(crate) scope: CallScope,
    /// The stage's memory limit in bytes: linear memory plus host columns made for it.
    pub(crate) memory_cap: usize,
    /// The stage's grants (where `hmac-sha256` finds key files).
    pub(crate) grants: Grants,
    /// Memory and table caps, enforced by wasmtime on every grow.
    pub(crate) limiter: Limiter,
    /// Captured stdout (tail only), counted in the stage's accounting.
    pub(crate) stdout: TailPipe,
    /// Captured stderr (tail only); its tail travels with every plugin error.
    pub(crate) stderr: TailPipe,
    /// When the current call's deadline passes; host sleeps are cut short there, and host
    /// kernels that cannot finish before it are refused.
    pub(crate) deadline_at: Option<Instant>,
    /// The current call's fuel budget, for a metered plugin: host kernels are charged
    /// against it.
    pub(crate) fuel_budget: Option<u64>,
    /// Capabilities the plugin asked for and was refused during the current call.
    pub(crate) denials: Arc<Mutex<Denials>>,
    /// Plugin name, for log records forwarded to `tracing`.
    pub(crate) plugin: Arc<str>,
    /// Log records since the host last drained them.
    pub(crate) logs: Vec<LogRecord>,
    /// Bytes of `logs` kept so far (bounded by `log_cap`).
    log_bytes: usize,
    /// Most log bytes kept between drains.
    log_cap: usize,
    /// Records dropped because of `log_cap`: counted, never silently lost.
    pub(crate) logs_dropped: u64,
    /// Counters bumped by the plugin through `host.counter-add`.
    pub(crate) counters: BTreeMap<String, u64>,
}

impl StoreState {
    pub(crate) fn new(plugin: &str, sandbox: &Sandbox) -> Result<Self, GrantError> {
        let limits = &sandbox.limits;
        let cap = usize::try_from(limits.captured_output.0).unwrap_or(usize::MAX);
        let stdout = TailPipe::new(cap);
        let stderr = TailPipe::new(cap);
        let wasi = wasi_ctx(&sandbox.grants, &stdout, &stderr)?;
        Ok(Self {
            wasi,
            table: ResourceTable::new(),
            scope: CallScope::default(),
            memory_cap: usize::try_from(limits.memory.0).unwrap_or(usize::MAX),
            grants: sandbox.grants.clone(),
            limiter: Limiter {
                caps: StoreLimitsBuilder::new()
                    .memory_size(usize::try_from(limits.memory.0).unwrap_or(usize::MAX))
                    .table_elements(usize::try_from(limits.table_elements).unwrap_or(usize::MAX))
                    .instances(16)
                    .trap_on_grow_failure(true)
                    .build(),
                peak_memory: 0,
                current_memory: 0,
            },
            stdout,
            stderr,
            deadline_at: None,
            fuel_budget: None,
            denials: Arc::default(),
            plugin: Arc::from(plugin),
            logs: Vec::new(),
            log_bytes: 0,
            log_cap: usize::try_from(limits.log.0).unwrap_or(usize::MAX),
            logs_dropped: 0,
            counters: BTreeMap::new(),
        })
    }

    /// Take the capability denials recorded since the last call: what was asked, and how
    /// many requests in all.
    pub(crate) fn take_denials(&mut self) -> (Vec<String>, u64) {
        let mut d = self.denials.lock().unwrap_or_else(PoisonError::into_inner);
        let asked = std::mem::take(&mut d.asked);
        let n = asked.len() as u64 + std::mem::take(&mut d.dropped);
        (asked, n)
    }

    /// Forget the log records kept since the last call (they were already forwarded to
    /// `tracing`) so the next call has its full log budget.
    pub(crate) fn drain_logs(&mut self) -> Vec<LogRecord> {
        self.log_bytes = 0;
        std::mem::take(&mut self.logs)
    }

    /// The last `max` bytes of the guest's stderr, lossily decoded.
    pub(crate) fn stderr_tail(&self, max: usize) -> String {
        let bytes = self.stderr.contents();
        let start = bytes.len().saturating_sub(max);
        String::from_utf8_lossy(&bytes[start..])
            .trim_end()
            .to_owned()
    }
}

impl WasiView for StoreState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl v1::types::Host for StoreState {}
impl v2::types::Host for StoreState {}

impl StoreState {
    /// `host.log`, for every contract version.
    fn log_record(
        &mut self,
        level: tracing::Level,
        message: String,
        fields: Vec<(String, String)>,
    ) {
        let size = message.len() + fields.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>();
        if self.log_bytes + size > self.log_cap {
            self.logs_dropped += 1;
            return;
        }
        self.log_bytes += size;
        match level {
            tracing::Level::ERROR => tracing::error!(plugin = %self.plugin, ?fields, "{message}"),
            tracing::Level::WARN => tracing::warn!(plugin = %self.plugin, ?fields, "{message}"),
            tracing::Level::INFO => tracing::info!(plugin = %self.plugin, ?fields, "{message}"),
            tracing::Level::DEBUG => tracing::debug!(plugin = %self.plugin, ?fields, "{message}"),
            tracing::Level::TRACE => tracing::trace!(plugin = %self.plugin, ?fields, "{message}"),
        }
        self.logs.push(LogRecord {
            level,
            message,
            fields,
        });
    }

    /// `host.counter-add`, for every contract version.
    fn add_to_counter(&mut self, name: String, delta: u64) {
        // Bound the number of distinct counters so a hostile plugin cannot grow host memory.
        const MAX_COUNTERS: usize = 1024;
        if self.counters.len() >= MAX_COUNTERS && !self.counters.contains_key(&name) {
            *self
                .counters
                .entry("quiver.counters-dropped".into())
                .or_default() += 1;
            return;
        }
        let c = self.counters.entry(name).or_default();
        *c = c.saturating_add(delta);
    }
}

impl v1::quiver::transform::host::Host for StoreState {
    fn log(&mut self, level: v1::Level, message: String, fields: Vec<(String, String)>) {
        let level = match level {
            v1::Level::Trace => tracing::Level::TRACE,
            v1::Level::Debug => tracing::Level::DEBUG,
            v1::Level::Info => tracing::Level::INFO,
            v1::Level::Warn => tracing::Level::WARN,
            v1::Level::Error => tracing::Level::ERROR,
        };
        self.log_record(level, message, fields);
    }

    fn counter_add(&mut self, name: String, delta: u64) {
        self.add_to_counter(name, delta);
    }
}

impl v2::quiver::transform::host::Host for StoreState {
    fn log(
        &mut self,
        level: v2::Level,
        message: String,
        fields: Vec<(String, String)>,
    ) -> wasmtime::Result<()> {
        let level = match level {
            v2::Level::Trace => tracing::Level::TRACE,
            v2::Level::Debug => tracing::Level::DEBUG,
            v2::Level::Info => tracing::Level::INFO,
            v2::Level::Warn => tracing::Level::WARN,
            v2::Level::Error => tracing::Level::ERROR,
        };
        self.log_record(level, message, fields);
        Ok(())
    }

    fn counter_add(&mut self, name: String, delta: u64) -> wasmtime::Result<()> {
        self.add_to_counter(name, delta);
        Ok(())
    }
}
