//! `passthrough`: the identity transform. Every batch comes back exactly as it went in.
//!
//! It is the reference for the boundary: the all-types round-trip tests and the boundary
//! benchmarks run through it, so any difference between input and output is a bug in the
//! host or the SDK, never in the plugin.

use quiver_sdk::{Error, NoConfig, RecordBatch, SchemaRef, Transform};

/// Holds the schema it was created with, nothing else.
struct Passthrough {
    schema: SchemaRef,
}

impl Transform for Passthrough {
    type Config = NoConfig;
    const CONFIG_SCHEMA: &'static str = include_str!("../config.schema.json");

    fn new(_config: NoConfig, input: SchemaRef) -> Result<Self, Error> {
        Ok(Self { schema: input })
    }

    fn output_schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn process(&mut self, batch: RecordBatch) -> Result<Vec<RecordBatch>, Error> {
        Ok(vec![batch])
    }
}

quiver_sdk::export_plugin!(Passthrough);
