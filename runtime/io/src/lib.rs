//! Sources and sinks of Quiver pipelines: Arrow record batches read from and written to local
//! files and object stores (`file://`, `s3://`, `gs://`, `az://`, `memory://`), in Parquet,
//! CSV, NDJSON and Arrow IPC.
//!
//! # Core concepts
//!
//! - [`SourceSpec`] / [`SinkSpec`]: what a pipeline file says (plain serde, unknown fields
//!   refused). Nothing is opened while deserializing.
//! - [`Location`]: a path or URL parsed against a base directory; yields an `ObjectStore`
//!   and a key, or stdin/stdout (`-`). Its display never shows credentials or query strings.
//! - [`Storage`]: one per pipeline or process; builds remote stores from environment
//!   credentials plus explicit options, with a fixed retry policy, and reuses them.
//! - [`Source`] ([`open_source`]): the schema, the names of every input (a glob expands to
//!   many), and a stream of batches over all of them.
//! - [`Sink`] ([`create_sink`]): one file or a directory of parts; nothing is visible before
//!   [`Sink::commit`], even if the process is killed.
//! - [`IoError`]: whose fault (config, data, storage, bug), with its fault class (`quiver_fault::HasFault`).
//!
//! # Example
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use std::path::Path;
//! use std::sync::Arc;
//!
//! use arrow_array::{Int64Array, RecordBatch};
//! use futures::TryStreamExt;
//! use quiver_io::{SinkSpec, SourceSpec, create_sink, open_source};
//!
//! let batch = RecordBatch::try_from_iter([(
//!     "n",
//!     Arc::new(Int64Array::from(vec![1, 2, 3])) as _,
//! )])?;
//! let base = Path::new("/");
//!
//! let mut sink = create_sink(&SinkSpec::new("memory://tour/n.parquet"), base, batch.schema()).await?;
//! sink.write(&batch).await?;
//! let committed = sink.commit().await?;
//! assert_eq!(committed.rows, 3);
//!
//! let source = open_source(&SourceSpec::new("memory://tour/*.parquet"), base).await?;
//! assert_eq!(source.inputs, ["memory://tour/n.parquet"]);
//! let batches: Vec<RecordBatch> = source.batches.try_collect().await?;
//! assert_eq!(batches, [batch]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

#![deny(missing_docs)]

mod compression;
mod error;
mod format;
mod location;
mod schema;
mod sink;
mod source;
mod storage;

pub use compression::Compression;
pub use error::IoError;
pub use format::Format;
pub use location::{Location, ObjectLocation, StoredObject};
pub use schema::{ColumnSpec, ColumnType, first_difference, schema_of};
pub use sink::{
    Committed, CsvWriteOptions, ParquetCompression, ParquetOptions, Sink, SinkSpec, WriteMode,
    create_sink, create_sink_with,
};
pub use source::{
    BatchStream, CsvOptions, INFER_RECORDS, InferRows, InputLayout, NdjsonOptions, NullValues,
    OneOrMany, Source, SourceSpec, input_layouts, open_source, open_source_with,
};
pub use storage::{Storage, StoreLayer};

/// The `object_store` this crate is built on, for the config keys [`Storage`] takes and
/// the stores [`Location`] yields.
pub use object_store;

/// The directory name value of a null hive partition (`key=__HIVE_DEFAULT_PARTITION__`), as
/// Hive, Spark, Polars and DuckDB write it.
pub const HIVE_NULL: &str = "__HIVE_DEFAULT_PARTITION__";
