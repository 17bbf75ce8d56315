//! The bridge between a [`Transform`] and the generated exports of contract 0.2.
//!
//! [`Adapter`] implements the generated `Guest` trait for any `Transform`; the
//! [`export_plugin!`](crate::export_plugin) macro names a concrete `Adapter<YourType, Info>`
//! so wit-bindgen can export it. `process` wraps the lent batch handle in a [`Batch`] that
//! copies columns in on first use, and turns what the transform returns into outputs that
//! send the input's own columns back by index and host columns by handle: only arrays the
//! plugin made cross.

use std::cell::RefCell;
use std::rc::Rc;

use arrow_array::ArrayRef;
use arrow_schema::SchemaRef;

use crate::batch::{Batch, Shared, Source};
use crate::bindings::exports::quiver::transform::transform::{
    self as wt, Guest, GuestTransformer, Transformer,
};
use crate::bindings::quiver::transform::columns::Batch as HostBatch;
use crate::bindings::quiver::transform::types as wit;
use crate::export::{Adapter, Info, Resource, parse_config};
use crate::output::{IntoOutputs, OutColumn, Output, Selection};
use crate::{Error, Transform, tree};

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

/// The lent batch, read column by column.
struct Lent<'a> {
    batch: &'a HostBatch,
    schema: &'a SchemaRef,
}

impl Source for Lent<'_> {
    fn fetch(&self, i: usize) -> Result<ArrayRef, Error> {
        let field = self.schema.field(i);
        let index = u32::try_from(i).map_err(|_| Error::internal("column index past u32"))?;
        let nodes = self.batch.read(index).map_err(crate::error::from_wit)?;
        tree::array_from_wit(field.data_type(), nodes)
    }

    fn host(&self, i: usize) -> Result<crate::compute::Column, Error> {
        let index = u32::try_from(i).map_err(|_| Error::internal("column index past u32"))?;
        self.batch
            .column(index)
            .map(crate::compute::Column::from_wit)
            .map_err(crate::error::from_wit)
    }
}

/// The WIT form of `out`, whose columns must fit `schema`; input arrays (found in `shared`)
/// go back by index.
fn output_to_wit(
    out: Output,
    schema: &SchemaRef,
    shared: Option<&Shared>,
) -> Result<wt::Output, Error> {
    if out.columns.len() != schema.fields().len() {
        return Err(Error::internal(format!(
            "an output has {} columns; the declared output schema has {}",
            out.columns.len(),
            schema.fields().len()
        )));
    }
    let mut columns = Vec::with_capacity(out.columns.len());
    for (c, field) in out.columns.into_iter().zip(schema.fields()) {
        columns.push(match c {
            OutColumn::Keep(i) => {
                if shared.is_none() {
                    return Err(Error::internal(format!(
                        "output column `{}` keeps input column {i}, but finish has no input",
                        field.name()
                    )));
                }
                wt::OutColumn::Keep(u32::try_from(i).map_err(|_| Error::internal("index"))?)
            }
            OutColumn::Array(a) => match shared.and_then(|s| s.index_of(&a)) {
                Some(i) => wt::OutColumn::Keep(i as u32),
                None => {
                    if a.data_type() != field.data_type() {
                        return Err(Error::internal(format!(
                            "output column `{}` is {} but the declared output schema says {}",
                            field.name(),
                            a.data_type(),
                            field.data_type()
                        )));
                    }
                    wt::OutColumn::Data(tree::array_to_wit(a.as_ref())?)
                }
            },
            OutColumn::Host(h) => {
                let handle = Rc::try_unwrap(h.inner).map_err(|_| {
                    Error::internal(format!(
                        "output column `{}`: a host column can be returned once; compute it \
                         again for a second column",
                        field.name()
                    ))
                })?;
                wt::OutColumn::Handle(handle)
            }
        });
    }
    let selection = out.selection.map(|s| match s {
        Selection::Mask(bits) => wt::Selection::Mask(bits.sliced().as_slice().to_vec()),
        Selection::Indices(i) => wt::Selection::Indices(i),
    });
    Ok(wt::Output {
        num_rows: out.num_rows as u64,
        selection,
        columns,
    })
}

impl<T: Transform> GuestTransformer for Resource<T> {
    fn create(config: String, input: wit::Schema) -> Result<Transformer, wit::Error> {
        let config = parse_config::<T::Config>(&config)?;
        let input = tree::schema_from_wit(input)?;
        let transform = T::new(config, input.clone())?;
        let output = transform.output_schema();
        tree::schema_to_wit(&output)?;
        Ok(Transformer::new(Resource {
            inner: RefCell::new(transform),
            input,
            output,
        }))
    }

    fn output_schema(&self) -> wit::Schema {
        // Checked to be convertible in `create`.
        tree::schema_to_wit(&self.output).unwrap_or_else(|_| wit::Schema {
            fields: Vec::new(),
            metadata: Vec::new(),
        })
    }

    fn process(&self, input: &HostBatch) -> Result<Vec<wt::Output>, wit::Error> {
        let rows = usize::try_from(input.num_rows())
            .map_err(|_| Error::internal("a batch of more rows than memory"))?;
        let lent = Lent {
            batch: input,
            schema: &self.input,
        };
        let batch = Batch::new(self.input.clone(), rows, &lent);
        let shared = Rc::clone(&batch.shared);
        let out = self.inner.borrow_mut().process(batch)?.into_outputs();
        Ok(out
            .into_iter()
            .map(|o| output_to_wit(o, &self.output, Some(&shared)))
            .collect::<Result<_, _>>()?)
    }

    fn finish(&self) -> Result<Vec<wt::Output>, wit::Error> {
        let out = self.inner.borrow_mut().finish()?.into_outputs();
        Ok(out
            .into_iter()
            .map(|o| output_to_wit(o, &self.output, None))
            .collect::<Result<_, _>>()?)
    }
}
