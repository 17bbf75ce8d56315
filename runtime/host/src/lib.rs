//! The wasmtime embedding of Quiver: load plugin components and run them, sandboxed, over
//! Arrow record batches.
//!
//! # Tour
//!
//! ```no_run
//! use std::sync::Arc;
//! use arrow_array::{Int64Array, RecordBatch};
//! use quiver_host::{Runtime, RuntimeConfig, Sandbox};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let runtime = Runtime::new(RuntimeConfig::default())?;          // one per process
//! let plugin = runtime.load_file("map.wasm".as_ref())?;           // one per plugin version
//! let batch = RecordBatch::try_from_iter([("x", Arc::new(Int64Array::from(vec![1, 2])) as _)])?;
//! let mut t = plugin.transformer(r#"{"columns":{"x":{"scale":2}}}"#, batch.schema(), &Sandbox::default())?;
//! let out = t.process(&batch)?;                                    // per batch
//! let rest = t.finish()?;                                          // end of stream
//! # Ok(()) }
//! ```
//!
//! # Core concepts, and who owns what
//!
//! - [`Runtime`]: one per process. Owns the wasmtime `Engine` (pooling allocator, epoch
//!   interruption), the `Linker` with the host imports and a deny-by-default WASI, the epoch
//!   ticker thread and the on-disk cache of compiled plugins.
//! - [`Plugin`]: one per plugin version (content hash). The compiled component, its
//!   `InstancePre` and the metadata it declared. Cheap to clone.
//! - [`Transformer`]: one per stream (per parallel instance of a stage). Owns one `Store`
//!   and the guest `transformer` resource in it; validates every batch in and out; replaces
//!   its instance after a trap.
//!
//! Everything a guest returns is untrusted and validated (`convert`), and every failure is
//! a [`PluginError`] naming the plugin, its version and hash, the call, the batch and the
//! kind of fault.

#![deny(missing_docs)]

mod bindings;
mod cache;
mod columns;
mod compile;
mod compute;
mod contract;
mod convert;
mod error;
mod limits;
mod plugin;
mod runtime;
mod sandbox;
mod shape;
mod state;
mod text;
mod transformer;
mod tree;

pub use columns::MAX_HANDLES;
pub use compile::{CompileBudget, WORKER_ARG, WORKER_OUT_OF_TIME, WorkerRequest};
pub use contract::ContractVersion;
pub use error::{Call, ErrorKind, LoadError, PluginError, PluginId, TrapKind};
pub use limits::{
    DirGrant, Grants, LOG_FIELD_OVERHEAD, LOG_RECORD_OVERHEAD, LimitViolation, Limits,
    MAX_BATCHES_PER_CALL, MAX_CONFIG_SCHEMA_BYTES, MAX_DESCRIPTION_BYTES, OUTPUT_BYTES_FLOOR,
    OUTPUT_ROWS_FLOOR, Sandbox,
};
pub use plugin::{LoadOrigin, Plugin, PluginMetadata, WIT_PACKAGE, WIT_VERSIONS};
pub use runtime::{
    DEFAULT_CACHE_MAX_BYTES, DEFAULT_COPY_MEMORY_FROM_BYTES, MemoryInit, Metering, Runtime,
    RuntimeConfig,
};
pub use shape::{Shape, ShapeError, ShapeLimits};
pub use state::LogRecord;
pub use text::{printable, truncate};
pub use transformer::{Transformer, Usage};
