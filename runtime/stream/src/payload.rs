//! Message payloads ↔ record batches: Arrow IPC streams, NDJSON and CSV (with a header).
//!
//! One message becomes one batch (all its rows, in order); one batch becomes one message.
//! A source builds its batches with the declared schema, so every message of a stream has
//! the same columns whatever its format. An Arrow payload's columns are taken by name (by
//! position when its names differ) and converted to the declared types when no value can
//! change: Polars sends `string_view` and categoricals as `dictionary<uint32,
//! string_view>`, pyarrow `large_string` or `dictionary<int8, string>` for a pandas
//! category, and a declared `utf8` takes each of them ([`lossless`]).

use std::io::Cursor;

use arrow_array::{ArrayRef, RecordBatch};
use arrow_cast::{CastOptions, cast_with_options};
use arrow_schema::{DataType, Schema, SchemaRef, TimeUnit};
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
                .iter()
                .map(|b| conform(b, schema).map_err(bad))
                .collect::<Result<_, _>>()?
        }
    };
    arrow_select::concat::concat_batches(schema, &batches)
        .map_err(|e| StreamError::Internal(format!("joining the batches of {at}: {e}")))
}

/// `batch` (an Arrow payload's) as a batch of the declared `schema`: its columns by name
/// when it has every declared name, else by position when it has as many columns; each
/// converted to the declared type when [`lossless`] allows.
///
/// # Errors
/// What does not fit, naming the column.
pub fn conform(batch: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch, String> {
    let have = batch.schema();
    let shown = |s: &Schema| {
        s.fields()
            .iter()
            .map(|f| format!("{}: {}", f.name(), f.data_type()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let by_name = schema
        .fields()
        .iter()
        .all(|f| have.index_of(f.name()).is_ok());
    if !by_name && have.fields().len() != schema.fields().len() {
        let missing = schema
            .fields()
            .iter()
            .find(|f| have.index_of(f.name()).is_err())
            .map(|f| f.name().as_str())
            .unwrap_or_default();
        return Err(format!(
            "it has no column {missing:?} and not the declared number of columns: it has ({})",
            shown(&have)
        ));
    }
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
    for (i, want) in schema.fields().iter().enumerate() {
        let index = if by_name {
            have.index_of(want.name()).unwrap_or(i)
        } else {
            i
        };
        let column = batch.column(index);
        let from = column.data_type();
        let to = want.data_type();
        if from == to {
            columns.push(column.clone());
        } else if lossless(from, to) {
            let options = CastOptions {
                safe: false,
                ..CastOptions::default()
            };
            columns.push(cast_with_options(column, to, &options).map_err(|e| {
                format!(
                    "column {:?} ({from}) as the declared {to}: {e}",
                    want.name()
                )
            })?);
        } else {
            return Err(format!(
                "column {:?} is {from}, which does not convert to the declared {to} without \
                 changing values; declare it as {from}, or convert it before publishing",
                want.name()
            ));
        }
    }
    RecordBatch::try_new(schema.clone(), columns).map_err(|e| {
        format!(
            "its columns ({}) do not fit the declared schema: {e}",
            shown(&have)
        )
    })
}

/// Whether every value of type `from` converts to `to` unchanged (overflow, which cannot
/// happen for these, would be an error rather than a null): any of the three string layouts
/// to another, likewise binaries, a dictionary to (a lossless target of) its values,
/// integers and floats to wider ones, a zoned timestamp to a finer or equal unit in any
/// zone (an instant stays the instant; naive stays naive), lists whose items convert.
pub fn lossless(from: &DataType, to: &DataType) -> bool {
    use DataType::*;
    let string = |t: &DataType| matches!(t, Utf8 | LargeUtf8 | Utf8View);
    let binary = |t: &DataType| matches!(t, Binary | LargeBinary | BinaryView);
    let rank = |u: &TimeUnit| match u {
        TimeUnit::Second => 0,
        TimeUnit::Millisecond => 1,
        TimeUnit::Microsecond => 2,
        TimeUnit::Nanosecond => 3,
    };
    if from == to {
        return true;
    }
    match (from, to) {
        (Dictionary(_, values), _) => lossless(values, to),
        (a, b) if string(a) && string(b) => true,
        (a, b) if binary(a) && binary(b) => true,
        (Int8, Int16 | Int32 | Int64 | Float32 | Float64)
        | (Int16, Int32 | Int64 | Float32 | Float64)
        | (Int32, Int64 | Float64)
        | (UInt8, Int16 | Int32 | Int64 | UInt16 | UInt32 | UInt64 | Float32 | Float64)
        | (UInt16, Int32 | Int64 | UInt32 | UInt64 | Float32 | Float64)
        | (UInt32, Int64 | UInt64 | Float64)
        | (Float16, Float32 | Float64)
        | (Float32, Float64)
        | (Date32, Date64) => true,
        // Zone to zone keeps the instant; naive to zoned would have to guess one.
        (Timestamp(a, za), Timestamp(b, zb)) => rank(a) <= rank(b) && za.is_some() == zb.is_some(),
        (List(a) | LargeList(a), List(b) | LargeList(b)) => lossless(a.data_type(), b.data_type()),
        _ => false,
    }
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

/// A batch cut into message payloads, the rule of both stream sinks: at most `rows` rows a
/// message, and a message whose payload does not fit is cut in half (its rows rounded up)
/// until it does; the halved size then holds for the rest of the batch.
pub(crate) struct Chunks<'a> {
    batch: &'a RecordBatch,
    format: Payload,
    offset: usize,
    rows: usize,
}

impl<'a> Chunks<'a> {
    pub(crate) fn new(batch: &'a RecordBatch, rows: usize, format: Payload) -> Self {
        Self {
            batch,
            format,
            offset: 0,
            rows: rows.max(1),
        }
    }

    /// The next message: its row count and payload, or `None` when the batch is sent.
    /// `fits(len)` says whether a payload of `len` bytes may go as it is.
    ///
    /// # Errors
    /// [`encode`]'s; `too_big(len)` when a single row's payload of `len` bytes does not fit.
    pub(crate) fn next(
        &mut self,
        fits: impl Fn(usize) -> bool,
        too_big: impl FnOnce(usize) -> StreamError,
    ) -> Result<Option<(usize, Bytes)>, StreamError> {
        let left = self.batch.num_rows() - self.offset;
        if left == 0 {
            return Ok(None);
        }
        loop {
            let take = self.rows.min(left);
            let payload = encode(&self.batch.slice(self.offset, take), self.format)?;
            if fits(payload.len()) {
                self.offset += take;
                return Ok(Some((take, payload)));
            }
            if take == 1 {
                return Err(too_big(payload.len()));
            }
            self.rows = take.div_ceil(2);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::types::UInt32Type;
    use arrow_array::{
        Array, ArrayRef, DictionaryArray, Int32Array, Int64Array, LargeStringArray, StringArray,
        StringViewArray, TimestampMicrosecondArray, TimestampNanosecondArray,
    };
    use arrow_schema::Field;

    use super::*;

    /// `message_rows` cuts a batch; a payload over the limit halves its message (rounded up)
    /// and the halved size holds for the rest; a single row over the limit is the caller's
    /// error; every row is sent once, in order.
    #[test]
    fn chunks_cut_at_message_rows_and_halve_until_a_payload_fits() {
        let ids: Vec<i64> = (0..10).collect();
        let batch =
            RecordBatch::try_from_iter([("id", Arc::new(Int64Array::from(ids)) as ArrayRef)])
                .unwrap();
        let sizes = |rows: usize, limit: usize| -> Result<Vec<usize>, StreamError> {
            let mut chunks = Chunks::new(&batch, rows, Payload::Ndjson);
            let mut sent = Vec::new();
            let mut seen = Vec::new();
            while let Some((n, payload)) = chunks.next(
                |len| len <= limit,
                |len| StreamError::config("message_rows", format!("one row takes {len} bytes")),
            )? {
                assert!(payload.len() <= limit);
                let text = std::str::from_utf8(&payload).unwrap();
                assert_eq!(text.lines().count(), n, "{text}");
                seen.extend(text.lines().map(str::to_owned));
                sent.push(n);
            }
            let all: Vec<String> = (0..10).map(|i| format!("{{\"id\":{i}}}")).collect();
            assert_eq!(seen, all);
            Ok(sent)
        };
        // One NDJSON row of this batch is `{"id":N}\n`: 9 bytes.
        assert_eq!(sizes(4, 1000).unwrap(), vec![4, 4, 2]);
        assert_eq!(sizes(10, 40).unwrap(), vec![3, 3, 3, 1]); // 10 -> 5 (45 B) -> 3 (27 B)
        assert_eq!(sizes(0, 9).unwrap(), vec![1; 10]);
        let err = sizes(10, 8).unwrap_err().to_string();
        assert!(
            err.contains("message_rows") && err.contains("9 bytes"),
            "{err}"
        );
    }

    /// Arrow payloads as Polars and pyarrow write them: a string view, a categorical
    /// (`dictionary<uint32, string_view>`), a large string, int32, a UTC timestamp in µs,
    /// columns in another order, and an extra column; a declared `utf8`/`int64` schema takes
    /// them by name. A payload whose values would change is refused, naming the column.
    #[test]
    fn arrow_payloads_of_other_writers_convert_to_the_declared_types_when_nothing_changes() {
        let city: DictionaryArray<UInt32Type> = vec![Some("Paris"), None, Some("Paris")]
            .into_iter()
            .collect();
        let city = city.with_values(Arc::new(StringViewArray::from(vec!["Paris"])));
        let at = TimestampMicrosecondArray::from(vec![1, 2, 3]).with_timezone("Europe/Paris");
        let sent = RecordBatch::try_from_iter([
            (
                "name",
                Arc::new(StringViewArray::from(vec!["a", "b", "c"])) as ArrayRef,
            ),
            (
                "extra",
                Arc::new(Int32Array::from(vec![0, 0, 0])) as ArrayRef,
            ),
            ("city", Arc::new(city) as ArrayRef),
            ("id", Arc::new(Int32Array::from(vec![7, 8, 9])) as ArrayRef),
            (
                "note",
                Arc::new(LargeStringArray::from(vec!["x", "y\nz", ""])) as ArrayRef,
            ),
            ("at", Arc::new(at) as ArrayRef),
        ])
        .unwrap();
        let declared = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, true),
            Field::new("name", DataType::Utf8, true),
            Field::new("city", DataType::Utf8, true),
            Field::new("note", DataType::Utf8, true),
            Field::new(
                "at",
                DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into())),
                true,
            ),
        ]));
        let bytes = encode(&sent, Payload::Arrow).unwrap();
        let got = decode(&bytes, Payload::Arrow, &declared, "m").unwrap();
        assert_eq!(got.schema(), declared);
        assert_eq!(
            got.column(0).as_ref(),
            &Int64Array::from(vec![7, 8, 9]) as &dyn Array
        );
        assert_eq!(
            got.column(2).as_ref(),
            &StringArray::from(vec![Some("Paris"), None, Some("Paris")]) as &dyn Array
        );
        assert_eq!(
            got.column(3).as_ref(),
            &StringArray::from(vec!["x", "y\nz", ""]) as &dyn Array
        );
        assert_eq!(
            got.column(4).as_ref(),
            &TimestampNanosecondArray::from(vec![1000, 2000, 3000]).with_timezone("UTC")
                as &dyn Array
        );

        // Nanoseconds into a declared microsecond column would drop digits: refused.
        let coarse = Arc::new(Schema::new(vec![Field::new(
            "at",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        )]));
        let ns = RecordBatch::try_from_iter([(
            "at",
            Arc::new(TimestampNanosecondArray::from(vec![1]).with_timezone("UTC")) as ArrayRef,
        )])
        .unwrap();
        let e = decode(
            &encode(&ns, Payload::Arrow).unwrap(),
            Payload::Arrow,
            &coarse,
            "m",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("column \"at\"") && e.contains("declare it as"),
            "{e}"
        );
        // The same column in µs (Europe/Paris) is found by name among the others.
        assert!(decode(&bytes, Payload::Arrow, &coarse, "m").is_ok());
        // Neither the names nor the count fit.
        let two = Arc::new(Schema::new(vec![
            Field::new("nope", DataType::Int64, true),
            Field::new("id", DataType::Int64, true),
        ]));
        let e = decode(&bytes, Payload::Arrow, &two, "m")
            .unwrap_err()
            .to_string();
        assert!(e.contains("no column \"nope\""), "{e}");
    }

    #[test]
    fn only_conversions_that_keep_every_value_are_lossless() {
        use DataType::*;
        let utc = || Timestamp(TimeUnit::Second, Some("UTC".into()));
        for (from, to) in [
            (LargeUtf8, Utf8),
            (Utf8View, LargeUtf8),
            (Dictionary(Box::new(Int8), Box::new(Utf8)), Utf8View),
            (Int32, Int64),
            (UInt32, Int64),
            (Int16, Float32),
            (Int32, Float64),
            (
                utc(),
                Timestamp(TimeUnit::Millisecond, Some("Asia/Tokyo".into())),
            ),
        ] {
            assert!(lossless(&from, &to), "{from} → {to}");
        }
        for (from, to) in [
            (Int64, Int32),
            (Int32, Float32),
            (Int64, Float64),
            (UInt64, Int64),
            (Float64, Float32),
            (Utf8, Int64),
            (
                Timestamp(TimeUnit::Nanosecond, None),
                Timestamp(TimeUnit::Microsecond, None),
            ),
            (Timestamp(TimeUnit::Second, None), utc()),
            (Dictionary(Box::new(Int8), Box::new(Utf8)), Int64),
        ] {
            assert!(!lossless(&from, &to), "{from} → {to}");
        }
    }

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
