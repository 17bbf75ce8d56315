//! `passthrough`: the identity transform. Every batch comes back exactly as it went in.
//!
//! By default it hands every input column back by reference: nothing crosses the boundary
//! but the handle, which is what a stage that only looks at a batch costs under contract 0.2.
//! With `copy = true` it reads every column into the plugin and sends it back as new
//! buffers, so both directions of the boundary's codec run: the all-types round-trip tests
//! and the boundary benchmarks use that, and any difference between input and output is a
//! bug in the host or the SDK, never in the plugin.

use std::sync::Arc;

use arrow_array::make_array;
use quiver_sdk::{Batch, Error, IntoOutputs, Output, SchemaRef, Transform};

/// The config: whether to copy the columns through the plugin.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    /// Read every column and return it as new buffers (default: return the input's own).
    #[serde(default)]
    copy: bool,
}

/// Holds the schema it was created with and the config.
struct Passthrough {
    schema: SchemaRef,
    copy: bool,
}

impl Transform for Passthrough {
    type Config = Config;
    const CONFIG_SCHEMA: &'static str = include_str!("../config.schema.json");

    fn new(config: Config, input: SchemaRef) -> Result<Self, Error> {
        Ok(Self {
            schema: input,
            copy: config.copy,
        })
    }

    fn output_schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn process(&mut self, batch: Batch<'_>) -> Result<impl IntoOutputs, Error> {
        if !self.copy {
            return Ok(batch.output());
        }
        let mut out = Output::new(batch.num_rows());
        for i in 0..batch.num_columns() {
            // A new array over the same buffers: not the input's own, so it is sent back.
            let copy = make_array(batch.column(i).to_data());
            out = out.push(Arc::new(copy) as _)?;
        }
        Ok(out)
    }
}

quiver_sdk::export_plugin!(Passthrough);
