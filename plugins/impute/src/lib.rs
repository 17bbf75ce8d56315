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
//! Every fill value is converted to the column's type once, at creation (with
//! `quiver_sdk::scalar`); the number of values filled per column goes to the host counter
//! `filled:<column>`.
//!
//! Only configured columns are touched; every other column goes back to the host by
//! reference (contract 0.2). A constant fill of a number, boolean, text or date32 column
//! runs in the host (its `fill_null` kernel, with the value as a scalar of the same type),
//! so that column does not enter the plugin either: the host's null count says whether
//! there is anything to fill. Constants of other types and forward fills (which carry
//! state) read their column into the plugin and send the filled column back.

mod fill;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type,
    UInt16Type, UInt32Type, UInt64Type,
};
use arrow_array::{Array, ArrayRef};
use arrow_schema::DataType;
use quiver_sdk::compute::Scalar;
use quiver_sdk::{Batch, Error, IntoOutputs, SchemaRef, Transform};

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
    /// With this one-row value of the column's type, in the host.
    HostConstant(Scalar),
    /// With this one-row value of the column's type, in the plugin.
    Constant(ArrayRef),
    /// With the last non-null value before it.
    Forward(fill::Forward),
}

/// `value` (a one-row array) as a host scalar the `fill_null` kernel turns back into exactly
/// this value of this type; `None` for types whose values the host scalar cannot carry
/// one-to-one, or whose nulls the host counts differently (a dictionary's null values), which
/// are filled in the plugin instead.
fn host_scalar(value: &ArrayRef) -> Option<Scalar> {
    if value.len() != 1 || value.is_null(0) {
        return None;
    }
    macro_rules! int {
        ($t:ty) => {
            Scalar::Int64(i64::from(value.as_primitive::<$t>().value(0)))
        };
    }
    macro_rules! uint {
        ($t:ty) => {
            Scalar::Uint64(u64::from(value.as_primitive::<$t>().value(0)))
        };
    }
    Some(match value.data_type() {
        DataType::Boolean => Scalar::Boolean(value.as_boolean().value(0)),
        DataType::Int8 => int!(Int8Type),
        DataType::Int16 => int!(Int16Type),
        DataType::Int32 => int!(Int32Type),
        DataType::Int64 => int!(Int64Type),
        DataType::UInt8 => uint!(UInt8Type),
        DataType::UInt16 => uint!(UInt16Type),
        DataType::UInt32 => uint!(UInt32Type),
        DataType::UInt64 => uint!(UInt64Type),
        // float32 → float64 is exact, so the host's cast back gives the same float32.
        DataType::Float32 => {
            Scalar::Float64(f64::from(value.as_primitive::<Float32Type>().value(0)))
        }
        DataType::Float64 => Scalar::Float64(value.as_primitive::<Float64Type>().value(0)),
        DataType::Utf8 => Scalar::Utf8(value.as_string::<i32>().value(0).to_owned()),
        DataType::LargeUtf8 => Scalar::Utf8(value.as_string::<i64>().value(0).to_owned()),
        DataType::Date32 => Scalar::Date32(value.as_primitive::<Date32Type>().value(0)),
        _ => return None,
    })
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

/// Integers, floats and decimals: the types a mean or a median is a value of.
fn is_number(t: &DataType) -> bool {
    t.is_integer()
        || t.is_floating()
        || matches!(
            t,
            DataType::Decimal32(..)
                | DataType::Decimal64(..)
                | DataType::Decimal128(..)
                | DataType::Decimal256(..)
        )
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
                (_, Some(v)) => match host_scalar(&v) {
                    Some(s) => Method::HostConstant(s),
                    None => Method::Constant(v),
                },
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

    fn process(&mut self, batch: Batch<'_>) -> Result<impl IntoOutputs, Error> {
        // The schema is unchanged: start from every input column by reference and replace
        // the filled ones.
        let mut out = batch.output();
        for step in &mut self.steps {
            let filled = match &mut step.method {
                Method::HostConstant(value) => {
                    let column = batch.host(step.index)?;
                    let nulls = column.null_count();
                    if nulls > 0 {
                        let filled = column.fill_null(value.clone())?;
                        out = out.set_host(step.index, filled)?;
                    }
                    nulls
                }
                Method::Constant(value) => {
                    let (filled, n) = fill::constant(batch.try_column(step.index)?, value)?;
                    // An unchanged column is the input's own array: it goes back by
                    // reference.
                    out = out.set(step.index, filled)?;
                    n
                }
                Method::Forward(f) => {
                    let (filled, n) = f.fill(batch.try_column(step.index)?)?;
                    out = out.set(step.index, filled)?;
                    n
                }
            };
            if filled > 0 {
                quiver_sdk::host::counter_add(&step.counter, filled as u64);
            }
        }
        Ok(out)
    }
}

quiver_sdk::export_plugin!(Impute);
