//! The bridge between a [`Transform`] and the generated exports of contract 0.1 (the
//! `contract-0-1` feature): every column arrives in each call, and every output column is
//! sent back whole.
//!
//! The same [`Transform`] code runs on both contracts: here the [`Batch`] is filled before
//! `process` runs, kept columns are the input's arrays, and a row selection is applied in the
//! plugin with arrow-select. Host compute kernels do not exist in 0.1.

use std::cell::RefCell;
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, RecordBatchOptions, UInt32Array};

use crate::batch::{Batch, Source};
use crate::bindings::exports::quiver::transform::transform::{
    Guest, GuestTransformer, Transformer,
};
use crate::bindings::quiver::transform::types as wit;
use crate::export::{Adapter, Info, Resource, parse_config};
use crate::output::{IntoOutputs, OutColumn, Output, Selection};
use crate::v1::convert;
use crate::{Error, Transform};

impl<T: Transform, I: Info> Guest for Adapter<T, I> {
    type Transformer = Resource<T>;

    fn metadata() -> wit::PluginMetadata {
        let (name, version, description, config_schema) = crate::export::metadata::<T, I>();
        wit::PluginMetadata {
            name,
            version,
            description,
            config_schema,
        }
    }
}

/// Columns already in the plugin.
struct Eager(RecordBatch);

impl Source for Eager {
    fn fetch(&self, i: usize) -> Result<ArrayRef, Error> {
        Ok(Arc::clone(self.0.column(i)))
    }
}

/// An output as a whole record batch of `schema`: kept columns are `input`'s, the
/// selection applied here.
fn assemble(
    out: Output,
    schema: &arrow_schema::SchemaRef,
    input: Option<&RecordBatch>,
) -> Result<RecordBatch, Error> {
    let columns = out
        .columns
        .into_iter()
        .map(|c| match c {
            OutColumn::Keep(i) => {
                input
                    .and_then(|b| b.columns().get(i).cloned())
                    .ok_or_else(|| {
                        Error::internal(format!("keeps input column {i}, which is not there"))
                    })
            }
            OutColumn::Array(a) => Ok(a),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let rows = match (&out.selection, input) {
        (Some(_), Some(b)) => b.num_rows(),
        _ => out.num_rows,
    };
    let options = RecordBatchOptions::new().with_row_count(Some(rows));
    let batch = RecordBatch::try_new_with_options(Arc::clone(schema), columns, &options)?;
    Ok(match out.selection {
        None => batch,
        Some(Selection::Mask(bits)) => {
            let mask = arrow_array::BooleanArray::new(bits, None);
            arrow_select::filter::filter_record_batch(&batch, &mask)?
        }
        Some(Selection::Indices(i)) => {
            arrow_select::take::take_record_batch(&batch, &UInt32Array::from(i))?
        }
    })
}

impl<T: Transform> GuestTransformer for Resource<T> {
    fn create(config: String, input: wit::Schema) -> Result<Transformer, wit::Error> {
        let config = parse_config::<T::Config>(&config)?;
        let input = convert::schema_from_wit(input);
        let transform = T::new(config, input.clone())?;
        let output = transform.output_schema();
        convert::schema_to_wit(&output)?;
        Ok(Transformer::new(Resource {
            inner: RefCell::new(transform),
            input,
            output,
        }))
    }

    fn output_schema(&self) -> wit::Schema {
        // Checked to be convertible in `create`.
        convert::schema_to_wit(&self.output).unwrap_or_else(|_| wit::Schema {
            fields: Vec::new(),
            metadata: Vec::new(),
        })
    }

    fn process(&self, input: wit::Batch) -> Result<Vec<wit::Batch>, wit::Error> {
        let record = convert::batch_from_wit(input, &self.input)?;
        let eager = Eager(record.clone());
        let batch = Batch::new(self.input.clone(), record.num_rows(), &eager);
        let out = self.inner.borrow_mut().process(batch)?.into_outputs();
        Ok(out
            .into_iter()
            .map(|o| {
                assemble(o, &self.output, Some(&record))
                    .and_then(|b| convert::batch_to_wit(&b, &self.output))
            })
            .collect::<Result<_, _>>()?)
    }

    fn finish(&self) -> Result<Vec<wit::Batch>, wit::Error> {
        let out = self.inner.borrow_mut().finish()?.into_outputs();
        Ok(out
            .into_iter()
            .map(|o| {
                assemble(o, &self.output, None)
                    .and_then(|b| convert::batch_to_wit(&b, &self.output))
            })
            .collect::<Result<_, _>>()?)
    }
}
