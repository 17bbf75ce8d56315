//! Sources: [`SourceSpec`] (what a pipeline file says) and [`open_source`], which resolves
//! the path (one file, a glob, or stdin), settles the schema from the first input, and
//! returns a [`Source`] whose batches stream every input in order.
//!
//! Inputs after the first are opened only when the stream reaches them; each must have the
//! first one's schema (Parquet, Arrow: the schema in the file; CSV: the header), else the
//! stream yields [`IoError::BadData`] naming both files and the first differing column.

mod bytes;
mod csv;
mod hive;
mod input;
mod ipc;
mod ndjson;
mod parquet;
mod zones;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::{Schema, SchemaRef};
use futures::stream::{self, BoxStream};
use futures::{StreamExt, TryStreamExt};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::schema::{ColumnSpec, first_difference};
use crate::{Compression, Format, IoError, Location, Storage};
pub(crate) use bytes::ByteStream;
use input::Input;

/// Records read from the start of the first input to infer a CSV or NDJSON schema, unless
/// `infer_rows` says otherwise.
pub const INFER_RECORDS: usize = 1000;

/// A stream of record batches.
pub type BatchStream = BoxStream<'static, Result<RecordBatch, IoError>>;

/// Where and how to read, as written in a pipeline file.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceSpec {
    /// A path or URL (see [`Location`]), possibly a glob (`data/*.csv`,
    /// `s3://b/events/2026-*.parquet`), a directory (every file below it, hive partitions
    /// included; hidden `.x` and `_x` names skipped), or `-` for stdin.
    pub path: String,
    /// The format; from each file's extension when absent. Required for stdin.
    #[serde(default)]
    pub format: Option<Format>,
    /// Whole-file compression of CSV, NDJSON and Arrow stream inputs; from each file's
    /// extension (`.gz`, `.zst`, `.bz2`, `.xz`) when absent.
    #[serde(default)]
    pub compression: Option<Compression>,
    /// Rows per batch for CSV, NDJSON and Parquet (Arrow IPC keeps the written batches).
    #[serde(default = "default_batch_rows")]
    pub batch_rows: usize,
    /// Only these columns, in this order (file columns and partition columns alike). Parquet
    /// fetches only their column chunks.
    #[serde(default)]
    pub columns: Option<Vec<String>>,
    /// Whether `key=value` directory names below a listed directory or a glob's literal
    /// prefix become columns (default true, as in Hive, Spark, Polars and DuckDB).
    #[serde(default = "yes")]
    pub hive_partitioning: bool,
    /// Types of hive partition columns (`year=2013/` directories); a column not listed is
    /// int64 when every value is an integer, date32 when every value is a date, else utf8.
    #[serde(default)]
    pub hive_schema: Option<Vec<ColumnSpec>>,
    /// How to read CSV.
    #[serde(default)]
    pub csv: CsvOptions,
    /// How to read NDJSON.
    #[serde(default)]
    pub ndjson: NdjsonOptions,
    /// Parquet only: read just these row groups (0-based, in this order) of every input. A
    /// distributed run sets it to split a large file into several tasks.
    #[serde(default)]
    pub row_groups: Option<Vec<usize>>,
}

fn default_batch_rows() -> usize {
    8192
}

fn yes() -> bool {
    true
}

impl SourceSpec {
    /// A spec for `path` with every option at its default.
    pub fn new(path: impl Into<String>) -> Self {
        SourceSpec {
            path: path.into(),
            format: None,
            compression: None,
            batch_rows: default_batch_rows(),
            columns: None,
            hive_partitioning: true,
            hive_schema: None,
            csv: CsvOptions::default(),
            ndjson: NdjsonOptions::default(),
            row_groups: None,
        }
    }
}

/// How many records schema inference reads: a number, or `"all"` (the whole first input,
/// read twice: once to infer, once to decode; not for stdin).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(try_from = "InferRowsRepr")]
#[schemars(with = "InferRowsRepr")]
pub enum InferRows {
    /// At most this many records (at least 1).
    Rows(usize),
    /// Every record of the first input.
    All,
}

impl Default for InferRows {
    fn default() -> Self {
        InferRows::Rows(INFER_RECORDS)
    }
}

/// `infer_rows` as written: a number or a word.
#[derive(Deserialize, JsonSchema)]
#[serde(untagged)]
enum InferRowsRepr {
    /// A number of records.
    Rows(usize),
    /// `"all"`.
    Word(String),
}

impl TryFrom<InferRowsRepr> for InferRows {
    type Error = String;

    fn try_from(repr: InferRowsRepr) -> Result<Self, Self::Error> {
        match repr {
            InferRowsRepr::Rows(0) => Err("infer_rows must be at least 1 (or \"all\")".into()),
            InferRowsRepr::Rows(rows) => Ok(InferRows::Rows(rows)),
            InferRowsRepr::Word(word) if word.eq_ignore_ascii_case("all") => Ok(InferRows::All),
            InferRowsRepr::Word(word) => Err(format!(
                "infer_rows must be a number of records or \"all\", not {word:?}"
            )),
        }
    }
}

/// Strings read as null: one list for every column, or a list per column (Polars'
/// `null_values`). An empty field is always null.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum NullValues {
    /// One marker for every column (`null_values = "NA"`).
    One(String),
    /// Markers for every column (`null_values = ["NA", "n/a"]`).
    Many(Vec<String>),
    /// Markers per column (`null_values = { dep_time = "NA", name = ["", "?"] }`); the
    /// other columns take only the empty field as null.
    PerColumn(BTreeMap<String, OneOrMany>),
}

/// One string or a list of them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum OneOrMany {
    /// One string.
    One(String),
    /// Several.
    Many(Vec<String>),
}

impl OneOrMany {
    pub(crate) fn to_vec(&self) -> Vec<String> {
        match self {
            OneOrMany::One(one) => vec![one.clone()],
            OneOrMany::Many(many) => many.clone(),
        }
    }
}

/// How to read CSV.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct CsvOptions {
    /// Whether the first line (after `skip_rows`) names the columns (default true).
    pub header: bool,
    /// The field separator, one ASCII character (default `,`).
    pub delimiter: char,
    /// The quote character, one ASCII character (default `"`).
    pub quote: char,
    /// The columns; inferred from the first `infer_rows` records of the first file when
    /// absent (integers, floats, booleans, dates and timestamps are recognised — timestamps
    /// ending in `Z` or an offset as zoned ones —, anything else is utf8). An empty field is
    /// null.
    pub schema: Option<Vec<ColumnSpec>>,
    /// Strings read as null besides the empty field (`["NA"]`, or per column).
    pub null_values: Option<NullValues>,
    /// Lines starting with this ASCII character are skipped (`#`).
    pub comment: Option<char>,
    /// Lines skipped at the start of every file, before the header (default 0).
    pub skip_rows: usize,
    /// Records schema inference reads (default 1000), or `"all"`.
    pub infer_rows: InferRows,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            header: true,
            delimiter: ',',
            quote: '"',
            schema: None,
            null_values: None,
            comment: None,
            skip_rows: 0,
            infer_rows: InferRows::default(),
        }
    }
}

/// How to read NDJSON.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct NdjsonOptions {
    /// The columns; inferred from the first `infer_rows` records of the first file when
    /// absent (strings that are all ISO timestamps with `Z` or an offset become zoned
    /// timestamps). Give it to read dates, naive timestamps and decimals, which JSON spells
    /// as strings or numbers.
    pub schema: Option<Vec<ColumnSpec>>,
    /// Records schema inference reads (default 1000), or `"all"`.
    pub infer_rows: InferRows,
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
    let csv = Arc::new(csv::CsvSettings::new(&spec.csv)?);
    if let Some(columns) = &spec.columns {
        check_column_list(columns)?;
    }
    let location = Location::parse_with(&spec.path, base, storage)?;
    let mut inputs = input::resolve(&location, spec.format, spec.compression)
        .await?
        .into_iter();
    let Some(head) = inputs.next() else {
        return Err(IoError::internal("input resolution returned no input"));
    };
    let mut head = head;
    let mut rest: Vec<Input> = inputs.collect();
    if !spec.hive_partitioning {
        if spec.hive_schema.is_some() {
            return Err(IoError::config(
                "hive_schema",
                "types partition columns, but hive_partitioning is false",
            ));
        }
        for input in std::iter::once(&mut head).chain(&mut rest) {
            input.partitions.clear();
        }
    }
    let all: Vec<&Input> = std::iter::once(&head).chain(&rest).collect();
    let hive = hive::Hive::of(&all, spec.hive_schema.as_deref())?;
    let names = all.iter().map(|i| i.name.clone()).collect();
    // The file columns asked for; partition columns are added after decoding.
    let file_columns = spec.columns.as_ref().map(|columns| {
        columns
            .iter()
            .filter(|name| !hive.has(name))
            .cloned()
            .collect::<Vec<_>>()
    });
    let settings = Arc::new(Settings {
        batch_rows: spec.batch_rows,
        csv,
        ndjson: spec.ndjson.clone(),
        columns: file_columns,
        row_groups: spec.row_groups.clone(),
    });
    let opened = open_input(&head, &settings, None).await?;
    hive.check_disjoint(&opened.file_schema, &head.name)?;
    let shape = Arc::new(hive.shape(&opened.schema, spec.columns.as_deref())?);
    let first = Arc::new(First {
        name: head.name.clone(),
        file_schema: Arc::clone(&opened.file_schema),
        schema: Arc::clone(&opened.schema),
        header: opened.header,
    });
    let head_batches = shape.apply(opened.batches, &head);
    let later_shape = Arc::clone(&shape);
    let later = stream::iter(rest)
        .then(move |input| {
            let settings = Arc::clone(&settings);
            let first = Arc::clone(&first);
            let shape = Arc::clone(&later_shape);
            async move {
                open_input(&input, &settings, Some(&first))
                    .await
                    .map(|opened| shape.apply(opened.batches, &input))
            }
        })
        .try_flatten();
    Ok(Source {
        schema: Arc::clone(shape.schema()),
        inputs: names,
        batches: head_batches.chain(later).boxed(),
    })
}

/// One input of a source and, for Parquet, the compressed bytes of each of its row groups
/// (what a distributed run splits a large file by).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputLayout {
    /// The input's display name (as in [`Source::inputs`]).
    pub name: String,
    /// Compressed bytes per row group; `None` for other formats.
    pub row_groups: Option<Vec<u64>>,
}

/// The inputs `spec` resolves to, in reading order, with the row groups of the Parquet
/// ones (only their footers are read).
///
/// # Errors
///
/// As [`open_source`].
pub async fn input_layouts(
    spec: &SourceSpec,
    base: &Path,
    storage: &Storage,
) -> Result<Vec<InputLayout>, IoError> {
    let location = Location::parse_with(&spec.path, base, storage)?;
    let mut out = Vec::new();
    for input in input::resolve(&location, spec.format, spec.compression).await? {
        let row_groups = match input.format {
            Format::Parquet => Some(parquet::row_group_bytes(&input).await?),
            _ => None,
        };
        out.push(InputLayout {
            name: input.name.clone(),
            row_groups,
        });
    }
    Ok(out)
}

/// `columns` must name at least one column, each once.
fn check_column_list(columns: &[String]) -> Result<(), IoError> {
    if columns.is_empty() {
        return Err(IoError::config(
            "columns",
            "names no column; leave it out to read every column",
        ));
    }
    for (index, name) in columns.iter().enumerate() {
        if columns[..index].contains(name) {
            return Err(IoError::config(
                "columns",
                format!("{name:?} is listed twice"),
            ));
        }
    }
    Ok(())
}

/// The read options every input of a source shares.
pub(crate) struct Settings {
    pub(crate) batch_rows: usize,
    pub(crate) csv: Arc<csv::CsvSettings>,
    pub(crate) ndjson: NdjsonOptions,
    /// The file columns to keep (`columns` without the partition columns); `None` keeps all.
    pub(crate) columns: Option<Vec<String>>,
    /// Parquet row groups to read (`None`: all).
    pub(crate) row_groups: Option<Vec<usize>>,
}

/// What the first input settled, for the inputs after it.
pub(crate) struct First {
    /// Its display name.
    pub(crate) name: String,
    /// Its whole schema, which every later input must have.
    pub(crate) file_schema: SchemaRef,
    /// The schema of its batches (after projection).
    pub(crate) schema: SchemaRef,
    /// Its CSV header, when it had one.
    pub(crate) header: Option<Vec<String>>,
}

/// One opened input.
pub(crate) struct Opened {
    /// The whole schema of the file.
    pub(crate) file_schema: SchemaRef,
    /// The schema its batches have: `file_schema` projected to `Settings::columns`.
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
    if settings.row_groups.is_some() && input.format != Format::Parquet {
        return Err(IoError::config(
            "row_groups",
            format!(
                "selects Parquet row groups, but {} is read as {}",
                input.name, input.format
            ),
        ));
    }
    match input.format {
        Format::Csv => csv::open(input, settings, first).await,
        Format::Ndjson => ndjson::open(input, settings, first).await,
        Format::Parquet => parquet::open(input, settings, first).await,
        Format::ArrowFile => ipc::open_file(input, settings, first).await,
        Format::ArrowStream => ipc::open_stream(input, settings, first).await,
    }
}

/// The indices (ascending, file order) of `columns` in `schema`; every index when
/// `columns` is `None`.
///
/// # Errors
///
/// [`IoError::Config`] (key `columns`) naming a column the input does not have, and the
/// ones it has.
pub(crate) fn projection(
    schema: &Schema,
    columns: Option<&[String]>,
    name: &str,
) -> Result<Vec<usize>, IoError> {
    let Some(columns) = columns else {
        return Ok((0..schema.fields().len()).collect());
    };
    let mut indices = Vec::with_capacity(columns.len());
    for column in columns {
        match schema.index_of(column) {
            Ok(index) => indices.push(index),
            Err(_) => {
                let have: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
                return Err(IoError::config(
                    "columns",
                    format!("{name} has no column {column:?}; it has {have:?}"),
                ));
            }
        }
    }
    indices.sort_unstable();
    Ok(indices)
}

/// `schema` with only the columns at `indices`.
pub(crate) fn project_schema(schema: &SchemaRef, indices: &[usize]) -> Result<SchemaRef, IoError> {
    if indices.iter().copied().eq(0..schema.fields().len()) {
        return Ok(Arc::clone(schema));
    }
    schema
        .project(indices)
        .map(Arc::new)
        .map_err(|error| IoError::internal(format!("projecting a schema: {error}")))
}

/// Fails unless `actual` (the schema of input `name`) is the first input's.
pub(crate) fn check_schema(first: &First, actual: &SchemaRef, name: &str) -> Result<(), IoError> {
    match first_difference(&first.file_schema, actual) {
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
