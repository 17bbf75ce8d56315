//! Per-instance store data: the sandbox (deny-by-default WASI), the limits of one plugin
//! instance, and the host side of the `quiver:transform/host` imports (logs and counters).
//!
//! One [`StoreState`] lives in each `Store`, and one `Store` per plugin instance.

use std::collections::BTreeMap;
use std::time::Duration;

use wasmtime::component::ResourceTable;
use wasmtime::{StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::bindings::Level;
use crate::bindings::quiver::transform::{host, types};

/// Limits of one plugin instance. The defaults are safe for untrusted code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Cap on the instance's linear memory, in bytes.
    pub memory_bytes: u64,
    /// Cap on table elements (function references) of the instance.
    pub table_elements: u32,
    /// Wall-clock deadline of any one call into the plugin (create, process, finish).
    pub call_deadline: Duration,
    /// Bytes of stdout and of stderr kept from the plugin (each), attached to its errors.
    pub captured_output_bytes: usize,
    /// Log records and their bytes kept per call; beyond that they are counted, not kept.
    pub log_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            memory_bytes: 256 << 20,
            table_elements: 100_000,
            call_deadline: Duration::from_secs(30),
            captured_output_bytes: 64 << 10,
            log_bytes: 1 << 20,
        }
    }
}

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

/// The data of one `Store`: everything a single plugin instance may touch.
pub(crate) struct StoreState {
    /// WASI context: no preopens, no environment, no network, stdio captured.
    wasi: WasiCtx,
    /// Resource handles of WASI.
    table: ResourceTable,
    /// Memory and table caps, enforced by wasmtime on every grow.
    pub(crate) limits: StoreLimits,
    /// Captured stderr of the guest (bounded); its tail travels with every plugin error.
    pub(crate) stderr: MemoryOutputPipe,
    /// Plugin name, for log records forwarded to `tracing`.
    pub(crate) plugin: String,
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
    pub(crate) fn new(plugin: &str, limits: &Limits) -> Self {
        // Stdout is captured (bounded) so a chatty plugin cannot write to the host's stdout;
        // only stderr is kept for error reports.
        let stdout = MemoryOutputPipe::new(limits.captured_output_bytes);
        let stderr = MemoryOutputPipe::new(limits.captured_output_bytes);
        // Deny by default: the builder's defaults give no preopened directory, no
        // environment variable, no argument, no network and an empty stdin.
        let wasi = WasiCtx::builder()
            .stdout(stdout)
            .stderr(stderr.clone())
            .build();
        Self {
            wasi,
            table: ResourceTable::new(),
            limits: StoreLimitsBuilder::new()
                .memory_size(usize::try_from(limits.memory_bytes).unwrap_or(usize::MAX))
                .table_elements(usize::try_from(limits.table_elements).unwrap_or(usize::MAX))
                .instances(16)
                .trap_on_grow_failure(true)
                .build(),
            stderr,
            plugin: plugin.to_owned(),
            logs: Vec::new(),
            log_bytes: 0,
            log_cap: limits.log_bytes,
            logs_dropped: 0,
            counters: BTreeMap::new(),
        }
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

impl types::Host for StoreState {}

impl host::Host for StoreState {
    fn log(&mut self, level: Level, message: String, fields: Vec<(String, String)>) {
        let level = match level {
            Level::Trace => tracing::Level::TRACE,
            Level::Debug => tracing::Level::DEBUG,
            Level::Info => tracing::Level::INFO,
            Level::Warn => tracing::Level::WARN,
            Level::Error => tracing::Level::ERROR,
        };
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

    fn counter_add(&mut self, name: String, delta: u64) {
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
