//! Conversion between arrow-rs values and the generated WIT types, in both directions.
//!
//! Outbound (host → guest) conversions borrow: a batch's buffers are lent to wasmtime, which
//! copies them once, straight into guest memory. Inbound (guest → host) conversions take the
//! owned vectors wasmtime lifted out of guest memory and adopt them as arrow buffers without a
//! further copy when aligned (`quiver_columnar::decode`). Everything inbound is validated:
//! this module is where "everything a guest returns is untrusted" is enforced.

use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, RecordBatchOptions};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use quiver_columnar::{Buffers, OwnedBuffers};

use crate::bindings::v1::types::{
    BatchResult, ColumnParam, DataTypeParam, DataTypeResult, DecimalType, FieldParam, SchemaParam,
    SchemaResult, TimeUnit as WitUnit, TimestampTypeParam,
};

/// A violation found in data crossing the boundary: the column (when known) and why.
pub(crate) type Violation = (Option<String>, String);

fn unit_to_wit(u: TimeUnit) -> WitUnit {
    match u {
        TimeUnit::Second => WitUnit::Second,
        TimeUnit::Millisecond => WitUnit::Millisecond,
        TimeUnit::Microsecond => WitUnit::Microsecond,
        TimeUnit::Nanosecond => WitUnit::Nanosecond,
    }
}

fn unit_from_wit(u: WitUnit) -> TimeUnit {
    match u {
        WitUnit::Second => TimeUnit::Second,
        WitUnit::Millisecond => TimeUnit::Millisecond,
        WitUnit::Microsecond => TimeUnit::Microsecond,
        WitUnit::Nanosecond => TimeUnit::Nanosecond,
    }
}

/// The WIT form of a boundary type (see `quiver_columnar::check_type`).
fn type_to_wit(t: &DataType) -> Result<DataTypeParam<'_>, quiver_columnar::LayoutError> {
    quiver_columnar::check_type(t)?;
    Ok(match t {
        DataType::Null => DataTypeParam::Null,
        DataType::Boolean => DataTypeParam::Boolean,
        DataType::Int8 => DataTypeParam::Int8,
        DataType::Int16 => DataTypeParam::Int16,
        DataType::Int32 => DataTypeParam::Int32,
        DataType::Int64 => DataTypeParam::Int64,
        DataType::UInt8 => DataTypeParam::Uint8,
        DataType::UInt16 => DataTypeParam::Uint16,
        DataType::UInt32 => DataTypeParam::Uint32,
        DataType::UInt64 => DataTypeParam::Uint64,
        DataType::Float32 => DataTypeParam::Float32,
        DataType::Float64 => DataTypeParam::Float64,
        DataType::Utf8 => DataTypeParam::Utf8,
        DataType::LargeUtf8 => DataTypeParam::LargeUtf8,
        DataType::Binary => DataTypeParam::Binary,
        DataType::LargeBinary => DataTypeParam::LargeBinary,
        DataType::Date32 => DataTypeParam::Date32,
        DataType::Date64 => DataTypeParam::Date64,
        DataType::Timestamp(u, tz) => DataTypeParam::Timestamp(TimestampTypeParam {
            unit: unit_to_wit(*u),
            timezone: tz.as_deref(),
        }),
        DataType::Decimal128(p, s) => DataTypeParam::Decimal128(DecimalType {
            precision: *p,
            scale: *s,
        }),
        other => unreachable!("check_type admitted {other}"),
    })
}

fn type_from_wit(t: DataTypeResult) -> DataType {
    match t {
        DataTypeResult::Null => DataType::Null,
        DataTypeResult::Boolean => DataType::Boolean,
        DataTypeResult::Int8 => DataType::Int8,
        DataTypeResult::Int16 => DataType::Int16,
        DataTypeResult::Int32 => DataType::Int32,
        DataTypeResult::Int64 => DataType::Int64,
        DataTypeResult::Uint8 => DataType::UInt8,
        DataTypeResult::Uint16 => DataType::UInt16,
        DataTypeResult::Uint32 => DataType::UInt32,
        DataTypeResult::Uint64 => DataType::UInt64,
        DataTypeResult::Float32 => DataType::Float32,
        DataTypeResult::Float64 => DataType::Float64,
        DataTypeResult::Utf8 => DataType::Utf8,
        DataTypeResult::LargeUtf8 => DataType::LargeUtf8,
        DataTypeResult::Binary => DataType::Binary,
        DataTypeResult::LargeBinary => DataType::LargeBinary,
        DataTypeResult::Date32 => DataType::Date32,
        DataTypeResult::Date64 => DataType::Date64,
        DataTypeResult::Timestamp(ts) => {
            DataType::Timestamp(unit_from_wit(ts.unit), ts.timezone.map(Arc::from))
        }
        DataTypeResult::Decimal128(d) => DataType::Decimal128(d.precision, d.scale),
    }
}

/// The WIT form of the schema a plugin receives for an arrow schema (dictionaries unpacked),
/// borrowing the arrow schema's names. [`WitSchema::param`] lends it to a guest call.
pub(crate) struct WitSchema<'a> {
    fields: Vec<FieldParam<'a>>,
    metadata: Vec<(&'a str, &'a str)>,
}

impl<'a> WitSchema<'a> {
    /// Convert `schema`.
    ///
    /// # Errors
    /// The first column whose type cannot cross.
    pub(crate) fn new(schema: &'a Schema) -> Result<Self, Violation> {
        let fields = schema
            .fields()
            .iter()
            .map(|f| {
                let data_type = match f.data_type() {
                    DataType::Dictionary(_, value) => value.as_ref(),
                    other => other,
                };
                type_to_wit(data_type)
                    .map(|data_type| FieldParam {
                        name: f.name(),
                        data_type,
                        nullable: f.is_nullable(),
                    })
                    .map_err(|e| (Some(f.name().clone()), e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let metadata = schema
            .metadata()
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        Ok(Self { fields, metadata })
    }

    /// The schema as a call parameter.
    pub(crate) fn param(&self) -> SchemaParam<'_> {
        SchemaParam {
            fields: &self.fields,
            metadata: &self.metadata,
        }
    }
}

/// An arrow schema from the WIT schema a plugin declared.
///
/// # Errors
/// Duplicate or empty column names, or a timestamp zone / decimal that arrow refuses.
pub(crate) fn schema_from_wit(s: SchemaResult) -> Result<SchemaRef, Violation> {
    let mut fields = Vec::with_capacity(s.fields.len());
    let mut seen = std::collections::HashSet::new();
    for (i, f) in s.fields.into_iter().enumerate() {
        if f.name.is_empty() {
            return Err((
                None,
                format!("column {i} of the output schema has an empty name"),
            ));
        }
        if !seen.insert(f.name.clone()) {
            return Err((
                Some(f.name),
                "the output schema names this column twice".into(),
            ));
        }
        let data_type = type_from_wit(f.data_type);
        if let DataType::Decimal128(p, s) = data_type
            && (p == 0 || p > 38 || i16::from(s) > i16::from(p))
        {
            return Err((
                Some(f.name),
                format!("decimal128({p}, {s}) is not a valid decimal type"),
            ));
        }
        fields.push(Field::new(f.name, data_type, f.nullable));
    }
    Ok(Arc::new(Schema::new_with_metadata(
        fields,
        s.metadata
            .into_iter()
            .collect::<std::collections::HashMap<_, _>>(),
    )))
}

/// A batch with dictionary columns unpacked to their value types, so it has the boundary
/// schema. Returns the batch unchanged (no copy) when it has no dictionary column.
///
/// # Errors
/// A column that cannot be unpacked.
pub(crate) fn unpack_dictionaries(batch: &RecordBatch) -> Result<RecordBatch, Violation> {
    if !batch
        .schema()
        .fields()
        .iter()
        .any(|f| matches!(f.data_type(), DataType::Dictionary(_, _)))
    {
        return Ok(batch.clone());
    }
    let schema = quiver_columnar::boundary_schema(batch.schema_ref())
        .map_err(|(c, e)| (Some(c), e.to_string()))?;
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(c, f)| {
            if c.data_type() == f.data_type() {
                Ok(Arc::clone(c))
            } else {
                arrow_cast::cast(c, f.data_type())
                    .map_err(|e| (Some(f.name().clone()), e.to_string()))
            }
        })
        .collect::<Result<Vec<ArrayRef>, _>>()?;
    RecordBatch::try_new(Arc::new(schema), columns).map_err(|e| (None, e.to_string()))
}

/// Encode every column of `batch` (which must have boundary types) into borrowed buffers.
///
/// # Errors
/// A column whose type cannot cross.
pub(crate) fn encode_batch(batch: &RecordBatch) -> Result<Vec<Buffers<'_>>, Violation> {
    batch
        .columns()
        .iter()
        .zip(batch.schema_ref().fields())
        .map(|(c, f)| {
            quiver_columnar::encode(c.as_ref()).map_err(|e| (Some(f.name().clone()), e.to_string()))
        })
        .collect()
}

/// The WIT columns that lend `encoded`'s buffers to a guest call.
pub(crate) fn column_params<'a>(encoded: &'a [Buffers<'a>]) -> Vec<ColumnParam<'a>> {
    encoded
        .iter()
        .map(|b| ColumnParam {
            validity: b.validity.as_deref(),
            offsets: b.offsets.as_deref(),
            values: &b.values,
        })
        .collect()
}

/// Validate a batch returned by a plugin against the output schema it declared.
///
/// Checks the column count, every buffer of every column (via `quiver_columnar::decode`)
/// and that non-nullable columns hold no null.
///
/// # Errors
/// The first violation, with the column at fault when there is one.
pub(crate) fn batch_from_wit(b: BatchResult, schema: &SchemaRef) -> Result<RecordBatch, Violation> {
    let num_rows = b.num_rows as usize;
    if b.columns.len() != schema.fields().len() {
        return Err((
            None,
            format!(
                "batch has {} columns but the declared output schema has {}",
                b.columns.len(),
                schema.fields().len()
            ),
        ));
    }
    let mut columns = Vec::with_capacity(b.columns.len());
    for (col, field) in b.columns.into_iter().zip(schema.fields()) {
        let owned = OwnedBuffers {
            validity: col.validity,
            offsets: col.offsets,
            values: col.values,
        };
        let array = quiver_columnar::decode(field.data_type(), num_rows, owned)
            .map_err(|e| (Some(field.name().clone()), e.to_string()))?;
        if !field.is_nullable() && array.null_count() > 0 {
            return Err((
                Some(field.name().clone()),
                format!(
                    "{} nulls in a column declared non-nullable",
                    array.null_count()
                ),
            ));
        }
        columns.push(array);
    }
    let options = RecordBatchOptions::new().with_row_count(Some(num_rows));
    RecordBatch::try_new_with_options(Arc::clone(schema), columns, &options)
        .map_err(|e| (None, e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::v1::types::FieldResult;

    /// Contract 0.1: an output schema with an empty column name is refused (0.2 refuses it
    /// in `quiver_columnar::tree`, `tests/all/evil2.rs`).
    #[test]
    fn an_empty_output_column_name_is_refused() {
        let field = |name: &str| FieldResult {
            name: name.into(),
            data_type: DataTypeResult::Int64,
            nullable: true,
        };
        let schema = SchemaResult {
            fields: vec![field("x"), field("")],
            metadata: Vec::new(),
        };
        let (column, reason) = schema_from_wit(schema).unwrap_err();
        assert_eq!(column, None);
        assert_eq!(reason, "column 1 of the output schema has an empty name");
    }
}
