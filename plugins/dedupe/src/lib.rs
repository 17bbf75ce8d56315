//! `dedupe`: drops every row whose key columns hold values already seen earlier in the
//! stream, across batches. The first occurrence is kept, in input order.
//!
//! Keys are encoded with arrow's row format (`arrow-row`), which gives one comparable byte
//! string per row for any combination of column types; the set of seen keys is the state.
//! Two nulls in the same key column are equal (as in SQL `DISTINCT`). Memory grows with the
//! number of distinct keys: that is inherent to exact de-duplication over a stream. Only the
//! key columns enter the plugin; it answers with a row selection the host applies.

use std::collections::HashSet;
use std::sync::Arc;

use arrow_array::BooleanArray;
use arrow_row::{RowConverter, SortField};
use quiver_sdk::{Batch, Error, IntoOutputs, SchemaRef, Transform};

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    /// Key columns; empty means all columns.
    #[serde(default)]
    keys: Vec<String>,
}

struct Dedupe {
    schema: SchemaRef,
    /// Indices of the key columns in the input.
    keys: Vec<usize>,
    /// Encodes key columns into comparable byte rows.
    converter: RowConverter,
    /// Every key seen so far in the stream.
    seen: HashSet<Box<[u8]>>,
}

impl Transform for Dedupe {
    type Config = Config;
    const CONFIG_SCHEMA: &'static str = include_str!("../config.schema.json");

    fn new(config: Config, input: SchemaRef) -> Result<Self, Error> {
        let keys: Vec<usize> = if config.keys.is_empty() {
            (0..input.fields().len()).collect()
        } else {
            let mut keys = Vec::with_capacity(config.keys.len());
            for (i, name) in config.keys.iter().enumerate() {
                let idx = input.index_of(name).map_err(|_| {
                    Error::config(
                        format!("keys[{i}]"),
                        format!("no column `{name}` in the input"),
                    )
                })?;
                if keys.contains(&idx) {
                    return Err(Error::config(
                        format!("keys[{i}]"),
                        format!("column `{name}` is listed twice"),
                    ));
                }
                keys.push(idx);
            }
            keys
        };
        let fields = keys
            .iter()
            .map(|&i| SortField::new(input.field(i).data_type().clone()))
            .collect();
        let converter =
            RowConverter::new(fields).map_err(|e| Error::config("keys", e.to_string()))?;
        Ok(Self {
            schema: input,
            keys,
            converter,
            seen: HashSet::new(),
        })
    }

    fn output_schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn process(&mut self, batch: Batch<'_>) -> Result<impl IntoOutputs, Error> {
        let columns: Vec<_> = self
            .keys
            .iter()
            .map(|&i| Arc::clone(batch.column(i)))
            .collect();
        let rows = self.converter.convert_columns(&columns)?;
        let keep: BooleanArray = rows
            .iter()
            .map(|r| Some(self.seen.insert(r.as_ref().into())))
            .collect();
        let kept = keep.true_count();
        if kept == batch.num_rows() {
            return Ok(batch.output());
        }
        quiver_sdk::host::counter_add("rows-dropped", (batch.num_rows() - kept) as u64);
        // Only the key columns entered the plugin; the host applies the selection.
        batch.filter(&keep)
    }
}

quiver_sdk::export_plugin!(Dedupe);
