//! `map`: arithmetic on numeric columns, `clip(value * scale + offset, min, max)` per column.
//!
//! Float columns are computed in their own precision. Integer columns stay integers: their
//! `scale`, `offset`, `min` and `max` must be integers (a config error names the key
//! otherwise) and the arithmetic is exact (in 128 bits); a result that does not fit the
//! column's type is a data error naming the column and row, never a silent wrap-around.
//! Nulls stay null. With `output`, the result is appended as a new column and the input
//! column is kept.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{Array, ArrayRef, ArrowPrimitiveType, PrimitiveArray};
use arrow_schema::{DataType, Field, Schema};
use quiver_sdk::{Error, RecordBatch, SchemaRef, Transform};

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
        scale: i128,
        offset: i128,
        min: i128,
        max: i128,
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

fn integral(key: String, v: f64) -> Result<i128, Error> {
    if v.fract() != 0.0 || !v.is_finite() || v.abs() > 9.0e18 {
        return Err(Error::config(
            key,
            format!("{v} must be an integer for an integer column"),
        ));
    }
    Ok(v as i128)
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
                    min: c
                        .min
                        .map(|v| integral(key("min"), v))
                        .transpose()?
                        .unwrap_or(i128::MIN),
                    max: c
                        .max
                        .map(|v| integral(key("max"), v))
                        .transpose()?
                        .unwrap_or(i128::MAX),
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

    fn process(&mut self, batch: RecordBatch) -> Result<Vec<RecordBatch>, Error> {
        // Every step reads its column as it arrived; appended outputs follow the input
        // columns in the order of the config.
        let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
        for step in &self.steps {
            let input = batch.column(step.input);
            let result = apply(input, &step.op)
                .map_err(|(row, message)| Error::data_at(Some(&step.name), Some(row), message))?;
            match step.output {
                None => columns[step.input] = result,
                Some(_) => columns.push(result),
            }
        }
        Ok(vec![RecordBatch::try_new(self.schema.clone(), columns)?])
    }
}

fn apply(input: &ArrayRef, op: &Op) -> Result<ArrayRef, (u64, String)> {
    match op {
        Op::Float {
            scale,
            offset,
            min,
            max,
        } => Ok(match input.data_type() {
            DataType::Float64 => {
                let (s, o, lo, hi) = (*scale, *offset, *min, *max);
                Arc::new(
                    input
                        .as_primitive::<Float64Type>()
                        .unary::<_, Float64Type>(|v| (v * s + o).clamp(lo, hi)),
                )
            }
            _ => {
                let (s, o, lo, hi) = (*scale as f32, *offset as f32, *min as f32, *max as f32);
                Arc::new(
                    input
                        .as_primitive::<Float32Type>()
                        .unary::<_, Float32Type>(|v| (v * s + o).clamp(lo, hi)),
                )
            }
        }),
        Op::Int {
            scale,
            offset,
            min,
            max,
        } => {
            let p = (*scale, *offset, *min, *max);
            match input.data_type() {
                DataType::Int8 => int::<Int8Type>(input, p),
                DataType::Int16 => int::<Int16Type>(input, p),
                DataType::Int32 => int::<Int32Type>(input, p),
                DataType::Int64 => int::<Int64Type>(input, p),
                DataType::UInt8 => int::<UInt8Type>(input, p),
                DataType::UInt16 => int::<UInt16Type>(input, p),
                DataType::UInt32 => int::<UInt32Type>(input, p),
                _ => int::<UInt64Type>(input, p),
            }
        }
    }
}

/// Exact integer arithmetic: computed in i128, clipped, then narrowed with a range check.
fn int<T>(
    input: &ArrayRef,
    (scale, offset, min, max): (i128, i128, i128, i128),
) -> Result<ArrayRef, (u64, String)>
where
    T: ArrowPrimitiveType,
    T::Native: Into<i128> + TryFrom<i128>,
{
    let a = input.as_primitive::<T>();
    let mut out = Vec::with_capacity(a.len());
    for (row, v) in a.values().iter().enumerate() {
        // Null slots hold arbitrary values: compute nothing for them.
        if a.is_null(row) {
            out.push(T::Native::default());
            continue;
        }
        let x: i128 = (*v).into();
        let y = x
            .saturating_mul(scale)
            .saturating_add(offset)
            .clamp(min, max);
        let narrowed = T::Native::try_from(y).map_err(|_| {
            (
                row as u64,
                format!(
                    "{x} * {scale} + {offset} = {y} does not fit in {}",
                    T::DATA_TYPE
                ),
            )
        })?;
        out.push(narrowed);
    }
    Ok(Arc::new(
        PrimitiveArray::<T>::new(out.into(), a.nulls().cloned())
            .with_data_type(input.data_type().clone()),
    ))
}

quiver_sdk::export_plugin!(Map);
