//! `bench-kernels`: test-only kernels for `benches/transform.rs` that no first-party plugin
//! provides. Each kernel has a native twin in `benches/src/native.rs` with the same code, so
//! the benchmark's plugin/native ratio measures the boundary and the wasm code, nothing else.

use std::sync::Arc;

use arrow_array::builder::StringBuilder;
use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef};
use arrow_schema::DataType;
use quiver_sdk::{Batch, Error, IntoOutputs, SchemaRef, Transform};

#[derive(serde::Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum Kernel {
    /// Trim surrounding whitespace, then lowercase.
    TrimLower,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    kernel: Kernel,
    column: String,
}

struct BenchKernels {
    schema: SchemaRef,
    index: usize,
    kernel: Kernel,
}

impl Transform for BenchKernels {
    type Config = Config;
    const CONFIG_SCHEMA: &'static str = include_str!("../config.schema.json");

    fn new(config: Config, input: SchemaRef) -> Result<Self, Error> {
        let index = input.index_of(&config.column).map_err(|_| {
            Error::config(
                "column",
                format!("no column `{}` in the input", config.column),
            )
        })?;
        if input.field(index).data_type() != &DataType::Utf8 {
            return Err(Error::config(
                "column",
                format!("column `{}` is not utf8", config.column),
            ));
        }
        Ok(Self {
            schema: input,
            index,
            kernel: config.kernel,
        })
    }

    fn output_schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn process(&mut self, batch: Batch<'_>) -> Result<impl IntoOutputs, Error> {
        // The kernel runs in the plugin on the one column it changes; the rest go back by
        // reference.
        let changed = match self.kernel {
            Kernel::TrimLower => trim_lower(batch.column(self.index)),
        };
        batch.output().set(self.index, changed)
    }
}

/// Trim + lowercase every value of a utf8 column; nulls stay null.
fn trim_lower(column: &ArrayRef) -> ArrayRef {
    let strings = column.as_string::<i32>();
    let mut out = StringBuilder::with_capacity(strings.len(), strings.values().len());
    for v in strings {
        match v {
            Some(s) => out.append_value(s.trim().to_lowercase()),
            None => out.append_null(),
        }
    }
    Arc::new(out.finish())
}

quiver_sdk::export_plugin!(BenchKernels);
