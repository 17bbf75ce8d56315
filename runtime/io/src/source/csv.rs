//! CSV inputs: streamed through arrow-csv's push decoder. The schema is explicit
//! (`csv.schema`) or inferred from the first records of the first file (or all of it); every
//! later file of a glob must have the same header and is read with that schema. Errors keep
//! arrow-csv's line numbers and name the column.
//!
//! Null markers (`null_values`) for every column go to arrow-csv as one regex. Markers per
//! column cannot (arrow-csv takes one regex per file): those columns are decoded as text,
//! their markers turned into nulls, and the rest cast to the column's type, failing on the
//! first value that does not convert with its line. Inference runs once per distinct set of
//! markers, each column taking the type inferred with its own markers.

use std::collections::BTreeMap;
use std::io::Cursor;
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, RecordBatch, StringArray};
use arrow_cast::{CastOptions, cast_with_options};
use arrow_csv::reader::{Decoder, Format as CsvFormat};
use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef};
use bytes::{Buf, Bytes};
use regex::Regex;

use super::bytes::{self as raw, Decode};
use super::input::{Input, Reader};
use super::{
    CsvOptions, First, INFER_RECORDS, InferRows, NullValues, Opened, Settings, project_schema,
    projection, zones,
};
use crate::IoError;
use crate::schema::schema_of;

/// The CSV options of a source, checked and compiled once.
pub(crate) struct CsvSettings {
    options: CsvOptions,
    /// arrow-csv's format: header, delimiter, quote, comment, and the null regex of the
    /// markers for every column.
    format: CsvFormat,
    /// Markers per column (`null_values = { col = [...] }`).
    per_column: BTreeMap<String, Vec<String>>,
}

impl CsvSettings {
    /// Checks `options`.
    ///
    /// # Errors
    ///
    /// [`IoError::Config`] for a delimiter, quote or comment that is not one ASCII
    /// character.
    pub(crate) fn new(options: &CsvOptions) -> Result<CsvSettings, IoError> {
        let byte = |key: &str, c: char| {
            u8::try_from(c)
                .ok()
                .filter(|b| b.is_ascii() && *b != b'\n' && *b != b'\r')
                .ok_or_else(|| {
                    IoError::config(
                        key,
                        format!(
                            "{c:?} is not usable: use one ASCII character other than a newline"
                        ),
                    )
                })
        };
        let mut format = CsvFormat::default()
            .with_header(options.header)
            .with_delimiter(byte("csv.delimiter", options.delimiter)?)
            .with_quote(byte("csv.quote", options.quote)?);
        if let Some(comment) = options.comment {
            format = format.with_comment(byte("csv.comment", comment)?);
        }
        let mut per_column = BTreeMap::new();
        match &options.null_values {
            None => {}
            Some(NullValues::One(one)) => {
                format = format.with_null_regex(null_regex(std::slice::from_ref(one))?)
            }
            Some(NullValues::Many(many)) => format = format.with_null_regex(null_regex(many)?),
            Some(NullValues::PerColumn(columns)) => {
                per_column = columns
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_vec()))
                    .collect();
            }
        }
        Ok(CsvSettings {
            options: options.clone(),
            format,
            per_column,
        })
    }
}

/// The regex that matches the empty field and each of `markers`, exactly.
fn null_regex(markers: &[String]) -> Result<Regex, IoError> {
    let alternatives: Vec<String> = markers.iter().map(|m| regex::escape(m)).collect();
    Regex::new(&format!("^(?:|{})$", alternatives.join("|")))
        .map_err(|error| IoError::config("csv.null_values", error))
}

/// Opens `input` as CSV; `first` is the first input of the same source, if this is not it.
pub(crate) async fn open(
    input: &Input,
    settings: &Settings,
    first: Option<&First>,
) -> Result<Opened, IoError> {
    let csv = &settings.csv;
    let options = &csv.options;
    let format = csv.format.clone();
    let skip = options.skip_rows;
    let bytes = raw::skip_lines(raw::open(input).await?, skip);
    let sample = match options.infer_rows {
        InferRows::Rows(rows) => rows,
        InferRows::All => INFER_RECORDS,
    };
    // One line more than the records inferred from: the header.
    let peeked = raw::peek_lines(bytes, sample.saturating_add(1)).await?;
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
            Arc::clone(&first.file_schema)
        }
        (None, Some(columns)) => schema_of(columns),
        (None, None) => {
            let inferred = infer(input, csv, peeked.head()).await?;
            let zoned = zones::zone_csv(&inferred, &format, peeked.head(), &csv.per_column)?;
            Arc::new(zoned)
        }
    };
    if let Some(header) = &header
        && !header.is_empty()
        && header.len() != schema.fields().len()
    {
        return Err(IoError::BadData {
            location: input.name.clone(),
            line: Some(1 + skip as u64),
            column: None,
            message: format!(
                "the header has {} columns but the schema has {}",
                header.len(),
                schema.fields().len()
            ),
        });
    }
    for name in csv.per_column.keys() {
        if schema.index_of(name).is_err() {
            return Err(IoError::config(
                "csv.null_values",
                format!("{} has no column {name:?}", input.name),
            ));
        }
    }

    let indices = projection(&schema, settings.columns.as_deref(), &input.name)?;
    let projected = project_schema(&schema, &indices)?;
    // Columns with their own markers are decoded as text and cast afterwards.
    let decoded: SchemaRef = Arc::new(Schema::new(
        schema
            .fields()
            .iter()
            .map(|f| {
                if csv.per_column.contains_key(f.name()) {
                    Field::new(f.name(), DataType::Utf8, true)
                } else {
                    f.as_ref().clone()
                }
            })
            .collect::<Vec<_>>(),
    ));
    let casts: Vec<(usize, Vec<String>)> = projected
        .fields()
        .iter()
        .enumerate()
        .filter_map(|(i, f)| csv.per_column.get(f.name()).map(|m| (i, m.clone())))
        .collect();
    let decoder = arrow_csv::ReaderBuilder::new(Arc::clone(&decoded))
        .with_format(format)
        .with_batch_size(settings.batch_rows)
        .with_projection(indices)
        .build_decoder();
    let decoder = CsvDecode {
        decoder,
        schema: Arc::clone(&projected),
        casts,
        file_schema: decoded,
        done: 0,
        skip: skip as u64,
        first_line: skip as u64 + u64::from(options.header),
        name: input.name.clone(),
    };
    Ok(Opened {
        file_schema: schema,
        schema: projected,
        header,
        batches: raw::decode(peeked.into_stream(), decoder, input.name.clone()),
    })
}

/// The inferred schema of `input`: from `head` (the peeked first lines) or, with
/// `infer_rows = "all"`, from the whole input read once more. With markers per column,
/// once per distinct set of markers.
async fn infer(input: &Input, csv: &CsvSettings, head: &[u8]) -> Result<Schema, IoError> {
    // (the format to infer with, the columns that take their type from it; None: the rest)
    let mut groups: Vec<(CsvFormat, Option<Vec<String>>)> = Vec::new();
    let mut sets: BTreeMap<&Vec<String>, Vec<String>> = BTreeMap::new();
    for (column, markers) in &csv.per_column {
        sets.entry(markers).or_default().push(column.clone());
    }
    for (markers, columns) in sets {
        groups.push((
            csv.format.clone().with_null_regex(null_regex(markers)?),
            Some(columns),
        ));
    }
    groups.push((csv.format.clone(), None));

    let mut schemas = Vec::with_capacity(groups.len());
    for (format, _) in &groups {
        let schema = match csv.options.infer_rows {
            InferRows::Rows(rows) => format
                .infer_schema(Cursor::new(head), Some(rows))
                .map(|(schema, _)| schema)
                .map_err(|error| locate(&input.name, error, None, csv.options.skip_rows as u64))?,
            InferRows::All => {
                if matches!(input.reader, Reader::Stdin) {
                    return Err(IoError::config(
                        "csv.infer_rows",
                        "\"all\" reads the input twice, which stdin cannot do; give a number \
                         of records or csv.schema",
                    ));
                }
                let bytes = raw::skip_lines(raw::open(input).await?, csv.options.skip_rows);
                let format = format.clone();
                let name = input.name.clone();
                let skip = csv.options.skip_rows as u64;
                raw::read_blocking(bytes, &input.name, move |reader| {
                    format
                        .infer_schema(reader, None)
                        .map(|(schema, _)| schema)
                        .map_err(|error| locate(&name, error, None, skip))
                })
                .await?
            }
        };
        schemas.push(schema);
    }
    let Some(rest) = schemas.last() else {
        return Err(IoError::internal("CSV inference ran no pass"));
    };
    let fields: Vec<Field> = rest
        .fields()
        .iter()
        .map(|field| {
            groups
                .iter()
                .zip(&schemas)
                .find(|((_, columns), _)| {
                    columns
                        .as_ref()
                        .is_some_and(|columns| columns.contains(field.name()))
                })
                .and_then(|(_, schema)| schema.field_with_name(field.name()).ok())
                .unwrap_or(field)
                .clone()
        })
        .collect();
    Ok(Schema::new(fields))
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

/// arrow-csv's push decoder, with errors located, and the casts of columns with their own
/// null markers.
struct CsvDecode {
    decoder: Decoder,
    /// The schema of the batches returned.
    schema: SchemaRef,
    /// Columns decoded as text: their index and null markers.
    casts: Vec<(usize, Vec<String>)>,
    /// The decoded file schema, whose indices arrow-csv's errors use.
    file_schema: SchemaRef,
    /// Records returned so far.
    done: u64,
    /// Lines skipped before arrow-csv sees the input.
    skip: u64,
    /// Lines before the first record (skipped lines and the header).
    first_line: u64,
    name: String,
}

impl CsvDecode {
    fn flush(&mut self) -> Result<Option<RecordBatch>, IoError> {
        let batch = self
            .decoder
            .flush()
            .map_err(|error| locate(&self.name, error, Some(&self.file_schema), self.skip))?;
        let Some(batch) = batch else {
            return Ok(None);
        };
        let batch = if self.casts.is_empty() {
            batch
        } else {
            self.cast(batch)?
        };
        self.done += batch.num_rows() as u64;
        Ok(Some(batch))
    }

    /// Turns the text columns' markers into nulls and casts them to their types.
    fn cast(&self, batch: RecordBatch) -> Result<RecordBatch, IoError> {
        let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
        for (index, markers) in &self.casts {
            let field = self.schema.field(*index);
            let Some(text) = columns[*index].as_any().downcast_ref::<StringArray>() else {
                return Err(IoError::internal(
                    "a column with null markers was not read as text",
                ));
            };
            let text: StringArray = text
                .iter()
                .map(|v| v.filter(|v| !markers.iter().any(|m| m == v)))
                .collect();
            let strict = CastOptions {
                safe: false,
                ..CastOptions::default()
            };
            columns[*index] = match cast_with_options(&text, field.data_type(), &strict) {
                Ok(array) => array,
                Err(error) => {
                    let lenient =
                        cast_with_options(&text, field.data_type(), &CastOptions::default());
                    let row = lenient
                        .ok()
                        .and_then(|cast| {
                            (0..text.len()).find(|&i| text.is_valid(i) && cast.is_null(i))
                        })
                        .unwrap_or(0);
                    let line = self.first_line + self.done + row as u64 + 1;
                    return Err(IoError::BadData {
                        location: self.name.clone(),
                        line: Some(line),
                        column: Some(field.name().clone()),
                        message: format!(
                            "{:?} is neither a {} nor one of its null_values {markers:?}: {error}",
                            text.value(row),
                            field.data_type()
                        ),
                    });
                }
            };
        }
        RecordBatch::try_new(Arc::clone(&self.schema), columns)
            .map_err(|error| IoError::internal(format!("a cast batch does not fit: {error}")))
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
            .map_err(|error| locate(&self.name, error, Some(&self.file_schema), self.skip))?;
        buf.advance(used);
        if self.decoder.capacity() == 0 {
            return self.flush();
        }
        Ok(None)
    }

    fn finish(&mut self) -> Result<Option<RecordBatch>, IoError> {
        self.decoder
            .decode(&[])
            .map_err(|error| locate(&self.name, error, Some(&self.file_schema), self.skip))?;
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
fn locate(name: &str, error: ArrowError, schema: Option<&SchemaRef>, skipped: u64) -> IoError {
    let mut message = error.to_string();
    let index =
        number_after(&message, "for column ").or_else(|| number_after(&message, "parsing column "));
    let mut line = number_after(&message, "for line ");
    if let Some(at) = line
        && skipped > 0
    {
        message = message.replacen(
            &format!("for line {at}"),
            &format!("for line {}", at + skipped),
            1,
        );
        line = Some(at + skipped);
    }
    let mut column = None;
    if let Some(at) = number_after(&message, " at line ") {
        match index {
            Some(index) => {
                let one_based = at + 1 + skipped;
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
            None => {
                if line.is_none() && skipped > 0 {
                    message = message.replacen(
                        &format!(" at line {at}"),
                        &format!(" at line {}", at + skipped),
                        1,
                    );
                }
                line = line.or(Some(at + skipped));
            }
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
        } = locate("f.csv", error, Some(&schema), 0)
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
        let IoError::BadData { line, message, .. } = locate("f.csv", error, None, 0) else {
            panic!("not bad data");
        };
        assert_eq!(line, Some(3));
        assert!(message.ends_with("at line 3"), "{message}");
    }

    #[test]
    fn field_count_errors_keep_their_line() {
        let error =
            ArrowError::CsvError("incorrect number of fields for line 4, expected 2 got 3".into());
        let IoError::BadData { line, .. } = locate("f.csv", error, None, 0) else {
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
