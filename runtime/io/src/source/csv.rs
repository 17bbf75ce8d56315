//! CSV inputs: streamed through arrow-csv's push decoder. The schema is explicit
//! (`csv.schema`) or inferred from the first records of the first file; every later file of
//! a glob must have the same header and is read with that schema. Errors keep arrow-csv's
//! line numbers and name the column.

use std::io::Cursor;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_csv::reader::{Decoder, Format as CsvFormat};
use arrow_schema::{ArrowError, SchemaRef};
use bytes::{Buf, Bytes};

use super::bytes::{self as raw, Decode};
use super::input::Input;
use super::{CsvOptions, First, INFER_RECORDS, Opened, Settings};
use crate::IoError;
use crate::schema::schema_of;

/// Opens `input` as CSV; `first` is the first input of the same source, if this is not it.
pub(crate) async fn open(
    input: &Input,
    settings: &Settings,
    first: Option<&First>,
) -> Result<Opened, IoError> {
    let options = &settings.csv;
    let format = csv_format(options)?;
    let bytes = raw::open(input).await?;
    // One line more than the records inferred from: the header.
    let peeked = raw::peek_lines(bytes, INFER_RECORDS + 1).await?;
    let bad = |error: ArrowError| IoError::bad_data(&input.name, error);

    let header = if options.header {
        let (names, _) = format
            .infer_schema(Cursor::new(peeked.head()), Some(0))
            .map_err(bad)?;
        Some(
            names
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .collect::<Vec<_>>(),
        )
    } else {
        None
    };

    let schema: SchemaRef = match (first, &options.schema) {
        (Some(first), _) => {
            if let (Some(expected), Some(actual)) = (&first.header, &header) {
                check_header(expected, actual, &first.name, &input.name)?;
            }
            Arc::clone(&first.schema)
        }
        (None, Some(columns)) => schema_of(columns),
        (None, None) => {
            let (schema, _) = format
                .infer_schema(Cursor::new(peeked.head()), Some(INFER_RECORDS))
                .map_err(|error| locate(&input.name, error, None))?;
            Arc::new(schema)
        }
    };
    if let Some(header) = &header
        && !header.is_empty()
        && header.len() != schema.fields().len()
    {
        return Err(IoError::BadData {
            location: input.name.clone(),
            line: Some(1),
            column: None,
            message: format!(
                "the header has {} columns but the schema has {}",
                header.len(),
                schema.fields().len()
            ),
        });
    }

    let decoder = arrow_csv::ReaderBuilder::new(Arc::clone(&schema))
        .with_format(format)
        .with_batch_size(settings.batch_rows)
        .build_decoder();
    let decoder = CsvDecode {
        decoder,
        schema: Arc::clone(&schema),
        name: input.name.clone(),
    };
    Ok(Opened {
        schema,
        header,
        batches: raw::decode(peeked.into_stream(), decoder, input.name.clone()),
    })
}

/// arrow-csv's format for `options`.
///
/// # Errors
///
/// [`IoError::Config`] for a delimiter or quote that is not one ASCII character.
pub(crate) fn csv_format(options: &CsvOptions) -> Result<CsvFormat, IoError> {
    let byte = |key: &str, c: char| {
        u8::try_from(c)
            .ok()
            .filter(|b| b.is_ascii() && *b != b'\n' && *b != b'\r')
            .ok_or_else(|| {
                IoError::config(
                    key,
                    format!("{c:?} is not usable: use one ASCII character other than a newline"),
                )
            })
    };
    Ok(CsvFormat::default()
        .with_header(options.header)
        .with_delimiter(byte("csv.delimiter", options.delimiter)?)
        .with_quote(byte("csv.quote", options.quote)?))
}

/// Every file of a glob must have the first file's header.
fn check_header(
    expected: &[String],
    actual: &[String],
    first: &str,
    this: &str,
) -> Result<(), IoError> {
    let differs = (0..expected.len().max(actual.len()))
        .find(|&i| expected.get(i) != actual.get(i))
        .map(|i| {
            let column = expected
                .get(i)
                .or(actual.get(i))
                .cloned()
                .unwrap_or_default();
            let text = match (expected.get(i), actual.get(i)) {
                (Some(want), Some(have)) => {
                    format!("column {} is {have:?} instead of {want:?}", i + 1)
                }
                (Some(want), None) => format!("column {} {want:?} is missing", i + 1),
                (None, _) => format!("extra column {} {column:?}", i + 1),
            };
            (column, text)
        });
    match differs {
        None => Ok(()),
        Some((column, text)) => Err(IoError::BadData {
            location: this.to_string(),
            line: Some(1),
            column: Some(column),
            message: format!("the schema differs from {first}'s: {text}"),
        }),
    }
}

/// arrow-csv's push decoder, with errors located.
struct CsvDecode {
    decoder: Decoder,
    schema: SchemaRef,
    name: String,
}

impl CsvDecode {
    fn flush(&mut self) -> Result<Option<RecordBatch>, IoError> {
        self.decoder
            .flush()
            .map_err(|error| locate(&self.name, error, Some(&self.schema)))
    }
}

impl Decode for CsvDecode {
    fn push(&mut self, buf: &mut Bytes) -> Result<Option<RecordBatch>, IoError> {
        if buf.is_empty() {
            // An empty slice tells arrow-csv the input ended: only `finish` may send it.
            return Ok(None);
        }
        let used = self
            .decoder
            .decode(buf)
            .map_err(|error| locate(&self.name, error, Some(&self.schema)))?;
        buf.advance(used);
        if self.decoder.capacity() == 0 {
            return self.flush();
        }
        Ok(None)
    }

    fn finish(&mut self) -> Result<Option<RecordBatch>, IoError> {
        self.decoder
            .decode(&[])
            .map_err(|error| locate(&self.name, error, Some(&self.schema)))?;
        self.flush()
    }
}

/// A [`IoError::BadData`] for an arrow-csv error, with the line and column its message gives.
///
/// arrow-csv reports positions only inside its messages. Field-count and UTF-8 errors of its
/// decoder ("for line N") and the csv crate's errors during inference ("at line N") count
/// lines from 1 including the header; value-parse errors ("... for column C at line N")
/// count from 0, so they are shifted by one here, in the message too, to give the line an
/// editor shows (for records without embedded newlines).
fn locate(name: &str, error: ArrowError, schema: Option<&SchemaRef>) -> IoError {
    let mut message = error.to_string();
    let index =
        number_after(&message, "for column ").or_else(|| number_after(&message, "parsing column "));
    let mut line = number_after(&message, "for line ");
    let mut column = None;
    if let Some(at) = number_after(&message, " at line ") {
        match index {
            Some(index) => {
                let one_based = at + 1;
                message = message.replacen(
                    &format!(" at line {at}"),
                    &format!(" at line {one_based}"),
                    1,
                );
                line = Some(one_based);
                column = schema.and_then(|schema| {
                    let field = schema.fields().get(usize::try_from(index).ok()?)?;
                    Some(field.name().clone())
                });
            }
            None => line = line.or(Some(at)),
        }
    }
    IoError::BadData {
        location: name.to_string(),
        line,
        column,
        message,
    }
}

/// The decimal number right after the first `marker` in `text`.
fn number_after(text: &str, marker: &str) -> Option<u64> {
    let start = text.find(marker)? + marker.len();
    let digits: String = text[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_schema::{DataType, Field, Schema};

    #[test]
    fn parse_errors_are_shifted_to_file_lines() {
        let schema: SchemaRef = Arc::new(Schema::new(vec![
            Field::new("a", DataType::Int64, true),
            Field::new("b", DataType::Int64, true),
        ]));
        let error = ArrowError::ParseError(
            "Error while parsing value 'x' as type 'Int64' for column 1 at line 2. Row data: '[1,x]'"
                .into(),
        );
        let IoError::BadData {
            line,
            column,
            message,
            ..
        } = locate("f.csv", error, Some(&schema))
        else {
            panic!("not bad data");
        };
        assert_eq!(line, Some(3));
        assert_eq!(column.as_deref(), Some("b"));
        assert!(message.contains("at line 3."), "{message}");
    }

    #[test]
    fn inference_errors_keep_their_line() {
        let error = ArrowError::CsvError(
            "Encountered unequal lengths between records on CSV file. Expected 2 records, \
             found 3 records at line 3"
                .into(),
        );
        let IoError::BadData { line, message, .. } = locate("f.csv", error, None) else {
            panic!("not bad data");
        };
        assert_eq!(line, Some(3));
        assert!(message.ends_with("at line 3"), "{message}");
    }

    #[test]
    fn field_count_errors_keep_their_line() {
        let error =
            ArrowError::CsvError("incorrect number of fields for line 4, expected 2 got 3".into());
        let IoError::BadData { line, .. } = locate("f.csv", error, None) else {
            panic!("not bad data");
        };
        assert_eq!(line, Some(4));
    }

    #[test]
    fn headers_must_match_the_first_file() {
        let a = vec!["x".to_string(), "y".to_string()];
        let b = vec!["x".to_string(), "z".to_string()];
        let error = check_header(&a, &b, "one.csv", "two.csv").expect_err("differs");
        let text = error.to_string();
        assert!(
            text.contains("two.csv") && text.contains("one.csv") && text.contains("\"y\""),
            "{text}"
        );
        assert!(check_header(&a, &a, "one.csv", "two.csv").is_ok());
    }
}
