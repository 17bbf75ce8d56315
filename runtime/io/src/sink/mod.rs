//! Sinks: [`SinkSpec`] (what a pipeline file says), [`create_sink`], and the [`Sink`] that
//! writes batches and makes them visible only at [`Sink::commit`].
//!
//! A sink writes one file, or a directory of parts (`part-00000.<ext>`, ...) when its path
//! ends with `/` or `max_rows_per_file` is set. Atomicity: no reader ever sees a partial
//! file, even if the process is killed; see [`output`] for how, per kind of storage. With
//! several parts, each part appears atomically, one after the other, during `commit`.

mod encode;
mod output;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt};
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use schemars::JsonSchema;
use serde::Deserialize;

use crate::location::{ObjectLocation, object_path};
use crate::schema::first_difference;
use crate::{Format, IoError, Location, Storage};
use encode::{EncodeOptions, Encoder};
use output::{Output, Pending};

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
            compression: ParquetCompression(Compression::ZSTD(
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
pub struct ParquetCompression(pub Compression);

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
        Compression::from_str(canonical)
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
    output: Output,
    /// Rows in this part so far.
    rows: u64,
    /// Display name.
    name: String,
}

/// A sink being written: one per pipeline run. Outputs become visible only at
/// [`Sink::commit`]; [`Sink::abort`], or dropping the sink, leaves nothing behind (except on
/// stdout, which cannot take bytes back).
pub struct Sink {
    /// The format of every output.
    format: Format,
    /// The schema every batch must have.
    schema: SchemaRef,
    /// Per-format settings.
    options: EncodeOptions,
    /// Where outputs go.
    target: Target,
    /// What to do about existing outputs.
    mode: WriteMode,
    /// Rows per part, for a directory with `max_rows_per_file`.
    max_rows: Option<u64>,
    /// The part being written.
    current: Option<Part>,
    /// Finished parts waiting for commit, with their display names.
    pending: Vec<(String, Pending)>,
    /// The index of the next part.
    next_part: usize,
    /// Rows written so far.
    rows: u64,
    /// Bytes written so far.
    bytes: u64,
    /// Local directories this sink created, outermost first: removed again (when empty) if
    /// the sink does not commit.
    created_dirs: Vec<PathBuf>,
    /// Committed or aborted: nothing left to clean up.
    done: bool,
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
            .build(),
        csv_header: spec.csv.header,
        csv_delimiter: delimiter,
    };

    let location = Location::parse_with(&spec.path, base, storage)?;
    let directory = spec.path.ends_with('/') || spec.max_rows_per_file.is_some();
    let format = if location.is_stdio() {
        if spec.max_rows_per_file.is_some() {
            return Err(IoError::config(
                "max_rows_per_file",
                "stdout is one stream and cannot be split into files",
            ));
        }
        Format::for_stdio(spec.format, "stdout")?
    } else {
        Format::resolve(spec.format, &spec.path)?
    };
    let check = spec.mode == WriteMode::ErrorIfExists;
    let mut created_dirs = Vec::new();
    let target = match location {
        Location::Stdio => Target::Stdout,
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
        schema,
        options,
        target,
        mode: spec.mode,
        max_rows: spec.max_rows_per_file,
        current: None,
        pending: Vec::new(),
        next_part: 0,
        rows: 0,
        bytes: 0,
        created_dirs,
        done: false,
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
        let total = batch.num_rows();
        let mut offset = 0;
        while offset < total {
            if self.current.is_none() {
                let part = self.start_part().await?;
                self.current = Some(part);
            }
            let Some(part) = self.current.as_mut() else {
                return Err(IoError::internal("no part after starting one"));
            };
            let room = match self.max_rows {
                Some(max) => usize::try_from(max.saturating_sub(part.rows)).unwrap_or(usize::MAX),
                None => usize::MAX,
            };
            let take = room.min(total - offset);
            let slice = batch.slice(offset, take);
            let bytes = part.encoder.write(&slice)?;
            self.bytes += bytes.len() as u64;
            part.output.write(bytes).await?;
            part.rows += take as u64;
            self.rows += take as u64;
            offset += take;
            if self.max_rows.is_some_and(|max| part.rows >= max) {
                self.finish_part().await?;
            }
        }
        Ok(())
    }

    /// Makes every output visible and returns what was written. A sink that received no
    /// rows writes one empty file (with the schema, where the format holds one).
    ///
    /// # Errors
    ///
    /// [`IoError::Exists`] if a local output appeared since the sink was created
    /// (`error_if_exists`); storage errors. Parts committed before the error stay visible;
    /// the rest are discarded.
    pub async fn commit(mut self) -> Result<Committed, IoError> {
        if self.current.is_none() && self.pending.is_empty() {
            let part = self.start_part().await?;
            self.current = Some(part);
        }
        self.finish_part().await?;
        let no_clobber = self.mode == WriteMode::ErrorIfExists;
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

    /// Discards everything written: temporary files are deleted, uploads aborted, and
    /// directories the sink created removed again if empty.
    ///
    /// # Errors
    ///
    /// Storage errors while aborting uploads (the uploads stay incomplete, hence invisible).
    pub async fn abort(mut self) -> Result<(), IoError> {
        self.done = true;
        let mut result = Ok(());
        if let Some(part) = self.current.take()
            && let Err(error) = part.output.abort().await
        {
            result = Err(error);
        }
        for (_, part) in std::mem::take(&mut self.pending) {
            if let Err(error) = part.abort().await {
                result = Err(error);
            }
        }
        remove_empty_dirs(&self.created_dirs);
        result
    }

    /// Opens the next output file.
    async fn start_part(&mut self) -> Result<Part, IoError> {
        let file_name = format!("part-{:05}.{}", self.next_part, self.format.extension());
        self.next_part += 1;
        let (name, output) = match &self.target {
            Target::Stdout => ("stdout".to_string(), Output::Stdout(tokio::io::stdout())),
            Target::LocalFile(path) => {
                let name = path.display().to_string();
                (name.clone(), Output::local(path.clone(), name).await?)
            }
            Target::LocalDir(dir) => {
                let path = dir.join(&file_name);
                let name = path.display().to_string();
                (name.clone(), Output::local(path, name).await?)
            }
            Target::ObjectFile { store, path, name } => (
                name.clone(),
                Output::upload(Arc::clone(store), path.clone(), name.clone()).await?,
            ),
            Target::ObjectDir { location, dir } => {
                let key = child_key(dir, &file_name);
                let name = location.display_key(&key);
                let path = object_path(&key, &name)?;
                (
                    name.clone(),
                    Output::upload(Arc::clone(location.store()), path, name).await?,
                )
            }
        };
        let mut output = output;
        let (encoder, first) =
            Encoder::new(self.format, &self.schema, &self.options, name.clone())?;
        self.bytes += first.len() as u64;
        output.write(first).await?;
        Ok(Part {
            encoder,
            output,
            rows: 0,
            name,
        })
    }

    /// Ends the current output file, if any, and queues it for commit.
    async fn finish_part(&mut self) -> Result<(), IoError> {
        let Some(mut part) = self.current.take() else {
            return Ok(());
        };
        let last = part.encoder.finish()?;
        self.bytes += last.len() as u64;
        part.output.write(last).await?;
        let pending = part.output.finish().await?;
        self.pending.push((part.name, pending));
        Ok(())
    }

    /// After an overwrite, deletes the parts of an earlier run this run did not replace.
    async fn remove_stale_parts(&self) -> Result<(), IoError> {
        let extension = self.format.extension();
        let written = self.next_part;
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
                let mut seen = HashSet::new();
                for meta in listed {
                    let key = meta.location.as_ref();
                    let name = key.rsplit('/').next().unwrap_or(key);
                    let direct = child_key(dir, name) == key;
                    if direct && stale(name) && seen.insert(key.to_string()) {
                        store.delete(&meta.location).await.map_err(|error| {
                            IoError::from_store(&location.display_key(key), error)
                        })?;
                    }
                }
                Ok(())
            }
            Target::Stdout | Target::LocalFile(_) | Target::ObjectFile { .. } => Ok(()),
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
        drop(self.current.take());
        self.pending.clear();
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
            ZstdLevel::try_new(3).ok().map(Compression::ZSTD)
        );
        assert!(matches!(parse("zstd(9)"), Ok(Compression::ZSTD(_))));
        assert_eq!(parse("snappy").ok(), Some(Compression::SNAPPY));
        assert!(matches!(parse("gzip"), Ok(Compression::GZIP(_))));
        assert_eq!(parse("lz4").ok(), Some(Compression::LZ4_RAW));
        assert_eq!(parse("none").ok(), Some(Compression::UNCOMPRESSED));
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
        assert_eq!(spec.parquet.compression.0, Compression::SNAPPY);
        assert_eq!(spec.parquet.row_group_rows, 128 * 1024);
        assert!(spec.csv.header);
        let error = serde_json::from_str::<SinkSpec>(r#"{"path": "x", "colour": 1}"#)
            .expect_err("unknown field");
        assert!(error.to_string().contains("colour"), "{error}");
    }
}
