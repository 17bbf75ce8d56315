//! [`Partitioner`]: splits a sink's batches by the values of its `partition_by` columns into
//! hive-style directories (`year=2013/month=1`), dropping those columns from the files, as
//! Hive, Spark, Polars and DuckDB do.
//!
//! Values are written as arrow displays them (`2013`, `true`, `2013-01-01`), with the
//! characters Hive escapes percent-encoded; null and the empty string are
//! `__HIVE_DEFAULT_PARTITION__`. Only types whose text reads back unambiguously may
//! partition: integers, strings, booleans and dates.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::{RecordBatch, UInt32Array};
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use arrow_schema::{DataType, Schema, SchemaRef};
use percent_encoding::{AsciiSet, CONTROLS, percent_encode};

use crate::{HIVE_NULL, IoError};

/// What Hive escapes in partition directory names (its `FileUtils.escapePathName`).
const ESCAPED: &AsciiSet = &CONTROLS
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'\'')
    .add(b'*')
    .add(b'/')
    .add(b':')
    .add(b'=')
    .add(b'?')
    .add(b'\\')
    .add(b'{')
    .add(b'[')
    .add(b']')
    .add(b'^');

/// The partition columns of a sink and the columns its files keep.
#[derive(Debug)]
pub(crate) struct Partitioner {
    /// Indices of the partition columns in the input schema, in `partition_by` order.
    columns: Vec<usize>,
    /// Indices of the other columns: what the files hold.
    keep: Vec<usize>,
    /// The schema of the files.
    file_schema: SchemaRef,
}

impl Partitioner {
    /// Checks `partition_by` against `schema`.
    ///
    /// # Errors
    ///
    /// [`IoError::Config`] (key `partition_by`) for an unknown or repeated column, a type
    /// that cannot name a directory, or when no column would be left for the files.
    pub(crate) fn new(schema: &SchemaRef, partition_by: &[String]) -> Result<Partitioner, IoError> {
        let mut columns = Vec::with_capacity(partition_by.len());
        for name in partition_by {
            let index = schema.index_of(name).map_err(|_| {
                let have: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
                IoError::config(
                    "partition_by",
                    format!("there is no column {name:?} to partition by; the data has {have:?}"),
                )
            })?;
            if columns.contains(&index) {
                return Err(IoError::config(
                    "partition_by",
                    format!("{name:?} is listed twice"),
                ));
            }
            let data_type = schema.field(index).data_type();
            if !partitionable(data_type) {
                return Err(IoError::config(
                    "partition_by",
                    format!(
                        "column {name:?} is {data_type}, which cannot name a directory without \
                         ambiguity; partition by integers, strings, booleans or dates (derive \
                         one, e.g. a date from a timestamp, with a plugin)"
                    ),
                ));
            }
            columns.push(index);
        }
        let keep: Vec<usize> = (0..schema.fields().len())
            .filter(|i| !columns.contains(i))
            .collect();
        if keep.is_empty() {
            return Err(IoError::config(
                "partition_by",
                "every column is a partition column: the files would hold nothing",
            ));
        }
        let file_schema = Arc::new(Schema::new_with_metadata(
            keep.iter()
                .map(|&i| schema.field(i).clone())
                .collect::<Vec<_>>(),
            schema.metadata().clone(),
        ));
        Ok(Partitioner {
            columns,
            keep,
            file_schema,
        })
    }

    /// The schema of the files: the input's without the partition columns.
    pub(crate) fn file_schema(&self) -> &SchemaRef {
        &self.file_schema
    }

    /// `batch` split by partition: each directory (`k=v/k2=v2`, in order of first row) with
    /// its rows, without the partition columns.
    pub(crate) fn split(&self, batch: &RecordBatch) -> Result<Vec<(String, RecordBatch)>, IoError> {
        let failed = |e: arrow_schema::ArrowError| IoError::internal(format!("partitioning: {e}"));
        let options = FormatOptions::default();
        let formatters = self
            .columns
            .iter()
            .map(|&i| ArrayFormatter::try_new(batch.column(i).as_ref(), &options))
            .collect::<Result<Vec<_>, _>>()
            .map_err(failed)?;
        let schema = batch.schema();
        let names: Vec<&str> = self
            .columns
            .iter()
            .map(|&i| schema.field(i).name().as_str())
            .collect();
        let mut order: Vec<String> = Vec::new();
        let mut rows: HashMap<String, Vec<u32>> = HashMap::new();
        for row in 0..batch.num_rows() {
            let mut dir = String::new();
            for ((&column, formatter), name) in self.columns.iter().zip(&formatters).zip(&names) {
                if !dir.is_empty() {
                    dir.push('/');
                }
                escape_into(&mut dir, name);
                dir.push('=');
                let value = formatter.value(row).to_string();
                if batch.column(column).is_null(row) || value.is_empty() {
                    dir.push_str(HIVE_NULL);
                } else {
                    escape_into(&mut dir, &value);
                }
            }
            let row = u32::try_from(row).map_err(|_| IoError::internal("a batch of 4G rows"))?;
            match rows.get_mut(&dir) {
                Some(list) => list.push(row),
                None => {
                    order.push(dir.clone());
                    rows.insert(dir, vec![row]);
                }
            }
        }
        let kept = batch.project(&self.keep).map_err(failed)?;
        let kept = RecordBatch::try_new(Arc::clone(&self.file_schema), kept.columns().to_vec())
            .map_err(failed)?;
        if order.len() == 1 {
            return Ok(order.into_iter().map(|dir| (dir, kept.clone())).collect());
        }
        order
            .into_iter()
            .map(|dir| {
                let indices = UInt32Array::from(rows.remove(&dir).unwrap_or_default());
                let part =
                    arrow_select::take::take_record_batch(&kept, &indices).map_err(failed)?;
                Ok((dir, part))
            })
            .collect()
    }
}

use arrow_array::Array as _;

/// Appends `text` with the ASCII characters Hive escapes percent-encoded. Other characters,
/// non-ASCII ones included, stay as they are (`city=São Paulo`), as Hive and Spark write them.
fn escape_into(out: &mut String, text: &str) {
    let mut buf = [0u8; 4];
    for c in text.chars() {
        if c.is_ascii() {
            out.extend(percent_encode(c.encode_utf8(&mut buf).as_bytes(), ESCAPED));
        } else {
            out.push(c);
        }
    }
}

fn partitionable(data_type: &DataType) -> bool {
    data_type.is_integer()
        || matches!(
            data_type,
            DataType::Utf8
                | DataType::LargeUtf8
                | DataType::Utf8View
                | DataType::Boolean
                | DataType::Date32
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Date32Array, Int64Array, StringArray};
    use arrow_schema::Field;
    use quiver_fault::{Fault, HasFault};

    #[test]
    fn rows_go_to_hive_directories_without_their_partition_columns() {
        let schema: SchemaRef = Arc::new(Schema::new(vec![
            Field::new("year", DataType::Int64, true),
            Field::new("city", DataType::Utf8, true),
            Field::new("day", DataType::Date32, true),
            Field::new("n", DataType::Int64, true),
        ]));
        let batch = RecordBatch::try_new(
            Arc::clone(&schema),
            vec![
                Arc::new(Int64Array::from(vec![
                    Some(2013),
                    Some(2014),
                    Some(2013),
                    None,
                ])),
                Arc::new(StringArray::from(vec![
                    Some("a/b"),
                    Some("x"),
                    Some("a/b"),
                    Some(""),
                ])),
                Arc::new(Date32Array::from(vec![0, 1, 0, 2])),
                Arc::new(Int64Array::from(vec![1, 2, 3, 4])),
            ],
        )
        .expect("batch");
        let partitioner =
            Partitioner::new(&schema, &["year".into(), "city".into()]).expect("partitioner");
        let parts = partitioner.split(&batch).expect("split");
        let dirs: Vec<&str> = parts.iter().map(|(d, _)| d.as_str()).collect();
        assert_eq!(
            dirs,
            [
                "year=2013/city=a%2Fb",
                "year=2014/city=x",
                "year=__HIVE_DEFAULT_PARTITION__/city=__HIVE_DEFAULT_PARTITION__"
            ]
        );
        assert_eq!(parts[0].1.num_columns(), 2);
        assert_eq!(parts[0].1.num_rows(), 2);
        let by_day = Partitioner::new(&schema, &["day".into()]).expect("dates");
        assert_eq!(by_day.split(&batch).expect("split")[0].0, "day=1970-01-01");
    }

    #[test]
    fn bad_partition_columns_are_config_errors() {
        let schema: SchemaRef = Arc::new(Schema::new(vec![
            Field::new("x", DataType::Float64, true),
            Field::new("n", DataType::Int64, true),
        ]));
        for (columns, needle) in [
            (vec!["nope"], "no column"),
            (vec!["x"], "Float64"),
            (vec!["n", "n"], "twice"),
        ] {
            let columns: Vec<String> = columns.into_iter().map(String::from).collect();
            let error = Partitioner::new(&schema, &columns).expect_err("refused");
            assert!(error.to_string().contains(needle), "{error}");
            assert_eq!(error.fault(), Fault::Config);
        }
    }
}
