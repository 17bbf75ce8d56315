//! Sinks: [`SinkSpec`] (what a pipeline file says), [`create_sink`], and the [`Sink`] that
//! writes batches and makes them visible only at [`Sink::commit`].
//!
//! A sink writes one file, or a directory of parts (`part-00000.<ext>`, ...) when its path
//! ends with `/` or `max_rows_per_file` is set, or a hive-partitioned directory
//! (`year=2013/month=1/part-00000.<ext>`) with `partition_by`. Atomicity: no reader ever
//! sees a partial file, even if the process is killed; see [`output`] for how, per kind of
//! storage. With several parts, each part appears atomically, one after the other, during
//! `commit` — except a partitioned local directory, which is written in a hidden staging
//! directory beside the target and renamed into place whole, so it appears as one unit.
//! Whole-file compression (`.csv.gz`, ...) is applied between the encoder and the output.

mod encode;
mod output;
mod partition;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt};
use parquet::basic::{Compression as ParquetCodec, ZstdLevel};
use parquet::file::properties::WriterProperties;
use schemars::JsonSchema;
use serde::Deserialize;

use crate::compression::Compressor;
use crate::location::{ObjectLocation, object_path};
use crate::schema::first_difference;
use crate::{Compression, Format, IoError, Location, Storage};
use encode::{EncodeOptions, Encoder};
use output::{Output, Pending};
use partition::Partitioner;

/// Where and how to write, as written in a pipeline file.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SinkSpec {
    /// A path or URL (see [`Location`]); ending with `/` it names a directory of parts; `-`
    /// is stdout (streaming formats only, not atomic).
    pub path: String,
    /// The format; from the path's extension when absent. Required for stdout.
    #[serde(default)]
    pub format: Option<Format>,
    /// What to do when the output exists.
    #[serde(default)]
    pub mode: WriteMode,
    /// Parquet settings.
    #[serde(default)]
    pub parquet: ParquetOptions,
    /// CSV settings.
    #[serde(default)]
    pub csv: CsvWriteOptions,
    /// When set, the sink writes a directory of parts of at most this many rows each.
    #[serde(default)]
    pub max_rows_per_file: Option<u64>,
    /// Whole-file compression of CSV, NDJSON and Arrow stream outputs (`gzip`, `zstd`,
    /// `bzip2`, `xz`, `none`); from the path's extension (`out.csv.gz`) when absent. Parts
    /// of a directory are named `part-00000.csv.gz` and so on.
    #[serde(default)]
    pub compression: Option<Compression>,
    /// Columns whose values name hive-style directories (`year=2013/month=1/`); the files
    /// below hold the other columns. The path names a directory; the whole directory
    /// appears at once at commit on local disks.
    #[serde(default)]
    pub partition_by: Vec<String>,
}

impl SinkSpec {
    /// A spec for `path` with every option at its default.
    pub fn new(path: impl Into<String>) -> Self {
        SinkSpec {
            path: path.into(),
            format: None,
            mode: WriteMode::default(),
            parquet: ParquetOptions::default(),
            csv: CsvWriteOptions::default(),
            max_rows_per_file: None,
            compression: None,
            partition_by: Vec::new(),
        }
    }
}

/// What to do when the output already exists.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WriteMode {
    /// Fail with [`IoError::Exists`]: checked when the sink is created, and for local files
    /// again at commit (the rename never replaces a file). Object stores are checked only at
    /// creation: an object written by someone else meanwhile is replaced.
    #[default]
    ErrorIfExists,
    /// Replace the output. For a directory, parts of an earlier run that this run did not
    /// write (`part-NNNNN.<ext>` beyond the new count) are deleted after commit.
    Overwrite,
    /// Add parts to a directory (existing or not), never replacing one: what a stream run
    /// does, committing parts as it goes ([`Sink::checkpoint`]) and again after a restart.
    /// Parts are named `part-<stem>-NNNNN.<ext>` ([`Sink::set_part_stem`]) so runs never
    /// collide. Directories only, without `partition_by`.
    Append,
}

/// Parquet settings of a sink.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ParquetOptions {
    /// `zstd` (level 3, the default), `zstd(N)` (1..=22), `snappy`, `gzip` (level 6),
    /// `gzip(N)` (0..=9), `lz4` (the LZ4_RAW codec) or `none`.
    pub compression: ParquetCompression,
    /// Rows per row group (default 131072: close to DuckDB's 122,880, far below pyarrow's 1M).
    /// A row group is held in memory until full, so this bounds the sink's memory.
    pub row_group_rows: usize,
}

impl Default for ParquetOptions {
    fn default() -> Self {
        ParquetOptions {
            compression: ParquetCompression(ParquetCodec::ZSTD(
                ZstdLevel::try_new(3).unwrap_or_default(),
            )),
            row_group_rows: 128 * 1024,
        }
    }
}

/// A Parquet codec parsed from its name; see [`ParquetOptions::compression`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(try_from = "String")]
#[schemars(with = "String")]
pub struct ParquetCompression(pub ParquetCodec);

impl TryFrom<String> for ParquetCompression {
    type Error = String;

    fn try_from(name: String) -> Result<Self, Self::Error> {
        name.parse()
    }
}

impl FromStr for ParquetCompression {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        let lower = name.trim().to_ascii_lowercase();
        let canonical = match lower.as_str() {
            "none" | "uncompressed" => "uncompressed",
            "snappy" => "snappy",
            "zstd" => "zstd(3)",
            "gzip" => "gzip(6)",
            "lz4" | "lz4_raw" => "lz4_raw",
            other if other.starts_with("zstd(") || other.starts_with("gzip(") => other,
            _ => "",
        };
        let invalid = |detail: String| {
            format!(
                "invalid Parquet compression {name:?}{detail}; use zstd, zstd(N), snappy, gzip, \
                 gzip(N), lz4 or none"
            )
        };
        if canonical.is_empty() {
            return Err(invalid(String::new()));
        }
        ParquetCodec::from_str(canonical)
            .map(ParquetCompression)
            .map_err(|error| invalid(format!(" ({error})")))
    }
}

/// CSV settings of a sink.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct CsvWriteOptions {
    /// Whether to write a header line (default true).
    pub header: bool,
    /// The field separator, one ASCII character (default `,`).
    pub delimiter: char,
}

impl Default for CsvWriteOptions {
    fn default() -> Self {
        CsvWriteOptions {
            header: true,
            delimiter: ',',
        }
    }
}

/// What a successful commit made visible.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    /// Display names of the files or objects written, in order.
    pub outputs: Vec<String>,
    /// Rows written.
    pub rows: u64,
    /// Bytes written, over every output.
    pub bytes: u64,
}

/// Where a sink writes.
enum Target {
    /// The process's stdout.
    Stdout,
    /// One local file.
    LocalFile(PathBuf),
    /// A local directory of parts.
    LocalDir(PathBuf),
    /// A partitioned local directory, written in a hidden staging directory beside it and
    /// renamed into place at commit.
    LocalStaged {
        /// The hidden `.name.<random>.partial` directory; removed with everything in it
        /// when dropped before commit.
        staging: tempfile::TempDir,
        /// The directory the staging one becomes.
        target: PathBuf,
    },
    /// One object.
    ObjectFile {
        store: Arc<dyn ObjectStore>,
        path: ObjectPath,
        name: String,
    },
    /// A directory (key prefix) of parts; `dir` has no trailing `/`.
    ObjectDir {
        location: ObjectLocation,
        dir: String,
    },
}

/// The output file being written.
struct Part {
    encoder: Encoder,
    /// Compresses the encoder's bytes, when the output is compressed.
    compressor: Option<Compressor>,
    output: Output,
    /// Rows in this part so far.
    rows: u64,
    /// Display name.
    name: String,
}

/// The parts of one directory: the sink's only one, or one partition's.
struct Lane {
    /// The directory below the target (`year=2013/month=1`), empty when unpartitioned.
    dir: String,
    /// The part being written.
    current: Option<Part>,
    /// The index of the next part.
    next_part: usize,
}

/// A sink being written: one per pipeline run. Outputs become visible only at
/// [`Sink::commit`]; [`Sink::abort`], or dropping the sink, leaves nothing behind (except on
/// stdout, which cannot take bytes back).
pub struct Sink {
    /// The format of every output.
    format: Format,
    /// Whole-file compression of every output.
    compression: Compression,
    /// Part file extension, compression included (`csv.gz`).
    extension: String,
    /// The schema every batch must have.
    schema: SchemaRef,
    /// The schema of the files: without the partition columns.
    file_schema: SchemaRef,
    /// Per-format settings.
    options: EncodeOptions,
    /// Where outputs go.
    target: Target,
    /// What to do about existing outputs.
    mode: WriteMode,
    /// Rows per part, for a directory with `max_rows_per_file`.
    max_rows: Option<u64>,
    /// Splits batches by partition, when `partition_by` is set.
    partitioner: Option<Partitioner>,
    /// One per directory written to, in order of first row.
    lanes: Vec<Lane>,
    /// `lanes` by directory.
    lane_of: HashMap<String, usize>,
    /// Finished parts waiting for commit, with their display names.
    pending: Vec<(String, Pending)>,
    /// Object keys written (partitioned object directories), to delete others on overwrite.
    keys: HashSet<String>,
    /// Rows written so far.
    rows: u64,
    /// Bytes written so far.
    bytes: u64,
    /// Local directories this sink created, outermost first: removed again (when empty) if
    /// the sink does not commit.
    created_dirs: Vec<PathBuf>,
    /// Committed or aborted: nothing left to clean up.
    done: bool,
    /// Part files are named `<stem>-NNNNN.<ext>`.
    stem: String,
    /// Rows and bytes already made visible by [`Sink::checkpoint`].
    checkpointed: (u64, u64),
}

/// Creates the sink `spec` describes for batches of `schema`, resolving relative paths
/// against `base` and taking storage credentials from the environment.
///
/// # Errors
///
/// [`IoError::Config`] for an invalid spec; [`IoError::Exists`] when the output exists in
/// `error_if_exists` mode; [`IoError::Unavailable`] when the storage fails.
pub async fn create_sink(spec: &SinkSpec, base: &Path, schema: SchemaRef) -> Result<Sink, IoError> {
    create_sink_with(spec, base, schema, &Storage::from_env()).await
}

/// Like [`create_sink`], with remote stores from `storage`.
///
/// # Errors
///
/// As [`create_sink`].
pub async fn create_sink_with(
    spec: &SinkSpec,
    base: &Path,
    schema: SchemaRef,
    storage: &Storage,
) -> Result<Sink, IoError> {
    if spec.parquet.row_group_rows == 0 {
        return Err(IoError::config(
            "parquet.row_group_rows",
            "must be at least 1",
        ));
    }
    if spec.max_rows_per_file == Some(0) {
        return Err(IoError::config("max_rows_per_file", "must be at least 1"));
    }
    let delimiter = u8::try_from(spec.csv.delimiter)
        .ok()
        .filter(|b| b.is_ascii() && *b != b'\n' && *b != b'\r' && *b != b'"')
        .ok_or_else(|| {
            IoError::config(
                "csv.delimiter",
                format!(
                    "{:?} is not usable: use one ASCII character other than a newline or '\"'",
                    spec.csv.delimiter
                ),
            )
        })?;
    let options = EncodeOptions {
        parquet: WriterProperties::builder()
            .set_compression(spec.parquet.compression.0)
            .set_max_row_group_row_count(Some(spec.parquet.row_group_rows))
            // Types other readers understand: Date64 as DATE, lists' child named `element`.
            .set_coerce_types(true)
            .build(),
        csv_header: spec.csv.header,
        csv_delimiter: delimiter,
    };

    let location = Location::parse_with(&spec.path, base, storage)?;
    let partitioned = !spec.partition_by.is_empty();
    let directory = spec.path.ends_with('/') || spec.max_rows_per_file.is_some() || partitioned;
    let format = if location.is_stdio() {
        if spec.max_rows_per_file.is_some() {
            return Err(IoError::config(
                "max_rows_per_file",
                "stdout is one stream and cannot be split into files",
            ));
        }
        if partitioned {
            return Err(IoError::config(
                "partition_by",
                "stdout is one stream and cannot be split into directories",
            ));
        }
        Format::for_stdio(spec.format, "stdout")?
    } else {
        Format::resolve(spec.format, &spec.path)?
    };
    let compression = if directory {
        // A directory's name says nothing about its files' compression.
        Compression::resolve(spec.compression, "", format)?
    } else {
        Compression::resolve(spec.compression, &spec.path, format)?
    };
    let extension = match compression.extension() {
        Some(codec) => format!("{}.{codec}", format.extension()),
        None => format.extension().to_string(),
    };
    let partitioner = if partitioned {
        Some(Partitioner::new(&schema, &spec.partition_by)?)
    } else {
        None
    };
    let file_schema = partitioner
        .as_ref()
        .map_or_else(|| Arc::clone(&schema), |p| Arc::clone(p.file_schema()));
    if spec.mode == WriteMode::Append && (!directory || partitioned || location.is_stdio()) {
        return Err(IoError::config(
            "mode",
            "\"append\" adds part files to a directory: end the path with / (and leave \
             partition_by out)",
        ));
    }
    let check = spec.mode == WriteMode::ErrorIfExists;
    let mut created_dirs = Vec::new();
    let target = match location {
        Location::Stdio => Target::Stdout,
        Location::Local(path) if partitioned => {
            check_local_dir(&path, check).await?;
            let target = PathBuf::from(path.to_string_lossy().trim_end_matches('/'));
            let parent = target.parent().map(Path::to_path_buf).unwrap_or_default();
            created_dirs = create_dirs(&parent).await?;
            let name = target
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let shown = target.display().to_string();
            let staging = tempfile::Builder::new()
                .prefix(&format!(".{name}."))
                .suffix(".partial")
                .rand_bytes(8)
                .tempdir_in(&parent)
                .map_err(|e| {
                    IoError::from_fs(&shown, "cannot create a staging directory beside it", e)
                })?;
            Target::LocalStaged { staging, target }
        }
        Location::Local(path) if directory => {
            check_local_dir(&path, check).await?;
            created_dirs = create_dirs(&path).await?;
            Target::LocalDir(path)
        }
        Location::Local(path) => {
            check_local_file(&path, check).await?;
            if let Some(parent) = path.parent() {
                created_dirs = create_dirs(parent).await?;
            }
            Target::LocalFile(path)
        }
        Location::Object(location) if directory => {
            let dir = location.key().trim_end_matches('/').to_string();
            if check {
                check_object_dir(&location, &dir).await?;
            }
            Target::ObjectDir { location, dir }
        }
        Location::Object(location) => {
            let name = location.display_key(location.key());
            if location.key().is_empty() {
                return Err(IoError::config(
                    "path",
                    format!("{name} names a bucket, not an object; end it with / to write parts"),
                ));
            }
            let path = object_path(location.key(), &name)?;
            let store = Arc::clone(location.store());
            if check {
                match store.head(&path).await {
                    Ok(_) => return Err(IoError::Exists { location: name }),
                    Err(object_store::Error::NotFound { .. }) => {}
                    Err(error) => return Err(IoError::from_store(&name, error)),
                }
            }
            Target::ObjectFile { store, path, name }
        }
    };
    Ok(Sink {
        format,
        compression,
        extension,
        schema,
        file_schema,
        options,
        target,
        mode: spec.mode,
        max_rows: spec.max_rows_per_file,
        partitioner,
        lanes: Vec::new(),
        lane_of: HashMap::new(),
        pending: Vec::new(),
        keys: HashSet::new(),
        rows: 0,
        bytes: 0,
        created_dirs,
        done: false,
        stem: "part".into(),
        checkpointed: (0, 0),
    })
}

impl Sink {
    /// The schema every batch must have.
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// Writes `batch`. Nothing is visible before [`Sink::commit`] (except on stdout).
    ///
    /// # Errors
    ///
    /// [`IoError::Internal`] if the batch's schema is not the sink's (a caller bug);
    /// [`IoError::Config`] if the format cannot hold the data; storage errors. After an error
    /// the sink should be aborted.
    pub async fn write(&mut self, batch: &RecordBatch) -> Result<(), IoError> {
        if let Some((column, text)) = first_difference(&self.schema, &batch.schema()) {
            return Err(IoError::internal(format!(
                "a batch given to the sink does not have the sink's schema (column {column:?}: {text})"
            )));
        }
        let parts = match &self.partitioner {
            Some(partitioner) => partitioner.split(batch)?,
            None => vec![(String::new(), batch.clone())],
        };
        for (dir, part) in parts {
            let lane = self.lane(dir);
            self.write_lane(lane, &part).await?;
        }
        Ok(())
    }

    /// Name part files `<stem>-NNNNN.<ext>` instead of `part-NNNNN.<ext>` (call before the
    /// first write): a stream run or a distributed task gives each writer its own stem, so
    /// parts written by several processes, or after a restart, never collide.
    pub fn set_part_stem(&mut self, stem: impl Into<String>) {
        self.stem = stem.into();
    }

    /// Makes everything written so far visible — each part atomically, as at commit — and
    /// keeps the sink open for more rows, which go to new parts. Directories only. Returns
    /// what this checkpoint made visible (rows and bytes since the previous one).
    ///
    /// # Errors
    ///
    /// [`IoError::Config`] for a sink that is not a directory of parts; storage errors,
    /// after which the sink should be aborted.
    pub async fn checkpoint(&mut self) -> Result<Committed, IoError> {
        if !matches!(self.target, Target::LocalDir(_) | Target::ObjectDir { .. }) {
            return Err(IoError::config(
                "path",
                "only a directory of parts can be committed while the run goes: end the \
                 path with /",
            ));
        }
        for lane in 0..self.lanes.len() {
            self.finish_part(lane).await?;
        }
        let no_clobber = self.mode != WriteMode::Overwrite;
        let mut outputs = Vec::with_capacity(self.pending.len());
        for (name, part) in std::mem::take(&mut self.pending) {
            part.commit(no_clobber).await?;
            outputs.push(name);
        }
        let rows = self.rows - self.checkpointed.0;
        let bytes = self.bytes - self.checkpointed.1;
        self.checkpointed = (self.rows, self.bytes);
        Ok(Committed {
            outputs,
            rows,
            bytes,
        })
    }

    /// The index of the lane of `dir`, created on first use.
    fn lane(&mut self, dir: String) -> usize {
        if let Some(&index) = self.lane_of.get(&dir) {
            return index;
        }
        self.lanes.push(Lane {
            dir: dir.clone(),
            current: None,
            next_part: 0,
        });
        self.lane_of.insert(dir, self.lanes.len() - 1);
        self.lanes.len() - 1
    }

    async fn write_lane(&mut self, lane: usize, batch: &RecordBatch) -> Result<(), IoError> {
        let total = batch.num_rows();
        let mut offset = 0;
        while offset < total {
            if self.lanes[lane].current.is_none() {
                let part = self.start_part(lane).await?;
                self.lanes[lane].current = Some(part);
            }
            let Some(part) = self.lanes[lane].current.as_mut() else {
                return Err(IoError::internal("no part after starting one"));
            };
            let room = match self.max_rows {
                Some(max) => usize::try_from(max.saturating_sub(part.rows)).unwrap_or(usize::MAX),
                None => usize::MAX,
            };
            let take = room.min(total - offset);
            let slice = batch.slice(offset, take);
            let bytes = part.encoder.write(&slice)?;
            let bytes = match part.compressor.as_mut() {
                Some(compressor) => compressor.push(&bytes, &part.name).await?,
                None => bytes,
            };
            self.bytes += bytes.len() as u64;
            part.output.write(bytes).await?;
            part.rows += take as u64;
            self.rows += take as u64;
            offset += take;
            if self.max_rows.is_some_and(|max| part.rows >= max) {
                self.finish_part(lane).await?;
            }
        }
        Ok(())
    }

    /// Makes every output visible and returns what was written. A sink that received no
    /// rows writes one empty file (with the schema, where the format holds one); a
    /// partitioned one an empty directory.
    ///
    /// # Errors
    ///
    /// [`IoError::Exists`] if a local output appeared since the sink was created
    /// (`error_if_exists`); storage errors. Parts committed before the error stay visible
    /// (except in a partitioned local directory, which appears whole or not at all); the
    /// rest are discarded.
    pub async fn commit(mut self) -> Result<Committed, IoError> {
        if self.lanes.is_empty()
            && self.pending.is_empty()
            && self.partitioner.is_none()
            && self.mode != WriteMode::Append
        {
            let lane = self.lane(String::new());
            let part = self.start_part(lane).await?;
            self.lanes[lane].current = Some(part);
        }
        for lane in 0..self.lanes.len() {
            self.finish_part(lane).await?;
        }
        let no_clobber = self.mode != WriteMode::Overwrite;
        let mut outputs = Vec::with_capacity(self.pending.len());
        let mut pending = std::mem::take(&mut self.pending).into_iter();
        while let Some((name, part)) = pending.next() {
            if let Err(error) = part.commit(no_clobber).await {
                for (_, rest) in pending {
                    if let Err(abort) = rest.abort().await {
                        tracing::warn!(%abort, "could not discard an uncommitted part");
                    }
                }
                return Err(error);
            }
            outputs.push(name);
        }
        if let Target::LocalStaged { .. } = &self.target {
            let Target::LocalStaged { staging, target } =
                std::mem::replace(&mut self.target, Target::Stdout)
            else {
                return Err(IoError::internal("the staged target went away"));
            };
            outputs = self.move_into_place(staging, &target, &outputs).await?;
        }
        self.done = true;
        if self.mode == WriteMode::Overwrite {
            self.remove_stale_parts().await?;
        }
        tracing::info!(
            outputs = outputs.len(),
            rows = self.rows,
            bytes = self.bytes,
            "sink committed"
        );
        Ok(Committed {
            outputs,
            rows: self.rows,
            bytes: self.bytes,
        })
    }

    /// Renames the staging directory of a partitioned local sink to `target`: the one step
    /// that makes the whole directory visible. An existing target is refused
    /// (`error_if_exists`), or moved aside first and deleted after (`overwrite`). Returns
    /// the display names of the outputs at their final paths.
    async fn move_into_place(
        &mut self,
        staging: tempfile::TempDir,
        target: &Path,
        outputs: &[String],
    ) -> Result<Vec<String>, IoError> {
        let shown = target.display().to_string();
        let staged = staging.path().to_path_buf();
        let final_names = outputs
            .iter()
            .map(|name| name.replacen(&staged.display().to_string(), &shown, 1))
            .collect();
        let overwrite = self.mode == WriteMode::Overwrite;
        let target = target.to_path_buf();
        let moved = tokio::task::spawn_blocking(move || {
            let parent = target.parent().map(Path::to_path_buf).unwrap_or_default();
            let mut aside = None;
            if overwrite && std::fs::symlink_metadata(&target).is_ok() {
                let name = target
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let old = tempfile::Builder::new()
                    .prefix(&format!(".{name}."))
                    .suffix(".old")
                    .rand_bytes(8)
                    .tempdir_in(&parent)?
                    .keep();
                // Renaming over the (empty) placeholder directory is atomic.
                std::fs::rename(&target, &old)?;
                aside = Some(old);
            }
            // `rename` replaces only an empty directory, so an existing output is never lost.
            let staged = staging.keep();
            if let Err(error) = std::fs::rename(&staged, &target) {
                let _removed = std::fs::remove_dir_all(&staged);
                return Err(error);
            }
            std::fs::File::open(&parent)?.sync_all()?;
            if let Some(old) = aside {
                std::fs::remove_dir_all(old)?;
            }
            Ok(())
        })
        .await
        .map_err(|e| IoError::internal(format!("moving {shown} into place panicked: {e}")))?;
        match moved {
            Ok(()) => Ok(final_names),
            Err(error)
                if matches!(
                    error.kind(),
                    std::io::ErrorKind::DirectoryNotEmpty | std::io::ErrorKind::AlreadyExists
                ) =>
            {
                Err(IoError::Exists { location: shown })
            }
            Err(error) => Err(IoError::from_fs(
                &shown,
                "cannot move the finished directory into place",
                error,
            )),
        }
    }

    /// Discards everything written: temporary files are deleted, uploads aborted, and
    /// directories the sink created removed again if empty.
    ///
    /// # Errors
    ///
    /// Storage errors while aborting uploads (the uploads stay incomplete, hence invisible).
    pub async fn abort(mut self) -> Result<(), IoError> {
        self.done = true;
        let mut result = Ok(());
        for lane in &mut self.lanes {
            if let Some(part) = lane.current.take()
                && let Err(error) = part.output.abort().await
            {
                result = Err(error);
            }
        }
        for (_, part) in std::mem::take(&mut self.pending) {
            if let Err(error) = part.abort().await {
                result = Err(error);
            }
        }
        // A staging directory goes with everything in it.
        self.target = Target::Stdout;
        remove_empty_dirs(&self.created_dirs);
        result
    }

    /// Opens the next output file of `lane`.
    async fn start_part(&mut self, lane: usize) -> Result<Part, IoError> {
        let file_name = format!(
            "{}-{:05}.{}",
            self.stem, self.lanes[lane].next_part, self.extension
        );
        self.lanes[lane].next_part += 1;
        let sub = self.lanes[lane].dir.clone();
        let local = |dir: &Path| {
            let dir = if sub.is_empty() {
                dir.to_path_buf()
            } else {
                dir.join(&sub)
            };
            dir.join(&file_name)
        };
        let (name, output) = match &self.target {
            Target::Stdout => ("stdout".to_string(), Output::Stdout(tokio::io::stdout())),
            Target::LocalFile(path) => {
                let name = path.display().to_string();
                (name.clone(), Output::local(path.clone(), name).await?)
            }
            Target::LocalDir(dir) => {
                let path = local(dir);
                let name = path.display().to_string();
                (name.clone(), Output::local(path, name).await?)
            }
            Target::LocalStaged { staging, .. } => {
                let path = local(staging.path());
                if let Some(parent) = path.parent() {
                    tokio::fs::create_dir_all(parent).await.map_err(|e| {
                        IoError::from_fs(
                            &parent.display().to_string(),
                            "cannot create the directory",
                            e,
                        )
                    })?;
                }
                let name = path.display().to_string();
                (name.clone(), Output::local(path, name).await?)
            }
            Target::ObjectFile { store, path, name } => (
                name.clone(),
                Output::upload(Arc::clone(store), path.clone(), name.clone()).await?,
            ),
            Target::ObjectDir { location, dir } => {
                let key = if sub.is_empty() {
                    child_key(dir, &file_name)
                } else {
                    child_key(&child_key(dir, &sub), &file_name)
                };
                let name = location.display_key(&key);
                let path = object_path(&key, &name)?;
                self.keys.insert(key);
                (
                    name.clone(),
                    Output::upload(Arc::clone(location.store()), path, name).await?,
                )
            }
        };
        let mut output = output;
        let (encoder, first) =
            Encoder::new(self.format, &self.file_schema, &self.options, name.clone())?;
        let mut compressor = Compressor::new(self.compression);
        let first = match compressor.as_mut() {
            Some(compressor) => compressor.push(&first, &name).await?,
            None => first,
        };
        self.bytes += first.len() as u64;
        output.write(first).await?;
        Ok(Part {
            encoder,
            compressor,
            output,
            rows: 0,
            name,
        })
    }

    /// Ends the current output file of `lane`, if any, and queues it for commit.
    async fn finish_part(&mut self, lane: usize) -> Result<(), IoError> {
        let Some(mut part) = self.lanes[lane].current.take() else {
            return Ok(());
        };
        let last = part.encoder.finish()?;
        let last = match part.compressor.take() {
            Some(mut compressor) => {
                let mut bytes = compressor.push(&last, &part.name).await?.to_vec();
                bytes.extend_from_slice(&compressor.finish(&part.name).await?);
                bytes::Bytes::from(bytes)
            }
            None => last,
        };
        self.bytes += last.len() as u64;
        part.output.write(last).await?;
        let pending = part.output.finish().await?;
        self.pending.push((part.name, pending));
        Ok(())
    }

    /// After an overwrite, deletes the parts of an earlier run this run did not replace.
    async fn remove_stale_parts(&self) -> Result<(), IoError> {
        let extension = self.extension.as_str();
        let written = self.lanes.first().map_or(0, |lane| lane.next_part);
        let stale = |name: &str| part_index(name, extension).is_some_and(|index| index >= written);
        match &self.target {
            Target::LocalDir(dir) => {
                let shown = dir.display().to_string();
                let mut entries = tokio::fs::read_dir(dir)
                    .await
                    .map_err(|e| IoError::from_fs(&shown, "cannot list", e))?;
                while let Some(entry) = entries
                    .next_entry()
                    .await
                    .map_err(|e| IoError::from_fs(&shown, "cannot list", e))?
                {
                    if entry.file_name().to_str().is_some_and(stale) {
                        let path = entry.path();
                        tokio::fs::remove_file(&path).await.map_err(|e| {
                            IoError::from_fs(&path.display().to_string(), "cannot delete", e)
                        })?;
                    }
                }
                Ok(())
            }
            Target::ObjectDir { location, dir } => {
                let prefix = object_path(dir, &location.display_key(dir))?;
                let store = location.store();
                let shown = location.display_key(dir);
                let listed: Vec<_> = store
                    .list(Some(&prefix))
                    .try_collect()
                    .await
                    .map_err(|error| IoError::from_store(&shown, error))?;
                let partitioned = self.partitioner.is_some();
                let mut seen = HashSet::new();
                for meta in listed {
                    let key = meta.location.as_ref();
                    let name = key.rsplit('/').next().unwrap_or(key);
                    let direct = child_key(dir, name) == key;
                    // A partitioned overwrite replaces the whole directory: every object
                    // below it that this run did not write goes.
                    let old = if partitioned {
                        !self.keys.contains(key)
                    } else {
                        direct && stale(name)
                    };
                    if old && seen.insert(key.to_string()) {
                        store.delete(&meta.location).await.map_err(|error| {
                            IoError::from_store(&location.display_key(key), error)
                        })?;
                    }
                }
                Ok(())
            }
            Target::Stdout
            | Target::LocalFile(_)
            | Target::LocalStaged { .. }
            | Target::ObjectFile { .. } => Ok(()),
        }
    }
}

impl Drop for Sink {
    /// Without commit or abort: temporary files are deleted and uploads aborted (by their own
    /// drops), then directories the sink created are removed if empty.
    fn drop(&mut self) {
        if self.done {
            return;
        }
        for lane in &mut self.lanes {
            drop(lane.current.take());
        }
        self.pending.clear();
        // A staging directory goes (with everything in it) before its parents are tried.
        self.target = Target::Stdout;
        remove_empty_dirs(&self.created_dirs);
    }
}

impl std::fmt::Debug for Sink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sink")
            .field("format", &self.format)
            .field("rows", &self.rows)
            .field("bytes", &self.bytes)
            .finish_non_exhaustive()
    }
}

/// `dir/name`, or `name` at the root.
fn child_key(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

/// The index of a part file `part-<digits>.<extension>`.
fn part_index(name: &str, extension: &str) -> Option<usize> {
    let digits = name
        .strip_prefix("part-")?
        .strip_suffix(extension)?
        .strip_suffix('.')?;
    if digits.len() < 5 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

async fn check_local_file(path: &Path, refuse_existing: bool) -> Result<(), IoError> {
    let shown = path.display().to_string();
    match tokio::fs::symlink_metadata(path).await {
        Ok(meta) if meta.is_dir() => Err(IoError::config(
            "path",
            format!("{shown} is a directory; end the path with / to write parts into it"),
        )),
        Ok(_) if refuse_existing => Err(IoError::Exists { location: shown }),
        Ok(_) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(IoError::from_fs(&shown, "cannot check", error)),
    }
}

/// A directory "exists" as an output when it holds anything but hidden entries (hidden ones
/// include `.partial` leftovers of killed runs).
async fn check_local_dir(path: &Path, refuse_existing: bool) -> Result<(), IoError> {
    let shown = path.display().to_string();
    match tokio::fs::metadata(path).await {
        Ok(meta) if !meta.is_dir() => Err(IoError::config(
            "path",
            format!("{shown} is a file, not a directory of parts"),
        )),
        Ok(_) if refuse_existing => {
            let mut entries = tokio::fs::read_dir(path)
                .await
                .map_err(|e| IoError::from_fs(&shown, "cannot list", e))?;
            while let Some(entry) = entries
                .next_entry()
                .await
                .map_err(|e| IoError::from_fs(&shown, "cannot list", e))?
            {
                if !entry.file_name().to_string_lossy().starts_with('.') {
                    return Err(IoError::Exists { location: shown });
                }
            }
            Ok(())
        }
        Ok(_) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(IoError::from_fs(&shown, "cannot check", error)),
    }
}

/// An object "directory" exists when any object has its prefix.
async fn check_object_dir(location: &ObjectLocation, dir: &str) -> Result<(), IoError> {
    let shown = location.display_key(&format!("{dir}/"));
    let prefix = object_path(dir, &shown)?;
    let prefix = (!dir.is_empty()).then_some(&prefix);
    match location.store().list(prefix).next().await {
        None | Some(Err(object_store::Error::NotFound { .. })) => Ok(()),
        Some(Ok(_)) => Err(IoError::Exists { location: shown }),
        Some(Err(error)) => Err(IoError::from_store(&shown, error)),
    }
}

/// Creates `dir` and its missing ancestors; returns the ones created, outermost first.
async fn create_dirs(dir: &Path) -> Result<Vec<PathBuf>, IoError> {
    let mut missing = Vec::new();
    for ancestor in dir.ancestors() {
        if ancestor.as_os_str().is_empty() || tokio::fs::try_exists(ancestor).await.unwrap_or(true)
        {
            break;
        }
        missing.push(ancestor.to_path_buf());
    }
    missing.reverse();
    tokio::fs::create_dir_all(dir).await.map_err(|e| {
        IoError::from_fs(&dir.display().to_string(), "cannot create the directory", e)
    })?;
    Ok(missing)
}

/// Removes `dirs` (outermost first) innermost first, each only if empty.
fn remove_empty_dirs(dirs: &[PathBuf]) {
    for dir in dirs.iter().rev() {
        // Fails, harmlessly, when the directory is not empty.
        let _not_empty = std::fs::remove_dir(dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compression_names() {
        let parse = |name: &str| name.parse::<ParquetCompression>().map(|c| c.0);
        assert_eq!(
            parse("zstd").ok(),
            ZstdLevel::try_new(3).ok().map(ParquetCodec::ZSTD)
        );
        assert!(matches!(parse("zstd(9)"), Ok(ParquetCodec::ZSTD(_))));
        assert_eq!(parse("snappy").ok(), Some(ParquetCodec::SNAPPY));
        assert!(matches!(parse("gzip"), Ok(ParquetCodec::GZIP(_))));
        assert_eq!(parse("lz4").ok(), Some(ParquetCodec::LZ4_RAW));
        assert_eq!(parse("none").ok(), Some(ParquetCodec::UNCOMPRESSED));
        for bad in ["brotli", "zstd(99)", "zstd(x)", ""] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn part_names() {
        assert_eq!(part_index("part-00012.parquet", "parquet"), Some(12));
        assert_eq!(part_index("part-123456.csv", "csv"), Some(123456));
        assert_eq!(part_index("part-00012.csv", "parquet"), None);
        assert_eq!(part_index("part-12.parquet", "parquet"), None);
        assert_eq!(part_index(".part-00012.parquet.x.partial", "parquet"), None);
    }

    #[test]
    fn sink_specs_deserialize_with_defaults() {
        let spec: SinkSpec = serde_json::from_str(
            r#"{"path": "out/", "mode": "overwrite", "parquet": {"compression": "snappy"}}"#,
        )
        .expect("parses");
        assert_eq!(spec.mode, WriteMode::Overwrite);
        assert_eq!(spec.parquet.compression.0, ParquetCodec::SNAPPY);
        assert_eq!(spec.parquet.row_group_rows, 128 * 1024);
        assert!(spec.csv.header);
        let error = serde_json::from_str::<SinkSpec>(r#"{"path": "x", "colour": 1}"#)
            .expect_err("unknown field");
        assert!(error.to_string().contains("colour"), "{error}");
    }
}
