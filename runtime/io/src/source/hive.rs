//! Hive partition columns of a source (`year=2013/month=1/part-0.parquet`) and the final
//! shape of its batches: the columns decoded from each file, then the partition columns
//! (constant per file), in the order `columns` asks for.
//!
//! Partition values come from the directory names below the listed directory (the
//! directory itself, or a glob's literal prefix), percent-decoded;
//! `__HIVE_DEFAULT_PARTITION__` is null. Types are the `hive_schema`'s, else inferred from
//! every listed path before any file is read: int64 when every value is an integer, date32
//! when every value is a date, else utf8.

use std::sync::Arc;

use arrow_array::{Array, ArrayRef, RecordBatch, StringArray, UInt32Array};
use arrow_cast::{CastOptions, cast_with_options};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use futures::{StreamExt, TryStreamExt};

use super::input::Input;
use super::{BatchStream, project_schema};
use crate::IoError;
use crate::schema::ColumnSpec;

/// The partition columns of a source.
pub(crate) struct Hive {
    /// One field per partition column, in path order.
    fields: Vec<Field>,
}

impl Hive {
    /// The partition columns of `inputs`, typed by `explicit` or inferred.
    ///
    /// # Errors
    ///
    /// [`IoError::BadData`] when two inputs have different partition keys or a value does
    /// not have its explicit type; [`IoError::Config`] when `explicit` names a column that is
    /// not a partition key.
    pub(crate) fn of(inputs: &[&Input], explicit: Option<&[ColumnSpec]>) -> Result<Hive, IoError> {
        let Some(first) = inputs.first() else {
            return Ok(Hive { fields: Vec::new() });
        };
        let keys: Vec<&str> = first.partitions.iter().map(|(k, _)| k.as_str()).collect();
        for input in inputs {
            let these: Vec<&str> = input.partitions.iter().map(|(k, _)| k.as_str()).collect();
            if these != keys {
                return Err(IoError::BadData {
                    location: input.name.clone(),
                    line: None,
                    column: None,
                    message: format!(
                        "its partition directories are {these:?} but {}'s are {keys:?}; every \
                         file of a partitioned source needs the same keys in the same order",
                        first.name
                    ),
                });
            }
        }
        if let Some(explicit) = explicit {
            for column in explicit {
                if !keys.contains(&column.name.as_str()) {
                    return Err(IoError::config(
                        "hive_schema",
                        format!(
                            "{:?} is not a partition key of the inputs (they have {keys:?})",
                            column.name
                        ),
                    ));
                }
            }
        }
        let mut fields = Vec::with_capacity(keys.len());
        for (index, key) in keys.iter().enumerate() {
            let values: StringArray = inputs
                .iter()
                .map(|input| input.partitions[index].1.as_deref())
                .collect();
            let declared = explicit
                .and_then(|columns| columns.iter().find(|c| c.name == *key))
                .map(|c| c.data_type.0.clone());
            let data_type = match declared {
                Some(data_type) => {
                    // Every value must have the declared type.
                    if let Err(error) = strict_cast(&values, &data_type) {
                        let bad = (0..values.len())
                            .find(|&i| strict_cast(&values.slice(i, 1), &data_type).is_err())
                            .unwrap_or(0);
                        return Err(IoError::BadData {
                            location: inputs[bad].name.clone(),
                            line: None,
                            column: Some((*key).to_string()),
                            message: format!("the partition value is not a {data_type}: {error}"),
                        });
                    }
                    data_type
                }
                None => infer(&values),
            };
            fields.push(Field::new(*key, data_type, true));
        }
        Ok(Hive { fields })
    }

    /// Whether `name` is a partition column.
    pub(crate) fn has(&self, name: &str) -> bool {
        self.fields.iter().any(|f| f.name() == name)
    }

    /// A partition column may not also be a column of the files.
    pub(crate) fn check_disjoint(&self, file_schema: &Schema, name: &str) -> Result<(), IoError> {
        match self
            .fields
            .iter()
            .find(|f| file_schema.index_of(f.name()).is_ok())
        {
            None => Ok(()),
            Some(field) => Err(IoError::BadData {
                location: name.to_string(),
                line: None,
                column: Some(field.name().clone()),
                message: "the column is both in the file and a partition directory name".into(),
            }),
        }
    }

    /// The shape of the source's batches: `decoded` (the projected file schema) then the
    /// partition columns, in the order of `columns` when given.
    ///
    /// # Errors
    ///
    /// [`IoError::Config`] (key `columns`) for a column that is neither.
    pub(crate) fn shape(
        &self,
        decoded: &SchemaRef,
        columns: Option<&[String]>,
    ) -> Result<Shape, IoError> {
        let combined: SchemaRef = Arc::new(Schema::new(
            decoded
                .fields()
                .iter()
                .map(|f| f.as_ref().clone())
                .chain(self.fields.iter().cloned())
                .collect::<Vec<_>>(),
        ));
        let order: Vec<usize> = match columns {
            None => (0..combined.fields().len()).collect(),
            Some(columns) => columns
                .iter()
                .map(|name| {
                    combined.index_of(name).map_err(|_| {
                        IoError::config("columns", format!("the source has no column {name:?}"))
                    })
                })
                .collect::<Result<_, _>>()?,
        };
        let identity =
            self.fields.is_empty() && order.iter().enumerate().all(|(i, &index)| i == index);
        let schema = if identity {
            Arc::clone(decoded)
        } else {
            // The decoded schema's metadata (Parquet's, say) is kept.
            let projected = project_schema(&combined, &order)?;
            Arc::new(Schema::new_with_metadata(
                projected.fields().clone(),
                decoded.metadata().clone(),
            ))
        };
        Ok(Shape {
            partitions: self.fields.clone(),
            order,
            identity,
            schema,
        })
    }
}

/// Turns decoded batches into the source's batches.
pub(crate) struct Shape {
    partitions: Vec<Field>,
    /// Indices into (decoded columns ++ partition columns), in output order.
    order: Vec<usize>,
    /// No partition column and no reordering: batches pass as they are.
    identity: bool,
    schema: SchemaRef,
}

impl Shape {
    /// The schema of every batch.
    pub(crate) fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// The batches of `input`, shaped.
    pub(crate) fn apply(self: &Arc<Self>, batches: BatchStream, input: &Input) -> BatchStream {
        if self.identity {
            return batches;
        }
        let constants: Result<Vec<ArrayRef>, IoError> = self
            .partitions
            .iter()
            .zip(&input.partitions)
            .map(|(field, (_, value))| {
                let one = StringArray::from(vec![value.as_deref()]);
                strict_cast(&one, field.data_type()).map_err(|error| IoError::BadData {
                    location: input.name.clone(),
                    line: None,
                    column: Some(field.name().clone()),
                    message: format!(
                        "the partition value is not a {}: {error}",
                        field.data_type()
                    ),
                })
            })
            .collect();
        let constants = match constants {
            Ok(constants) => Arc::new(constants),
            Err(error) => return futures::stream::once(async { Err(error) }).boxed(),
        };
        let shape = Arc::clone(self);
        batches
            .and_then(move |batch| {
                let rows = batch.num_rows();
                let zeros = UInt32Array::from(vec![0u32; rows]);
                let result = constants
                    .iter()
                    .map(|one| arrow_select::take::take(one.as_ref(), &zeros, None))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|error| IoError::internal(format!("partition column: {error}")))
                    .and_then(|repeated| {
                        let all: Vec<ArrayRef> =
                            batch.columns().iter().cloned().chain(repeated).collect();
                        let columns = shape.order.iter().map(|&i| Arc::clone(&all[i])).collect();
                        RecordBatch::try_new_with_options(
                            Arc::clone(&shape.schema),
                            columns,
                            &arrow_array::RecordBatchOptions::new().with_row_count(Some(rows)),
                        )
                        .map_err(|error| IoError::internal(format!("shaping a batch: {error}")))
                    });
                std::future::ready(result)
            })
            .boxed()
    }
}

/// Casts text to `to`, failing on any value that does not convert.
fn strict_cast(values: &StringArray, to: &DataType) -> Result<ArrayRef, arrow_schema::ArrowError> {
    cast_with_options(
        values,
        to,
        &CastOptions {
            safe: false,
            ..CastOptions::default()
        },
    )
}

/// int64 when every value is an integer, date32 when every value is a `YYYY-MM-DD` date,
/// else utf8.
fn infer(values: &StringArray) -> DataType {
    let all = |check: fn(&str) -> bool| values.iter().flatten().all(check);
    if values.null_count() == values.len() {
        return DataType::Utf8;
    }
    if all(|v| v.parse::<i64>().is_ok()) {
        DataType::Int64
    } else if all(|v| {
        v.len() == 10 && strict_cast(&StringArray::from(vec![v]), &DataType::Date32).is_ok()
    }) {
        DataType::Date32
    } else {
        DataType::Utf8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_types_are_inferred_from_every_value() {
        let ints = StringArray::from(vec![Some("2013"), None, Some("-4")]);
        assert_eq!(infer(&ints), DataType::Int64);
        let dates = StringArray::from(vec!["2013-01-01", "2014-12-31"]);
        assert_eq!(infer(&dates), DataType::Date32);
        let text = StringArray::from(vec!["2013", "EU"]);
        assert_eq!(infer(&text), DataType::Utf8);
    }
}
