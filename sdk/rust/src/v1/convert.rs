//! Conversion between the guest's WIT types and arrow-rs values.
//!
//! Inbound batches are decoded with `quiver_columnar::decode`: the vectors the canonical ABI
//! allocated become arrow buffers without a copy when aligned, and are validated like
//! anything else that crosses. Outbound batches are encoded into owned vectors (one copy
//! inside guest memory); the host then lifts them.

use std::sync::Arc;

use arrow_array::{RecordBatch, RecordBatchOptions};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use quiver_columnar::{OwnedBuffers, Validation};

use crate::Error;
use crate::bindings::quiver::transform::types as wit;

fn unit_from_wit(u: wit::TimeUnit) -> TimeUnit {
    match u {
        wit::TimeUnit::Second => TimeUnit::Second,
        wit::TimeUnit::Millisecond => TimeUnit::Millisecond,
        wit::TimeUnit::Microsecond => TimeUnit::Microsecond,
        wit::TimeUnit::Nanosecond => TimeUnit::Nanosecond,
    }
}

fn unit_to_wit(u: TimeUnit) -> wit::TimeUnit {
    match u {
        TimeUnit::Second => wit::TimeUnit::Second,
        TimeUnit::Millisecond => wit::TimeUnit::Millisecond,
        TimeUnit::Microsecond => wit::TimeUnit::Microsecond,
        TimeUnit::Nanosecond => wit::TimeUnit::Nanosecond,
    }
}

fn type_from_wit(t: wit::DataType) -> DataType {
    use wit::DataType as W;
    match t {
        W::Null => DataType::Null,
        W::Boolean => DataType::Boolean,
        W::Int8 => DataType::Int8,
        W::Int16 => DataType::Int16,
        W::Int32 => DataType::Int32,
        W::Int64 => DataType::Int64,
        W::Uint8 => DataType::UInt8,
        W::Uint16 => DataType::UInt16,
        W::Uint32 => DataType::UInt32,
        W::Uint64 => DataType::UInt64,
        W::Float32 => DataType::Float32,
        W::Float64 => DataType::Float64,
        W::Utf8 => DataType::Utf8,
        W::LargeUtf8 => DataType::LargeUtf8,
        W::Binary => DataType::Binary,
        W::LargeBinary => DataType::LargeBinary,
        W::Date32 => DataType::Date32,
        W::Date64 => DataType::Date64,
        W::Timestamp(ts) => DataType::Timestamp(unit_from_wit(ts.unit), ts.timezone.map(Arc::from)),
        W::Decimal128(d) => DataType::Decimal128(d.precision, d.scale),
    }
}

fn type_to_wit(column: &str, t: &DataType) -> Result<wit::DataType, Error> {
    use wit::DataType as W;
    Ok(match t {
        DataType::Null => W::Null,
        DataType::Boolean => W::Boolean,
        DataType::Int8 => W::Int8,
        DataType::Int16 => W::Int16,
        DataType::Int32 => W::Int32,
        DataType::Int64 => W::Int64,
        DataType::UInt8 => W::Uint8,
        DataType::UInt16 => W::Uint16,
        DataType::UInt32 => W::Uint32,
        DataType::UInt64 => W::Uint64,
        DataType::Float32 => W::Float32,
        DataType::Float64 => W::Float64,
        DataType::Utf8 => W::Utf8,
        DataType::LargeUtf8 => W::LargeUtf8,
        DataType::Binary => W::Binary,
        DataType::LargeBinary => W::LargeBinary,
        DataType::Date32 => W::Date32,
        DataType::Date64 => W::Date64,
        DataType::Timestamp(u, tz) => W::Timestamp(wit::TimestampType {
            unit: unit_to_wit(*u),
            timezone: tz.as_deref().map(str::to_owned),
        }),
        DataType::Decimal128(p, s) => W::Decimal128(wit::DecimalType {
            precision: *p,
            scale: *s,
        }),
        other => {
            return Err(Error::internal(format!(
                "output column `{column}` has type {other}, which cannot cross the plugin boundary \
                 (see wit/transform.wit for the supported types)"
            )));
        }
    })
}

/// The arrow schema of a WIT schema.
pub(crate) fn schema_from_wit(s: wit::Schema) -> SchemaRef {
    let fields: Vec<Field> = s
        .fields
        .into_iter()
        .map(|f| Field::new(f.name, type_from_wit(f.data_type), f.nullable))
        .collect();
    Arc::new(Schema::new_with_metadata(
        fields,
        s.metadata
            .into_iter()
            .collect::<std::collections::HashMap<_, _>>(),
    ))
}

/// The WIT form of an arrow schema.
pub(crate) fn schema_to_wit(s: &Schema) -> Result<wit::Schema, Error> {
    let fields = s
        .fields()
        .iter()
        .map(|f| {
            Ok(wit::Field {
                name: f.name().clone(),
                data_type: type_to_wit(f.name(), f.data_type())?,
                nullable: f.is_nullable(),
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let metadata = s
        .metadata()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Ok(wit::Schema { fields, metadata })
}

/// A record batch of `schema` from the buffers the host sent.
pub(crate) fn batch_from_wit(b: wit::Batch, schema: &SchemaRef) -> Result<RecordBatch, Error> {
    if b.columns.len() != schema.fields().len() {
        return Err(Error::internal(format!(
            "host sent {} columns for a schema of {}",
            b.columns.len(),
            schema.fields().len()
        )));
    }
    let rows = b.num_rows as usize;
    let columns = b
        .columns
        .into_iter()
        .zip(schema.fields())
        .map(|(c, f)| {
            let owned = OwnedBuffers {
                validity: c.validity,
                offsets: c.offsets,
                values: c.values,
            };
            // The host sends columns of validated arrow arrays (and checks everything the
            // plugin returns): check the layout, not the content, again.
            quiver_columnar::decode_with(f.data_type(), rows, owned, Validation::Layout)
                .map_err(|e| Error::internal(format!("column `{}` from the host: {e}", f.name())))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let options = RecordBatchOptions::new().with_row_count(Some(rows));
    Ok(RecordBatch::try_new_with_options(
        Arc::clone(schema),
        columns,
        &options,
    )?)
}

/// The WIT form of a batch the transform returned, checked against its declared schema.
pub(crate) fn batch_to_wit(b: &RecordBatch, declared: &Schema) -> Result<wit::Batch, Error> {
    let got = b.schema_ref();
    let same = got.fields().len() == declared.fields().len()
        && got
            .fields()
            .iter()
            .zip(declared.fields())
            .all(|(g, d)| g.name() == d.name() && g.data_type() == d.data_type());
    if !same {
        return Err(Error::internal(format!(
            "process returned a batch whose schema {got:?} differs from the declared output schema {declared:?}"
        )));
    }
    let num_rows = u32::try_from(b.num_rows())
        .map_err(|_| Error::internal(format!("a batch of {} rows exceeds 2^32-1", b.num_rows())))?;
    let columns = b
        .columns()
        .iter()
        .zip(declared.fields())
        .map(|(c, f)| {
            let o = quiver_columnar::encode_owned(c.as_ref())
                .map_err(|e| Error::internal(format!("output column `{}`: {e}", f.name())))?;
            Ok(wit::Column {
                validity: o.validity,
                offsets: o.offsets,
                values: o.values,
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    Ok(wit::Batch { num_rows, columns })
}
