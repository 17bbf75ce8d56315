//! `tagger`: a test-only plugin that appends a non-nullable utf8 column `tagged_by` holding
//! its own version in every row, so a test can tell from the output which version of the
//! plugin processed each row (the hot-swap tests of the HTTP server).
//!
//! One crate, several versions: the version comes from `QUIVER_TAGGER_VERSION` at build time
//! (default: `Cargo.toml`'s `1.0.0`), and a build with `QUIVER_TAGGER_BROKEN=1` declares and
//! returns one more utf8 column, `tagged_broken`, so its output schema differs from every
//! other version's. `tests/build.rs` builds 1.0.0, 2.0.0, 3.0.0 (broken) and 4.0.0.

use std::sync::Arc;

use arrow_array::{ArrayRef, StringArray};
use arrow_schema::{DataType, Field, Schema};
use quiver_sdk::{Batch, Error, IntoOutputs, NoConfig, SchemaRef, Transform};

/// The version this build reports in its metadata and writes into `tagged_by`.
const VERSION: &str = match option_env!("QUIVER_TAGGER_VERSION") {
    Some(v) => v,
    None => env!("CARGO_PKG_VERSION"),
};

/// Whether this is the broken build (`QUIVER_TAGGER_BROKEN=1`): one extra output column.
/// (A slice pattern: `str` cannot be compared in a constant.)
const BROKEN: bool = match option_env!("QUIVER_TAGGER_BROKEN") {
    Some(v) => matches!(v.as_bytes(), [b'1']),
    None => false,
};

/// The column holding [`VERSION`] in every row.
const TAGGED_BY: &str = "tagged_by";

/// The extra column of the broken build, holding `broken` in every row.
const TAGGED_BROKEN: &str = "tagged_broken";

/// The input columns plus the tag column(s).
struct Tagger {
    schema: SchemaRef,
}

impl Transform for Tagger {
    type Config = NoConfig;
    const CONFIG_SCHEMA: &'static str = include_str!("../config.schema.json");

    fn new(_config: NoConfig, input: SchemaRef) -> Result<Self, Error> {
        let mut fields: Vec<Field> = input.fields().iter().map(|f| f.as_ref().clone()).collect();
        let mut added = vec![TAGGED_BY];
        if BROKEN {
            added.push(TAGGED_BROKEN);
        }
        for name in added {
            if input.field_with_name(name).is_ok() {
                return Err(Error::data_at(
                    Some(name),
                    None,
                    format!("the input already has a column `{name}`"),
                ));
            }
            fields.push(Field::new(name, DataType::Utf8, false));
        }
        let schema = Schema::new_with_metadata(fields, input.metadata().clone());
        Ok(Self {
            schema: Arc::new(schema),
        })
    }

    fn output_schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn process(&mut self, batch: Batch<'_>) -> Result<impl IntoOutputs, Error> {
        // The input goes back by reference (under contract 0.2); only the tags cross.
        let rows = batch.num_rows();
        let mut out = batch
            .output()
            .push(Arc::new(StringArray::from(vec![VERSION; rows])) as ArrayRef)?;
        if BROKEN {
            out = out.push(Arc::new(StringArray::from(vec!["broken"; rows])) as ArrayRef)?;
        }
        Ok(out)
    }
}

quiver_sdk::export_plugin!(Tagger, version = VERSION);
