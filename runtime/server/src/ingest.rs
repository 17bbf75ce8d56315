//! Bodies pushed to a running pipeline with an API source, decoded into record batches of
//! the pipeline's declared schema: an Arrow IPC stream (`application/vnd.apache.arrow.stream`),
//! CSV with a header (`text/csv`) or NDJSON (`application/x-ndjson`).
//!
//! A body is decoded completely before any of it enters the pipeline: a bad row anywhere
//! rejects the whole request (422, naming the line or column), so a client can simply
//! retry a failed push without duplicating rows.

use std::io::Cursor;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;

use super::error::{ApiError, Problem};

/// Rows per decoded batch for CSV and NDJSON bodies (Arrow bodies keep their batches).
const BATCH_ROWS: usize = 8192;

/// The body formats, by content type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFormat {
    /// Arrow IPC stream.
    Arrow,
    /// CSV with a header line.
    Csv,
    /// Newline-delimited JSON objects.
    Ndjson,
}

impl BodyFormat {
    /// The format a `Content-Type` names.
    pub fn from_content_type(ct: Option<&str>) -> Result<Self, ApiError> {
        let essence = ct
            .unwrap_or_default()
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        match essence.as_str() {
            "application/vnd.apache.arrow.stream" => Ok(BodyFormat::Arrow),
            "text/csv" => Ok(BodyFormat::Csv),
            "application/x-ndjson" | "application/jsonl" | "application/json-lines" => {
                Ok(BodyFormat::Ndjson)
            }
            other => Err(ApiError::new(
                axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                format!(
                    "Content-Type `{other}` is not a batch format; send \
                     application/vnd.apache.arrow.stream, text/csv (with a header line) or \
                     application/x-ndjson"
                ),
            )),
        }
    }
}

fn invalid(message: String) -> ApiError {
    ApiError::invalid(message.clone(), vec![Problem::new("body", message)])
}

/// Decode `body` into batches of `schema`.
pub fn decode(
    body: &[u8],
    format: BodyFormat,
    schema: &SchemaRef,
) -> Result<Vec<RecordBatch>, ApiError> {
    match format {
        BodyFormat::Arrow => {
            let reader = arrow_ipc::reader::StreamReader::try_new(Cursor::new(body), None)
                .map_err(|e| invalid(format!("the body is not an Arrow IPC stream: {e}")))?;
            let got = reader.schema();
            check_schema(&got, schema)?;
            let mut out = Vec::new();
            for (i, b) in reader.enumerate() {
                let b = b.map_err(|e| invalid(format!("Arrow stream, batch {i}: {e}")))?;
                // Same names; types converted where nothing changes (a Polars client sends
                // string views); the declared schema adopted (field metadata, nullability).
                let b = quiver_stream::conform(&b, schema)
                    .map_err(|e| invalid(format!("Arrow stream, batch {i}: {e}")))?;
                out.push(b);
            }
            Ok(out)
        }
        BodyFormat::Csv => {
            let reader = arrow_csv::ReaderBuilder::new(Arc::clone(schema))
                .with_header(true)
                .with_batch_size(BATCH_ROWS)
                .build(Cursor::new(body))
                .map_err(|e| invalid(format!("CSV body: {e}")))?;
            check_csv_header(body, schema)?;
            reader
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| invalid(format!("CSV body: {e}")))
        }
        BodyFormat::Ndjson => {
            let reader = arrow_json::ReaderBuilder::new(Arc::clone(schema))
                .with_batch_size(BATCH_ROWS)
                .with_strict_mode(true)
                .build(Cursor::new(body))
                .map_err(|e| invalid(format!("NDJSON body: {e}")))?;
            reader
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| invalid(format!("NDJSON body: {e}")))
        }
    }
}

/// A CSV body's header must name the declared columns, in order.
fn check_csv_header(body: &[u8], schema: &SchemaRef) -> Result<(), ApiError> {
    let first = body.split(|&b| b == b'\n').next().unwrap_or_default();
    let first = String::from_utf8_lossy(first);
    let names: Vec<&str> = first
        .trim_end_matches('\r')
        .split(',')
        .map(str::trim)
        .collect();
    let want: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    let unquoted: Vec<String> = names
        .iter()
        .map(|n| n.trim_matches('"').to_owned())
        .collect();
    if unquoted != want {
        return Err(invalid(format!(
            "CSV body, line 1: the header is `{}`; the pipeline's source expects the columns \
             `{}`, in that order",
            first.trim_end(),
            want.join(",")
        )));
    }
    Ok(())
}

/// An Arrow body's schema must have the declared names, in order, and types that convert
/// to the declared ones without changing a value ([`quiver_stream::lossless`]: `large_string`,
/// `string_view` or a dictionary for `utf8`, int32 for int64, …).
fn check_schema(got: &SchemaRef, want: &SchemaRef) -> Result<(), ApiError> {
    let names = |s: &SchemaRef| {
        s.fields()
            .iter()
            .map(|f| format!("{}: {}", f.name(), f.data_type()))
            .collect::<Vec<_>>()
    };
    if got.fields().len() != want.fields().len() {
        return Err(invalid(format!(
            "the Arrow stream has {} columns ({}); the pipeline's source expects {} ({})",
            got.fields().len(),
            names(got).join(", "),
            want.fields().len(),
            names(want).join(", ")
        )));
    }
    for (g, w) in got.fields().iter().zip(want.fields()) {
        if g.name() != w.name() || !quiver_stream::lossless(g.data_type(), w.data_type()) {
            return Err(invalid(format!(
                "the Arrow stream's column `{}: {}` does not match the declared `{}: {}` (a type \
                 is taken when it converts without changing a value)",
                g.name(),
                g.data_type(),
                w.name(),
                w.data_type()
            )));
        }
    }
    Ok(())
}
