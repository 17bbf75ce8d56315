//! `{{name}}`: a Quiver plugin written in Rust. Replace this paragraph with what it does.
//!
//! Generated from the Rust SDK's template: it passes every batch through and counts the rows,
//! to show the parts every plugin has — a config type (unknown keys are errors naming the
//! key), a constructor that checks the config against the input schema, `output_schema`,
//! `process` over a `Batch` (contract 0.2: columns stay in the host; `batch.column(i)`
//! fetches one as an arrow-rs array on first use, `batch.host(i)` gives a handle the host's
//! kernels compute on, and `batch.output()` keeps every input column by reference — nothing
//! is copied), host counters, and the export macro.

use quiver_sdk::{Batch, Error, IntoOutputs, SchemaRef, Transform};

/// The plugin's config, parsed from the pipeline's `config = { ... }`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    /// The counter that counts rows (it appears in the run report).
    #[serde(default = "rows_seen")]
    counter: String,
}

fn rows_seen() -> String {
    "rows-seen".into()
}

/// One transformer per stream (per parallel instance).
struct Plugin {
    schema: SchemaRef,
    counter: String,
}

impl Transform for Plugin {
    type Config = Config;
    const CONFIG_SCHEMA: &'static str = include_str!("../config.schema.json");

    fn new(config: Config, input: SchemaRef) -> Result<Self, Error> {
        if config.counter.is_empty() {
            return Err(Error::config("counter", "must not be empty"));
        }
        Ok(Self {
            schema: input,
            counter: config.counter,
        })
    }

    fn output_schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn process(&mut self, batch: Batch<'_>) -> Result<impl IntoOutputs, Error> {
        quiver_sdk::host::counter_add(&self.counter, batch.num_rows() as u64);
        // Every column goes back by reference: the plugin read none of them.
        Ok(batch.output())
    }
}

quiver_sdk::export_plugin!(Plugin);
