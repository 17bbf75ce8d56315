//! `impute`: fills the nulls of chosen columns.
//!
//! Per column, a `strategy`:
//! - `constant`: fill with `value`;
//! - `mean`, `median`, `mode`: fill with `value`, a statistic the user computed *offline*
//!   (on training data, say). The plugin never computes it: a stream has no end to compute a
//!   statistic over before the first batch leaves, and a statistic of each batch would make
//!   the output depend on the batch size. The strategy name records where the value came
//!   from and lets the plugin check it fits (a mean or median only for number columns);
//! - `forward_fill`: each null takes the last non-null value before it in the stream,
//!   carried across batches (the plugin's state); nulls before the first non-null value take
//!   `value` when given, else stay null.
//!
//! Every fill value is converted to the column's type once, at creation (see `value.rs`);
//! the number of values filled per column goes to the host counter `filled:<column>`.

mod fill;

use std::sync::Arc;

use arrow_array::ArrayRef;
use arrow_schema::DataType;
use quiver_sdk::{Error, RecordBatch, SchemaRef, Transform};

/// Where the fill value comes from.
#[derive(serde::Deserialize, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "snake_case")]
enum Strategy {
    Constant,
    Mean,
    Median,
    Mode,
    ForwardFill,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ColumnConfig {
    column: String,
    strategy: Strategy,
    value: Option<serde_json::Value>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    columns: Vec<ColumnConfig>,
}

/// How one column is filled.
enum Method {
    /// With this one-row value of the column's type.
    Constant(ArrayRef),
    /// With the last non-null value before it.
    Forward(fill::Forward),
}

struct Step {
    /// Index of the column in the input (and the output: the schema is unchanged).
    index: usize,
    method: Method,
    /// `filled:<column>`, the counter of this column.
    counter: String,
}

struct Impute {
    schema: SchemaRef,
    steps: Vec<Step>,
}

fn is_number(t: &DataType) -> bool {
    t.is_integer() || t.is_floating()
}

impl Transform for Impute {
    type Config = Config;
    const CONFIG_SCHEMA: &'static str = include_str!("../config.schema.json");

    fn new(config: Config, input: SchemaRef) -> Result<Self, Error> {
        if config.columns.is_empty() {
            return Err(Error::config(
                "columns",
                "no column to fill; list at least one",
            ));
        }
        let mut steps: Vec<Step> = Vec::with_capacity(config.columns.len());
        for (i, c) in config.columns.into_iter().enumerate() {
            let key = |k: &str| format!("columns[{i}].{k}");
            let index = input.index_of(&c.column).map_err(|_| {
                Error::config(
                    key("column"),
                    format!("no column `{}` in the input", c.column),
                )
            })?;
            if steps.iter().any(|s| s.index == index) {
                return Err(Error::config(
                    key("column"),
                    format!("column `{}` is listed twice", c.column),
                ));
            }
            let data_type = input.field(index).data_type();
            if data_type == &DataType::Null {
                return Err(Error::config(
                    key("column"),
                    format!(
                        "column `{}` has type Null (no type could be inferred, e.g. from a CSV \
                         file with no rows); give it a type first, e.g. with the shape plugin's cast",
                        c.column
                    ),
                ));
            }
            if matches!(c.strategy, Strategy::Mean | Strategy::Median) && !is_number(data_type) {
                return Err(Error::config(
                    key("strategy"),
                    format!(
                        "column `{}` has type {data_type}; a {:?} fill is for number columns \
                         (use `mode` or `constant` for other types)",
                        c.column, c.strategy
                    ),
                ));
            }
            let value = c
                .value
                .as_ref()
                .map(|v| {
                    quiver_sdk::scalar::scalar(v, data_type)
                        .map_err(|m| Error::config(key("value"), m))
                })
                .transpose()?;
            let method = match (c.strategy, value) {
                (Strategy::ForwardFill, leading) => Method::Forward(fill::Forward::new(leading)),
                (_, Some(v)) => Method::Constant(v),
                (s, None) => {
                    return Err(Error::config(
                        key("value"),
                        format!(
                            "strategy {s:?} needs the value to fill with{}",
                            if s == Strategy::Constant {
                                ""
                            } else {
                                " (computed offline: the plugin does not compute statistics)"
                            }
                        ),
                    ));
                }
            };
            steps.push(Step {
                index,
                method,
                counter: format!("filled:{}", c.column),
            });
        }
        Ok(Self {
            schema: input,
            steps,
        })
    }

    fn output_schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn process(&mut self, batch: RecordBatch) -> Result<Vec<RecordBatch>, Error> {
        let mut columns = batch.columns().to_vec();
        for step in &mut self.steps {
            let column = &columns[step.index];
            let (out, filled) = match &mut step.method {
                Method::Constant(v) => fill::constant(column, v)?,
                Method::Forward(f) => f.fill(column)?,
            };
            if filled > 0 {
                quiver_sdk::host::counter_add(&step.counter, filled as u64);
            }
            columns[step.index] = out;
        }
        Ok(vec![RecordBatch::try_new(
            Arc::clone(&self.schema),
            columns,
        )?])
    }
}

quiver_sdk::export_plugin!(Impute);
