//! One-column math: `unary` (negate, abs, sqrt, exp, logs, floor, ceil, sign), `round`,
//! `clip` and `is_nan`.
//!
//! Arrow has kernels for negation only (`numeric::neg`); the rest are arrow's arity kernels
//! (`unary`, `try_unary`) around a per-value function written here, because arrow-arith has
//! no abs, sqrt, log, rounding or clip kernel. Rounding is half-to-even (NumPy's
//! `np.round`, pandas' `.round()`); integers and decimals are rounded exactly in integer
//! arithmetic, never through floats.

use std::sync::Arc;

use arrow_arith::{boolean, numeric};
use arrow_array::cast::AsArray;
use arrow_array::types::{Decimal128Type, DecimalType, Float32Type};
use arrow_array::{
    Array, ArrayRef, ArrowNativeTypeOp, ArrowPrimitiveType, BooleanArray, NullArray,
};
use arrow_buffer::{ArrowNativeType, BooleanBuffer};
use arrow_ord::cmp;
use arrow_schema::{ArrowError, DataType};
use arrow_select::zip::zip;

use crate::coerce::{self, Arg};
use crate::error::{arrow_invalid, first_failing_row, show_value, strip_arrow_prefix};
use crate::{KernelError, Scalar};

/// A one-column math operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    /// `−x`: signed integers (checked: `−MIN` is an error), floats, decimals, durations.
    Negate,
    /// `|x|`: numbers; `|MIN|` of a signed integer is an error.
    Abs,
    /// `√x` (NaN below zero).
    Sqrt,
    /// `eˣ`.
    Exp,
    /// Natural logarithm (`-inf` at zero, NaN below).
    Ln,
    /// Base-10 logarithm.
    Log10,
    /// Base-2 logarithm.
    Log2,
    /// Largest integer ≤ x (integers unchanged; decimals keep their scale).
    Floor,
    /// Smallest integer ≥ x.
    Ceil,
    /// −1, 0 or 1 in the input's type (NaN stays NaN).
    Sign,
}

/// Float operations for `f32` and `f64`, so one generic body serves both (arrow's native
/// type traits have no transcendental functions).
pub(crate) trait Real: ArrowNativeType + PartialOrd {
    fn floor(self) -> Self;
    fn ceil(self) -> Self;
    fn abs(self) -> Self;
    fn powf(self, e: Self) -> Self;
    fn is_nan(self) -> bool;
    /// −1, 0 or 1; ±0 stays 0 and NaN stays NaN (unlike `f64::signum`, which gives 1 at 0).
    fn sign(self) -> Self;
    /// Whether this is `-0.0` or a NaN other than the positive quiet one.
    fn needs_canonical(self) -> bool;
    /// `-0.0` as `0.0`, any NaN as the positive quiet NaN, anything else unchanged.
    fn canonical(self) -> Self;
    /// Half-to-even at `decimals` digits after the point (before it when negative), as
    /// NumPy does: scale, round, unscale. A value the scaling would overflow is unchanged.
    fn round_to(self, decimals: i32) -> Self;
}

macro_rules! impl_real {
    ($t:ty) => {
        impl Real for $t {
            fn floor(self) -> Self {
                <$t>::floor(self)
            }
            fn ceil(self) -> Self {
                <$t>::ceil(self)
            }
            fn abs(self) -> Self {
                <$t>::abs(self)
            }
            fn powf(self, e: Self) -> Self {
                <$t>::powf(self, e)
            }
            fn is_nan(self) -> bool {
                <$t>::is_nan(self)
            }
            fn sign(self) -> Self {
                if self == 0.0 || self.is_nan() {
                    self
                } else {
                    <$t>::signum(self)
                }
            }
            fn needs_canonical(self) -> bool {
                (self == 0.0 && self.is_sign_negative())
                    || (self.is_nan() && self.to_bits() != <$t>::NAN.to_bits())
            }
            fn canonical(self) -> Self {
                if self.is_nan() { <$t>::NAN } else { self + 0.0 }
            }
            fn round_to(self, decimals: i32) -> Self {
                if decimals == 0 || !self.is_finite() {
                    return if decimals == 0 {
                        self.round_ties_even()
                    } else {
                        self
                    };
                }
                let factor = (10.0 as $t).powi(decimals.saturating_abs());
                if decimals > 0 {
                    let scaled = self * factor;
                    if !scaled.is_finite() || !factor.is_finite() {
                        return self;
                    }
                    scaled.round_ties_even() / factor
                } else if !factor.is_finite() {
                    // Rounded to a power of ten beyond the type: every finite value is 0.
                    self * 0.0
                } else {
                    (self / factor).round_ties_even() * factor
                }
            }
        }
    };
}
impl_real!(f32);
impl_real!(f64);

/// Runs a row-by-row kernel over `a`, turning a failure into [`KernelError::Invalid`] when
/// it fails on no rows (its types are at fault) or [`KernelError::Data`] naming the first
/// failing row and its value.
fn rowwise(
    kernel: &str,
    a: &ArrayRef,
    run: impl Fn(&ArrayRef) -> Result<ArrayRef, ArrowError>,
) -> Result<ArrayRef, KernelError> {
    match run(a) {
        Ok(out) => Ok(out),
        Err(e) if run(&a.slice(0, 0)).is_err() => Err(arrow_invalid(kernel, e)),
        Err(e) => Err(
            match first_failing_row(a.len(), |o, n| run(&a.slice(o, n)).map(|_| ())) {
                Some((row, e)) => KernelError::data(
                    kernel,
                    Some(row),
                    format!(
                        "row {row}: the value {}: {}",
                        show_value(a.as_ref(), row),
                        strip_arrow_prefix(&e)
                    ),
                ),
                None => KernelError::data(kernel, None, strip_arrow_prefix(&e)),
            },
        ),
    }
}

/// Float16 computed as Float32: Rust has no f16 arithmetic; the result stays Float32.
fn widen_f16(kernel: &str, a: &ArrayRef) -> Result<ArrayRef, KernelError> {
    if *a.data_type() == DataType::Float16 {
        Ok(Arg::column(a).cast(kernel, &DataType::Float32)?.array)
    } else {
        Ok(Arc::clone(a))
    }
}

/// `op` applied to every value of `a` (`np.sqrt(df.x)`, `df.x.abs()`, `-df.x`). Nulls stay
/// null. Integer and decimal inputs of sqrt/exp/logs give Float64; Float32 stays Float32.
///
/// # Errors
/// [`KernelError::Invalid`] for a type the operation does not take (negating an unsigned
/// integer, anything on strings); [`KernelError::Data`] for `−MIN`/`|MIN|` of a signed
/// integer, naming the row.
pub fn unary(op: UnaryOp, a: &ArrayRef) -> Result<ArrayRef, KernelError> {
    let kernel = format!("unary({op:?})");
    let kernel = kernel.as_str();
    let a = widen_f16(kernel, a)?;
    let dt = a.data_type().clone();
    let refuse = || {
        Err(KernelError::invalid(
            kernel,
            format!("{op:?} does not take {dt}"),
        ))
    };
    if dt == DataType::Null {
        return Ok(match op {
            UnaryOp::Sqrt | UnaryOp::Exp | UnaryOp::Ln | UnaryOp::Log10 | UnaryOp::Log2 => {
                arrow_array::new_null_array(&DataType::Float64, a.len())
            }
            _ => Arc::new(NullArray::new(a.len())),
        });
    }
    match op {
        UnaryOp::Negate => rowwise(kernel, &a, |x| numeric::neg(x.as_ref())),
        UnaryOp::Abs => {
            if coerce::is_signed_integer(&dt) {
                int_dispatch!(&dt, T => rowwise(kernel, &a, |x| {
                    let x = x.as_primitive::<T>();
                    Ok(Arc::new(x.try_unary::<_, T, _>(|v| {
                        if v.compare(<T as ArrowPrimitiveType>::Native::ZERO).is_lt() { v.neg_checked() } else { Ok(v) }
                    })?))
                }), _ => refuse())
            } else if coerce::is_integer(&dt) {
                Ok(a)
            } else if let DataType::Decimal128(p, s) = dt {
                rowwise(kernel, &a, |x| {
                    let x = x.as_primitive::<Decimal128Type>();
                    Ok(Arc::new(
                        x.try_unary::<_, Decimal128Type, _>(|v| {
                            if v < 0 { v.neg_checked() } else { Ok(v) }
                        })?
                        .with_precision_and_scale(p, s)?,
                    ))
                })
            } else {
                float_dispatch!(&dt, T => Ok(float_map::<T>(&a, Real::abs)), _ => refuse())
            }
        }
        UnaryOp::Sqrt | UnaryOp::Exp | UnaryOp::Ln | UnaryOp::Log10 | UnaryOp::Log2 => {
            let f: fn(f64) -> f64 = match op {
                UnaryOp::Sqrt => f64::sqrt,
                UnaryOp::Exp => f64::exp,
                UnaryOp::Ln => f64::ln,
                UnaryOp::Log10 => f64::log10,
                _ => f64::log2,
            };
            match dt {
                DataType::Float32 => {
                    let g = move |v: f32| f(f64::from(v)) as f32;
                    Ok(Arc::new(
                        a.as_primitive::<Float32Type>().unary::<_, Float32Type>(g),
                    ))
                }
                ref t if coerce::is_numeric(t) => {
                    let a = Arg::column(&a).cast(kernel, &DataType::Float64)?.array;
                    Ok(float_map::<arrow_array::types::Float64Type>(&a, f))
                }
                _ => refuse(),
            }
        }
        UnaryOp::Floor | UnaryOp::Ceil => {
            let mode = if op == UnaryOp::Floor {
                Mode::Floor
            } else {
                Mode::Ceil
            };
            if coerce::is_integer(&dt) {
                Ok(a)
            } else if let DataType::Decimal128(_, s) = dt {
                round_decimal(kernel, &a, i32::from(s), 0, mode)
            } else {
                let floor = op == UnaryOp::Floor;
                float_dispatch!(&dt, T => Ok(float_map::<T>(&a, |v| {
                    if floor { Real::floor(v) } else { Real::ceil(v) }
                })), _ => refuse())
            }
        }
        UnaryOp::Sign => {
            if coerce::is_integer(&dt) {
                int_dispatch!(&dt, T => {
                    let x = a.as_primitive::<T>();
                    Ok(Arc::new(x.unary::<_, T>(|v| match v.compare(<T as ArrowPrimitiveType>::Native::ZERO) {
                        std::cmp::Ordering::Less => <T as ArrowPrimitiveType>::Native::ZERO
                            .sub_wrapping(<T as ArrowPrimitiveType>::Native::ONE),
                        std::cmp::Ordering::Equal => <T as ArrowPrimitiveType>::Native::ZERO,
                        std::cmp::Ordering::Greater => <T as ArrowPrimitiveType>::Native::ONE,
                    })) as ArrayRef)
                }, _ => refuse())
            } else if let DataType::Decimal128(p, s) = dt {
                let one = 10i128.checked_pow(s.max(0) as u32).unwrap_or(i128::MAX);
                rowwise(kernel, &a, |x| {
                    let x = x.as_primitive::<Decimal128Type>();
                    Ok(Arc::new(
                        x.try_unary::<_, Decimal128Type, _>(|v| {
                            let sign = v.signum() * one;
                            Decimal128Type::validate_decimal_precision(sign, p, s).map(|_| sign)
                        })?
                        .with_precision_and_scale(p, s)?,
                    ))
                })
            } else {
                float_dispatch!(&dt, T => Ok(float_map::<T>(&a, Real::sign)), _ => refuse())
            }
        }
    }
}

/// `f` on every value of a float column, on arrow's `unary` (null slots are computed and
/// masked, which is harmless for floats and lets the loop vectorise).
fn float_map<T>(a: &ArrayRef, f: impl Fn(T::Native) -> T::Native) -> ArrayRef
where
    T: ArrowPrimitiveType,
{
    Arc::new(a.as_primitive::<T>().unary::<_, T>(f))
}

/// How to round to a multiple.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Floor,
    Ceil,
    HalfEven,
}

/// `x` rounded to a multiple of `m` (> 0) by `mode`; `None` on overflow.
fn round_multiple(x: i128, m: i128, mode: Mode) -> Option<i128> {
    let (q, r) = (x.div_euclid(m), x.rem_euclid(m));
    let q = match mode {
        Mode::Floor => q,
        Mode::Ceil if r == 0 => q,
        Mode::Ceil => q.checked_add(1)?,
        // `r` against `m − r` rather than `2r` against `m`: `2r` can overflow at 10^38.
        Mode::HalfEven => match r.cmp(&(m - r)) {
            std::cmp::Ordering::Less => q,
            std::cmp::Ordering::Greater => q.checked_add(1)?,
            std::cmp::Ordering::Equal if q % 2 == 0 => q,
            std::cmp::Ordering::Equal => q.checked_add(1)?,
        },
    };
    q.checked_mul(m)
}

/// Decimal values rounded to `decimals` digits after the point by `mode`, keeping their
/// type. A result with more digits than the precision (99.9 → 100.0 in `Decimal128(3, 1)`)
/// is a [`KernelError::Data`].
fn round_decimal(
    kernel: &str,
    a: &ArrayRef,
    scale: i32,
    decimals: i32,
    mode: Mode,
) -> Result<ArrayRef, KernelError> {
    let DataType::Decimal128(p, s) = *a.data_type() else {
        return Err(KernelError::invalid(kernel, "expected a decimal"));
    };
    let digits = i64::from(scale) - i64::from(decimals);
    if digits <= 0 {
        return Ok(Arc::clone(a));
    }
    // 10^digits past i128: every value rounds to zero (its magnitude is below 10^38).
    let m = u32::try_from(digits)
        .ok()
        .and_then(|d| 10i128.checked_pow(d));
    rowwise(kernel, a, |x| {
        let x = x.as_primitive::<Decimal128Type>();
        let out = x.try_unary::<_, Decimal128Type, _>(|v| {
            let rounded = match m {
                Some(m) => round_multiple(v, m, mode).ok_or_else(|| {
                    ArrowError::ArithmeticOverflow("the rounded value overflows".to_string())
                })?,
                None => 0,
            };
            Decimal128Type::validate_decimal_precision(rounded, p, s).map(|_| rounded)
        })?;
        Ok(Arc::new(out.with_precision_and_scale(p, s)?))
    })
}

/// Integers rounded half-to-even to a multiple of `10^-decimals` (only negative `decimals`
/// change anything), keeping their type.
fn round_int<T>(kernel: &str, a: &ArrayRef, decimals: i32) -> Result<ArrayRef, KernelError>
where
    T: ArrowPrimitiveType,
    T::Native: Into<i128> + TryFrom<i128>,
{
    if decimals >= 0 {
        return Ok(Arc::clone(a));
    }
    let m = 10i128.checked_pow(decimals.unsigned_abs());
    rowwise(kernel, a, |x| {
        let out = x.as_primitive::<T>().try_unary::<_, T, _>(|v| {
            let v: i128 = v.into();
            let rounded = match m {
                Some(m) => round_multiple(v, m, Mode::HalfEven),
                None => Some(0),
            };
            rounded
                .and_then(|r| T::Native::try_from(r).ok())
                .ok_or_else(|| {
                    ArrowError::ArithmeticOverflow(format!(
                        "rounded to 10^{} it overflows {}",
                        decimals.unsigned_abs(),
                        T::DATA_TYPE
                    ))
                })
        })?;
        Ok(Arc::new(out) as ArrayRef)
    })
}

/// Every value rounded half-to-even to `decimals` digits after the point (before it when
/// negative), in the input's type: `df.x.round(2)`, `np.round(x, -3)`.
///
/// # Errors
/// [`KernelError::Invalid`] for a type that is not a number; [`KernelError::Data`] when a
/// rounded integer or decimal no longer fits its type, naming the row.
pub fn round(a: &ArrayRef, decimals: i32) -> Result<ArrayRef, KernelError> {
    const KERNEL: &str = "round";
    let a = widen_f16(KERNEL, a)?;
    let dt = a.data_type().clone();
    match dt {
        DataType::Null => Ok(a),
        DataType::Decimal128(_, s) => {
            round_decimal(KERNEL, &a, i32::from(s), decimals, Mode::HalfEven)
        }
        ref t if coerce::is_integer(t) => {
            int_dispatch!(t, T => round_int::<T>(KERNEL, &a, decimals), _ => unreachable!())
        }
        ref t => float_dispatch!(t, T => Ok(float_map::<T>(&a, |v| Real::round_to(v, decimals))),
            _ => Err(KernelError::invalid(KERNEL, format!("round does not take {dt}")))),
    }
}

/// Every value limited to `[min, max]` (`df.x.clip(0, 100)`); a missing or null bound is no
/// bound. Bounds and column are promoted together (`int_col.clip(0.5)` is Float64, as in
/// pandas). Nulls stay null; NaN stays NaN.
///
/// # Errors
/// [`KernelError::Invalid`] for a column that is not a number or a date/time, a bound with
/// no common type with it, or `min > max`.
pub fn clip(
    a: &ArrayRef,
    min: Option<Scalar>,
    max: Option<Scalar>,
) -> Result<ArrayRef, KernelError> {
    const KERNEL: &str = "clip";
    let dt = a.data_type();
    let orderable = coerce::is_numeric(dt)
        || matches!(
            dt,
            DataType::Null
                | DataType::Date32
                | DataType::Date64
                | DataType::Timestamp(..)
                | DataType::Time32(_)
                | DataType::Time64(_)
                | DataType::Duration(_)
        );
    if !orderable {
        return Err(KernelError::invalid(
            KERNEL,
            format!("clip takes numbers, dates and times, not {dt}"),
        ));
    }
    let bound = |s: Option<Scalar>| -> Result<Option<Arg>, KernelError> {
        match s {
            None | Some(Scalar::Null) => Ok(None),
            Some(s) => Ok(Some(Arg::new(&crate::Operand::Scalar(s))?)),
        }
    };
    let (lo, hi) = (bound(min)?, bound(max)?);
    let mut all = vec![Arg::column(a)];
    all.extend(lo.iter().cloned());
    all.extend(hi.iter().cloned());
    let to = coerce::common_type_many(KERNEL, &all)?;
    let mut x = Arg::column(a).cast(KERNEL, &to)?;
    let lo = lo.map(|b| b.cast(KERNEL, &to)).transpose()?;
    let hi = hi.map(|b| b.cast(KERNEL, &to)).transpose()?;
    if let (Some(lo), Some(hi)) = (&lo, &hi)
        && cmp::gt(lo, hi)
            .map_err(|e| arrow_invalid(KERNEL, e))?
            .value(0)
    {
        return Err(KernelError::invalid(
            KERNEL,
            format!(
                "min {} is greater than max {}",
                show_value(lo.array.as_ref(), 0),
                show_value(hi.array.as_ref(), 0)
            ),
        ));
    }
    let not_nan = if coerce::is_float(&to) {
        Some(boolean::not(&is_nan(&x.array)?).map_err(|e| arrow_invalid(KERNEL, e))?)
    } else {
        None
    };
    // Arrow orders NaN above every number; masking NaN out keeps it NaN, as NumPy does.
    let masked = |mask: BooleanArray| -> Result<BooleanArray, KernelError> {
        match &not_nan {
            Some(not_nan) => boolean::and(&mask, not_nan).map_err(|e| arrow_invalid(KERNEL, e)),
            None => Ok(mask),
        }
    };
    if let Some(lo) = &lo {
        let mask = masked(cmp::lt(&x, lo).map_err(|e| arrow_invalid(KERNEL, e))?)?;
        x = Arg::column(&zip(&mask, lo, &x).map_err(|e| arrow_invalid(KERNEL, e))?);
    }
    if let Some(hi) = &hi {
        let mask = masked(cmp::gt(&x, hi).map_err(|e| arrow_invalid(KERNEL, e))?)?;
        x = Arg::column(&zip(&mask, hi, &x).map_err(|e| arrow_invalid(KERNEL, e))?);
    }
    Ok(x.array)
}

/// Whether each value is NaN (`np.isnan`): floats; integers and decimals are never NaN.
/// Nulls stay null — NaN is a value here, not a missing value as in pandas.
///
/// # Errors
/// [`KernelError::Invalid`] for a type that is not a number.
pub fn is_nan(a: &ArrayRef) -> Result<BooleanArray, KernelError> {
    const KERNEL: &str = "is_nan";
    let a = widen_f16(KERNEL, a)?;
    let dt = a.data_type();
    if coerce::is_integer(dt) || matches!(dt, DataType::Decimal128(..) | DataType::Null) {
        let nulls = if *dt == DataType::Null {
            Some(arrow_buffer::NullBuffer::new_null(a.len()))
        } else {
            a.nulls().cloned()
        };
        return Ok(BooleanArray::new(BooleanBuffer::new_unset(a.len()), nulls));
    }
    float_dispatch!(dt, T => Ok(BooleanArray::from_unary(a.as_primitive::<T>(), Real::is_nan)),
        _ => Err(KernelError::invalid(KERNEL, format!("is_nan takes numbers, not {dt}"))))
}

/// A float column in canonical form — `-0.0` made `0.0`, every NaN the one positive quiet
/// NaN — any other column unchanged.
///
/// Arrow's comparisons and arrow-row order floats by the IEEE total order, which tells the
/// two zeros apart and puts a NaN with its sign bit set (what `0.0 / 0.0` gives on x86)
/// below every number, the positive one above. Nobody filtering `x == 0` or `x > 5`, or
/// counting distinct values, wants either. A read-only scan first spares the usual column,
/// which needs nothing, a copy. (Float16 is left as it is.)
pub(crate) fn canonical_floats(a: &ArrayRef) -> ArrayRef {
    float_dispatch!(a.data_type(), T => {
        let p = a.as_primitive::<T>();
        if p.values().iter().any(|v| Real::needs_canonical(*v)) {
            Arc::new(p.unary::<_, T>(Real::canonical)) as ArrayRef
        } else {
            Arc::clone(a)
        }
    }, _ => Arc::clone(a))
}
