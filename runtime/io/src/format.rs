//! [`Format`]: the file formats sources read and sinks write, and how a format is chosen
//! (explicitly in the spec, else from the file extension).

use std::fmt;

use schemars::JsonSchema;
use serde::Deserialize;

use crate::{Compression, IoError};

/// A file format. Spelled in snake_case in pipeline files (`arrow_file`, `arrow_stream`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// Apache Parquet (`.parquet`, `.pq`).
    Parquet,
    /// Comma- (or otherwise) separated values (`.csv`).
    Csv,
    /// Newline-delimited JSON, one object per line (`.ndjson`, `.jsonl`).
    Ndjson,
    /// Arrow IPC file format, a.k.a. Feather v2 (`.arrow`, `.feather`, `.ipc`).
    ArrowFile,
    /// Arrow IPC stream format (`.arrows`).
    ArrowStream,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Parquet => "parquet",
            Format::Csv => "csv",
            Format::Ndjson => "ndjson",
            Format::ArrowFile => "arrow_file",
            Format::ArrowStream => "arrow_stream",
        })
    }
}

impl Format {
    /// The format a file name's extension implies (case-insensitive), if any. A compression
    /// extension after it is skipped (`a.csv.gz` is CSV).
    pub fn from_extension(name: &str) -> Option<Format> {
        let name = name.trim_end_matches('/');
        let (_, name) = Compression::split_extension(name);
        let file = name.rsplit(['/', '\\']).next().unwrap_or(name);
        let (_, extension) = file.rsplit_once('.')?;
        match extension.to_ascii_lowercase().as_str() {
            "parquet" | "pq" => Some(Format::Parquet),
            "csv" => Some(Format::Csv),
            "ndjson" | "jsonl" => Some(Format::Ndjson),
            "arrow" | "feather" | "ipc" => Some(Format::ArrowFile),
            "arrows" => Some(Format::ArrowStream),
            _ => None,
        }
    }

    /// Whether the format can be read or written front to back without seeking, which is
    /// what stdin and stdout allow: CSV, NDJSON and Arrow IPC streams.
    pub fn is_streaming(self) -> bool {
        matches!(self, Format::Csv | Format::Ndjson | Format::ArrowStream)
    }

    /// The extension of files this crate writes in this format (without the dot).
    pub fn extension(self) -> &'static str {
        match self {
            Format::Parquet => "parquet",
            Format::Csv => "csv",
            Format::Ndjson => "ndjson",
            Format::ArrowFile => "arrow",
            Format::ArrowStream => "arrows",
        }
    }

    /// `explicit` if set, else the format of `name`'s extension.
    ///
    /// # Errors
    ///
    /// [`IoError::Config`] (key `format`) when neither says.
    pub(crate) fn resolve(explicit: Option<Format>, name: &str) -> Result<Format, IoError> {
        explicit
            .or_else(|| Format::from_extension(name))
            .ok_or_else(|| {
                IoError::config(
                    "format",
                    format!(
                        "cannot tell the format of {name} from its extension (.parquet, .pq, .csv, \
                     .ndjson, .jsonl, .arrow, .feather, .ipc, .arrows, each streaming one \
                     optionally followed by .gz, .zst, .bz2 or .xz); set `format`"
                    ),
                )
            })
    }

    /// The format for stdin/stdout: it must be given and be a streaming one.
    ///
    /// # Errors
    ///
    /// [`IoError::Config`] (key `format`) otherwise.
    pub(crate) fn for_stdio(explicit: Option<Format>, stream: &str) -> Result<Format, IoError> {
        match explicit {
            Some(format) if format.is_streaming() => Ok(format),
            Some(format) => Err(IoError::config(
                "format",
                format!(
                    "{format} needs a seekable file and cannot use {stream}; use csv, ndjson or \
                     arrow_stream"
                ),
            )),
            None => Err(IoError::config(
                "format",
                format!(
                    "{stream} has no extension to tell its format; set `format` to csv, ndjson or arrow_stream"
                ),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions() {
        let cases = [
            ("a.parquet", Some(Format::Parquet)),
            ("dir/a.PQ", Some(Format::Parquet)),
            ("s3://b/k.csv", Some(Format::Csv)),
            ("a.ndjson", Some(Format::Ndjson)),
            ("a.jsonl", Some(Format::Ndjson)),
            ("a.arrow", Some(Format::ArrowFile)),
            ("a.feather", Some(Format::ArrowFile)),
            ("a.ipc", Some(Format::ArrowFile)),
            ("a.arrows", Some(Format::ArrowStream)),
            ("out.parquet/", Some(Format::Parquet)),
            ("a.csv.gz", Some(Format::Csv)),
            ("a.ndjson.zst", Some(Format::Ndjson)),
            ("a.arrows.XZ", Some(Format::ArrowStream)),
            ("a.gz", None),
            ("a.txt", None),
            ("dir.csv/noext", None),
        ];
        for (name, expected) in cases {
            assert_eq!(Format::from_extension(name), expected, "{name}");
        }
    }

    #[test]
    fn stdio_needs_an_explicit_streaming_format() {
        assert_eq!(
            Format::for_stdio(Some(Format::Csv), "stdin").ok(),
            Some(Format::Csv)
        );
        assert!(Format::for_stdio(None, "stdin").is_err());
        let error = Format::for_stdio(Some(Format::Parquet), "stdout").expect_err("refused");
        assert!(error.to_string().contains("`format`"), "{error}");
    }

    #[test]
    fn serde_names_are_snake_case() {
        let format: Format = serde_json::from_str("\"arrow_stream\"").expect("parses");
        assert_eq!(format, Format::ArrowStream);
        assert_eq!(format.to_string(), "arrow_stream");
    }
}
