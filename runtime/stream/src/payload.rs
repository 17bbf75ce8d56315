//! Message payloads ↔ record batches: Arrow IPC streams, NDJSON and CSV (with a header).
//!
//! One message becomes one batch (all its rows, in order); one batch becomes one message.
//! A source builds its batches with the declared schema, so every message of a stream has
//! the same columns whatever its format.

use std::io::Cursor;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use bytes::Bytes;

use crate::error::StreamError;
use crate::spec::Payload;

/// The rows of one message `payload`, as one batch of `schema`. `at` names the message in
/// errors.
///
/// # Errors
/// [`StreamError::Data`] when the payload is not valid in `format` or its columns do not
/// fit `schema`.
pub fn decode(
    payload: &[u8],
    format: Payload,
    schema: &SchemaRef,
    at: &str,
) -> Result<RecordBatch, StreamError> {
    let bad = |message: String| StreamError::Data {
        at: at.to_owned(),
        message,
    };
    let batches: Vec<RecordBatch> = match format {
        Payload::Ndjson => arrow_json::ReaderBuilder::new(schema.clone())
            .build(Cursor::new(payload))
            .and_then(Iterator::collect)
            .map_err(|e| bad(format!("not NDJSON of the declared columns: {e}")))?,
        Payload::Csv => arrow_csv::ReaderBuilder::new(schema.clone())
            .with_header(true)
            .build(Cursor::new(payload))
            .and_then(Iterator::collect)
            .map_err(|e| bad(format!("not CSV of the declared columns: {e}")))?,
        Payload::Arrow => {
            let reader = arrow_ipc::reader::StreamReader::try_new(Cursor::new(payload), None)
                .map_err(|e| bad(format!("not an Arrow IPC stream: {e}")))?;
            let batches: Vec<RecordBatch> = reader
                .collect::<Result<_, _>>()
                .map_err(|e| bad(format!("a broken Arrow IPC stream: {e}")))?;
            batches
                .into_iter()
                .map(|b| {
                    RecordBatch::try_new(schema.clone(), b.columns().to_vec()).map_err(|e| {
                        bad(format!(
                            "its columns ({}) do not fit the declared schema: {e}",
                            b.schema()
                                .fields()
                                .iter()
                                .map(|f| format!("{}: {}", f.name(), f.data_type()))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ))
                    })
                })
                .collect::<Result<_, _>>()?
        }
    };
    arrow_select::concat::concat_batches(schema, &batches)
        .map_err(|e| StreamError::Internal(format!("joining the batches of {at}: {e}")))
}

/// `batch` as one message payload in `format`.
///
/// # Errors
/// [`StreamError::Config`] when the format cannot hold the batch's types (CSV and NDJSON
/// hold flat columns only).
pub fn encode(batch: &RecordBatch, format: Payload) -> Result<Bytes, StreamError> {
    let mut buf = Vec::new();
    let failed = |e: arrow_schema::ArrowError| {
        StreamError::config(
            "format",
            format!("the sink's format cannot hold these columns: {e}"),
        )
    };
    match format {
        Payload::Arrow => {
            let mut w = arrow_ipc::writer::StreamWriter::try_new(&mut buf, &batch.schema())
                .map_err(failed)?;
            w.write(batch).map_err(failed)?;
            w.finish().map_err(failed)?;
        }
        Payload::Ndjson => {
            let mut w = arrow_json::LineDelimitedWriter::new(&mut buf);
            w.write(batch).map_err(failed)?;
            w.finish().map_err(failed)?;
        }
        Payload::Csv => {
            let mut w = arrow_csv::WriterBuilder::new()
                .with_header(true)
                .build(&mut buf);
            w.write(batch).map_err(failed)?;
        }
    }
    Ok(Bytes::from(buf))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, Int64Array, StringArray};

    use super::*;

    #[test]
    fn every_format_round_trips_and_bad_payloads_name_the_message() {
        let batch = RecordBatch::try_from_iter([
            ("id", Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef),
            (
                "s",
                Arc::new(StringArray::from(vec![Some("a"), None])) as ArrayRef,
            ),
        ])
        .unwrap();
        let schema = batch.schema();
        for format in [Payload::Arrow, Payload::Ndjson, Payload::Csv] {
            let bytes = encode(&batch, format).unwrap();
            let back = decode(&bytes, format, &schema, "m").unwrap();
            assert_eq!(back.num_rows(), 2, "{format:?}");
            assert_eq!(back.column(0), batch.column(0), "{format:?}");
        }
        let e = decode(
            b"{\"id\": \"x\"}\n",
            Payload::Ndjson,
            &schema,
            "stream s, sequence 9",
        )
        .unwrap_err();
        assert!(
            e.to_string().starts_with("message stream s, sequence 9:"),
            "{e}"
        );
        assert_eq!(quiver_fault::HasFault::fault(&e), quiver_fault::Fault::Data);
    }
}
