//! Sources: [`SourceSpec`] (what a pipeline file says) and [`open_source`], which resolves
//! the path (one file, a glob, or stdin), settles the schema from the first input, and
//! returns a [`Source`] whose batches stream every input in order.
//!
//! Inputs after the first are opened only when the stream reaches them; each must have the
//! first one's schema (Parquet, Arrow: the schema in the file; CSV: the header), else the
//! stream yields [`IoError::BadData`] naming both files and the first differing column.

mod bytes;
mod csv;
mod input;
mod ipc;
mod ndjson;
mod parquet;

use std::path::Path;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use futures::stream::{self, BoxStream};
use futures::{StreamExt, TryStreamExt};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::schema::{ColumnSpec, first_difference};
use crate::{Format, IoError, Location, Storage};
use input::Input;

/// Records read from the start of the first input to infer a CSV or NDJSON schema.
pub const INFER_RECORDS: usize = 1000;

/// A stream of record batches.
pub type BatchStream = BoxStream<'static, Result<RecordBatch, IoError>>;

/// Where and how to read, as written in a pipeline file.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceSpec {
    /// A path or URL (see [`Location`]), possibly a glob (`data/*.csv`,
    /// `s3://b/events/2026-*.parquet`), or `-` for stdin.
    pub path: String,
    /// The format; from each file's extension when absent. Required for stdin.
    #[serde(default)]
    pub format: Option<Format>,
    /// Rows per batch for CSV, NDJSON and Parquet (Arrow IPC keeps the written batches).
    #[serde(default = "default_batch_rows")]
    pub batch_rows: usize,
    /// How to read CSV.
    #[serde(default)]
    pub csv: CsvOptions,
    /// How to read NDJSON.
    #[serde(default)]
    pub ndjson: NdjsonOptions,
}

fn default_batch_rows() -> usize {
    8192
}

impl SourceSpec {
    /// A spec for `path` with every option at its default.
    pub fn new(path: impl Into<String>) -> Self {
        SourceSpec {
            path: path.into(),
            format: None,
            batch_rows: default_batch_rows(),
            csv: CsvOptions::default(),
            ndjson: NdjsonOptions::default(),
        }
    }
}

/// How to read CSV.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct CsvOptions {
    /// Whether the first line names the columns (default true).
    pub header: bool,
    /// The field separator, one ASCII character (default `,`).
    pub delimiter: char,
    /// The quote character, one ASCII character (default `"`).
    pub quote: char,
    /// The columns; inferred from the first [`INFER_RECORDS`] records of the first file when
    /// absent (integers, floats, booleans, dates and timestamps are recognised, anything else
    /// is utf8). An empty field is null.
    pub schema: Option<Vec<ColumnSpec>>,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            header: true,
            delimiter: ',',
            quote: '"',
            schema: None,
        }
    }
}

/// How to read NDJSON.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct NdjsonOptions {
    /// The columns; inferred from the first [`INFER_RECORDS`] records of the first file when
    /// absent. Give it to read dates, timestamps and decimals, which JSON spells as strings
    /// or numbers.
    pub schema: Option<Vec<ColumnSpec>>,
}

/// An opened source: the schema is known before the first batch.
pub struct Source {
    /// The schema of every batch.
    pub schema: SchemaRef,
    /// Display names of every input, in reading order (no credentials, no query strings).
    pub inputs: Vec<String>,
    /// The batches of every input, in order. Ends after the first error.
    pub batches: BatchStream,
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Source")
            .field("schema", &self.schema)
            .field("inputs", &self.inputs)
            .finish_non_exhaustive()
    }
}

/// Opens the source `spec` describes, resolving relative paths against `base` and taking
/// storage credentials from the environment.
///
/// # Errors
///
/// [`IoError::Config`] for an invalid spec; [`IoError::NotFound`] when the path does not
/// exist or the glob matches nothing; [`IoError::BadData`] when the first input's schema
/// cannot be read; [`IoError::Unavailable`] when the storage fails.
pub async fn open_source(spec: &SourceSpec, base: &Path) -> Result<Source, IoError> {
    open_source_with(spec, base, &Storage::from_env()).await
}

/// Like [`open_source`], with remote stores from `storage`.
///
/// # Errors
///
/// As [`open_source`].
pub async fn open_source_with(
    spec: &SourceSpec,
    base: &Path,
    storage: &Storage,
) -> Result<Source, IoError> {
    if spec.batch_rows == 0 {
        return Err(IoError::config("batch_rows", "must be at least 1"));
    }
    csv::csv_format(&spec.csv)?;
    let location = Location::parse_with(&spec.path, base, storage)?;
    let mut inputs = input::resolve(&location, spec.format).await?.into_iter();
    let Some(head) = inputs.next() else {
        return Err(IoError::internal("input resolution returned no input"));
    };
    let rest: Vec<Input> = inputs.collect();
    let names = std::iter::once(head.name.clone())
        .chain(rest.iter().map(|i| i.name.clone()))
        .collect();
    let settings = Arc::new(Settings {
        batch_rows: spec.batch_rows,
        csv: spec.csv.clone(),
        ndjson: spec.ndjson.clone(),
    });
    let opened = open_input(&head, &settings, None).await?;
    let first = Arc::new(First {
        name: head.name,
        schema: Arc::clone(&opened.schema),
        header: opened.header,
    });
    let later = stream::iter(rest)
        .then(move |input| {
            let settings = Arc::clone(&settings);
            let first = Arc::clone(&first);
            async move {
                open_input(&input, &settings, Some(&first))
                    .await
                    .map(|opened| opened.batches)
            }
        })
        .try_flatten();
    Ok(Source {
        schema: opened.schema,
        inputs: names,
        batches: opened.batches.chain(later).boxed(),
    })
}

/// The read options every input of a source shares.
pub(crate) struct Settings {
    pub(crate) batch_rows: usize,
    pub(crate) csv: CsvOptions,
    pub(crate) ndjson: NdjsonOptions,
}

/// What the first input settled, for the inputs after it.
pub(crate) struct First {
    /// Its display name.
    pub(crate) name: String,
    /// The source's schema.
    pub(crate) schema: SchemaRef,
    /// Its CSV header, when it had one.
    pub(crate) header: Option<Vec<String>>,
}

/// One opened input.
pub(crate) struct Opened {
    /// The schema its batches have.
    pub(crate) schema: SchemaRef,
    /// Its CSV header, when it has one.
    pub(crate) header: Option<Vec<String>>,
    /// Its batches.
    pub(crate) batches: BatchStream,
}

async fn open_input(
    input: &Input,
    settings: &Settings,
    first: Option<&First>,
) -> Result<Opened, IoError> {
    match input.format {
        Format::Csv => csv::open(input, settings, first).await,
        Format::Ndjson => ndjson::open(input, settings, first).await,
        Format::Parquet => parquet::open(input, settings, first).await,
        Format::ArrowFile => ipc::open_file(input, first).await,
        Format::ArrowStream => ipc::open_stream(input, first).await,
    }
}

/// Fails unless `actual` (the schema of input `name`) is the first input's.
pub(crate) fn check_schema(first: &First, actual: &SchemaRef, name: &str) -> Result<(), IoError> {
    match first_difference(&first.schema, actual) {
        None => Ok(()),
        Some((column, text)) => Err(IoError::BadData {
            location: name.to_string(),
            line: None,
            column: Some(column),
            message: format!("the schema differs from {}'s: {text}", first.name),
        }),
    }
}

/// `batch` with exactly the source's schema object (metadata of later files dropped).
pub(crate) fn conform(schema: &SchemaRef, batch: RecordBatch) -> Result<RecordBatch, IoError> {
    if Arc::ptr_eq(schema, &batch.schema()) {
        return Ok(batch);
    }
    RecordBatch::try_new(Arc::clone(schema), batch.columns().to_vec())
        .map_err(|error| IoError::internal(format!("a checked batch does not fit: {error}")))
}
