//! `aggregate`: one value from a column (`.sum()`, `.mean()`, `.std()`, `.nunique()`), on
//! arrow-arith's `aggregate` kernels where arrow has one.
//!
//! Nulls are skipped (pandas' `skipna=True`); NaN is a value, so it propagates through
//! sum, mean and variance and is the largest value for min and max (arrow's total order).
//! An empty or all-null column sums to 0 (pandas, Polars) and has no mean, minimum or
//! deviation (null).

use std::collections::HashSet;
use std::sync::Arc;

use arrow_arith::aggregate as agg;
use arrow_array::cast::AsArray;
use arrow_array::types::{
    Decimal128Type, DecimalType, Float32Type, Float64Type, Int64Type, UInt64Type,
};
use arrow_array::{Array, ArrayRef, ArrowNativeTypeOp, PrimitiveArray, downcast_primitive_array};
use arrow_row::{RowConverter, SortField};
use arrow_schema::DataType;

use crate::coerce::{self, Arg};
use crate::error::{arrow_invalid, show_value};
use crate::{KernelError, Scalar};

/// An aggregation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AggOp {
    /// Non-null values (`.count()`), as Int64.
    Count,
    /// All rows, nulls included (`len(s)`), as Int64.
    CountAll,
    /// Null rows (`.isna().sum()` without NaN), as Int64.
    NullCount,
    /// The sum (`.sum()`): signed integers as Int64, unsigned as UInt64, floats as Float64,
    /// decimals as `Decimal128(38, scale)`, booleans count their `true`s. Integer and decimal
    /// overflow is an error naming the row where the running total left the type.
    Sum,
    /// The least value (`.min()`), in the column's type widened as [`Scalar`] holds it.
    Min,
    /// The greatest value (`.max()`).
    Max,
    /// The arithmetic mean as Float64 (`.mean()`).
    Mean,
    /// Sample standard deviation, `ddof = 1` as pandas (`.std()`); null below two values.
    Stddev,
    /// Sample variance, `ddof = 1` (`.var()`); null below two values.
    Variance,
    /// Distinct non-null values (`.nunique()`), as Int64; `-0.0` and `0.0` are one value,
    /// NaN is one value.
    DistinctCount,
}

/// `op` over every value of `a`.
///
/// # Errors
/// [`KernelError::Invalid`] for a type the operation does not take (the mean of strings,
/// the minimum of a list); [`KernelError::Data`] for an integer or decimal sum that
/// overflows, naming the row.
pub fn aggregate(op: AggOp, a: &ArrayRef) -> Result<Scalar, KernelError> {
    let kernel = format!("aggregate({op:?})");
    let kernel = kernel.as_str();
    let nulls = a.logical_null_count();
    let count = |n: usize| Scalar::Int64(n as i64);
    match op {
        AggOp::Count => Ok(count(a.len() - nulls)),
        AggOp::CountAll => Ok(count(a.len())),
        AggOp::NullCount => Ok(count(nulls)),
        AggOp::Sum => sum(kernel, a),
        AggOp::Min | AggOp::Max => min_max(kernel, a, op == AggOp::Max),
        AggOp::Mean => {
            let Some(values) = as_f64(kernel, a)? else {
                return Ok(Scalar::Null);
            };
            let n = values.len() - values.null_count();
            Ok(match agg::sum(&values) {
                Some(total) if n > 0 => Scalar::Float64(total / n as f64),
                _ => Scalar::Null,
            })
        }
        AggOp::Stddev | AggOp::Variance => {
            let Some(values) = as_f64(kernel, a)? else {
                return Ok(Scalar::Null);
            };
            Ok(match sample_variance(&values) {
                Some(v) if op == AggOp::Stddev => Scalar::Float64(v.sqrt()),
                Some(v) => Scalar::Float64(v),
                None => Scalar::Null,
            })
        }
        AggOp::DistinctCount => distinct_count(kernel, a),
    }
}

/// A numeric or boolean column as Float64 (`None` for a column of type Null).
fn as_f64(kernel: &str, a: &ArrayRef) -> Result<Option<PrimitiveArray<Float64Type>>, KernelError> {
    let dt = a.data_type();
    if *dt == DataType::Null {
        return Ok(None);
    }
    if !coerce::is_numeric(dt) && *dt != DataType::Boolean {
        return Err(KernelError::invalid(
            kernel,
            format!("takes numbers and booleans, not {dt}"),
        ));
    }
    let values = Arg::column(a).cast(kernel, &DataType::Float64)?.array;
    Ok(Some(values.as_primitive::<Float64Type>().clone()))
}

/// Sample variance (`ddof = 1`) by Welford's method: one pass, and stable where the
/// textbook `Σx² − (Σx)²/n` loses every digit to cancellation. arrow-arith has no variance
/// kernel.
fn sample_variance(values: &PrimitiveArray<Float64Type>) -> Option<f64> {
    let (mut n, mut mean, mut m2) = (0u64, 0.0f64, 0.0f64);
    for x in values.iter().flatten() {
        n += 1;
        let delta = x - mean;
        mean += delta / n as f64;
        m2 += delta * (x - mean);
    }
    (n >= 2).then(|| m2 / (n - 1) as f64)
}

/// [`AggOp::Sum`].
fn sum(kernel: &str, a: &ArrayRef) -> Result<Scalar, KernelError> {
    let dt = a.data_type();
    match dt {
        DataType::Null => Ok(Scalar::Int64(0)),
        DataType::Boolean => Ok(Scalar::Int64(a.as_boolean().true_count() as i64)),
        t if coerce::is_signed_integer(t) => {
            let wide = Arg::column(a).cast(kernel, &DataType::Int64)?.array;
            let total = checked_sum::<Int64Type>(kernel, a, wide.as_primitive())?;
            Ok(Scalar::Int64(total.unwrap_or(0)))
        }
        t if coerce::is_integer(t) => {
            let wide = Arg::column(a).cast(kernel, &DataType::UInt64)?.array;
            let total = checked_sum::<UInt64Type>(kernel, a, wide.as_primitive())?;
            Ok(Scalar::UInt64(total.unwrap_or(0)))
        }
        t if coerce::is_float(t) => {
            let values = Arg::column(a).cast(kernel, &DataType::Float64)?.array;
            Ok(Scalar::Float64(
                agg::sum(values.as_primitive::<Float64Type>()).unwrap_or(0.0),
            ))
        }
        DataType::Decimal128(_, scale) => {
            let values = a.as_primitive::<Decimal128Type>();
            let total = checked_sum::<Decimal128Type>(kernel, a, values)?.unwrap_or(0);
            Decimal128Type::validate_decimal_precision(total, 38, *scale)
                .map_err(|_| KernelError::data(kernel, None, "the sum has more than 38 digits"))?;
            Ok(Scalar::Decimal128 {
                value: total,
                precision: 38,
                scale: *scale,
            })
        }
        other => Err(KernelError::invalid(
            kernel,
            format!("takes numbers and booleans, not {other}"),
        )),
    }
}

/// arrow's `sum_checked`; on overflow, the row where the running total (the same
/// left-to-right fold arrow does) first leaves the type, found by redoing the fold.
fn checked_sum<T>(
    kernel: &str,
    original: &ArrayRef,
    values: &PrimitiveArray<T>,
) -> Result<Option<T::Native>, KernelError>
where
    T: arrow_array::ArrowNumericType,
{
    match agg::sum_checked(values) {
        Ok(total) => Ok(total),
        Err(_) => {
            let mut total = T::Native::ZERO;
            for (row, value) in values.iter().enumerate() {
                let Some(value) = value else { continue };
                match total.add_checked(value) {
                    Ok(t) => total = t,
                    Err(_) => {
                        return Err(KernelError::data(
                            kernel,
                            Some(row),
                            format!(
                                "row {row}: adding {} overflows the {} sum",
                                show_value(original.as_ref(), row),
                                values.data_type()
                            ),
                        ));
                    }
                }
            }
            Err(KernelError::data(kernel, None, "the sum overflows"))
        }
    }
}

/// The least or greatest value of a primitive column, as a [`Scalar`] of its type.
fn prim_extreme<T>(a: &PrimitiveArray<T>, max: bool) -> Result<Scalar, KernelError>
where
    T: arrow_array::ArrowNumericType,
{
    let value = if max { agg::max(a) } else { agg::min(a) };
    match value {
        None => Ok(Scalar::Null),
        Some(v) => {
            let one =
                PrimitiveArray::<T>::from_iter_values([v]).with_data_type(a.data_type().clone());
            Scalar::from_array(&one, 0)
        }
    }
}

/// [`AggOp::Min`] and [`AggOp::Max`].
fn min_max(kernel: &str, a: &ArrayRef, max: bool) -> Result<Scalar, KernelError> {
    let text = |s: Option<&str>| s.map_or(Scalar::Null, |s| Scalar::Utf8(s.to_string()));
    let bytes = |s: Option<&[u8]>| s.map_or(Scalar::Null, |s| Scalar::Binary(s.to_vec()));
    // One NaN, above every number: a NaN with its sign bit set would sort below them all.
    let a = crate::math::canonical_floats(a);
    let array = a.as_ref();
    let scalar = downcast_primitive_array!(
        array => prim_extreme(array, max)?,
        DataType::Null => Scalar::Null,
        DataType::Boolean => {
            let b = a.as_boolean();
            let v = if max { agg::max_boolean(b) } else { agg::min_boolean(b) };
            v.map_or(Scalar::Null, Scalar::Boolean)
        }
        DataType::Utf8 => {
            let s = a.as_string::<i32>();
            text(if max { agg::max_string(s) } else { agg::min_string(s) })
        }
        DataType::LargeUtf8 => {
            let s = a.as_string::<i64>();
            text(if max { agg::max_string(s) } else { agg::min_string(s) })
        }
        DataType::Binary => {
            let s = a.as_binary::<i32>();
            bytes(if max { agg::max_binary(s) } else { agg::min_binary(s) })
        }
        DataType::LargeBinary => {
            let s = a.as_binary::<i64>();
            bytes(if max { agg::max_binary(s) } else { agg::min_binary(s) })
        }
        other => return Err(KernelError::invalid(kernel, format!("does not take {other}"))),
    );
    Ok(scalar)
}

/// [`AggOp::DistinctCount`]: integers and floats (by their bits, once canonical: one zero,
/// one NaN) in a hash set of native values; any other type through arrow-row, which encodes
/// each value as bytes that are equal exactly when the values are, so one hash set of bytes
/// serves every type. The native path is four times faster where it applies.
fn distinct_count(kernel: &str, a: &ArrayRef) -> Result<Scalar, KernelError> {
    if *a.data_type() == DataType::Null {
        return Ok(Scalar::Int64(0));
    }
    let a = crate::math::canonical_floats(a);
    let n = int_dispatch!(a.data_type(), T => Some(distinct_native(a.as_primitive::<T>(), |v| v)),
    _ => match a.data_type() {
        DataType::Float32 => Some(distinct_native(a.as_primitive::<Float32Type>(), f32::to_bits)),
        DataType::Float64 => Some(distinct_native(a.as_primitive::<Float64Type>(), f64::to_bits)),
        _ => None,
    });
    if let Some(n) = n {
        return Ok(Scalar::Int64(n as i64));
    }
    let converter = RowConverter::new(vec![SortField::new(a.data_type().clone())])
        .map_err(|e| arrow_invalid(kernel, e))?;
    let rows = converter
        .convert_columns(&[Arc::clone(&a)])
        .map_err(|e| arrow_invalid(kernel, e))?;
    let distinct: HashSet<_> = (0..a.len())
        .filter(|&i| a.is_valid(i))
        .map(|i| rows.row(i))
        .collect();
    Ok(Scalar::Int64(distinct.len() as i64))
}

/// Distinct non-null values of a primitive column, each turned into a hashable key.
fn distinct_native<T, K>(a: &PrimitiveArray<T>, key: impl Fn(T::Native) -> K) -> usize
where
    T: arrow_array::ArrowPrimitiveType,
    K: std::hash::Hash + Eq,
{
    a.iter().flatten().map(key).collect::<HashSet<K>>().len()
}
