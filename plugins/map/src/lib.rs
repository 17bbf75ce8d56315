//! `map`: arithmetic on numeric columns, `clip(value * scale + offset, min, max)` per column.
//!
//! Float columns are computed in their own precision. Integer columns stay integers: their
//! `scale`, `offset`, `min` and `max` must be integers (a config error names the key
//! otherwise) and the arithmetic is exact; a result that does not fit the column's type is a
//! data error naming the column and row, never a silent wrap-around. Nulls stay null. With
//! `output`, the result is appended as a new column and the input column is kept.
//!
//! The arithmetic runs in the host (contract 0.2's `affine` kernel, one native pass per
//! column): no column enters the plugin, and every column it does not change goes back by
//! reference. The plugin only checks the config and says which kernel to run on what.

use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema};
use quiver_sdk::compute::Scalar;
use quiver_sdk::{Batch, Error, IntoOutputs, SchemaRef, Transform};

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ColumnConfig {
    column: String,
    #[serde(default = "one")]
    scale: f64,
    #[serde(default)]
    offset: f64,
    min: Option<f64>,
    max: Option<f64>,
    output: Option<String>,
}

fn one() -> f64 {
    1.0
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    columns: Vec<ColumnConfig>,
}

/// The operation on one column, in the arithmetic of the column's type.
enum Op {
    Float {
        scale: f64,
        offset: f64,
        min: f64,
        max: f64,
    },
    Int {
        scale: i64,
        offset: i64,
        min: Option<i64>,
        max: Option<i64>,
    },
}

struct Step {
    input: usize,
    /// `None`: replace the input column; `Some(i)`: append it as column `i` of the output.
    output: Option<usize>,
    op: Op,
    name: String,
}

struct Map {
    schema: SchemaRef,
    steps: Vec<Step>,
}

fn integral(key: String, v: f64) -> Result<i64, Error> {
    if v.fract() != 0.0 || !v.is_finite() || v.abs() > 9.0e18 {
        return Err(Error::config(
            key,
            format!("{v} must be an integer for an integer column"),
        ));
    }
    Ok(v as i64)
}

impl Transform for Map {
    type Config = Config;
    const CONFIG_SCHEMA: &'static str = include_str!("../config.schema.json");

    fn new(config: Config, input: SchemaRef) -> Result<Self, Error> {
        let mut fields: Vec<Field> = input.fields().iter().map(|f| f.as_ref().clone()).collect();
        let mut steps = Vec::with_capacity(config.columns.len());
        for (i, c) in config.columns.into_iter().enumerate() {
            let key = |k: &str| format!("columns[{i}].{k}");
            let index = input.index_of(&c.column).map_err(|_| {
                Error::config(
                    key("column"),
                    format!("no column `{}` in the input", c.column),
                )
            })?;
            let field = input.field(index);
            if let (Some(lo), Some(hi)) = (c.min, c.max)
                && lo > hi
            {
                return Err(Error::config(
                    key("min"),
                    format!("min {lo} is greater than max {hi}"),
                ));
            }
            let op = match field.data_type() {
                DataType::Float32 | DataType::Float64 => Op::Float {
                    scale: c.scale,
                    offset: c.offset,
                    min: c.min.unwrap_or(f64::NEG_INFINITY),
                    max: c.max.unwrap_or(f64::INFINITY),
                },
                t if t.is_integer() => Op::Int {
                    scale: integral(key("scale"), c.scale)?,
                    offset: integral(key("offset"), c.offset)?,
                    min: c.min.map(|v| integral(key("min"), v)).transpose()?,
                    max: c.max.map(|v| integral(key("max"), v)).transpose()?,
                },
                t => {
                    return Err(Error::config(
                        key("column"),
                        format!(
                            "column `{}` has type {t}; map works on integer and float columns",
                            c.column
                        ),
                    ));
                }
            };
            let output = match c.output {
                None => None,
                Some(name) => {
                    if fields.iter().any(|f| f.name() == &name) {
                        return Err(Error::config(
                            key("output"),
                            format!("a column `{name}` already exists"),
                        ));
                    }
                    fields.push(Field::new(
                        &name,
                        field.data_type().clone(),
                        field.is_nullable(),
                    ));
                    Some(fields.len() - 1)
                }
            };
            steps.push(Step {
                input: index,
                output,
                op,
                name: c.column,
            });
        }
        let schema = Arc::new(Schema::new_with_metadata(fields, input.metadata().clone()));
        Ok(Self { schema, steps })
    }

    fn output_schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn process(&mut self, batch: Batch<'_>) -> Result<impl IntoOutputs, Error> {
        // Every step reads its column as it arrived; appended outputs follow the input
        // columns in the order of the config.
        let mut out = batch.output();
        for step in &self.steps {
            let input = batch.host(step.input)?;
            let result = match &step.op {
                Op::Float {
                    scale,
                    offset,
                    min,
                    max,
                } => input.affine(
                    Scalar::Float64(*scale),
                    Scalar::Float64(*offset),
                    min.is_finite().then_some(Scalar::Float64(*min)),
                    max.is_finite().then_some(Scalar::Float64(*max)),
                ),
                Op::Int {
                    scale,
                    offset,
                    min,
                    max,
                } => input.affine(
                    Scalar::Int64(*scale),
                    Scalar::Int64(*offset),
                    min.map(Scalar::Int64),
                    max.map(Scalar::Int64),
                ),
            }
            .map_err(|e| e.in_column(&step.name))?;
            out = match step.output {
                None => out.set_host(step.input, result)?,
                Some(_) => out.push_host(result),
            };
        }
        Ok(out)
    }
}

quiver_sdk::export_plugin!(Map);
