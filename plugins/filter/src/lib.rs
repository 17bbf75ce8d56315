//! `filter`: keeps the rows where a column compares to a value.
//!
//! `{"column": "amount", "op": "gt", "value": 100, "nulls": "drop"}` keeps rows whose
//! `amount` is greater than 100. A comparison with a null is neither true nor false, so the
//! config says what happens to null rows: `drop` (the default) or `keep`. `is_null` and
//! `is_not_null` test for nulls directly and take no value.
//!
//! The comparison runs with arrow's vectorised kernels (`arrow-ord`) against a scalar built
//! once, at creation, in the column's own type: a value that does not fit the column's type
//! (e.g. 300 for an int8 column, a string for a number column) is a config error. Only the
//! compared column enters the plugin; it answers with a row selection, which the host
//! applies to every column (contract 0.2), so a wide table costs what a narrow one does.

use std::sync::Arc;

use arrow_array::types::*;
use arrow_array::*;
use arrow_array::{Array, ArrayRef, BooleanArray, Datum, Scalar};
use arrow_schema::DataType;
use quiver_sdk::{Batch, Error, IntoOutputs, SchemaRef, Transform};

#[derive(serde::Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    IsNull,
    IsNotNull,
}

#[derive(serde::Deserialize, Clone, Copy, Default, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum Nulls {
    #[default]
    Drop,
    Keep,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    column: String,
    op: Op,
    #[serde(default)]
    value: Option<serde_json::Value>,
    #[serde(default)]
    nulls: Nulls,
}

struct Filter {
    schema: SchemaRef,
    index: usize,
    op: Op,
    nulls: Nulls,
    /// The comparison value in the column's type; `None` for the null tests.
    scalar: Option<Scalar<ArrayRef>>,
}

/// Build a one-row array of `data_type` holding `value`.
fn scalar(data_type: &DataType, value: &serde_json::Value) -> Result<Scalar<ArrayRef>, String> {
    use serde_json::Value as V;
    macro_rules! int {
        ($t:ty, $arr:ty) => {{
            let v = value
                .as_i64()
                .ok_or_else(|| format!("{value} is not an integer"))?;
            let v = <$t>::try_from(v).map_err(|_| format!("{v} does not fit in {data_type}"))?;
            Arc::new(<$arr>::from(vec![v])) as ArrayRef
        }};
    }
    macro_rules! uint {
        ($t:ty, $arr:ty) => {{
            let v = value
                .as_u64()
                .ok_or_else(|| format!("{value} is not a non-negative integer"))?;
            let v = <$t>::try_from(v).map_err(|_| format!("{v} does not fit in {data_type}"))?;
            Arc::new(<$arr>::from(vec![v])) as ArrayRef
        }};
    }
    let array: ArrayRef = match (data_type, value) {
        (DataType::Int8, _) => int!(i8, Int8Array),
        (DataType::Int16, _) => int!(i16, Int16Array),
        (DataType::Int32, _) => int!(i32, Int32Array),
        (DataType::Int64, _) => int!(i64, Int64Array),
        (DataType::UInt8, _) => uint!(u8, UInt8Array),
        (DataType::UInt16, _) => uint!(u16, UInt16Array),
        (DataType::UInt32, _) => uint!(u32, UInt32Array),
        (DataType::UInt64, _) => uint!(u64, UInt64Array),
        (DataType::Float32 | DataType::Float64, V::Number(n)) => {
            let v = n.as_f64().ok_or_else(|| format!("{n} is not a number"))?;
            if matches!(data_type, DataType::Float32) {
                Arc::new(Float32Array::from(vec![v as f32]))
            } else {
                Arc::new(Float64Array::from(vec![v]))
            }
        }
        (DataType::Date32, _) => int!(i32, Date32Array),
        (DataType::Date64, _) => int!(i64, Date64Array),
        (DataType::Timestamp(_, _), _) => {
            let v = value
                .as_i64()
                .ok_or_else(|| format!("{value} is not an integer timestamp"))?;
            let a = PrimitiveArray::<TimestampNanosecondType>::from(vec![v]);
            // Re-label to the column's exact unit and zone so the kernel sees equal types.
            arrow_array::make_array(
                a.into_data()
                    .into_builder()
                    .data_type(data_type.clone())
                    .build()
                    .map_err(|e| e.to_string())?,
            )
        }
        (DataType::Utf8, V::String(s)) => Arc::new(StringArray::from(vec![s.as_str()])),
        (DataType::LargeUtf8, V::String(s)) => Arc::new(LargeStringArray::from(vec![s.as_str()])),
        (DataType::Boolean, V::Bool(b)) => Arc::new(BooleanArray::from(vec![*b])),
        (t, v) => return Err(format!("cannot compare a {t} column with {v}")),
    };
    Ok(Scalar::new(array))
}

impl Transform for Filter {
    type Config = Config;
    const CONFIG_SCHEMA: &'static str = include_str!("../config.schema.json");

    fn new(config: Config, input: SchemaRef) -> Result<Self, Error> {
        let index = input.index_of(&config.column).map_err(|_| {
            Error::config(
                "column",
                format!("no column `{}` in the input", config.column),
            )
        })?;
        let data_type = input.field(index).data_type();
        let scalar = match (config.op, &config.value) {
            (Op::IsNull | Op::IsNotNull, None) => None,
            (Op::IsNull | Op::IsNotNull, Some(_)) => {
                return Err(Error::config(
                    "value",
                    "is_null and is_not_null take no value",
                ));
            }
            (_, None) => return Err(Error::config("value", "a comparison needs a value")),
            (_, Some(v)) => Some(scalar(data_type, v).map_err(|m| Error::config("value", m))?),
        };
        Ok(Self {
            schema: input,
            index,
            op: config.op,
            nulls: config.nulls,
            scalar,
        })
    }

    fn output_schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn process(&mut self, batch: Batch<'_>) -> Result<impl IntoOutputs, Error> {
        let column = batch.column(self.index);
        let mask: BooleanArray = match (self.op, &self.scalar) {
            (Op::IsNull, _) => arrow_array::BooleanArray::from(
                (0..column.len())
                    .map(|i| column.is_null(i))
                    .collect::<Vec<_>>(),
            ),
            (Op::IsNotNull, _) => arrow_array::BooleanArray::from(
                (0..column.len())
                    .map(|i| column.is_valid(i))
                    .collect::<Vec<_>>(),
            ),
            (op, Some(s)) => {
                let (l, r): (&dyn Datum, &dyn Datum) = (column, s);
                let m = match op {
                    Op::Eq => arrow_ord::cmp::eq(l, r),
                    Op::Ne => arrow_ord::cmp::neq(l, r),
                    Op::Lt => arrow_ord::cmp::lt(l, r),
                    Op::Le => arrow_ord::cmp::lt_eq(l, r),
                    Op::Gt => arrow_ord::cmp::gt(l, r),
                    Op::Ge => arrow_ord::cmp::gt_eq(l, r),
                    Op::IsNull | Op::IsNotNull => unreachable!("handled above"),
                }?;
                // A comparison with null is null: resolve it by the config's rule.
                let keep_nulls = self.nulls == Nulls::Keep;
                match m.nulls() {
                    None => m,
                    Some(n) => {
                        let values = m.values();
                        BooleanArray::from(
                            (0..m.len())
                                .map(|i| {
                                    if n.is_valid(i) {
                                        values.value(i)
                                    } else {
                                        keep_nulls
                                    }
                                })
                                .collect::<Vec<_>>(),
                        )
                    }
                }
            }
            (_, None) => return Err(Error::internal("comparison without a value")),
        };
        // Only the compared column entered the plugin; the host applies the selection to
        // every column.
        batch.filter(&mask)
    }
}

quiver_sdk::export_plugin!(Filter);
