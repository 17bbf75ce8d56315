//! The errors of the host, each saying who is at fault.
//!
//! [`LoadError`]: a file that is not a usable Quiver plugin, or an engine that cannot start.
//! [`PluginError`]: a running plugin failed; it carries the plugin's name, version and
//! sha256, the call and batch, the [`ErrorKind`] (config, data, plugin bug, trap, invalid
//! output) and the tail of the plugin's stderr.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

/// A plugin could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("cannot read plugin file {path}: {reason}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: std::io::Error,
    },
    /// The bytes are not a WebAssembly component (maybe a core module, or not wasm at all).
    #[error(
        "{origin} is not a WebAssembly component: {reason}\n  \
         hint: build plugins with `cargo build --target wasm32-wasip2 --release` (a core \
         module from wasm32-unknown-unknown or wasm32-wasip1 is not a component)"
    )]
    NotAComponent {
        /// Where the bytes came from.
        origin: String,
        /// What wasmtime said.
        reason: String,
    },
    /// A component, but not one that exports the Quiver contract we support.
    #[error(
        "{origin} is a component but not a Quiver plugin: it does not export `{expected}`{found}\n  \
         hint: implement the `plugin` world of wit/transform.wit (the SDKs do this for you)"
    )]
    NotAPlugin {
        /// Where the bytes came from.
        origin: String,
        /// The interface we looked for.
        expected: String,
        /// What the component exports instead (pre-formatted).
        found: String,
    },
    /// The component imports something the host does not provide.
    #[error(
        "{origin} imports something Quiver does not provide: {reason}\n  \
         hint: plugins may import only quiver:transform/host and WASI 0.2 (filesystem, \
         environment and network are denied unless granted)"
    )]
    Imports {
        /// Where the bytes came from.
        origin: String,
        /// What wasmtime said.
        reason: String,
    },
    /// The plugin loaded but its `metadata()` call failed or returned nonsense.
    #[error("{origin}: {error}")]
    Metadata {
        /// Where the bytes came from.
        origin: String,
        /// The failure.
        error: Box<PluginError>,
    },
    /// The plugin's metadata is not acceptable (bad name, version or config schema).
    #[error("{origin}: invalid plugin metadata: {reason}")]
    InvalidMetadata {
        /// Where the bytes came from.
        origin: String,
        /// What is wrong.
        reason: String,
    },
    /// The component's code has a shape no compiler emits for real code (see
    /// [`crate::ShapeLimits`]); refused before compiling.
    #[error(
        "{origin} is refused before compiling: {reason}\n  \
         hint: the operator's shape limits are --max-function-size and --max-operand-stack"
    )]
    Refused {
        /// Where the bytes came from.
        origin: String,
        /// Which function and which limit.
        reason: String,
    },
    /// Compiling the component took longer than the compile budget; it was killed.
    #[error(
        "compiling {origin} took longer than the compile budget of {}; the compile was \
         stopped\n  hint: the operator sets the budget with --compile-timeout \
         (QUIVER_COMPILE_TIMEOUT)", humantime::format_duration(*budget)
    )]
    CompileTimeout {
        /// Where the bytes came from.
        origin: String,
        /// The budget.
        budget: std::time::Duration,
    },
    /// The engine could not be built or the linker set up: a bug or an unusable machine.
    #[error("cannot set up the wasmtime engine: {0}")]
    Engine(String),
}

impl LoadError {
    pub(crate) fn engine(e: wasmtime::Error) -> Self {
        Self::Engine(format!("{e:?}"))
    }
}

/// Which guest call failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    /// `metadata()`.
    Metadata,
    /// Instantiating the component.
    Instantiate,
    /// `transformer.create(config, schema)`.
    Create,
    /// `transformer.output-schema()`.
    OutputSchema,
    /// `transformer.process(batch)`.
    Process,
    /// `transformer.finish()`.
    Finish,
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Call::Metadata => "metadata",
            Call::Instantiate => "instantiate",
            Call::Create => "create",
            Call::OutputSchema => "output-schema",
            Call::Process => "process",
            Call::Finish => "finish",
        })
    }
}

/// How a guest call trapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrapKind {
    /// The call ran past its deadline (epoch interruption).
    Deadline,
    /// The plugin hit its memory or table cap.
    OutOfMemory,
    /// The guest's stack overflowed.
    StackOverflow,
    /// The call burned its whole fuel budget.
    FuelExhausted,
    /// The guest aborted: a panic (see the stderr tail) or `unreachable`.
    Panic,
    /// The guest called `exit`.
    Exit,
    /// Any other trap (out-of-bounds access, division by zero, …).
    Other,
}

impl fmt::Display for TrapKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TrapKind::Deadline => "deadline exceeded",
            TrapKind::OutOfMemory => "out of memory",
            TrapKind::StackOverflow => "stack overflow",
            TrapKind::FuelExhausted => "fuel exhausted",
            TrapKind::Panic => "panic",
            TrapKind::Exit => "exit",
            TrapKind::Other => "trap",
        })
    }
}

/// What went wrong in a plugin call, and whose fault it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// The plugin rejected its config (the pipeline's fault).
    Config {
        /// Path of the key inside the config document (empty: the whole document).
        key: String,
        /// The plugin's message.
        message: String,
    },
    /// The plugin rejected the data (the data's fault).
    Data {
        /// Column at fault, when known.
        column: Option<String>,
        /// Row within the batch, when known.
        row: Option<u64>,
        /// The plugin's message.
        message: String,
    },
    /// The plugin reported a failure of its own (the plugin's fault).
    Internal(String),
    /// The plugin trapped; the instance is discarded.
    Trap {
        /// Classification of the trap.
        trap: TrapKind,
        /// wasmtime's description.
        message: String,
    },
    /// The plugin returned something that breaks the contract (the plugin's fault).
    InvalidOutput {
        /// Column at fault, when known.
        column: Option<String>,
        /// What is wrong.
        reason: String,
    },
    /// The plugin asked for a capability it was not granted (network, …) and failed.
    CapabilityDenied {
        /// What it asked for.
        capability: String,
        /// How the call then ended (the plugin's own error, or its trap).
        cause: Box<ErrorKind>,
    },
    /// The stage failed this many times in a row and is not restarted again in this run.
    Quarantined {
        /// Consecutive failures (traps, invalid outputs) that led here.
        failures: u32,
    },
    /// The host was asked to send data the plugin cannot receive (e.g. an unsupported type,
    /// or a batch whose schema differs from the one the transformer was created with).
    InvalidInput {
        /// Column at fault, when known.
        column: Option<String>,
        /// What is wrong.
        reason: String,
    },
}

impl fmt::Display for ErrorKind {
    /// Every piece of text that may come from the plugin goes through
    /// [`printable`](crate::text::printable): a message cannot drive a terminal or forge lines.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = |s: &str| crate::text::printable(s, false).into_owned();
        match self {
            ErrorKind::Config { key, message } if key.is_empty() => {
                write!(f, "bad config: {}", p(message))
            }
            ErrorKind::Config { key, message } => {
                write!(f, "bad config at `{}`: {}", p(key), p(message))
            }
            ErrorKind::Data {
                column,
                row,
                message,
            } => {
                f.write_str("bad input data")?;
                if let Some(c) = column {
                    write!(f, " in column `{}`", p(c))?;
                }
                if let Some(r) = row {
                    write!(f, " at row {r}")?;
                }
                write!(f, ": {}", p(message))
            }
            ErrorKind::Internal(m) => write!(f, "plugin failure: {}", p(m)),
            ErrorKind::Trap { trap, message } => write!(f, "trapped ({trap}): {}", p(message)),
            ErrorKind::InvalidOutput { column, reason } => {
                f.write_str("invalid output")?;
                if let Some(c) = column {
                    write!(f, " in column `{}`", p(c))?;
                }
                write!(f, ": {}", p(reason))
            }
            ErrorKind::CapabilityDenied { capability, cause } => write!(
                f,
                "capability denied ({}; grant it in the stage's `grants` if the \
                 plugin needs it), then {cause}",
                p(capability)
            ),
            ErrorKind::Quarantined { failures } => write!(
                f,
                "quarantined after {failures} failures in a row; the plugin is not restarted \
                 again in this run (fix the plugin or the data, or raise \
                 limits.max_consecutive_failures)"
            ),
            ErrorKind::InvalidInput { column, reason } => {
                f.write_str("cannot send input")?;
                if let Some(c) = column {
                    write!(f, " column `{}`", p(c))?;
                }
                write!(f, ": {}", p(reason))
            }
        }
    }
}

impl ErrorKind {
    /// This error with every text the plugin chose (message, config key, column name) cut to
    /// at most `max` bytes plus a `… [truncated, N bytes]` marker: a plugin must not make
    /// the host keep, print or dead-letter a message of any size it likes.
    pub(crate) fn truncated(self, max: usize) -> Self {
        let t = |s: String| crate::text::truncate(s, max);
        match self {
            ErrorKind::Config { key, message } => ErrorKind::Config {
                key: t(key),
                message: t(message),
            },
            ErrorKind::Data {
                column,
                row,
                message,
            } => ErrorKind::Data {
                column: column.map(t),
                row,
                message: t(message),
            },
            ErrorKind::Internal(m) => ErrorKind::Internal(t(m)),
            other => other,
        }
    }
}

/// Which plugin version: the identity every error and report carries.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PluginId {
    /// Plugin name as it declared it.
    pub name: String,
    /// Plugin version as it declared it.
    pub version: String,
    /// sha256 of the component bytes (hex).
    pub sha256: String,
    /// The contract (WIT package version) the component speaks.
    pub contract: crate::ContractVersion,
}

/// A failed plugin call, with everything needed to find the cause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginError {
    /// The plugin version that failed (shared, so errors stay small).
    pub plugin: Arc<PluginId>,
    /// The call that failed.
    pub call: Call,
    /// Batch number within the stream (from 0) for `process`, else `None`.
    pub batch: Option<u64>,
    /// What went wrong.
    pub kind: ErrorKind,
    /// The last bytes the plugin wrote to stderr (empty if none).
    pub stderr: String,
}

impl PluginError {
    /// Whether the plugin instance is unusable after this error (it trapped).
    pub fn is_trap(&self) -> bool {
        matches!(self.kind, ErrorKind::Trap { .. })
    }

    /// A short stable name of the kind, for reports and metrics (`deadline`, `data`, …).
    pub fn kind_name(&self) -> &'static str {
        self.kind.name()
    }
}

impl ErrorKind {
    /// A short stable name of the kind, for reports and metrics.
    pub fn name(&self) -> &'static str {
        match self {
            ErrorKind::Config { .. } => "config",
            ErrorKind::Data { .. } => "data",
            ErrorKind::Internal(_) => "internal",
            ErrorKind::Trap { trap, .. } => match trap {
                TrapKind::Deadline => "deadline",
                TrapKind::OutOfMemory => "out-of-memory",
                TrapKind::StackOverflow => "stack-overflow",
                TrapKind::FuelExhausted => "fuel-exhausted",
                TrapKind::Panic => "panic",
                TrapKind::Exit => "exit",
                TrapKind::Other => "trap",
            },
            ErrorKind::InvalidOutput { .. } => "invalid-output",
            ErrorKind::CapabilityDenied { .. } => "capability-denied",
            ErrorKind::Quarantined { .. } => "quarantined",
            ErrorKind::InvalidInput { .. } => "invalid-input",
        }
    }
}

impl fmt::Display for PluginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = &self.plugin;
        let short = p.sha256.get(..12).unwrap_or(&p.sha256);
        write!(
            f,
            "plugin {}@{} (sha256 {short}) failed in {}",
            p.name, p.version, self.call
        )?;
        if let Some(b) = self.batch {
            write!(f, " of batch {b}")?;
        }
        write!(f, ": {}", self.kind)?;
        if !self.stderr.is_empty() {
            write!(f, "\n  plugin stderr (tail):")?;
            for line in self.stderr.lines() {
                write!(f, "\n    {}", crate::text::printable(line, false))?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for PluginError {}

/// Classify a wasmtime error from a guest call.
pub(crate) fn classify_trap(e: &wasmtime::Error) -> (TrapKind, String) {
    // A host function (a 0.2 kernel) that stopped the call over a limit.
    if let Some(t) = e.downcast_ref::<crate::columns::HostTrap>() {
        use crate::columns::HostTrap as H;
        let kind = match t {
            H::OutOfMemory(_) => TrapKind::OutOfMemory,
            H::Deadline(_) => TrapKind::Deadline,
            H::OutOfFuel(_) => TrapKind::FuelExhausted,
            H::StaleHandle(_) | H::TooManyHandles => TrapKind::Other,
        };
        return (kind, t.to_string());
    }
    let message = format!("{e:?}");
    let kind = match e.downcast_ref::<wasmtime::Trap>() {
        Some(wasmtime::Trap::Interrupt) => TrapKind::Deadline,
        Some(wasmtime::Trap::StackOverflow) => TrapKind::StackOverflow,
        Some(wasmtime::Trap::UnreachableCodeReached) => TrapKind::Panic,
        Some(wasmtime::Trap::AllocationTooLarge) => TrapKind::OutOfMemory,
        Some(wasmtime::Trap::OutOfFuel) => TrapKind::FuelExhausted,
        Some(_) => TrapKind::Other,
        None if e.downcast_ref::<wasmtime_wasi::I32Exit>().is_some() => TrapKind::Exit,
        // With `trap_on_grow_failure` a refused memory/table grow is an error that is not a
        // `Trap`; its message names the limit.
        None if message.contains("forcing trap when growing memory")
            || message.contains("forcing a memory growth failure")
            || message.contains("memory minimum size")
            || message.contains("grow memory")
            || message.contains("table") && message.contains("grow") =>
        {
            TrapKind::OutOfMemory
        }
        None => TrapKind::Other,
    };
    let shown = match (
        e.downcast_ref::<wasmtime::Trap>(),
        e.downcast_ref::<wasmtime_wasi::I32Exit>(),
    ) {
        (Some(trap), _) => trap.to_string(),
        (None, Some(exit)) => format!("the plugin called exit({})", exit.0),
        (None, None) => e.to_string(),
    };
    (kind, shown)
}

/// Why a call failed, when it failed because the plugin made wasmtime copy more than its
/// per-call limit (its "hostcall fuel", 128 MiB by default) from the guest into the host:
/// one output, error message or host-call argument that large. wasmtime's own error is a
/// cause-less trap, so the host names the cause instead.
pub(crate) fn copy_limit(e: &wasmtime::Error) -> Option<String> {
    format!("{e:?}")
        .contains("fuel allocated for hostcalls has been exhausted")
        .then(|| {
            "the plugin sent more than 128 MiB across the boundary in one call (wasmtime's \
             per-call copy limit; one output, error message or host-call argument): return \
             smaller batches or outputs"
                .to_owned()
        })
}

/// The message of the Rust panic at the end of `stderr`, if there is one: the lines after
/// the last `panicked at <location>:` line, up to the `note:` line.
pub(crate) fn panic_message(stderr: &str) -> Option<String> {
    let start = stderr.rfind("panicked at ")?;
    let rest = &stderr[start..];
    let mut lines = rest.lines();
    let first = lines.next()?;
    let location = first
        .strip_prefix("panicked at ")
        .map(|l| l.trim_end_matches(':'))
        .unwrap_or_default();
    let message: Vec<&str> = lines.take_while(|l| !l.starts_with("note: ")).collect();
    let message = message.join("\n");
    if message.is_empty() {
        return None;
    }
    Some(format!("{message} (at {location})"))
}

impl quiver_fault::HasFault for LoadError {
    /// A plugin file that cannot be read is the configuration's fault (it names a file
    /// that is not there); bytes that are not a usable plugin are bad input (`Data`); an
    /// engine failure is `Internal`.
    fn fault(&self) -> quiver_fault::Fault {
        use quiver_fault::Fault;
        match self {
            LoadError::Io { .. } => Fault::Config,
            LoadError::Engine(_) => Fault::Internal,
            LoadError::NotAComponent { .. }
            | LoadError::NotAPlugin { .. }
            | LoadError::Imports { .. }
            | LoadError::Metadata { .. }
            | LoadError::InvalidMetadata { .. }
            | LoadError::Refused { .. }
            | LoadError::CompileTimeout { .. } => Fault::Data,
        }
    }
}

impl quiver_fault::HasFault for PluginError {
    /// A config the plugin rejects is the configuration's fault; data it rejects (or input
    /// that cannot cross the boundary) is the data's; everything else — traps, broken
    /// contracts, exhausted limits, quarantine — is the plugin's.
    fn fault(&self) -> quiver_fault::Fault {
        use quiver_fault::Fault;
        match &self.kind {
            ErrorKind::Config { .. } => Fault::Config,
            ErrorKind::Data { .. } | ErrorKind::InvalidInput { .. } => Fault::Data,
            _ => Fault::Plugin,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_text_in_an_error_is_escaped_and_truncated() {
        let kind = ErrorKind::Data {
            column: Some("c\u{1b}[2J".into()),
            row: None,
            message: "bad\r\nerror: forged line".into(),
        };
        assert_eq!(
            kind.to_string(),
            "bad input data in column `c\\u{1b}[2J`: bad\\r\\nerror: forged line"
        );
        let long = ErrorKind::Internal("x".repeat(100)).truncated(10);
        assert_eq!(
            long,
            ErrorKind::Internal(format!("{}… [truncated, 100 bytes]", "x".repeat(10)))
        );
    }
}
