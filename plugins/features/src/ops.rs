//! The feature computations the plugin runs itself, one function per operation, each from
//! an input column to one or more new columns. Parameters were checked at creation; nulls
//! stay null. Date parts, and the scaling `map` does when unclipped, run in the host
//! (`lib.rs`); [`Part`] names the host's kernel for each part.

use std::sync::Arc;

use arrow_array::builder::Int8Builder;
use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use arrow_array::{Array, ArrayRef, Float64Array, Int32Array};
use arrow_schema::{ArrowError, DataType};
use quiver_sdk::compute::TemporalPart;

/// A row a computation cannot handle: the row and why.
pub type Failure = (usize, String);

/// The column as float64 (exact for integers up to 2^53; checked numeric at creation).
fn floats(column: &ArrayRef) -> Result<Float64Array, ArrowError> {
    Ok(arrow_cast::cast(column, &DataType::Float64)?
        .as_primitive::<Float64Type>()
        .clone())
}

/// `f(x)` for every value, as float64.
pub fn map(column: &ArrayRef, f: impl Fn(f64) -> f64) -> Result<ArrayRef, ArrowError> {
    Ok(Arc::new(floats(column)?.unary::<_, Float64Type>(f)))
}

/// `ln(1 + x)`; values of -1 or less have no finite logarithm and are a data error.
pub fn log1p(column: &ArrayRef) -> Result<Result<ArrayRef, Failure>, ArrowError> {
    let x = floats(column)?;
    if let Some(row) = (0..x.len()).find(|&i| x.is_valid(i) && x.value(i) <= -1.0) {
        return Ok(Err((
            row,
            format!(
                "log1p needs values above -1, got {}; filter or shift the column first",
                x.value(row)
            ),
        )));
    }
    Ok(Ok(Arc::new(x.unary::<_, Float64Type>(f64::ln_1p))))
}

/// The bucket index of every value: `i` such that `boundaries[i-1] <= x < boundaries[i]`,
/// from 0 (below the first boundary) to `boundaries.len()` (at or above the last). NaN
/// falls in no bucket and becomes null.
pub fn bucketise(column: &ArrayRef, boundaries: &[f64]) -> Result<ArrayRef, ArrowError> {
    let x = floats(column)?;
    let out: Int32Array = x
        .iter()
        .map(|v| {
            v.filter(|v| !v.is_nan())
                .map(|v| boundaries.partition_point(|b| *b <= v) as i32)
        })
        .collect();
    Ok(Arc::new(out))
}

/// One 0/1 int8 column per category plus a last one for everything else; a null input
/// row is null in every column. Values are compared as the text arrow prints for them.
pub fn one_hot(column: &ArrayRef, categories: &[String]) -> Result<Vec<ArrayRef>, ArrowError> {
    let text = arrow_cast::cast(column, &DataType::Utf8)?;
    let text = text.as_string::<i32>();
    let mut builders: Vec<Int8Builder> = (0..=categories.len())
        .map(|_| Int8Builder::with_capacity(text.len()))
        .collect();
    for v in text.iter() {
        match v {
            None => builders.iter_mut().for_each(|b| b.append_null()),
            Some(v) => {
                let hit = categories
                    .iter()
                    .position(|c| c == v)
                    .unwrap_or(categories.len());
                for (i, b) in builders.iter_mut().enumerate() {
                    b.append_value(i8::from(i == hit));
                }
            }
        }
    }
    Ok(builders
        .into_iter()
        .map(|mut b| Arc::new(b.finish()) as ArrayRef)
        .collect())
}

/// A part of a date or time.
#[derive(serde::Deserialize, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "snake_case")]
pub enum Part {
    /// The year, e.g. 2024.
    Year,
    /// The month, 1 to 12.
    Month,
    /// The day of the month, 1 to 31.
    Day,
    /// The day of the week, Monday = 0 to Sunday = 6 (as pandas' `dayofweek`).
    DayOfWeek,
    /// The hour, 0 to 23 (timestamps only).
    Hour,
}

impl Part {
    /// The name as written in the config and in output column names.
    pub fn as_str(self) -> &'static str {
        match self {
            Part::Year => "year",
            Part::Month => "month",
            Part::Day => "day",
            Part::DayOfWeek => "day_of_week",
            Part::Hour => "hour",
        }
    }

    /// The host's `date_part` kernel for this part (`day_of_week` counts from Monday = 0
    /// there too).
    pub fn host(self) -> TemporalPart {
        match self {
            Part::Year => TemporalPart::Year,
            Part::Month => TemporalPart::Month,
            Part::Day => TemporalPart::Day,
            Part::DayOfWeek => TemporalPart::DayOfWeek,
            Part::Hour => TemporalPart::Hour,
        }
    }
}

/// The number of characters (Unicode scalar values) of every string, as int32.
pub fn length(column: &ArrayRef) -> ArrayRef {
    let count = |s: &str| s.chars().count() as i32;
    let out: Int32Array = match column.data_type() {
        DataType::LargeUtf8 => column
            .as_string::<i64>()
            .iter()
            .map(|v| v.map(count))
            .collect(),
        _ => column
            .as_string::<i32>()
            .iter()
            .map(|v| v.map(count))
            .collect(),
    };
    Arc::new(out)
}
