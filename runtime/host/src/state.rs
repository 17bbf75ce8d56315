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
    /// Key files `hmac-sha256` has read, by the path the plugin named: each is read once
    /// per instance, so a stream hashes under one key even if the file changes (at most
    /// `compute::MAX_KEYS_KEPT`, each at most `compute::MAX_KEY_BYTES`).
    pub(crate) keys: Vec<(String, Arc<[u8]>)>,
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
    /// Bytes of `logs` kept since the last drain, overheads included (bounded by
    /// `limits.log`).
    pub(crate) log_bytes: u64,
    /// Bytes the stage may still keep this run (`limits.log_per_run` less what its
    /// instances kept so far); set by the transformer before every call.
    pub(crate) log_run_left: u64,
    /// Records dropped over a log limit: counted, never silently lost.
    pub(crate) logs_dropped: u64,
    /// Counters bumped by the plugin through `host.counter-add` during the current call.
    pub(crate) counters: BTreeMap<String, u64>,
    /// The stream's counters from earlier calls, lent by the transformer for the call (and
    /// taken back after it) so a new name can be told from a known one.
    pub(crate) known_counters: BTreeMap<String, u64>,
    /// Names in `counters` that are not in `known_counters`.
    new_counters: usize,
    /// Bumps of a counter refused during the current call (a new name over the count, or a
    /// name over the length): counted, never silently lost.
    pub(crate) counters_dropped: u64,
    /// The log, counter and error limits of the stage.
    limits: crate::limits::Limits,
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
            keys: Vec::new(),
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
            log_run_left: limits.log_per_run.0,
            logs_dropped: 0,
            counters: BTreeMap::new(),
            known_counters: BTreeMap::new(),
            new_counters: 0,
            counters_dropped: 0,
            limits: limits.clone(),
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
    /// The counters the current call bumped, and the stream's earlier ones lent for it.
    pub(crate) fn take_counters(&mut self) -> (BTreeMap<String, u64>, BTreeMap<String, u64>) {
        self.new_counters = 0;
        (
            std::mem::take(&mut self.counters),
            std::mem::take(&mut self.known_counters),
        )
    }

    /// `host.log`, for every contract version. A record that breaks a limit (records per
    /// call, fields per record, key or value length, bytes per call or per run, with a fixed
    /// overhead per record and per field so empty ones are paid for) is dropped whole and
    /// counted; a kept one is forwarded to `tracing` with its text made printable (a plugin
    /// must not forge log lines or drive the terminal).
    fn log_record(
        &mut self,
        level: tracing::Level,
        message: String,
        fields: Vec<(String, String)>,
    ) {
        use crate::limits::{LOG_FIELD_OVERHEAD, LOG_RECORD_OVERHEAD};
        let l = &self.limits;
        let field_max = l.log_field.0;
        let size = LOG_RECORD_OVERHEAD
            .saturating_add(message.len() as u64)
            .saturating_add(
                fields
                    .iter()
                    .map(|(k, v)| LOG_FIELD_OVERHEAD + k.len() as u64 + v.len() as u64)
                    .fold(0u64, u64::saturating_add),
            );
        let fits = self.logs.len() < l.log_records as usize
            && fields.len() <= l.log_fields as usize
            && fields
                .iter()
                .all(|(k, v)| k.len() as u64 <= field_max && v.len() as u64 <= field_max)
            && self.log_bytes.saturating_add(size) <= l.log.0
            && size <= self.log_run_left;
        if !fits {
            self.logs_dropped += 1;
            return;
        }
        self.log_bytes += size;
        self.log_run_left -= size;
        let shown = crate::text::printable(&message, false);
        match level {
            tracing::Level::ERROR => tracing::error!(plugin = %self.plugin, ?fields, "{shown}"),
            tracing::Level::WARN => tracing::warn!(plugin = %self.plugin, ?fields, "{shown}"),
            tracing::Level::INFO => tracing::info!(plugin = %self.plugin, ?fields, "{shown}"),
            tracing::Level::DEBUG => tracing::debug!(plugin = %self.plugin, ?fields, "{shown}"),
            tracing::Level::TRACE => tracing::trace!(plugin = %self.plugin, ?fields, "{shown}"),
        }
        self.logs.push(LogRecord {
            level,
            message,
            fields,
        });
    }

    /// `host.counter-add`, for every contract version. Names accumulate over the run, so
    /// both their number (`limits.counters`, over the whole stream) and their length
    /// (`limits.counter_name`) are bounded; a refused bump is counted in `counters_dropped`.
    fn add_to_counter(&mut self, name: String, delta: u64) {
        if name.len() as u64 > self.limits.counter_name.0 {
            self.counters_dropped += 1;
            return;
        }
        if let Some(c) = self.counters.get_mut(&name) {
            *c = c.saturating_add(delta);
            return;
        }
        let known = self.known_counters.contains_key(&name);
        if !known {
            let names = self.known_counters.len().saturating_add(self.new_counters);
            if names >= self.limits.counters as usize {
                self.counters_dropped += 1;
                return;
            }
            self.new_counters += 1;
        }
        self.counters.insert(name, delta);
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
