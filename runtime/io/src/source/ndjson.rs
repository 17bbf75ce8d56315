//! NDJSON inputs: one JSON object per line, streamed through arrow-json's push decoder. The
//! schema is explicit (`ndjson.schema`) or inferred from the first records of the first
//! file. Decoding is strict: a field the schema does not have is an error, not silently
//! dropped, so a file of a glob with extra fields fails naming it — unless `columns` picks
//! some, when the others are skipped unread.

use std::io::Cursor;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_json::reader::{Decoder, infer_json_schema};
use arrow_schema::{ArrowError, SchemaRef};
use bytes::{Buf, Bytes};

use super::bytes::{self as raw, Decode};
use super::input::{Input, Reader};
use super::{First, INFER_RECORDS, InferRows, Opened, Settings, project_schema, projection, zones};
use crate::IoError;
use crate::schema::schema_of;

/// Opens `input` as NDJSON; `first` is the first input of the same source, if this is not it.
pub(crate) async fn open(
    input: &Input,
    settings: &Settings,
    first: Option<&First>,
) -> Result<Opened, IoError> {
    let bytes = raw::open(input).await?;
    let infer_rows = settings.ndjson.infer_rows;
    let sample = match infer_rows {
        InferRows::Rows(rows) => rows,
        InferRows::All => INFER_RECORDS,
    };
    let peeked = raw::peek_lines(bytes, sample).await?;
    let schema: SchemaRef = match (first, &settings.ndjson.schema) {
        (Some(first), _) => Arc::clone(&first.file_schema),
        (None, Some(columns)) => schema_of(columns),
        (None, None) => {
            let schema = match infer_rows {
                InferRows::Rows(rows) => infer_json_schema(Cursor::new(peeked.head()), Some(rows))
                    .map(|(schema, _)| schema)
                    .map_err(|error| IoError::bad_data(&input.name, error))?,
                InferRows::All => {
                    if matches!(input.reader, Reader::Stdin) {
                        return Err(IoError::config(
                            "ndjson.infer_rows",
                            "\"all\" reads the input twice, which stdin cannot do; give a \
                             number of records or ndjson.schema",
                        ));
                    }
                    let name = input.name.clone();
                    raw::read_blocking(raw::open(input).await?, &input.name, move |reader| {
                        infer_json_schema(reader, None)
                            .map(|(schema, _)| schema)
                            .map_err(|error| IoError::bad_data(&name, error))
                    })
                    .await?
                }
            };
            Arc::new(zones::zone_json(&schema, peeked.head()))
        }
    };
    let indices = projection(&schema, settings.columns.as_deref(), &input.name)?;
    let projected = project_schema(&schema, &indices)?;
    // Strict (a field the schema lacks is an error) unless some columns are left out on
    // purpose.
    let strict = indices.len() == schema.fields().len();
    let decoder = arrow_json::ReaderBuilder::new(Arc::clone(&projected))
        .with_batch_size(settings.batch_rows)
        .with_strict_mode(strict)
        .build_decoder()
        .map_err(|error| {
            IoError::config(
                "ndjson.schema",
                format!(
                    "{}: cannot decode JSON into this schema: {error}",
                    input.name
                ),
            )
        })?;
    let decoder = JsonDecode {
        decoder,
        batch_rows: settings.batch_rows,
        done: 0,
        name: input.name.clone(),
    };
    Ok(Opened {
        file_schema: schema,
        schema: projected,
        header: None,
        batches: raw::decode(peeked.into_stream(), decoder, input.name.clone()),
    })
}

/// arrow-json's push decoder, counting records to locate errors.
struct JsonDecode {
    decoder: Decoder,
    batch_rows: usize,
    /// Records returned in earlier batches.
    done: u64,
    name: String,
}

impl JsonDecode {
    fn flush(&mut self) -> Result<Option<RecordBatch>, IoError> {
        let pending = self.decoder.len() as u64;
        match self.decoder.flush() {
            Ok(batch) => {
                self.done += batch.as_ref().map_or(0, |b| b.num_rows() as u64);
                Ok(batch)
            }
            // Conversion errors come for a whole batch; say which records it spans.
            Err(error) => Err(self.located(
                None,
                error,
                format!(" (in records {} to {})", self.done + 1, self.done + pending),
            )),
        }
    }

    fn located(&self, line: Option<u64>, error: ArrowError, context: String) -> IoError {
        let message = error.to_string();
        IoError::BadData {
            location: self.name.clone(),
            line,
            column: field_of(&message),
            message: format!("{message}{context}"),
        }
    }
}

impl Decode for JsonDecode {
    fn push(&mut self, buf: &mut Bytes) -> Result<Option<RecordBatch>, IoError> {
        if buf.is_empty() {
            return Ok(None);
        }
        match self.decoder.decode(buf) {
            Ok(used) => buf.advance(used),
            Err(error) => {
                // Syntax errors stop in the record being read, `len` counts it.
                let record = self.done + self.decoder.len().max(1) as u64;
                return Err(self.located(Some(record), error, String::new()));
            }
        }
        if self.decoder.len() >= self.batch_rows && !self.decoder.has_partial_record() {
            return self.flush();
        }
        Ok(None)
    }

    fn finish(&mut self) -> Result<Option<RecordBatch>, IoError> {
        if self.decoder.has_partial_record() {
            let record = self.done + self.decoder.len() as u64;
            return Err(IoError::BadData {
                location: self.name.clone(),
                line: Some(record),
                column: None,
                message: "the input ends in the middle of a JSON record".into(),
            });
        }
        self.flush()
    }
}

/// The field arrow-json names in "whilst decoding field 'x'".
fn field_of(message: &str) -> Option<String> {
    let marker = "whilst decoding field '";
    let start = message.find(marker)? + marker.len();
    let end = message[start..].find('\'')?;
    Some(message[start..start + end].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names_come_from_the_message() {
        assert_eq!(
            field_of("Json error: whilst decoding field 'a': expected string got 1").as_deref(),
            Some("a")
        );
        assert_eq!(field_of("Json error: something else"), None);
    }
}
