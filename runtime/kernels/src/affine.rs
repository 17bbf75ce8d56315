//! `affine`: `clip(x × scale + offset, min, max)` in one pass over a numeric column — the
//! scaling, standardising and unit changes of feature engineering, fused so that a stage
//! doing `df.x * a + b` and a clip costs one native pass instead of three.
//!
//! Integer columns are computed exactly (in i128: the product of two 64-bit values fits),
//! clipped, then narrowed to the column's type; a result that does not fit is a data error
//! naming the first such row. Their scalars must be integers. Float columns are computed in
//! their own precision (Float32 stays Float32). Nulls stay null; null slots are not computed.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, ArrowPrimitiveType, PrimitiveArray};
use arrow_schema::DataType;

use crate::{KernelError, Scalar};

const KERNEL: &str = "affine";

fn int_of(s: &Scalar, what: &str) -> Result<i128, KernelError> {
    match s {
        Scalar::Int64(v) => Ok(i128::from(*v)),
        Scalar::UInt64(v) => Ok(i128::from(*v)),
        Scalar::Float64(v) if v.fract() == 0.0 && v.is_finite() && v.abs() < 9.2e18 => {
            Ok(*v as i128)
        }
        other => Err(KernelError::Invalid {
            message: format!(
                "{KERNEL}: {what} must be an integer for an integer column, got {other:?}"
            ),
        }),
    }
}

fn float_of(s: &Scalar, what: &str) -> Result<f64, KernelError> {
    match s {
        Scalar::Int64(v) => Ok(*v as f64),
        Scalar::UInt64(v) => Ok(*v as f64),
        Scalar::Float64(v) => Ok(*v),
        other => Err(KernelError::Invalid {
            message: format!("{KERNEL}: {what} must be a number, got {other:?}"),
        }),
    }
}

/// `clip(a × scale + offset, min, max)`; see the module doc.
///
/// # Errors
/// [`KernelError::Invalid`] for a column that is not a number or scalars that do not fit
/// it (`min` above `max` too); [`KernelError::Data`] for the first integer row whose result
/// does not fit the column's type.
pub fn affine(
    a: &ArrayRef,
    scale: &Scalar,
    offset: &Scalar,
    min: Option<&Scalar>,
    max: Option<&Scalar>,
) -> Result<ArrayRef, KernelError> {
    let dt = a.data_type().clone();
    if dt.is_integer() {
        let (s, o) = (int_of(scale, "scale")?, int_of(offset, "offset")?);
        let lo = min
            .map(|m| int_of(m, "min"))
            .transpose()?
            .unwrap_or(i128::MIN);
        let hi = max
            .map(|m| int_of(m, "max"))
            .transpose()?
            .unwrap_or(i128::MAX);
        if lo > hi {
            return Err(KernelError::Invalid {
                message: format!("{KERNEL}: min {lo} is greater than max {hi}"),
            });
        }
        return int_dispatch!(&dt, T => int::<T>(a, (s, o, lo, hi)), _ => unreachable_type(&dt));
    }
    let (s, o) = (float_of(scale, "scale")?, float_of(offset, "offset")?);
    let lo = min
        .map(|m| float_of(m, "min"))
        .transpose()?
        .unwrap_or(f64::NEG_INFINITY);
    let hi = max
        .map(|m| float_of(m, "max"))
        .transpose()?
        .unwrap_or(f64::INFINITY);
    if lo > hi {
        return Err(KernelError::Invalid {
            message: format!("{KERNEL}: min {lo} is greater than max {hi}"),
        });
    }
    match dt {
        DataType::Float64 => Ok(Arc::new(
            a.as_primitive::<arrow_array::types::Float64Type>()
                .unary::<_, arrow_array::types::Float64Type>(|v| (v * s + o).clamp(lo, hi)),
        )),
        DataType::Float32 => {
            let (s, o, lo, hi) = (s as f32, o as f32, lo as f32, hi as f32);
            Ok(Arc::new(
                a.as_primitive::<arrow_array::types::Float32Type>()
                    .unary::<_, arrow_array::types::Float32Type>(|v| (v * s + o).clamp(lo, hi)),
            ))
        }
        other => Err(KernelError::Invalid {
            message: format!("{KERNEL} works on integer and float columns, not {other}"),
        }),
    }
}

fn unreachable_type(dt: &DataType) -> Result<ArrayRef, KernelError> {
    Err(KernelError::Invalid {
        message: format!("{KERNEL} works on integer and float columns, not {dt}"),
    })
}

/// Exact integer arithmetic: i128, clipped, then narrowed with a range check.
fn int<T>(
    a: &ArrayRef,
    (scale, offset, min, max): (i128, i128, i128, i128),
) -> Result<ArrayRef, KernelError>
where
    T: ArrowPrimitiveType,
    T::Native: Into<i128> + TryFrom<i128>,
{
    let a = a.as_primitive::<T>();
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
        let narrowed = T::Native::try_from(y).map_err(|_| KernelError::Data {
            row: Some(row as u64),
            message: format!(
                "{x} * {scale} + {offset} = {y} does not fit in {}",
                T::DATA_TYPE
            ),
        })?;
        out.push(narrowed);
    }
    Ok(Arc::new(
        PrimitiveArray::<T>::new(out.into(), a.nulls().cloned())
            .with_data_type(a.data_type().clone()),
    ))
}

#[cfg(test)]
mod tests {
    use arrow_array::{Float32Array, Int8Array, Int64Array};

    use super::*;

    #[test]
    fn floats_scale_offset_and_clip_in_their_own_precision() {
        let a: ArrayRef = Arc::new(Float32Array::from(vec![Some(1.0), None, Some(-4.0)]));
        let out = affine(
            &a,
            &Scalar::Float64(2.0),
            &Scalar::Float64(0.5),
            Some(&Scalar::Float64(0.0)),
            None,
        )
        .unwrap();
        assert_eq!(
            out.as_ref(),
            &Float32Array::from(vec![Some(2.5), None, Some(0.0)]) as &dyn Array
        );
    }

    #[test]
    fn integers_are_exact_and_overflow_names_the_row() {
        let a: ArrayRef = Arc::new(Int64Array::from(vec![Some(3), None, Some(i64::MAX)]));
        let err = affine(&a, &Scalar::Int64(2), &Scalar::Int64(0), None, None).unwrap_err();
        assert!(
            matches!(&err, KernelError::Data { row: Some(2), message } if message.contains("does not fit in Int64")),
            "{err:?}"
        );
        let b: ArrayRef = Arc::new(Int8Array::from(vec![Some(100), None, Some(-100)]));
        let out = affine(
            &b,
            &Scalar::Int64(3),
            &Scalar::Int64(1),
            Some(&Scalar::Int64(-128)),
            Some(&Scalar::Int64(127)),
        )
        .unwrap();
        assert_eq!(
            out.as_ref(),
            &Int8Array::from(vec![Some(127), None, Some(-128)]) as &dyn Array
        );
        let fraction = affine(&b, &Scalar::Float64(1.5), &Scalar::Int64(0), None, None);
        assert!(matches!(fraction, Err(KernelError::Invalid { .. })));
    }
}
